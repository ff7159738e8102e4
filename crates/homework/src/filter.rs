//! Exercise 4: design a filter that detects diagonal lines, and apply a filter to a photo.

use ndarray::Array2;

use super::verdict::{internal_error, run_answer, run_case, NoneHints, Tally};
use super::{compare_arrays, random_array, shape_str, Verdict};
use cnnkit_nn::arith::Padding;
use cnnkit_nn::ops::correlate2d;

const EX_FILTER: &str = "연습 4-1 · 대각선 검출 필터 (diagonal_filter)";
/// The points of `ex04_apply_check`; each right case earns its share.
const APPLY_POINTS: f64 = 4.0;

const EX_APPLY: &str = "연습 4-2 · 사진에 필터 적용 (apply_filter)";

/// Side of the synthetic test images of [`test_pattern`], in pixels.
pub const PATTERN_SIZE: usize = 32;

/// The synthetic images a diagonal-line filter is tested on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pattern {
    /// A one-pixel white line from the top left to the bottom right (`\`), on black.
    Diagonal,
    /// A one-pixel white line from the top right to the bottom left (`/`).
    AntiDiagonal,
    /// A horizontal one-pixel line through the middle.
    Horizontal,
    /// A vertical one-pixel line through the middle.
    Vertical,
    /// A flat grey image (every pixel 0.5): no lines at all.
    Flat,
}

impl Pattern {
    /// All patterns, in the order [`filter_responses`] uses.
    pub const ALL: [Pattern; 5] = [
        Pattern::Diagonal,
        Pattern::AntiDiagonal,
        Pattern::Horizontal,
        Pattern::Vertical,
        Pattern::Flat,
    ];

    /// The Korean name shown in verdicts and figure titles.
    ///
    /// ```
    /// assert_eq!(cnnkit_homework::Pattern::Flat.name(), "평평한 회색");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Pattern::Diagonal => "대각선 \\",
            Pattern::AntiDiagonal => "반대 대각선 /",
            Pattern::Horizontal => "가로선",
            Pattern::Vertical => "세로선",
            Pattern::Flat => "평평한 회색",
        }
    }
}

/// A `PATTERN_SIZE x PATTERN_SIZE` test image, values in `0..=1`.
///
/// ```
/// use cnnkit_homework::{test_pattern, Pattern, PATTERN_SIZE};
/// let x = test_pattern(Pattern::Diagonal);
/// assert_eq!(x.dim(), (PATTERN_SIZE, PATTERN_SIZE));
/// assert_eq!((x[[5, 5]], x[[5, 6]]), (1.0, 0.0));
/// ```
pub fn test_pattern(pattern: Pattern) -> Array2<f32> {
    let n = PATTERN_SIZE;
    Array2::from_shape_fn((n, n), |(i, j)| {
        let on = match pattern {
            Pattern::Diagonal => i == j,
            Pattern::AntiDiagonal => i + j == n - 1,
            Pattern::Horizontal => i == n / 2,
            Pattern::Vertical => j == n / 2,
            Pattern::Flat => return 0.5,
        };
        if on {
            1.0
        } else {
            0.0
        }
    })
}

/// How strongly a filter responds to each [`Pattern`]: the largest output over the
/// image (for [`Pattern::Flat`], the largest absolute output), without padding.
///
/// ```
/// use cnnkit_homework::{filter_responses, Pattern};
/// let k = ndarray::array![[1.0_f32, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
/// let r = filter_responses(&k);
/// assert_eq!(r[0], (Pattern::Diagonal, 3.0));
/// assert_eq!(r[4], (Pattern::Flat, 1.5));
/// ```
pub fn filter_responses(kernel: &Array2<f32>) -> Vec<(Pattern, f32)> {
    Pattern::ALL
        .iter()
        .map(|&p| {
            // No padding, so no border effects; a kernel larger than the pattern gives no
            // output (and the weakest response).
            let y = correlate2d(test_pattern(p).view(), kernel.view(), 1, Padding::Valid)
                .unwrap_or_else(|_| Array2::zeros((0, 0)));
            let r = if p == Pattern::Flat {
                y.iter().fold(0.0f32, |m, v| m.max(v.abs()))
            } else {
                y.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v))
            };
            (p, r)
        })
        .collect()
}

/// Largest flat response allowed, as a fraction of the diagonal response.
const FLAT_RATIO: f32 = 0.1;
/// Largest response to another line allowed, as a fraction of the diagonal response.
const OTHER_RATIO: f32 = 0.5;

/// Checks a filter designed to detect thin diagonal lines running from the top left to the
/// bottom right (`\`).
///
/// There is no single right answer; the filter must have these properties, measured on the
/// [`test_pattern`] images with [`filter_responses`]:
/// * it is square with an odd side from 3 to 9, and every weight is finite;
/// * its response to the diagonal line is positive (the strongest of all);
/// * its response to a flat grey image is at most 10% of that (it ignores flat regions);
/// * its responses to the other lines (`/`, horizontal, vertical) are at most 50% of it.
///
/// ```
/// use cnnkit_homework::*;
/// // 2 on the diagonal, -1 elsewhere: the weights sum to zero.
/// let good = || Some(Array2::from_shape_fn((3, 3), |(i, j)| if i == j { 2.0 } else { -1.0 }));
/// assert!(check_diagonal_filter(good).is_correct());
/// // Ones on the diagonal only: also strong on a flat image.
/// let flat = || Some(Array2::from_shape_fn((3, 3), |(i, j)| if i == j { 1.0 } else { 0.0 }));
/// assert!(check_diagonal_filter(flat).to_string().contains("평평한"));
/// ```
pub fn check_diagonal_filter<F: FnOnce() -> Option<Array2<f32>>>(diagonal_filter: F) -> Verdict {
    let not_done = "함수가 아직 None을 돌려줍니다. 필터를 만들어 Some(필터)를 돌려주도록 바꾼 뒤 \
                    이 셀을 다시 실행하세요.";
    let kernel = match run_answer(EX_FILTER, not_done, diagonal_filter) {
        Ok(k) => k,
        Err(v) => return v,
    };
    let (kh, kw) = kernel.dim();
    if kh != kw || kh % 2 == 0 || !(3..=9).contains(&kh) {
        return Verdict::wrong(
            EX_FILTER,
            vec![format!(
                "필터의 모양이 {}입니다. 한 변이 3~9인 홀수 크기의 정사각형이어야 합니다 (예: 3x3, 5x5).",
                shape_str(&[kh, kw])
            )],
        );
    }
    if kernel.iter().any(|v| !v.is_finite()) {
        return Verdict::wrong(
            EX_FILTER,
            vec!["필터에 NaN이나 무한대 값이 있습니다.".into()],
        );
    }
    let responses = filter_responses(&kernel);
    let table: Vec<String> = responses
        .iter()
        .map(|(p, r)| format!("{}: {r:.3}", p.name()))
        .collect();
    let table = format!("반응: {}", table.join(", "));
    let diag = responses[0].1;
    if diag <= 1e-6 {
        return Verdict::wrong(
            EX_FILTER,
            vec![
                "대각선 \\ 이미지에 양(+)의 반응이 없습니다: 선이 지나는 곳에서 출력이 커야 합니다.".into(),
                table,
            ],
        );
    }
    let mut problems = Vec::new();
    let flat = responses[4].1;
    if flat > FLAT_RATIO * diag {
        problems.push(format!(
            "평평한 회색 이미지에 대한 반응 {flat:.3}이 대각선 반응 {diag:.3}의 {:.0}%를 넘습니다. \
             선이 없는 곳에서는 거의 0이 되게 하세요 (가중치의 합을 0에 가깝게).",
            FLAT_RATIO * 100.0
        ));
    }
    for &(p, r) in &responses[1..4] {
        if r > OTHER_RATIO * diag {
            problems.push(format!(
                "{} 이미지에 대한 반응 {r:.3}이 대각선 반응 {diag:.3}의 {:.0}%를 넘습니다: 방향을 가려내지 못합니다.",
                p.name(),
                OTHER_RATIO * 100.0
            ));
        }
    }
    if problems.is_empty() {
        Verdict::correct(
            EX_FILTER,
            vec![
                format!(
                    "{kh}x{kw} 필터가 대각선 \\에 강하게, 평평한 영역과 다른 방향의 선에는 약하게 반응합니다."
                ),
                table,
            ],
        )
    } else {
        problems.push(table);
        Verdict::wrong(EX_FILTER, problems)
    }
}

/// One image and one kernel run through the crate's convolution ([`correlate2d`]) with
/// `same` padding, as a one-channel image and a single filter without bias.
fn expected_same(image: &Array2<f32>, kernel: &Array2<f32>) -> crate::Result<Array2<f32>> {
    Ok(correlate2d(image.view(), kernel.view(), 1, Padding::Same)?)
}

/// What [`check_apply_filter`] says to a function that returns `None`.
const APPLY_NONE_HINTS: NoneHints = NoneHints {
    first: "함수가 아직 None을 돌려줍니다. 필터를 적용한 결과를 Some(출력)으로 돌려주도록 바꾼 뒤 \
            이 셀을 다시 실행하세요.",
    later: "이 사례에서 None을 돌려주었습니다.",
};

/// A test case of [`check_apply_filter`]: (description, image, kernel).
type ApplyCase = (String, Array2<f32>, Array2<f32>);

/// The test cases of [`check_apply_filter`].
fn apply_cases() -> crate::Result<Vec<ApplyCase>> {
    let sharp = ndarray::array![[0.0f32, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]];
    let rand = |seed: u64, h: usize, w: usize| random_array(seed, (h, w));
    let cat = cnnkit_data::rgb_to_gray(&cnnkit_data::photo("chelsea")?);
    let cases = vec![
        (
            "5x5 이미지, 3x3 커널 (모두 1)".to_string(),
            rand(31, 5, 5),
            Array2::ones((3, 3)),
        ),
        (
            "9x11 무작위 이미지, 3x3 무작위 커널".to_string(),
            rand(32, 9, 11),
            rand(33, 3, 3),
        ),
        (
            "8x6 무작위 이미지, 5x5 무작위 커널".to_string(),
            rand(34, 8, 6),
            rand(35, 5, 5),
        ),
        (
            "7x4 무작위 이미지, 1x1 커널".to_string(),
            rand(36, 7, 4),
            rand(37, 1, 1),
        ),
        (
            "고양이 사진 chelsea (240x360), 3x3 선명화 커널".to_string(),
            cat,
            sharp,
        ),
    ];
    Ok(cases)
}

/// Checks a function that applies one 2-D filter to a grey-scale image with `same` zero
/// padding and stride 1, as a `Conv2D` layer with one input channel, one filter and no bias
/// does: `fn(image: &Array2<f32>, kernel: &Array2<f32>) -> Option<Array2<f32>>`, output the
/// same size as the image.
///
/// Five cases with odd kernels (1x1, 3x3, 5x5), the last one the cat photo, compared with
/// the crate's [`conv2d`](cnnkit_nn::ops::conv2d), the reference the task must not call
/// (the grading tools give a task that does 0 points). Every case is run; a partly right
/// answer earns 4/5 of a point per right case ([`crate::Credit`]).
///
/// ```
/// use cnnkit_homework::*;
/// // Wrong on purpose: ignores the kernel.
/// let v = check_apply_filter(|img: &Array2<f32>, _k: &Array2<f32>| Some(img.clone()));
/// assert!(v.is_wrong());
/// ```
pub fn check_apply_filter<F>(apply_filter: F) -> Verdict
where
    F: Fn(&Array2<f32>, &Array2<f32>) -> Option<Array2<f32>>,
{
    let cases = match apply_cases() {
        Ok(c) => c,
        Err(e) => return internal_error(EX_APPLY, e),
    };
    let n = cases.len();
    let mut tally = Tally::new(EX_APPLY, n, APPLY_POINTS);
    for (k, (what, image, kernel)) in (1..).zip(&cases) {
        let describe = format!("사례 {k}/{n}: {what}");
        let want = match expected_same(image, kernel) {
            Ok(y) => y,
            Err(e) => return internal_error(EX_APPLY, e),
        };
        let got = run_case(EX_APPLY, k, describe.clone(), &APPLY_NONE_HINTS, || {
            apply_filter(image, kernel)
        });
        let got = match tally.answer(k, got) {
            Ok(Some(y)) => y,
            Ok(None) => continue,
            Err(v) => return v,
        };
        match compare_arrays(&got.into_dyn(), &want.into_dyn(), "행, 열") {
            None => tally.pass(),
            Some(problem) => tally.fail(k, vec![describe, problem]),
        }
    }
    tally.verdict(vec![format!(
        "{n}개 사례 (1x1, 3x3, 5x5 커널, 고양이 사진 포함)에서 \"same\" 패딩 합성곱과 같습니다."
    )])
}
