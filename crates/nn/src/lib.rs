//! # cnnkit-nn
//!
//! The neural-network core of the chapter-14 CNN notebooks, on stable Rust and dfdx
//! tensors: differentiable convolution and pooling (dfdx 0.13 keeps its own behind a
//! nightly feature that no longer builds), Keras-like layers, `summary()`, training, and
//! checkpoints. Nothing here draws: charts and inline display live in `cnnkit-viz`.
//!
//! | module | what it holds |
//! |---|---|
//! | [`arith`] | output sizes, padding, parameter counts, memory, receptive fields |
//! | [`ops`] | differentiable convolution and pooling on dfdx tensors (kernels from `cnnkit-kernels`) |
//! | [`layers`] | Keras-like layers: `Conv2D`, `BatchNorm`, `Residual`, `Concat`, `SeparableConv2D`, ... |
//! | [`init`] | weight initialisers (Glorot uniform, He normal) |
//! | [`model`] | `summary()` with total, trainable and non-trainable parameters |
//! | [`architectures`] | LeNet-5, AlexNet, VGG-16, GoogLeNet, ResNet-34, Xception, SE-ResNet, the lecture's CNN, a small ResNet |
//! | [`train`] | `fit`, `evaluate`, `predict`, `History`, Nadam |
//! | [`metrics`] | accuracy, confusion matrix, per-class accuracy, misclassified images; pixel accuracy and IoU per class for segmentation |
//! | [`detection`] | boxes, IoU, non-max suppression, average precision and mAP |
//! | [`checkpoint`] | saving and loading weights (safetensors), atomically |
//! | [`quick`] | quick mode (`CNNKIT_QUICK=1`) for CI |
//! | [`build`] | how the crates were compiled (a warning when evcxr's checks slow them down) |
//! | [`error`] | this crate's error type, which wraps `cnnkit-data`'s |
//!
//! Its [`prelude`] is the heart of the notebooks' `use cnnkit_nn::prelude::*;`.
#![warn(missing_docs)]

pub mod architectures;
pub mod arith;
pub mod build;
pub mod checkpoint;
pub mod detection;
pub mod error;
pub mod init;
pub mod layers;
pub mod metrics;
pub mod model;
pub mod ops;
mod params;
pub mod quick;
pub mod train;

pub use error::{Error, Result};

/// The tensors, layers and training entry points a notebook cell names, each under one
/// name: what `cnnkit_nn::prelude` re-exports, next to the data and plotting names.
///
/// dfdx's own prelude is not glob-imported: it would bring 300 names, among them dfdx's
/// `ReLU` module next to this crate's [`Relu`](crate::layers::Relu) activation. What is
/// here is what the notebooks use: the tensor and shape types, and the traits whose
/// methods cells call (`dev.tensor(..)`, `dev.build_module::<M, f32>()`, `x.array()`,
/// `model.forward(x)`, `y.sum().backward()`, ...). Everything else of dfdx is at
/// `cnnkit::dfdx::...`.
pub mod prelude {
    pub use dfdx::losses::cross_entropy_with_logits_loss;
    pub use dfdx::nn::builders::{Dropout, Softmax};
    pub use dfdx::nn::{DeviceBuildExt, Module, ModuleMut, ZeroGrads};
    pub use dfdx::shapes::{Axis, Const, Dim, HasShape, Rank0, Rank1, Rank2, Rank3, Rank4, Shape};
    pub use dfdx::tensor::{
        AsArray, Cpu, Gradients, NoneTape, OnesTensor, OwnedTape, SampleTensor, Tape, Tensor,
        TensorFrom, TensorFromVec, TensorToArray, Trace, ZerosTensor,
    };
    pub use dfdx::tensor_ops::{
        Backward, BroadcastTo, MaxTo, MeanTo, PermuteTo, ReshapeTo, SelectTo, SumTo, TryMatMul,
    };

    pub use crate::arith::Padding;
    pub use crate::layers::{
        AvgPool2D, BatchNorm, Bilinear, Block, Concat, Conv2D, Conv2DNoBias, Conv2DTranspose,
        Dense, DepthwiseConv2D, DepthwiseMaxPool2D, Flatten, Frozen, GlobalAvgPool2D, Heads,
        Identity, Inception, LocalResponseNorm, MaxPool2D, Nearest, NoBias, Relu, Residual,
        ResidualUnit, ResidualUnitDown, Same, ScaleBy, SeResidualUnit, SeparableConv2D, Sigmoid,
        SqueezeExcite, Tanh, UpSampling2D, UseBias, Valid, ZeroPadding2D,
    };
    pub use crate::layers::{
        FillConstant, FillNearest, FillReflect, FillWrap, Horizontal, HorizontalAndVertical,
        RandomContrast, RandomFlip, RandomRotation, RandomTranslation, RandomZoom, Vertical,
    };
    pub use crate::model::{summary, FeatureShape, Summary};
    pub use crate::ops::{
        conv2d, conv2d_transpose, depthwise_max_pool2d, flatten, global_avg_pool2d, pool2d, Images,
        PoolKind,
    };
    pub use crate::train::{
        evaluate, fit, predict, predict_classes, Dataset, FitConfig, History, OptimizerKind,
    };
    pub use crate::{architectures, arith, checkpoint, metrics, quick};
    pub use crate::{Error, Result};
}
