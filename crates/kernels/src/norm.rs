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

/// Rows per block of a per-channel reduction.
const ROWS_PER_BLOCK: usize = 256;

/// Per-channel sums over the rows of `x` (`rows x c`) of `K` quantities that `f` adds
/// into `acc[k][channel]` for one row (`x`'s row and the same row of `y`, or an empty row
/// when `y` is empty). Each block of rows sums in `f32` with the channels innermost (so
/// the loops vectorise); the blocks are added in order in `f64`.
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
            for (r, xr) in xb.chunks(c).enumerate() {
                let yr = if yb.is_empty() {
                    &[][..]
                } else {
                    &yb[r * c..][..c]
                };
                f(xr, yr, &mut acc);
            }
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
    let [sums] = channel_sums::<1>(x, &[], c, |xr, _, [acc]| {
        for (a, &v) in acc.iter_mut().zip(xr) {
            *a += v;
        }
    });
    let mean: Vec<f32> = sums.iter().map(|s| (s / rows) as f32).collect();
    // Second pass over the deviations from the mean: no cancellation for data far from 0.
    let [sq] = channel_sums::<1>(x, &[], c, |xr, _, [acc]| {
        for ((a, &v), &m) in acc.iter_mut().zip(xr).zip(&mean) {
            let d = v - m;
            *a += d * d;
        }
    });
    (mean, sq.iter().map(|s| (s / rows) as f32).collect())
}

/// `1 / sqrt(var + epsilon)` for each channel.
pub fn inverse_std(var: &[f32], epsilon: f32) -> Vec<f32> {
    var.iter().map(|&v| 1.0 / (v + epsilon).sqrt()).collect()
}

/// `out = gamma * (x - mean) * inv_std + beta`, channel by channel: the forward pass of
/// batch normalization, with the batch's statistics (training) or the moving ones
/// (inference).
///
/// ```
/// use cnnkit_kernels::norm::batch_norm_forward;
/// let mut out = [0.0; 4];
/// batch_norm_forward(&[1.0, 5.0, 3.0, 5.0], &[2.0, 5.0], &[1.0, 1.0], &[2.0, 1.0], &[0.0, 0.5], &mut out);
/// assert_eq!(out, [-2.0, 0.5, 2.0, 0.5]);
/// ```
pub fn batch_norm_forward(
    x: &[f32],
    mean: &[f32],
    inv_std: &[f32],
    gamma: &[f32],
    beta: &[f32],
    out: &mut [f32],
) {
    let c = mean.len();
    assert!(c > 0 && x.len().is_multiple_of(c), "batch_norm: length");
    assert_eq!(out.len(), x.len(), "batch_norm: output length");
    // y = x * scale + shift, with scale and shift folded per channel.
    let scale: Vec<f32> = gamma.iter().zip(inv_std).map(|(g, s)| g * s).collect();
    let shift: Vec<f32> = (0..c).map(|i| beta[i] - mean[i] * scale[i]).collect();
    out.par_chunks_mut(ROWS_PER_BLOCK * c)
        .zip(x.par_chunks(ROWS_PER_BLOCK * c))
        .for_each(|(o, xb)| {
            for (or, xr) in o.chunks_mut(c).zip(xb.chunks(c)) {
                for (((o, &v), &a), &b) in or.iter_mut().zip(xr).zip(&scale).zip(&shift) {
                    *o = v * a + b;
                }
            }
        });
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

/// Gradients of [`batch_norm_forward`]: adds into `dx` (when given), `dgamma` and `dbeta`.
///
/// With [`BatchNormMode::BatchStatistics`], `mean` and `inv_std` must be the batch's own,
/// and `dx = gamma * inv_std / n * (n * dout - sum(dout) - xhat * sum(dout * xhat))`,
/// where `xhat = (x - mean) * inv_std` and the sums run over the `n` rows; with
/// [`BatchNormMode::Fixed`], `dx = gamma * inv_std * dout`.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_backward(
    mode: BatchNormMode,
    x: &[f32],
    mean: &[f32],
    inv_std: &[f32],
    gamma: &[f32],
    dout: &[f32],
    dx: Option<&mut [f32]>,
    dgamma: &mut [f32],
    dbeta: &mut [f32],
) {
    let c = mean.len();
    assert!(
        c > 0 && x.len().is_multiple_of(c),
        "batch_norm backward: length"
    );
    assert_eq!(dout.len(), x.len(), "batch_norm backward: dout length");
    let [sum_d, sum_dx] = channel_sums::<2>(x, dout, c, |xr, dr, [s0, s1]| {
        for i in 0..c {
            let xhat = (xr[i] - mean[i]) * inv_std[i];
            s0[i] += dr[i];
            s1[i] += dr[i] * xhat;
        }
    });
    for i in 0..c {
        dbeta[i] += sum_d[i] as f32;
        dgamma[i] += sum_dx[i] as f32;
    }
    let Some(dx) = dx else { return };
    assert_eq!(dx.len(), x.len(), "batch_norm backward: dx length");
    let n = (x.len() / c) as f32;
    let scale: Vec<f32> = gamma.iter().zip(inv_std).map(|(g, s)| g * s).collect();
    let (mean_d, mean_dxhat): (Vec<f32>, Vec<f32>) = match mode {
        BatchNormMode::BatchStatistics => sum_d
            .iter()
            .zip(&sum_dx)
            .map(|(&a, &b)| ((a / n as f64) as f32, (b / n as f64) as f32))
            .unzip(),
        BatchNormMode::Fixed => (vec![0.0; c], vec![0.0; c]),
    };
    dx.par_chunks_mut(ROWS_PER_BLOCK * c)
        .zip(x.par_chunks(ROWS_PER_BLOCK * c))
        .zip(dout.par_chunks(ROWS_PER_BLOCK * c))
        .for_each(|((dxb, xb), db)| {
            for ((dxr, xr), dr) in dxb.chunks_mut(c).zip(xb.chunks(c)).zip(db.chunks(c)) {
                for i in 0..c {
                    let xhat = (xr[i] - mean[i]) * inv_std[i];
                    dxr[i] += scale[i] * (dr[i] - mean_d[i] - xhat * mean_dxhat[i]);
                }
            }
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
