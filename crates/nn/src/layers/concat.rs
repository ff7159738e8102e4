//! Parallel branches joined along the channels: [`Concat`], and GoogLeNet's
//! [`Inception`] module written with it.

use dfdx::nn::modules::{BuildOnDevice, Module, ModuleMut, ModuleVisitor};
use dfdx::nn::tensor_collection::TensorCollection;
use dfdx::prelude::*;
use dfdx::tensor::{Merge, WithEmptyTape};

use super::describe::{push, Describe, FeatureShape, LayerRow};
use super::{forward_error, Block, BlockName, Conv2D, MaxPool2D, Relu, Same};
use crate::error::Error;
use crate::ops;

/// Runs each layer of the tuple `Branches` (two to four branches) on the same input and
/// concatenates their outputs along the channels, in order, into `OUT` channels.
///
/// Keras: `layers.Concatenate()([b1(x), b2(x), ...])`. The branches' channel counts are
/// part of their types, and they must add up to `OUT`: otherwise the forward pass does
/// not compile (an error that names `Concat`). Heights and widths are checked by
/// [`crate::model::summary`] and at run time.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// type TwoWays = Concat<(Conv2D<3, 4, 1, 1, Same>, Conv2D<3, 2, 3, 1, Same>), 6>;
/// let dev = Cpu::seed_from_u64(0);
/// let layer = dev.build_module::<TwoWays, f32>();
/// let x: Images<3> = dev.ones_like(&(1, 5, 5, Const::<3>));
/// assert_eq!(*layer.forward(x).shape(), (1, 5, 5, Const::<6>));
/// ```
///
/// ```compile_fail
/// use cnnkit_nn::prelude::*;
/// // 4 + 2 channels are not 7.
/// type Wrong = Concat<(Conv2D<3, 4, 1, 1, Same>, Conv2D<3, 2, 3, 1, Same>), 7>;
/// let dev = Cpu::seed_from_u64(0);
/// let layer = dev.build_module::<Wrong, f32>();
/// let _ = layer.forward(dev.ones_like(&(1, 5, 5, Const::<3>)));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Concat<Branches, const OUT: usize> {
    /// The branches, a tuple of layers.
    pub branches: Branches,
}

impl<D: Device<E>, E: Dtype, Br: BuildOnDevice<D, E>, const OUT: usize> BuildOnDevice<D, E>
    for Concat<Br, OUT>
{
    type Built = Concat<Br::Built, OUT>;
}

impl<E: Dtype, D: Device<E>, Br: TensorCollection<E, D>, const OUT: usize> TensorCollection<E, D>
    for Concat<Br, OUT>
{
    type To<E2: Dtype, D2: Device<E2>> = Concat<Br::To<E2, D2>, OUT>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            Self::module("branches", |s| &s.branches, |s| &mut s.branches),
            |branches| Concat { branches },
        )
    }
}

/// A branch's output as `(B, h, w, c)` with run-time channels, for [`ops::concat_channels`].
type Part<B, T> = ops::ChannelPart<B, T>;

fn to_part<B: Dim, const C: usize, T: Tape<f32, Cpu>>(
    y: Tensor<(B, usize, usize, Const<C>), f32, Cpu, T>,
) -> Result<Part<B, T>, CpuError> {
    let (b, h, w, _) = *y.shape();
    y.try_reshape_like(&(b, h, w, C))
}

macro_rules! concat_impl {
    ($($br:ident $c:ident $i:tt),+ ; $last:ident $lc:ident $li:tt) => {
        impl<B: Dim, H: Dim, W: Dim, const C: usize, T, $($br,)+ $last, $(const $c: usize,)+ const $lc: usize, const OUT: usize>
            Module<Tensor<(B, H, W, Const<C>), f32, Cpu, T>> for Concat<($($br,)+ $last), OUT>
        where
            T: Tape<f32, Cpu> + Merge<T>,
            $($br: Module<Tensor<(B, H, W, Const<C>), f32, Cpu, T>, Output = Tensor<(B, usize, usize, Const<$c>), f32, Cpu, T>, Error = CpuError>,)+
            $last: Module<Tensor<(B, H, W, Const<C>), f32, Cpu, T>, Output = Tensor<(B, usize, usize, Const<$lc>), f32, Cpu, T>, Error = CpuError>,
        {
            type Output = Tensor<(B, usize, usize, Const<OUT>), f32, Cpu, T>;
            type Error = CpuError;

            fn try_forward(&self, x: Tensor<(B, H, W, Const<C>), f32, Cpu, T>) -> Result<Self::Output, CpuError> {
                const { assert!($($c +)+ $lc == OUT, "Concat: the branches' channel counts must add up to OUT") }
                let parts = vec![
                    $(to_part(self.branches.$i.try_forward(x.with_empty_tape())?)?,)+
                    to_part(self.branches.$li.try_forward(x)?)?,
                ];
                ops::concat_channels(parts).map_err(|e| forward_error("Concatenate", e))
            }
        }

        impl<B: Dim, H: Dim, W: Dim, const C: usize, T, $($br,)+ $last, $(const $c: usize,)+ const $lc: usize, const OUT: usize>
            ModuleMut<Tensor<(B, H, W, Const<C>), f32, Cpu, T>> for Concat<($($br,)+ $last), OUT>
        where
            T: Tape<f32, Cpu> + Merge<T>,
            $($br: ModuleMut<Tensor<(B, H, W, Const<C>), f32, Cpu, T>, Output = Tensor<(B, usize, usize, Const<$c>), f32, Cpu, T>, Error = CpuError>,)+
            $last: ModuleMut<Tensor<(B, H, W, Const<C>), f32, Cpu, T>, Output = Tensor<(B, usize, usize, Const<$lc>), f32, Cpu, T>, Error = CpuError>,
        {
            type Output = Tensor<(B, usize, usize, Const<OUT>), f32, Cpu, T>;
            type Error = CpuError;

            fn try_forward_mut(&mut self, x: Tensor<(B, H, W, Const<C>), f32, Cpu, T>) -> Result<Self::Output, CpuError> {
                const { assert!($($c +)+ $lc == OUT, "Concat: the branches' channel counts must add up to OUT") }
                let parts = vec![
                    $(to_part(self.branches.$i.try_forward_mut(x.with_empty_tape())?)?,)+
                    to_part(self.branches.$li.try_forward_mut(x)?)?,
                ];
                ops::concat_channels(parts).map_err(|e| forward_error("Concatenate", e))
            }
        }

        impl<$($br: Describe,)+ $last: Describe, const OUT: usize> Describe for Concat<($($br,)+ $last), OUT> {
            fn describe(&self, input: FeatureShape, rows: &mut Vec<LayerRow>) -> crate::Result<FeatureShape> {
                let outputs = [$(self.branches.$i.describe(input, rows)?,)+ self.branches.$li.describe(input, rows)?];
                concat_shape(&outputs, OUT, rows)
            }
        }
    };
}

concat_impl!(A CA 0 ; Z CZ 1);
concat_impl!(A CA 0, B2 CB 1 ; Z CZ 2);
concat_impl!(A CA 0, B2 CB 1, C2 CC 2 ; Z CZ 3);

/// The output shape of a concatenation, or an error naming what does not fit.
fn concat_shape(
    outputs: &[FeatureShape],
    out: usize,
    rows: &mut Vec<LayerRow>,
) -> crate::Result<FeatureShape> {
    let mut size = None;
    let mut channels = 0;
    for o in outputs {
        match *o {
            FeatureShape::Image { h, w, c } if size.is_none_or(|s| s == (h, w)) => {
                size = Some((h, w));
                channels += c;
            }
            _ => {
                let list: Vec<String> = outputs.iter().map(|o| o.to_string()).collect();
                return Err(Error::Shape {
                    layer: "concatenate (Concatenate)".into(),
                    expected: "branches with images of one height and width".into(),
                    actual: format!(
                        "{}; give every branch the same strides and padding",
                        list.join(", ")
                    ),
                });
            }
        }
    }
    let (h, w) = size.unwrap_or((0, 0));
    if channels != out {
        return Err(Error::Shape {
            layer: "concatenate (Concatenate)".into(),
            expected: format!("{out} channels in all"),
            actual: format!("{channels}; write Concat<..., {channels}>"),
        });
    }
    Ok(push(
        rows,
        "Concatenate",
        "concatenate",
        FeatureShape::image(h, w, out),
        0,
        format!("{} branches", outputs.len()),
    ))
}

/// Name of [`Inception`] in a summary.
#[derive(Clone, Copy, Debug, Default)]
pub struct InceptionName;

impl BlockName for InceptionName {
    const KIND: &'static str = "Inception";
    const BASE: &'static str = "inception";
}

/// GoogLeNet's inception module (Szegedy et al. 2014, the book's figure 14-14): four
/// branches on the same input, concatenated along the channels:
/// a 1x1 convolution (`C1` filters); a 1x1 bottleneck (`C3R`) then 3x3 (`C3`); a 1x1
/// bottleneck (`C5R`) then 5x5 (`C5`); a 3x3 max pooling (stride 1) then 1x1 (`CP`). All
/// `same`, stride 1, ReLU; `OUT = C1 + C3 + C5 + CP` (checked when it compiles).
///
/// ```
/// use cnnkit_nn::prelude::*;
/// // Inception (3a): 192 channels in, 64 + 128 + 32 + 32 = 256 out.
/// type Inception3a = Inception<192, 64, 96, 128, 16, 32, 32, 256>;
/// let dev = Cpu::seed_from_u64(0);
/// let m = dev.build_module::<Inception3a, f32>();
/// let s = summary(&m, [28, 28, 192]).unwrap();
/// assert_eq!(s.output(), FeatureShape::image(28, 28, 256));
/// assert_eq!(s.total_params(), 163_696);
/// ```
pub type Inception<
    const IN: usize,
    const C1: usize,
    const C3R: usize,
    const C3: usize,
    const C5R: usize,
    const C5: usize,
    const CP: usize,
    const OUT: usize,
> = Block<
    InceptionName,
    Concat<
        (
            Conv2D<IN, C1, 1, 1, Same, Relu>,
            (
                Conv2D<IN, C3R, 1, 1, Same, Relu>,
                Conv2D<C3R, C3, 3, 1, Same, Relu>,
            ),
            (
                Conv2D<IN, C5R, 1, 1, Same, Relu>,
                Conv2D<C5R, C5, 5, 1, Same, Relu>,
            ),
            (MaxPool2D<3, 1, Same>, Conv2D<IN, CP, 1, 1, Same, Relu>),
        ),
        OUT,
    >,
>;
