//! The convolution layer.

use std::marker::PhantomData;

use dfdx::nn::modules::{BuildOnDevice, Module, ModuleVisitor, NonMutableModule};
use dfdx::nn::tensor_collection::{TensorCollection, TensorOptions};
use dfdx::prelude::*;
use rand::distributions::uniform::SampleUniform;

use super::describe::{conv_row, Describe, FeatureShape, LayerRow};
use super::{forward_error, Activation, Identity, PaddingMode, Valid};
use crate::{init, ops};

/// A 2-D convolution layer: `IN` input channels, `OUT` filters of `K x K`, stride `S`,
/// padding `P` ([`super::Same`] or [`super::Valid`]) and a fused activation `A`
/// ([`super::Relu`] or [`super::Identity`]).
///
/// This is the builder type you write in a model; `dev.build_module` turns it into a
/// [`Conv2DModule`] that holds the weights.
///
/// Keras: `Conv2D(OUT, K, strides=S, padding=..., activation=...)`; the input channel count,
/// which Keras infers, is written out here so that the compiler can check it.
///
/// # Shapes
/// `(B, H, W, IN)` to `(B, H', W', OUT)`; see [`crate::ops::conv2d`].
///
/// ```
/// use cnnkit_nn::prelude::*;
/// // keras.layers.Conv2D(64, 7, activation="relu", padding="same", input_shape=[28, 28, 1])
/// type FirstLayer = Conv2D<1, 64, 7, 1, Same, Relu>;
/// let dev = Cpu::seed_from_u64(42);
/// let conv = dev.build_module::<FirstLayer, f32>();
/// let y = conv.forward(dev.zeros_like(&(1, 28, 28, Const::<1>)));
/// assert_eq!(*y.shape(), (1, 28, 28, Const::<64>));
/// ```
#[derive(Default, Clone, Copy, Debug)]
pub struct Conv2D<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize = 1,
    P = Valid,
    A = Identity,
>(PhantomData<(P, A)>);

/// A built [`Conv2D`] layer with its weights.
#[derive(Clone, Debug)]
pub struct Conv2DModule<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize,
    P,
    A,
    E: Dtype,
    D: Storage<E>,
> {
    /// Filters in Keras' layout `(K, K, IN, OUT)`: `weight[.., .., .., f]` is filter `f`.
    pub weight: Tensor<Rank4<K, K, IN, OUT>, E, D>,
    /// One bias per filter.
    pub bias: Tensor<Rank1<OUT>, E, D>,
    marker: PhantomData<(P, A)>,
}

impl<const IN: usize, const OUT: usize, const K: usize, const S: usize, P, A, E, D>
    BuildOnDevice<D, E> for Conv2D<IN, OUT, K, S, P, A>
where
    E: Dtype + num_traits::Float + SampleUniform,
    D: Device<E>,
    P: 'static,
    A: 'static,
{
    type Built = Conv2DModule<IN, OUT, K, S, P, A, E, D>;
}

impl<const IN: usize, const OUT: usize, const K: usize, const S: usize, P, A, E, D>
    TensorCollection<E, D> for Conv2DModule<IN, OUT, K, S, P, A, E, D>
where
    E: Dtype + num_traits::Float + SampleUniform,
    D: Device<E>,
    P: 'static,
    A: 'static,
{
    type To<E2: Dtype, D2: Device<E2>> = Conv2DModule<IN, OUT, K, S, P, A, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::tensor(
                    "weight",
                    |s| &s.weight,
                    |s| &mut s.weight,
                    // Keras' default, Glorot (Xavier) uniform.
                    TensorOptions::reset_with(|t| init::glorot_uniform(t, K * K * IN, K * K * OUT)),
                ),
                Self::tensor(
                    "bias",
                    |s| &s.bias,
                    |s| &mut s.bias,
                    TensorOptions::reset_to_zeros(),
                ),
            ),
            |(weight, bias)| Conv2DModule {
                weight,
                bias,
                marker: PhantomData,
            },
        )
    }
}

impl<const IN: usize, const OUT: usize, const K: usize, const S: usize, P, A, E, D>
    Conv2DModule<IN, OUT, K, S, P, A, E, D>
where
    E: Dtype,
    D: Storage<E>,
{
    /// A layer with the given filters (Keras' layout `(K, K, IN, OUT)`) and biases, for
    /// weights that come from elsewhere (see [`DenseModule::to_conv2d`](super::DenseModule::to_conv2d)).
    pub fn from_weights(
        weight: Tensor<Rank4<K, K, IN, OUT>, E, D>,
        bias: Tensor<Rank1<OUT>, E, D>,
    ) -> Self {
        Conv2DModule {
            weight,
            bias,
            marker: PhantomData,
        }
    }
}

impl<const IN: usize, const OUT: usize, const K: usize, const S: usize, P, A, E, D> NonMutableModule
    for Conv2DModule<IN, OUT, K, S, P, A, E, D>
where
    E: Dtype,
    D: Storage<E>,
{
}

impl<B, H, W, T, const IN: usize, const OUT: usize, const K: usize, const S: usize, P, A>
    Module<Tensor<(B, H, W, Const<IN>), f32, Cpu, T>>
    for Conv2DModule<IN, OUT, K, S, P, A, f32, Cpu>
where
    B: Dim,
    H: Dim,
    W: Dim,
    T: Tape<f32, Cpu>,
    P: PaddingMode,
    A: Activation,
{
    type Output = Tensor<(B, usize, usize, Const<OUT>), f32, Cpu, T>;
    type Error = CpuError;

    fn try_forward(
        &self,
        x: Tensor<(B, H, W, Const<IN>), f32, Cpu, T>,
    ) -> Result<Self::Output, CpuError> {
        const {
            assert!(K > 0, "Conv2D: the kernel size K must be at least 1");
            assert!(S > 0, "Conv2D: the stride S must be at least 1");
            assert!(OUT > 0, "Conv2D: a layer needs at least one filter");
        }
        if A::RELU {
            ops::conv2d(x, &self.weight, &self.bias, S, P::PADDING, true)
                .map_err(|e| forward_error("Conv2D", e))
        } else {
            let y = ops::conv2d(x, &self.weight, &self.bias, S, P::PADDING, false)
                .map_err(|e| forward_error("Conv2D", e))?;
            A::apply(y)
        }
    }
}

/// A 2-D convolution layer without bias: Keras' `Conv2D(OUT, K, strides=S, padding=...,
/// use_bias=False)`, the convolution placed before a [`super::BatchNorm`] (whose `beta`
/// already shifts each channel, so a bias would be a redundant parameter).
///
/// ```
/// use cnnkit_nn::prelude::*;
/// // keras.layers.Conv2D(64, 3, padding="same", use_bias=False)
/// let dev = Cpu::seed_from_u64(0);
/// let conv = dev.build_module::<Conv2DNoBias<32, 64, 3, 1, Same>, f32>();
/// let s = summary(&conv, [14, 14, 32]).unwrap();
/// assert_eq!(s.total_params(), 3 * 3 * 32 * 64);
/// ```
#[derive(Default, Clone, Copy, Debug)]
pub struct Conv2DNoBias<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize = 1,
    P = Valid,
    A = Identity,
>(PhantomData<(P, A)>);

/// A built [`Conv2DNoBias`] layer.
#[derive(Clone, Debug)]
pub struct Conv2DNoBiasModule<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize,
    P,
    A,
    E: Dtype,
    D: Storage<E>,
> {
    /// Filters in Keras' layout `(K, K, IN, OUT)`.
    pub weight: Tensor<Rank4<K, K, IN, OUT>, E, D>,
    marker: PhantomData<(P, A)>,
}

impl<const IN: usize, const OUT: usize, const K: usize, const S: usize, P, A, E, D>
    BuildOnDevice<D, E> for Conv2DNoBias<IN, OUT, K, S, P, A>
where
    E: Dtype + num_traits::Float + SampleUniform,
    D: Device<E>,
    P: 'static,
    A: 'static,
{
    type Built = Conv2DNoBiasModule<IN, OUT, K, S, P, A, E, D>;
}

impl<const IN: usize, const OUT: usize, const K: usize, const S: usize, P, A, E, D>
    TensorCollection<E, D> for Conv2DNoBiasModule<IN, OUT, K, S, P, A, E, D>
where
    E: Dtype + num_traits::Float + SampleUniform,
    D: Device<E>,
    P: 'static,
    A: 'static,
{
    type To<E2: Dtype, D2: Device<E2>> = Conv2DNoBiasModule<IN, OUT, K, S, P, A, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            Self::tensor(
                "weight",
                |s| &s.weight,
                |s| &mut s.weight,
                TensorOptions::reset_with(|t| init::glorot_uniform(t, K * K * IN, K * K * OUT)),
            ),
            |weight| Conv2DNoBiasModule {
                weight,
                marker: PhantomData,
            },
        )
    }
}

impl<const IN: usize, const OUT: usize, const K: usize, const S: usize, P, A, E, D> NonMutableModule
    for Conv2DNoBiasModule<IN, OUT, K, S, P, A, E, D>
where
    E: Dtype,
    D: Storage<E>,
{
}

impl<const IN: usize, const OUT: usize, const K: usize, const S: usize, P: PaddingMode>
    Conv2DNoBiasModule<IN, OUT, K, S, P, Identity, f32, Cpu>
{
    /// This convolution and the batch normalization after it in inference mode, folded
    /// into one convolution with bias (then the ReLU, when `relu`, inside the same
    /// kernel): the filters of output channel `o` scaled by the normalization's
    /// `scale[o]`, and its `shift` as the bias ([`BatchNormModule::inference_affine`]).
    /// One pass over the feature map instead of two, and no copy of it in between. The
    /// result equals the two layers one after the other up to float rounding.
    ///
    /// The folded filters are new tensors, so gradients would not reach the layer's own
    /// parameters: callers use this only without a tape.
    pub(crate) fn forward_folding<B: Dim, H: Dim, W: Dim, T: Tape<f32, Cpu>>(
        &self,
        x: Tensor<(B, H, W, Const<IN>), f32, Cpu, T>,
        bn: &super::BatchNormModule<OUT, f32, Cpu>,
        relu: bool,
    ) -> Result<ops::ImageBatch<B, usize, usize, OUT, T>, CpuError> {
        let (scale, shift) = bn.inference_affine();
        let mut w = self.weight.as_vec();
        for filters in w.chunks_exact_mut(OUT) {
            for (v, s) in filters.iter_mut().zip(&scale) {
                *v *= s;
            }
        }
        let dev = self.weight.device();
        let w = dev.try_tensor_from_vec(w, (Const::<K>, Const::<K>, Const::<IN>, Const::<OUT>))?;
        let b = dev.try_tensor_from_vec(shift, (Const::<OUT>,))?;
        ops::conv2d(x, &w, &b, S, P::PADDING, relu).map_err(|e| forward_error("Conv2D", e))
    }
}

impl<B, H, W, T, const IN: usize, const OUT: usize, const K: usize, const S: usize, P, A>
    Module<Tensor<(B, H, W, Const<IN>), f32, Cpu, T>>
    for Conv2DNoBiasModule<IN, OUT, K, S, P, A, f32, Cpu>
where
    B: Dim,
    H: Dim,
    W: Dim,
    T: Tape<f32, Cpu>,
    P: PaddingMode,
    A: Activation,
{
    type Output = Tensor<(B, usize, usize, Const<OUT>), f32, Cpu, T>;
    type Error = CpuError;

    fn try_forward(
        &self,
        x: Tensor<(B, H, W, Const<IN>), f32, Cpu, T>,
    ) -> Result<Self::Output, CpuError> {
        const {
            assert!(K > 0, "Conv2DNoBias: the kernel size K must be at least 1");
            assert!(S > 0, "Conv2DNoBias: the stride S must be at least 1");
            assert!(OUT > 0, "Conv2DNoBias: a layer needs at least one filter");
        }
        let y = ops::conv2d_no_bias(x, &self.weight, S, P::PADDING, A::RELU)
            .map_err(|e| forward_error("Conv2D", e))?;
        if A::RELU {
            Ok(y)
        } else {
            A::apply(y)
        }
    }
}

impl<
        const IN: usize,
        const OUT: usize,
        const K: usize,
        const S: usize,
        P: PaddingMode,
        A: Activation,
    > Describe for Conv2DNoBiasModule<IN, OUT, K, S, P, A, f32, Cpu>
{
    fn describe(
        &self,
        input: FeatureShape,
        rows: &mut Vec<LayerRow>,
    ) -> crate::Result<FeatureShape> {
        conv_row(rows, input, (IN, OUT, K, S), P::PADDING, A::NAME, false)
    }
}
