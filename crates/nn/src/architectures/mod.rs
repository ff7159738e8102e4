//! The chapter's CNN architectures as types, layer for layer (HOML chapter 14, "CNN
//! architectures"), at their published input sizes, and the models notebook 07 trains on
//! Fashion-MNIST.
//!
//! | type | paper | input | note |
//! |---|---|---|---|
//! | [`LeNet5`] | LeCun et al. 1998 | 32x32x1 | tanh, average pooling |
//! | [`AlexNet`] | Krizhevsky et al. 2012 | 227x227x3 | local response normalization, dropout |
//! | [`Vgg16`] | Simonyan & Zisserman 2014 | 224x224x3 | as `keras.applications.VGG16` |
//! | [`GoogLeNet`] | Szegedy et al. 2014 | 224x224x3 | nine inception modules, no auxiliary classifiers |
//! | [`ResNet34`] | He et al. 2015 | 224x224x3 | the book's Keras ResNet-34, 10 classes |
//! | [`Xception`] | Chollet 2016 | 299x299x3 | as `keras.applications.Xception` |
//! | [`SeResNetBlock`] | Hu et al. 2017 | 56x56x256 | one SE-ResNet unit |
//! | [`LectureCnn`] | the lecture | 28x28x1 | Fashion-MNIST, notebook 06 |
//! | [`SmallResNet`] | | 28x28x1 | Fashion-MNIST, notebook 07 |
//!
//! Every model ends in logits: the softmax of Keras' last layer is applied by the loss and
//! by [`crate::train::predict`]. Parameter counts agree with Keras (see
//! `docs/architectures.md` and the tests in `tests/architectures.rs`).
//!
//! ```
//! use cnnkit_nn::prelude::*;
//! use cnnkit_nn::architectures::LeNet5;
//! let model = Cpu::default().build_module::<LeNet5, f32>();
//! let s = summary(&model, [32, 32, 1]).unwrap();
//! assert_eq!(s.total_params(), 61_706);
//! ```

mod classic;
mod googlenet;
mod resnet;
mod xception;

pub use classic::{AlexNet, LeNet5, LectureCnn, Vgg16};
pub use googlenet::GoogLeNet;
pub use resnet::{ResNet34, SeResNetBlock, SmallResNet};
pub use xception::{Xception, XceptionBlockName, XceptionEntryBlock, XceptionMiddleBlock};
