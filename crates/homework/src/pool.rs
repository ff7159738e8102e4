//! Exercise 3: max pooling and depthwise max pooling written by hand, checked against
//! [`cnnkit_nn::ops::pool2d`] and [`cnnkit_nn::ops::depthwise_max_pool2d`].

use ndarray::Array4;

use super::verdict::{internal_error, run_case, NoneHints, Tally, SOME_FOR_EVERY_INPUT};
use super::{compare_arrays, images_array, images_tensor, random_array, shape_str, Verdict};
use cnnkit_nn::arith::Padding;
use cnnkit_nn::ops::{depthwise_max_pool2d, pool2d, PoolKind};

const EX_MAX: &str = "연습 3-1 · 최대 풀링 직접 구현 (max_pool2d_by_hand)";
const EX_DEPTH: &str = "연습 3-2 · 깊이 방향 최대 풀링 직접 구현 (depthwise_max_pool_by_hand)";

/// The points of each check cell (`ex03_max_pool_check`, `ex03_depthwise_check`); each
/// right case earns its share.
const POINTS: f64 = 5.0;

/// A spatial pooling case.
#[derive(Clone, Copy, Debug)]
struct PoolCase {
    batch: usize,
    h: usize,
    w: usize,
    c: usize,
    pool: usize,
    stride: usize,
    padding: Padding,
    /// `None`: the lecture's 4x4 example with small integers.
    seed: Option<u64>,
}

#[rustfmt::skip]
const POOL_CASES: [PoolCase; 7] = [
    PoolCase { batch: 1, h: 4, w: 4, c: 1, pool: 2, stride: 2, padding: Padding::Valid, seed: None },
    PoolCase { batch: 2, h: 6, w: 8, c: 3, pool: 2, stride: 2, padding: Padding::Valid, seed: Some(11) },
    PoolCase { batch: 1, h: 5, w: 7, c: 2, pool: 2, stride: 2, padding: Padding::Valid, seed: Some(12) },
    PoolCase { batch: 1, h: 5, w: 7, c: 2, pool: 2, stride: 2, padding: Padding::Same, seed: Some(13) },
    PoolCase { batch: 2, h: 6, w: 5, c: 1, pool: 3, stride: 1, padding: Padding::Same, seed: Some(14) },
    PoolCase { batch: 1, h: 9, w: 8, c: 3, pool: 3, stride: 2, padding: Padding::Valid, seed: Some(15) },
    PoolCase { batch: 1, h: 7, w: 7, c: 1, pool: 3, stride: 3, padding: Padding::Same, seed: Some(16) },
];

impl PoolCase {
    fn input(&self) -> Array4<f32> {
        let shape = (self.batch, self.h, self.w, self.c);
        match self.seed {
            None => {
                let v = [
                    1., 2., 5., 6., 3., 4., 7., 8., 0., 0., 1., 0., 0., 9., 0., 0.,
                ];
                Array4::from_shape_fn(shape, |(_, i, j, _)| v[i * 4 + j])
            }
            Some(seed) => random_array(seed, shape),
        }
    }

    fn describe(&self, k: usize) -> String {
        format!(
            "사례 {k}/{}: x {}, pool {}, stride {}, padding \"{}\"",
            POOL_CASES.len(),
            shape_str(&[self.batch, self.h, self.w, self.c]),
            self.pool,
            self.stride,
            self.padding
        )
    }
}

fn max_reference<const C: usize>(x: &Array4<f32>, case: &PoolCase) -> crate::Result<Array4<f32>> {
    let y = pool2d(
        images_tensor::<C>(x)?,
        PoolKind::Max,
        case.pool,
        case.stride,
        case.padding,
    )?;
    images_array(y)
}

fn max_expected(x: &Array4<f32>, case: &PoolCase) -> crate::Result<Array4<f32>> {
    match case.c {
        1 => max_reference::<1>(x, case),
        2 => max_reference::<2>(x, case),
        3 => max_reference::<3>(x, case),
        c => Err(crate::Error::invalid(
            "pooling test case",
            format!("no reference for {c} channels"),
        )),
    }
}

/// What the pooling checkers say to a function that returns `None`.
const NONE_HINTS: NoneHints = NoneHints {
    first: "함수가 아직 None을 돌려줍니다. 풀링 결과를 Some(출력)으로 돌려주도록 바꾼 뒤 이 셀을 \
            다시 실행하세요.",
    later: SOME_FOR_EVERY_INPUT,
};

/// Checks a hand-written max pooling against the crate's [`pool2d`] with
/// [`PoolKind::Max`].
///
/// The student's function has the signature
/// `fn(x: &Array4<f32>, pool: usize, stride: usize, padding: Padding) -> Option<Array4<f32>>`:
/// `x` is `(batch, height, width, channels)`, the window is `pool x pool`, and the result is
/// `(batch, out_h, out_w, channels)`, with output sizes as for a convolution. With `same`
/// padding the padded cells are ignored (they never win the maximum), as in Keras.
///
/// Seven cases: the lecture's 4x4 example, then random values in `-1..1` (so zero padding
/// would show), odd sizes whose last row and column `valid` drops, windows 2 and 3, strides
/// 1 to 3. A wrong answer names the case, its shapes and the first differing position.
///
/// # Shapes
/// `(B, H, W, C)` to `(B, H', W', C)`.
///
/// ```
/// use cnnkit_nn::arith::Padding;
/// use cnnkit_homework::*;
/// // Wrong on purpose: returns the input unchanged.
/// let v = check_max_pool2d(|x: &Array4<f32>, _pool, _stride, _padding: Padding| Some(x.clone()));
/// assert!(v.is_wrong());
/// assert!(v.to_string().contains("사례 1/7"));
/// ```
pub fn check_max_pool2d<F>(max_pool2d_by_hand: F) -> Verdict
where
    F: Fn(&Array4<f32>, usize, usize, Padding) -> Option<Array4<f32>>,
{
    let mut tally = Tally::new(EX_MAX, POOL_CASES.len(), POINTS);
    for (k, case) in POOL_CASES.iter().enumerate() {
        let k = k + 1;
        let x = case.input();
        let want = match max_expected(&x, case) {
            Ok(y) => y,
            Err(e) => return internal_error(EX_MAX, e),
        };
        let got = run_case(EX_MAX, k, case.describe(k), &NONE_HINTS, || {
            max_pool2d_by_hand(&x, case.pool, case.stride, case.padding)
        });
        let got = match tally.answer(k, got) {
            Ok(Some(y)) => y.into_dyn(),
            Ok(None) => continue,
            Err(v) => return v,
        };
        if let Some(problem) =
            compare_arrays(&got, &want.clone().into_dyn(), "이미지, 행, 열, 채널")
        {
            let mut problems = vec![case.describe(k), problem];
            if case.padding == Padding::Same && got.shape() == want.shape() {
                let zero_padded = got
                    .iter()
                    .zip(want.iter())
                    .any(|(&a, &e)| a == 0.0 && e < 0.0);
                if zero_padded {
                    problems.push(
                        "힌트: 여러분의 값이 0인데 기대값은 음수인 곳이 있습니다. 최대 풀링의 패딩 칸은 \
                         0이 아니라 무시해야 합니다 (−∞로 채운 것처럼)."
                            .into(),
                    );
                }
            }
            tally.fail(k, problems);
            continue;
        }
        tally.pass();
    }
    tally.verdict(vec![format!(
        "{}개 사례 (강의의 4x4 예, 두 가지 패딩, 풀링 크기 2와 3, stride 1~3)에서 crate의 pool2d와 같습니다.",
        POOL_CASES.len()
    )])
}

/// A depthwise pooling case: `c` channels pooled in groups of `k`.
#[derive(Clone, Copy, Debug)]
struct DepthCase {
    batch: usize,
    h: usize,
    w: usize,
    c: usize,
    k: usize,
    seed: u64,
}

#[rustfmt::skip]
const DEPTH_CASES: [DepthCase; 5] = [
    DepthCase { batch: 1, h: 1, w: 1, c: 6, k: 3, seed: 21 },
    DepthCase { batch: 2, h: 4, w: 5, c: 6, k: 3, seed: 22 },
    DepthCase { batch: 1, h: 3, w: 3, c: 4, k: 2, seed: 23 },
    DepthCase { batch: 2, h: 2, w: 3, c: 4, k: 4, seed: 24 },
    DepthCase { batch: 1, h: 5, w: 2, c: 3, k: 1, seed: 25 },
];

impl DepthCase {
    fn input(&self) -> Array4<f32> {
        random_array(self.seed, (self.batch, self.h, self.w, self.c))
    }

    fn describe(&self, k: usize) -> String {
        format!(
            "사례 {k}/{}: x {}, k = {} (특성지도 {}개씩 묶음)",
            DEPTH_CASES.len(),
            shape_str(&[self.batch, self.h, self.w, self.c]),
            self.k,
            self.k
        )
    }
}

fn depth_reference<const C: usize, const CO: usize>(x: &Array4<f32>) -> crate::Result<Array4<f32>> {
    let y = depthwise_max_pool2d::<_, _, _, C, CO, _>(images_tensor::<C>(x)?)?;
    images_array(y)
}

fn depth_expected(x: &Array4<f32>, case: &DepthCase) -> crate::Result<Array4<f32>> {
    match (case.c, case.k) {
        (6, 3) => depth_reference::<6, 2>(x),
        (4, 2) => depth_reference::<4, 2>(x),
        (4, 4) => depth_reference::<4, 1>(x),
        (3, 1) => depth_reference::<3, 3>(x),
        other => Err(crate::Error::invalid(
            "depthwise test case",
            format!("no reference for (C, k) = {other:?}"),
        )),
    }
}

/// Depthwise max pooling that groups channels `g, g + CO, g + 2 CO, ...` instead of
/// consecutive ones: a common mistake, for the hint.
fn strided_groups(x: &Array4<f32>, k: usize) -> Array4<f32> {
    let (n, h, w, c) = x.dim();
    let co = c / k;
    Array4::from_shape_fn((n, h, w, co), |(b, i, j, g)| {
        (0..k)
            .map(|m| x[[b, i, j, g + m * co]])
            .fold(f32::NEG_INFINITY, f32::max)
    })
}

/// Checks a hand-written depthwise max pooling (the lecture's 깊이 방향 풀링) against the
/// crate's [`depthwise_max_pool2d`].
///
/// The student's function has the signature
/// `fn(x: &Array4<f32>, k: usize) -> Option<Array4<f32>>`: for every pixel it takes the
/// maximum over each group of `k` **consecutive** feature maps, so `(B, H, W, C)` becomes
/// `(B, H, W, C / k)` (`C` is a multiple of `k`). TensorFlow:
/// `tf.nn.max_pool(x, ksize=(1, 1, 1, k), strides=(1, 1, 1, k), padding="VALID")`.
///
/// Five cases, from one pixel with six channels to batches of small images, with `k` 1, 2,
/// 3 and 4. A wrong answer names the case and the first differing position, with a hint
/// when channels were grouped with a stride instead of consecutively.
///
/// # Shapes
/// `(B, H, W, C)` to `(B, H, W, C / k)`.
///
/// ```
/// use cnnkit_homework::*;
/// let by_hand = |x: &Array4<f32>, k: usize| -> Option<Array4<f32>> {
///     let (n, h, w, c) = x.dim();
///     Some(Array4::from_shape_fn((n, h, w, c / k), |(b, i, j, g)| {
///         (0..k).map(|m| x[[b, i, j, g * k + m]]).fold(f32::NEG_INFINITY, f32::max)
///     }))
/// };
/// assert!(check_depthwise_max_pool(by_hand).is_correct());
/// ```
pub fn check_depthwise_max_pool<F>(depthwise_max_pool_by_hand: F) -> Verdict
where
    F: Fn(&Array4<f32>, usize) -> Option<Array4<f32>>,
{
    let mut tally = Tally::new(EX_DEPTH, DEPTH_CASES.len(), POINTS);
    for (k, case) in DEPTH_CASES.iter().enumerate() {
        let k = k + 1;
        let x = case.input();
        let want = match depth_expected(&x, case) {
            Ok(y) => y,
            Err(e) => return internal_error(EX_DEPTH, e),
        };
        let got = run_case(EX_DEPTH, k, case.describe(k), &NONE_HINTS, || {
            depthwise_max_pool_by_hand(&x, case.k)
        });
        let got = match tally.answer(k, got) {
            Ok(Some(y)) => y.into_dyn(),
            Ok(None) => continue,
            Err(v) => return v,
        };
        if let Some(problem) =
            compare_arrays(&got, &want.clone().into_dyn(), "이미지, 행, 열, 출력 채널")
        {
            let mut problems = vec![case.describe(k), problem];
            let strided = strided_groups(&x, case.k).into_dyn();
            if compare_arrays(&got, &strided, "").is_none() {
                problems.push(
                    "힌트: 채널을 건너뛰며 묶었습니다 (g, g + C/k, ...). 연속한 k개 특성지도 \
                     (g*k, g*k + 1, ..., g*k + k - 1)를 한 묶음으로 하세요."
                        .into(),
                );
            }
            tally.fail(k, problems);
            continue;
        }
        tally.pass();
    }
    tally.verdict(vec![format!(
        "{}개 사례 (k = 1, 2, 3, 4)에서 crate의 depthwise_max_pool2d와 같습니다.",
        DEPTH_CASES.len()
    )])
}
