//! Batch normalization and local response normalization as differentiable ops.

use dfdx::prelude::*;

use super::{input_needs_gradient, output_buffer, read, read_param, record_unary, ImageBatch};
use crate::error::{Error, Result};
use cnnkit_kernels::norm::{self, BatchNormMode};
use cnnkit_kernels::scratch::Recycled;

pub use cnnkit_kernels::norm::LrnSettings;

/// The mean and (biased) variance of each channel over a batch, which a training step of
/// batch normalization normalises with and then folds into the moving averages.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchStatistics {
    /// Mean of each channel.
    pub mean: Vec<f32>,
    /// Variance of each channel, divided by the number of values (as Keras computes it).
    pub variance: Vec<f32>,
}

/// Checks that the last axis of `shape` has `c` elements.
fn check_channels<S: Shape>(shape: &S, c: usize, op: &str) -> Result<()> {
    let last = shape.concrete().into_iter().last().unwrap_or(1);
    if last != c || S::NUM_DIMS < 2 {
        return Err(Error::Shape {
            layer: op.to_string(),
            expected: format!("a batch whose last axis has {c} channels or features"),
            actual: format!("{:?}", shape.concrete().into_iter().collect::<Vec<_>>()),
        });
    }
    Ok(())
}

/// Batch normalization with the batch's own statistics (training mode): each channel is
/// normalised to mean 0 and variance 1 over the batch (and, for images, over all pixels),
/// then scaled by `gamma` and shifted by `beta`. Returns the statistics too, for the
/// moving averages.
///
/// Keras: `BatchNormalization()(x, training=True)`.
///
/// # Shapes
/// Any shape whose last axis has `C` elements: `(B, H, W, C)` or `(B, C)`.
///
/// # Errors
/// [`Error::Shape`] when the last axis is not `C`.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// use cnnkit_nn::ops::batch_norm_training;
/// let dev = Cpu::default();
/// let x = dev.tensor_from_vec(vec![1.0f32, 3.0, 5.0, 7.0], (4, Const::<1>));
/// let (y, stats) = batch_norm_training(x, &dev.tensor([1.0f32]), &dev.tensor([0.0f32]), 1e-3).unwrap();
/// assert_eq!((stats.mean[0], stats.variance[0]), (4.0, 5.0));
/// let y = y.as_vec();
/// assert!((y[0] + 3.0 / (5.0f32 + 1e-3).sqrt()).abs() < 1e-6);
/// ```
pub fn batch_norm_training<S: Shape, T: Tape<f32, Cpu>, const C: usize>(
    x: Tensor<S, f32, Cpu, T>,
    gamma: &Tensor<Rank1<C>, f32, Cpu>,
    beta: &Tensor<Rank1<C>, f32, Cpu>,
    epsilon: f32,
) -> Result<(Tensor<S, f32, Cpu, T>, BatchStatistics)> {
    training(x, gamma, beta, epsilon, false)
}

/// [`batch_norm_training`] followed by a ReLU, in one pass over the data and with one
/// recorded backward step: what a residual unit's `BatchNormalization()` then
/// `Activation("relu")` compute, without the copy of the feature map and the gradient
/// buffer that a separate [`super::relu`] costs. The ReLU's gradient gate is recomputed
/// from the kept input in the backward pass, so nothing more is kept.
///
/// # Errors
/// [`Error::Shape`] when the last axis is not `C`.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// use cnnkit_nn::ops::{batch_norm_relu_training, batch_norm_training, relu};
/// let dev = Cpu::default();
/// let x = || dev.tensor_from_vec(vec![1.0f32, 3.0, 5.0, 7.0], (4, Const::<1>));
/// let (gamma, beta) = (dev.tensor([1.0f32]), dev.tensor([0.5f32]));
/// let (fused, _) = batch_norm_relu_training(x(), &gamma, &beta, 1e-3).unwrap();
/// let (y, _) = batch_norm_training(x(), &gamma, &beta, 1e-3).unwrap();
/// assert_eq!(fused.as_vec(), relu(y).unwrap().as_vec());
/// ```
pub fn batch_norm_relu_training<S: Shape, T: Tape<f32, Cpu>, const C: usize>(
    x: Tensor<S, f32, Cpu, T>,
    gamma: &Tensor<Rank1<C>, f32, Cpu>,
    beta: &Tensor<Rank1<C>, f32, Cpu>,
    epsilon: f32,
) -> Result<(Tensor<S, f32, Cpu, T>, BatchStatistics)> {
    training(x, gamma, beta, epsilon, true)
}

/// Training mode, with or without the fused ReLU.
fn training<S: Shape, T: Tape<f32, Cpu>, const C: usize>(
    x: Tensor<S, f32, Cpu, T>,
    gamma: &Tensor<Rank1<C>, f32, Cpu>,
    beta: &Tensor<Rank1<C>, f32, Cpu>,
    epsilon: f32,
    relu: bool,
) -> Result<(Tensor<S, f32, Cpu, T>, BatchStatistics)> {
    check_channels(x.shape(), C, "BatchNormalization")?;
    let needs_dx = input_needs_gradient();
    let (x, xs) = read(x)?;
    let (mean, variance) = norm::channel_moments(&xs, C);
    let inv_std = norm::inverse_std(&variance, epsilon);
    let stats = BatchStatistics {
        mean: mean.clone(),
        variance,
    };
    let y = record_batch_norm(
        x,
        xs,
        needs_dx,
        gamma,
        beta,
        mean,
        inv_std,
        BatchNormMode::BatchStatistics,
        relu,
    )?;
    Ok((y, stats))
}

/// Batch normalization with fixed statistics (inference mode, the moving averages):
/// `gamma * (x - mean) / sqrt(variance + epsilon) + beta`, channel by channel.
///
/// Keras: `BatchNormalization()(x, training=False)`, what `predict` and `evaluate` use.
///
/// # Errors
/// [`Error::Shape`] when the last axis is not `C`.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// use cnnkit_nn::ops::batch_norm_inference;
/// let dev = Cpu::default();
/// let x = dev.tensor_from_vec(vec![3.0f32, 1.0], (1, Const::<2>));
/// let one = dev.tensor([1.0f32, 1.0]);
/// let y = batch_norm_inference(x, &one, &dev.tensor([0.0f32, 0.0]), &one, &dev.tensor([3.0f32, 0.0]), 1.0).unwrap();
/// assert_eq!(y.as_vec(), vec![1.0, 0.0]); // (3 - 1) / sqrt(3 + 1), (1 - 1) / 1
/// ```
pub fn batch_norm_inference<S: Shape, T: Tape<f32, Cpu>, const C: usize>(
    x: Tensor<S, f32, Cpu, T>,
    gamma: &Tensor<Rank1<C>, f32, Cpu>,
    beta: &Tensor<Rank1<C>, f32, Cpu>,
    mean: &Tensor<Rank1<C>, f32, Cpu>,
    variance: &Tensor<Rank1<C>, f32, Cpu>,
    epsilon: f32,
) -> Result<Tensor<S, f32, Cpu, T>> {
    inference(x, gamma, beta, mean, variance, epsilon, false)
}

/// [`batch_norm_inference`] followed by a ReLU in the same pass (see
/// [`batch_norm_relu_training`]).
///
/// # Errors
/// [`Error::Shape`] when the last axis is not `C`.
pub fn batch_norm_relu_inference<S: Shape, T: Tape<f32, Cpu>, const C: usize>(
    x: Tensor<S, f32, Cpu, T>,
    gamma: &Tensor<Rank1<C>, f32, Cpu>,
    beta: &Tensor<Rank1<C>, f32, Cpu>,
    mean: &Tensor<Rank1<C>, f32, Cpu>,
    variance: &Tensor<Rank1<C>, f32, Cpu>,
    epsilon: f32,
) -> Result<Tensor<S, f32, Cpu, T>> {
    inference(x, gamma, beta, mean, variance, epsilon, true)
}

/// Inference mode, with or without the fused ReLU.
fn inference<S: Shape, T: Tape<f32, Cpu>, const C: usize>(
    x: Tensor<S, f32, Cpu, T>,
    gamma: &Tensor<Rank1<C>, f32, Cpu>,
    beta: &Tensor<Rank1<C>, f32, Cpu>,
    mean: &Tensor<Rank1<C>, f32, Cpu>,
    variance: &Tensor<Rank1<C>, f32, Cpu>,
    epsilon: f32,
    relu: bool,
) -> Result<Tensor<S, f32, Cpu, T>> {
    check_channels(x.shape(), C, "BatchNormalization")?;
    let needs_dx = input_needs_gradient();
    let (x, xs) = read(x)?;
    let inv_std = norm::inverse_std(&read_param(variance)?, epsilon);
    record_batch_norm(
        x,
        xs,
        needs_dx,
        gamma,
        beta,
        read_param(mean)?,
        inv_std,
        BatchNormMode::Fixed,
        relu,
    )
}

/// The forward pass of batch normalization with the given statistics (and the ReLU when
/// `relu`), and with a tape the backward pass for `mode`: what [`batch_norm_training`],
/// [`batch_norm_inference`] and their ReLU forms share.
#[allow(clippy::too_many_arguments)]
fn record_batch_norm<S: Shape, T: Tape<f32, Cpu>, const C: usize>(
    x: Tensor<S, f32, Cpu, T>,
    xs: Recycled,
    needs_dx: bool,
    gamma: &Tensor<Rank1<C>, f32, Cpu>,
    beta: &Tensor<Rank1<C>, f32, Cpu>,
    mean: Vec<f32>,
    inv_std: Vec<f32>,
    mode: BatchNormMode,
    relu: bool,
) -> Result<Tensor<S, f32, Cpu, T>> {
    let shape = *x.shape();
    let (g, b) = (read_param(gamma)?, read_param(beta)?);
    let (x, mut tape) = x.split_tape();
    if !T::OWNS_TAPE {
        // Inference: nothing keeps the input, so its copy becomes the output.
        let mut out = xs.into_vec();
        norm::batch_norm_forward_in_place(&mut out, &mean, &inv_std, &g, &b, relu);
        return Ok(x.device().try_tensor_from_vec(out, shape)?.put_tape(tape));
    }
    let mut out = output_buffer(xs.len());
    norm::batch_norm_forward(&xs, &mean, &inv_std, &g, &b, relu, &mut out);
    let y = x.device().try_tensor_from_vec(out, shape)?;
    {
        let (x_ghost, g_ghost, b_ghost, y_ghost) =
            (x.ghost(), gamma.ghost(), beta.ghost(), y.ghost());
        tape.add_backward_op(move |grads| {
            let dout = take_grad!(grads, y_ghost);
            let mut dg = take_grad!(grads, g_ghost);
            let mut db = take_grad!(grads, b_ghost);
            let mut dx = if needs_dx {
                take_grad!(grads, x_ghost)
            } else {
                Vec::new()
            };
            norm::batch_norm_backward(
                mode,
                &xs,
                &mean,
                &inv_std,
                &g,
                &b,
                relu,
                &dout,
                needs_dx.then_some(&mut dx[..]),
                &mut dg,
                &mut db,
            );
            if needs_dx {
                put_grad!(grads, x_ghost, dx);
            }
            put_grad!(grads, g_ghost, dg);
            put_grad!(grads, b_ghost, db);
            put_grad!(grads, y_ghost, dout);
            Ok(())
        });
    }
    Ok(y.put_tape(tape))
}

/// Local response normalization across channels, as TensorFlow's
/// `tf.nn.local_response_normalization(x, depth_radius, bias, alpha, beta)`:
/// `x[c] / (bias + alpha * sum of x[c']^2 for |c' - c| <= depth_radius)^beta`.
/// AlexNet used it after its first two convolutions ([`LrnSettings::default`]).
///
/// # Shapes
/// `(B, H, W, C)` unchanged.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// use cnnkit_nn::ops::{local_response_norm, LrnSettings};
/// let dev = Cpu::default();
/// let x: Images<3> = dev.tensor_from_vec(vec![1.0, 0.0, 2.0], (1, 1, 1, Const::<3>));
/// let s = LrnSettings { depth_radius: 1, bias: 1.0, alpha: 1.0, beta: 1.0 };
/// assert_eq!(local_response_norm(x, s).unwrap().as_vec(), vec![0.5, 0.0, 0.4]);
/// ```
pub fn local_response_norm<B: Dim, H: Dim, W: Dim, const C: usize, T: Tape<f32, Cpu>>(
    x: Tensor<(B, H, W, Const<C>), f32, Cpu, T>,
    settings: LrnSettings,
) -> Result<ImageBatch<B, H, W, C, T>> {
    let shape = *x.shape();
    let (x, xs) = read(x)?;
    let mut out = vec![0.0f32; xs.len()];
    norm::lrn_forward(&settings, &xs, C, &mut out);
    record_unary(x, out, shape, move |dout, dx| {
        norm::lrn_backward(&settings, &xs, C, dout, dx)
    })
}
