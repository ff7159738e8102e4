//! Exercise 2 checker: a correct hand-written convolution passes; the placeholder is not
//! done; typical mistakes are reported with the failing case, its shapes and the first
//! differing position.

use cnnkit_homework::*;
use cnnkit_nn::arith::Padding;

use crate::common::{conv_loops, Mistakes};

#[test]
fn correct_convolution_passes() {
    let v = check_conv2d(|x, w, b, s, p| conv_loops(x, w, b, s, p, Mistakes::default()));
    assert!(v.is_correct(), "{v}");
}

#[test]
fn placeholder_is_not_done() {
    let v = check_conv2d(|_, _, _, _, _| None);
    assert!(v.is_not_done(), "{v}");
}

#[test]
fn flipped_kernel_is_wrong_with_a_hint() {
    let v = check_conv2d(|x, w, b, s, p| {
        conv_loops(
            x,
            w,
            b,
            s,
            p,
            Mistakes {
                flip: true,
                ..Default::default()
            },
        )
    });
    assert!(v.is_wrong(), "{v}");
    let text = v.to_string();
    // Case 1 has a symmetric kernel of ones, so the first failure is case 2.
    assert!(text.contains("사례 2/9"), "{text}");
    assert!(text.contains("첫 번째로 다른 위치"), "{text}");
    assert!(text.contains("뒤집"), "{text}");
}

#[test]
fn missing_bias_is_wrong_with_a_hint() {
    // Case 1 has a zero bias, so the first failure is case 2.
    let v = check_conv2d(|x, w, b, s, p| {
        conv_loops(
            x,
            w,
            b,
            s,
            p,
            Mistakes {
                no_bias: true,
                ..Default::default()
            },
        )
    });
    let text = v.to_string();
    assert!(text.contains("사례 2/9"), "{text}");
    assert!(text.contains("편향"), "{text}");
}

#[test]
fn extra_zero_on_the_wrong_side_is_wrong() {
    // Keras puts the extra zero of an odd total padding after (bottom, right); this answer
    // puts it before, which first shows in case 3 (8x8 input, 5x5 kernel, stride 2: three
    // zeros in all).
    let v = check_conv2d(|x, w, b, s, p| {
        conv_loops(
            x,
            w,
            b,
            s,
            p,
            Mistakes {
                extra_before: true,
                ..Default::default()
            },
        )
    });
    assert!(v.is_wrong(), "{v}");
    let text = v.to_string();
    assert!(
        text.contains("사례 3/9") && text.contains("padding \"same\""),
        "{text}"
    );
}

#[test]
fn wrong_shape_is_reported_with_both_shapes() {
    // Always returns the input size, as if `same` with stride 1.
    let v =
        check_conv2d(|x, w, b, _, _| conv_loops(x, w, b, 1, Padding::Same, Mistakes::default()));
    let text = v.to_string();
    assert!(v.is_wrong());
    assert!(
        text.contains("(1, 2, 2, 1)") && text.contains("(1, 3, 3, 1)"),
        "{text}"
    );
}

#[test]
fn a_panic_becomes_a_wrong_verdict() {
    let v = check_conv2d(|x, _, _, _, _| {
        let _ = x[[9, 9, 9, 9]];
        None
    });
    assert!(v.is_wrong());
    assert!(v.to_string().contains("멈췄습니다"), "{v}");
}

#[test]
fn a_partly_right_answer_gets_partial_credit() {
    // Right for "valid", wrong for every "same" case: 4 of the 9 cases (cases 1, 4, 5, 8).
    let v = check_conv2d(|x, w, b, s, p| match p {
        Padding::Valid => conv_loops(x, w, b, s, p, Mistakes::default()),
        Padding::Same => conv_loops(x, w, b, s, Padding::Valid, Mistakes::default()),
    });
    assert!(v.is_wrong(), "{v}");
    let credit = v.credit().expect("partial credit");
    assert_eq!(
        (credit.passed, credit.cases, credit.max_points),
        (4, 9, 10.0)
    );
    assert_eq!(credit.points(), 4.4);
    let text = v.to_string();
    assert!(text.contains("점수 (points): 4.4/10"), "{text}");
    // The first wrong case is shown in detail, the others are listed.
    assert!(
        text.contains("사례 2/9") && text.contains("틀린 사례: 2, 3, 6, 7, 9"),
        "{text}"
    );
}

#[test]
fn a_correct_answer_states_its_points_and_a_wrong_one_none_for_nothing_right() {
    let v = check_conv2d(|x, w, b, s, p| conv_loops(x, w, b, s, p, Mistakes::default()));
    assert!(v.to_string().contains("점수 (points): 10/10"), "{v}");
    let v = check_conv2d(|x, _, _, _, _| Some(x.clone()));
    assert_eq!(v.credit().map(|c| c.points()), Some(0.0), "{v}");
}
