//! Squeeze-and-excitation (SENet): each feature map is rescaled by a weight that a small
//! network computes from the means of all feature maps.

use dfdx::nn::modules::{BuildOnDevice, Module, ModuleMut, ModuleVisitor};
use dfdx::nn::tensor_collection::TensorCollection;
use dfdx::prelude::*;
use dfdx::tensor::{Merge, WithEmptyTape};

use super::describe::{push, Describe, FeatureShape, LayerRow};
use super::residual::ResidualMain;
use super::Identity;
use super::{forward_error, Block, BlockName, Dense, GlobalAvgPool2D, Relu, Residual, Sigmoid};
use crate::error::Error;
use crate::ops;

/// `x * gate(x)` channel by channel: `gate` maps a `(B, H, W, C)` batch to `(B, C)`
/// factors, and channel `c` of image `b` is multiplied by factor `(b, c)`.
///
/// Keras: `layers.Multiply()([x, gate(x)[:, None, None, :]])`.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let dev = Cpu::default();
/// // The gate: the mean of each feature map.
/// let layer = ScaleBy { gate: GlobalAvgPool2D };
/// let x: Images<1> = dev.tensor_from_vec(vec![1.0, 3.0], (1, 1, 2, Const::<1>));
/// assert_eq!(layer.forward(x).as_vec(), vec![2.0, 6.0]);
/// ```
#[derive(Clone, Debug, Default)]
pub struct ScaleBy<G> {
    /// The network that computes one factor per channel.
    pub gate: G,
}

impl<D: Device<E>, E: Dtype, G: BuildOnDevice<D, E>> BuildOnDevice<D, E> for ScaleBy<G> {
    type Built = ScaleBy<G::Built>;
}

impl<E: Dtype, D: Device<E>, G: TensorCollection<E, D>> TensorCollection<E, D> for ScaleBy<G> {
    type To<E2: Dtype, D2: Device<E2>> = ScaleBy<G::To<E2, D2>>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(Self::module("gate", |s| &s.gate, |s| &mut s.gate), |gate| {
            ScaleBy { gate }
        })
    }
}

impl<B: Dim, H: Dim, W: Dim, const C: usize, T, G> Module<Tensor<(B, H, W, Const<C>), f32, Cpu, T>>
    for ScaleBy<G>
where
    T: Tape<f32, Cpu> + Merge<T>,
    G: Module<
        Tensor<(B, H, W, Const<C>), f32, Cpu, T>,
        Output = Tensor<(B, Const<C>), f32, Cpu, T>,
        Error = CpuError,
    >,
{
    type Output = Tensor<(B, H, W, Const<C>), f32, Cpu, T>;
    type Error = CpuError;

    fn try_forward(
        &self,
        x: Tensor<(B, H, W, Const<C>), f32, Cpu, T>,
    ) -> Result<Self::Output, CpuError> {
        let s = self.gate.try_forward(x.with_empty_tape())?;
        ops::scale_channels(x, s).map_err(|e| forward_error("Multiply", e))
    }
}

impl<B: Dim, H: Dim, W: Dim, const C: usize, T, G>
    ModuleMut<Tensor<(B, H, W, Const<C>), f32, Cpu, T>> for ScaleBy<G>
where
    T: Tape<f32, Cpu> + Merge<T>,
    G: ModuleMut<
        Tensor<(B, H, W, Const<C>), f32, Cpu, T>,
        Output = Tensor<(B, Const<C>), f32, Cpu, T>,
        Error = CpuError,
    >,
{
    type Output = Tensor<(B, H, W, Const<C>), f32, Cpu, T>;
    type Error = CpuError;

    fn try_forward_mut(
        &mut self,
        x: Tensor<(B, H, W, Const<C>), f32, Cpu, T>,
    ) -> Result<Self::Output, CpuError> {
        let s = self.gate.try_forward_mut(x.with_empty_tape())?;
        ops::scale_channels(x, s).map_err(|e| forward_error("Multiply", e))
    }
}

impl<G: Describe> Describe for ScaleBy<G> {
    fn describe(
        &self,
        input: FeatureShape,
        rows: &mut Vec<LayerRow>,
    ) -> crate::Result<FeatureShape> {
        let gate = self.gate.describe(input, rows)?;
        let channels = match input {
            FeatureShape::Image { c, .. } => c,
            FeatureShape::Flat(n) => n,
        };
        if gate != FeatureShape::Flat(channels) {
            return Err(Error::Shape {
                layer: "multiply (Multiply)".into(),
                expected: format!("one factor per channel, (None, {channels})"),
                actual: format!("{gate} from the gate"),
            });
        }
        Ok(push(
            rows,
            "Multiply",
            "multiply",
            input,
            0,
            "x * gate(x) per channel".into(),
        ))
    }
}

/// Name of [`SqueezeExcite`] in a summary.
#[derive(Clone, Copy, Debug, Default)]
pub struct SqueezeExciteName;

impl BlockName for SqueezeExciteName {
    const KIND: &'static str = "SqueezeExcite";
    const BASE: &'static str = "squeeze_excite";
}

/// A squeeze-and-excitation block (SENet, Hu et al. 2017): global average pooling
/// squeezes each of the `C` feature maps to one number, `Dense(R, relu)` and
/// `Dense(C, sigmoid)` turn these into one weight between 0 and 1 per map, and each map
/// is multiplied by its weight. SENet uses `R = C / 16`.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let dev = Cpu::seed_from_u64(0);
/// let se = dev.build_module::<SqueezeExcite<256, 16>, f32>();
/// let s = summary(&se, [56, 56, 256]).unwrap();
/// assert_eq!(s.total_params(), 256 * 16 + 16 + 16 * 256 + 256);
/// assert_eq!(s.output(), FeatureShape::image(56, 56, 256));
/// ```
pub type SqueezeExcite<const C: usize, const R: usize> =
    Block<SqueezeExciteName, ScaleBy<(GlobalAvgPool2D, Dense<C, R, Relu>, Dense<R, C, Sigmoid>)>>;

/// Name of [`SeResidualUnit`] in a summary.
#[derive(Clone, Copy, Debug, Default)]
pub struct SeResidualUnitName;

impl BlockName for SeResidualUnitName {
    const KIND: &'static str = "SEResidualUnit";
    const BASE: &'static str = "se_residual_unit";
}

/// An SE-ResNet unit: a [`super::ResidualUnit`] whose main path ends in a
/// [`SqueezeExcite`] block before the addition, `relu(se(main(x)) + x)`.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let dev = Cpu::seed_from_u64(0);
/// let unit = dev.build_module::<SeResidualUnit<64, 4>, f32>();
/// let x: Images<64> = dev.ones_like(&(1, 8, 8, Const::<64>));
/// assert_eq!(*unit.forward(x).shape(), (1, 8, 8, Const::<64>));
/// ```
pub type SeResidualUnit<const C: usize, const R: usize> = Block<
    SeResidualUnitName,
    (Residual<(ResidualMain<C, C, 1>, SqueezeExcite<C, R>), Identity, Relu>,),
>;
