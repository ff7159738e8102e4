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
use super::matmul::{matmul_into, MatRef};

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

/// `out = a * x + b * y`, element by element.
#[inline]
fn combine(out: &mut [f32], x: &[f32], y: &[f32], a: f32, b: f32) {
    for ((o, x), y) in out.iter_mut().zip(x).zip(y) {
        *o = a * x + b * y;
    }
}

/// `V[t][xi][c]`: the transformed 4x4 input tile `t` for every channel (tile-major, so each
/// tile is written by one task).
fn transform_input(x: &[f32], batch: usize, h: usize, w: usize, c: usize) -> Vec<f32> {
    let (th, tw) = tiles(h, w);
    let mut v = vec![0.0f32; batch * th * tw * 16 * c];
    let zeros = vec![0.0f32; c];
    v.par_chunks_mut(16 * c).enumerate().for_each_init(
        || vec![0.0f32; 16 * c],
        |r, (t, vt)| {
            let tx = t % tw;
            let ty = (t / tw) % th;
            let b = t / (tw * th);
            let img = &x[b * h * w * c..(b + 1) * h * w * c];
            // The 16 input pixels of the tile (zeros outside the image).
            let d: [&[f32]; 16] = std::array::from_fn(|k| {
                let iy = (2 * ty + k / 4) as isize - 1;
                let ix = (2 * tx + k % 4) as isize - 1;
                if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                    &zeros[..]
                } else {
                    let p = (iy as usize * w + ix as usize) * c;
                    &img[p..p + c]
                }
            });
            // Bᵀ d (combinations of rows), then (Bᵀ d) B (of columns), each a loop over the
            // channels that the compiler vectorises.
            for j in 0..4 {
                let (r0, rest) = r[j * c..].split_at_mut(4 * c);
                let (r1, rest) = rest.split_at_mut(4 * c);
                let (r2, r3) = rest.split_at_mut(4 * c);
                combine(&mut r0[..c], d[j], d[8 + j], 1.0, -1.0);
                combine(&mut r1[..c], d[4 + j], d[8 + j], 1.0, 1.0);
                combine(&mut r2[..c], d[8 + j], d[4 + j], 1.0, -1.0);
                combine(&mut r3[..c], d[4 + j], d[12 + j], 1.0, -1.0);
            }
            for i in 0..4 {
                let row = |j: usize| &r[(4 * i + j) * c..(4 * i + j + 1) * c];
                let (v0, rest) = vt[4 * i * c..(4 * i + 4) * c].split_at_mut(c);
                let (v1, rest) = rest.split_at_mut(c);
                let (v2, v3) = rest.split_at_mut(c);
                combine(v0, row(0), row(2), 1.0, -1.0);
                combine(v1, row(1), row(2), 1.0, 1.0);
                combine(v2, row(2), row(1), 1.0, -1.0);
                combine(v3, row(1), row(3), 1.0, -1.0);
            }
        },
    );
    v
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

/// The core: `out (+)= act(conv3x3_same(x, U) + bias)` with pre-transformed weights.
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
    let t_count = batch * th * tw;
    let v = transform_input(x, batch, h, w, c_in);
    // M[t][xi][co] = Σ_ci V[t][xi][ci] U[xi][ci][co]: 16 products with strided rows.
    let mut m = vec![0.0f32; t_count * 16 * c_out];
    for xi in 0..16 {
        let lhs = MatRef {
            data: &v[xi * c_in..],
            rows: t_count,
            cols: c_in,
            row_stride: 16 * c_in,
            col_stride: 1,
        };
        let rhs = MatRef::row_major(&u[xi * c_in * c_out..(xi + 1) * c_in * c_out], c_in, c_out);
        matmul_into(&mut m[xi * c_out..], 16 * c_out, lhs, rhs, false);
    }
    // Y = Aᵀ M A, plus bias and activation, written per image row pair.
    let img_out = h * w * c_out;
    out.par_chunks_mut(img_out).enumerate().for_each(|(b, y)| {
        let mut s = vec![0.0f32; 8 * c_out];
        for ty in 0..th {
            for tx in 0..tw {
                let t = (b * th + ty) * tw + tx;
                let mt = &m[t * 16 * c_out..(t + 1) * 16 * c_out];
                // Aᵀ M: 2 rows of 4 c-vectors.
                for j in 0..4 {
                    let m = |i: usize| &mt[(4 * i + j) * c_out..][..c_out];
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
