//! Ops that combine or rearrange feature maps: the addition of a skip connection,
//! concatenation along channels, channel-wise scaling, and zero padding.

use dfdx::prelude::*;
use dfdx::tensor::Merge;

use super::{input_needs_gradient, read, record_unary, ImageBatch};
use crate::error::{Error, Result};
use cnnkit_kernels::{channels, elementwise};

/// One input of [`concat_channels`]: a batch whose channel count is known at run time.
pub type ChannelPart<B, T> = Tensor<(B, usize, usize, usize), f32, Cpu, T>;

/// Element-wise sum of two batches of the same shape: the `+` of a residual unit
/// (Keras `layers.Add()([a, b])`).
///
/// The shape types must be equal, so adding a 64-channel output to a 128-channel one does
/// not compile; the run-time sizes (height, width) are checked here.
///
/// # Errors
/// [`Error::Shape`] when the run-time sizes differ (for example a main path with stride 2
/// beside an identity shortcut): the message says to give the shortcut the same stride.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// use cnnkit_nn::ops::add;
/// let dev = Cpu::default();
/// let a: Images<2> = dev.ones_like(&(1, 2, 2, Const::<2>));
/// let b: Images<2> = dev.ones_like(&(1, 2, 2, Const::<2>));
/// assert_eq!(add(a, b).unwrap().as_vec(), vec![2.0; 8]);
/// let (a, c): (Images<2>, Images<2>) = (dev.ones_like(&(1, 2, 2, Const::<2>)), dev.ones_like(&(1, 1, 1, Const::<2>)));
/// assert!(add(a, c).unwrap_err().to_string().contains("shortcut"));
/// ```
pub fn add<S: Shape, T1, T2>(
    a: Tensor<S, f32, Cpu, T1>,
    b: Tensor<S, f32, Cpu, T2>,
) -> Result<Tensor<S, f32, Cpu, T1>>
where
    T1: Tape<f32, Cpu> + Merge<T2>,
    T2: Tape<f32, Cpu>,
{
    sum(a, b, false)
}

/// `relu(a + b)` in one pass and one recorded backward step: the end of a residual unit
/// (Keras `layers.Activation("relu")(layers.Add()([main, shortcut]))`). The backward pass
/// keeps a byte per element for the ReLU's gate instead of a copy of the output, and does
/// not need the separate [`super::relu`]'s copy and gradient buffer.
///
/// # Errors
/// [`Error::Shape`] as [`add`].
///
/// ```
/// use cnnkit_nn::prelude::*;
/// use cnnkit_nn::ops::add_relu;
/// let dev = Cpu::default();
/// let a: Images<1> = dev.tensor_from_vec(vec![1.0, -3.0], (1, 1, 2, Const::<1>));
/// let b: Images<1> = dev.tensor_from_vec(vec![1.0, 1.0], (1, 1, 2, Const::<1>));
/// assert_eq!(add_relu(a, b).unwrap().as_vec(), vec![2.0, 0.0]);
/// ```
pub fn add_relu<S: Shape, T1, T2>(
    a: Tensor<S, f32, Cpu, T1>,
    b: Tensor<S, f32, Cpu, T2>,
) -> Result<Tensor<S, f32, Cpu, T1>>
where
    T1: Tape<f32, Cpu> + Merge<T2>,
    T2: Tape<f32, Cpu>,
{
    sum(a, b, true)
}

/// [`add`], or [`add_relu`] when `relu`.
fn sum<S: Shape, T1, T2>(
    a: Tensor<S, f32, Cpu, T1>,
    b: Tensor<S, f32, Cpu, T2>,
    relu: bool,
) -> Result<Tensor<S, f32, Cpu, T1>>
where
    T1: Tape<f32, Cpu> + Merge<T2>,
    T2: Tape<f32, Cpu>,
{
    if a.shape() != b.shape() {
        let dims = |s: &S| format!("{:?}", s.concrete().into_iter().collect::<Vec<_>>());
        return Err(Error::Shape {
            layer: "Add (skip connection)".into(),
            expected: format!(
                "two inputs of the same shape; the first is {}",
                dims(a.shape())
            ),
            actual: format!(
                "{}; give the shortcut path the same stride and filter count as the main path \
                 (a 1x1 convolution with the main path's stride)",
                dims(b.shape())
            ),
        });
    }
    let shape = *a.shape();
    let (a, av) = read(a)?;
    let (b, bv) = read(b)?;
    // The sum goes into `a`'s copy: the backward pass needs neither input.
    let mut out = av.into_vec();
    // The ReLU's gate, one byte per element, kept only for a backward pass.
    let mut keep = Vec::new();
    if relu {
        if T1::OWNS_TAPE {
            keep = vec![0u8; out.len()];
        }
        elementwise::add_relu_assign(&mut out, &bv, &mut keep);
    } else {
        elementwise::add_assign(&mut out, &bv);
    }
    drop(bv);
    let (a, at) = a.split_tape();
    let (b, bt) = b.split_tape();
    let mut tape = at.merge(bt);
    let y = a.device().try_tensor_from_vec(out, shape)?;
    if T1::OWNS_TAPE {
        let (a_ghost, b_ghost, y_ghost) = (a.ghost(), b.ghost(), y.ghost());
        tape.add_backward_op(move |grads| {
            let dout = take_grad!(grads, y_ghost);
            // One input at a time: `a` and `b` may be the same tensor (`x + x`, an identity
            // main path beside an identity shortcut), whose gradient then gets `dout` twice.
            for ghost in [&a_ghost, &b_ghost] {
                let mut d = take_grad!(grads, *ghost);
                if relu {
                    elementwise::gated_add_assign(&mut d, &dout, &keep);
                } else {
                    elementwise::add_assign(&mut d, &dout);
                }
                put_grad!(grads, *ghost, d);
            }
            put_grad!(grads, y_ghost, dout);
            Ok(())
        });
    }
    Ok(y.put_tape(tape))
}

/// Concatenation of NHWC batches along the channels, in order (Keras
/// `layers.Concatenate()` with the default `axis=-1`, an inception module's depth concat).
/// The parts' channel counts are run-time here; the layer [`crate::layers::Concat`] checks
/// at compile time that they add up to `OUT`.
///
/// # Errors
/// [`Error::Shape`] when the parts differ in batch, height or width, or their channels do
/// not add up to `OUT`.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// use cnnkit_nn::ops::concat_channels;
/// let dev = Cpu::default();
/// let a = dev.tensor_from_vec(vec![1.0f32, 2.0], (1usize, 1usize, 2usize, 1usize));
/// let b = dev.tensor_from_vec(vec![10.0f32, 11.0, 20.0, 21.0], (1usize, 1usize, 2usize, 2usize));
/// let y = concat_channels::<usize, _, 3>(vec![a, b]).unwrap();
/// assert_eq!(y.as_vec(), vec![1.0, 10.0, 11.0, 2.0, 20.0, 21.0]);
/// ```
pub fn concat_channels<B: Dim, T: Tape<f32, Cpu> + Merge<T>, const OUT: usize>(
    parts: Vec<ChannelPart<B, T>>,
) -> Result<ImageBatch<B, usize, usize, OUT, T>> {
    let Some(first) = parts.first() else {
        return Err(Error::invalid("concat_channels", "needs at least one part"));
    };
    let (b, h, w, _) = *first.shape();
    let dev = first.device().clone();
    let channels: Vec<usize> = parts.iter().map(|p| p.shape().3).collect();
    let bad = parts
        .iter()
        .any(|p| p.shape().0.size() != b.size() || p.shape().1 != h || p.shape().2 != w);
    if bad || channels.iter().sum::<usize>() != OUT {
        let shapes: Vec<String> = parts
            .iter()
            .map(|p| {
                let s = p.shape();
                format!("({}, {}, {}, {})", s.0.size(), s.1, s.2, s.3)
            })
            .collect();
        return Err(Error::Shape {
            layer: "Concatenate".into(),
            expected: format!(
                "parts of one batch, height and width whose channels add up to {OUT}"
            ),
            actual: format!(
                "{}; give every branch the same stride and padding",
                shapes.join(" + ")
            ),
        });
    }
    let mut datas = Vec::with_capacity(parts.len());
    let mut ghosts = Vec::with_capacity(parts.len());
    let mut tape = T::default();
    for p in parts {
        let (p, d) = read(p)?;
        let (p, t) = p.split_tape();
        tape = tape.merge(t);
        ghosts.push(p.ghost());
        datas.push(d);
    }
    let refs: Vec<&[f32]> = datas.iter().map(|d| &d[..]).collect();
    let mut out = vec![0.0f32; b.size() * h * w * OUT];
    channels::concat_channels(&refs, &channels, &mut out);
    drop(datas);
    let y = dev.try_tensor_from_vec(out, (b, h, w, Const::<OUT>))?;
    if T::OWNS_TAPE {
        let y_ghost = y.ghost();
        tape.add_backward_op(move |grads| {
            let dout = take_grad!(grads, y_ghost);
            let mut dparts = Vec::with_capacity(ghosts.len());
            for g in &ghosts {
                dparts.push(take_grad!(grads, *g));
            }
            let mut views: Vec<&mut [f32]> = dparts.iter_mut().map(|d| &mut d[..]).collect();
            channels::split_channels_add(&dout, &channels, &mut views);
            for (g, d) in ghosts.iter().zip(dparts) {
                put_grad!(grads, *g, d);
            }
            put_grad!(grads, y_ghost, dout);
            Ok(())
        });
    }
    Ok(y.put_tape(tape))
}

/// Multiplies every feature map of every image by its own factor: `x[b, y, x, c] *
/// s[b, c]`, the last step of a squeeze-and-excitation block (Keras
/// `layers.Multiply()([x, s[:, None, None, :]])`).
///
/// ```
/// use cnnkit_nn::prelude::*;
/// use cnnkit_nn::ops::scale_channels;
/// let dev = Cpu::default();
/// let x: Images<2> = dev.ones_like(&(1, 2, 1, Const::<2>));
/// let s = dev.tensor_from_vec(vec![3.0f32, 0.5], (1usize, Const::<2>));
/// assert_eq!(scale_channels(x, s).unwrap().as_vec(), vec![3.0, 0.5, 3.0, 0.5]);
/// ```
pub fn scale_channels<B: Dim, H: Dim, W: Dim, const C: usize, T1, T2>(
    x: Tensor<(B, H, W, Const<C>), f32, Cpu, T1>,
    s: Tensor<(B, Const<C>), f32, Cpu, T2>,
) -> Result<ImageBatch<B, H, W, C, T1>>
where
    T1: Tape<f32, Cpu> + Merge<T2>,
    T2: Tape<f32, Cpu>,
{
    let shape = *x.shape();
    if s.shape().0.size() != shape.0.size() {
        return Err(Error::Shape {
            layer: "scale_channels".into(),
            expected: format!("one row of factors per image ({})", shape.0.size()),
            actual: format!("{} rows", s.shape().0.size()),
        });
    }
    let batch = shape.0.size();
    let needs_dx = input_needs_gradient();
    let (x, xs) = read(x)?;
    let (s, ss) = read(s)?;
    let mut out = vec![0.0f32; xs.len()];
    channels::scale_channels(&xs, &ss, batch, C, &mut out);
    let (x, xt) = x.split_tape();
    let (s, st) = s.split_tape();
    let mut tape = xt.merge(st);
    let y = x.device().try_tensor_from_vec(out, shape)?;
    if T1::OWNS_TAPE {
        let (x_ghost, s_ghost, y_ghost) = (x.ghost(), s.ghost(), y.ghost());
        tape.add_backward_op(move |grads| {
            let dout = take_grad!(grads, y_ghost);
            let mut ds = take_grad!(grads, s_ghost);
            let mut dx = if needs_dx {
                take_grad!(grads, x_ghost)
            } else {
                Vec::new()
            };
            channels::scale_channels_backward(
                &xs,
                &ss,
                batch,
                C,
                &dout,
                needs_dx.then_some(&mut dx[..]),
                &mut ds,
            );
            if needs_dx {
                put_grad!(grads, x_ghost, dx);
            }
            put_grad!(grads, s_ghost, ds);
            put_grad!(grads, y_ghost, dout);
            Ok(())
        });
    }
    Ok(y.put_tape(tape))
}

/// Zero padding around each image: `(top, bottom, left, right)` rows and columns of zeros
/// (Keras `ZeroPadding2D(((top, bottom), (left, right)))`). LeNet-5 read 28x28 digits
/// padded to 32x32 this way.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// use cnnkit_nn::ops::zero_pad2d;
/// let dev = Cpu::default();
/// let x: Images<1> = dev.ones_like(&(1, 28, 28, Const::<1>));
/// let y = zero_pad2d(x, (2, 2, 2, 2)).unwrap();
/// assert_eq!((y.shape().1, y.shape().2), (32, 32));
/// assert_eq!(y.as_vec().iter().sum::<f32>(), 784.0);
/// ```
pub fn zero_pad2d<B: Dim, H: Dim, W: Dim, const C: usize, T: Tape<f32, Cpu>>(
    x: Tensor<(B, H, W, Const<C>), f32, Cpu, T>,
    pad: (usize, usize, usize, usize),
) -> Result<ImageBatch<B, usize, usize, C, T>> {
    let (b, h, w, _) = *x.shape();
    let (batch, h, w) = (b.size(), h.size(), w.size());
    let (oh, ow) = (h + pad.0 + pad.1, w + pad.2 + pad.3);
    let (x, xs) = read(x)?;
    let mut out = vec![0.0f32; batch * oh * ow * C];
    channels::zero_pad(&xs, batch, (h, w, C), pad, &mut out);
    drop(xs);
    record_unary(x, out, (b, oh, ow, Const::<C>), move |dout, dx| {
        channels::zero_pad_backward(dout, batch, (h, w, C), pad, dx)
    })
}
