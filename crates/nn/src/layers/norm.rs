//! Normalisation layers: batch normalization and local response normalization.

use dfdx::nn::modules::ZeroSizedModule;
use dfdx::nn::modules::{BuildOnDevice, Module, ModuleMut, ModuleVisitor, NonMutableModule};
use dfdx::nn::tensor_collection::{TensorCollection, TensorOptions};
use dfdx::prelude::*;

use super::describe::{image_input, push, push_with_frozen, Describe, FeatureShape, LayerRow};
use super::forward_error;
use crate::error::Error;
use crate::ops::{self, LrnSettings};

/// Batch normalization over the last axis (the channels of NHWC images, or the features of
/// a flat layer), with Keras' defaults: momentum 0.99, epsilon 1e-3, `gamma` (ones) and
/// `beta` (zeros) trained, moving mean (zeros) and moving variance (ones) not trained.
///
/// - **Training** (`forward_mut`, what [`crate::train::fit`] calls): each channel is
///   normalised with the batch's own mean and variance, and the moving averages move
///   toward them: `moving = moving * momentum + batch * (1 - momentum)`.
/// - **Inference** (`forward`, what `evaluate`, `predict` and the inspection helpers
///   call): the moving averages are used, so a prediction does not depend on the other
///   images of its batch.
///
/// Checkpoints save all four vectors; [`crate::model::summary`] counts `gamma` and `beta`
/// as trainable and the moving statistics as non-trainable, as Keras does.
///
/// Keras: `BatchNormalization()`.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let dev = Cpu::default();
/// let mut bn = dev.build_module::<BatchNorm<2>, f32>();
/// let x: Images<2> = dev.tensor_from_vec(vec![1.0, 10.0, 3.0, 30.0], (1, 1, 2, Const::<2>));
/// // Training: the batch's statistics, mean 0 and variance ~1 per channel.
/// let y = bn.forward_mut(x.clone().traced(Gradients::leaky())).as_vec();
/// assert!((y[0] + y[2]).abs() < 1e-6 && (y[0] + 1.0).abs() < 1e-3);
/// // The moving mean moved 1% of the way to the batch mean (2 and 20).
/// assert!((bn.moving_mean.as_vec()[1] - 0.2).abs() < 1e-6);
/// // Inference: the moving statistics (still close to mean 0, variance 1).
/// let y = bn.forward(x).as_vec();
/// assert!((y[0] - 0.98 / 1.001f32.sqrt()).abs() < 1e-5);
/// let s = summary(&bn, [1, 2, 2]).unwrap();
/// assert_eq!((s.trainable_params(), s.non_trainable_params()), (4, 4));
/// ```
#[derive(Default, Clone, Copy, Debug)]
pub struct BatchNorm<const C: usize>;

/// A built [`BatchNorm`] layer.
#[derive(Clone, Debug)]
pub struct BatchNormModule<const C: usize, E: Dtype, D: Storage<E>> {
    /// Scale per channel (trained).
    pub gamma: Tensor<Rank1<C>, E, D>,
    /// Shift per channel (trained).
    pub beta: Tensor<Rank1<C>, E, D>,
    /// Moving average of the batch means (not trained: updated by training steps).
    pub moving_mean: Tensor<Rank1<C>, E, D>,
    /// Moving average of the batch variances (not trained).
    pub moving_variance: Tensor<Rank1<C>, E, D>,
    /// Weight of the old moving average in each update (Keras' default 0.99).
    pub momentum: f32,
    /// Added to the variance before the square root (Keras' default 1e-3).
    pub epsilon: f32,
}

impl<const C: usize, E: Dtype, D: Device<E>> BuildOnDevice<D, E> for BatchNorm<C> {
    type Built = BatchNormModule<C, E, D>;
}

impl<const C: usize, E: Dtype, D: Device<E>> TensorCollection<E, D> for BatchNormModule<C, E, D> {
    type To<E2: Dtype, D2: Device<E2>> = BatchNormModule<C, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::tensor(
                    "gamma",
                    |s| &s.gamma,
                    |s| &mut s.gamma,
                    TensorOptions::reset_with(|t| t.try_fill_with_ones()),
                ),
                Self::tensor(
                    "beta",
                    |s| &s.beta,
                    |s| &mut s.beta,
                    TensorOptions::reset_to_zeros(),
                ),
                Self::tensor(
                    "moving_mean",
                    |s| &s.moving_mean,
                    |s| &mut s.moving_mean,
                    TensorOptions::detached(|t| t.try_fill_with_zeros()),
                ),
                Self::tensor(
                    "moving_variance",
                    |s| &s.moving_variance,
                    |s| &mut s.moving_variance,
                    TensorOptions::detached(|t| t.try_fill_with_ones()),
                ),
            ),
            |(gamma, beta, moving_mean, moving_variance)| BatchNormModule {
                gamma,
                beta,
                moving_mean,
                moving_variance,
                momentum: 0.99,
                epsilon: 1e-3,
            },
        )
    }
}

impl<const C: usize> BatchNormModule<C, f32, Cpu> {
    /// Inference mode as one affine map per channel, `y = z * scale + shift` with
    /// `scale = gamma / sqrt(moving_variance + epsilon)` and `shift = beta - moving_mean *
    /// scale`: what a convolution before it absorbs when the two are folded for inference
    /// ([`super::Conv2DNoBiasModule`]'s folded forward pass).
    pub(crate) fn inference_affine(&self) -> (Vec<f32>, Vec<f32>) {
        use cnnkit_kernels::norm;
        let inv_std = norm::inverse_std(&self.moving_variance.as_vec(), self.epsilon);
        let (gamma, beta) = (self.gamma.as_vec(), self.beta.as_vec());
        norm::folded_affine(&self.moving_mean.as_vec(), &inv_std, &gamma, &beta)
    }

    /// Inference mode (the moving statistics), then the ReLU in the same pass when
    /// `relu`: [`Module::try_forward`], and a residual unit's `BatchNormalization()` then
    /// `Activation("relu")` ([`super::ResidualMain`]).
    pub(crate) fn forward_inference<S: Shape, T: Tape<f32, Cpu>>(
        &self,
        x: Tensor<S, f32, Cpu, T>,
        relu: bool,
    ) -> Result<Tensor<S, f32, Cpu, T>, CpuError> {
        let (gamma, beta) = (&self.gamma, &self.beta);
        let (mean, var) = (&self.moving_mean, &self.moving_variance);
        let y = if relu {
            ops::batch_norm_relu_inference(x, gamma, beta, mean, var, self.epsilon)
        } else {
            ops::batch_norm_inference(x, gamma, beta, mean, var, self.epsilon)
        };
        y.map_err(|e| forward_error("BatchNormalization", e))
    }

    /// Training mode (the batch's statistics, folded into the moving ones), then the ReLU
    /// in the same pass when `relu`: [`ModuleMut::try_forward_mut`] and the fused form.
    pub(crate) fn forward_training<S: Shape, T: Tape<f32, Cpu>>(
        &mut self,
        x: Tensor<S, f32, Cpu, T>,
        relu: bool,
    ) -> Result<Tensor<S, f32, Cpu, T>, CpuError> {
        let (gamma, beta) = (&self.gamma, &self.beta);
        let (y, stats) = if relu {
            ops::batch_norm_relu_training(x, gamma, beta, self.epsilon)
        } else {
            ops::batch_norm_training(x, gamma, beta, self.epsilon)
        }
        .map_err(|e| forward_error("BatchNormalization", e))?;
        self.update_moving(&stats);
        Ok(y)
    }

    /// Moves the moving mean and variance toward a training step's batch statistics
    /// (Keras: `moving = moving * momentum + batch * (1 - momentum)`).
    pub(crate) fn update_moving(&mut self, stats: &ops::BatchStatistics) {
        let update = |t: &mut Tensor<Rank1<C>, f32, Cpu>, batch: &[f32], momentum: f32| {
            let mut v = t.as_vec();
            cnnkit_kernels::norm::update_moving(&mut v, batch, momentum);
            t.copy_from(&v);
        };
        update(&mut self.moving_mean, &stats.mean, self.momentum);
        update(&mut self.moving_variance, &stats.variance, self.momentum);
    }
}

impl<const C: usize, S: Shape, T: Tape<f32, Cpu>> Module<Tensor<S, f32, Cpu, T>>
    for BatchNormModule<C, f32, Cpu>
{
    type Output = Tensor<S, f32, Cpu, T>;
    type Error = CpuError;

    fn try_forward(&self, x: Tensor<S, f32, Cpu, T>) -> Result<Self::Output, CpuError> {
        self.forward_inference(x, false)
    }
}

impl<const C: usize, S: Shape, T: Tape<f32, Cpu>> ModuleMut<Tensor<S, f32, Cpu, T>>
    for BatchNormModule<C, f32, Cpu>
{
    type Output = Tensor<S, f32, Cpu, T>;
    type Error = CpuError;

    fn try_forward_mut(&mut self, x: Tensor<S, f32, Cpu, T>) -> Result<Self::Output, CpuError> {
        self.forward_training(x, false)
    }
}

impl<const C: usize> Describe for BatchNormModule<C, f32, Cpu> {
    fn describe(
        &self,
        input: FeatureShape,
        rows: &mut Vec<LayerRow>,
    ) -> crate::Result<FeatureShape> {
        let (kind, base) = ("BatchNormalization", "batch_normalization");
        let c = match input {
            FeatureShape::Image { c, .. } | FeatureShape::Flat(c) => c,
        };
        if c != C {
            return Err(Error::Shape {
                layer: format!("{base} ({kind})"),
                expected: format!("{C} channels or features"),
                actual: format!("{input}; write BatchNorm<{c}>"),
            });
        }
        Ok(push_with_frozen(
            rows,
            kind,
            base,
            input,
            (4 * C, 2 * C),
            format!("momentum {}, epsilon {}", self.momentum, self.epsilon),
        ))
    }
}

/// Local response normalization across channels (AlexNet), with TensorFlow's semantics
/// (`tf.nn.local_response_normalization`); the fields default to AlexNet's values
/// (depth radius 2, bias 1, alpha 2e-5, beta 0.75). No parameters are trained.
///
/// Keras has no such layer; the book writes it as
/// `Lambda(lambda x: tf.nn.local_response_normalization(x, depth_radius=2, bias=1, alpha=0.00002, beta=0.75))`.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let dev = Cpu::default();
/// let x: Images<8> = dev.ones_like(&(1, 2, 2, Const::<8>));
/// let y = LocalResponseNorm::default().forward(x).as_vec();
/// // Channel 0 sees channels 0..=2: 1 / (1 + 2e-5 * 3)^0.75.
/// assert!((y[0] - (1.0f32 + 6e-5).powf(-0.75)).abs() < 1e-7);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct LocalResponseNorm(pub LrnSettings);

impl ZeroSizedModule for LocalResponseNorm {}
impl NonMutableModule for LocalResponseNorm {}

impl<B: Dim, H: Dim, W: Dim, T: Tape<f32, Cpu>, const C: usize>
    Module<Tensor<(B, H, W, Const<C>), f32, Cpu, T>> for LocalResponseNorm
{
    type Output = Tensor<(B, H, W, Const<C>), f32, Cpu, T>;
    type Error = CpuError;

    fn try_forward(
        &self,
        x: Tensor<(B, H, W, Const<C>), f32, Cpu, T>,
    ) -> Result<Self::Output, CpuError> {
        ops::local_response_norm(x, self.0).map_err(|e| forward_error("LocalResponseNorm", e))
    }
}

impl Describe for LocalResponseNorm {
    fn describe(
        &self,
        input: FeatureShape,
        rows: &mut Vec<LayerRow>,
    ) -> crate::Result<FeatureShape> {
        let (kind, base) = ("LocalResponseNorm", "local_response_norm");
        image_input(rows, kind, base, input, None)?;
        let s = self.0;
        Ok(push(
            rows,
            kind,
            base,
            input,
            0,
            format!(
                "depth_radius {}, bias {}, alpha {}, beta {}",
                s.depth_radius, s.bias, s.alpha, s.beta
            ),
        ))
    }
}
