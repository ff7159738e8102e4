//! Winograd's minimal filtering F(2x2, 3x3) for 3x3 convolutions with stride 1 and `same`
//! padding (NHWC), the shape of most layers of the lecture's model.
//!
//! A direct convolution spends 9 multiplications per output and input channel. Winograd's
//! algorithm computes a 2x2 block of outputs from a 4x4 block of inputs with 16
//! multiplications instead of 36 (2.25 times fewer) by working in a transformed space:
//!
//! ```text
//! V = Bᵀ d B   (each 4x4 input tile d, per channel)
//! U = G g Gᵀ   (each 3x3 filter g, per input and output channel)
//! M = Σ_c V ⊙ U  (for each of the 16 positions: one matrix product over the channels)
//! Y = Aᵀ M A   (the 2x2 output block)
//! ```
//! The 16 products are ordinary GEMMs (`tiles x c_in` times `c_in x c_out`), so the work
//! stays in the fast `gemm` kernels. The transforms use only additions and halvings, so the
//! results agree with the direct convolution to float rounding.
//!
//! The gradient with respect to the input of such a layer is itself a 3x3 `same`
//! convolution (of the output gradient with the filters rotated by 180 degrees and input
//! and output channels swapped), so [`input_grad`] reuses the same code.

use rayon::prelude::*;

use crate::geometry::ConvGeometry;
use crate::matmul::{matmul_batch, MatRef};
use crate::scratch;
use crate::simd::{add, load, multiversion, neg, relu, store, sub, SharedMut, LANES};

/// Tile counts along height and width (2x2 outputs per tile).
fn tiles(h: usize, w: usize) -> (usize, usize) {
    (h.div_ceil(2), w.div_ceil(2))
}

/// Images per chunk so that the transformed tiles of one chunk (`V` or `M`) stay near
/// [`crate::scratch::CHUNK_FLOATS`]: large batches then reuse a few megabytes instead of
/// allocating (and page-faulting) hundreds, and the GEMMs still have thousands of rows.
fn images_per_chunk(batch: usize, h: usize, w: usize, channels: usize) -> usize {
    let (th, tw) = tiles(h, w);
    scratch::images_per_chunk(batch, th * tw * 16 * channels)
}

/// A transform of the tiles of one image: `(image, (h, w, c), planes, t0, t_count)`, as
/// [`input_tiles_of_image`] and [`output_adjoint_tiles_of_image`].
type TilesOfImage = fn(&[f32], (usize, usize, usize), SharedMut, usize, usize);

/// Fills the transformed tiles of `n` images `h x w x c`, laid out `P[xi][t][c]` (one
/// contiguous `tiles x c` matrix per transformed position `xi`, so that each of the 16
/// GEMMs reads a plain row-major operand): `per_image(image, (h, w, c), planes, t0,
/// t_count)` writes the tiles of one image, which start at tile `t0`. One rayon task per
/// image.
fn transform_images(
    x: &[f32],
    (n, h, w): (usize, usize, usize),
    c: usize,
    planes: &mut [f32],
    per_image: TilesOfImage,
) {
    let (th, tw) = tiles(h, w);
    let t_count = n * th * tw;
    assert_eq!(x.len(), n * h * w * c, "winograd: input length");
    assert_eq!(
        planes.len(),
        16 * t_count * c,
        "winograd: tile planes length"
    );
    let shared = SharedMut::new(planes);
    x.par_chunks(h * w * c).enumerate().for_each(|(b, img)| {
        // Each task writes the tiles b * th * tw .. (b + 1) * th * tw of every plane:
        // disjoint from the other tasks'.
        per_image(img, (h, w, c), shared, b * th * tw, t_count);
    });
}

/// Calls `tile::<LANES>` for each full block of [`LANES`] channels of every tile of one
/// image, then `tile::<1>` for the channels left over.
macro_rules! for_each_tile_block {
    ($h:expr, $w:expr, $c:expr, |$ty:ident, $tx:ident, $t:ident, $c0:ident, $lanes:ident| $call:expr) => {{
        let (th, tw) = tiles($h, $w);
        for $ty in 0..th {
            for $tx in 0..tw {
                let $t = $ty * tw + $tx;
                let mut $c0 = 0;
                while $c0 + LANES <= $c {
                    {
                        const $lanes: usize = LANES;
                        $call;
                    }
                    $c0 += LANES;
                }
                while $c0 < $c {
                    {
                        const $lanes: usize = 1;
                        $call;
                    }
                    $c0 += 1;
                }
            }
        }
    }};
}

/// `L` floats of `src` from `start`, or zeros when `start` is `None` (a pixel in the
/// padding).
#[inline(always)]
fn load_or_zero<const L: usize>(src: &[f32], start: Option<usize>) -> [f32; L] {
    match start {
        Some(s) => load(&src[s..]),
        None => [0.0; L],
    }
}

/// `V = Bᵀ d B` of one 4x4 input tile `d` (the tile at `(ty, tx)` starts at pixel
/// `(2 ty - 1, 2 tx - 1)`: one pixel of zero padding), for channels `c0..c0 + L`, written
/// to position `xi = 4 i + j` of tile `t` of `v`. With `Bᵀ` rows `(1, 0, -1, 0)`,
/// `(0, 1, 1, 0)`, `(0, -1, 1, 0)`, `(0, 1, 0, -1)`.
#[inline(always)]
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
fn input_tile<const L: usize>(
    img: &[f32],
    (h, w, c): (usize, usize, usize),
    (ty, tx): (usize, usize),
    c0: usize,
    v: SharedMut,
    t: usize,
    t_count: usize,
) {
    // wrapping_sub turns the padding row above (column left of) the image into a huge
    // index, caught by the bounds test with the ones below (right of) it.
    let pixel = |a: usize, b: usize| {
        let (y, x) = ((2 * ty + a).wrapping_sub(1), (2 * tx + b).wrapping_sub(1));
        (y < h && x < w).then(|| (y * w + x) * c + c0)
    };
    let d = |a: usize, b: usize| load_or_zero::<L>(img, pixel(a, b));
    // Bᵀ d, one column at a time: r[i][b].
    let mut r = [[[0.0f32; L]; 4]; 4];
    for b in 0..4 {
        let (d0, d1, d2, d3) = (d(0, b), d(1, b), d(2, b), d(3, b));
        r[0][b] = sub(d0, d2);
        r[1][b] = add(d1, d2);
        r[2][b] = sub(d2, d1);
        r[3][b] = sub(d1, d3);
    }
    // (Bᵀ d) B, one row at a time.
    for (i, q) in r.iter().enumerate() {
        let out = [
            sub(q[0], q[2]),
            add(q[1], q[2]),
            sub(q[2], q[1]),
            sub(q[1], q[3]),
        ];
        // SAFETY: tile t belongs to this task alone (see `transform_images`).
        unsafe { store_row(v, (t, t_count), c, c0, i, out) };
    }
}

/// Stores row `i` (positions `xi = 4 i .. 4 i + 4`) of a transformed tile `t`, channels
/// `c0..c0 + L`, to `planes` (laid out `P[xi][t][c]`, `t_count` tiles).
///
/// # Safety
/// No other thread may access tile `t` of the planes meanwhile.
#[inline(always)]
unsafe fn store_row<const L: usize>(
    planes: SharedMut,
    (t, t_count): (usize, usize),
    c: usize,
    c0: usize,
    i: usize,
    row: [[f32; L]; 4],
) {
    for (j, o) in row.into_iter().enumerate() {
        // SAFETY: the caller owns tile t (bounds are checked by `slice`).
        store(
            unsafe { planes.slice(((4 * i + j) * t_count + t) * c + c0, L) },
            o,
        );
    }
}

multiversion! {
    /// [`input_tile`] for every tile and channel block of one image whose tiles start at
    /// tile `t0`.
    fn input_tiles_of_image(
        img: &[f32],
        hwc: (usize, usize, usize),
        v: SharedMut,
        t0: usize,
        t_count: usize,
    ) {
        let (h, w, c) = hwc;
        for_each_tile_block!(h, w, c, |ty, tx, t, c0, LANES_NOW| {
            input_tile::<LANES_NOW>(img, hwc, (ty, tx), c0, v, t0 + t, t_count)
        });
    }
}

/// `A dY Aᵀ`, the adjoint of the output transform, of the 2x2 block of `dy` at tile
/// `(ty, tx)` (outputs `(2 ty .. 2 ty + 2, 2 tx .. 2 tx + 2)`, zeros beyond the image),
/// written like [`input_tile`]. `A` has rows `(1, 0)`, `(1, 1)`, `(1, -1)`, `(0, -1)`.
#[inline(always)]
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
fn output_adjoint_tile<const L: usize>(
    dy: &[f32],
    (h, w, c): (usize, usize, usize),
    (ty, tx): (usize, usize),
    c0: usize,
    dm: SharedMut,
    t: usize,
    t_count: usize,
) {
    let pixel = |a: usize, b: usize| {
        let (y, x) = (2 * ty + a, 2 * tx + b);
        (y < h && x < w).then(|| (y * w + x) * c + c0)
    };
    let d = |a: usize, b: usize| load_or_zero::<L>(dy, pixel(a, b));
    // A dY, one column at a time: r[i][b].
    let mut r = [[[0.0f32; L]; 2]; 4];
    for b in 0..2 {
        let (d0, d1) = (d(0, b), d(1, b));
        r[0][b] = d0;
        r[1][b] = add(d0, d1);
        r[2][b] = sub(d0, d1);
        r[3][b] = neg(d1);
    }
    // (A dY) Aᵀ, one row at a time.
    for (i, q) in r.iter().enumerate() {
        let out = [q[0], add(q[0], q[1]), sub(q[0], q[1]), neg(q[1])];
        // SAFETY: tile t belongs to this task alone (see `transform_images`).
        unsafe { store_row(dm, (t, t_count), c, c0, i, out) };
    }
}

multiversion! {
    /// [`output_adjoint_tile`] for every tile and channel block of one image whose tiles
    /// start at tile `t0`.
    fn output_adjoint_tiles_of_image(
        dy: &[f32],
        hwc: (usize, usize, usize),
        dm: SharedMut,
        t0: usize,
        t_count: usize,
    ) {
        let (h, w, c) = hwc;
        for_each_tile_block!(h, w, c, |ty, tx, t, c0, LANES_NOW| {
            output_adjoint_tile::<LANES_NOW>(dy, hwc, (ty, tx), c0, dm, t0 + t, t_count)
        });
    }
}

/// `V = Bᵀ d B` of every 4x4 input tile (one pixel of zero padding around the image).
fn transform_input(x: &[f32], batch: usize, h: usize, w: usize, c: usize, v: &mut [f32]) {
    transform_images(x, (batch, h, w), c, v, input_tiles_of_image);
}

/// `U[xi][ci][co]` = G g Gᵀ for the filter `g[ky][kx] = weight(ky, kx, ci, co)`.
fn transform_weights(
    c_in: usize,
    c_out: usize,
    weight: impl Fn(usize, usize, usize, usize) -> f32 + Sync,
) -> Vec<f32> {
    let mut u = vec![0.0f32; 16 * c_in * c_out];
    // Parallel over input channels: each task writes the rows `ci` of all 16 matrices.
    let rows: Vec<Vec<f32>> = (0..c_in)
        .into_par_iter()
        .map(|ci| {
            let mut out = vec![0.0f32; 16 * c_out];
            for co in 0..c_out {
                let g: [f32; 9] = std::array::from_fn(|k| weight(k / 3, k % 3, ci, co));
                // G g: 4x3.
                let mut gg = [0.0f32; 12];
                for j in 0..3 {
                    let (a, b, c) = (g[j], g[3 + j], g[6 + j]);
                    gg[j] = a;
                    gg[3 + j] = 0.5 * (a + b + c);
                    gg[6 + j] = 0.5 * (a - b + c);
                    gg[9 + j] = c;
                }
                // (G g) Gᵀ: 4x4.
                for i in 0..4 {
                    let (a, b, c) = (gg[3 * i], gg[3 * i + 1], gg[3 * i + 2]);
                    out[(4 * i) * c_out + co] = a;
                    out[(4 * i + 1) * c_out + co] = 0.5 * (a + b + c);
                    out[(4 * i + 2) * c_out + co] = 0.5 * (a - b + c);
                    out[(4 * i + 3) * c_out + co] = c;
                }
            }
            out
        })
        .collect();
    for (ci, row) in rows.iter().enumerate() {
        for xi in 0..16 {
            u[(xi * c_in + ci) * c_out..][..c_out].copy_from_slice(&row[xi * c_out..][..c_out]);
        }
    }
    u
}

/// The core: `out (+)= act(conv3x3_same(x, U) + bias)` with pre-transformed weights, over
/// chunks of [`images_per_chunk`] images.
#[allow(clippy::too_many_arguments)]
fn convolve(
    x: &[f32],
    (batch, h, w): (usize, usize, usize),
    c_in: usize,
    c_out: usize,
    u: &[f32],
    bias: Option<&[f32]>,
    relu: bool,
    accumulate: bool,
    out: &mut [f32],
) {
    let (th, tw) = tiles(h, w);
    let chunk = images_per_chunk(batch, h, w, c_in.max(c_out));
    let mut v = scratch::take(chunk * th * tw * 16 * c_in);
    let mut m = scratch::take(chunk * th * tw * 16 * c_out);
    for (first, n) in scratch::image_chunks(batch, chunk) {
        let t_count = n * th * tw;
        let v = &mut v[..16 * t_count * c_in];
        let m = &mut m[..16 * t_count * c_out];
        transform_input(
            &x[first * h * w * c_in..][..n * h * w * c_in],
            n,
            h,
            w,
            c_in,
            v,
        );
        // M[xi] = V[xi] U[xi]: 16 products (tiles x c_in) (c_in x c_out).
        let v = &*v;
        matmul_batch(
            m,
            16,
            |xi| MatRef::row_major(&v[xi * t_count * c_in..][..t_count * c_in], t_count, c_in),
            |xi| MatRef::row_major(&u[xi * c_in * c_out..][..c_in * c_out], c_in, c_out),
            false,
        );
        let out = &mut out[first * h * w * c_out..][..n * h * w * c_out];
        transform_output(m, (n, h, w), c_out, bias, relu, accumulate, out);
    }
}

/// `Y = Aᵀ M A` for every tile of `n` images, plus bias and activation, written (or added)
/// to `out`; `m` is laid out `M[xi][t][c]`. One rayon task per image.
#[allow(clippy::too_many_arguments)]
fn transform_output(
    m: &[f32],
    (n, h, w): (usize, usize, usize),
    c_out: usize,
    bias: Option<&[f32]>,
    relu: bool,
    accumulate: bool,
    out: &mut [f32],
) {
    let (th, tw) = tiles(h, w);
    let t_count = n * th * tw;
    assert_eq!(m.len(), 16 * t_count * c_out, "winograd: M length");
    assert_eq!(out.len(), n * h * w * c_out, "winograd: output length");
    let bias = bias.unwrap_or(&[]);
    assert!(
        bias.is_empty() || bias.len() == c_out,
        "winograd: bias length"
    );
    let options = OutputOptions { relu, accumulate };
    out.par_chunks_mut(h * w * c_out)
        .enumerate()
        .for_each(|(b, y)| {
            output_tiles_of_image(m, b * th * tw, t_count, bias, options, (h, w, c_out), y)
        });
}

/// What [`output_tile`] does besides the transform.
#[derive(Clone, Copy)]
struct OutputOptions {
    /// Apply ReLU after the bias.
    relu: bool,
    /// Add to the destination instead of overwriting it.
    accumulate: bool,
}

/// `Y = Aᵀ M A` of tile `t` of `m` for channels `c0..c0 + L`, plus `bias` (when not
/// empty) and ReLU, written (or added) to the 2x2 block `(2 ty, 2 tx)` of the image `y`.
/// `Aᵀ` has rows `(1, 1, 1, 0)` and `(0, 1, -1, -1)`.
#[inline(always)]
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
fn output_tile<const L: usize>(
    m: &[f32],
    (t, t_count): (usize, usize),
    bias: &[f32],
    options: OutputOptions,
    (h, w, c): (usize, usize, usize),
    (ty, tx): (usize, usize),
    c0: usize,
    y: &mut [f32],
) {
    let mv = |xi: usize| -> [f32; L] { load(&m[(xi * t_count + t) * c + c0..]) };
    // Aᵀ M: s[a][j].
    let mut s = [[[0.0f32; L]; 4]; 2];
    for j in 0..4 {
        let (m0, m1, m2, m3) = (mv(j), mv(4 + j), mv(8 + j), mv(12 + j));
        s[0][j] = add(add(m0, m1), m2);
        s[1][j] = sub(sub(m1, m2), m3);
    }
    let b: [f32; L] = if bias.is_empty() {
        [0.0; L]
    } else {
        load(&bias[c0..])
    };
    for (a, q) in s.iter().enumerate() {
        let oy = 2 * ty + a;
        if oy >= h {
            continue;
        }
        // Row a of (Aᵀ M) A, plus the bias.
        let row = [
            add(add(add(q[0], q[1]), q[2]), b),
            add(sub(sub(q[1], q[2]), q[3]), b),
        ];
        for (bb, mut v) in row.into_iter().enumerate() {
            let ox = 2 * tx + bb;
            if ox >= w {
                continue;
            }
            if options.relu {
                v = relu(v);
            }
            let dst = &mut y[(oy * w + ox) * c + c0..];
            if options.accumulate {
                v = add(load(dst), v);
            }
            store(dst, v);
        }
    }
}

multiversion! {
    /// [`output_tile`] for every tile and channel block of one image `y` whose tiles start
    /// at tile `t0`.
    fn output_tiles_of_image(
        m: &[f32],
        t0: usize,
        t_count: usize,
        bias: &[f32],
        options: OutputOptions,
        hwc: (usize, usize, usize),
        y: &mut [f32],
    ) {
        let (h, w, c) = hwc;
        for_each_tile_block!(h, w, c, |ty, tx, t, c0, LANES_NOW| {
            output_tile::<LANES_NOW>(m, (t0 + t, t_count), bias, options, hwc, (ty, tx), c0, y)
        });
    }
}

/// Forward pass of a 3x3, stride 1, `same` convolution: `out = act(conv(x, w) + b)`, with
/// the same arguments as [`super::conv2d_forward`].
///
/// # Panics
/// If `g` is not a 3x3 stride-1 `same` convolution or a slice has the wrong length.
pub fn forward(g: &ConvGeometry, x: &[f32], w: &[f32], b: &[f32], relu: bool, out: &mut [f32]) {
    assert!(
        g.is_3x3_same_stride_1(),
        "winograd: not a 3x3 stride-1 same convolution"
    );
    assert_eq!(x.len(), g.input_len(), "winograd: input length");
    assert_eq!(w.len(), g.weight_len(), "winograd: weight length");
    assert_eq!(out.len(), g.output_len(), "winograd: output length");
    let (ci, co) = (g.in_c, g.out_c);
    let u = transform_weights(ci, co, |ky, kx, i, o| w[((ky * 3 + kx) * ci + i) * co + o]);
    convolve(
        x,
        (g.batch, g.in_h, g.in_w),
        ci,
        co,
        &u,
        Some(b),
        relu,
        false,
        out,
    );
}

/// `out += conv(x, w)` for a 3x3, stride 1, `same` convolution, without bias or
/// activation: the input gradient of a transposed convolution ([`super::transpose`]),
/// which dfdx accumulates.
pub(crate) fn forward_add(g: &ConvGeometry, x: &[f32], w: &[f32], out: &mut [f32]) {
    assert!(
        g.is_3x3_same_stride_1(),
        "winograd: not a 3x3 stride-1 same convolution"
    );
    assert_eq!(x.len(), g.input_len(), "winograd: input length");
    assert_eq!(w.len(), g.weight_len(), "winograd: weight length");
    assert_eq!(out.len(), g.output_len(), "winograd: output length");
    let (ci, co) = (g.in_c, g.out_c);
    let u = transform_weights(ci, co, |ky, kx, i, o| w[((ky * 3 + kx) * ci + i) * co + o]);
    convolve(
        x,
        (g.batch, g.in_h, g.in_w),
        ci,
        co,
        &u,
        None,
        false,
        true,
        out,
    );
}

/// Gradient with respect to the input of a 3x3, stride 1, `same` convolution, added to
/// `dx`: the convolution of `dz` (the gradient before the activation) with the filters
/// rotated by 180 degrees and channels swapped.
pub fn input_grad(g: &ConvGeometry, dz: &[f32], w: &[f32], dx: &mut [f32]) {
    assert!(
        g.is_3x3_same_stride_1(),
        "winograd: not a 3x3 stride-1 same convolution"
    );
    assert_eq!(dz.len(), g.output_len(), "winograd: dz length");
    assert_eq!(dx.len(), g.input_len(), "winograd: dx length");
    let (ci, co) = (g.in_c, g.out_c);
    // Here the "input" has c_out channels and the "output" c_in.
    let u = transform_weights(co, ci, |ky, kx, o, i| {
        w[(((2 - ky) * 3 + (2 - kx)) * ci + i) * co + o]
    });
    convolve(
        dz,
        (g.batch, g.in_h, g.in_w),
        co,
        ci,
        &u,
        None,
        false,
        true,
        dx,
    );
}

/// Gradient with respect to the weights of a 3x3, stride 1, `same` convolution, added to
/// `dw` (`3, 3, in_c, out_c`): `dz` is the gradient before the activation.
///
/// The adjoint of the forward algorithm: `dM = A dY Aᵀ` for every 2x2 block of `dz`,
/// `dU[xi] = V[xi]ᵀ dM[xi]` summed over the tiles (16 GEMMs, 2.25 times fewer
/// multiplications than `colᵀ dZ`), and `dw += Gᵀ dU G`.
pub fn weight_grad(g: &ConvGeometry, x: &[f32], dz: &[f32], dw: &mut [f32]) {
    assert!(
        g.is_3x3_same_stride_1(),
        "winograd: not a 3x3 stride-1 same convolution"
    );
    assert_eq!(x.len(), g.input_len(), "winograd: input length");
    assert_eq!(dz.len(), g.output_len(), "winograd: dz length");
    assert_eq!(dw.len(), g.weight_len(), "winograd: dw length");
    let (batch, h, w) = (g.batch, g.in_h, g.in_w);
    let (ci, co) = (g.in_c, g.out_c);
    let (th, tw) = tiles(h, w);
    let chunk = images_per_chunk(batch, h, w, ci.max(co));
    let mut v = scratch::take(chunk * th * tw * 16 * ci);
    let mut dm = scratch::take(chunk * th * tw * 16 * co);
    let mut du = vec![0.0f32; 16 * ci * co];
    for (first, n) in scratch::image_chunks(batch, chunk) {
        let t_count = n * th * tw;
        let v = &mut v[..16 * t_count * ci];
        let dm = &mut dm[..16 * t_count * co];
        transform_input(&x[first * h * w * ci..][..n * h * w * ci], n, h, w, ci, v);
        let dz = &dz[first * h * w * co..][..n * h * w * co];
        transform_images(dz, (n, h, w), co, dm, output_adjoint_tiles_of_image);
        let (v, dm) = (&*v, &*dm);
        matmul_batch(
            &mut du,
            16,
            |xi| MatRef::row_major(&v[xi * t_count * ci..][..t_count * ci], t_count, ci).t(),
            |xi| MatRef::row_major(&dm[xi * t_count * co..][..t_count * co], t_count, co),
            true,
        );
    }
    // dw[ky][kx] += Σ_a Σ_b G[a][ky] dU[a][b] G[b][kx], in two separable passes over
    // whole `ci x co` planes: T[a][kx] = Σ_b dU[a][b] G[b][kx], then Σ_a G[a][ky] T[a][kx].
    const G_COLS: [&[(usize, f32)]; 3] = [
        &[(0, 1.0), (1, 0.5), (2, 0.5)],
        &[(1, 0.5), (2, -0.5)],
        &[(1, 0.5), (2, 0.5), (3, 1.0)],
    ];
    let plane = ci * co;
    let mut t = vec![0.0f32; 12 * plane];
    t.par_chunks_mut(plane).enumerate().for_each(|(p, tp)| {
        let (a, kx) = (p / 3, p % 3);
        for &(b, gb) in G_COLS[kx] {
            for (d, s) in tp.iter_mut().zip(&du[(4 * a + b) * plane..][..plane]) {
                *d += gb * s;
            }
        }
    });
    dw.par_chunks_mut(plane).enumerate().for_each(|(p, dwp)| {
        let (ky, kx) = (p / 3, p % 3);
        for &(a, ga) in G_COLS[ky] {
            for (d, s) in dwp.iter_mut().zip(&t[(3 * a + kx) * plane..][..plane]) {
                *d += ga * s;
            }
        }
    });
}
