//! Normalisation over channels-last data: batch normalization and local response
//! normalization, forward and backward.
//!
//! Both see the data as `rows x c`, where `c` (the channels, or the features of a flat
//! layer) is the innermost, contiguous axis and a row is one pixel of one image. Batch
//! normalization reduces over the rows, per channel; local response normalization works
//! inside each row, across neighbouring channels.
//!
//! Sums over rows are taken in fixed blocks of rows added in order, in `f64`, so results
//! are the same for any thread count.

use rayon::prelude::*;

use crate::elementwise;
use crate::simd::multiversion;

/// Rows per block of a per-channel reduction.
const ROWS_PER_BLOCK: usize = 256;

/// Per-channel sums over the rows of `x` (`rows x c`) of `K` quantities that `f` adds
/// into `acc[k][channel]` for one block of rows (`x`'s block and the same rows of `y`, or
/// an empty slice when `y` is empty). Each block sums in `f32` with the channels innermost
/// (so the loops vectorise); the blocks are added in order in `f64`.
fn channel_sums<const K: usize>(
    x: &[f32],
    y: &[f32],
    c: usize,
    f: impl Fn(&[f32], &[f32], &mut [Vec<f32>; K]) + Sync,
) -> [Vec<f64>; K] {
    let block = ROWS_PER_BLOCK * c;
    let blocks: Vec<[Vec<f32>; K]> = x
        .par_chunks(block)
        .enumerate()
        .map(|(i, xb)| {
            let mut acc: [Vec<f32>; K] = std::array::from_fn(|_| vec![0.0f32; c]);
            let yb = if y.is_empty() {
                &[][..]
            } else {
                &y[i * block..i * block + xb.len()]
            };
            f(xb, yb, &mut acc);
            acc
        })
        .collect();
    let mut total: [Vec<f64>; K] = std::array::from_fn(|_| vec![0.0f64; c]);
    for b in blocks {
        for (t, v) in total.iter_mut().zip(&b) {
            for (t, &v) in t.iter_mut().zip(v) {
                *t += v as f64;
            }
        }
    }
    total
}

multiversion! {
    /// `acc[ch] += x[r][ch]` over the rows of a block.
    fn sum_rows(x: &[f32], acc: &mut [f32]) {
        for xr in x.chunks_exact(acc.len()) {
            for (a, &v) in acc.iter_mut().zip(xr) {
                *a += v;
            }
        }
    }
}

multiversion! {
    /// `acc[ch] += (x[r][ch] - mean[ch])^2` over the rows of a block.
    fn sum_squared_deviations(x: &[f32], mean: &[f32], acc: &mut [f32]) {
        for xr in x.chunks_exact(acc.len()) {
            for ((a, &v), &m) in acc.iter_mut().zip(xr).zip(mean) {
                let d = v - m;
                *a += d * d;
            }
        }
    }
}

/// The mean and the biased variance (divided by the row count, as Keras and TensorFlow's
/// `tf.nn.moments` compute it) of each of the `c` channels of `x`.
///
/// ```
/// use cnnkit_kernels::norm::channel_moments;
/// // Two rows of two channels.
/// let (mean, var) = channel_moments(&[1.0, 10.0, 3.0, 10.0], 2);
/// assert_eq!((mean, var), (vec![2.0, 10.0], vec![1.0, 0.0]));
/// ```
pub fn channel_moments(x: &[f32], c: usize) -> (Vec<f32>, Vec<f32>) {
    assert!(
        c > 0 && x.len().is_multiple_of(c),
        "channel_moments: length"
    );
    let rows = (x.len() / c).max(1) as f64;
    let [sums] = channel_sums::<1>(x, &[], c, |xb, _, [acc]| sum_rows(xb, acc));
    let mean: Vec<f32> = sums.iter().map(|s| (s / rows) as f32).collect();
    // Second pass over the deviations from the mean: no cancellation for data far from 0.
    let [sq] = channel_sums::<1>(x, &[], c, |xb, _, [acc]| {
        sum_squared_deviations(xb, &mean, acc)
    });
    (mean, sq.iter().map(|s| (s / rows) as f32).collect())
}

/// `1 / sqrt(var + epsilon)` for each channel.
pub fn inverse_std(var: &[f32], epsilon: f32) -> Vec<f32> {
    var.iter().map(|&v| 1.0 / (v + epsilon).sqrt()).collect()
}

/// The normalisation folded into one multiply-add per value, `y = x * scale + shift`, with
/// `scale = gamma * inv_std` and `shift = beta - mean * scale` per channel. The forward
/// and the backward pass both compute `y` from these, so a fused ReLU's gradient gate in
/// the backward pass sees exactly the values the forward pass clipped.
struct Affine {
    scale: Vec<f32>,
    shift: Vec<f32>,
}

impl Affine {
    fn new(mean: &[f32], inv_std: &[f32], gamma: &[f32], beta: &[f32]) -> Affine {
        let (scale, shift) = folded_affine(mean, inv_std, gamma, beta);
        Affine { scale, shift }
    }
}

/// Batch normalization as one affine map per channel: `(scale, shift)` with `scale =
/// gamma * inv_std` and `shift = beta - mean * scale`, so that the output is `x * scale +
/// shift`. The kernels here compute with it, and a convolution that absorbs a following
/// normalization for inference scales its filters by it.
///
/// ```
/// let (scale, shift) = cnnkit_kernels::norm::folded_affine(&[2.0], &[0.5], &[3.0], &[1.0]);
/// assert_eq!((scale, shift), (vec![1.5], vec![-2.0]));
/// ```
pub fn folded_affine(
    mean: &[f32],
    inv_std: &[f32],
    gamma: &[f32],
    beta: &[f32],
) -> (Vec<f32>, Vec<f32>) {
    let scale: Vec<f32> = gamma.iter().zip(inv_std).map(|(g, s)| g * s).collect();
    let shift = (0..mean.len())
        .map(|i| beta[i] - mean[i] * scale[i])
        .collect();
    (scale, shift)
}

multiversion! {
    /// `out = x * scale + shift` (then the ReLU when `relu`) over the rows of a block; in
    /// place, `out = out * scale + shift`, when `x` is empty.
    fn affine_rows(x: &[f32], scale: &[f32], shift: &[f32], relu: bool, out: &mut [f32]) {
        let c = scale.len();
        let f = |v: f32, a: f32, b: f32| {
            let y = v * a + b;
            if relu {
                elementwise::relu(y)
            } else {
                y
            }
        };
        if x.is_empty() {
            for or in out.chunks_exact_mut(c) {
                for ((o, &a), &b) in or.iter_mut().zip(scale).zip(shift) {
                    *o = f(*o, a, b);
                }
            }
        } else {
            for (or, xr) in out.chunks_exact_mut(c).zip(x.chunks_exact(c)) {
                for (((o, &v), &a), &b) in or.iter_mut().zip(xr).zip(scale).zip(shift) {
                    *o = f(v, a, b);
                }
            }
        }
    }
}

/// `out = gamma * (x - mean) * inv_std + beta`, channel by channel: the forward pass of
/// batch normalization, with the batch's statistics (training) or the moving ones
/// (inference); with `relu`, `max(out, 0)` in the same pass (a residual unit's
/// `BatchNormalization()` then `Activation("relu")`).
///
/// ```
/// use cnnkit_kernels::norm::batch_norm_forward;
/// let (x, mean, inv_std) = ([1.0, 5.0, 3.0, 5.0], [2.0, 5.0], [1.0, 1.0]);
/// let (gamma, beta) = ([2.0, 1.0], [0.0, 0.5]);
/// let mut out = [0.0; 4];
/// batch_norm_forward(&x, &mean, &inv_std, &gamma, &beta, false, &mut out);
/// assert_eq!(out, [-2.0, 0.5, 2.0, 0.5]);
/// batch_norm_forward(&x, &mean, &inv_std, &gamma, &beta, true, &mut out);
/// assert_eq!(out, [0.0, 0.5, 2.0, 0.5]);
/// ```
pub fn batch_norm_forward(
    x: &[f32],
    mean: &[f32],
    inv_std: &[f32],
    gamma: &[f32],
    beta: &[f32],
    relu: bool,
    out: &mut [f32],
) {
    let c = mean.len();
    assert!(c > 0 && x.len().is_multiple_of(c), "batch_norm: length");
    assert_eq!(out.len(), x.len(), "batch_norm: output length");
    let f = Affine::new(mean, inv_std, gamma, beta);
    out.par_chunks_mut(ROWS_PER_BLOCK * c)
        .zip(x.par_chunks(ROWS_PER_BLOCK * c))
        .for_each(|(o, xb)| affine_rows(xb, &f.scale, &f.shift, relu, o));
}

/// [`batch_norm_forward`] in place: `v` holds `x` and then the output, for inference,
/// where nothing keeps the input.
///
/// ```
/// use cnnkit_kernels::norm::batch_norm_forward_in_place;
/// let mut v = [1.0, 5.0, 3.0, 5.0];
/// batch_norm_forward_in_place(&mut v, &[2.0, 5.0], &[1.0, 1.0], &[2.0, 1.0], &[0.0, 0.5], false);
/// assert_eq!(v, [-2.0, 0.5, 2.0, 0.5]);
/// ```
pub fn batch_norm_forward_in_place(
    v: &mut [f32],
    mean: &[f32],
    inv_std: &[f32],
    gamma: &[f32],
    beta: &[f32],
    relu: bool,
) {
    let c = mean.len();
    assert!(c > 0 && v.len().is_multiple_of(c), "batch_norm: length");
    let f = Affine::new(mean, inv_std, gamma, beta);
    v.par_chunks_mut(ROWS_PER_BLOCK * c)
        .for_each(|o| affine_rows(&[], &f.scale, &f.shift, relu, o));
}

/// Which statistics a batch-normalization forward pass used, for its backward pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchNormMode {
    /// The batch's own mean and variance (training): they depend on the input, and the
    /// input gradient includes that dependence.
    BatchStatistics,
    /// Fixed statistics (the moving averages, inference): an affine map per channel.
    Fixed,
}

/// `dout`, or with a fused ReLU `dout` where the normalised value `v * a + b` was kept.
#[inline(always)]
fn gated(d: f32, v: f32, a: f32, b: f32, relu: bool) -> f32 {
    if relu {
        elementwise::gate(d, elementwise::relu_keep(v * a + b))
    } else {
        d
    }
}

multiversion! {
    /// The backward pass's sums over the rows of a block: `s_d += d` and
    /// `s_dxhat += d * xhat`, with `d` the gradient after the fused ReLU's gate.
    fn grad_sums_rows(
        x: &[f32],
        dout: &[f32],
        mean: &[f32],
        inv_std: &[f32],
        scale: &[f32],
        shift: &[f32],
        relu: bool,
        s_d: &mut [f32],
        s_dxhat: &mut [f32],
    ) {
        let c = mean.len();
        for (xr, dr) in x.chunks_exact(c).zip(dout.chunks_exact(c)) {
            for i in 0..c {
                let d = gated(dr[i], xr[i], scale[i], shift[i], relu);
                let xhat = (xr[i] - mean[i]) * inv_std[i];
                s_d[i] += d;
                s_dxhat[i] += d * xhat;
            }
        }
    }
}

multiversion! {
    /// `dx += scale * (d - mean_d - xhat * mean_dxhat)` over the rows of a block, or
    /// `dx = ...` when not `add`.
    fn input_grad_rows(
        x: &[f32],
        dout: &[f32],
        mean: &[f32],
        inv_std: &[f32],
        scale: &[f32],
        shift: &[f32],
        relu: bool,
        mean_d: &[f32],
        mean_dxhat: &[f32],
        add: bool,
        dx: &mut [f32],
    ) {
        let c = mean.len();
        for ((dxr, xr), dr) in dx.chunks_exact_mut(c).zip(x.chunks_exact(c)).zip(dout.chunks_exact(c)) {
            for i in 0..c {
                let d = gated(dr[i], xr[i], scale[i], shift[i], relu);
                let xhat = (xr[i] - mean[i]) * inv_std[i];
                let g = scale[i] * (d - mean_d[i] - xhat * mean_dxhat[i]);
                dxr[i] = if add { dxr[i] + g } else { g };
            }
        }
    }
}

/// Gradients of [`batch_norm_forward`] with the same `relu`: adds into `dx` (when given),
/// `dgamma` and `dbeta`.
///
/// With [`BatchNormMode::BatchStatistics`], `mean` and `inv_std` must be the batch's own,
/// and `dx = gamma * inv_std / n * (n * d - sum(d) - xhat * sum(d * xhat))`, where
/// `xhat = (x - mean) * inv_std`, the sums run over the `n` rows, and `d` is `dout` (with
/// `relu`, `dout` where the forward pass's output was positive, recomputed from `x`); with
/// [`BatchNormMode::Fixed`], `dx = gamma * inv_std * d`.
///
/// ```
/// use cnnkit_kernels::norm::{batch_norm_backward, BatchNormMode};
/// // One channel, fixed statistics: y = relu(2x - 1), so d/dx = 2 where 2x - 1 > 0.
/// let (mut dx, mut dgamma, mut dbeta) = ([0.0; 2], [0.0], [0.0]);
/// batch_norm_backward(BatchNormMode::Fixed, &[0.0, 1.0], &[0.5], &[1.0], &[2.0], &[0.0],
///     true, &[1.0, 1.0], Some(&mut dx), &mut dgamma, &mut dbeta);
/// assert_eq!((dx, dgamma, dbeta), ([0.0, 2.0], [0.5], [1.0]));
/// ```
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_backward(
    mode: BatchNormMode,
    x: &[f32],
    mean: &[f32],
    inv_std: &[f32],
    gamma: &[f32],
    beta: &[f32],
    relu: bool,
    dout: &[f32],
    dx: Option<&mut [f32]>,
    dgamma: &mut [f32],
    dbeta: &mut [f32],
) {
    backward(
        mode,
        x,
        (mean, inv_std),
        (gamma, beta),
        relu,
        dout,
        dx.map(|dx| (dx, true)),
        dgamma,
        dbeta,
    );
}

/// [`batch_norm_backward`] that writes the input gradient into `dx` instead of adding to
/// it (`dgamma` and `dbeta` are still added to). For a buffer whose old contents do not
/// matter, such as a fused op's intermediate gradient, which then needs no zeroing first.
///
/// ```
/// use cnnkit_kernels::norm::{batch_norm_backward_overwrite, BatchNormMode};
/// let (mut dx, mut dgamma, mut dbeta) = ([f32::NAN; 2], [0.0], [0.0]);
/// batch_norm_backward_overwrite(BatchNormMode::Fixed, &[0.0, 1.0], &[0.5], &[1.0], &[2.0],
///     &[0.0], true, &[1.0, 1.0], &mut dx, &mut dgamma, &mut dbeta);
/// assert_eq!((dx, dgamma, dbeta), ([0.0, 2.0], [0.5], [1.0]));
/// ```
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_backward_overwrite(
    mode: BatchNormMode,
    x: &[f32],
    mean: &[f32],
    inv_std: &[f32],
    gamma: &[f32],
    beta: &[f32],
    relu: bool,
    dout: &[f32],
    dx: &mut [f32],
    dgamma: &mut [f32],
    dbeta: &mut [f32],
) {
    backward(
        mode,
        x,
        (mean, inv_std),
        (gamma, beta),
        relu,
        dout,
        Some((dx, false)),
        dgamma,
        dbeta,
    );
}

/// The backward pass behind [`batch_norm_backward`] and [`batch_norm_backward_overwrite`]:
/// `dx` with whether to add to it.
#[allow(clippy::too_many_arguments)]
fn backward(
    mode: BatchNormMode,
    x: &[f32],
    (mean, inv_std): (&[f32], &[f32]),
    (gamma, beta): (&[f32], &[f32]),
    relu: bool,
    dout: &[f32],
    dx: Option<(&mut [f32], bool)>,
    dgamma: &mut [f32],
    dbeta: &mut [f32],
) {
    let c = mean.len();
    assert!(
        c > 0 && x.len().is_multiple_of(c),
        "batch_norm backward: length"
    );
    assert_eq!(dout.len(), x.len(), "batch_norm backward: dout length");
    let f = Affine::new(mean, inv_std, gamma, beta);
    let [sum_d, sum_dx] = channel_sums::<2>(x, dout, c, |xb, db, [s0, s1]| {
        grad_sums_rows(xb, db, mean, inv_std, &f.scale, &f.shift, relu, s0, s1)
    });
    for i in 0..c {
        dbeta[i] += sum_d[i] as f32;
        dgamma[i] += sum_dx[i] as f32;
    }
    let Some((dx, add)) = dx else { return };
    assert_eq!(dx.len(), x.len(), "batch_norm backward: dx length");
    let n = (x.len() / c) as f32;
    let (mean_d, mean_dxhat): (Vec<f32>, Vec<f32>) = match mode {
        BatchNormMode::BatchStatistics => sum_d
            .iter()
            .zip(&sum_dx)
            .map(|(&a, &b)| ((a / n as f64) as f32, (b / n as f64) as f32))
            .unzip(),
        BatchNormMode::Fixed => (vec![0.0; c], vec![0.0; c]),
    };
    let block = ROWS_PER_BLOCK * c;
    dx.par_chunks_mut(block)
        .zip(x.par_chunks(block))
        .zip(dout.par_chunks(block))
        .for_each(|((dxb, xb), db)| {
            input_grad_rows(
                xb,
                db,
                mean,
                inv_std,
                &f.scale,
                &f.shift,
                relu,
                &mean_d,
                &mean_dxhat,
                add,
                dxb,
            )
        });
}

/// Moves `moving` toward `batch` as Keras does: `moving = moving * momentum + batch * (1 -
/// momentum)`.
///
/// ```
/// let mut m = vec![0.0, 1.0];
/// cnnkit_kernels::norm::update_moving(&mut m, &[1.0, 3.0], 0.99);
/// assert!((m[0] - 0.01).abs() < 1e-7 && (m[1] - 1.02).abs() < 1e-6);
/// ```
pub fn update_moving(moving: &mut [f32], batch: &[f32], momentum: f32) {
    for (m, &b) in moving.iter_mut().zip(batch) {
        *m = *m * momentum + b * (1.0 - momentum);
    }
}

/// Settings of a local response normalization, with TensorFlow's names and AlexNet's
/// values as the default (`depth_radius=2, bias=1, alpha=2e-5, beta=0.75`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LrnSettings {
    /// Channels on each side of the one being normalised.
    pub depth_radius: usize,
    /// Added to the scaled sum of squares.
    pub bias: f32,
    /// Scale of the sum of squares (not divided by the window size, as in TensorFlow).
    pub alpha: f32,
    /// Exponent.
    pub beta: f32,
}

impl Default for LrnSettings {
    fn default() -> Self {
        LrnSettings {
            depth_radius: 2,
            bias: 1.0,
            alpha: 2e-5,
            beta: 0.75,
        }
    }
}

/// `d[i] = bias + alpha * sum of x[j]^2 over |j - i| <= depth_radius` for one row.
fn lrn_denominators(s: &LrnSettings, xr: &[f32], d: &mut [f32]) {
    let c = xr.len();
    for (i, di) in d.iter_mut().enumerate() {
        let lo = i.saturating_sub(s.depth_radius);
        let hi = (i + s.depth_radius + 1).min(c);
        let sq: f32 = xr[lo..hi].iter().map(|v| v * v).sum();
        *di = s.bias + s.alpha * sq;
    }
}

/// Local response normalization across the `c` channels of each row, as
/// `tf.nn.local_response_normalization`: `out[i] = x[i] / d[i]^beta` with `d` from the
/// channels within `depth_radius` of `i`.
///
/// ```
/// use cnnkit_kernels::norm::{lrn_forward, LrnSettings};
/// let s = LrnSettings { depth_radius: 1, bias: 1.0, alpha: 1.0, beta: 1.0 };
/// let mut out = [0.0; 3];
/// lrn_forward(&s, &[1.0, 0.0, 2.0], 3, &mut out);
/// assert_eq!(out, [0.5, 0.0, 0.4]); // 1 / (1 + 1), 0, 2 / (1 + 4)
/// ```
pub fn lrn_forward(s: &LrnSettings, x: &[f32], c: usize, out: &mut [f32]) {
    assert!(c > 0 && x.len().is_multiple_of(c), "lrn: length");
    assert_eq!(out.len(), x.len(), "lrn: output length");
    out.par_chunks_mut(ROWS_PER_BLOCK * c)
        .zip(x.par_chunks(ROWS_PER_BLOCK * c))
        .for_each(|(o, xb)| {
            let mut d = vec![0.0f32; c];
            for (or, xr) in o.chunks_mut(c).zip(xb.chunks(c)) {
                lrn_denominators(s, xr, &mut d);
                for ((o, &v), &di) in or.iter_mut().zip(xr).zip(&d) {
                    *o = v * di.powf(-s.beta);
                }
            }
        });
}

/// Input gradient of [`lrn_forward`], added into `dx`:
/// `dx[j] = dout[j] * d[j]^-beta - 2 * alpha * beta * x[j] * sum over |i - j| <= r of
/// dout[i] * x[i] * d[i]^(-beta - 1)`.
pub fn lrn_backward(s: &LrnSettings, x: &[f32], c: usize, dout: &[f32], dx: &mut [f32]) {
    assert!(c > 0 && x.len().is_multiple_of(c), "lrn backward: length");
    assert_eq!(dout.len(), x.len(), "lrn backward: dout length");
    assert_eq!(dx.len(), x.len(), "lrn backward: dx length");
    dx.par_chunks_mut(ROWS_PER_BLOCK * c)
        .zip(x.par_chunks(ROWS_PER_BLOCK * c))
        .zip(dout.par_chunks(ROWS_PER_BLOCK * c))
        .for_each(|((dxb, xb), db)| {
            let mut d = vec![0.0f32; c];
            let mut t = vec![0.0f32; c];
            for ((dxr, xr), dr) in dxb.chunks_mut(c).zip(xb.chunks(c)).zip(db.chunks(c)) {
                lrn_denominators(s, xr, &mut d);
                for i in 0..c {
                    t[i] = dr[i] * xr[i] * d[i].powf(-s.beta - 1.0);
                }
                for j in 0..c {
                    let lo = j.saturating_sub(s.depth_radius);
                    let hi = (j + s.depth_radius + 1).min(c);
                    let window: f32 = t[lo..hi].iter().sum();
                    dxr[j] += dr[j] * d[j].powf(-s.beta) - 2.0 * s.alpha * s.beta * xr[j] * window;
                }
            }
        });
}
