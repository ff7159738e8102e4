//! Exercise 8: the arithmetic of detection and segmentation by hand: intersection over
//! union, greedy non-max suppression, and the output size of a transposed convolution,
//! checked against [`cnnkit_nn::detection`] and [`cnnkit_nn::arith`].

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::verdict::{internal_error, run_case, NoneHints, Tally};
use super::{close, Verdict};
use cnnkit_nn::arith::{transpose_output_size, Padding};
use cnnkit_nn::detection::{iou as reference_iou, nms_indices, Detection, NmsConfig};

const EX_IOU: &str = "연습 8-1 · IoU (iou)";
const EX_NMS: &str = "연습 8-2 · 비최댓값 억제 (nms)";
const EX_TRANSPOSE: &str = "연습 8-3 · 전치 합성곱의 출력 크기 (transposed_output_size)";

/// The points of the check cells (`ex08_iou_check`, `ex08_nms_check`,
/// `ex08_transposed_check`), shared equally by their parts.
const IOU_POINTS: f64 = 3.0;
/// See [`IOU_POINTS`].
const NMS_POINTS: f64 = 4.0;
/// See [`IOU_POINTS`].
const TRANSPOSE_POINTS: f64 = 3.0;

const IOU_HINTS: NoneHints = NoneHints {
    first:
        "함수가 아직 None을 돌려줍니다. 두 상자의 IoU를 Some(값)으로 돌려주도록 바꾼 뒤 이 셀을 \
            다시 실행하세요.",
    later: "이 사례에서 None을 돌려주었습니다. 모든 상자 쌍에 Some(IoU)를 돌려주세요 \
            (넓이가 0인 상자도).",
};

const NMS_HINTS: NoneHints = NoneHints {
    first:
        "함수가 아직 None을 돌려줍니다. 남길 상자의 번호를 Some(벡터)로 돌려주도록 바꾼 뒤 이 셀을 \
            다시 실행하세요.",
    later: "이 사례에서 None을 돌려주었습니다. 모든 입력에 Some(번호 목록)을 돌려주세요 \
            (상자가 없으면 Some(빈 벡터)).",
};

const TRANSPOSE_HINTS: NoneHints = NoneHints {
    first: "함수가 아직 None을 돌려줍니다. 출력 크기를 Some(크기)로 돌려주도록 바꾼 뒤 이 셀을 \
            다시 실행하세요.",
    later: "이 경우에 None을 돌려주었습니다. 모든 경우에 Some(크기)를 돌려주세요.",
};

/// Formats a box as `[0, 0, 4, 3]` (shortest form of each number).
fn box_str(b: &[f32; 4]) -> String {
    let parts: Vec<String> = b.iter().map(|v| format!("{v}")).collect();
    format!("[{}]", parts.join(", "))
}

/// The hand-computed IoU cases: two boxes, the IoU, and what the case is about.
fn iou_hand_cases() -> Vec<([f32; 4], [f32; 4], f32, &'static str)> {
    vec![
        // Identical: intersection = union = 16.
        ([0.0, 0.0, 4.0, 4.0], [0.0, 0.0, 4.0, 4.0], 1.0, "같은 상자"),
        // Apart along both axes: the unclamped "widths" -1 and -1 multiply to +1.
        (
            [0.0, 0.0, 2.0, 2.0],
            [3.0, 3.0, 4.0, 4.0],
            0.0,
            "떨어진 두 상자",
        ),
        // Apart along x only: an unclamped width -1 times height 2 gives -2.
        (
            [0.0, 0.0, 2.0, 2.0],
            [3.0, 0.0, 5.0, 2.0],
            0.0,
            "가로로만 떨어진 두 상자",
        ),
        // They share the edge x = 2 only: its area is 0.
        (
            [0.0, 0.0, 2.0, 2.0],
            [2.0, 0.0, 4.0, 2.0],
            0.0,
            "변이 맞닿은 두 상자",
        ),
        (
            [0.0, 0.0, 2.0, 2.0],
            [2.0, 2.0, 4.0, 4.0],
            0.0,
            "꼭짓점만 맞닿은 두 상자",
        ),
        // The inner 2x2 box lies in the 4x4 one: 4 / 16.
        (
            [0.0, 0.0, 4.0, 4.0],
            [1.0, 1.0, 3.0, 3.0],
            0.25,
            "한 상자가 다른 상자 안에 있음",
        ),
        // Intersection: x 2..4, y 1..3, area 2 * 2 = 4. Areas 4 * 3 = 12 and 4 * 4 = 16,
        // union 12 + 16 - 4 = 24, IoU 4 / 24 = 1/6.
        (
            [0.0, 0.0, 4.0, 3.0],
            [2.0, 1.0, 6.0, 5.0],
            1.0 / 6.0,
            "일부가 겹침",
        ),
        // The same with the boxes swapped: IoU is symmetric.
        (
            [2.0, 1.0, 6.0, 5.0],
            [0.0, 0.0, 4.0, 3.0],
            1.0 / 6.0,
            "일부가 겹침 (순서를 바꿈)",
        ),
        // A point box (area 0) inside a 2x2 box: intersection 0, union 4.
        (
            [1.0, 1.0, 1.0, 1.0],
            [0.0, 0.0, 2.0, 2.0],
            0.0,
            "넓이가 0인 상자와 보통 상자",
        ),
        // Two equal point boxes: intersection 0, union 0; 0 / 0 is NaN, the answer is 0.
        (
            [1.0, 1.0, 1.0, 1.0],
            [1.0, 1.0, 1.0, 1.0],
            0.0,
            "넓이가 0인 같은 상자 두 개 (합집합 0)",
        ),
        // A line (width 0) with itself: union 0 again.
        (
            [3.0, 0.0, 3.0, 5.0],
            [3.0, 0.0, 3.0, 5.0],
            0.0,
            "폭이 0인 같은 상자 두 개 (합집합 0)",
        ),
    ]
}

/// Random boxes with corners on a grid of 0.25 in `0..12`, at least 0.25 wide and high.
fn random_box(rng: &mut impl Rng) -> [f32; 4] {
    let q = |v: u32| v as f32 * 0.25;
    let (x, y) = (rng.gen_range(0..36u32), rng.gen_range(0..36u32));
    let (w, h) = (rng.gen_range(1..=28u32), rng.gen_range(1..=28u32));
    [q(x), q(y), q(x + w), q(y + h)]
}

/// The number of random IoU cases.
const IOU_RANDOM: usize = 300;

fn area(b: &[f32; 4]) -> f32 {
    (b[2] - b[0]).max(0.0) * (b[3] - b[1]).max(0.0)
}

fn intersection(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    w * h
}

/// Hints for the typical mistakes a wrong IoU matches.
fn iou_hints(a: &[f32; 4], b: &[f32; 4], got: f32, want: f32) -> Vec<String> {
    let mut hints = Vec::new();
    if got.is_nan() {
        hints.push(
            "힌트: NaN이 나왔습니다. 합집합의 넓이가 0이면 0 / 0이 됩니다. 그럴 때는 0을 돌려주세요."
                .into(),
        );
        return hints;
    }
    let inter = intersection(a, b);
    let (aa, ab) = (area(a), area(b));
    if got < 0.0 {
        hints.push(
            "힌트: IoU는 음수가 될 수 없습니다. 겹치지 않는 방향의 폭과 높이는 0으로 자르세요 \
             (max(0, ...))."
                .into(),
        );
    } else if inter != want && close(got, inter) {
        hints.push("힌트: 교집합의 넓이만 돌려주었습니다. 합집합의 넓이로 나누세요.".into());
    } else if aa + ab > 0.0 && close(got, inter / (aa + ab)) {
        hints.push(
            "힌트: 합집합의 넓이는 두 넓이의 합에서 교집합을 한 번 뺀 값입니다 \
             (넓이 A + 넓이 B − 교집합)."
                .into(),
        );
    } else if aa.min(ab) > 0.0 && close(got, inter / aa.min(ab)) {
        hints.push("힌트: 작은 상자의 넓이가 아니라 합집합의 넓이로 나누세요.".into());
    } else {
        let plus_one = |b: &[f32; 4]| (b[2] - b[0] + 1.0) * (b[3] - b[1] + 1.0);
        let wi = a[2].min(b[2]) - a[0].max(b[0]) + 1.0;
        let hi = a[3].min(b[3]) - a[1].max(b[1]) + 1.0;
        let inter1 = wi.max(0.0) * hi.max(0.0);
        let union1 = plus_one(a) + plus_one(b) - inter1;
        if union1 > 0.0 && close(got, inter1 / union1) {
            hints.push(
                "힌트: 폭과 높이에 1을 더하지 마세요. 좌표는 연속 좌표이고 폭은 x_max − x_min입니다."
                    .into(),
            );
        }
    }
    hints
}

/// Checks a function that returns the intersection over union of two boxes in
/// `(x_min, y_min, x_max, y_max)` format, `iou(a, b)`.
///
/// Eleven hand-computed cases first (identical boxes 1, boxes apart 0, touching edges and
/// corners 0, a box inside another 1/4, a partial overlap 1/6 both ways round, boxes of
/// area 0 whose union is 0: the answer is 0, not NaN), then 300 random pairs on a grid of
/// 0.25 compared with [`cnnkit_nn::detection::iou`], tolerance 1e-4. A wrong verdict names
/// the case, both boxes, the expected value and the student's, with a hint when the value
/// matches a typical mistake (the intersection only, the union without subtracting the
/// intersection, `+ 1` pixel widths, NaN for an empty union).
///
/// ```
/// use cnnkit_homework::check_iou;
/// let iou = |a: [f32; 4], b: [f32; 4]| {
///     let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
///     let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
///     let union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h;
///     Some(if union > 0.0 { w * h / union } else { 0.0 })
/// };
/// assert!(check_iou(iou).is_correct());
/// assert!(check_iou(|_, _| None).is_not_done());
/// // Wrong on purpose: the intersection's area, not divided by the union.
/// let v = check_iou(|a, b| {
///     let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
///     Some(w * (a[3].min(b[3]) - a[1].max(b[1])).max(0.0))
/// });
/// assert!(v.is_wrong() && v.to_string().contains("기대값 1"));
/// ```
pub fn check_iou<F>(iou: F) -> Verdict
where
    F: Fn([f32; 4], [f32; 4]) -> Option<f32>,
{
    let hand = iou_hand_cases();
    let mut rng = rand::rngs::StdRng::seed_from_u64(81);
    let random: Vec<([f32; 4], [f32; 4])> = (0..IOU_RANDOM)
        .map(|_| (random_box(&mut rng), random_box(&mut rng)))
        .collect();
    let total = hand.len() + random.len();
    let cases = hand
        .iter()
        .map(|&(a, b, want, what)| (a, b, want, what.to_string()))
        .chain(
            random
                .iter()
                .map(|&(a, b)| (a, b, reference_iou(a, b), "무작위 상자".to_string())),
        );
    // Two parts of 1.5 points: the hand cases, and the random pairs.
    let mut tally = Tally::parts(EX_IOU, 2, IOU_POINTS);
    let mut failed = [false; 2];
    for (k, (a, b, want, what)) in cases.enumerate() {
        let k = k + 1;
        let part = usize::from(k > hand.len());
        if failed[part] {
            continue;
        }
        let describe = format!(
            "사례 {k}/{total} ({what}): a = {}, b = {}",
            box_str(&a),
            box_str(&b)
        );
        let got = run_case(EX_IOU, k, describe.clone(), &IOU_HINTS, || iou(a, b));
        let got = match tally.answer(part + 1, got) {
            Ok(Some(v)) => v,
            Ok(None) => {
                failed[part] = true;
                continue;
            }
            Err(v) => return v,
        };
        if got.is_nan() || !close(got, want) {
            let mut problems = vec![describe, format!("기대값 {want}, 여러분의 값 {got}.")];
            problems.extend(iou_hints(&a, &b, got, want));
            tally.fail(part + 1, problems);
            failed[part] = true;
        }
    }
    for _ in failed.iter().filter(|f| !**f) {
        tally.pass();
    }
    tally.verdict(vec![format!(
        "손으로 계산한 {}개 사례 (같은 상자, 떨어지거나 맞닿은 상자, 안에 든 상자, 일부 겹침, 넓이 0)와 \
         무작위 상자 {}쌍에서 cnnkit의 detection::iou와 같습니다.",
        hand.len(),
        random.len()
    )])
}

/// One non-max suppression case.
struct NmsCase {
    boxes: Vec<[f32; 4]>,
    scores: Vec<f32>,
    threshold: f32,
    what: String,
    /// The hand-computed answer, `None` for the random cases (the reference's).
    expected: Option<Vec<usize>>,
}

impl NmsCase {
    fn describe(&self, k: usize, total: usize) -> String {
        let boxes: Vec<String> = self
            .boxes
            .iter()
            .zip(&self.scores)
            .enumerate()
            .map(|(i, (b, s))| format!("{i}: {} 점수 {s}", box_str(b)))
            .collect();
        let list = if boxes.is_empty() {
            "상자 없음".to_string()
        } else {
            boxes.join("\n")
        };
        format!(
            "사례 {k}/{total} ({}): iou_threshold = {}, 상자 {}개\n{list}",
            self.what,
            self.threshold,
            self.boxes.len()
        )
    }
}

/// The reference: `nms_indices` class-agnostic, with no score threshold and no limit.
fn nms_reference(boxes: &[[f32; 4]], scores: &[f32], threshold: f32) -> crate::Result<Vec<usize>> {
    let detections: Vec<Detection> = boxes
        .iter()
        .zip(scores)
        .map(|(&b, &s)| Detection::new(b, 0, s))
        .collect();
    let config = NmsConfig {
        iou_threshold: threshold,
        score_threshold: f32::NEG_INFINITY,
        max_detections: usize::MAX,
        per_class: false,
    };
    Ok(nms_indices(&detections, &config)?)
}

fn nms_hand_cases() -> Vec<NmsCase> {
    let case =
        |boxes: Vec<[f32; 4]>, scores: Vec<f32>, threshold, what: &str, want: Vec<usize>| NmsCase {
            boxes,
            scores,
            threshold,
            what: what.into(),
            expected: Some(want),
        };
    vec![
        // IoU 81 / 100 = 0.81 > 0.5: the higher score (box 1) suppresses box 0.
        case(
            vec![[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 10.0, 10.0]],
            vec![0.6, 0.9],
            0.5,
            "많이 겹치는 두 상자",
            vec![1],
        ),
        // Three boxes apart: nothing is suppressed, the order is by score.
        case(
            vec![
                [0.0, 0.0, 2.0, 2.0],
                [5.0, 0.0, 7.0, 2.0],
                [10.0, 0.0, 12.0, 2.0],
            ],
            vec![0.2, 0.9, 0.5],
            0.5,
            "떨어진 세 상자",
            vec![1, 2, 0],
        ),
        // Box 1 covers half of box 0: intersection 8, union 16, IoU exactly 0.5, which is
        // not above the threshold: both stay.
        case(
            vec![[0.0, 0.0, 4.0, 4.0], [0.0, 0.0, 4.0, 2.0]],
            vec![0.9, 0.8],
            0.5,
            "IoU가 문턱값과 같음",
            vec![0, 1],
        ),
        // The same boxes with a lower threshold: 0.5 > 0.4 suppresses box 1.
        case(
            vec![[0.0, 0.0, 4.0, 4.0], [0.0, 0.0, 4.0, 2.0]],
            vec![0.9, 0.8],
            0.4,
            "IoU가 문턱값보다 큼",
            vec![0],
        ),
        // A chain, listed as B, C, A: A-B and B-C have IoU 2 / 6 = 1/3 > 0.3, A and C only
        // touch (IoU 0). A (best) suppresses B; C is compared with the kept boxes only
        // (A), so it stays although it overlaps the suppressed B.
        case(
            vec![
                [2.0, 0.0, 6.0, 1.0],
                [4.0, 0.0, 8.0, 1.0],
                [0.0, 0.0, 4.0, 1.0],
            ],
            vec![0.8, 0.7, 0.9],
            0.3,
            "사슬: A와 B, B와 C가 겹치고 A와 C는 겹치지 않음 (입력 순서 B, C, A)",
            vec![2, 1],
        ),
        case(vec![], vec![], 0.5, "빈 입력", vec![]),
        case(
            vec![[1.0, 2.0, 3.0, 4.0]],
            vec![0.3],
            0.5,
            "상자 하나",
            vec![0],
        ),
    ]
}

/// The random cases: 0 to 12 boxes of distinct scores, thresholds 0.3 to 0.7; a case whose
/// outcome would depend on rounding (an IoU within 1e-3 of the threshold) is drawn again.
fn nms_random_cases(count: usize) -> Vec<NmsCase> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(82);
    let mut cases = Vec::with_capacity(count);
    while cases.len() < count {
        let n = rng.gen_range(0..=12usize);
        // Denser than the IoU cases' boxes, so that most cases suppress something.
        let boxes: Vec<[f32; 4]> = (0..n)
            .map(|_| {
                let q = |v: u32| v as f32 * 0.25;
                let (x, y) = (rng.gen_range(0..24u32), rng.gen_range(0..24u32));
                let (w, h) = (rng.gen_range(8..=24u32), rng.gen_range(8..=24u32));
                [q(x), q(y), q(x + w), q(y + h)]
            })
            .collect();
        let mut scores: Vec<f32> = (1..=n).map(|i| i as f32 / (n + 1) as f32).collect();
        scores.shuffle(&mut rng);
        let threshold = [0.3f32, 0.4, 0.5, 0.6, 0.7][rng.gen_range(0..5)];
        let near = boxes.iter().enumerate().any(|(i, a)| {
            boxes[i + 1..]
                .iter()
                .any(|b| (reference_iou(*a, *b) - threshold).abs() < 1e-3)
        });
        if near {
            continue;
        }
        cases.push(NmsCase {
            boxes,
            scores,
            threshold,
            what: "무작위 상자".into(),
            expected: None,
        });
    }
    cases
}

/// The number of random NMS cases.
const NMS_RANDOM: usize = 40;

/// Hints for a wrong list of kept boxes.
fn nms_hints(case: &NmsCase, got: &[usize], want: &[usize]) -> Vec<String> {
    let n = case.boxes.len();
    if let Some(&bad) = got.iter().find(|&&i| i >= n) {
        return vec![format!(
            "번호 {bad}는 상자 목록 밖입니다 (상자는 0부터 {}까지).",
            n.saturating_sub(1)
        )];
    }
    let mut sorted_got = got.to_vec();
    sorted_got.sort_unstable();
    if sorted_got.windows(2).any(|p| p[0] == p[1]) {
        return vec!["같은 번호가 두 번 나옵니다. 상자마다 한 번만 남기세요.".into()];
    }
    let mut sorted_want = want.to_vec();
    sorted_want.sort_unstable();
    if sorted_got == sorted_want {
        return vec!["남긴 상자는 맞지만 순서가 다릅니다. 점수가 높은 것부터 돌려주세요.".into()];
    }
    let mut hints = Vec::new();
    let ge = nms_greedy(case, |iou, t| iou >= t);
    if got == ge.as_slice() && ge != want {
        hints.push(
            "힌트: IoU가 문턱값과 **같은** 상자는 억제하지 않습니다 (IoU > iou_threshold일 때만 억제)."
                .into(),
        );
    }
    let all = nms_any_higher(case);
    if got == all.as_slice() && all != want {
        hints.push(
            "힌트: 이미 억제된 상자는 다른 상자를 억제하지 못합니다. 남기기로 한 상자하고만 비교하세요."
                .into(),
        );
    }
    hints
}

/// Greedy NMS with another suppression rule (for the hints).
fn nms_greedy(case: &NmsCase, suppresses: impl Fn(f32, f32) -> bool) -> Vec<usize> {
    let mut order: Vec<usize> = (0..case.boxes.len()).collect();
    order.sort_by(|&a, &b| case.scores[b].total_cmp(&case.scores[a]));
    let mut kept: Vec<usize> = Vec::new();
    for i in order {
        if !kept
            .iter()
            .any(|&k| suppresses(reference_iou(case.boxes[k], case.boxes[i]), case.threshold))
        {
            kept.push(i);
        }
    }
    kept
}

/// The mistake of letting every higher-scored box suppress, kept or not.
fn nms_any_higher(case: &NmsCase) -> Vec<usize> {
    let mut order: Vec<usize> = (0..case.boxes.len()).collect();
    order.sort_by(|&a, &b| case.scores[b].total_cmp(&case.scores[a]));
    order
        .iter()
        .enumerate()
        .filter(|&(pos, &i)| {
            !order[..pos]
                .iter()
                .any(|&h| reference_iou(case.boxes[h], case.boxes[i]) > case.threshold)
        })
        .map(|(_, &i)| i)
        .collect()
}

/// Checks a greedy non-max suppression, `nms(boxes, scores, iou_threshold)`, that returns
/// the indices of the boxes it keeps, highest score first.
///
/// The rule, as [`cnnkit_nn::detection::nms_indices`] with `per_class: false`, no score
/// threshold and no limit: take the boxes in order of decreasing score; keep a box unless
/// a box **kept** before it has `IoU > iou_threshold` with it (an IoU equal to the
/// threshold does not suppress). Scores are distinct in every case.
///
/// Seven hand cases (two overlapping boxes, three boxes apart given out of order, an IoU
/// exactly at the threshold and just above a lower one, the chain A-B-C where greedy keeps
/// A and C, no boxes, one box), then 40 random cases of up to 12 boxes compared with
/// `nms_indices`. A wrong verdict lists the case's boxes and scores, the expected and the
/// student's indices, and a hint for the typical mistakes (not sorting, `>=` instead of
/// `>`, letting suppressed boxes suppress).
///
/// ```
/// use cnnkit_homework::check_nms;
/// // Wrong on purpose: keeps every box in input order.
/// let v = check_nms(|boxes: &[[f32; 4]], _scores: &[f32], _t| Some((0..boxes.len()).collect()));
/// assert!(v.is_wrong());
/// assert!(v.to_string().contains("사례 1/47"));
/// assert!(check_nms(|_, _, _| None).is_not_done());
/// ```
pub fn check_nms<F>(nms: F) -> Verdict
where
    F: Fn(&[[f32; 4]], &[f32], f32) -> Option<Vec<usize>>,
{
    let hand = nms_hand_cases();
    let hand_count = hand.len();
    let cases: Vec<NmsCase> = hand
        .into_iter()
        .chain(nms_random_cases(NMS_RANDOM))
        .collect();
    let total = cases.len();
    // Two parts of 2 points: the hand cases, and the random ones.
    let mut tally = Tally::parts(EX_NMS, 2, NMS_POINTS);
    let mut failed = [false; 2];
    for (k, case) in cases.iter().enumerate() {
        let k = k + 1;
        let part = usize::from(k > hand_count);
        if failed[part] {
            continue;
        }
        let want = match &case.expected {
            Some(w) => w.clone(),
            None => match nms_reference(&case.boxes, &case.scores, case.threshold) {
                Ok(w) => w,
                Err(e) => return internal_error(EX_NMS, e),
            },
        };
        let describe = case.describe(k, total);
        let got = run_case(EX_NMS, k, describe.clone(), &NMS_HINTS, || {
            nms(&case.boxes, &case.scores, case.threshold)
        });
        let got = match tally.answer(part + 1, got) {
            Ok(Some(v)) => v,
            Ok(None) => {
                failed[part] = true;
                continue;
            }
            Err(v) => return v,
        };
        if got != want {
            let mut problems = vec![
                describe,
                format!("기대한 번호 {want:?}, 여러분의 번호 {got:?}."),
            ];
            problems.extend(nms_hints(case, &got, &want));
            tally.fail(part + 1, problems);
            failed[part] = true;
        }
    }
    for _ in failed.iter().filter(|f| !**f) {
        tally.pass();
    }
    tally.verdict(vec![format!(
        "손으로 푼 {hand_count}개 사례 (문턱값과 같은 IoU, 사슬 A-B-C, 빈 입력 포함)와 무작위 {}개 \
         사례에서 cnnkit의 detection::nms_indices와 같습니다 (IoU > 문턱값이면 억제).",
        total - hand_count
    )])
}

fn padding_name(same: bool) -> &'static str {
    if same {
        "\"same\""
    } else {
        "\"valid\""
    }
}

/// Hints for a wrong transposed output size.
fn transpose_hint(n: usize, k: usize, s: usize, same: bool, got: usize) -> Option<&'static str> {
    const SHRINKS: &str =
        "힌트: 전치 합성곱은 특성지도를 키웁니다. 합성곱의 출력 크기 공식이 아닙니다.";
    const SAME: &str =
        "힌트: \"same\"에서는 커널 크기와 상관없이 출력이 입력의 정확히 stride배입니다.";
    if same {
        if k > s && got == n * s + (k - s) {
            return Some(SAME);
        }
        if s > 1 && got <= n {
            return Some(SHRINKS);
        }
        if got == (n - 1) * s + k {
            return Some(SAME);
        }
        return None;
    }
    if k > s && got == n * s {
        return Some(
            "힌트: \"same\"의 공식을 썼습니다. \"valid\"에서는 잘라 내는 칸이 없어서, 커널이 보폭보다 크면 \
             창이 끝에서 k − s칸 더 튀어나갑니다.",
        );
    }
    if k < s && got == (n - 1) * s + k {
        return Some(
            "힌트: 커널이 보폭보다 작으면 창 사이에 빈칸이 생기는데, 케라스는 마지막 창 뒤의 빈칸도 \
             출력에 넣습니다: max(k − s, 0)을 쓰세요.",
        );
    }
    if s > 1 && got <= n {
        return Some(SHRINKS);
    }
    None
}

/// Output `(height, width)` of a real `Conv2DTranspose<1, 1, K, S, P>` on a `1 x h x w x 1`
/// input.
fn layer_output<const K: usize, const S: usize, P>(
    h: usize,
    w: usize,
) -> crate::Result<(usize, usize)>
where
    P: cnnkit_nn::layers::PaddingMode + Default,
{
    use cnnkit_nn::prelude::*;
    let dev = Cpu::default();
    let layer = dev.build_module::<Conv2DTranspose<1, 1, K, S, P>, f32>();
    let x: Tensor<(usize, usize, usize, Const<1>), f32, Cpu> = dev.zeros_like(&(1, h, w, Const));
    let y = layer.try_forward(x).map_err(cnnkit_nn::Error::from)?;
    Ok((y.shape().1, y.shape().2))
}

/// The real layers the checker runs: kernel, stride, `same`, and the layer's output for a
/// 5x7 input.
type LayerRun = (
    usize,
    usize,
    bool,
    fn(usize, usize) -> crate::Result<(usize, usize)>,
);

const LAYER_RUNS: [LayerRun; 6] = {
    use cnnkit_nn::layers::{Same, Valid};
    [
        (3, 2, true, layer_output::<3, 2, Same>),
        (3, 2, false, layer_output::<3, 2, Valid>),
        (4, 2, true, layer_output::<4, 2, Same>),
        (5, 1, false, layer_output::<5, 1, Valid>),
        (1, 2, false, layer_output::<1, 2, Valid>),
        (2, 3, false, layer_output::<2, 3, Valid>),
    ]
};

/// Checks a function that returns the output size of a transposed convolution along one
/// axis, `transposed_output_size(input, kernel, stride, same)`, with Keras'
/// `Conv2DTranspose` rule (`output_padding=None`): `input * stride` for `same`,
/// `input * stride + max(kernel - stride, 0)` for `valid`.
///
/// Tests every input size 1 to 20, kernel 1 to 7 and stride 1 to 4 with both paddings
/// against [`cnnkit_nn::arith::transpose_output_size`], then runs six real
/// `Conv2DTranspose` layers (kernels 1 to 5, strides 1 to 3, both paddings, including a
/// kernel smaller than its stride) on a 5x7 input and compares their output shapes with
/// the student's answers. A wrong verdict names the case, the expected and the student's
/// size, and a hint (the `same` formula used for `valid`, `(n - 1) * s + k` when the kernel
/// is smaller than the stride, a shrinking convolution's formula).
///
/// ```
/// use cnnkit_homework::check_transposed_output_size;
/// let right = |n: usize, k: usize, s: usize, same: bool| {
///     Some(if same { n * s } else { n * s + k.saturating_sub(s) })
/// };
/// assert!(check_transposed_output_size(right).is_correct());
/// assert!(check_transposed_output_size(|_, _, _, _| None).is_not_done());
/// // Wrong on purpose: the "same" formula for both paddings.
/// let v = check_transposed_output_size(|n, _, s, _| Some(n * s));
/// assert!(v.is_wrong() && v.to_string().contains("\"valid\""));
/// ```
pub fn check_transposed_output_size<F>(transposed_output_size: F) -> Verdict
where
    F: Fn(usize, usize, usize, bool) -> Option<usize>,
{
    let mut k_case = 0;
    let total = 2 * 20 * 7 * 4;
    // Three parts of 1 point: "same", "valid", and the real layers' shapes.
    let mut tally = Tally::parts(EX_TRANSPOSE, 3, TRANSPOSE_POINTS);
    let mut failed = [false; 3];
    for (part, same) in [true, false].into_iter().enumerate() {
        let padding = if same { Padding::Same } else { Padding::Valid };
        for n in 1..=20 {
            for k in 1..=7 {
                for s in 1..=4 {
                    k_case += 1;
                    if failed[part] {
                        continue;
                    }
                    let want = match transpose_output_size(n, k, s, padding) {
                        Ok(v) => v,
                        Err(e) => return internal_error(EX_TRANSPOSE, e),
                    };
                    let describe = format!(
                        "경우 {k_case}/{total}: input = {n}, kernel = {k}, stride = {s}, padding {}",
                        padding_name(same)
                    );
                    let got = run_case(
                        EX_TRANSPOSE,
                        k_case,
                        describe.clone(),
                        &TRANSPOSE_HINTS,
                        || transposed_output_size(n, k, s, same),
                    );
                    let got = match tally.answer(part + 1, got) {
                        Ok(Some(v)) => v,
                        Ok(None) => {
                            failed[part] = true;
                            continue;
                        }
                        Err(v) => return v,
                    };
                    if got != want {
                        let mut problems =
                            vec![describe, format!("기대값 {want}, 여러분의 값 {got}.")];
                        if let Some(hint) = transpose_hint(n, k, s, same, got) {
                            problems.push(hint.into());
                        }
                        tally.fail(part + 1, problems);
                        failed[part] = true;
                    }
                }
            }
        }
    }
    let (h, w) = (5, 7);
    for (kernel, stride, same, run) in LAYER_RUNS {
        let layer = format!(
            "Conv2DTranspose<1, 1, {kernel}, {stride}, {}>",
            if same { "Same" } else { "Valid" }
        );
        let actual = match run(h, w) {
            Ok(shape) => shape,
            Err(e) => return internal_error(EX_TRANSPOSE, e),
        };
        let answer = |n| {
            super::verdict::run_student(|| transposed_output_size(n, kernel, stride, same))
                .ok()
                .flatten()
        };
        let predicted = (answer(h), answer(w));
        if predicted != (Some(actual.0), Some(actual.1)) && !failed[2] {
            tally.fail(
                3,
                vec![format!(
                    "실제 층 {layer}에 {h}x{w} 입력을 넣으면 출력이 {}x{}인데, 여러분의 함수는 {:?}x{:?}를 줍니다.",
                    actual.0, actual.1, predicted.0, predicted.1
                )],
            );
            failed[2] = true;
        }
    }
    for _ in failed.iter().filter(|f| !**f) {
        tally.pass();
    }
    tally.verdict(
        vec![
            format!(
                "{total}가지 경우 (input 1~20, kernel 1~7, stride 1~4, \"same\"과 \"valid\")가 케라스의 \
                 Conv2DTranspose 규칙과 같습니다."
            ),
            format!(
                "실제 Conv2DTranspose 층 {}개에 5x7 입력을 넣은 출력 모양과도 같습니다.",
                LAYER_RUNS.len()
            ),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_iou_cases_agree_with_the_reference() {
        for (a, b, want, what) in iou_hand_cases() {
            assert!(close(reference_iou(a, b), want), "{what}");
        }
    }

    #[test]
    fn hand_nms_cases_agree_with_the_reference() {
        for case in nms_hand_cases() {
            let got = nms_reference(&case.boxes, &case.scores, case.threshold).unwrap();
            assert_eq!(Some(got), case.expected, "{}", case.what);
        }
    }

    #[test]
    fn random_nms_cases_suppress_something() {
        let cases = nms_random_cases(NMS_RANDOM);
        let suppressed = cases
            .iter()
            .filter(|c| {
                nms_reference(&c.boxes, &c.scores, c.threshold)
                    .unwrap()
                    .len()
                    < c.boxes.len()
            })
            .count();
        // The boxes are dense enough that most cases drop at least one.
        assert!(suppressed >= NMS_RANDOM / 2, "{suppressed}");
        let sizes: Vec<usize> = cases.iter().map(|c| c.boxes.len()).collect();
        assert!(
            sizes.contains(&0) && sizes.iter().any(|&n| n >= 10),
            "{sizes:?}"
        );
    }

    #[test]
    fn the_real_layers_follow_the_formula() {
        for (kernel, stride, same, run) in LAYER_RUNS {
            let p = if same { Padding::Same } else { Padding::Valid };
            let want = (
                transpose_output_size(5, kernel, stride, p).unwrap(),
                transpose_output_size(7, kernel, stride, p).unwrap(),
            );
            assert_eq!(run(5, 7).unwrap(), want, "{kernel} {stride} {same}");
        }
    }
}
