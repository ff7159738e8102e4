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
//! and output channels swapped), so [`conv3x3_input_grad`] reuses the same code.

use rayon::prelude::*;

use super::conv::ConvGeometry;
use super::matmul::{matmul, MatRef};
use super::scratch;

/// True when `g` is a 3x3 convolution with stride 1 and one zero of padding on each side.
pub fn applies(g: &ConvGeometry) -> bool {
    g.k_h == 3
        && g.k_w == 3
        && g.stride_h == 1
        && g.stride_w == 1
        && g.pad_top == 1
        && g.pad_left == 1
        && g.out_h == g.in_h
        && g.out_w == g.in_w
}

/// Tile counts along height and width (2x2 outputs per tile).
fn tiles(h: usize, w: usize) -> (usize, usize) {
    (h.div_ceil(2), w.div_ceil(2))
}

/// Images per chunk so that the transformed tiles of one chunk (`V` or `M`) stay near
/// [`super::conv::CHUNK_FLOATS`]: large batches then reuse a few megabytes instead of
/// allocating (and page-faulting) hundreds, and the GEMMs still have thousands of rows.
fn images_per_chunk(batch: usize, h: usize, w: usize, channels: usize) -> usize {
    let (th, tw) = tiles(h, w);
    super::conv::images_per_chunk(batch, th * tw * 16 * channels)
}

/// The terms of row `i` of `Bᵀ d` as (row of the 4x4 tile `d`, sign); the same table gives
/// the columns of `(Bᵀ d) B`.
const B_TERMS: [&[(usize, f32)]; 4] = [
    &[(0, 1.0), (2, -1.0)],
    &[(1, 1.0), (2, 1.0)],
    &[(2, 1.0), (1, -1.0)],
    &[(1, 1.0), (3, -1.0)],
];

/// The terms of row `i` of `A dY` for a 2x2 output block `dY` (the adjoint of the output
/// transform `Aᵀ M A`), as (row of `dY`, sign); the same table gives the columns.
const A_TERMS: [&[(usize, f32)]; 4] = [
    &[(0, 1.0)],
    &[(0, 1.0), (1, 1.0)],
    &[(0, 1.0), (1, -1.0)],
    &[(1, -1.0)],
];

/// Fills `planes`, laid out `P[xi][t][c]` (one contiguous `tiles x c` matrix per transformed
/// position `xi`, so that each of the 16 GEMMs reads a plain row-major operand), with
/// `Lᵀ d L` of every tile `d` of `x` (`batch` images `h x w x c`), where `terms[i]` lists
/// the rows of `d` (with signs) that row `i` of `Lᵀ d` adds, and tile `(ty, tx)` starts at
/// pixel `(2 ty - offset, 2 tx - offset)` (pixels outside the image are zeros).
///
/// Each entry of `Lᵀ d L` is a signed sum of a few pixels, so each position is computed
/// directly, one rayon task per position.
#[allow(clippy::too_many_arguments)]
fn transform_tiles(
    x: &[f32],
    (batch, h, w): (usize, usize, usize),
    c: usize,
    terms: &[&[(usize, f32)]; 4],
    offset: usize,
    planes: &mut [f32],
) {
    let (th, tw) = tiles(h, w);
    let t_count = batch * th * tw;
    assert_eq!(
        planes.len(),
        16 * t_count * c,
        "winograd: tile planes length"
    );
    planes
        .par_chunks_mut(t_count * c)
        .enumerate()
        .for_each(|(xi, plane)| {
            let (i, j) = (xi / 4, xi % 4);
            let pixels: Vec<(usize, usize, f32)> = terms[i]
                .iter()
                .flat_map(|&(a, sa)| terms[j].iter().map(move |&(b, sb)| (a, b, sa * sb)))
                .collect();
            for (t, dst) in plane.chunks_exact_mut(c).enumerate() {
                let tx = t % tw;
                let ty = (t / tw) % th;
                let img = &x[(t / (tw * th)) * h * w * c..][..h * w * c];
                let mut written = false;
                for &(a, b, sign) in &pixels {
                    // wrapping_sub turns a position left of or above the image into a huge
                    // index, caught by the bounds test with those below and right of it.
                    let iy = (2 * ty + a).wrapping_sub(offset);
                    let ix = (2 * tx + b).wrapping_sub(offset);
                    if iy >= h || ix >= w {
                        continue;
                    }
                    let src = &img[(iy * w + ix) * c..][..c];
                    if !written {
                        // The first term overwrites (dst holds stale scratch data).
                        for (d, s) in dst.iter_mut().zip(src) {
                            *d = sign * s;
                        }
                        written = true;
                    } else if sign > 0.0 {
                        for (d, s) in dst.iter_mut().zip(src) {
                            *d += s;
                        }
                    } else {
                        for (d, s) in dst.iter_mut().zip(src) {
                            *d -= s;
                        }
                    }
                }
                if !written {
                    dst.fill(0.0); // the tile lies entirely in the padding
                }
            }
        });
}

/// `V = Bᵀ d B` of every 4x4 input tile (one pixel of zero padding around the image).
fn transform_input(x: &[f32], batch: usize, h: usize, w: usize, c: usize, v: &mut [f32]) {
    transform_tiles(x, (batch, h, w), c, &B_TERMS, 1, v);
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
    for (first, n) in super::conv::image_chunks(batch, chunk) {
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
        for xi in 0..16 {
            matmul(
                &mut m[xi * t_count * c_out..][..t_count * c_out],
                MatRef::row_major(&v[xi * t_count * c_in..][..t_count * c_in], t_count, c_in),
                MatRef::row_major(&u[xi * c_in * c_out..][..c_in * c_out], c_in, c_out),
                false,
            );
        }
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
    let img_out = h * w * c_out;
    out.par_chunks_mut(img_out).enumerate().for_each(|(b, y)| {
        let mut s = vec![0.0f32; 8 * c_out];
        for ty in 0..th {
            for tx in 0..tw {
                let t = (b * th + ty) * tw + tx;
                let mt = |xi: usize| &m[(xi * t_count + t) * c_out..][..c_out];
                // Aᵀ M: 2 rows of 4 c-vectors.
                for j in 0..4 {
                    let m = |i: usize| mt(4 * i + j);
                    let (s0, s1) = s.split_at_mut(4 * c_out);
                    let s0 = &mut s0[j * c_out..][..c_out];
                    let s1 = &mut s1[j * c_out..][..c_out];
                    for (((s0, s1), (m0, m1)), (m2, m3)) in s0
                        .iter_mut()
                        .zip(s1.iter_mut())
                        .zip(m(0).iter().zip(m(1)))
                        .zip(m(2).iter().zip(m(3)))
                    {
                        *s0 = m0 + m1 + m2;
                        *s1 = m1 - m2 - m3;
                    }
                }
                // (Aᵀ M) A and the write-out.
                for a in 0..2 {
                    let oy = 2 * ty + a;
                    if oy >= h {
                        continue;
                    }
                    let r = &s[a * 4 * c_out..(a + 1) * 4 * c_out];
                    for bb in 0..2 {
                        let ox = 2 * tx + bb;
                        if ox >= w {
                            continue;
                        }
                        let dst = &mut y[(oy * w + ox) * c_out..][..c_out];
                        let q = |k: usize| &r[k * c_out..(k + 1) * c_out];
                        // Column 0: r0 + r1 + r2; column 1: r1 - r2 - r3.
                        let (first, second, sign) = if bb == 0 {
                            (q(0), q(2), 1.0)
                        } else {
                            (q(3), q(2), -1.0)
                        };
                        let zero = [0.0f32; 0];
                        let bias = bias.unwrap_or(&zero);
                        for (o, ((d, r1), (f, sec))) in dst
                            .iter_mut()
                            .zip(q(1))
                            .zip(first.iter().zip(second))
                            .enumerate()
                        {
                            let mut val = if bb == 0 {
                                r1 + f + sec
                            } else {
                                r1 - sec + sign * f
                            };
                            if !bias.is_empty() {
                                val += bias[o];
                            }
                            if relu {
                                val = val.max(0.0);
                            }
                            *d = if accumulate { *d + val } else { val };
                        }
                    }
                }
            }
        }
    });
}

/// Forward pass of a 3x3, stride 1, `same` convolution: `out = act(conv(x, w) + b)`, with
/// the same arguments as [`super::conv::conv2d_forward`].
///
/// # Panics
/// If [`applies`] is false for `g` or a slice has the wrong length.
pub fn conv3x3_forward(
    g: &ConvGeometry,
    x: &[f32],
    w: &[f32],
    b: &[f32],
    relu: bool,
    out: &mut [f32],
) {
    assert!(applies(g), "winograd: not a 3x3 stride-1 same convolution");
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

/// Gradient with respect to the input of a 3x3, stride 1, `same` convolution, added to
/// `dx`: the convolution of `dz` (the gradient before the activation) with the filters
/// rotated by 180 degrees and channels swapped.
pub fn conv3x3_input_grad(g: &ConvGeometry, dz: &[f32], w: &[f32], dx: &mut [f32]) {
    assert!(applies(g), "winograd: not a 3x3 stride-1 same convolution");
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
pub fn conv3x3_weight_grad(g: &ConvGeometry, x: &[f32], dz: &[f32], dw: &mut [f32]) {
    assert!(applies(g), "winograd: not a 3x3 stride-1 same convolution");
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
    for (first, n) in super::conv::image_chunks(batch, chunk) {
        let t_count = n * th * tw;
        let v = &mut v[..16 * t_count * ci];
        let dm = &mut dm[..16 * t_count * co];
        transform_input(&x[first * h * w * ci..][..n * h * w * ci], n, h, w, ci, v);
        let dz = &dz[first * h * w * co..][..n * h * w * co];
        transform_tiles(dz, (n, h, w), co, &A_TERMS, 0, dm);
        for xi in 0..16 {
            matmul(
                &mut du[xi * ci * co..][..ci * co],
                MatRef::row_major(&v[xi * t_count * ci..][..t_count * ci], t_count, ci).t(),
                MatRef::row_major(&dm[xi * t_count * co..][..t_count * co], t_count, co),
                true,
            );
        }
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
