//! # cnnkit
//!
//! The support crate of the Rust edition of chapter 14 (합성곱신경망: 컴퓨터비전) of
//! *Hands-On Machine Learning*. It supplies, on stable Rust and on top of `dfdx` tensors,
//! what the notebooks need so that their cells stay short:
//!
//! | module | what it holds |
//! |---|---|
//! | [`data`] | Fashion-MNIST loading (cache, download, checksums) and the sample photos |
//! | [`arith`] | output sizes, padding, parameter counts, memory, receptive fields |
//! | [`kernels`] | the numeric kernels (im2col + GEMM convolution, pooling) on `f32` slices |
//! | [`ops`] | differentiable convolution and pooling on dfdx tensors |
//! | [`layers`] | Keras-like layers: `Conv2D`, `MaxPool2D`, `Dense`, ... |
//! | [`model`] | `summary()` and the lecture's model |
//! | [`train`] | `fit`, `evaluate`, `predict`, `History`, Nadam |
//! | [`checkpoint`] | saving and loading weights |
//! | [`plot`] | charts (SVG), images (PNG), tables, shown inline in evcxr and savable |
//! | [`figures`] | the lecture's book figures, redrawn by code |
//! | [`quick`] | quick mode (`CNNKIT_QUICK=1`) for CI |
//! | [`build`] | how cnnkit was compiled (a warning when evcxr's checks slow it down) |
//! | [`error`] | the one error type |
//!
//! Notebooks start with `use cnnkit::prelude::*;`.
#![warn(missing_docs)]

pub mod arith;
pub mod build;
pub mod checkpoint;
pub mod data;
pub mod error;
pub mod exercises;
pub mod figures;
pub mod inspect;
pub mod kernels;
pub mod layers;
pub mod metrics;
pub mod model;
pub mod ops;
pub mod plot;
pub mod quick;
pub mod train;

pub use error::{Error, Result};

// Re-exported so that notebooks need only one `:dep` line and can name these types.
pub use dfdx;
pub use image;
pub use ndarray;

/// What a notebook needs in one `use cnnkit::prelude::*;`: dfdx's tensors and modules,
/// this crate's layers and ops, and the data, training and plotting entry points.
pub mod prelude {
    pub use dfdx::prelude::*;
    pub use image::RgbImage;
    pub use ndarray::{array, s, Array1, Array2, Array3, Array4, ArrayView2, ArrayView3};

    pub use crate::data::{class_name, FashionMnist, CLASS_NAMES_EN, CLASS_NAMES_KO};
    pub use crate::{arith, checkpoint, data, figures, plot, quick};

    pub use crate::arith::Padding;
    pub use crate::layers::{
        AvgPool2D, Conv2D, Dense, DepthwiseMaxPool2D, Flatten, GlobalAvgPool2D, Identity,
        MaxPool2D, Relu, Same, Valid,
    };
    pub use crate::model::{summary, FeatureShape, Summary};
    pub use crate::ops::{
        conv2d, depthwise_max_pool2d, flatten, global_avg_pool2d, pool2d, Images, PoolKind,
    };
    pub use crate::train::{
        evaluate, fit, predict, predict_classes, Dataset, FitConfig, History, OptimizerKind,
    };
    pub use crate::{inspect, metrics};
    pub use crate::{Error, Result};
}
