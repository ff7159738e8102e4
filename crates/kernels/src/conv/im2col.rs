//! im2col + GEMM: the general algorithm, for every kernel size, stride and padding.
//!
//! Forward: every output position of every image in the batch becomes one row of a matrix
//! `col` (`batch * out_h * out_w` rows, `k_h * k_w * c_in` columns: the receptive field,
//! zeros where it overlaps the padding). Then `out += col * W`, with the weights stored as
//! Keras does (`k_h, k_w, c_in, c_out`), which read row-major is already the
//! `(k_h * k_w * c_in) x c_out` matrix. The product is directly the NHWC output.
//!
//! Backward: `dW += colᵀ dZ`, and `dcol = dZ Wᵀ` scattered back onto the input positions
//! it came from (col2im). `col` is built chunk by chunk ([`crate::scratch::images_per_chunk`]),
//! in a reused scratch buffer: nothing is kept between the forward and the backward pass.

use rayon::prelude::*;

use crate::geometry::ConvGeometry;
use crate::matmul::{matmul, MatRef};
use crate::scratch;

/// Rows of `col` handled by one rayon task: enough work to amortise scheduling.
pub(crate) fn rows_per_task(row_len: usize) -> usize {
    (16_384 / row_len.max(1)).clamp(1, 4096)
}

/// Fills `col` (`rows x patch_len`, row-major) with the receptive fields of `x`.
pub fn im2col(g: &ConvGeometry, x: &[f32], col: &mut [f32]) {
    let l = g.patch_len();
    assert_eq!(x.len(), g.input_len(), "im2col: input length");
    assert_eq!(col.len(), g.rows() * l, "im2col: col length");
    let per = rows_per_task(l);
    col.par_chunks_mut(per * l)
        .enumerate()
        .for_each(|(task, chunk)| {
            let first = task * per;
            for (i, row) in chunk.chunks_exact_mut(l).enumerate() {
                fill_patch(g, x, first + i, row);
            }
        });
}

/// Writes the receptive field of output row `r` (image, y, x) into `row`.
#[inline]
fn fill_patch(g: &ConvGeometry, x: &[f32], r: usize, row: &mut [f32]) {
    let c = g.in_c;
    let ox = r % g.out_w;
    let oy = (r / g.out_w) % g.out_h;
    let b = r / (g.out_w * g.out_h);
    let image = &x[b * g.in_h * g.in_w * c..(b + 1) * g.in_h * g.in_w * c];
    let y0 = (oy * g.stride_h) as isize - g.pad_top as isize;
    let x0 = (ox * g.stride_w) as isize - g.pad_left as isize;
    for ky in 0..g.k_h {
        let iy = y0 + ky as isize;
        let dst_row = &mut row[ky * g.k_w * c..(ky + 1) * g.k_w * c];
        if iy < 0 || iy >= g.in_h as isize {
            dst_row.fill(0.0);
            continue;
        }
        let src_row = &image[iy as usize * g.in_w * c..(iy as usize + 1) * g.in_w * c];
        // Columns kx with 0 <= x0 + kx < in_w are inside the image.
        let kx_lo = (-x0).clamp(0, g.k_w as isize) as usize;
        let kx_hi = (g.in_w as isize - x0).clamp(0, g.k_w as isize) as usize;
        dst_row[..kx_lo * c].fill(0.0);
        if kx_hi > kx_lo {
            let ix_lo = (x0 + kx_lo as isize) as usize;
            dst_row[kx_lo * c..kx_hi * c]
                .copy_from_slice(&src_row[ix_lo * c..(ix_lo + kx_hi - kx_lo) * c]);
        }
        dst_row[kx_hi.max(kx_lo) * c..].fill(0.0);
    }
}

/// Adds every row of `dcol` back onto the input positions it was copied from (the adjoint
/// of [`im2col`]): `dx += col2im(dcol)`.
pub fn col2im_add(g: &ConvGeometry, dcol: &[f32], dx: &mut [f32]) {
    let l = g.patch_len();
    let c = g.in_c;
    assert_eq!(dx.len(), g.input_len(), "col2im: dx length");
    assert_eq!(dcol.len(), g.rows() * l, "col2im: dcol length");
    let image_len = g.in_h * g.in_w * c;
    let rows_per_image = g.out_h * g.out_w;
    dx.par_chunks_mut(image_len)
        .zip(dcol.par_chunks(rows_per_image * l))
        .for_each(|(dximg, dcolimg)| {
            for (p, row) in dcolimg.chunks_exact(l).enumerate() {
                let oy = p / g.out_w;
                let ox = p % g.out_w;
                let y0 = (oy * g.stride_h) as isize - g.pad_top as isize;
                let x0 = (ox * g.stride_w) as isize - g.pad_left as isize;
                for ky in 0..g.k_h {
                    let iy = y0 + ky as isize;
                    if iy < 0 || iy >= g.in_h as isize {
                        continue;
                    }
                    let kx_lo = (-x0).clamp(0, g.k_w as isize) as usize;
                    let kx_hi = (g.in_w as isize - x0).clamp(0, g.k_w as isize) as usize;
                    if kx_hi <= kx_lo {
                        continue;
                    }
                    let ix_lo = (x0 + kx_lo as isize) as usize;
                    let n = (kx_hi - kx_lo) * c;
                    let src = &row[(ky * g.k_w + kx_lo) * c..][..n];
                    let dst = &mut dximg[(iy as usize * g.in_w + ix_lo) * c..][..n];
                    for (d, s) in dst.iter_mut().zip(src) {
                        *d += s;
                    }
                }
            }
        });
}

/// The chunks of the batch `(first image, images)` whose `col` fills about one scratch
/// chunk, and a scratch buffer for the largest.
fn chunks(g: &ConvGeometry) -> (impl Iterator<Item = (usize, usize)>, scratch::Scratch) {
    let per = scratch::images_per_chunk(g.batch, g.out_h * g.out_w * g.patch_len());
    let col = scratch::take(g.with_batch(per).rows() * g.patch_len());
    (scratch::image_chunks(g.batch, per), col)
}

/// `out += conv(x, w)`, one GEMM per chunk of images.
pub(crate) fn forward_add(g: &ConvGeometry, x: &[f32], w: &[f32], out: &mut [f32]) {
    let (l, o) = (g.patch_len(), g.out_c);
    let w = MatRef::row_major(w, l, o);
    let (chunks, mut col) = chunks(g);
    for (first, n) in chunks {
        let gc = g.with_batch(n);
        let col = &mut col[..gc.rows() * l];
        im2col(
            &gc,
            &x[first * g.in_h * g.in_w * g.in_c..][..gc.input_len()],
            col,
        );
        let out = &mut out[first * g.out_h * g.out_w * o..][..gc.output_len()];
        matmul(out, MatRef::row_major(col, gc.rows(), l), w, true);
    }
}

/// `dw += colᵀ dz`, chunk by chunk (`dz` the gradient before the activation).
pub(crate) fn weight_grad(g: &ConvGeometry, x: &[f32], dz: &[f32], dw: &mut [f32]) {
    let (l, o) = (g.patch_len(), g.out_c);
    let (in_len, out_len) = (g.in_h * g.in_w * g.in_c, g.out_h * g.out_w * o);
    let (chunks, mut col) = chunks(g);
    for (first, n) in chunks {
        let gc = g.with_batch(n);
        let col = &mut col[..gc.rows() * l];
        im2col(&gc, &x[first * in_len..][..gc.input_len()], col);
        let dz = MatRef::row_major(&dz[first * out_len..][..gc.output_len()], gc.rows(), o);
        matmul(dw, MatRef::row_major(col, gc.rows(), l).t(), dz, true);
    }
}

/// `dx += col2im(dz Wᵀ)`, chunk by chunk.
pub(crate) fn input_grad(g: &ConvGeometry, dz: &[f32], w: &[f32], dx: &mut [f32]) {
    let (l, o) = (g.patch_len(), g.out_c);
    let (in_len, out_len) = (g.in_h * g.in_w * g.in_c, g.out_h * g.out_w * o);
    let wm = MatRef::row_major(w, l, o);
    let (chunks, mut dcol) = chunks(g);
    for (first, n) in chunks {
        let gc = g.with_batch(n);
        let dcol = &mut dcol[..gc.rows() * l];
        let dz = MatRef::row_major(&dz[first * out_len..][..gc.output_len()], gc.rows(), o);
        matmul(dcol, dz, wm.t(), false);
        col2im_add(&gc, dcol, &mut dx[first * in_len..][..gc.input_len()]);
    }
}
