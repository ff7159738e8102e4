//! Exercise 4 checkers: a diagonal-line filter judged by its properties, and applying a
//! filter with `same` padding.

use cnnkit_homework::*;

use crate::common::correlate_same;

fn diagonal(k: usize, on: f32, off: f32) -> Array2<f32> {
    Array2::from_shape_fn((k, k), |(i, j)| if i == j { on } else { off })
}

#[test]
fn several_different_good_filters_pass() {
    // 3x3 with zero sum, 5x5 with zero sum, and one with a small non-zero sum.
    for f in [
        diagonal(3, 2.0, -1.0),
        diagonal(5, 4.0, -1.0),
        diagonal(3, 1.0, -0.45),
    ] {
        let v = check_diagonal_filter(|| Some(f.clone()));
        assert!(v.is_correct(), "{f:?}\n{v}");
    }
}

#[test]
fn placeholder_is_not_done() {
    assert!(check_diagonal_filter(|| None).is_not_done());
}

#[test]
fn filters_with_the_wrong_properties_are_wrong_with_the_reason() {
    // Responds to flat regions.
    let v = check_diagonal_filter(|| Some(diagonal(3, 1.0, 0.0)));
    assert!(v.is_wrong() && v.to_string().contains("평평한"), "{v}");
    // The other diagonal.
    let anti = Array2::from_shape_fn((3, 3), |(i, j)| if i + j == 2 { 2.0 } else { -1.0 });
    let v = check_diagonal_filter(|| Some(anti.clone()));
    assert!(v.is_wrong(), "{v}");
    // A horizontal line detector.
    let horizontal = Array2::from_shape_fn((3, 3), |(i, _)| if i == 1 { 2.0 } else { -1.0 });
    let v = check_diagonal_filter(|| Some(horizontal.clone()));
    assert!(v.to_string().contains("가로선"), "{v}");
    // Even or non-square shapes.
    let v = check_diagonal_filter(|| Some(Array2::zeros((4, 4))));
    assert!(v.is_wrong() && v.to_string().contains("(4, 4)"), "{v}");
    let v = check_diagonal_filter(|| Some(Array2::zeros((3, 5))));
    assert!(v.is_wrong(), "{v}");
    // All zeros: no response at all.
    let v = check_diagonal_filter(|| Some(Array2::zeros((3, 3))));
    assert!(
        v.is_wrong() && v.to_string().contains("반응이 없습니다"),
        "{v}"
    );
    // NaN.
    let v = check_diagonal_filter(|| Some(Array2::from_elem((3, 3), f32::NAN)));
    assert!(v.is_wrong() && v.to_string().contains("NaN"), "{v}");
}

#[test]
fn responses_cover_every_pattern() {
    let r = filter_responses(&diagonal(3, 2.0, -1.0));
    assert_eq!(r.len(), Pattern::ALL.len());
    assert_eq!(r[0], (Pattern::Diagonal, 6.0));
    assert_eq!(r[4], (Pattern::Flat, 0.0));
    for p in Pattern::ALL {
        assert_eq!(test_pattern(p).dim(), (PATTERN_SIZE, PATTERN_SIZE));
    }
}

#[test]
fn apply_filter_correct_not_done_wrong() {
    assert!(check_apply_filter(correlate_same).is_correct());
    assert!(check_apply_filter(|_, _| None).is_not_done());
    // `valid` instead of `same`: the shape is reported.
    let v = check_apply_filter(|img, k| {
        let (h, w) = img.dim();
        let (kh, kw) = k.dim();
        let full = correlate_same(img, k)?;
        let (ph, pw) = ((kh - 1) / 2, (kw - 1) / 2);
        Some(full.slice(s![ph..h - ph, pw..w - pw]).to_owned())
    });
    assert!(v.is_wrong());
    assert!(
        v.to_string().contains("(5, 5)") && v.to_string().contains("(3, 3)"),
        "{v}"
    );
    // Only the 1x1 kernel has the same output either way: 1 of 5 cases, 0.8 of 4 points.
    assert_eq!(
        v.credit().map(|c| (c.passed, c.points())),
        Some((1, 0.8)),
        "{v}"
    );
}
