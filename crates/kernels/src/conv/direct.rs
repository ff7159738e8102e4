//! The forward pass and the weight gradient computed from the input directly, without
//! im2col, for layers with few input channels (a first layer on grayscale or RGB images),
//! vectorised over the output channels.

use rayon::prelude::*;

use crate::geometry::ConvGeometry;
use crate::simd::{self, load, multiversion, store, LANES};

/// Input channels up to which [`forward`] and [`weight_grad`] replace im2col and the GEMM.
const MAX_C_IN: usize = 4;

/// True when [`forward`] and [`weight_grad`] apply to `g`: few input channels (a first
/// layer) and output channels in whole vectors. [`super::select`] asks this for every
/// layer that is not pointwise.
pub(crate) fn applies(g: &ConvGeometry) -> bool {
    g.in_c <= MAX_C_IN && g.out_c > 0 && g.out_c.is_multiple_of(LANES) && g.rows() > 0
}

/// `out = act(conv(x, w) + b)` computed from `x` directly, for layers with few input
/// channels. For each row of outputs the input rows it reads are copied once, with their
/// zero padding, into a small buffer; then each output pixel's channels, four (AVX-512) or
/// two vectors at a time, start from the bias, add `x[iy][ix][ci] * w[ky][kx][ci][..]`
/// over the taps (rows wholly in the padding are skipped), and go through the ReLU. With
/// one input channel, im2col would copy every pixel `k_h * k_w` times (49 for the
/// lecture's 7x7 layer) into rows as short as the filter, a poor shape for a GEMM; the
/// filters here (`k_h * k_w * c_in * out_c` floats, 12.5 KB for that layer) stay in the
/// L1 cache. Rows of outputs are spread over rayon tasks; every output is the same sum in
/// the same order on every instruction set and thread count.
pub(crate) fn forward(
    g: &ConvGeometry,
    x: &[f32],
    w: &[f32],
    b: &[f32],
    relu: bool,
    out: &mut [f32],
) {
    let row_len = g.out_w * g.out_c;
    if row_len == 0 {
        return;
    }
    let rows_per_task = (16_384 / row_len).max(1);
    out.par_chunks_mut(rows_per_task * row_len)
        .enumerate()
        .for_each(|(k, out)| forward_rows(g, x, w, b, relu, k * rows_per_task, out));
}

multiversion! {
    /// The part of [`forward`] for the rows of outputs in `out`, the first of which is row
    /// `first` of the batch (row `r` is image `r / out_h`, output row `r % out_h`); with
    /// [`forward_sweep_4`] (four vectors of channels at a time) when `wide`, else
    /// [`forward_sweep_2`].
    fn forward_rows(
        g: &ConvGeometry,
        x: &[f32],
        w: &[f32],
        b: &[f32],
        relu: bool,
        first: usize,
        out: &mut [f32],
    ) {
        let (c, o) = (g.in_c, g.out_c);
        let wide = simd::instruction_set() == simd::InstructionSet::Avx512;
        let block = if wide { 4 * LANES } else { 2 * LANES };
        // The input rows a row of outputs reads, each with its padding: row ky holds
        // input row oy * stride - pad_top + ky, column j its column j - pad_left.
        let width = (g.out_w - 1) * g.stride_w + g.k_w;
        let inside = g.in_w.min(width.saturating_sub(g.pad_left));
        let mut padded = vec![0.0f32; g.k_h * width * c];
        let mut valid = vec![false; g.k_h];
        for (i, row) in out.chunks_exact_mut(g.out_w * o).enumerate() {
            let r = first + i;
            let (image, oy) = (r / g.out_h, r % g.out_h);
            for ky in 0..g.k_h {
                // wrapping_sub turns a row in the padding above the image into a huge
                // index, skipped with the rows below it.
                let iy = (oy * g.stride_h + ky).wrapping_sub(g.pad_top);
                valid[ky] = iy < g.in_h;
                if valid[ky] {
                    let x_row = &x[(image * g.in_h + iy) * g.in_w * c..][..inside * c];
                    padded[(ky * width + g.pad_left) * c..][..inside * c].copy_from_slice(x_row);
                }
            }
            let taps = Taps { g, padded: &padded, width, valid: &valid, w };
            let mut c0 = 0;
            while c0 + block <= o {
                if wide {
                    forward_sweep_4(&taps, b, relu, c0, row);
                } else {
                    forward_sweep_2(&taps, b, relu, c0, row);
                }
                c0 += block;
            }
            while c0 < o {
                forward_sweep_1(&taps, b, relu, c0, row);
                c0 += LANES;
            }
        }
    }
}

/// What one row of outputs reads, for the sweeps of [`forward_rows`].
struct Taps<'a> {
    g: &'a ConvGeometry,
    /// `k_h` padded input rows of `width` pixels.
    padded: &'a [f32],
    width: usize,
    /// Whether row `ky` of `padded` lies inside the image (else it is all padding).
    valid: &'a [bool],
    /// The filters, `(k_h, k_w, c_in, out_c)`.
    w: &'a [f32],
}

/// Generates a sweep over one row of outputs for `$v` vectors of channels from `c0`:
/// `row[ox][c0..] = act(b[c0..] + Σ_taps x * w[tap][c0..])`, with the sums in named
/// registers (see [`weight_grad_sweep`] for why they are named).
macro_rules! forward_sweep {
    ($(#[$meta:meta])* $name:ident, [$($k:literal),*], [$($a:ident),*]) => {
        $(#[$meta])*
        #[inline(always)]
        fn $name(t: &Taps<'_>, b: &[f32], relu: bool, c0: usize, row: &mut [f32]) {
            let g = t.g;
            let (c, o) = (g.in_c, g.out_c);
            let taps_per_row = g.k_w * c;
            for ox in 0..g.out_w {
                $(let mut $a: [f32; LANES] = load(&b[c0 + $k * LANES..]);)*
                for ky in 0..g.k_h {
                    if !t.valid[ky] {
                        continue;
                    }
                    let xs = &t.padded[(ky * t.width + ox * g.stride_w) * c..][..taps_per_row];
                    let ws = &t.w[ky * taps_per_row * o..][..taps_per_row * o];
                    for (xv, wr) in xs.iter().zip(ws.chunks_exact(o)) {
                        let wr = &wr[c0..];
                        $($a = add_scaled($a, *xv, load(&wr[$k * LANES..]));)*
                    }
                }
                let dst = &mut row[ox * o + c0..];
                $(
                    if relu {
                        $a = simd::relu($a);
                    }
                    store(&mut dst[$k * LANES..], $a);
                )*
            }
        }
    };
}

forward_sweep!(
    /// Four vectors of channels (AVX-512).
    forward_sweep_4, [0, 1, 2, 3], [a0, a1, a2, a3]
);
forward_sweep!(
    /// Two vectors of channels (AVX2, SSE2).
    forward_sweep_2, [0, 1], [a0, a1]
);
forward_sweep!(
    /// One vector of channels (the channels left).
    forward_sweep_1, [0], [a0]
);

/// Ranges of output rows summed separately by [`weight_grad`].
const WEIGHT_GRAD_PARTS: usize = 16;

/// `dW += colᵀ dZ` computed from `x` directly, for layers with few input channels.
///
/// With one input channel, a row of `col` is 49 floats (7x7 filters): the GEMM is fast,
/// but building `col` (25,088 rows at batch 32, written as short copies and read back from
/// memory) costs half as much again. Here every weight row `dW[ky][kx][ci]` (a block of
/// its `out_c` floats in registers) adds `x[iy][ix][ci] * dZ[oy][ox]` along a row of
/// outputs, whose `dZ` stays in the L1 cache. The rows of outputs are split into a fixed
/// number of ranges, each summed into its own partial `dW` by one rayon task; the partials
/// are added in order, so the result depends neither on the scheduling nor on the thread
/// count (nor on the instruction set: every copy computes the same sums in the same order).
pub(crate) fn weight_grad(g: &ConvGeometry, x: &[f32], dz: &[f32], dw: &mut [f32]) {
    let rows = g.batch * g.out_h;
    let row_len = g.out_w * g.out_c;
    // A fixed number of ranges (a few per thread on a teaching machine, so that a thread
    // slowed down by other work is helped), not one per thread: the sums must not depend
    // on the thread count.
    let parts = WEIGHT_GRAD_PARTS.clamp(1, rows);
    let per_part = rows.div_ceil(parts);
    // Eight vector sums in registers fit the 32 registers of AVX-512; the 16 of AVX2 and
    // SSE2 take four.
    let wide = simd::instruction_set() == simd::InstructionSet::Avx512;
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
    /// The part of [`weight_grad`] for the rows of outputs in `dz` (`out_w * out_c`
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
