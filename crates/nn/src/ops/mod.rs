//! Differentiable convolution and pooling on dfdx tensors, on stable Rust.
//!
//! dfdx 0.13 keeps its own `conv2d` and `pool2d` behind a nightly feature that no longer
//! builds; these functions take their place. Images are NHWC, as in Keras:
//! `(batch, height, width, channels)`, with the channel count in the type (`Const<C>`) and
//! the spatial sizes known at run time (`usize`).
//!
//! Each function reads its input tensor once, runs a kernel from `cnnkit-kernels`, and,
//! when the input carries a gradient tape (training), records a backward closure that adds
//! the gradients of its input and parameters. Without a tape (inference) nothing is kept.
//!
//! Introduced in `notebooks/02_convolution_layer.ipynb` and `notebooks/04_pooling.ipynb`;
//! the layers in [`crate::layers`] call these. The ops of notebook 07's architectures are
//! in submodules, re-exported here: normalisation ([`batch_norm_training`],
//! [`batch_norm_inference`], their ReLU-fused forms, [`local_response_norm`]), a residual
//! unit in training as one op ([`residual_unit_training`], [`residual_main_training`],
//! [`conv_batch_norm_training`]), [`depthwise_conv2d`], and the ops
//! that combine feature maps ([`add`], [`add_relu`], [`concat_channels`], [`scale_channels`],
//! [`zero_pad2d`]), and the decoder's ops of notebook 10 ([`conv2d_transpose`],
//! [`upsampling2d`]).

use dfdx::prelude::*;

use crate::arith::Padding;
use crate::error::{Error, Result};
use cnnkit_kernels::scratch::Recycled;
use cnnkit_kernels::{conv, elementwise, pool};

/// A batch of NHWC images with `C` channels and run-time batch, height and width.
pub type Images<const C: usize, T = NoneTape> =
    Tensor<(usize, usize, usize, Const<C>), f32, Cpu, T>;

/// An NHWC batch whose batch size, height and width may be any dfdx dimension
/// (`usize` or `Const<N>`); the layers' inputs and outputs.
pub type ImageBatch<B, H, W, const C: usize, T = NoneTape> =
    Tensor<(B, H, W, Const<C>), f32, Cpu, T>;

/// A tensor together with a copy of its elements (see [`read`]).
type WithData<S, T> = (Tensor<S, f32, Cpu, T>, Recycled);

thread_local! {
    static INPUT_NEEDS_NO_GRADIENT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, a forward pass on a batch of input data, telling the first op of this crate
/// that runs inside it that its input needs no gradient.
///
/// A gradient tape has to start at the input batch, so without this the first
/// convolution would also compute the gradient with respect to the images, which nobody
/// uses (for the lecture's model, a 25,088 x 64 by 64 x 49 product and its scatter, every
/// step). [`crate::train::fit`] wraps its forward passes in this. It is correct for any
/// model built from this crate's layers: whatever runs before the first of our ops
/// (dfdx's `ReLU`, `Dropout`) has no parameters.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// use cnnkit_nn::ops::without_input_gradient;
/// let dev = Cpu::default();
/// let model = dev.build_module::<Conv2D<1, 2, 3, 1, Same, Relu>, f32>();
/// let x: Images<1> = dev.ones_like(&(1, 4, 4, Const::<1>));
/// let y = without_input_gradient(|| model.forward(x.leaky_trace()));
/// let grads = y.sum().backward();
/// assert!(grads.get(&model.weight).as_vec().iter().any(|g| *g != 0.0));
/// ```
pub fn without_input_gradient<R>(f: impl FnOnce() -> R) -> R {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            INPUT_NEEDS_NO_GRADIENT.with(|c| c.set(false));
        }
    }
    INPUT_NEEDS_NO_GRADIENT.with(|c| c.set(true));
    let _reset = Reset;
    f()
}

/// Whether the op being recorded must compute its input's gradient (consumes the flag set
/// by [`without_input_gradient`]).
fn input_needs_gradient() -> bool {
    !INPUT_NEEDS_NO_GRADIENT.with(|c| c.replace(false))
}

/// Copies a tensor's elements, in logical order, into a buffer recycled by length
/// ([`Recycled`]).
///
/// Makes the tensor contiguous first (a no-op for tensors our ops produce), because a
/// permuted or broadcast tensor's buffer is not in logical order. dfdx gives no view of a
/// tensor's memory, so every op copies its input; a recycled buffer saves the `memset`
/// that a fresh zeroed `Vec` needs first (a training step makes the same copies every
/// step).
fn read<S: Shape, T: Tape<f32, Cpu>>(x: Tensor<S, f32, Cpu, T>) -> Result<WithData<S, T>> {
    let x = x.try_contiguous()?;
    let mut buf = Recycled::take(x.shape().num_elements());
    x.copy_into(&mut buf);
    Ok((x, buf))
}

/// Reads a parameter tensor (no tape) into a new `Vec`.
/// A buffer of `len` floats for an op's output that its kernel overwrites entirely: one
/// from the recycled lists when one of this length waits there (its old values do not
/// matter), else a new one. It saves the `memset` that `vec![0.0; len]` costs on memory
/// that `malloc` hands back.
fn output_buffer(len: usize) -> Vec<f32> {
    Recycled::take(len).into_vec()
}

fn read_param<S: Shape>(p: &Tensor<S, f32, Cpu>) -> Result<Vec<f32>> {
    // Cloning shares the buffer; `contiguous` copies only a permuted or broadcast tensor.
    Ok(read(p.clone())?.1.into_vec())
}

/// Moves the gradient buffer of a ghost tensor out of `grads` (allocating zeros if
/// absent), so that several gradients can be written at once; put it back with
/// [`put_grad!`]. Macros rather than functions because dfdx's ghost type cannot be named.
macro_rules! take_grad {
    ($grads:expr, $ghost:expr) => {
        std::mem::take(&mut **$grads.get_or_alloc_mut(&$ghost)?)
    };
}

/// Puts a buffer taken with [`take_grad!`] back.
macro_rules! put_grad {
    ($grads:expr, $ghost:expr, $v:expr) => {
        **$grads.get_or_alloc_mut(&$ghost)? = $v
    };
}

/// Stops a backward pass whose gradient buffers have other lengths than their tensors,
/// with a message that says why that happens and what to do, instead of a length check
/// deep in a kernel. Gradients are kept by tensor id, and in evcxr every cell numbers its
/// tensors from zero again: a parameter made in an earlier cell can have the id of an
/// input made in this one, and then both share one buffer.
fn check_grad_lengths(op: &str, buffers: &[(&str, usize, usize)]) {
    for &(what, got, want) in buffers {
        assert!(
            got == want,
            "{op} backward: the gradient buffer of the {what} holds {got} values, not {want}: \
             two tensors of this backward pass share an id. In evcxr each cell numbers its \
             tensors from zero again, so create every tensor of one backward pass (weights, \
             inputs, targets) in the same cell, or train through `fit`, which renumbers the \
             weights (텐서 id가 겹칩니다: 한 번의 역전파에 쓰는 텐서를 모두 같은 셀에서 \
             만드십시오)"
        );
    }
}

/// Builds the output tensor and, with a tape, records `backward(dout, dx)` for it, where
/// `dx` is the input's gradient buffer (to be added to).
fn record_unary<S: Shape, S2: Shape, T: Tape<f32, Cpu>>(
    x: Tensor<S, f32, Cpu, T>,
    out: Vec<f32>,
    out_shape: S2,
    backward: impl FnOnce(&[f32], &mut [f32]) + 'static,
) -> Result<Tensor<S2, f32, Cpu, T>> {
    let needs_gradient = input_needs_gradient();
    let (x, mut tape) = x.split_tape();
    let out = x.device().try_tensor_from_vec(out, out_shape)?;
    if T::OWNS_TAPE && needs_gradient {
        let x_ghost = x.ghost();
        let out_ghost = out.ghost();
        tape.add_backward_op(move |grads| {
            let dout = take_grad!(grads, out_ghost);
            let mut dx = take_grad!(grads, x_ghost);
            backward(&dout, &mut dx);
            put_grad!(grads, x_ghost, dx);
            put_grad!(grads, out_ghost, dout);
            Ok(())
        });
    }
    Ok(out.put_tape(tape))
}

/// 2-D convolution with bias and an optional fused ReLU, Keras' `Conv2D` as a function.
///
/// `weight` is laid out as in Keras, `(k_h, k_w, c_in, c_out)`; `bias` has `c_out`
/// elements. Stride and padding follow Keras (see [`crate::arith::axis_geometry`]).
///
/// # Shapes
/// `(B, H, W, C)` with a `(KH, KW, C, O)` kernel gives `(B, H', W', O)`, where
/// `H' = ceil(H / stride)` for `same` and `floor((H - KH) / stride) + 1` for `valid`.
///
/// Keras: `tf.nn.conv2d(x, w, strides, padding) + b` (then `tf.nn.relu` when `relu`).
///
/// # Errors
/// [`Error::Invalid`] when the stride is 0 or the kernel does not fit a `valid` input.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let dev = Cpu::default();
/// // One 3x3 image with one channel, and a 2x2 kernel that sums its window.
/// let x: Images<1> = dev.tensor_from_vec((1..=9).map(|v| v as f32).collect(), (1, 3, 3, Const::<1>));
/// let w = dev.tensor([[[[1.0f32]], [[1.0]]], [[[1.0]], [[1.0]]]]);
/// let b = dev.tensor([0.0f32]);
/// let y = conv2d(x, &w, &b, 1, Padding::Valid, false).unwrap();
/// assert_eq!(y.shape().1, 2);
/// assert_eq!(y.as_vec(), vec![12.0, 16.0, 24.0, 28.0]);
/// ```
pub fn conv2d<
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
    weight: &Tensor<Rank4<KH, KW, C, O>, f32, Cpu>,
    bias: &Tensor<Rank1<O>, f32, Cpu>,
    stride: usize,
    padding: Padding,
    relu: bool,
) -> Result<ImageBatch<B, usize, usize, O, T>> {
    conv2d_with(x, weight, Some(bias), stride, padding, relu)
}

/// [`conv2d`] without a bias: Keras' `Conv2D(..., use_bias=False)`, the convolution that
/// comes before a batch normalization (whose `beta` would make a bias redundant).
///
/// ```
/// use cnnkit_nn::prelude::*;
/// use cnnkit_nn::ops::conv2d_no_bias;
/// let dev = Cpu::default();
/// let x: Images<1> = dev.ones_like(&(1, 3, 3, Const::<1>));
/// let w = dev.tensor([[[[2.0f32]]]]);
/// let y = conv2d_no_bias(x, &w, 1, Padding::Valid, false).unwrap();
/// assert_eq!(y.as_vec(), vec![2.0; 9]);
/// ```
pub fn conv2d_no_bias<
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
    weight: &Tensor<Rank4<KH, KW, C, O>, f32, Cpu>,
    stride: usize,
    padding: Padding,
    relu: bool,
) -> Result<ImageBatch<B, usize, usize, O, T>> {
    conv2d_with(x, weight, None, stride, padding, relu)
}

/// The convolution behind [`conv2d`] and [`conv2d_no_bias`].
fn conv2d_with<
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
    weight: &Tensor<Rank4<KH, KW, C, O>, f32, Cpu>,
    bias: Option<&Tensor<Rank1<O>, f32, Cpu>>,
    stride: usize,
    padding: Padding,
    relu: bool,
) -> Result<ImageBatch<B, usize, usize, O, T>> {
    let (b, h, w, _) = *x.shape();
    let g = conv::ConvGeometry::new(
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
    let bs = match bias {
        Some(bias) => read_param(bias)?,
        None => vec![0.0; O],
    };
    let mut out = output_buffer(g.output_len());
    conv::conv2d_forward(&g, &xs, &ws, &bs, relu, &mut out);
    let out_shape = (b, g.out_h, g.out_w, Const::<O>);

    let (x, mut tape) = x.split_tape();
    if !T::OWNS_TAPE {
        let y = x.device().try_tensor_from_vec(out, out_shape)?;
        return Ok(y.put_tape(tape));
    }
    // Training: keep what the backward pass needs.
    let out_copy = if relu { out.clone() } else { Vec::new() };
    let y = x.device().try_tensor_from_vec(out, out_shape)?;
    let (x_ghost, w_ghost, y_ghost) = (x.ghost(), weight.ghost(), y.ghost());
    let b_ghost = bias.map(|b| b.ghost());
    tape.add_backward_op(move |grads| {
        let mut dout = take_grad!(grads, y_ghost);
        let mut dx = if needs_dx {
            take_grad!(grads, x_ghost)
        } else {
            Vec::new()
        };
        let mut dw = take_grad!(grads, w_ghost);
        // Empty without a bias: the kernel then skips the bias sums.
        let mut db = match &b_ghost {
            Some(g) => take_grad!(grads, *g),
            None => Vec::new(),
        };
        check_grad_lengths(
            "conv2d",
            &[
                ("output", dout.len(), g.output_len()),
                (
                    "input",
                    if needs_dx { dx.len() } else { xs.len() },
                    xs.len(),
                ),
                ("kernel", dw.len(), ws.len()),
                ("bias", db.len(), if b_ghost.is_some() { O } else { 0 }),
            ],
        );
        conv::conv2d_backward(
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
        if let Some(g) = &b_ghost {
            put_grad!(grads, *g, db);
        }
        put_grad!(grads, y_ghost, dout);
        Ok(())
    });
    Ok(y.put_tape(tape))
}

/// `max(x, 0)` element by element, as the layer [`crate::layers::Relu`] (Keras
/// `Activation("relu")`) computes it after a batch normalization. The same as dfdx's
/// `relu`, on the kernels that the convolutions' fused ReLU uses (a vectorised mask in
/// the backward pass, several times faster than dfdx's generic one).
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let dev = Cpu::default();
/// let x: Images<1> = dev.tensor_from_vec(vec![-1.0, 2.0], (1, 1, 2, Const::<1>));
/// let y = cnnkit_nn::ops::relu(x.leaky_trace()).unwrap();
/// assert_eq!(y.as_vec(), vec![0.0, 2.0]);
/// let g = y.sum().backward();
/// assert_eq!(g.get(&x).as_vec(), vec![0.0, 1.0]);
/// ```
pub fn relu<S: Shape, T: Tape<f32, Cpu>>(
    x: Tensor<S, f32, Cpu, T>,
) -> Result<Tensor<S, f32, Cpu, T>> {
    let shape = *x.shape();
    let (x, out) = read(x)?;
    let mut out = out.into_vec();
    elementwise::relu_in_place(&mut out);
    let kept = if T::OWNS_TAPE {
        out.clone()
    } else {
        Vec::new()
    };
    record_unary(x, out, shape, move |dout, dx| {
        elementwise::relu_grad_add(dx, dout, &kept)
    })
}

/// Which statistic a spatial pooling takes over each window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PoolKind {
    /// The largest value (Keras `MaxPool2D`).
    Max,
    /// The mean of the values inside the image (Keras `AvgPool2D`).
    Avg,
}

/// Spatial pooling of NHWC images: max or average over `pool x pool` windows.
///
/// # Shapes
/// `(B, H, W, C)` to `(B, H', W', C)` with `H'` as for a convolution with kernel `pool`.
///
/// Keras: `MaxPool2D(pool_size, strides, padding)` / `AvgPool2D(...)`.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let dev = Cpu::default();
/// let x: Images<1> = dev.tensor_from_vec(
///     vec![1., 2., 5., 6.,
///          3., 4., 7., 8.,
///          0., 0., 1., 0.,
///          0., 9., 0., 0.], (1, 4, 4, Const::<1>));
/// let y = pool2d(x.clone(), PoolKind::Max, 2, 2, Padding::Valid).unwrap();
/// assert_eq!(y.as_vec(), vec![4., 8., 9., 1.]);
/// let y = pool2d(x, PoolKind::Avg, 2, 2, Padding::Valid).unwrap();
/// assert_eq!(y.as_vec(), vec![2.5, 6.5, 2.25, 0.25]);
/// ```
pub fn pool2d<B: Dim, H: Dim, W: Dim, const C: usize, T: Tape<f32, Cpu>>(
    x: Tensor<(B, H, W, Const<C>), f32, Cpu, T>,
    kind: PoolKind,
    pool: usize,
    stride: usize,
    padding: Padding,
) -> Result<ImageBatch<B, usize, usize, C, T>> {
    let (b, h, w, _) = *x.shape();
    let g = pool::PoolGeometry::new(
        b.size(),
        (h.size(), w.size(), C),
        (pool, pool),
        (stride, stride),
        padding,
    )?;
    let (x, xs) = read(x)?;
    let mut out = output_buffer(g.output_len());
    let shape = (b, g.out_h, g.out_w, Const::<C>);
    match kind {
        PoolKind::Max => {
            // The indices only for a backward pass: inference computes the values alone.
            let mut argmax = if T::OWNS_TAPE {
                vec![0u32; g.output_len()]
            } else {
                Vec::new()
            };
            pool::max_pool_forward(&g, &xs, &mut out, &mut argmax);
            drop(xs);
            record_unary(x, out, shape, move |dout, dx| {
                pool::max_pool_backward(&g, &argmax, dout, dx)
            })
        }
        PoolKind::Avg => {
            pool::avg_pool_forward(&g, &xs, &mut out);
            drop(xs);
            record_unary(x, out, shape, move |dout, dx| {
                pool::avg_pool_backward(&g, dout, dx)
            })
        }
    }
}

/// Global average pooling: the mean of each feature map, one number per channel.
///
/// # Shapes
/// `(B, H, W, C)` to `(B, C)`.
///
/// Keras: `GlobalAvgPool2D()`, or `tf.reduce_mean(x, axis=[1, 2])`.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let dev = Cpu::default();
/// let x: Images<2> = dev.tensor_from_vec(vec![1., 10., 3., 30.], (1, 1, 2, Const::<2>));
/// let y = global_avg_pool2d(x).unwrap();
/// assert_eq!(y.as_vec(), vec![2., 20.]);
/// ```
pub fn global_avg_pool2d<B: Dim, H: Dim, W: Dim, const C: usize, T: Tape<f32, Cpu>>(
    x: Tensor<(B, H, W, Const<C>), f32, Cpu, T>,
) -> Result<Tensor<(B, Const<C>), f32, Cpu, T>> {
    let (b, h, w, _) = *x.shape();
    let (batch, hw) = (b.size(), h.size() * w.size());
    let (x, xs) = read(x)?;
    let mut out = vec![0.0f32; batch * C];
    pool::global_avg_forward(&xs, batch, hw, C, &mut out);
    drop(xs);
    record_unary(x, out, (b, Const::<C>), move |dout, dx| {
        pool::global_avg_backward(dout, batch, hw, C, dx)
    })
}

/// Depthwise max pooling (the lecture's 깊이 위주 풀링): the maximum across each group of
/// `C / CO` consecutive feature maps, pixel by pixel. Keras has no layer for it; TensorFlow
/// writes it as `tf.nn.max_pool(x, ksize=(1, 1, 1, k), strides=(1, 1, 1, k), padding="VALID")`.
///
/// # Shapes
/// `(B, H, W, C)` to `(B, H, W, CO)`; `C` must be a multiple of `CO` (checked at compile time).
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let dev = Cpu::default();
/// // One pixel with 6 channels, pooled in groups of 3.
/// let x: Images<6> = dev.tensor_from_vec(vec![1., 5., 2., 0., -1., 3.], (1, 1, 1, Const::<6>));
/// let y = depthwise_max_pool2d::<_, _, _, 6, 2, _>(x).unwrap();
/// assert_eq!(y.as_vec(), vec![5., 3.]);
/// ```
pub fn depthwise_max_pool2d<
    B: Dim,
    H: Dim,
    W: Dim,
    const C: usize,
    const CO: usize,
    T: Tape<f32, Cpu>,
>(
    x: Tensor<(B, H, W, Const<C>), f32, Cpu, T>,
) -> Result<ImageBatch<B, H, W, CO, T>> {
    const {
        assert!(
            CO > 0,
            "depthwise pooling needs at least one output channel"
        );
        assert!(
            C.is_multiple_of(CO),
            "depthwise pooling: the input channel count must be a multiple of the output's"
        );
    }
    let k = C / CO;
    let shape = *x.shape();
    let (x, xs) = read(x)?;
    let mut out = vec![0.0f32; xs.len() / k];
    let mut argmax = vec![0u32; out.len()];
    pool::depthwise_max_forward(&xs, C, k, &mut out, &mut argmax);
    drop(xs);
    record_unary(
        x,
        out,
        (shape.0, shape.1, shape.2, Const::<CO>),
        move |dout, dx| {
            for (d, &i) in dout.iter().zip(&argmax) {
                dx[i as usize] += d;
            }
        },
    )
}

/// Flattens each image into one vector, in Keras' order (row by row, channels innermost).
///
/// # Shapes
/// `(B, H, W, C)` to `(B, H * W * C)`.
///
/// Keras: `Flatten()`.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let dev = Cpu::default();
/// let x: Images<2> = dev.zeros_like(&(3, 4, 5, Const::<2>));
/// assert_eq!(*flatten(x).unwrap().shape(), (3, 40));
/// ```
pub fn flatten<B: Dim, H: Dim, W: Dim, const C: usize, T: Tape<f32, Cpu>>(
    x: Tensor<(B, H, W, Const<C>), f32, Cpu, T>,
) -> Result<Tensor<(B, usize), f32, Cpu, T>> {
    let (b, h, w, _) = *x.shape();
    let n = h.size() * w.size() * C;
    Ok(x.try_contiguous()?.try_reshape_like(&(b, n))?)
}

/// Turns a `(B, N)` tensor with run-time `N` into `(B, Const<I>)`, for a `Dense` layer.
///
/// # Errors
/// [`Error::Shape`] naming `layer` when `N != I`.
pub fn to_features<B: Dim, const I: usize, T: Tape<f32, Cpu>>(
    x: Tensor<(B, usize), f32, Cpu, T>,
    layer: &str,
) -> Result<Tensor<(B, Const<I>), f32, Cpu, T>> {
    let (b, n) = *x.shape();
    if n != I {
        return Err(Error::Shape {
            layer: layer.to_string(),
            expected: format!("{I} input features"),
            actual: format!(
                "{n} features; fix the layer's input size to {n} (Dense<{n}, ...>) or change the layers before it"
            ),
        });
    }
    Ok(x.try_reshape_like(&(b, Const::<I>))?)
}

/// A 2-D array as a batch of one single-channel image, `(1, h, w, 1)`: how the notebooks
/// hand a small hand-made matrix to a layer.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let x = ndarray::array![[1.0_f32, 2.0, 3.0], [4.0, 5.0, 6.0]];
/// let t = cnnkit_nn::ops::to_images(&Cpu::default(), &x);
/// assert_eq!(t.shape().concrete(), [1, 2, 3, 1]);
/// assert_eq!(cnnkit_nn::ops::channel(&t, 0, 0), x);
/// ```
pub fn to_images(dev: &Cpu, x: &ndarray::Array2<f32>) -> Images<1> {
    let (h, w) = x.dim();
    dev.tensor_from_vec(x.iter().copied().collect(), (1, h, w, Const::<1>))
}

/// Channel `c` of image `image` of an NHWC batch, as a 2-D array `(h, w)`: one feature map.
///
/// # Panics
/// When `image` or `c` is out of range, with both numbers in the message.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let dev = Cpu::default();
/// // Two images of 1x2 pixels with 3 channels: values 0..12 in NHWC order.
/// let t: Images<3> = dev.tensor_from_vec((0..12).map(|v| v as f32).collect(), (2, 1, 2, Const::<3>));
/// assert_eq!(cnnkit_nn::ops::channel(&t, 1, 2), ndarray::array![[8.0, 11.0]]);
/// ```
pub fn channel<const C: usize>(t: &Images<C>, image: usize, c: usize) -> ndarray::Array2<f32> {
    let [n, h, w, _] = t.shape().concrete();
    assert!(
        image < n && c < C,
        "channel: image {image} of {n} and channel {c} of {C} do not exist \
         (이미지 {image}/{n}, 채널 {c}/{C}: 범위를 벗어났습니다)"
    );
    let v = t.as_vec();
    ndarray::Array2::from_shape_fn((h, w), |(r, col)| v[((image * h + r) * w + col) * C + c])
}

/// Cross-correlation of one grayscale image with one kernel of any size, known only at run
/// time: what a single `Conv2D` filter without bias computes on a one-channel image, with
/// the same kernels as the layers (`cnnkit-kernels`). For the filter demonstrations and
/// the homework checks, where the kernel comes from a student and its size is not a type.
///
/// # Shapes
/// `image` `(h, w)`, `kernel` `(k_h, k_w)` → `(out_h, out_w)` by Keras' rules for
/// `strides` and `padding` ([`crate::arith::output_size`]).
///
/// # Errors
/// [`Error::Invalid`] for an empty kernel, a zero stride, or a `valid` kernel larger than
/// the image.
///
/// ```
/// use cnnkit_nn::arith::Padding;
/// let image = ndarray::Array2::from_shape_fn((4, 5), |(i, j)| (i * 5 + j) as f32);
/// let kernel = ndarray::array![[1.0_f32, -1.0]];
/// let y = cnnkit_nn::ops::correlate2d(image.view(), kernel.view(), 1, Padding::Valid)?;
/// assert_eq!(y.dim(), (4, 4));
/// assert!(y.iter().all(|&v| v == -1.0)); // each pixel minus its right neighbour
/// # Ok::<(), cnnkit_nn::Error>(())
/// ```
pub fn correlate2d(
    image: ndarray::ArrayView2<'_, f32>,
    kernel: ndarray::ArrayView2<'_, f32>,
    strides: usize,
    padding: Padding,
) -> Result<ndarray::Array2<f32>> {
    let ((h, w), (kh, kw)) = (image.dim(), kernel.dim());
    let g = conv::ConvGeometry::new(1, (h, w, 1), 1, (kh, kw), (strides, strides), padding)?;
    let x: Vec<f32> = image.iter().copied().collect();
    let k: Vec<f32> = kernel.iter().copied().collect();
    let mut out = vec![0.0f32; g.output_len()];
    conv::conv2d_forward(&g, &x, &k, &[0.0], false, &mut out);
    ndarray::Array2::from_shape_vec((g.out_h, g.out_w), out)
        .map_err(|e| Error::invalid("correlate2d output", e.to_string()))
}

mod channels;
mod depthwise;
mod norm;
mod residual;
mod transpose;

pub use channels::{add, add_relu, concat_channels, scale_channels, zero_pad2d, ChannelPart};
pub use depthwise::depthwise_conv2d;
pub use norm::{
    batch_norm_inference, batch_norm_relu_inference, batch_norm_relu_training, batch_norm_training,
    local_response_norm, BatchStatistics, LrnSettings,
};
pub use residual::{
    conv_batch_norm_training, residual_main_training, residual_unit_training, ConvBatchNorm,
    Shortcut, Trained, UnitStatistics,
};
pub use transpose::{conv2d_transpose, upsampling2d, Interpolation};

#[cfg(test)]
mod tests {
    /// What a student sees when two tensors of one backward pass share an id (evcxr cells
    /// number tensors from zero again; a plain test cannot make dfdx repeat an id, so the
    /// check is called with the lengths such a collision gave: a 512-value buffer for a
    /// 1-channel bias).
    #[test]
    #[should_panic(
        expected = "conv2d backward: the gradient buffer of the bias holds 512 \
                               values, not 1: two tensors of this backward pass share an id"
    )]
    fn a_shared_gradient_buffer_is_explained() {
        super::check_grad_lengths("conv2d", &[("kernel", 9, 9), ("bias", 512, 1)]);
    }

    #[test]
    fn matching_buffers_pass() {
        super::check_grad_lengths("conv2d", &[("kernel", 9, 9), ("bias", 1, 1)]);
    }
}
