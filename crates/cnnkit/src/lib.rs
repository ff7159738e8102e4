//! # cnnkit
//!
//! The one dependency of the notebooks of the Rust edition of chapter 14
//! (합성곱신경망: 컴퓨터비전) of *Hands-On Machine Learning*: every notebook starts with
//!
//! ```text
//! :dep cnnkit = { path = "../crates/cnnkit" }
//! use cnnkit::prelude::*;
//! ```
//!
//! This crate holds no code of its own: it puts the workspace's crates behind one name,
//! each concern in its own crate, dependencies pointing one way
//! (`kernels` ← `nn` ← `viz` ← `homework`, with `data` below `nn`, and `pretrained` on `nn`
//! and below `homework`, whose transfer-learning checker compares models with the shipped base):
//!
//! | crate | here as | what it holds |
//! |---|---|---|
//! | `cnnkit-kernels` | (not re-exported) | convolution and pooling on `f32` slices, SIMD dispatch, scratch memory |
//! | `cnnkit-data` | [`data`] | Fashion-MNIST (verified cache and download), sample photos, atomic file writes |
//! | `cnnkit-nn` | [`arith`], [`ops`], [`layers`], [`architectures`], [`init`], [`model`], [`train`], [`metrics`], [`detection`], [`checkpoint`], [`quick`], [`build`] | differentiable ops on dfdx tensors, Keras-like layers, `summary`, `fit`, checkpoints |
//! | `cnnkit-pretrained` | [`pretrained`] | the shipped Fashion-MNIST models: verified loading, the training recipe |
//! | `cnnkit-viz` | [`plot`], [`figures`], [`inspect`], [`show`] | charts (SVG), images (PNG), tables, the book's figures, model inspection |
//! | `cnnkit-homework` | [`exercises`] | the homework checkers and the grading protocol |
//!
//! [`prelude`] names what a notebook cell uses, each concept once. [`Error`] is the one
//! error type every function's error converts into, so `?` works across all of them.
//!
//! ```
//! use cnnkit::prelude::*;
//! type Model = (Conv2D<1, 8, 3, 1, Same, Relu>, MaxPool2D<2>, Flatten, Dense<{ 14 * 14 * 8 }, 10>);
//! let model = Cpu::seed_from_u64(0).build_module::<Model, f32>();
//! let s = summary(&model, [28, 28, 1])?;
//! assert_eq!(s.total_params(), 80 + 15_690);
//! # Ok::<(), cnnkit::Error>(())
//! ```
#![warn(missing_docs)]

pub use cnnkit_data as data;
pub use cnnkit_homework as exercises;
pub use cnnkit_nn::{
    architectures, arith, build, checkpoint, detection, init, layers, metrics, model, ops, quick,
    train,
};
pub use cnnkit_pretrained as pretrained;
pub use cnnkit_viz::{figures, inspect, plot, show};

/// The error of every `cnnkit` function: drawing errors, and through them model, tensor,
/// data and file errors (see [`cnnkit_viz::Error`]).
pub use cnnkit_viz::{Error, Result};

// Re-exported so that notebooks need only one `:dep` line and can name these crates' types.
pub use dfdx;
pub use image;
pub use ndarray;

/// What a notebook needs in one `use cnnkit::prelude::*;`, each concept under one name:
///
/// | topic | names |
/// |---|---|
/// | tensors (dfdx) | `Cpu`, `Tensor`, `Rank1`..`Rank4`, `Const`, `Shape`, `NoneTape`, `OwnedTape`, `Gradients` and the traits behind `dev.tensor(..)`, `dev.zeros()`, `x.array()`, `x.trace(..)`, `y.backward()`, `dev.build_module::<M, f32>()`, `model.forward(x)` |
/// | layers | [`Conv2D`](crate::layers::Conv2D), [`MaxPool2D`](crate::layers::MaxPool2D), [`AvgPool2D`](crate::layers::AvgPool2D), [`GlobalAvgPool2D`](crate::layers::GlobalAvgPool2D), [`DepthwiseMaxPool2D`](crate::layers::DepthwiseMaxPool2D), [`Flatten`](crate::layers::Flatten), [`Dense`](crate::layers::Dense), `Dropout`, `Softmax`, [`Relu`](crate::layers::Relu), [`Identity`](crate::layers::Identity), [`Same`](crate::layers::Same), [`Valid`](crate::layers::Valid), the chapter's later layers ([`BatchNorm`](crate::layers::BatchNorm), [`ResidualUnit`](crate::layers::ResidualUnit), [`Frozen`](crate::layers::Frozen), [`Conv2DTranspose`](crate::layers::Conv2DTranspose), [`UpSampling2D`](crate::layers::UpSampling2D), ...) |
/// | data augmentation | [`RandomFlip`](crate::layers::RandomFlip), [`RandomTranslation`](crate::layers::RandomTranslation), [`RandomRotation`](crate::layers::RandomRotation), [`RandomZoom`](crate::layers::RandomZoom), [`RandomContrast`](crate::layers::RandomContrast), `Horizontal`, `Vertical`, `FillReflect`, ... |
/// | ops | [`conv2d`](crate::ops::conv2d), [`conv2d_transpose`](crate::ops::conv2d_transpose), [`pool2d`](crate::ops::pool2d), [`global_avg_pool2d`](crate::ops::global_avg_pool2d), [`depthwise_max_pool2d`](crate::ops::depthwise_max_pool2d), [`flatten`](crate::ops::flatten), [`Images`](crate::ops::Images), [`PoolKind`](crate::ops::PoolKind), [`Padding`](crate::arith::Padding) |
/// | models and training | [`summary`](crate::model::summary), [`Summary`](crate::model::Summary), [`FeatureShape`](crate::model::FeatureShape), [`fit`](crate::train::fit), [`evaluate`](crate::train::evaluate), [`predict`](crate::train::predict), [`predict_classes`](crate::train::predict_classes), [`Dataset`](crate::train::Dataset), [`FitConfig`](crate::train::FitConfig), [`History`](crate::train::History), [`OptimizerKind`](crate::train::OptimizerKind) |
/// | data | [`FashionMnist`](crate::data::FashionMnist), [`class_name`](crate::data::class_name), [`CLASS_NAMES_KO`](crate::data::CLASS_NAMES_KO), [`CLASS_NAMES_EN`](crate::data::CLASS_NAMES_EN), `RgbImage` |
/// | display | [`RichOutput`](crate::plot::RichOutput) (what shows a cell's last value), [`HistoryPlot`](crate::show::HistoryPlot) (`history.plot()`) |
/// | arrays (ndarray) | `array!`, `s!`, `Array1`..`Array4`, `ArrayView2`, `ArrayView3` |
/// | modules by path | `arith`, `checkpoint`, `data`, `figures`, `inspect`, `metrics`, `plot`, `pretrained`, `quick` |
///
/// dfdx's own prelude (about 300 names, with dfdx's `ReLU` next to [`Relu`](crate::layers::Relu))
/// is not glob-imported; what it holds beyond this list is at `cnnkit::dfdx::prelude`.
pub mod prelude {
    pub use cnnkit_nn::prelude::*;

    pub use image::RgbImage;
    pub use ndarray::{array, s, Array1, Array2, Array3, Array4, ArrayView2, ArrayView3};

    pub use crate::data::{class_name, FashionMnist, CLASS_NAMES_EN, CLASS_NAMES_KO};
    pub use crate::plot::RichOutput;
    pub use crate::show::HistoryPlot;
    pub use crate::{data, figures, inspect, plot, pretrained};
    pub use crate::{Error, Result};
}
