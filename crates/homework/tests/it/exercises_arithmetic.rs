//! Exercise 1 checkers (output size, parameters, memory): each accepts the right answer,
//! reports the placeholder as not done, and explains a wrong answer without giving the
//! expected number away.
//!
//! Reference values: the book's answer to exercise 3 of chapter 14 (HOML 2nd/3rd ed.,
//! appendix A): 903,400 parameters; layer outputs of 6 MB, 3 MB and 1.52 MB per image;
//! 12,613,600 bytes at inference (two layers + parameters); for a batch of 50, 525 MB of
//! layer outputs (the book rounds 10.52 MB to 10.5) + 36 MB of inputs + 3.6 MB of parameters.

use cnnkit_homework::*;
use cnnkit_nn::arith::Padding;

fn keras_output_size(n: usize, k: usize, s: usize, p: Padding) -> Option<usize> {
    match p {
        Padding::Valid => Some((n - k) / s + 1),
        Padding::Same => Some(n.div_ceil(s)),
    }
}

#[test]
fn output_size_correct_not_done_and_wrong() {
    assert!(check_output_size(keras_output_size).is_correct());
    assert!(check_output_size(|_, _, _, _| None).is_not_done());

    // `same` computed like `valid` plus one: wrong, with the case and a direction.
    let v = check_output_size(|n, k, s, p| match p {
        Padding::Valid => Some((n - k) / s + 1),
        Padding::Same => Some((n - k + 1) / s + 1),
    });
    assert!(v.is_wrong(), "{v}");
    let text = v.to_string();
    assert!(text.contains("padding=\"same\""), "{text}");
    assert!(
        text.contains("작습니다") || text.contains("큽니다"),
        "{text}"
    );
}

#[test]
fn output_size_reports_a_panic_as_wrong() {
    // A function that gives up when the kernel is larger than the input (possible only
    // with `same` padding).
    let v = check_output_size(|n, k, s, p| {
        assert!(k <= n, "kernel larger than the input");
        keras_output_size(n, k, s, p)
    });
    assert!(v.is_wrong(), "{v}");
    assert!(v.to_string().contains("멈췄습니다"), "{v}");
}

#[test]
fn output_size_none_after_some_is_wrong_not_not_done() {
    let v = check_output_size(|n, k, s, p| match p {
        Padding::Valid => Some((n - k) / s + 1),
        Padding::Same => None,
    });
    assert!(v.is_wrong(), "{v}");
}

#[test]
fn total_params() {
    assert!(check_total_params(|| Some(903_400)).is_correct());
    assert!(check_total_params(|| None).is_not_done());
    let v = check_total_params(|| Some(902_700));
    assert!(v.is_wrong());
    assert!(v.to_string().contains("편향"), "{v}");
    let v = check_total_params(|| Some(1));
    assert!(v.to_string().contains("너무 작습니다"), "{v}");
    // The expected number is not in the message.
    assert!(!v.to_string().contains("903"), "{v}");
}

#[test]
fn inference_memory() {
    assert!(check_inference_memory(|| Some(12_613_600)).is_correct());
    assert!(check_inference_memory(|| None).is_not_done());
    // All three layers at once instead of two consecutive ones.
    let v = check_inference_memory(|| Some(6_000_000 + 3_000_000 + 1_520_000 + 3_613_600));
    assert!(v.is_wrong());
    assert!(v.to_string().contains("연속한 두 층"), "{v}");
    // Parameters forgotten.
    let v = check_inference_memory(|| Some(9_000_000));
    assert!(v.to_string().contains("파라미터"), "{v}");
    assert!(!v.to_string().contains("12613600") && !v.to_string().contains("12,613,600"));
}

#[test]
fn training_memory() {
    assert!(check_training_memory(|| Some(565_613_600)).is_correct());
    assert!(check_training_memory(|| None).is_not_done());
    // The book's rounded total in MB: close but not exact.
    let v = check_training_memory(|| Some(564_600_000));
    assert!(v.is_wrong());
    assert!(v.to_string().contains("거의 맞았습니다"), "{v}");
    // Inputs forgotten.
    let v = check_training_memory(|| Some(565_613_600 - 36_000_000));
    assert!(v.to_string().contains("입력 이미지"), "{v}");
    // Sizes rounded down (25x37 instead of 25x38 in the last layer).
    let v = check_training_memory(|| Some(565_613_600 - 50 * 4 * 25 * 400));
    assert!(v.to_string().contains("올림"), "{v}");
}

#[test]
fn book_cnn_is_the_books_network() {
    assert_eq!(BOOK_CNN.input, (200, 300, 3));
    assert_eq!(BOOK_CNN.maps, [100, 200, 400]);
    assert_eq!((BOOK_CNN.kernel, BOOK_CNN.stride), (3, 2));
    assert_eq!(BOOK_CNN.padding, Padding::Same);
    assert_eq!((BOOK_CNN.batch, BOOK_CNN.bytes_per_value), (50, 4));
}
