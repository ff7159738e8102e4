//! The transposed convolution (Keras `Conv2DTranspose`, sometimes called a
//! "deconvolution"): every input pixel adds its value times the kernel to a `k x k` window
//! of the output, windows `stride` apart, and `same` padding crops the border.
//!
//! That is exactly the input gradient of a convolution whose input has the transposed
//! convolution's output shape (and whose output has its input shape), so the three passes
//! of a transposed convolution are the three passes of that convolution in another order,
//! on the same algorithms, chosen by the same [`super::select`]:
//!
//! | transposed convolution | is that convolution's |
//! |---|---|
//! | forward, `y = convᵀ(x) + b` | input gradient (plus the bias) |
//! | input gradient, `dx = conv(dy)` | forward pass, without bias |
//! | weight gradient | weight gradient, with input and output gradient swapped |
//!
//! The kernel is stored as Keras stores it, `(k_h, k_w, filters, in_channels)`, which read
//! as the convolution's `(k_h, k_w, c_in, c_out)` is that convolution's own kernel: nothing
//! is copied, flipped or transposed.

use rayon::prelude::*;

use super::{
    column_sums_add, direct, im2col, pointwise, select, winograd, Algorithm, Plan,
    WeightGradAlgorithm,
};
use crate::elementwise::{relu_in_place, relu_mask_in_place};
use crate::geometry::{transpose_output_size, ConvGeometry, GeometryError, Padding};

/// The sizes of one transposed convolution, held as the [`ConvGeometry`] of the
/// convolution whose input gradient it is.
///
/// ```
/// use cnnkit_kernels::conv::TransposeGeometry;
/// use cnnkit_kernels::geometry::Padding;
/// // keras.layers.Conv2DTranspose(16, 3, strides=2, padding="same") on 16x16x32 images.
/// let g = TransposeGeometry::new(32, (16, 16, 32), 16, (3, 3), (2, 2), Padding::Same)?;
/// assert_eq!((g.out_h(), g.out_w(), g.out_c()), (32, 32, 16));
/// // ... is the input gradient of Conv2D(32, 3, strides=2, padding="same") on 32x32x16.
/// assert_eq!((g.conv.in_h, g.conv.in_c, g.conv.out_h, g.conv.out_c), (32, 16, 16, 32));
/// # Ok::<(), cnnkit_kernels::geometry::GeometryError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransposeGeometry {
    /// The convolution whose input gradient this is: its input is this layer's output
    /// `(out_h, out_w, filters)`, its output this layer's input.
    pub conv: ConvGeometry,
}

// The getters read the convolution's fields crosswise on purpose: this layer's input is
// the convolution's output and the other way round.
#[allow(clippy::misnamed_getters)]
impl TransposeGeometry {
    /// A transposed convolution of `batch` images `(in_h, in_w, in_c)` to `out_c` filters,
    /// with Keras' output size ([`transpose_output_size`]) and padding.
    pub fn new(
        batch: usize,
        (in_h, in_w, in_c): (usize, usize, usize),
        out_c: usize,
        (k_h, k_w): (usize, usize),
        (stride_h, stride_w): (usize, usize),
        padding: Padding,
    ) -> Result<Self, GeometryError> {
        let out_h = transpose_output_size(in_h, k_h, stride_h, padding)?;
        let out_w = transpose_output_size(in_w, k_w, stride_w, padding)?;
        let conv = ConvGeometry::new(
            batch,
            (out_h, out_w, out_c),
            in_c,
            (k_h, k_w),
            (stride_h, stride_w),
            padding,
        )?;
        debug_assert_eq!((conv.out_h, conv.out_w), (in_h, in_w));
        Ok(TransposeGeometry { conv })
    }

    /// Images in the batch.
    pub fn batch(&self) -> usize {
        self.conv.batch
    }

    /// Input height.
    pub fn in_h(&self) -> usize {
        self.conv.out_h
    }

    /// Input width.
    pub fn in_w(&self) -> usize {
        self.conv.out_w
    }

    /// Input channels.
    pub fn in_c(&self) -> usize {
        self.conv.out_c
    }

    /// Output height (`in_h * stride` for `same`).
    pub fn out_h(&self) -> usize {
        self.conv.in_h
    }

    /// Output width.
    pub fn out_w(&self) -> usize {
        self.conv.in_w
    }

    /// Output channels (filters).
    pub fn out_c(&self) -> usize {
        self.conv.in_c
    }

    /// Elements of the input.
    pub fn input_len(&self) -> usize {
        self.conv.output_len()
    }

    /// Elements of the output.
    pub fn output_len(&self) -> usize {
        self.conv.input_len()
    }

    /// Elements of the kernel, `(k_h, k_w, out_c, in_c)`.
    pub fn weight_len(&self) -> usize {
        self.conv.weight_len()
    }

    /// The algorithms the three passes run with: those of the convolution.
    pub fn plan(&self) -> Plan {
        select(&self.conv)
    }

    /// Floating-point operations of the forward pass counted as a direct (scatter)
    /// transposed convolution: as many multiply-adds as the convolution's forward pass.
    pub fn forward_flops(&self) -> f64 {
        self.conv.forward_flops()
    }
}

/// Forward pass: `out = act(convᵀ(x, w) + b)`, where `act` is ReLU when `relu` is true.
///
/// `x`: NHWC input of `g.input_len()` elements; `w`: `(k_h, k_w, out_c, in_c)` as Keras
/// stores it; `b`: `out_c`; `out`: NHWC output of `g.output_len()` elements (overwritten).
///
/// ```
/// use cnnkit_kernels::conv::{conv2d_transpose_forward, TransposeGeometry};
/// use cnnkit_kernels::geometry::Padding;
/// // One 2x2 image, a 2x2 kernel of ones, stride 2: each pixel becomes a 2x2 block.
/// let g = TransposeGeometry::new(1, (2, 2, 1), 1, (2, 2), (2, 2), Padding::Valid)?;
/// let mut out = vec![0.0; g.output_len()];
/// conv2d_transpose_forward(&g, &[1.0, 2.0, 3.0, 4.0], &[1.0; 4], &[0.5], false, &mut out);
/// assert_eq!(out[..4], [1.5, 1.5, 2.5, 2.5]);
/// assert_eq!(out[12..], [3.5, 3.5, 4.5, 4.5]);
/// # Ok::<(), cnnkit_kernels::geometry::GeometryError>(())
/// ```
pub fn conv2d_transpose_forward(
    g: &TransposeGeometry,
    x: &[f32],
    w: &[f32],
    b: &[f32],
    relu: bool,
    out: &mut [f32],
) {
    assert_eq!(x.len(), g.input_len(), "conv2d_transpose: input length");
    assert_eq!(w.len(), g.weight_len(), "conv2d_transpose: weight length");
    assert_eq!(b.len(), g.out_c(), "conv2d_transpose: bias length");
    assert_eq!(out.len(), g.output_len(), "conv2d_transpose: output length");
    let c = &g.conv;
    // Start from the bias, then add the convolution's input gradient of `x` into it.
    let o = g.out_c();
    if o > 0 {
        let per = im2col::rows_per_task(o);
        out.par_chunks_mut(per * o).for_each(|chunk| {
            for row in chunk.chunks_exact_mut(o) {
                row.copy_from_slice(b);
            }
        });
    }
    match select(c).input_grad {
        Algorithm::Pointwise => pointwise::input_grad(c, x, w, out),
        Algorithm::Winograd(tile) => winograd::input_grad(tile, c, x, w, out),
        Algorithm::Im2col | Algorithm::Direct => im2col::input_grad(c, x, w, out),
    }
    if relu {
        relu_in_place(out);
    }
}

/// Backward pass of [`conv2d_transpose_forward`], with the arguments of
/// [`super::conv2d_backward`]:
///
/// * `dout`: gradient of the loss with respect to the output; when `relu` is true it is
///   masked in place by `out > 0` (`out` the forward output).
/// * `x`: the forward input.
/// * `dx`, `dw`, `db`: gradients, ADDED to. `dx` may be `None` when the input needs no
///   gradient.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_transpose_backward(
    g: &TransposeGeometry,
    x: &[f32],
    w: &[f32],
    out: &[f32],
    relu: bool,
    dout: &mut [f32],
    dx: Option<&mut [f32]>,
    dw: &mut [f32],
    db: &mut [f32],
) {
    assert_eq!(
        x.len(),
        g.input_len(),
        "conv2d_transpose backward: input length"
    );
    assert_eq!(
        w.len(),
        g.weight_len(),
        "conv2d_transpose backward: weight length"
    );
    assert_eq!(
        dout.len(),
        g.output_len(),
        "conv2d_transpose backward: dout length"
    );
    assert_eq!(
        dw.len(),
        g.weight_len(),
        "conv2d_transpose backward: dw length"
    );
    assert_eq!(db.len(), g.out_c(), "conv2d_transpose backward: db length");
    if relu {
        assert_eq!(
            out.len(),
            dout.len(),
            "conv2d_transpose backward: out length"
        );
        relu_mask_in_place(dout, out);
    }
    let dz = &*dout;
    let c = &g.conv;
    column_sums_add(dz, g.out_c(), db);
    let plan = select(c);
    // The convolution's weight gradient sums (its input) x (its output gradient); here its
    // input is our output gradient `dz` and its output gradient our input `x`.
    match plan.weight_grad {
        WeightGradAlgorithm::Pointwise => pointwise::weight_grad(c, dz, x, dw),
        WeightGradAlgorithm::Winograd(tile) => winograd::weight_grad(tile, c, dz, x, dw),
        WeightGradAlgorithm::Im2col => im2col::weight_grad(c, dz, x, dw),
        WeightGradAlgorithm::Direct => direct::weight_grad(c, dz, x, dw),
    }
    if let Some(dx) = dx {
        assert_eq!(
            dx.len(),
            g.input_len(),
            "conv2d_transpose backward: dx length"
        );
        match plan.forward {
            Algorithm::Pointwise => pointwise::forward_add(c, dz, w, dx),
            Algorithm::Winograd(tile) => winograd::forward_add(tile, c, dz, w, dx),
            // The direct kernel has no accumulating form: im2col for this rare case (a
            // transposed convolution from one to four channels that needs dx).
            Algorithm::Im2col | Algorithm::Direct => im2col::forward_add(c, dz, w, dx),
        }
    }
}
