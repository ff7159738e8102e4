//! Keras-like layers as dfdx modules.
//!
//! | file | layers |
//! |---|---|
//! | `conv.rs` | [`Conv2D`], [`Conv2DNoBias`] |
//! | `depthwise.rs` | [`DepthwiseConv2D`], [`SeparableConv2D`] |
//! | `pool.rs` | [`MaxPool2D`], [`AvgPool2D`], [`GlobalAvgPool2D`], [`DepthwiseMaxPool2D`], [`Flatten`] |
//! | `dense.rs` | [`Dense`] |
//! | `activation.rs` | [`Relu`], [`Tanh`], [`Sigmoid`], [`Identity`] (fused or as layers) |
//! | `norm.rs` | [`BatchNorm`], [`LocalResponseNorm`] |
//! | `padding.rs` | [`ZeroPadding2D`] |
//! | `transpose.rs` | [`Conv2DTranspose`]: the learned upsampling of a decoder |
//! | `upsample.rs` | [`UpSampling2D`] (nearest or bilinear) |
//! | `residual.rs` | [`Residual`] (skip connections), [`ResidualUnit`], [`ResidualUnitDown`] (as [`FusedResidual`]), [`MainPath`], [`ConvBnRelu`] (a ResNet's first layers) |
//! | `concat.rs` | [`Concat`], [`Inception`] |
//! | `excite.rs` | [`ScaleBy`], [`SqueezeExcite`], [`SeResidualUnit`] |
//! | `frozen.rs` | [`Frozen`]: weights that training leaves alone (transfer learning) |
//! | `augment.rs` | [`RandomFlip`], [`RandomTranslation`], [`RandomRotation`], [`RandomZoom`], [`RandomContrast`]: data augmentation while training |
//! | `block.rs` | [`Block`]: several layers as one row of a summary |
//! | `describe.rs` | [`Describe`](describe::Describe): how each layer reports its output shape and parameters |
//!
//! They compose with dfdx's own modules (`ReLU`, `Dropout`, `Linear`, `Softmax`) in tuples,
//! are built with `dev.build_module::<Model, f32>()`, and train with dfdx's optimizers or
//! this crate's [`crate::train`]. Images are NHWC, `(batch, height, width, channels)`, as
//! in Keras: `input_shape=[28, 28, 1]` is an [`crate::ops::Images<1>`] tensor.
//!
//! Channel and feature counts are const generics, so connecting a 64-channel output to a
//! layer that expects 32 channels is a compile error. Spatial sizes are known only at run
//! time; [`crate::model::summary`] checks them for a given input size before training and
//! names the layer that does not fit.
//!
//! ```
//! use cnnkit_nn::prelude::*;
//! type Model = (
//!     Conv2D<1, 8, 3, 1, Same, Relu>,
//!     MaxPool2D<2>,
//!     Flatten,
//!     Dense<{ 14 * 14 * 8 }, 10>,
//! );
//! let dev = Cpu::seed_from_u64(0);
//! let model = dev.build_module::<Model, f32>();
//! let x: Images<1> = dev.zeros_like(&(2, 28, 28, Const::<1>));
//! let logits = model.forward(x);
//! assert_eq!(*logits.shape(), (2, Const::<10>));
//! ```

mod activation;
pub mod augment;
mod block;
mod concat;
mod conv;
mod dense;
mod depthwise;
pub mod describe;
mod excite;
mod frozen;
mod heads;
mod norm;
mod padding;
mod pool;
mod residual;
mod transpose;
mod upsample;

pub use activation::{Activation, Identity, Relu, Sigmoid, Tanh};
pub use augment::{
    Fill, FillConstant, FillNearest, FillReflect, FillWrap, FlipMode, Horizontal,
    HorizontalAndVertical, RandomContrast, RandomFlip, RandomRotation, RandomTranslation,
    RandomZoom, Vertical,
};
pub use block::{Block, BlockName};
pub use concat::{Concat, Inception, InceptionName};
pub use conv::{Conv2D, Conv2DModule, Conv2DNoBias, Conv2DNoBiasModule};
pub use dense::{Dense, DenseModule};
pub use depthwise::{
    DepthwiseConv2D, DepthwiseConv2DModule, SeparableConv2D, SeparableConv2DModule,
};
pub use excite::{ScaleBy, SeResidualUnit, SeResidualUnitName, SqueezeExcite, SqueezeExciteName};
pub use frozen::Frozen;
pub use heads::Heads;
pub use norm::{BatchNorm, BatchNormModule, LocalResponseNorm};
pub use padding::ZeroPadding2D;
pub use pool::{AvgPool2D, DepthwiseMaxPool2D, Flatten, GlobalAvgPool2D, MaxPool2D};
pub use residual::{
    ConvBnRelu, FusedResidual, MainPath, Residual, ResidualMain, ResidualUnit, ResidualUnitDown,
    ResidualUnitName,
};
pub use transpose::{Conv2DTranspose, Conv2DTransposeModule};
pub use upsample::{Bilinear, Nearest, UpSampling2D, UpsampleMode};

use crate::arith::Padding;
use crate::error::Error;
use dfdx::tensor::CpuError;

/// Zero padding as a type parameter of a layer: [`Same`] or [`Valid`].
pub trait PaddingMode: Default + Clone + Copy + std::fmt::Debug + 'static {
    /// The run-time value.
    const PADDING: Padding;
}

/// Keras `padding="same"`: zeros around the input so that `stride 1` keeps the size.
#[derive(Default, Clone, Copy, Debug)]
pub struct Same;

/// Keras `padding="valid"` (the default): no padding.
#[derive(Default, Clone, Copy, Debug)]
pub struct Valid;

impl PaddingMode for Same {
    const PADDING: Padding = Padding::Same;
}

impl PaddingMode for Valid {
    const PADDING: Padding = Padding::Valid;
}

/// Whether a convolution layer has a bias: [`UseBias`] (Keras' default) or [`NoBias`]
/// (`use_bias=False`).
pub trait BiasMode: Default + Clone + Copy + std::fmt::Debug + 'static {
    /// True for [`UseBias`].
    const USE: bool;
    /// What a summary adds to the layer's settings.
    const NOTE: &'static str;
}

/// A layer with a bias per output channel (Keras `use_bias=True`, the default).
#[derive(Default, Clone, Copy, Debug)]
pub struct UseBias;

/// A layer without bias (Keras `use_bias=False`), as before a batch normalization.
#[derive(Default, Clone, Copy, Debug)]
pub struct NoBias;

impl BiasMode for UseBias {
    const USE: bool = true;
    const NOTE: &'static str = "";
}

impl BiasMode for NoBias {
    const USE: bool = false;
    const NOTE: &'static str = ", use_bias=False";
}

/// Turns an error inside a layer's forward pass into dfdx's error type.
///
/// dfdx modules that share a tuple must share one error type, dfdx's `CpuError`, which
/// cannot carry a message. Device errors pass through; a configuration error (a kernel
/// larger than a `valid` input, a wrong feature count) stops with the layer's name and the
/// full message. [`crate::model::summary`] and [`crate::train::fit`] find these
/// before any forward pass and return them as `Err`.
pub(crate) fn forward_error(layer: &str, e: Error) -> CpuError {
    match e {
        Error::Device(d) => d,
        other => panic!("{layer}: {other}"),
    }
}
