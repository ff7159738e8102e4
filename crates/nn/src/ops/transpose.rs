//! The decoder's ops, which make feature maps larger: the transposed convolution and
//! upsampling (notebook 10, semantic segmentation).

use dfdx::prelude::*;

use super::{input_needs_gradient, read, read_param, record_unary, ImageBatch};
use crate::arith::Padding;
use crate::error::Result;
use cnnkit_kernels::conv::{self, TransposeGeometry};
use cnnkit_kernels::upsample::{self, UpsampleGeometry};

pub use cnnkit_kernels::upsample::Interpolation;

/// Transposed convolution with bias and an optional fused ReLU, Keras' `Conv2DTranspose`
/// as a function: every input pixel adds its value times the kernel to a window of the
/// output, windows `stride` apart; `same` padding then crops `max(k - stride, 0)` rows and
/// columns, the smaller half at the top and left.
///
/// It is the input gradient of the convolution with the same kernel, stride and padding
/// whose input has this op's output shape, and runs on that convolution's algorithms
/// (`cnnkit_kernels::conv::transpose`).
///
/// `weight` is laid out as Keras stores a `Conv2DTranspose` kernel, `(k_h, k_w, filters,
/// c_in)`; `bias` has `filters` elements.
///
/// # Shapes
/// `(B, H, W, C)` with a `(KH, KW, O, C)` kernel gives `(B, H', W', O)` with
/// `H' = H * stride` for `same` and `H * stride + max(KH - stride, 0)` for `valid`
/// (that is `(H - 1) * stride + KH` when `KH >= stride`), Keras' rule with
/// `output_padding=None` ([`crate::arith::transpose_output_size`]).
///
/// Keras: `tf.nn.conv2d_transpose(x, w, output_shape, strides, padding) + b`.
///
/// # Errors
/// [`crate::Error::Invalid`] when the stride is 0 or the input is empty.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// use cnnkit_nn::ops::conv2d_transpose;
/// let dev = Cpu::default();
/// // One 2x2 image; the 2x2 kernel of ones with stride 2 turns each pixel into a block.
/// let x: Images<1> = dev.tensor_from_vec(vec![1., 2., 3., 4.], (1, 2, 2, Const::<1>));
/// let w = dev.tensor([[[[1.0f32]], [[1.0]]], [[[1.0]], [[1.0]]]]);
/// let b = dev.tensor([0.0f32]);
/// let y = conv2d_transpose(x, &w, &b, 2, Padding::Valid, false).unwrap();
/// assert_eq!((y.shape().1, y.shape().2), (4, 4));
/// assert_eq!(y.as_vec()[..8], [1., 1., 2., 2., 1., 1., 2., 2.]);
/// ```
pub fn conv2d_transpose<
    B: Dim,
    H: Dim,
    W: Dim,
    const C: usize,
    const KH: usize,
    const KW: usize,
    const O: usize,
    T: Tape<f32, Cpu>,
>(
    x: Tensor<(B, H, W, Const<C>), f32, Cpu, T>,
    weight: &Tensor<Rank4<KH, KW, O, C>, f32, Cpu>,
    bias: &Tensor<Rank1<O>, f32, Cpu>,
    stride: usize,
    padding: Padding,
    relu: bool,
) -> Result<ImageBatch<B, usize, usize, O, T>> {
    let (b, h, w, _) = *x.shape();
    let g = TransposeGeometry::new(
        b.size(),
        (h.size(), w.size(), C),
        O,
        (KH, KW),
        (stride, stride),
        padding,
    )?;
    let needs_dx = input_needs_gradient();
    let (x, xs) = read(x)?;
    let ws = read_param(weight)?;
    let bs = read_param(bias)?;
    let mut out = vec![0.0f32; g.output_len()];
    conv::conv2d_transpose_forward(&g, &xs, &ws, &bs, relu, &mut out);
    let out_shape = (b, g.out_h(), g.out_w(), Const::<O>);

    let (x, mut tape) = x.split_tape();
    if !T::OWNS_TAPE {
        let y = x.device().try_tensor_from_vec(out, out_shape)?;
        return Ok(y.put_tape(tape));
    }
    // Training: keep what the backward pass needs.
    let out_copy = if relu { out.clone() } else { Vec::new() };
    let y = x.device().try_tensor_from_vec(out, out_shape)?;
    let (x_ghost, w_ghost, b_ghost, y_ghost) = (x.ghost(), weight.ghost(), bias.ghost(), y.ghost());
    tape.add_backward_op(move |grads| {
        let mut dout = take_grad!(grads, y_ghost);
        let mut dx = if needs_dx {
            take_grad!(grads, x_ghost)
        } else {
            Vec::new()
        };
        let mut dw = take_grad!(grads, w_ghost);
        let mut db = take_grad!(grads, b_ghost);
        conv::conv2d_transpose_backward(
            &g,
            &xs,
            &ws,
            &out_copy,
            relu,
            &mut dout,
            needs_dx.then_some(&mut dx[..]),
            &mut dw,
            &mut db,
        );
        if needs_dx {
            put_grad!(grads, x_ghost, dx);
        }
        put_grad!(grads, w_ghost, dw);
        put_grad!(grads, b_ghost, db);
        put_grad!(grads, y_ghost, dout);
        Ok(())
    });
    Ok(y.put_tape(tape))
}

/// Upsampling by a whole factor `size` along height and width, Keras' `UpSampling2D` as a
/// function: [`Interpolation::Nearest`] repeats every pixel `size x size` times (Keras'
/// default); [`Interpolation::Bilinear`] is TensorFlow's bilinear resize with half-pixel
/// centres (`interpolation="bilinear"`).
///
/// # Shapes
/// `(B, H, W, C)` to `(B, H * size, W * size, C)`.
///
/// # Errors
/// [`crate::Error::Invalid`] when `size` is 0 or the input is empty.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// use cnnkit_nn::ops::{upsampling2d, Interpolation};
/// let dev = Cpu::default();
/// let x: Images<1> = dev.tensor_from_vec(vec![1., 2.], (1, 1, 2, Const::<1>));
/// let y = upsampling2d(x.clone(), 2, Interpolation::Nearest).unwrap();
/// assert_eq!(y.as_vec(), [1., 1., 2., 2., 1., 1., 2., 2.]);
/// let y = upsampling2d(x, 2, Interpolation::Bilinear).unwrap();
/// assert_eq!(y.as_vec()[..4], [1., 1.25, 1.75, 2.]);
/// ```
pub fn upsampling2d<B: Dim, H: Dim, W: Dim, const C: usize, T: Tape<f32, Cpu>>(
    x: Tensor<(B, H, W, Const<C>), f32, Cpu, T>,
    size: usize,
    interpolation: Interpolation,
) -> Result<ImageBatch<B, usize, usize, C, T>> {
    let (b, h, w, _) = *x.shape();
    let g = UpsampleGeometry::new(b.size(), (h.size(), w.size(), C), (size, size))?;
    let (x, xs) = read(x)?;
    let mut out = vec![0.0f32; g.output_len()];
    upsample::upsample_forward(&g, interpolation, &xs, &mut out);
    drop(xs);
    record_unary(
        x,
        out,
        (b, g.out_h(), g.out_w(), Const::<C>),
        move |dout, dx| upsample::upsample_backward(&g, interpolation, dout, dx),
    )
}
