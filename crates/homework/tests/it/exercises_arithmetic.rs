//! Exercise 1 checkers (output size, parameters, memory): each accepts the right answer,
//! reports the placeholder as not done, and explains a wrong answer without giving the
//! expected number away.
//!
//! Reference values: the book's answer to exercise 2 of chapter 14 (HOML 3rd ed., appendix
//! A; docs/instructors.md gives the numbers). This file does not write the answers as
//! numbers, since a student may open it: [`Answers`] computes them from the network's
//! description by the book's reasoning, and the checker's unit test compares digests of
//! them with the book's.

use cnnkit_homework::*;
use cnnkit_nn::arith::Padding;

/// The answers, worked out as the book does (the first two layers' outputs are the largest
/// consecutive pair), not with the checker's code.
struct Answers {
    params: u64,
    inference: u64,
    training: u64,
    /// Values per image in the three layers' outputs.
    outputs: [u64; 3],
    input: u64,
}

fn answers() -> Answers {
    let net = BOOK_CNN;
    let (h, w, c) = net.input;
    let k = net.kernel as u64;
    let channels = [
        c as u64,
        net.maps[0] as u64,
        net.maps[1] as u64,
        net.maps[2] as u64,
    ];
    let params: u64 = channels.windows(2).map(|p| (k * k * p[0] + 1) * p[1]).sum();
    let (mut hh, mut ww) = (h as u64, w as u64);
    let mut outputs = [0u64; 3];
    for (i, maps) in channels[1..].iter().enumerate() {
        (hh, ww) = (hh.div_ceil(2), ww.div_ceil(2));
        outputs[i] = hh * ww * maps;
    }
    let input = (h * w * c) as u64;
    let batch = net.batch as u64;
    Answers {
        params,
        inference: 4 * (outputs[0] + outputs[1] + params),
        training: 4 * (batch * (outputs.iter().sum::<u64>() + input) + params),
        outputs,
        input,
    }
}

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
    // Right for "valid", wrong for "same": one of the two points.
    assert_eq!(v.credit().map(|c| c.points()), Some(1.0), "{v}");
    let text = v.to_string();
    assert!(text.contains("점수 (points): 1/2"), "{text}");
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
    let a = answers();
    assert!(check_total_params(|| Some(a.params)).is_correct());
    assert!(check_total_params(|| None).is_not_done());
    // Biases left out: one per filter.
    let biases: u64 = BOOK_CNN.maps.iter().map(|&m| m as u64).sum();
    let v = check_total_params(|| Some(a.params - biases));
    assert!(v.is_wrong());
    assert!(v.to_string().contains("편향"), "{v}");
    let v = check_total_params(|| Some(1));
    assert!(v.to_string().contains("너무 작습니다"), "{v}");
    // The expected number is not in the message.
    assert!(!v.to_string().contains(&a.params.to_string()), "{v}");
}

#[test]
fn inference_memory() {
    let a = answers();
    assert!(check_inference_memory(|| Some(a.inference)).is_correct());
    assert!(check_inference_memory(|| None).is_not_done());
    // All three layers at once instead of two consecutive ones.
    let v = check_inference_memory(|| Some(a.inference + 4 * a.outputs[2]));
    assert!(v.is_wrong());
    assert!(v.to_string().contains("연속한 두 층"), "{v}");
    // Parameters forgotten.
    let v = check_inference_memory(|| Some(a.inference - 4 * a.params));
    assert!(v.to_string().contains("파라미터"), "{v}");
    assert!(!v.to_string().contains(&a.inference.to_string()));
}

#[test]
fn training_memory() {
    let a = answers();
    assert!(check_training_memory(|| Some(a.training)).is_correct());
    assert!(check_training_memory(|| None).is_not_done());
    // The book's total rounded to MB: close but not exact.
    let v = check_training_memory(|| Some(a.training / 1_000_000 * 1_000_000));
    assert!(v.is_wrong());
    assert!(v.to_string().contains("거의 맞았습니다"), "{v}");
    // Inputs forgotten.
    let v = check_training_memory(|| Some(a.training - 4 * 50 * a.input));
    assert!(v.to_string().contains("입력 이미지"), "{v}");
    // Sizes rounded down (25x37 instead of 25x38 in the last layer).
    let v = check_training_memory(|| Some(a.training - 50 * 4 * 25 * 400));
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
