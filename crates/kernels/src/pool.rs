//! Pooling on `f32` slices in NHWC layout: max and average pooling over spatial windows,
//! global average pooling, and depthwise max pooling across channels.
//!
//! Max pooling records, for each output, the input index that won (its argmax), so the
//! backward pass routes each gradient to exactly that input. Padded cells never win
//! (they count as minus infinity) and are left out of averages, as in Keras.

use rayon::prelude::*;

pub use crate::geometry::PoolGeometry;
use crate::simd::{load, multiversion, store, LANES};

impl PoolGeometry {
    /// The input rows `[lo, hi)` and columns covered by output `(oy, ox)`, clipped to the image.
    #[inline]
    fn window(&self, oy: usize, ox: usize) -> (usize, usize, usize, usize) {
        let y0 = (oy * self.stride_h) as isize - self.pad_top as isize;
        let x0 = (ox * self.stride_w) as isize - self.pad_left as isize;
        let y_lo = y0.max(0) as usize;
        let x_lo = x0.max(0) as usize;
        let y_hi = ((y0 + self.k_h as isize).min(self.in_h as isize)).max(0) as usize;
        let x_hi = ((x0 + self.k_w as isize).min(self.in_w as isize)).max(0) as usize;
        (y_lo, y_hi.max(y_lo), x_lo, x_hi.max(x_lo))
    }
}

/// Max pooling forward. `argmax[i]` receives the index, within its image, of the input
/// element that produced `out[i]`; an empty `argmax` asks for the values alone
/// (inference, where no backward pass needs the indices), which skips their bookkeeping
/// when every window lies inside the image.
///
/// ```
/// use cnnkit_kernels::pool::{max_pool_forward, PoolGeometry};
/// use cnnkit_kernels::geometry::Padding;
/// // One 2x2 image of one channel, one 2x2 window.
/// let g = PoolGeometry::new(1, (2, 2, 1), (2, 2), (2, 2), Padding::Valid)?;
/// let (mut out, mut arg) = ([0.0], [0]);
/// max_pool_forward(&g, &[1.0, 4.0, 3.0, 2.0], &mut out, &mut arg);
/// assert_eq!((out, arg), ([4.0], [1]));
/// max_pool_forward(&g, &[1.0, 4.0, 3.0, 2.0], &mut out, &mut []);
/// assert_eq!(out, [4.0]);
/// # Ok::<(), cnnkit_kernels::geometry::GeometryError>(())
/// ```
pub fn max_pool_forward(g: &PoolGeometry, x: &[f32], out: &mut [f32], argmax: &mut [u32]) {
    assert_eq!(x.len(), g.input_len(), "max_pool: input length");
    assert_eq!(out.len(), g.output_len(), "max_pool: output length");
    let c = g.c;
    let in_img = g.in_h * g.in_w * c;
    let out_img = g.out_h * g.out_w * c;
    if out_img == 0 {
        return;
    }
    if argmax.is_empty() {
        if g.windows_inside() {
            out.par_chunks_mut(out_img)
                .zip(x.par_chunks(in_img))
                .for_each(|(out, img)| max_pool_values_inside(g, img, out));
        } else {
            // Windows over the padding (rare: `same` pooling): the general path, with
            // indices that are then dropped.
            max_pool_forward(g, x, out, &mut vec![0; out.len()]);
        }
        return;
    }
    assert_eq!(argmax.len(), g.output_len(), "max_pool: argmax length");
    if g.windows_inside() {
        out.par_chunks_mut(out_img)
            .zip(argmax.par_chunks_mut(out_img))
            .zip(x.par_chunks(in_img))
            .for_each(|((out, arg), img)| max_pool_image_inside(g, img, out, arg));
        return;
    }
    out.par_chunks_mut(out_img)
        .zip(argmax.par_chunks_mut(out_img))
        .zip(x.par_chunks(in_img))
        .for_each(|((out, arg), img)| {
            for oy in 0..g.out_h {
                for ox in 0..g.out_w {
                    let o = (oy * g.out_w + ox) * c;
                    let best = &mut out[o..o + c];
                    let idx = &mut arg[o..o + c];
                    let (y_lo, y_hi, x_lo, x_hi) = g.window(oy, ox);
                    let mut first = true;
                    for iy in y_lo..y_hi {
                        for ix in x_lo..x_hi {
                            let base = (iy * g.in_w + ix) * c;
                            let v = &img[base..base + c];
                            if first {
                                best.copy_from_slice(v);
                                for (i, n) in idx.iter_mut().zip(base as u32..) {
                                    *i = n;
                                }
                                first = false;
                                continue;
                            }
                            // Branch-free so that it vectorises (see `take_if_greater`).
                            for ((b, i), (&val, n)) in best
                                .iter_mut()
                                .zip(idx.iter_mut())
                                .zip(v.iter().zip(base as u32..))
                            {
                                take_if_greater(b, i, val, n);
                            }
                        }
                    }
                }
            }
        });
}

multiversion! {
    /// [`max_pool_forward`] of one image when [`PoolGeometry::windows_inside`] holds:
    /// channels [`LANES`] at a time (then one at a time for the rest), the maximum and its
    /// index kept in registers over the window.
    fn max_pool_image_inside(g: &PoolGeometry, img: &[f32], out: &mut [f32], arg: &mut [u32]) {
        let c = g.c;
        for oy in 0..g.out_h {
            for ox in 0..g.out_w {
                let o = (oy * g.out_w + ox) * c;
                let corner = (oy * g.stride_h * g.in_w + ox * g.stride_w) * c;
                let mut c0 = 0;
                while c0 + LANES <= c {
                    let (out, arg) = (&mut out[o + c0..], &mut arg[o + c0..]);
                    max_window::<LANES>(g, img, corner + c0, out, arg);
                    c0 += LANES;
                }
                while c0 < c {
                    let (out, arg) = (&mut out[o + c0..], &mut arg[o + c0..]);
                    max_window::<1>(g, img, corner + c0, out, arg);
                    c0 += 1;
                }
            }
        }
    }
}

multiversion! {
    /// [`max_pool_image_inside`] without the indices: the values of inference.
    fn max_pool_values_inside(g: &PoolGeometry, img: &[f32], out: &mut [f32]) {
        let c = g.c;
        for oy in 0..g.out_h {
            for ox in 0..g.out_w {
                let o = (oy * g.out_w + ox) * c;
                let corner = (oy * g.stride_h * g.in_w + ox * g.stride_w) * c;
                let mut c0 = 0;
                while c0 + LANES <= c {
                    max_value_window::<LANES>(g, img, corner + c0, &mut out[o + c0..]);
                    c0 += LANES;
                }
                while c0 < c {
                    max_value_window::<1>(g, img, corner + c0, &mut out[o + c0..]);
                    c0 += 1;
                }
            }
        }
    }
}

/// The maximum over one window, as [`max_window`] computes it (`>` over the window row by
/// row, so NaN is skipped in the same way), without the index.
#[inline(always)]
fn max_value_window<const L: usize>(g: &PoolGeometry, img: &[f32], start: usize, out: &mut [f32]) {
    let mut best: [f32; L] = load(&img[start..]);
    for ky in 0..g.k_h {
        let kx0 = usize::from(ky == 0);
        for kx in kx0..g.k_w {
            let v: [f32; L] = load(&img[start + (ky * g.in_w + kx) * g.c..]);
            for (b, x) in best.iter_mut().zip(v) {
                let take = u32::from(x > *b).wrapping_neg();
                *b = f32::from_bits((x.to_bits() & take) | (b.to_bits() & !take));
            }
        }
    }
    store(out, best);
}

/// The maximum over one window of channels `start % c .. + L`, whose top left element is
/// `img[start]`, and its index, written to the first `L` elements of `out` and `arg`. The
/// window is visited row by row and `>` keeps the first maximum, as in the general path.
#[inline(always)]
fn max_window<const L: usize>(
    g: &PoolGeometry,
    img: &[f32],
    start: usize,
    out: &mut [f32],
    arg: &mut [u32],
) {
    let mut best: [f32; L] = load(&img[start..]);
    // The winner's offset from `start`, the same for every lane of a cell.
    let mut offset = [0u32; L];
    for ky in 0..g.k_h {
        // The first cell of the window is already in `best`.
        let kx0 = usize::from(ky == 0);
        for kx in kx0..g.k_w {
            let off = (ky * g.in_w + kx) * g.c;
            let v: [f32; L] = load(&img[start + off..]);
            let off = off as u32;
            for ((b, o), x) in best.iter_mut().zip(offset.iter_mut()).zip(v) {
                take_if_greater(b, o, x, off);
            }
        }
    }
    store(out, best);
    let start = start as u32;
    for (l, (a, o)) in arg[..L].iter_mut().zip(offset).enumerate() {
        *a = start + l as u32 + o;
    }
}

/// `(best, index) = (value, n)` when `value > best` (so the first maximum stays, as in
/// TensorFlow), with `>` as a bit mask and the selections as bit operations: written with
/// `if`, the comparison stays scalar in the build (16 codegen units, thin local LTO) and
/// every lane becomes a branch, mispredicted half of the time.
#[inline(always)]
fn take_if_greater(best: &mut f32, index: &mut u32, value: f32, n: u32) {
    let take = u32::from(value > *best).wrapping_neg();
    *best = f32::from_bits((value.to_bits() & take) | (best.to_bits() & !take));
    *index = (n & take) | (*index & !take);
}

/// Max pooling backward: `dx[argmax[i]] += dout[i]`.
pub fn max_pool_backward(g: &PoolGeometry, argmax: &[u32], dout: &[f32], dx: &mut [f32]) {
    assert_eq!(dx.len(), g.input_len(), "max_pool backward: dx length");
    assert_eq!(dout.len(), g.output_len(), "max_pool backward: dout length");
    let in_img = g.in_h * g.in_w * g.c;
    let out_img = g.out_h * g.out_w * g.c;
    dx.par_chunks_mut(in_img)
        .zip(dout.par_chunks(out_img).zip(argmax.par_chunks(out_img)))
        .for_each(|(dx, (dout, arg))| {
            for (d, &i) in dout.iter().zip(arg) {
                dx[i as usize] += d;
            }
        });
}

impl PoolGeometry {
    /// For every output of one image, for the average pooling passes: its offset in the
    /// image's output, `(oy * out_w + ox) * c`; the offsets of the input pixels of its
    /// window, `(iy * in_w + ix) * c`, padding left out; and how many there are (at least 1).
    fn average_windows(self) -> impl Iterator<Item = (usize, impl Iterator<Item = usize>, f32)> {
        let (in_w, c) = (self.in_w, self.c);
        (0..self.out_h).flat_map(move |oy| {
            (0..self.out_w).map(move |ox| {
                let (y_lo, y_hi, x_lo, x_hi) = self.window(oy, ox);
                let n = ((y_hi - y_lo) * (x_hi - x_lo)).max(1) as f32;
                let pixels = (y_lo..y_hi)
                    .flat_map(move |iy| (x_lo..x_hi).map(move |ix| (iy * in_w + ix) * c));
                ((oy * self.out_w + ox) * c, pixels, n)
            })
        })
    }
}

/// Average pooling forward; padded cells are not counted.
pub fn avg_pool_forward(g: &PoolGeometry, x: &[f32], out: &mut [f32]) {
    assert_eq!(x.len(), g.input_len(), "avg_pool: input length");
    assert_eq!(out.len(), g.output_len(), "avg_pool: output length");
    let c = g.c;
    let (in_img, out_img) = (g.in_h * g.in_w * c, g.out_h * g.out_w * c);
    out.par_chunks_mut(out_img)
        .zip(x.par_chunks(in_img))
        .for_each(|(out, img)| {
            for (o, pixels, n) in g.average_windows() {
                let acc = &mut out[o..o + c];
                acc.fill(0.0);
                for base in pixels {
                    for (a, v) in acc.iter_mut().zip(&img[base..base + c]) {
                        *a += v;
                    }
                }
                for a in acc.iter_mut() {
                    *a /= n;
                }
            }
        });
}

/// Average pooling backward: each input in a window receives `dout / window_count`.
pub fn avg_pool_backward(g: &PoolGeometry, dout: &[f32], dx: &mut [f32]) {
    assert_eq!(dx.len(), g.input_len(), "avg_pool backward: dx length");
    assert_eq!(dout.len(), g.output_len(), "avg_pool backward: dout length");
    let c = g.c;
    let (in_img, out_img) = (g.in_h * g.in_w * c, g.out_h * g.out_w * c);
    dx.par_chunks_mut(in_img)
        .zip(dout.par_chunks(out_img))
        .for_each(|(dx, dout)| {
            for (o, pixels, n) in g.average_windows() {
                let d = &dout[o..o + c];
                for base in pixels {
                    for (t, v) in dx[base..base + c].iter_mut().zip(d) {
                        *t += v / n;
                    }
                }
            }
        });
}

/// Depthwise max pooling forward: channels are split into consecutive groups of `k` and
/// each output channel is the maximum of its group, pixel by pixel. `x` has `c` channels
/// per pixel, `out` has `c / k`; `argmax` gets the winning input index.
pub fn depthwise_max_forward(x: &[f32], c: usize, k: usize, out: &mut [f32], argmax: &mut [u32]) {
    assert!(
        k > 0 && c.is_multiple_of(k),
        "depthwise pool: {c} channels not divisible by {k}"
    );
    let pixels = x.len() / c;
    let oc = c / k;
    assert_eq!(out.len(), pixels * oc, "depthwise pool: output length");
    assert_eq!(argmax.len(), out.len(), "depthwise pool: argmax length");
    out.par_chunks_mut(oc)
        .zip(argmax.par_chunks_mut(oc))
        .enumerate()
        .for_each(|(p, (o, a))| {
            for (j, (o, a)) in o.iter_mut().zip(a.iter_mut()).enumerate() {
                let base = p * c + j * k;
                let mut best = base;
                for i in base + 1..base + k {
                    if x[i] > x[best] {
                        best = i;
                    }
                }
                *o = x[best];
                *a = best as u32;
            }
        });
}

/// Global average pooling forward: `(batch, h, w, c)` to `(batch, c)`.
pub fn global_avg_forward(x: &[f32], batch: usize, hw: usize, c: usize, out: &mut [f32]) {
    assert_eq!(x.len(), batch * hw * c, "global pool: input length");
    assert_eq!(out.len(), batch * c, "global pool: output length");
    out.par_chunks_mut(c)
        .zip(x.par_chunks(hw * c))
        .for_each(|(o, img)| {
            o.fill(0.0);
            for px in img.chunks_exact(c) {
                for (a, v) in o.iter_mut().zip(px) {
                    *a += v;
                }
            }
            let n = hw.max(1) as f32;
            for a in o.iter_mut() {
                *a /= n;
            }
        });
}

/// Global average pooling backward: every pixel receives `dout / (h * w)`.
pub fn global_avg_backward(dout: &[f32], batch: usize, hw: usize, c: usize, dx: &mut [f32]) {
    assert_eq!(dx.len(), batch * hw * c, "global pool backward: dx length");
    assert_eq!(dout.len(), batch * c, "global pool backward: dout length");
    let n = hw.max(1) as f32;
    dx.par_chunks_mut(hw * c)
        .zip(dout.par_chunks(c))
        .for_each(|(img, d)| {
            for px in img.chunks_exact_mut(c) {
                for (t, v) in px.iter_mut().zip(d) {
                    *t += v / n;
                }
            }
        });
}
