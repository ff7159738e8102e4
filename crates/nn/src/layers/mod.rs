//! Keras-like layers as dfdx modules: [`Conv2D`], [`MaxPool2D`], [`AvgPool2D`],
//! [`GlobalAvgPool2D`], [`DepthwiseMaxPool2D`], [`Flatten`] and [`Dense`].
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
mod conv;
mod dense;
mod pool;

pub use activation::{Activation, Identity, Relu};
pub use conv::{Conv2D, Conv2DModule};
pub use dense::{Dense, DenseModule};
pub use pool::{AvgPool2D, DepthwiseMaxPool2D, Flatten, GlobalAvgPool2D, MaxPool2D};

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
