//! 2-D convolution on `f32` slices in NHWC layout (batch, height, width, channels, as in
//! Keras), forward and backward, by batched im2col and one large GEMM per pass.
//!
//! Forward: every output position of every image in the batch becomes one row of a matrix
//! `col` (`batch * out_h * out_w` rows, `k_h * k_w * c_in` columns: the receptive field,
//! zeros where it overlaps the padding). Then `out = col * W + b`, with the weights stored
//! as Keras does (`k_h, k_w, c_in, c_out`), which read row-major is already the
//! `(k_h * k_w * c_in) x c_out` matrix. The product is directly the NHWC output.
//!
//! Backward: `dW += col^T * dZ`, `db += column sums of dZ`, `dcol = dZ * W^T`, and `dcol`
//! is scattered back onto the input positions it came from (col2im). For layers with few
//! input channels (a first layer on grayscale or RGB images), `dW` is computed from the
//! input directly, without `col` (see `weight_grad_direct`).

use rayon::prelude::*;

use super::matmul::{matmul, MatRef};
use super::simd::{load, multiversion, store, LANES};
use crate::arith::{axis_geometry, Padding};
use crate::error::Result;

/// Everything about the sizes of one convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Images in the batch.
    pub batch: usize,
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Input channels.
    pub in_c: usize,
    /// Output channels (number of filters).
    pub out_c: usize,
    /// Kernel height.
    pub k_h: usize,
    /// Kernel width.
    pub k_w: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Zero rows added above the input.
    pub pad_top: usize,
    /// Zero columns added left of the input.
    pub pad_left: usize,
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
}

impl ConvGeometry {
    /// Computes the output size and padding with Keras' rules (see [`crate::arith::axis_geometry`]).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        batch: usize,
        (in_h, in_w, in_c): (usize, usize, usize),
        out_c: usize,
        (k_h, k_w): (usize, usize),
        (stride_h, stride_w): (usize, usize),
        padding: Padding,
    ) -> Result<Self> {
        let gh = axis_geometry(in_h, k_h, stride_h, padding)?;
        let gw = axis_geometry(in_w, k_w, stride_w, padding)?;
        Ok(ConvGeometry {
            batch,
            in_h,
            in_w,
            in_c,
            out_c,
            k_h,
            k_w,
            stride_h,
            stride_w,
            pad_top: gh.pad_before,
            pad_left: gw.pad_before,
            out_h: gh.output,
            out_w: gw.output,
        })
    }

    /// Elements of the input (`batch * in_h * in_w * in_c`).
    pub fn input_len(&self) -> usize {
        self.batch * self.in_h * self.in_w * self.in_c
    }

    /// Elements of the output (`batch * out_h * out_w * out_c`).
    pub fn output_len(&self) -> usize {
        self.batch * self.out_h * self.out_w * self.out_c
    }

    /// Elements of the weights (`k_h * k_w * in_c * out_c`).
    pub fn weight_len(&self) -> usize {
        self.patch_len() * self.out_c
    }

    /// Length of one receptive field, one row of `col` (`k_h * k_w * in_c`).
    pub fn patch_len(&self) -> usize {
        self.k_h * self.k_w * self.in_c
    }

    /// Number of output positions in the batch, the rows of `col`.
    pub fn rows(&self) -> usize {
        self.batch * self.out_h * self.out_w
    }

    /// True when the input itself is the `col` matrix (1x1 kernel, stride 1, no padding).
    pub fn is_pointwise(&self) -> bool {
        self.k_h == 1 && self.k_w == 1 && self.stride_h == 1 && self.stride_w == 1
    }

    /// Floating-point operations of the forward pass (2 per multiply-add).
    pub fn forward_flops(&self) -> f64 {
        2.0 * self.rows() as f64 * self.patch_len() as f64 * self.out_c as f64
    }
}

/// Rows of `col` handled by one rayon task: enough work to amortise scheduling.
fn rows_per_task(row_len: usize) -> usize {
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

/// Scratch matrices (`col`, Winograd's transformed tiles) are built for chunks of images
/// of about this many floats (16 MB). A whole batch at once would need hundreds of
/// megabytes at batch 128-256 (the `col` of `conv2d_2` alone is 115 MB at batch 128),
/// which glibc hands out as fresh pages on every call; chunks of this size are reused
/// across the batch, stay below glibc's mmap threshold (see
/// [`crate::kernels::tune_allocator`]) and still give GEMMs thousands of rows.
pub const CHUNK_FLOATS: usize = 1 << 22;

impl ConvGeometry {
    /// The same convolution for a batch of `batch` images.
    pub fn with_batch(&self, batch: usize) -> Self {
        ConvGeometry { batch, ..*self }
    }

    /// Images per chunk so that one chunk's `col` holds about [`CHUNK_FLOATS`] floats.
    pub fn images_per_chunk(&self) -> usize {
        images_per_chunk(self.batch, self.out_h * self.out_w * self.patch_len())
    }

    /// The chunks of the batch: `(first image, images)`.
    fn chunks(&self) -> impl Iterator<Item = (usize, usize)> {
        image_chunks(self.batch, self.images_per_chunk())
    }
}

/// Images per chunk of a batch of `batch` images when one image needs `floats_per_image`
/// floats of scratch: about [`CHUNK_FLOATS`] per chunk, at least one image.
pub(crate) fn images_per_chunk(batch: usize, floats_per_image: usize) -> usize {
    (CHUNK_FLOATS / floats_per_image.max(1)).clamp(1, batch.max(1))
}

/// The chunks `(first image, images)` of a batch of `batch` images, `per` at a time (the
/// last one may be shorter).
pub(crate) fn image_chunks(batch: usize, per: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..batch)
        .step_by(per)
        .map(move |first| (first, per.min(batch - first)))
}

/// Forward pass: `out = act(conv(x, w) + b)`, where `act` is ReLU when `relu` is true.
///
/// `x`: NHWC input; `w`: `(k_h, k_w, in_c, out_c)` row-major; `b`: `out_c`; `out`: NHWC
/// output of `g.output_len()` elements (overwritten). Nothing is kept for the backward
/// pass: [`conv2d_backward`] rebuilds the receptive fields from `x`, chunk by chunk, which
/// costs a copy per image and saves the largest buffer of training.
///
/// 3x3 stride-1 `same` convolutions use Winograd's algorithm
/// ([`super::winograd`]); the others im2col and one GEMM per chunk of images.
pub fn conv2d_forward(
    g: &ConvGeometry,
    x: &[f32],
    w: &[f32],
    b: &[f32],
    relu: bool,
    out: &mut [f32],
) {
    assert_eq!(x.len(), g.input_len(), "conv2d: input length");
    assert_eq!(w.len(), g.weight_len(), "conv2d: weight length");
    assert_eq!(b.len(), g.out_c, "conv2d: bias length");
    assert_eq!(out.len(), g.output_len(), "conv2d: output length");
    if super::winograd::applies(g) {
        super::winograd::conv3x3_forward(g, x, w, b, relu, out);
        return;
    }
    let l = g.patch_len();
    let o = g.out_c;
    // Start from the bias, then accumulate the product into it.
    let per = rows_per_task(o);
    out.par_chunks_mut(per * o).for_each(|chunk| {
        for row in chunk.chunks_exact_mut(o) {
            row.copy_from_slice(b);
        }
    });
    let w = MatRef::row_major(w, l, o);
    if g.is_pointwise() && g.pad_top == 0 && g.pad_left == 0 {
        matmul(out, MatRef::row_major(x, g.rows(), l), w, true);
    } else {
        let mut col = super::scratch::take(g.with_batch(g.images_per_chunk()).rows() * l);
        for (first, n) in g.chunks() {
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
    if relu {
        relu_in_place(out);
    }
}

/// `v = max(v, 0)` on every element, in parallel.
pub fn relu_in_place(v: &mut [f32]) {
    v.par_chunks_mut(1 << 14).for_each(|c| {
        for e in c {
            *e = e.max(0.0);
        }
    });
}

/// The gradient through a ReLU: `d = 0` wherever `y <= 0` (`y` the ReLU's output), in
/// parallel.
pub fn relu_mask_in_place(d: &mut [f32], y: &[f32]) {
    assert_eq!(d.len(), y.len(), "relu mask: lengths differ");
    d.par_chunks_mut(1 << 14)
        .zip(y.par_chunks(1 << 14))
        .for_each(|(d, y)| {
            for (d, y) in d.iter_mut().zip(y) {
                // A bit mask rather than `if`: a branch on the sign of the activations is
                // mispredicted half of the time (it cost 3 ms per step on the first
                // layer's 1.6 million gradients), and this form vectorises.
                let keep = u32::from(*y > 0.0 || y.is_nan()).wrapping_neg();
                *d = f32::from_bits(d.to_bits() & keep);
            }
        });
}

/// Backward pass of [`conv2d_forward`].
///
/// * `dout`: gradient of the loss with respect to the layer's output (NHWC). When `relu`
///   is true it is masked in place by `out > 0` (so it becomes dZ, the gradient before
///   the activation); `out` is the forward output.
/// * `x`: the forward input.
/// * `dx`, `dw`, `db`: gradients, ADDED to (dfdx accumulates gradients). `dx` may be
///   `None` when the input needs no gradient.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_backward(
    g: &ConvGeometry,
    x: &[f32],
    w: &[f32],
    out: &[f32],
    relu: bool,
    dout: &mut [f32],
    mut dx: Option<&mut [f32]>,
    dw: &mut [f32],
    db: &mut [f32],
) {
    let rows = g.rows();
    let l = g.patch_len();
    let o = g.out_c;
    assert_eq!(x.len(), g.input_len(), "conv2d backward: input length");
    assert_eq!(dout.len(), g.output_len(), "conv2d backward: dout length");
    assert_eq!(dw.len(), g.weight_len(), "conv2d backward: dw length");
    assert_eq!(db.len(), o, "conv2d backward: db length");
    if relu {
        assert_eq!(out.len(), dout.len(), "conv2d backward: out length");
        relu_mask_in_place(dout, out);
    }
    let dz = &*dout;
    column_sums_add(dz, o, db);
    let wm = MatRef::row_major(w, l, o);
    if g.is_pointwise() && g.pad_top == 0 && g.pad_left == 0 {
        // The input itself is `col`.
        matmul(
            dw,
            MatRef::row_major(x, rows, l).t(),
            MatRef::row_major(dz, rows, o),
            true,
        );
        if let Some(dx) = dx {
            matmul(dx, MatRef::row_major(dz, rows, o), wm.t(), true);
        }
        return;
    }
    if super::winograd::applies(g) {
        super::winograd::conv3x3_weight_grad(g, x, dz, dw);
        if let Some(dx) = dx {
            super::winograd::conv3x3_input_grad(g, dz, w, dx);
        }
        return;
    }
    // Few input channels: the weight gradient without `col` (the same computation whether
    // or not the input gradient is needed).
    let direct = direct_weight_grad_applies(g);
    if direct {
        weight_grad_direct(g, x, dz, dw);
        if dx.is_none() {
            return;
        }
    }
    let (in_len, out_len) = (g.in_h * g.in_w * g.in_c, g.out_h * g.out_w * o);
    let mut col = super::scratch::take(g.with_batch(g.images_per_chunk()).rows() * l);
    for (first, n) in g.chunks() {
        let gc = g.with_batch(n);
        let col = &mut col[..gc.rows() * l];
        let dz = MatRef::row_major(&dz[first * out_len..][..gc.output_len()], gc.rows(), o);
        if !direct {
            im2col(&gc, &x[first * in_len..][..gc.input_len()], col);
            matmul(dw, MatRef::row_major(col, gc.rows(), l).t(), dz, true);
        }
        if let Some(dx) = dx.as_deref_mut() {
            // col is no longer needed: reuse its memory for dcol.
            matmul(col, dz, wm.t(), false);
            col2im_add(&gc, col, &mut dx[first * in_len..][..gc.input_len()]);
        }
    }
}

/// Input channels up to which [`weight_grad_direct`] replaces im2col and the GEMM.
const DIRECT_WEIGHT_GRAD_MAX_C_IN: usize = 4;

/// True when [`weight_grad_direct`] computes the weight gradient of `g`: a layer of the
/// im2col path (neither pointwise nor Winograd) with few input channels (a first layer)
/// and output channels in whole vectors.
fn direct_weight_grad_applies(g: &ConvGeometry) -> bool {
    g.in_c <= DIRECT_WEIGHT_GRAD_MAX_C_IN
        && g.out_c > 0
        && g.out_c.is_multiple_of(LANES)
        && g.rows() > 0
        && !g.is_pointwise()
        && !super::winograd::applies(g)
}

/// `dW += colᵀ dZ` computed from `x` directly, for layers with few input channels.
///
/// With one input channel, a row of `col` is 49 floats (7x7 filters): the GEMM is fast,
/// but building `col` (25,088 rows at batch 32, written as short copies and read back from
/// memory) costs half as much again. Here every weight row `dW[ky][kx][ci]` (a block of
/// its `out_c` floats in registers) adds `x[iy][ix][ci] * dZ[oy][ox]` along a row of
/// outputs, whose `dZ` stays in the L1 cache. The rows of outputs are split into a fixed
/// number of ranges, each summed into its own partial `dW` by one rayon task; the partials
/// are added in order, so the result does not depend on the scheduling (nor on the
/// instruction set: every copy computes the same sums in the same order).
fn weight_grad_direct(g: &ConvGeometry, x: &[f32], dz: &[f32], dw: &mut [f32]) {
    let rows = g.batch * g.out_h;
    let row_len = g.out_w * g.out_c;
    // A few ranges per thread, so that a thread slowed down by other work is helped.
    let parts = (4 * rayon::current_num_threads()).clamp(1, rows);
    let per_part = rows.div_ceil(parts);
    // Eight vector sums in registers fit the 32 registers of AVX-512; the 16 of AVX2 and
    // SSE2 take four.
    let wide = super::simd::instruction_set() == super::simd::InstructionSet::Avx512;
    let partials: Vec<Vec<f32>> = dz
        .par_chunks(per_part * row_len)
        .enumerate()
        .map(|(p, dz)| {
            let mut part = vec![0.0f32; dw.len()];
            weight_grad_rows(g, x, dz, p * per_part, wide, &mut part);
            part
        })
        .collect();
    for part in &partials {
        for (d, v) in dw.iter_mut().zip(part) {
            *d += v;
        }
    }
}

multiversion! {
    /// The part of [`weight_grad_direct`] for the rows of outputs in `dz` (`out_w * out_c`
    /// floats each), the first of which is row `first` of the batch (row `r` is image
    /// `r / out_h`, output row `r % out_h`), added to `dw`; with [`weight_grad_sweep_2x4`]
    /// when `wide`, else [`weight_grad_sweep_2x2`].
    fn weight_grad_rows(
        g: &ConvGeometry,
        x: &[f32],
        dz: &[f32],
        first: usize,
        wide: bool,
        dw: &mut [f32],
    ) {
        let (c, o) = (g.in_c, g.out_c);
        // One input row with its padding, as wide as the windows of a row of outputs
        // reach: column j of `padded` holds input column j - pad_left, or zeros.
        let width = (g.out_w - 1) * g.stride_w + g.k_w;
        let mut padded = vec![0.0f32; width * c];
        let inside = g.in_w.min(width.saturating_sub(g.pad_left));
        let step = g.stride_w * c;
        let block = if wide { 4 * LANES } else { 2 * LANES };
        for (i, dz_row) in dz.chunks_exact(g.out_w * o).enumerate() {
            let r = first + i;
            let (b, oy) = (r / g.out_h, r % g.out_h);
            for ky in 0..g.k_h {
                // wrapping_sub turns a row in the padding above the image into a huge
                // index, skipped with the rows below it.
                let iy = (oy * g.stride_h + ky).wrapping_sub(g.pad_top);
                if iy >= g.in_h {
                    continue;
                }
                let x_row = &x[(b * g.in_h + iy) * g.in_w * c..][..g.in_w * c];
                padded[g.pad_left * c..][..inside * c].copy_from_slice(&x_row[..inside * c]);
                for ci in 0..c {
                    let w_ky = &mut dw[(ky * g.k_w * c + ci) * o..];
                    // Two filter columns at a time (the last one alone if k_w is odd):
                    // each vector of dZ is loaded once for both.
                    for kx in (0..g.k_w).step_by(2) {
                        let xs = &padded[kx * c + ci..];
                        let w = &mut w_ky[kx * c * o..];
                        let mut c0 = 0;
                        // `next` a constant 0 in the calls for the last, odd column, so
                        // that its second sums are compiled out.
                        macro_rules! sweep {
                            ($sweep:ident) => {
                                if kx + 1 < g.k_w {
                                    $sweep(dz_row, o, c0, xs, (c, step), w)
                                } else {
                                    $sweep(dz_row, o, c0, xs, (0, step), w)
                                }
                            };
                        }
                        while c0 + block <= o {
                            if wide {
                                sweep!(weight_grad_sweep_2x4);
                            } else {
                                sweep!(weight_grad_sweep_2x2);
                            }
                            c0 += block;
                        }
                        while c0 < o {
                            sweep!(weight_grad_sweep_2x1);
                            c0 += LANES;
                        }
                    }
                }
            }
        }
    }
}

/// Generates a sweep over one row of outputs for two filter columns and `$v` vectors of
/// channels from `c0`: `w[kx][c0..] += Σ_ox xs[ox * step] * dz_row[ox][c0..]` for
/// `w[kx] = w[..]` and `w[kx + 1] = w[next * o..]` (with `xs[ox * step + next]`); when
/// `next` is 0 there is only one column (the second sums are not stored, and compiled out
/// when `next` is the constant 0). The sums stay
/// in named registers (`$a` and `$b`): written as loops over arrays of vectors, LLVM
/// vectorised those short loops across the vectors, with gathers, instead of each vector
/// across its lanes.
macro_rules! weight_grad_sweep {
    (
        $(#[$meta:meta])* $name:ident, $v:literal,
        [$($k:literal),*], [$($a:ident),*], [$($b:ident),*]
    ) => {
        $(#[$meta])*
        #[inline(always)]
        fn $name(
            dz_row: &[f32],
            o: usize,
            c0: usize,
            xs: &[f32],
            (next, step): (usize, usize),
            w: &mut [f32],
        ) {
            let (w0, w1) = w.split_at_mut(next.max(1) * o);
            let w0 = &mut w0[c0..][..$v * LANES];
            $(let mut $a: [f32; LANES] = load(&w0[$k * LANES..]);)*
            $(
                let mut $b: [f32; LANES] =
                    if next > 0 { load(&w1[c0 + $k * LANES..]) } else { [0.0; LANES] };
            )*
            for (ox, d) in dz_row.chunks_exact(o).enumerate() {
                let d = &d[c0..][..$v * LANES];
                let (u, v) = (xs[ox * step], xs[ox * step + next]);
                $(
                    let dk: [f32; LANES] = load(&d[$k * LANES..]);
                    $a = add_scaled($a, u, dk);
                    $b = add_scaled($b, v, dk);
                )*
            }
            $(store(&mut w0[$k * LANES..], $a);)*
            if next > 0 {
                $(store(&mut w1[c0 + $k * LANES..], $b);)*
            }
        }
    };
}

weight_grad_sweep!(
    /// Eight vector sums: two filter columns, four vectors of channels (AVX-512).
    weight_grad_sweep_2x4, 4, [0, 1, 2, 3], [a0, a1, a2, a3], [b0, b1, b2, b3]
);
weight_grad_sweep!(
    /// Four vector sums: two filter columns, two vectors of channels (AVX2, SSE2).
    weight_grad_sweep_2x2, 2, [0, 1], [a0, a1], [b0, b1]
);
weight_grad_sweep!(
    /// Two vector sums: two filter columns, one vector of channels (the channels left).
    weight_grad_sweep_2x1, 1, [0], [a0], [b0]
);

/// Lane-wise `a + x * d`, rounded twice (a multiplication, then an addition: no fused
/// multiply-add, so that every instruction set computes the same bits).
#[inline(always)]
fn add_scaled(mut a: [f32; LANES], x: f32, d: [f32; LANES]) -> [f32; LANES] {
    for (a, d) in a.iter_mut().zip(d) {
        *a += x * d;
    }
    a
}

/// `sums[j] += sum_i m[i, j]` for a row-major matrix with `cols` columns, in parallel.
pub fn column_sums_add(m: &[f32], cols: usize, sums: &mut [f32]) {
    assert_eq!(sums.len(), cols);
    if cols == 0 {
        return;
    }
    let per = rows_per_task(cols) * 4;
    let partial = m
        .par_chunks(per * cols)
        .map(|chunk| {
            let mut acc = vec![0.0f32; cols];
            for row in chunk.chunks_exact(cols) {
                for (a, v) in acc.iter_mut().zip(row) {
                    *a += v;
                }
            }
            acc
        })
        .reduce(
            || vec![0.0f32; cols],
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(&b) {
                    *x += y;
                }
                a
            },
        );
    for (s, p) in sums.iter_mut().zip(&partial) {
        *s += p;
    }
}
