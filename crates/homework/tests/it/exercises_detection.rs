//! Exercise 8 checkers: IoU, non-max suppression, transposed convolution output sizes.

use cnnkit_homework::*;

fn area(b: [f32; 4]) -> f32 {
    (b[2] - b[0]).max(0.0) * (b[3] - b[1]).max(0.0)
}

fn intersection(a: [f32; 4], b: [f32; 4]) -> f32 {
    let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    w * h
}

/// The reference solution of the notebook.
fn iou(a: [f32; 4], b: [f32; 4]) -> Option<f32> {
    let inter = intersection(a, b);
    let union = area(a) + area(b) - inter;
    Some(if union > 0.0 { inter / union } else { 0.0 })
}

/// The notebook's NMS; `suppress_at_threshold` makes the `>=` mistake, `sort` false
/// keeps the input order, `only_kept` false lets suppressed boxes suppress.
fn nms_with(
    boxes: &[[f32; 4]],
    scores: &[f32],
    threshold: f32,
    suppress_at_threshold: bool,
    sort: bool,
    only_kept: bool,
) -> Option<Vec<usize>> {
    let mut order: Vec<usize> = (0..boxes.len()).collect();
    if sort {
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    }
    let suppresses = |a: usize, b: usize| {
        let v = iou(boxes[a], boxes[b]).unwrap_or(0.0);
        if suppress_at_threshold {
            v >= threshold
        } else {
            v > threshold
        }
    };
    let mut kept: Vec<usize> = Vec::new();
    for (pos, &i) in order.iter().enumerate() {
        let against: Vec<usize> = if only_kept {
            kept.clone()
        } else {
            order[..pos].to_vec()
        };
        if !against.iter().any(|&k| suppresses(k, i)) {
            kept.push(i);
        }
    }
    Some(kept)
}

fn nms(boxes: &[[f32; 4]], scores: &[f32], threshold: f32) -> Option<Vec<usize>> {
    nms_with(boxes, scores, threshold, false, true, true)
}

fn transposed_output_size(input: usize, kernel: usize, stride: usize, same: bool) -> Option<usize> {
    Some(if same {
        input * stride
    } else {
        input * stride + kernel.saturating_sub(stride)
    })
}

#[test]
fn iou_correct_not_done_and_panic() {
    let v = check_iou(iou);
    assert!(v.is_correct(), "{v}");
    assert!(check_iou(|_, _| None).is_not_done());
    let v = check_iou(|_, _| -> Option<f32> { panic!("boom") });
    assert!(v.is_wrong() && v.to_string().contains("boom"), "{v}");
}

#[test]
fn iou_intersection_only_is_wrong_with_case_expected_and_got() {
    let v = check_iou(|a, b| Some(intersection(a, b)));
    let text = v.to_string();
    assert!(v.is_wrong(), "{text}");
    // The first case, identical 4x4 boxes: intersection 16 instead of IoU 1.
    assert!(text.contains("사례 1/311 (같은 상자)"), "{text}");
    assert!(text.contains("기대값 1, 여러분의 값 16"), "{text}");
    assert!(text.contains("합집합의 넓이로 나누세요"), "{text}");
}

#[test]
fn iou_nan_for_an_empty_union_is_wrong() {
    let v = check_iou(|a, b| {
        let inter = intersection(a, b);
        Some(inter / (area(a) + area(b) - inter))
    });
    let text = v.to_string();
    assert!(v.is_wrong(), "{text}");
    assert!(text.contains("합집합 0") && text.contains("NaN"), "{text}");
}

#[test]
fn iou_union_without_subtracting_and_plus_one_are_wrong_with_hints() {
    let v = check_iou(|a, b| {
        let s = area(a) + area(b);
        Some(if s > 0.0 { intersection(a, b) / s } else { 0.0 })
    });
    assert!(
        v.is_wrong() && v.to_string().contains("교집합을 한 번 뺀"),
        "{v}"
    );

    let v = check_iou(|a, b| {
        let w = a[2].min(b[2]) - a[0].max(b[0]) + 1.0;
        let h = a[3].min(b[3]) - a[1].max(b[1]) + 1.0;
        let inter = w.max(0.0) * h.max(0.0);
        let ar = |b: [f32; 4]| (b[2] - b[0] + 1.0) * (b[3] - b[1] + 1.0);
        Some(inter / (ar(a) + ar(b) - inter))
    });
    assert!(v.is_wrong() && v.to_string().contains("1을 더하지"), "{v}");
}

#[test]
fn iou_that_ignores_the_clamp_is_caught_by_touching_or_disjoint_boxes() {
    // Negative widths multiplied: two negative sides give a positive "intersection".
    let v = check_iou(|a, b| {
        let w = a[2].min(b[2]) - a[0].max(b[0]);
        let h = a[3].min(b[3]) - a[1].max(b[1]);
        let inter = w * h;
        let union = area(a) + area(b) - inter;
        Some(if union > 0.0 { inter / union } else { 0.0 })
    });
    let text = v.to_string();
    assert!(v.is_wrong() && text.contains("떨어진 두 상자"), "{text}");
}

#[test]
fn nms_correct_not_done_and_panic() {
    let v = check_nms(nms);
    assert!(v.is_correct(), "{v}");
    assert!(check_nms(|_, _, _| None).is_not_done());
    let v = check_nms(|b: &[[f32; 4]], _: &[f32], _| Some(vec![b.len() + 5]));
    assert!(v.is_wrong() && v.to_string().contains("목록 밖"), "{v}");
}

#[test]
fn nms_without_sorting_is_wrong() {
    let v = check_nms(|b, s, t| nms_with(b, s, t, false, false, true));
    let text = v.to_string();
    assert!(v.is_wrong(), "{text}");
    // Case 1 keeps box 0 (input order first) instead of the better box 1.
    assert!(text.contains("사례 1/47"), "{text}");
    assert!(
        text.contains("기대한 번호 [1], 여러분의 번호 [0]"),
        "{text}"
    );
}

#[test]
fn nms_that_forgets_to_order_the_result_gets_the_order_hint() {
    let v = check_nms(|b, s, t| {
        let mut kept = nms(b, s, t)?;
        kept.sort_unstable();
        Some(kept)
    });
    let text = v.to_string();
    assert!(v.is_wrong() && text.contains("떨어진 세 상자"), "{text}");
    assert!(text.contains("점수가 높은 것부터"), "{text}");
}

#[test]
fn nms_suppressing_at_the_threshold_is_wrong_with_the_rule() {
    let v = check_nms(|b, s, t| nms_with(b, s, t, true, true, true));
    let text = v.to_string();
    assert!(
        v.is_wrong() && text.contains("IoU가 문턱값과 같음"),
        "{text}"
    );
    assert!(text.contains("IoU > iou_threshold"), "{text}");
}

#[test]
fn nms_letting_suppressed_boxes_suppress_fails_the_chain() {
    let v = check_nms(|b, s, t| nms_with(b, s, t, false, true, false));
    let text = v.to_string();
    assert!(v.is_wrong() && text.contains("사슬"), "{text}");
    assert!(
        text.contains("기대한 번호 [2, 1], 여러분의 번호 [2]"),
        "{text}"
    );
    assert!(text.contains("이미 억제된 상자"), "{text}");
}

#[test]
fn nms_none_for_empty_input_is_wrong() {
    let v = check_nms(|b, s, t| if b.is_empty() { None } else { nms(b, s, t) });
    let text = v.to_string();
    assert!(v.is_wrong() && text.contains("빈 입력"), "{text}");
}

#[test]
fn transposed_correct_not_done_and_wrong() {
    let v = check_transposed_output_size(transposed_output_size);
    assert!(v.is_correct(), "{v}");
    assert!(v.to_string().contains("실제 Conv2DTranspose 층 6개"), "{v}");
    assert!(check_transposed_output_size(|_, _, _, _| None).is_not_done());
}

#[test]
fn transposed_same_formula_for_valid_is_wrong_with_a_hint() {
    let v = check_transposed_output_size(|n, _, s, _| Some(n * s));
    let text = v.to_string();
    assert!(v.is_wrong(), "{text}");
    // The first valid case with k > s: n = 1, k = 2, s = 1.
    assert!(
        text.contains("input = 1, kernel = 2, stride = 1, padding \"valid\""),
        "{text}"
    );
    assert!(text.contains("기대값 2, 여러분의 값 1"), "{text}");
    assert!(text.contains("\"same\"의 공식"), "{text}");
}

#[test]
fn transposed_without_the_max_is_wrong_for_small_kernels() {
    let v = check_transposed_output_size(|n, k, s, same| {
        Some(if same { n * s } else { (n - 1) * s + k })
    });
    let text = v.to_string();
    assert!(v.is_wrong() && text.contains("max(k − s, 0)"), "{text}");
}

#[test]
fn transposed_valid_formula_for_same_and_conv_formula_are_wrong() {
    let v = check_transposed_output_size(|n, k, s, _| Some(n * s + k.saturating_sub(s)));
    let text = v.to_string();
    assert!(
        v.is_wrong() && text.contains("커널 크기와 상관없이"),
        "{text}"
    );
    let v = check_transposed_output_size(|n, _, s, _| Some(n.div_ceil(s)));
    assert!(v.is_wrong() && v.to_string().contains("키웁니다"), "{v}");
}

#[test]
fn transposed_size_right_for_same_only_gets_one_point_of_three() {
    // The "same" formula for both paddings: right for "same", wrong for "valid" and for
    // the real "valid" layers.
    let v = check_transposed_output_size(|n, _, s, _| Some(n * s));
    assert!(v.is_wrong(), "{v}");
    assert_eq!(
        v.credit().map(|c| (c.passed, c.cases, c.points())),
        Some((1, 3, 1.0)),
        "{v}"
    );
    assert!(v.to_string().contains("틀린 부분: 2, 3"), "{v}");
}

#[test]
fn iou_right_on_random_pairs_but_nan_for_empty_unions_gets_half() {
    // Divides by a union of 0 (NaN): wrong in the hand cases of area 0, right on the random
    // pairs of the checker's grid (their union is never 0).
    let v = check_iou(|a, b| {
        let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
        let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
        let union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h;
        Some(w * h / union)
    });
    assert!(v.is_wrong(), "{v}");
    assert_eq!(v.credit().map(|c| c.points()), Some(1.5), "{v}");
}
