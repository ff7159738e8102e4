//! Exercise 3 checkers: max pooling and depthwise max pooling.

use cnnkit_homework::*;
use cnnkit_nn::arith::{axis_geometry, Padding};

fn max_pool(
    x: &Array4<f32>,
    pool: usize,
    stride: usize,
    padding: Padding,
    pad_value: Option<f32>,
) -> Option<Array4<f32>> {
    let (n, h, w, c) = x.dim();
    let gh = axis_geometry(h, pool, stride, padding).ok()?;
    let gw = axis_geometry(w, pool, stride, padding).ok()?;
    Some(Array4::from_shape_fn(
        (n, gh.output, gw.output, c),
        |(b, i, j, ch)| {
            let mut best = f32::NEG_INFINITY;
            for di in 0..pool {
                for dj in 0..pool {
                    let y = (i * stride + di) as isize - gh.pad_before as isize;
                    let xx = (j * stride + dj) as isize - gw.pad_before as isize;
                    let v = if y < 0 || xx < 0 || y >= h as isize || xx >= w as isize {
                        match pad_value {
                            Some(p) => p,
                            None => continue,
                        }
                    } else {
                        x[[b, y as usize, xx as usize, ch]]
                    };
                    best = best.max(v);
                }
            }
            best
        },
    ))
}

#[test]
fn max_pool_correct_not_done_wrong() {
    assert!(check_max_pool2d(|x, p, s, pad| max_pool(x, p, s, pad, None)).is_correct());
    assert!(check_max_pool2d(|_, _, _, _| None).is_not_done());
}

#[test]
fn zero_padding_is_wrong_with_a_hint() {
    let v = check_max_pool2d(|x, p, s, pad| max_pool(x, p, s, pad, Some(0.0)));
    assert!(v.is_wrong(), "{v}");
    let text = v.to_string();
    assert!(text.contains("padding \"same\""), "{text}");
    assert!(text.contains("무시"), "{text}");
}

#[test]
fn average_instead_of_max_is_wrong_at_the_first_case() {
    let v = check_max_pool2d(|x, p, s, pad| {
        let (n, h, w, c) = x.dim();
        let gh = axis_geometry(h, p, s, pad).ok()?;
        let gw = axis_geometry(w, p, s, pad).ok()?;
        Some(Array4::from_shape_fn(
            (n, gh.output, gw.output, c),
            |(b, i, j, ch)| {
                let mut sum = 0.0;
                for di in 0..p {
                    for dj in 0..p {
                        sum += x[[b, i * s + di, j * s + dj, ch]];
                    }
                }
                sum / (p * p) as f32
            },
        ))
    });
    let text = v.to_string();
    assert!(v.is_wrong());
    assert!(
        text.contains("사례 1/7") && text.contains("[0, 0, 0, 0]"),
        "{text}"
    );
}

fn depthwise(x: &Array4<f32>, k: usize, strided: bool) -> Option<Array4<f32>> {
    let (n, h, w, c) = x.dim();
    let co = c / k;
    Some(Array4::from_shape_fn((n, h, w, co), |(b, i, j, g)| {
        (0..k)
            .map(|m| {
                if strided {
                    x[[b, i, j, g + m * co]]
                } else {
                    x[[b, i, j, g * k + m]]
                }
            })
            .fold(f32::NEG_INFINITY, f32::max)
    }))
}

#[test]
fn depthwise_correct_not_done_wrong() {
    assert!(check_depthwise_max_pool(|x, k| depthwise(x, k, false)).is_correct());
    assert!(check_depthwise_max_pool(|_, _| None).is_not_done());
    let v = check_depthwise_max_pool(|x, k| depthwise(x, k, true));
    assert!(v.is_wrong(), "{v}");
    assert!(v.to_string().contains("연속한 k개"), "{v}");
}

#[test]
fn depthwise_wrong_channel_count_names_both_shapes() {
    // Keeps all channels (k ignored).
    let v = check_depthwise_max_pool(|x, _| Some(x.clone()));
    let text = v.to_string();
    assert!(
        text.contains("(1, 1, 1, 2)") && text.contains("(1, 1, 1, 6)"),
        "{text}"
    );
}

#[test]
fn max_pool_right_for_valid_only_gets_partial_credit() {
    // Cases 1, 2, 3 and 6 of 7 are "valid": 4/7 of 5 points, rounded down to 2.8.
    let v = check_max_pool2d(|x, pool, stride, padding| match padding {
        Padding::Valid => max_pool(x, pool, stride, padding, None),
        Padding::Same => Some(Array4::zeros((1, 1, 1, 1))),
    });
    assert!(v.is_wrong(), "{v}");
    assert_eq!(
        v.credit().map(|c| (c.passed, c.cases, c.points())),
        Some((4, 7, 2.8)),
        "{v}"
    );
}
