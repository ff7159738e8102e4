//! Exercise 2 checker: a correct hand-written convolution passes; the placeholder is not
//! done; typical mistakes are reported with the failing case, its shapes and the first
//! differing position.

use cnnkit_homework::*;
use cnnkit_nn::arith::{axis_geometry, Padding};

/// A straightforward correct answer: Keras' `same` padding puts the extra zero after.
fn conv_loops(
    x: &Array4<f32>,
    w: &Array4<f32>,
    b: &Array1<f32>,
    stride: usize,
    padding: Padding,
    flip: bool,
    bias: bool,
) -> Option<Array4<f32>> {
    conv_loops_with(x, w, b, stride, padding, flip, bias, false)
}

/// [`conv_loops`], optionally with the extra zero of `same` padding before instead of after.
#[allow(clippy::too_many_arguments)]
fn conv_loops_with(
    x: &Array4<f32>,
    w: &Array4<f32>,
    b: &Array1<f32>,
    stride: usize,
    padding: Padding,
    flip: bool,
    bias: bool,
    extra_before: bool,
) -> Option<Array4<f32>> {
    let (n, h, wd, c) = x.dim();
    let (kh, kw, _, o) = w.dim();
    let gh = axis_geometry(h, kh, stride, padding).ok()?;
    let gw = axis_geometry(wd, kw, stride, padding).ok()?;
    Some(Array4::from_shape_fn(
        (n, gh.output, gw.output, o),
        |(img, i, j, f)| {
            let mut sum = if bias { b[f] } else { 0.0 };
            for di in 0..kh {
                for dj in 0..kw {
                    let (top, left) = if extra_before {
                        (gh.pad_after, gw.pad_after)
                    } else {
                        (gh.pad_before, gw.pad_before)
                    };
                    let y = (i * stride + di) as isize - top as isize;
                    let xx = (j * stride + dj) as isize - left as isize;
                    if y < 0 || xx < 0 || y >= h as isize || xx >= wd as isize {
                        continue;
                    }
                    let (ki, kj) = if flip {
                        (kh - 1 - di, kw - 1 - dj)
                    } else {
                        (di, dj)
                    };
                    for ch in 0..c {
                        sum += x[[img, y as usize, xx as usize, ch]] * w[[ki, kj, ch, f]];
                    }
                }
            }
            sum
        },
    ))
}

#[test]
fn correct_convolution_passes() {
    let v = check_conv2d(|x, w, b, s, p| conv_loops(x, w, b, s, p, false, true));
    assert!(v.is_correct(), "{v}");
}

#[test]
fn placeholder_is_not_done() {
    let v = check_conv2d(|_, _, _, _, _| None);
    assert!(v.is_not_done(), "{v}");
}

#[test]
fn flipped_kernel_is_wrong_with_a_hint() {
    let v = check_conv2d(|x, w, b, s, p| conv_loops(x, w, b, s, p, true, true));
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
    let v = check_conv2d(|x, w, b, s, p| conv_loops(x, w, b, s, p, false, false));
    let text = v.to_string();
    assert!(text.contains("사례 2/9"), "{text}");
    assert!(text.contains("편향"), "{text}");
}

#[test]
fn extra_zero_on_the_wrong_side_is_wrong() {
    // Keras puts the extra zero of an odd total padding after (bottom, right); this answer
    // puts it before, which first shows in case 3 (8x8 input, 5x5 kernel, stride 2: three
    // zeros in all).
    let v = check_conv2d(|x, w, b, s, p| conv_loops_with(x, w, b, s, p, false, true, true));
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
    let v = check_conv2d(|x, w, b, _, _| conv_loops(x, w, b, 1, Padding::Same, false, true));
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
