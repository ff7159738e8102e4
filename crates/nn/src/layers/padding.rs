//! Zero padding as a layer of its own.

use dfdx::nn::modules::{Module, NonMutableModule, ZeroSizedModule};
use dfdx::prelude::*;

use super::describe::{image_input, push, Describe, FeatureShape, LayerRow};
use super::forward_error;
use crate::ops;

/// Adds `P` rows of zeros above and below each image and `P` columns left and right.
///
/// Keras: `ZeroPadding2D(padding=P)`. LeNet-5 took 28x28 digits padded to 32x32:
/// `ZeroPadding2D<2>`.
///
/// # Shapes
/// `(B, H, W, C)` to `(B, H + 2P, W + 2P, C)`.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let dev = Cpu::default();
/// let y = ZeroPadding2D::<2>.forward(dev.ones_like(&(1, 28, 28, Const::<1>)));
/// assert_eq!(*y.shape(), (1, 32, 32, Const::<1>));
/// ```
#[derive(Default, Clone, Copy, Debug)]
pub struct ZeroPadding2D<const P: usize>;

impl<const P: usize> ZeroSizedModule for ZeroPadding2D<P> {}
impl<const P: usize> NonMutableModule for ZeroPadding2D<P> {}

impl<B: Dim, H: Dim, W: Dim, T: Tape<f32, Cpu>, const C: usize, const P: usize>
    Module<Tensor<(B, H, W, Const<C>), f32, Cpu, T>> for ZeroPadding2D<P>
{
    type Output = Tensor<(B, usize, usize, Const<C>), f32, Cpu, T>;
    type Error = CpuError;

    fn try_forward(
        &self,
        x: Tensor<(B, H, W, Const<C>), f32, Cpu, T>,
    ) -> Result<Self::Output, CpuError> {
        ops::zero_pad2d(x, (P, P, P, P)).map_err(|e| forward_error("ZeroPadding2D", e))
    }
}

impl<const P: usize> Describe for ZeroPadding2D<P> {
    fn describe(
        &self,
        input: FeatureShape,
        rows: &mut Vec<LayerRow>,
    ) -> crate::Result<FeatureShape> {
        let (kind, base) = ("ZeroPadding2D", "zero_padding2d");
        let (h, w, c) = image_input(rows, kind, base, input, None)?;
        Ok(push(
            rows,
            kind,
            base,
            FeatureShape::image(h + 2 * P, w + 2 * P, c),
            0,
            format!("{P} zeros on each side"),
        ))
    }
}
