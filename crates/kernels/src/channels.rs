//! Moving data between channels of NHWC tensors: concatenation along the channels (an
//! inception module's depth concat) and its inverse, channel-wise scaling (a
//! squeeze-and-excitation block), and zero padding of the borders (Keras `ZeroPadding2D`).
//!
//! A row is one pixel of one image; its channels are contiguous.

use rayon::prelude::*;

/// Pixels per parallel block.
const ROWS_PER_BLOCK: usize = 512;

/// Concatenates `parts` along the channels: `parts[k]` holds `rows x channels[k]` values,
/// `out` gets `rows x sum(channels)`, each row the parts' rows one after the other.
///
/// ```
/// let mut out = [0.0; 6];
/// cnnkit_kernels::channels::concat_channels(&[&[1.0, 2.0], &[10.0, 11.0, 20.0, 21.0]], &[1, 2], &mut out);
/// assert_eq!(out, [1.0, 10.0, 11.0, 2.0, 20.0, 21.0]);
/// ```
pub fn concat_channels(parts: &[&[f32]], channels: &[usize], out: &mut [f32]) {
    assert_eq!(
        parts.len(),
        channels.len(),
        "concat: one channel count per part"
    );
    let total: usize = channels.iter().sum();
    assert!(total > 0, "concat: no channels");
    let rows = out.len() / total;
    assert_eq!(out.len(), rows * total, "concat: output length");
    for (p, &c) in parts.iter().zip(channels) {
        assert_eq!(p.len(), rows * c, "concat: part length");
    }
    out.par_chunks_mut(ROWS_PER_BLOCK * total)
        .enumerate()
        .for_each(|(b, ob)| {
            let first = b * ROWS_PER_BLOCK;
            for (r, orow) in ob.chunks_mut(total).enumerate() {
                let mut at = 0;
                for (p, &c) in parts.iter().zip(channels) {
                    orow[at..at + c].copy_from_slice(&p[(first + r) * c..][..c]);
                    at += c;
                }
            }
        });
}

/// The inverse of [`concat_channels`] for gradients: adds the columns of `dout` that
/// belong to part `k` into `dparts[k]`.
pub fn split_channels_add(dout: &[f32], channels: &[usize], dparts: &mut [&mut [f32]]) {
    let total: usize = channels.iter().sum();
    assert!(total > 0, "split: no channels");
    let rows = dout.len() / total;
    let mut at = 0;
    for (dp, &c) in dparts.iter_mut().zip(channels) {
        assert_eq!(dp.len(), rows * c, "split: part length");
        dp.par_chunks_mut(ROWS_PER_BLOCK * c)
            .enumerate()
            .for_each(|(b, pb)| {
                let first = b * ROWS_PER_BLOCK;
                for (r, prow) in pb.chunks_mut(c).enumerate() {
                    let src = &dout[(first + r) * total + at..][..c];
                    for (t, v) in prow.iter_mut().zip(src) {
                        *t += v;
                    }
                }
            });
        at += c;
    }
}

/// `out[b, p, c] = x[b, p, c] * s[b, c]`: scales every channel of every image by its own
/// factor (`x` has `batch x pixels x c` values, `s` has `batch x c`).
///
/// ```
/// let mut out = [0.0; 4];
/// cnnkit_kernels::channels::scale_channels(&[1.0, 2.0, 3.0, 4.0], &[10.0, 0.5], 1, 2, &mut out);
/// assert_eq!(out, [10.0, 1.0, 30.0, 2.0]);
/// ```
pub fn scale_channels(x: &[f32], s: &[f32], batch: usize, c: usize, out: &mut [f32]) {
    assert_eq!(
        s.len(),
        batch * c,
        "scale_channels: one factor per image and channel"
    );
    assert_eq!(out.len(), x.len(), "scale_channels: output length");
    if batch == 0 || c == 0 {
        return;
    }
    let img = x.len() / batch;
    out.par_chunks_mut(img)
        .zip(x.par_chunks(img))
        .zip(s.par_chunks(c))
        .for_each(|((o, xi), si)| {
            for (or, xr) in o.chunks_mut(c).zip(xi.chunks(c)) {
                for ((o, &v), &f) in or.iter_mut().zip(xr).zip(si) {
                    *o = v * f;
                }
            }
        });
}

/// Gradients of [`scale_channels`]: adds `dout * s` into `dx` and the per-image,
/// per-channel sums of `dout * x` into `ds`.
pub fn scale_channels_backward(
    x: &[f32],
    s: &[f32],
    batch: usize,
    c: usize,
    dout: &[f32],
    dx: Option<&mut [f32]>,
    ds: &mut [f32],
) {
    assert_eq!(s.len(), batch * c, "scale_channels backward: factors");
    assert_eq!(ds.len(), s.len(), "scale_channels backward: ds length");
    assert_eq!(dout.len(), x.len(), "scale_channels backward: dout length");
    if batch == 0 || c == 0 {
        return;
    }
    let img = x.len() / batch;
    ds.par_chunks_mut(c)
        .zip(x.par_chunks(img).zip(dout.par_chunks(img)))
        .for_each(|(dsi, (xi, di))| {
            for (xr, dr) in xi.chunks(c).zip(di.chunks(c)) {
                for ((t, &v), &d) in dsi.iter_mut().zip(xr).zip(dr) {
                    *t += v * d;
                }
            }
        });
    if let Some(dx) = dx {
        assert_eq!(dx.len(), x.len(), "scale_channels backward: dx length");
        dx.par_chunks_mut(img)
            .zip(dout.par_chunks(img).zip(s.par_chunks(c)))
            .for_each(|(dxi, (di, si))| {
                for (tr, dr) in dxi.chunks_mut(c).zip(di.chunks(c)) {
                    for ((t, &d), &f) in tr.iter_mut().zip(dr).zip(si) {
                        *t += d * f;
                    }
                }
            });
    }
}

/// Zero padding of the borders, as Keras `ZeroPadding2D(((top, bottom), (left, right)))`:
/// `x` is `batch x h x w x c`, `out` is `batch x (h + top + bottom) x (w + left + right) x c`.
///
/// ```
/// let mut out = [9.0; 9];
/// cnnkit_kernels::channels::zero_pad(&[5.0], 1, (1, 1, 1), (1, 1, 1, 1), &mut out);
/// assert_eq!(out, [0., 0., 0., 0., 5., 0., 0., 0., 0.]);
/// ```
pub fn zero_pad(
    x: &[f32],
    batch: usize,
    (h, w, c): (usize, usize, usize),
    (top, bottom, left, right): (usize, usize, usize, usize),
    out: &mut [f32],
) {
    let (oh, ow) = (h + top + bottom, w + left + right);
    assert_eq!(x.len(), batch * h * w * c, "zero_pad: input length");
    assert_eq!(out.len(), batch * oh * ow * c, "zero_pad: output length");
    if out.is_empty() {
        return;
    }
    out.par_chunks_mut(oh * ow * c)
        .enumerate()
        .for_each(|(b, o)| {
            o.fill(0.0);
            for y in 0..h {
                let src = &x[((b * h + y) * w) * c..][..w * c];
                o[((y + top) * ow + left) * c..][..w * c].copy_from_slice(src);
            }
        });
}

/// Gradient of [`zero_pad`]: adds the inner part of `dout` into `dx`.
pub fn zero_pad_backward(
    dout: &[f32],
    batch: usize,
    (h, w, c): (usize, usize, usize),
    (top, bottom, left, right): (usize, usize, usize, usize),
    dx: &mut [f32],
) {
    let (oh, ow) = (h + top + bottom, w + left + right);
    assert_eq!(dx.len(), batch * h * w * c, "zero_pad backward: dx length");
    assert_eq!(
        dout.len(),
        batch * oh * ow * c,
        "zero_pad backward: dout length"
    );
    if dx.is_empty() {
        return;
    }
    dx.par_chunks_mut(h * w * c).enumerate().for_each(|(b, d)| {
        for y in 0..h {
            let src = &dout[((b * oh + y + top) * ow + left) * c..][..w * c];
            for (t, v) in d[y * w * c..][..w * c].iter_mut().zip(src) {
                *t += v;
            }
        }
    });
}
