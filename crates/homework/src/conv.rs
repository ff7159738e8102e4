//! Exercise 2: a 2-D convolution written by hand with `ndarray`, checked against
//! [`cnnkit_nn::ops::conv2d`].

use dfdx::prelude::*;
use ndarray::{Array1, Array4};

use super::verdict::{internal_error, run_case, NoneHints, Tally, SOME_FOR_EVERY_INPUT};
use super::{compare_arrays, images_array, images_tensor, random_array, shape_str, Verdict};
use cnnkit_nn::arith::Padding;
use cnnkit_nn::ops::conv2d;

const EX: &str = "연습 2 · 합성곱 직접 구현 (conv2d_by_hand)";

/// The check cell's points (`ex02_conv2d_check`); each right case earns its share.
const POINTS: f64 = 10.0;

/// What the checker says to a function that returns `None`.
const NONE_HINTS: NoneHints = NoneHints {
    first: "함수가 아직 None을 돌려줍니다. 합성곱을 계산해 Some(출력)을 돌려주도록 \
            바꾼 뒤 이 셀을 다시 실행하세요.",
    later: SOME_FOR_EVERY_INPUT,
};

/// One test case: sizes, stride, padding and where the numbers come from.
#[derive(Clone, Copy, Debug)]
struct Case {
    batch: usize,
    h: usize,
    w: usize,
    c: usize,
    kh: usize,
    kw: usize,
    o: usize,
    stride: usize,
    padding: Padding,
    /// `None`: the small hand-checkable case (1..=9, a kernel of ones, no bias).
    seed: Option<u64>,
}

/// The cases, from a small one that can be checked by hand to uneven sizes, strides 2 and
/// 3, non-square and even kernels (whose `same` padding puts the extra zero at the bottom
/// and right).
#[rustfmt::skip]
const CASES: [Case; 9] = [
    Case { batch: 1, h: 3, w: 3, c: 1, kh: 2, kw: 2, o: 1, stride: 1, padding: Padding::Valid, seed: None },
    Case { batch: 2, h: 7, w: 9, c: 3, kh: 3, kw: 3, o: 4, stride: 1, padding: Padding::Same, seed: Some(1) },
    Case { batch: 1, h: 8, w: 8, c: 2, kh: 5, kw: 5, o: 3, stride: 2, padding: Padding::Same, seed: Some(2) },
    Case { batch: 2, h: 10, w: 7, c: 1, kh: 3, kw: 3, o: 2, stride: 2, padding: Padding::Valid, seed: Some(3) },
    Case { batch: 1, h: 6, w: 9, c: 3, kh: 2, kw: 3, o: 2, stride: 1, padding: Padding::Valid, seed: Some(4) },
    Case { batch: 1, h: 7, w: 6, c: 2, kh: 4, kw: 4, o: 3, stride: 1, padding: Padding::Same, seed: Some(5) },
    Case { batch: 1, h: 11, w: 13, c: 2, kh: 3, kw: 3, o: 5, stride: 3, padding: Padding::Same, seed: Some(6) },
    Case { batch: 3, h: 5, w: 4, c: 4, kh: 1, kw: 1, o: 3, stride: 1, padding: Padding::Valid, seed: Some(7) },
    Case { batch: 1, h: 9, w: 9, c: 3, kh: 7, kw: 7, o: 2, stride: 2, padding: Padding::Same, seed: Some(8) },
];

impl Case {
    fn inputs(&self) -> (Array4<f32>, Array4<f32>, Array1<f32>) {
        let xs = (self.batch, self.h, self.w, self.c);
        let ws = (self.kh, self.kw, self.c, self.o);
        match self.seed {
            None => (
                Array4::from_shape_fn(xs, |(_, i, j, _)| (i * self.w + j + 1) as f32),
                Array4::ones(ws),
                Array1::zeros(self.o),
            ),
            Some(seed) => (
                random_array(seed, xs),
                random_array(seed + 100, ws),
                random_array(seed + 200, self.o),
            ),
        }
    }

    fn describe(&self, k: usize) -> String {
        format!(
            "사례 {k}/{}: x {}, w {}, b ({}), stride {}, padding \"{}\"",
            CASES.len(),
            shape_str(&[self.batch, self.h, self.w, self.c]),
            shape_str(&[self.kh, self.kw, self.c, self.o]),
            self.o,
            self.stride,
            self.padding,
        )
    }
}

/// The crate's `conv2d` on ndarray inputs, for channel counts and kernel sizes known at
/// compile time: the reference of every convolution checker.
pub(crate) fn reference<const C: usize, const KH: usize, const KW: usize, const O: usize>(
    x: &Array4<f32>,
    w: &Array4<f32>,
    b: &Array1<f32>,
    stride: usize,
    padding: Padding,
) -> crate::Result<Array4<f32>> {
    let dev = Cpu::default();
    let wt: Tensor<Rank4<KH, KW, C, O>, f32, Cpu> =
        dev.try_tensor_from_vec(w.iter().copied().collect(), Default::default())?;
    let bt: Tensor<Rank1<O>, f32, Cpu> =
        dev.try_tensor_from_vec(b.iter().copied().collect(), Default::default())?;
    images_array(conv2d(
        images_tensor::<C>(x)?,
        &wt,
        &bt,
        stride,
        padding,
        false,
    )?)
}

/// Dispatches a case to [`reference`] with its compile-time sizes.
fn expected(
    case: &Case,
    x: &Array4<f32>,
    w: &Array4<f32>,
    b: &Array1<f32>,
) -> crate::Result<Array4<f32>> {
    let (s, p) = (case.stride, case.padding);
    match (case.c, case.kh, case.kw, case.o) {
        (1, 2, 2, 1) => reference::<1, 2, 2, 1>(x, w, b, s, p),
        (3, 3, 3, 4) => reference::<3, 3, 3, 4>(x, w, b, s, p),
        (2, 5, 5, 3) => reference::<2, 5, 5, 3>(x, w, b, s, p),
        (1, 3, 3, 2) => reference::<1, 3, 3, 2>(x, w, b, s, p),
        (3, 2, 3, 2) => reference::<3, 2, 3, 2>(x, w, b, s, p),
        (2, 4, 4, 3) => reference::<2, 4, 4, 3>(x, w, b, s, p),
        (2, 3, 3, 5) => reference::<2, 3, 3, 5>(x, w, b, s, p),
        (4, 1, 1, 3) => reference::<4, 1, 1, 3>(x, w, b, s, p),
        (3, 7, 7, 2) => reference::<3, 7, 7, 2>(x, w, b, s, p),
        other => Err(crate::Error::invalid(
            "conv2d test case",
            format!("no reference for (C, KH, KW, O) = {other:?}"),
        )),
    }
}

/// Checks a hand-written 2-D convolution against the crate's [`conv2d`].
///
/// The student's function has the signature
/// `fn(x: &Array4<f32>, w: &Array4<f32>, b: &Array1<f32>, stride: usize, padding: Padding)
/// -> Option<Array4<f32>>`, with Keras' layouts: `x` is `(batch, height, width, channels)`,
/// `w` is `(kernel_h, kernel_w, in_channels, filters)`, `b` has one bias per filter, and
/// the result is `(batch, out_h, out_w, filters)`. Like Keras (and every CNN library) it
/// computes a cross-correlation: the kernel is not flipped.
///
/// Nine cases are tested: a 3x3 image with a 2x2 kernel of ones (checkable by hand), then
/// random inputs with both paddings, strides 1 to 3, several channel counts, and square,
/// non-square and even kernels. A wrong answer names the first failing case with its
/// shapes and the first position whose value differs (expected and actual value), and
/// adds a hint when the output matches a flipped kernel or a missing bias. Every case is
/// run; a partly right answer earns partial credit ([`crate::Credit`]): 10 points times
/// the share of right cases.
///
/// # Shapes
/// `x (B, H, W, C)`, `w (KH, KW, C, O)`, `b (O)` to `(B, H', W', O)`.
///
/// ```
/// use cnnkit_nn::arith::Padding;
/// use cnnkit_homework::*;
/// // A placeholder that has not been replaced yet:
/// fn conv2d_by_hand(
///     _x: &Array4<f32>, _w: &Array4<f32>, _b: &Array1<f32>, _stride: usize, _padding: Padding,
/// ) -> Option<Array4<f32>> {
///     None
/// }
/// assert!(check_conv2d(conv2d_by_hand).is_not_done());
/// ```
pub fn check_conv2d<F>(conv2d_by_hand: F) -> Verdict
where
    F: Fn(&Array4<f32>, &Array4<f32>, &Array1<f32>, usize, Padding) -> Option<Array4<f32>>,
{
    let mut tally = Tally::new(EX, CASES.len(), POINTS);
    for (k, case) in CASES.iter().enumerate() {
        let k = k + 1;
        let (x, w, b) = case.inputs();
        let want = match expected(case, &x, &w, &b) {
            Ok(y) => y,
            Err(e) => return internal_error(EX, e),
        };
        let got = run_case(EX, k, case.describe(k), &NONE_HINTS, || {
            conv2d_by_hand(&x, &w, &b, case.stride, case.padding)
        });
        let got = match tally.answer(k, got) {
            Ok(Some(y)) => y.into_dyn(),
            Ok(None) => continue,
            Err(v) => return v,
        };
        match compare_arrays(&got, &want.into_dyn(), "이미지, 행, 열, 필터") {
            None => tally.pass(),
            Some(problem) => {
                let mut problems = vec![case.describe(k), problem];
                problems.extend(hints(case, &x, &w, &b, &got));
                tally.fail(k, problems);
            }
        }
    }
    tally.verdict(vec![format!(
        "{}개 사례 (두 가지 패딩, stride 1~3, 여러 채널 수와 커널 모양)에서 crate의 conv2d와 같습니다.",
        CASES.len()
    )])
}

/// Hints for two common mistakes: a flipped kernel and a forgotten bias.
fn hints(
    case: &Case,
    x: &Array4<f32>,
    w: &Array4<f32>,
    b: &Array1<f32>,
    got: &ndarray::ArrayD<f32>,
) -> Vec<String> {
    let mut out = Vec::new();
    let flipped = w.slice(ndarray::s![..;-1, ..;-1, .., ..]).to_owned();
    if let Ok(y) = expected(case, x, &flipped, b)
        && compare_arrays(got, &y.into_dyn(), "").is_none()
        && case.kh * case.kw > 1
    {
        out.push(
                "힌트: 커널을 뒤집어 계산했습니다. CNN의 합성곱은 커널을 뒤집지 않습니다 \
                 (교차상관, cross-correlation): 출력 (i, j)는 x[i*s + di, j*s + dj] * w[di, dj]의 합입니다."
                    .into(),
            );
    }
    let zero_bias = Array1::zeros(b.len());
    if b.iter().any(|v| *v != 0.0)
        && let Ok(y) = expected(case, x, w, &zero_bias)
        && compare_arrays(got, &y.into_dyn(), "").is_none()
    {
        out.push("힌트: 편향(bias) b[f]를 더하는 것을 빠뜨렸습니다.".into());
    }
    out
}
