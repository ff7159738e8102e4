//! Depthwise and depthwise separable convolutions (MobileNet, Xception).

use std::marker::PhantomData;

use dfdx::nn::modules::{BuildOnDevice, Module, ModuleVisitor, NonMutableModule};
use dfdx::nn::tensor_collection::{TensorCollection, TensorOptions};
use dfdx::prelude::*;
use rand::distributions::uniform::SampleUniform;

use super::describe::{image_input, push, spatial, Describe, FeatureShape, LayerRow};
use super::{forward_error, Activation, BiasMode, Identity, PaddingMode, UseBias, Valid};
use crate::arith::Padding;
use crate::{init, ops};

/// A depthwise convolution with depth multiplier 1: one `K x K` filter per channel, no
/// mixing between channels. `Bias` is [`UseBias`] (Keras' default) or [`super::NoBias`].
///
/// Keras: `DepthwiseConv2D(K, strides=S, padding=..., activation=...)`. Parameters:
/// `K * K * C` (+ `C` with bias), against `K * K * C * C` (+ `C`) for a `Conv2D` with as
/// many outputs.
///
/// # Shapes
/// `(B, H, W, C)` to `(B, H', W', C)`.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// // keras.layers.DepthwiseConv2D(3, padding="same")
/// let dev = Cpu::seed_from_u64(0);
/// let layer = dev.build_module::<DepthwiseConv2D<32, 3, 1, Same>, f32>();
/// let y = layer.forward(dev.zeros_like(&(2, 14, 14, Const::<32>)));
/// assert_eq!(*y.shape(), (2, 14, 14, Const::<32>));
/// assert_eq!(summary(&layer, [14, 14, 32]).unwrap().total_params(), 3 * 3 * 32 + 32);
/// ```
#[derive(Default, Clone, Copy, Debug)]
pub struct DepthwiseConv2D<
    const C: usize,
    const K: usize,
    const S: usize = 1,
    P = Valid,
    A = Identity,
    Bias = UseBias,
>(PhantomData<(P, A, Bias)>);

/// A built [`DepthwiseConv2D`].
#[derive(Clone, Debug)]
pub struct DepthwiseConv2DModule<
    const C: usize,
    const K: usize,
    const S: usize,
    P,
    A,
    Bias,
    E: Dtype,
    D: Storage<E>,
> {
    /// Keras' `depthwise_kernel`, `(K, K, C, 1)`: `weight[.., .., c, 0]` filters channel `c`.
    pub weight: Tensor<Rank4<K, K, C, 1>, E, D>,
    /// One bias per channel, or `None` for [`super::NoBias`].
    pub bias: Option<Tensor<Rank1<C>, E, D>>,
    marker: PhantomData<(P, A, Bias)>,
}

/// A depthwise separable convolution: a [`DepthwiseConv2D`] (stride `S`, no bias) followed
/// by a 1x1 convolution to `OUT` channels with bias (unless `Bias` is [`super::NoBias`])
/// and activation `A`. Xception is built from these.
///
/// Keras: `SeparableConv2D(OUT, K, strides=S, padding=..., activation=...)`, parameters
/// `K * K * IN + IN * OUT (+ OUT)`.
///
/// # Shapes
/// `(B, H, W, IN)` to `(B, H', W', OUT)`.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// // keras.layers.SeparableConv2D(128, 3, padding="same")
/// let dev = Cpu::seed_from_u64(0);
/// let layer = dev.build_module::<SeparableConv2D<64, 128, 3, 1, Same>, f32>();
/// let s = summary(&layer, [28, 28, 64]).unwrap();
/// assert_eq!(s.total_params(), 3 * 3 * 64 + 64 * 128 + 128);
/// let y = layer.forward(dev.zeros_like(&(1, 28, 28, Const::<64>)));
/// assert_eq!(*y.shape(), (1, 28, 28, Const::<128>));
/// ```
#[derive(Default, Clone, Copy, Debug)]
pub struct SeparableConv2D<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize = 1,
    P = Valid,
    A = Identity,
    Bias = UseBias,
>(PhantomData<(P, A, Bias)>);

/// A built [`SeparableConv2D`].
#[derive(Clone, Debug)]
pub struct SeparableConv2DModule<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize,
    P,
    A,
    Bias,
    E: Dtype,
    D: Storage<E>,
> {
    /// Keras' `depthwise_kernel`, `(K, K, IN, 1)`.
    pub depthwise: Tensor<Rank4<K, K, IN, 1>, E, D>,
    /// Keras' `pointwise_kernel`, `(1, 1, IN, OUT)`.
    pub pointwise: Tensor<Rank4<1, 1, IN, OUT>, E, D>,
    /// One bias per output channel, or `None` for [`super::NoBias`].
    pub bias: Option<Tensor<Rank1<OUT>, E, D>>,
    marker: PhantomData<(P, A, Bias)>,
}

impl<const C: usize, const K: usize, const S: usize, P, A, Bias, E, D> BuildOnDevice<D, E>
    for DepthwiseConv2D<C, K, S, P, A, Bias>
where
    E: Dtype + num_traits::Float + SampleUniform,
    D: Device<E>,
    P: 'static,
    A: 'static,
    Bias: BiasMode,
{
    type Built = DepthwiseConv2DModule<C, K, S, P, A, Bias, E, D>;
}

impl<const IN: usize, const OUT: usize, const K: usize, const S: usize, P, A, Bias, E, D>
    BuildOnDevice<D, E> for SeparableConv2D<IN, OUT, K, S, P, A, Bias>
where
    E: Dtype + num_traits::Float + SampleUniform,
    D: Device<E>,
    P: 'static,
    A: 'static,
    Bias: BiasMode,
{
    type Built = SeparableConv2DModule<IN, OUT, K, S, P, A, Bias, E, D>;
}

impl<const C: usize, const K: usize, const S: usize, P, A, Bias, E, D> TensorCollection<E, D>
    for DepthwiseConv2DModule<C, K, S, P, A, Bias, E, D>
where
    E: Dtype + num_traits::Float + SampleUniform,
    D: Device<E>,
    P: 'static,
    A: 'static,
    Bias: BiasMode,
{
    type To<E2: Dtype, D2: Device<E2>> = DepthwiseConv2DModule<C, K, S, P, A, Bias, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        // Keras' Glorot uniform for a depthwise kernel: fan in K*K, fan out K*K (one
        // output per input channel).
        let weight = Self::tensor(
            "weight",
            |s| &s.weight,
            |s| &mut s.weight,
            TensorOptions::reset_with(|t| init::glorot_uniform(t, K * K, K * K)),
        );
        if Bias::USE {
            visitor.visit_fields(
                (
                    weight,
                    Self::tensor(
                        "bias",
                        |s| s.bias.as_ref().expect("a layer with UseBias has a bias"),
                        |s| s.bias.as_mut().expect("a layer with UseBias has a bias"),
                        TensorOptions::reset_to_zeros(),
                    ),
                ),
                |(weight, bias)| DepthwiseConv2DModule {
                    weight,
                    bias: Some(bias),
                    marker: PhantomData,
                },
            )
        } else {
            visitor.visit_fields(weight, |weight| DepthwiseConv2DModule {
                weight,
                bias: None,
                marker: PhantomData,
            })
        }
    }
}

impl<const IN: usize, const OUT: usize, const K: usize, const S: usize, P, A, Bias, E, D>
    TensorCollection<E, D> for SeparableConv2DModule<IN, OUT, K, S, P, A, Bias, E, D>
where
    E: Dtype + num_traits::Float + SampleUniform,
    D: Device<E>,
    P: 'static,
    A: 'static,
    Bias: BiasMode,
{
    type To<E2: Dtype, D2: Device<E2>> = SeparableConv2DModule<IN, OUT, K, S, P, A, Bias, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        let depthwise = Self::tensor(
            "depthwise",
            |s| &s.depthwise,
            |s| &mut s.depthwise,
            TensorOptions::reset_with(|t| init::glorot_uniform(t, K * K, K * K)),
        );
        let pointwise = Self::tensor(
            "pointwise",
            |s| &s.pointwise,
            |s| &mut s.pointwise,
            TensorOptions::reset_with(|t| init::glorot_uniform(t, IN, OUT)),
        );
        if Bias::USE {
            visitor.visit_fields(
                (
                    depthwise,
                    pointwise,
                    Self::tensor(
                        "bias",
                        |s| s.bias.as_ref().expect("a layer with UseBias has a bias"),
                        |s| s.bias.as_mut().expect("a layer with UseBias has a bias"),
                        TensorOptions::reset_to_zeros(),
                    ),
                ),
                |(depthwise, pointwise, bias)| SeparableConv2DModule {
                    depthwise,
                    pointwise,
                    bias: Some(bias),
                    marker: PhantomData,
                },
            )
        } else {
            visitor.visit_fields((depthwise, pointwise), |(depthwise, pointwise)| {
                SeparableConv2DModule {
                    depthwise,
                    pointwise,
                    bias: None,
                    marker: PhantomData,
                }
            })
        }
    }
}

impl<const C: usize, const K: usize, const S: usize, P, A, Bias, E: Dtype, D: Storage<E>>
    NonMutableModule for DepthwiseConv2DModule<C, K, S, P, A, Bias, E, D>
{
}

impl<
        const IN: usize,
        const OUT: usize,
        const K: usize,
        const S: usize,
        P,
        A,
        Bias,
        E: Dtype,
        D: Storage<E>,
    > NonMutableModule for SeparableConv2DModule<IN, OUT, K, S, P, A, Bias, E, D>
{
}

impl<B, H, W, T, const C: usize, const K: usize, const S: usize, P, A, Bias>
    Module<Tensor<(B, H, W, Const<C>), f32, Cpu, T>>
    for DepthwiseConv2DModule<C, K, S, P, A, Bias, f32, Cpu>
where
    B: Dim,
    H: Dim,
    W: Dim,
    T: Tape<f32, Cpu>,
    P: PaddingMode,
    A: Activation,
{
    type Output = Tensor<(B, usize, usize, Const<C>), f32, Cpu, T>;
    type Error = CpuError;

    fn try_forward(
        &self,
        x: Tensor<(B, H, W, Const<C>), f32, Cpu, T>,
    ) -> Result<Self::Output, CpuError> {
        const {
            assert!(
                K > 0 && S > 0,
                "DepthwiseConv2D: kernel size and stride must be at least 1"
            );
        }
        let y = ops::depthwise_conv2d(x, &self.weight, self.bias.as_ref(), S, P::PADDING)
            .map_err(|e| forward_error("DepthwiseConv2D", e))?;
        A::apply(y)
    }
}

impl<B, H, W, T, const IN: usize, const OUT: usize, const K: usize, const S: usize, P, A, Bias>
    Module<Tensor<(B, H, W, Const<IN>), f32, Cpu, T>>
    for SeparableConv2DModule<IN, OUT, K, S, P, A, Bias, f32, Cpu>
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
            assert!(
                K > 0 && S > 0,
                "SeparableConv2D: kernel size and stride must be at least 1"
            );
        }
        let err = |e| forward_error("SeparableConv2D", e);
        let d = ops::depthwise_conv2d(x, &self.depthwise, None, S, P::PADDING).map_err(err)?;
        let y = match &self.bias {
            Some(b) => ops::conv2d(d, &self.pointwise, b, 1, Padding::Valid, A::RELU),
            None => ops::conv2d_no_bias(d, &self.pointwise, 1, Padding::Valid, A::RELU),
        }
        .map_err(err)?;
        if A::RELU {
            Ok(y)
        } else {
            A::apply(y)
        }
    }
}

impl<
        const C: usize,
        const K: usize,
        const S: usize,
        P: PaddingMode,
        A: Activation,
        Bias: BiasMode,
    > Describe for DepthwiseConv2DModule<C, K, S, P, A, Bias, f32, Cpu>
{
    fn describe(
        &self,
        input: FeatureShape,
        rows: &mut Vec<LayerRow>,
    ) -> crate::Result<FeatureShape> {
        let (kind, base) = ("DepthwiseConv2D", "depthwise_conv2d");
        let (h, w, _) = image_input(rows, kind, base, input, Some(C))?;
        let (oh, ow) = spatial(rows, kind, base, (h, w), K, S, P::PADDING)?;
        let params = K * K * C + if Bias::USE { C } else { 0 };
        let config = format!(
            "{K}x{K} per channel, stride {S}, padding={}, activation={}{}",
            P::PADDING,
            A::NAME,
            Bias::NOTE
        );
        Ok(push(
            rows,
            kind,
            base,
            FeatureShape::image(oh, ow, C),
            params,
            config,
        ))
    }
}

impl<
        const IN: usize,
        const OUT: usize,
        const K: usize,
        const S: usize,
        P: PaddingMode,
        A: Activation,
        Bias: BiasMode,
    > Describe for SeparableConv2DModule<IN, OUT, K, S, P, A, Bias, f32, Cpu>
{
    fn describe(
        &self,
        input: FeatureShape,
        rows: &mut Vec<LayerRow>,
    ) -> crate::Result<FeatureShape> {
        let (kind, base) = ("SeparableConv2D", "separable_conv2d");
        let (h, w, _) = image_input(rows, kind, base, input, Some(IN))?;
        let (oh, ow) = spatial(rows, kind, base, (h, w), K, S, P::PADDING)?;
        let params = K * K * IN + IN * OUT + if Bias::USE { OUT } else { 0 };
        let config = format!(
            "{OUT} filters {K}x{K}, stride {S}, padding={}, activation={}{}",
            P::PADDING,
            A::NAME,
            Bias::NOTE
        );
        Ok(push(
            rows,
            kind,
            base,
            FeatureShape::image(oh, ow, OUT),
            params,
            config,
        ))
    }
}
