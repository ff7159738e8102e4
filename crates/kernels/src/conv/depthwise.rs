//! Depthwise convolution (Keras `DepthwiseConv2D` with depth multiplier 1): one `k x k`
//! filter per channel, applied to that channel only.
//!
//! There is no channel mixing, so there is no matrix product to hand to GEMM; the loops
//! run over output pixels and kernel positions with the channels innermost, where NHWC
//! keeps them contiguous and the compiler vectorises the multiply-adds. Images are
//! processed in parallel; the weight gradient is summed per fixed group of images and the
//! groups are added in order, so the result does not depend on the thread count.
//!
//! The weights are laid out as Keras' depthwise kernel `(k_h, k_w, c, 1)`: `w[(ky * k_w +
//! kx) * c + ch]`. The sizes are those of a pooling window, so a [`PoolGeometry`] describes
//! the layer (channels in = channels out).

use rayon::prelude::*;

use crate::geometry::PoolGeometry;

/// Images whose weight gradients are summed together before the groups are added in order.
const IMAGES_PER_GROUP: usize = 4;

/// The kernel offsets `lo..hi` along one axis that fall inside an input of `n` for the
/// output position whose window starts at `start` (negative inside the padding).
fn inside(start: isize, k: usize, n: usize) -> std::ops::Range<usize> {
    let lo = (-start).clamp(0, k as isize) as usize;
    let hi = (n as isize - start).clamp(lo as isize, k as isize) as usize;
    lo..hi
}

/// The kernel positions that fall inside the image for output pixel `(oy, ox)`, as
/// `(tap index ky * k_w + kx, input pixel index)`, row by row of the window.
fn taps(g: &PoolGeometry, oy: usize, ox: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
    let y0 = (oy * g.stride_h) as isize - g.pad_top as isize;
    let x0 = (ox * g.stride_w) as isize - g.pad_left as isize;
    let (ky, kx) = (inside(y0, g.k_h, g.in_h), inside(x0, g.k_w, g.in_w));
    ky.flat_map(move |ky| {
        let iy = (y0 + ky as isize) as usize;
        kx.clone().map(move |kx| {
            let ix = (x0 + kx as isize) as usize;
            (ky * g.k_w + kx, iy * g.in_w + ix)
        })
    })
}

/// `out = depthwise(x, w) + bias`. `bias`, when given, has `c` elements.
///
/// ```
/// use cnnkit_kernels::conv::depthwise::depthwise_forward;
/// use cnnkit_kernels::geometry::{Padding, PoolGeometry};
/// // Two channels of a 2x2 image; a 2x2 filter per channel (ones, then twos).
/// let g = PoolGeometry::new(1, (2, 2, 2), (2, 2), (1, 1), Padding::Valid).unwrap();
/// let x = [1., 10., 2., 20., 3., 30., 4., 40.];
/// let w = [1., 2., 1., 2., 1., 2., 1., 2.];
/// let mut out = [0.0; 2];
/// depthwise_forward(&g, &x, &w, Some(&[0.5, 0.0]), &mut out);
/// assert_eq!(out, [10.5, 200.0]);
/// ```
pub fn depthwise_forward(
    g: &PoolGeometry,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
) {
    let c = g.c;
    assert_eq!(x.len(), g.input_len(), "depthwise: input length");
    assert_eq!(out.len(), g.output_len(), "depthwise: output length");
    assert_eq!(w.len(), g.k_h * g.k_w * c, "depthwise: weight length");
    if let Some(b) = bias {
        assert_eq!(b.len(), c, "depthwise: bias length");
    }
    let (in_img, out_img) = (g.in_h * g.in_w * c, g.out_h * g.out_w * c);
    if in_img == 0 || out_img == 0 {
        return;
    }
    out.par_chunks_mut(out_img)
        .zip(x.par_chunks(in_img))
        .for_each(|(out, img)| {
            for oy in 0..g.out_h {
                for ox in 0..g.out_w {
                    let acc = &mut out[(oy * g.out_w + ox) * c..][..c];
                    match bias {
                        Some(b) => acc.copy_from_slice(b),
                        None => acc.fill(0.0),
                    }
                    for (tap, pixel) in taps(g, oy, ox) {
                        let (wk, xv) = (&w[tap * c..][..c], &img[pixel * c..][..c]);
                        for ((a, &wv), &v) in acc.iter_mut().zip(wk).zip(xv) {
                            *a += wv * v;
                        }
                    }
                }
            }
        });
}

/// Gradients of [`depthwise_forward`]: adds into `dx` (when given), `dw` and `db` (when
/// given).
pub fn depthwise_backward(
    g: &PoolGeometry,
    x: &[f32],
    w: &[f32],
    dout: &[f32],
    dx: Option<&mut [f32]>,
    dw: &mut [f32],
    db: Option<&mut [f32]>,
) {
    let c = g.c;
    assert_eq!(x.len(), g.input_len(), "depthwise backward: input length");
    assert_eq!(
        dout.len(),
        g.output_len(),
        "depthwise backward: dout length"
    );
    assert_eq!(dw.len(), w.len(), "depthwise backward: dw length");
    let (in_img, out_img) = (g.in_h * g.in_w * c, g.out_h * g.out_w * c);
    if in_img == 0 || out_img == 0 {
        return;
    }
    if let Some(dx) = dx {
        assert_eq!(dx.len(), x.len(), "depthwise backward: dx length");
        dx.par_chunks_mut(in_img)
            .zip(dout.par_chunks(out_img))
            .for_each(|(dx, dout)| {
                for oy in 0..g.out_h {
                    for ox in 0..g.out_w {
                        let d = &dout[(oy * g.out_w + ox) * c..][..c];
                        for (tap, pixel) in taps(g, oy, ox) {
                            let t = &mut dx[pixel * c..][..c];
                            for ((t, &wv), &dv) in t.iter_mut().zip(&w[tap * c..][..c]).zip(d) {
                                *t += wv * dv;
                            }
                        }
                    }
                }
            });
    }
    // Weight and bias gradients: partial sums per group of images, added in order.
    let group_in = IMAGES_PER_GROUP * in_img;
    let group_out = IMAGES_PER_GROUP * out_img;
    let partials: Vec<(Vec<f32>, Vec<f32>)> = x
        .par_chunks(group_in)
        .zip(dout.par_chunks(group_out))
        .map(|(xs, ds)| {
            let mut pw = vec![0.0f32; w.len()];
            let mut pb = vec![0.0f32; c];
            for (img, dimg) in xs.chunks(in_img).zip(ds.chunks(out_img)) {
                for oy in 0..g.out_h {
                    for ox in 0..g.out_w {
                        let d = &dimg[(oy * g.out_w + ox) * c..][..c];
                        for (b, &dv) in pb.iter_mut().zip(d) {
                            *b += dv;
                        }
                        for (tap, pixel) in taps(g, oy, ox) {
                            let t = &mut pw[tap * c..][..c];
                            for ((t, &v), &dv) in t.iter_mut().zip(&img[pixel * c..][..c]).zip(d) {
                                *t += v * dv;
                            }
                        }
                    }
                }
            }
            (pw, pb)
        })
        .collect();
    let mut db = db;
    for (pw, pb) in partials {
        for (t, v) in dw.iter_mut().zip(&pw) {
            *t += v;
        }
        if let Some(db) = db.as_deref_mut() {
            for (t, v) in db.iter_mut().zip(&pb) {
                *t += v;
            }
        }
    }
}
