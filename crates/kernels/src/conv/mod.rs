//! 2-D convolution on `f32` slices in NHWC layout (batch, height, width, channels, as in
//! Keras), forward and backward, with weights stored as Keras does (`k_h, k_w, c_in, c_out`).
//!
//! Five algorithms, one file each, and one place that chooses among them, [`select`],
//! from the layer's geometry alone:
//!
//! | algorithm | used for | file |
//! |---|---|---|
//! | [`Algorithm::Pointwise`] | 1x1 kernels, stride 1: the input is already the GEMM's matrix | `pointwise.rs` |
//! | [`Algorithm::Winograd`] | 3x3, stride 1, `same`: F(2x2, 3x3) or F(4x4, 3x3), 2.25 or 4 times fewer multiplications | `winograd.rs` |
//! | [`Algorithm::Direct`] | one to four input channels (a first layer): from the input, vectorised over output channels | `direct.rs` |
//! | [`Algorithm::Im2col`] | everything else: receptive fields as rows of a matrix, then one GEMM | `im2col.rs` |
//! | [`WeightGradAlgorithm::Direct`] | the weight gradient of layers with few input channels | `direct.rs` |
//!
//! [`conv2d_forward`] and [`conv2d_backward`] follow the [`Plan`] and handle what all
//! algorithms share: the bias, the fused ReLU and its gradient mask, the bias gradient.
//!
//! The depthwise convolution (one filter per channel, no channel mixing, so no GEMM) is
//! a kernel of its own: [`depthwise`]. The transposed convolution is a convolution's input
//! gradient, so [`transpose`] runs the same plan with the passes swapped.

pub mod depthwise;
mod direct;
pub mod im2col;
mod pointwise;
pub mod transpose;
pub mod winograd;

use rayon::prelude::*;

use crate::elementwise::{relu_in_place, relu_mask_in_place};

pub use crate::geometry::ConvGeometry;

pub use im2col::{col2im_add, im2col};
pub use transpose::{conv2d_transpose_backward, conv2d_transpose_forward, TransposeGeometry};
pub use winograd::Tile;

/// An algorithm for the forward pass and the input gradient of a convolution (the input
/// gradient of a convolution is itself a convolution of the same kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// A 1x1 kernel with stride 1 and no padding: `out = x W`, one GEMM.
    Pointwise,
    /// A 3x3 kernel with stride 1 and `same` padding: Winograd's F(2x2, 3x3) or F(4x4, 3x3).
    Winograd(Tile),
    /// Any other kernel, stride or padding: im2col, then one GEMM per chunk of images.
    Im2col,
    /// From the input directly, vectorised over output channels (few input channels: a
    /// first layer). Forward pass only.
    Direct,
}

/// An algorithm for the weight gradient of a convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightGradAlgorithm {
    /// `dW = xᵀ dZ`, one GEMM.
    Pointwise,
    /// Winograd's algorithm with this tile, the adjoint of the forward algorithm.
    Winograd(Tile),
    /// `dW = colᵀ dZ`, im2col chunk by chunk.
    Im2col,
    /// From the input directly, vectorised over output channels (few input channels).
    Direct,
}

/// The algorithms one convolution layer runs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Forward pass.
    pub forward: Algorithm,
    /// Input gradient (a convolution of the output gradient of the same kind).
    pub input_grad: Algorithm,
    /// Weight gradient.
    pub weight_grad: WeightGradAlgorithm,
}

/// Chooses the algorithms for a convolution of geometry `g`: the one place where this is
/// decided.
///
/// ```
/// use cnnkit_kernels::conv::{select, Algorithm, Tile, WeightGradAlgorithm};
/// use cnnkit_kernels::geometry::{ConvGeometry, Padding};
/// // The lecture's first layer (7x7 on one channel) and a 3x3 "same" layer.
/// let first = ConvGeometry::new(32, (28, 28, 1), 64, (7, 7), (1, 1), Padding::Same)?;
/// assert_eq!(select(&first).forward, Algorithm::Direct);
/// assert_eq!(select(&first).weight_grad, WeightGradAlgorithm::Direct);
/// let second = ConvGeometry::new(32, (14, 14, 64), 128, (3, 3), (1, 1), Padding::Same)?;
/// assert_eq!(select(&second).forward, Algorithm::Winograd(Tile::F4));
/// // On 6x6 images F(4x4) would compute 8x8 outputs: no fewer multiplications.
/// let small = ConvGeometry::new(32, (6, 6, 64), 64, (3, 3), (1, 1), Padding::Same)?;
/// assert_eq!(select(&small).weight_grad, WeightGradAlgorithm::Winograd(Tile::F2));
/// # Ok::<(), cnnkit_kernels::geometry::GeometryError>(())
/// ```
pub fn select(g: &ConvGeometry) -> Plan {
    if g.is_pointwise() {
        return Plan {
            forward: Algorithm::Pointwise,
            input_grad: Algorithm::Pointwise,
            weight_grad: WeightGradAlgorithm::Pointwise,
        };
    }
    if direct::applies(g) {
        // A first layer: the GEMMs of Winograd or im2col would have one to four channels
        // as their inner dimension.
        return Plan {
            forward: Algorithm::Direct,
            input_grad: Algorithm::Im2col,
            weight_grad: WeightGradAlgorithm::Direct,
        };
    }
    if g.is_3x3_same_stride_1() {
        let (forward, input_grad, weight_grad) = winograd_tiles(g);
        return Plan {
            forward: Algorithm::Winograd(forward),
            input_grad: Algorithm::Winograd(input_grad),
            weight_grad: WeightGradAlgorithm::Winograd(weight_grad),
        };
    }
    Plan {
        forward: Algorithm::Im2col,
        input_grad: Algorithm::Im2col,
        weight_grad: WeightGradAlgorithm::Im2col,
    }
}

/// Winograd's tile for the forward pass, the input gradient and the weight gradient of a
/// 3x3 `same` layer: F(4x4, 3x3) where it needs at least 10% fewer multiplications than
/// F(2x2, 3x3) with the partial tiles at the edges counted ([`Tile::multiplications`]:
/// 1.8 times fewer on 28x28 and 7x7 images, 1.4 times on 14x14, as many on 5x5 and 6x6,
/// more on 1x1 and 2x2), else F(2x2, 3x3), whose transforms cost less per output.
///
/// Measured with `bench --winograd` (2026-12-03, two AVX-512 cores, batch 32): F(4x4) was
/// faster in every pass of every 3x3 layer of the lecture's CNN and of the small ResNet
/// (by 5-35%), except the ResNet's 14x14x64 weight gradient, where the two were within the
/// run-to-run noise. The three passes keep separate fields in [`Plan`] so that a future
/// kernel can be chosen pass by pass.
fn winograd_tiles(g: &ConvGeometry) -> (Tile, Tile, Tile) {
    let f2 = Tile::F2.multiplications(g.in_h, g.in_w);
    let f4 = Tile::F4.multiplications(g.in_h, g.in_w);
    let tile = if 10 * f4 < 9 * f2 { Tile::F4 } else { Tile::F2 };
    (tile, tile, tile)
}

/// Forward pass: `out = act(conv(x, w) + b)`, where `act` is ReLU when `relu` is true.
///
/// `x`: NHWC input; `w`: `(k_h, k_w, in_c, out_c)` row-major; `b`: `out_c`; `out`: NHWC
/// output of `g.output_len()` elements (overwritten). Nothing is kept for the backward
/// pass: [`conv2d_backward`] recomputes what it needs from `x`, which costs a copy per
/// image and saves the largest buffer of training.
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
    let forward = select(g).forward;
    match forward {
        // Adds the bias and applies the ReLU while it transforms the output tiles.
        Algorithm::Winograd(tile) => return winograd::forward(tile, g, x, w, b, relu, out),
        // Starts from the bias and applies the ReLU pixel by pixel.
        Algorithm::Direct => return direct::forward(g, x, w, b, relu, out),
        Algorithm::Pointwise | Algorithm::Im2col => {}
    }
    // Start from the bias, then accumulate the product into it.
    let o = g.out_c;
    let per = im2col::rows_per_task(o);
    out.par_chunks_mut(per * o).for_each(|chunk| {
        for row in chunk.chunks_exact_mut(o) {
            row.copy_from_slice(b);
        }
    });
    match forward {
        Algorithm::Pointwise => pointwise::forward_add(g, x, w, out),
        _ => im2col::forward_add(g, x, w, out),
    }
    if relu {
        relu_in_place(out);
    }
}

/// Backward pass of [`conv2d_forward`].
///
/// * `dout`: gradient of the loss with respect to the layer's output (NHWC). When `relu`
///   is true it is masked in place by `out > 0` (so it becomes dZ, the gradient before
///   the activation); `out` is the forward output.
/// * `x`: the forward input.
/// * `dx`, `dw`, `db`: gradients, ADDED to (dfdx accumulates gradients). `dx` may be
///   `None` when the input needs no gradient, and `db` empty for a convolution without
///   bias (which then saves the pass over `dout` that sums it).
#[allow(clippy::too_many_arguments)]
pub fn conv2d_backward(
    g: &ConvGeometry,
    x: &[f32],
    w: &[f32],
    out: &[f32],
    relu: bool,
    dout: &mut [f32],
    dx: Option<&mut [f32]>,
    dw: &mut [f32],
    db: &mut [f32],
) {
    assert_eq!(x.len(), g.input_len(), "conv2d backward: input length");
    assert_eq!(w.len(), g.weight_len(), "conv2d backward: weight length");
    assert_eq!(dout.len(), g.output_len(), "conv2d backward: dout length");
    assert_eq!(dw.len(), g.weight_len(), "conv2d backward: dw length");
    assert!(
        db.is_empty() || db.len() == g.out_c,
        "conv2d backward: db length"
    );
    if relu {
        assert_eq!(out.len(), dout.len(), "conv2d backward: out length");
        relu_mask_in_place(dout, out);
    }
    let dz = &*dout;
    if !db.is_empty() {
        column_sums_add(dz, g.out_c, db);
    }
    let plan = select(g);
    match plan.weight_grad {
        WeightGradAlgorithm::Pointwise => pointwise::weight_grad(g, x, dz, dw),
        WeightGradAlgorithm::Winograd(tile) => winograd::weight_grad(tile, g, x, dz, dw),
        WeightGradAlgorithm::Im2col => im2col::weight_grad(g, x, dz, dw),
        WeightGradAlgorithm::Direct => direct::weight_grad(g, x, dz, dw),
    }
    if let Some(dx) = dx {
        assert_eq!(dx.len(), g.input_len(), "conv2d backward: dx length");
        match plan.input_grad {
            Algorithm::Pointwise => pointwise::input_grad(g, dz, w, dx),
            Algorithm::Winograd(tile) => winograd::input_grad(tile, g, dz, w, dx),
            Algorithm::Im2col | Algorithm::Direct => im2col::input_grad(g, dz, w, dx),
        }
    }
}

/// `sums[j] += sum_i m[i, j]` for a row-major matrix with `cols` columns, in parallel.
pub fn column_sums_add(m: &[f32], cols: usize, sums: &mut [f32]) {
    assert_eq!(sums.len(), cols);
    if cols == 0 {
        return;
    }
    let per = im2col::rows_per_task(cols) * 4;
    // Partial sums over fixed blocks of rows, added in order: rayon's `reduce` would group
    // them by how the work was split, which changes with the thread count and the timing.
    let partials: Vec<Vec<f32>> = m
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
        .collect();
    let mut partial = vec![0.0f32; cols];
    for p in &partials {
        for (x, y) in partial.iter_mut().zip(p) {
            *x += y;
        }
    }
    for (s, p) in sums.iter_mut().zip(&partial) {
        *s += p;
    }
}
