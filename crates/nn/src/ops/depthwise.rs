//! Depthwise convolution as a differentiable op.

use dfdx::prelude::*;

use super::{input_needs_gradient, read, read_param, ImageBatch};
use crate::arith::Padding;
use crate::error::Result;
use cnnkit_kernels::conv::depthwise;
use cnnkit_kernels::geometry::PoolGeometry;

/// Depthwise 2-D convolution (depth multiplier 1): channel `c` of the output is channel
/// `c` of the input convolved with its own `KH x KW` filter `weight[.., .., c, 0]`, plus
/// `bias[c]` when given. Nothing mixes the channels; a 1x1 convolution after it does
/// (together, a depthwise separable convolution).
///
/// Keras: `DepthwiseConv2D(kernel_size, strides, padding, use_bias=...)`, whose
/// `depthwise_kernel` has this layout `(KH, KW, C, 1)`.
///
/// # Shapes
/// `(B, H, W, C)` to `(B, H', W', C)`, `H'` as for [`super::conv2d`].
///
/// # Errors
/// [`crate::Error::Invalid`] when the stride is 0 or the kernel does not fit a `valid` input.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// use cnnkit_nn::ops::depthwise_conv2d;
/// let dev = Cpu::default();
/// // A 2x2 image with two channels; a 2x2 filter of ones for channel 0, of twos for channel 1.
/// let x: Images<2> = dev.tensor_from_vec(vec![1., 10., 2., 20., 3., 30., 4., 40.], (1, 2, 2, Const::<2>));
/// let w = dev.tensor([[[[1.0f32], [2.0]], [[1.0], [2.0]]], [[[1.0], [2.0]], [[1.0], [2.0]]]]);
/// let y = depthwise_conv2d(x, &w, None, 1, Padding::Valid).unwrap();
/// assert_eq!(y.as_vec(), vec![10.0, 200.0]);
/// ```
pub fn depthwise_conv2d<
    B: Dim,
    H: Dim,
    W: Dim,
    const C: usize,
    const KH: usize,
    const KW: usize,
    T: Tape<f32, Cpu>,
>(
    x: Tensor<(B, H, W, Const<C>), f32, Cpu, T>,
    weight: &Tensor<Rank4<KH, KW, C, 1>, f32, Cpu>,
    bias: Option<&Tensor<Rank1<C>, f32, Cpu>>,
    stride: usize,
    padding: Padding,
) -> Result<ImageBatch<B, usize, usize, C, T>> {
    let (b, h, w, _) = *x.shape();
    let g = PoolGeometry::new(
        b.size(),
        (h.size(), w.size(), C),
        (KH, KW),
        (stride, stride),
        padding,
    )?;
    let needs_dx = input_needs_gradient();
    let (x, xs) = read(x)?;
    let ws = read_param(weight)?;
    let bs = bias.map(read_param).transpose()?;
    let mut out = vec![0.0f32; g.output_len()];
    depthwise::depthwise_forward(&g, &xs, &ws, bs.as_deref(), &mut out);
    let (x, mut tape) = x.split_tape();
    let y = x
        .device()
        .try_tensor_from_vec(out, (b, g.out_h, g.out_w, Const::<C>))?;
    if T::OWNS_TAPE {
        let (x_ghost, w_ghost, y_ghost) = (x.ghost(), weight.ghost(), y.ghost());
        let b_ghost = bias.map(|b| b.ghost());
        tape.add_backward_op(move |grads| {
            let dout = take_grad!(grads, y_ghost);
            let mut dx = if needs_dx {
                take_grad!(grads, x_ghost)
            } else {
                Vec::new()
            };
            let mut dw = take_grad!(grads, w_ghost);
            let mut db = match &b_ghost {
                Some(g) => Some(take_grad!(grads, *g)),
                None => None,
            };
            depthwise::depthwise_backward(
                &g,
                &xs,
                &ws,
                &dout,
                needs_dx.then_some(&mut dx[..]),
                &mut dw,
                db.as_deref_mut(),
            );
            if needs_dx {
                put_grad!(grads, x_ghost, dx);
            }
            put_grad!(grads, w_ghost, dw);
            if let (Some(g), Some(db)) = (&b_ghost, db) {
                put_grad!(grads, *g, db);
            }
            put_grad!(grads, y_ghost, dout);
            Ok(())
        });
    }
    Ok(y.put_tape(tape))
}
