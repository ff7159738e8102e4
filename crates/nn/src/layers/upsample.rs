//! Upsampling by a whole factor, without weights (notebook 10).

use std::marker::PhantomData;

use dfdx::nn::modules::{Module, NonMutableModule, ZeroSizedModule};
use dfdx::prelude::*;

use super::describe::{image_input, push, Describe, FeatureShape, LayerRow};
use super::forward_error;
use crate::ops::{self, Interpolation};

/// How an [`UpSampling2D`] fills the new pixels (Keras' `interpolation`): [`Nearest`]
/// (the default) or [`Bilinear`].
pub trait UpsampleMode: Default + Clone + Copy + std::fmt::Debug + 'static {
    /// The kernel's interpolation.
    const INTERPOLATION: Interpolation;
    /// Keras' name.
    const NAME: &'static str;
}

/// Keras `interpolation="nearest"`, the default: each pixel becomes a `SIZE x SIZE` block
/// of copies.
#[derive(Default, Clone, Copy, Debug)]
pub struct Nearest;

/// Keras `interpolation="bilinear"`: TensorFlow's bilinear resize with half-pixel centres;
/// for `SIZE = 2` each new pixel is `3/4` of its nearest input pixel and `1/4` of the next
/// one along each axis (the borders repeat the edge pixel).
#[derive(Default, Clone, Copy, Debug)]
pub struct Bilinear;

impl UpsampleMode for Nearest {
    const INTERPOLATION: Interpolation = Interpolation::Nearest;
    const NAME: &'static str = "nearest";
}

impl UpsampleMode for Bilinear {
    const INTERPOLATION: Interpolation = Interpolation::Bilinear;
    const NAME: &'static str = "bilinear";
}

/// Makes the feature maps `SIZE` times higher and wider, without weights: a decoder's
/// fixed upsampling, often followed by a convolution (the alternative to a learned
/// [`super::Conv2DTranspose`]).
///
/// Keras: `UpSampling2D(size=SIZE)` (nearest neighbour, the default) or
/// `UpSampling2D(size=SIZE, interpolation="bilinear")`, written
/// `UpSampling2D<SIZE, Bilinear>`.
///
/// # Shapes
/// `(B, H, W, C)` to `(B, H * SIZE, W * SIZE, C)`.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let dev = Cpu::default();
/// let x: Images<1> = dev.tensor_from_vec(vec![1., 2., 3., 4.], (1, 2, 2, Const::<1>));
/// let y = UpSampling2D::<2>::default().forward(x.clone());
/// assert_eq!(*y.shape(), (1, 4, 4, Const::<1>));
/// assert_eq!(y.as_vec()[..8], [1., 1., 2., 2., 1., 1., 2., 2.]);
/// // keras.layers.UpSampling2D(2, interpolation="bilinear")
/// let y = UpSampling2D::<2, Bilinear>::default().forward(x);
/// assert_eq!(y.as_vec()[..4], [1., 1.25, 1.75, 2.]);
/// let s = summary(&UpSampling2D::<2>::default(), [7, 7, 64]).unwrap();
/// assert_eq!((s.output(), s.total_params()), (FeatureShape::image(14, 14, 64), 0));
/// ```
#[derive(Default, Clone, Copy, Debug)]
pub struct UpSampling2D<const SIZE: usize, I = Nearest>(PhantomData<I>);

impl<const SIZE: usize, I: UpsampleMode> ZeroSizedModule for UpSampling2D<SIZE, I> {}
impl<const SIZE: usize, I: UpsampleMode> NonMutableModule for UpSampling2D<SIZE, I> {}

impl<B: Dim, H: Dim, W: Dim, T: Tape<f32, Cpu>, const C: usize, const SIZE: usize, I>
    Module<Tensor<(B, H, W, Const<C>), f32, Cpu, T>> for UpSampling2D<SIZE, I>
where
    I: UpsampleMode,
{
    type Output = Tensor<(B, usize, usize, Const<C>), f32, Cpu, T>;
    type Error = CpuError;

    fn try_forward(
        &self,
        x: Tensor<(B, H, W, Const<C>), f32, Cpu, T>,
    ) -> Result<Self::Output, CpuError> {
        const {
            assert!(SIZE > 0, "UpSampling2D: the size must be at least 1");
        }
        ops::upsampling2d(x, SIZE, I::INTERPOLATION).map_err(|e| forward_error("UpSampling2D", e))
    }
}

impl<const SIZE: usize, I: UpsampleMode> Describe for UpSampling2D<SIZE, I> {
    fn describe(
        &self,
        input: FeatureShape,
        rows: &mut Vec<LayerRow>,
    ) -> crate::Result<FeatureShape> {
        let (kind, base) = ("UpSampling2D", "up_sampling2d");
        let (h, w, c) = image_input(rows, kind, base, input, None)?;
        Ok(push(
            rows,
            kind,
            base,
            FeatureShape::image(h * SIZE, w * SIZE, c),
            0,
            format!("size {SIZE}x{SIZE}, interpolation={}", I::NAME),
        ))
    }
}
