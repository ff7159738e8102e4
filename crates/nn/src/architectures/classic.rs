//! Plain stacks of convolutions and pooling: LeNet-5, AlexNet, VGG-16, and the lecture's
//! Fashion-MNIST CNN.

use dfdx::nn::builders::Dropout;

use crate::layers::{
    AvgPool2D, Conv2D, Dense, Flatten, LocalResponseNorm, MaxPool2D, Relu, Same, Tanh, Valid,
};

/// LeNet-5 (the book's table 14-1): 32x32 inputs (28x28 digits padded with zeros), tanh,
/// average pooling; the output layer is an ordinary dense layer here (the paper's was an
/// RBF layer). For 28x28 images put a [`crate::layers::ZeroPadding2D<2>`] before it.
///
/// ```python
/// keras.Sequential([
///     keras.layers.Conv2D(6, 5, activation="tanh", input_shape=[32, 32, 1]),
///     keras.layers.AvgPool2D(2),
///     keras.layers.Conv2D(16, 5, activation="tanh"),
///     keras.layers.AvgPool2D(2),
///     keras.layers.Conv2D(120, 5, activation="tanh"),
///     keras.layers.Flatten(),
///     keras.layers.Dense(84, activation="tanh"),
///     keras.layers.Dense(10, activation="softmax")])
/// ```
pub type LeNet5 = (
    Conv2D<1, 6, 5, 1, Valid, Tanh>,
    AvgPool2D<2>,
    Conv2D<6, 16, 5, 1, Valid, Tanh>,
    AvgPool2D<2>,
    Conv2D<16, 120, 5, 1, Valid, Tanh>,
    (Flatten, Dense<120, 84, Tanh>, Dense<84, 10>),
);

/// AlexNet (the book's table 14-2) on 227x227x3 images, without the paper's split over
/// two GPUs: local response normalization after the first two convolutions, dropout 0.5
/// in the dense layers, 1,000 classes.
pub type AlexNet = (
    (
        Conv2D<3, 96, 11, 4, Valid, Relu>,
        LocalResponseNorm,
        MaxPool2D<3, 2, Valid>,
    ),
    (
        Conv2D<96, 256, 5, 1, Same, Relu>,
        LocalResponseNorm,
        MaxPool2D<3, 2, Valid>,
    ),
    (
        Conv2D<256, 384, 3, 1, Same, Relu>,
        Conv2D<384, 384, 3, 1, Same, Relu>,
        Conv2D<384, 256, 3, 1, Same, Relu>,
        MaxPool2D<3, 2, Valid>,
    ),
    (
        Flatten,
        Dense<9216, 4096, Relu>,
        Dropout,
        Dense<4096, 4096, Relu>,
        Dropout,
        Dense<4096, 1000>,
    ),
);

/// Two or three 3x3 `same` convolutions with ReLU, then 2x2 max pooling: one VGG block.
type VggBlock2<const IN: usize, const C: usize> = (
    Conv2D<IN, C, 3, 1, Same, Relu>,
    Conv2D<C, C, 3, 1, Same, Relu>,
    MaxPool2D<2>,
);
type VggBlock3<const IN: usize, const C: usize> = (
    Conv2D<IN, C, 3, 1, Same, Relu>,
    Conv2D<C, C, 3, 1, Same, Relu>,
    Conv2D<C, C, 3, 1, Same, Relu>,
    MaxPool2D<2>,
);

/// VGG-16 as `keras.applications.VGG16(weights=None)`: blocks of 2, 2, 3, 3 and 3
/// convolutions (64 to 512 filters), each followed by max pooling, then two dense layers
/// of 4,096 and the 1,000-class output; 138,357,544 parameters on 224x224x3.
pub type Vgg16 = (
    VggBlock2<3, 64>,
    VggBlock2<64, 128>,
    VggBlock3<128, 256>,
    VggBlock3<256, 512>,
    VggBlock3<512, 512>,
    (
        Flatten,
        Dense<25088, 4096, Relu>,
        Dense<4096, 4096, Relu>,
        Dense<4096, 1000>,
    ),
);

/// The lecture's Fashion-MNIST model (HOML chapter 14), layer for layer:
///
/// ```python
/// model = keras.models.Sequential([
///     keras.layers.Conv2D(64, 7, activation="relu", padding="same", input_shape=[28, 28, 1]),
///     keras.layers.MaxPooling2D(2),
///     keras.layers.Conv2D(128, 3, activation="relu", padding="same"),
///     keras.layers.Conv2D(128, 3, activation="relu", padding="same"),
///     keras.layers.MaxPooling2D(2),
///     keras.layers.Conv2D(256, 3, activation="relu", padding="same"),
///     keras.layers.Conv2D(256, 3, activation="relu", padding="same"),
///     keras.layers.MaxPooling2D(2),
///     keras.layers.Flatten(),
///     keras.layers.Dense(128, activation="relu"), keras.layers.Dropout(0.5),
///     keras.layers.Dense(64, activation="relu"), keras.layers.Dropout(0.5),
///     keras.layers.Dense(10, activation="softmax")])
/// ```
///
/// The notebook `06_fashion_mnist.ipynb` writes the same type out in a cell; the
/// benchmark and the tests use this alias.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let model = Cpu::default().build_module::<cnnkit_nn::architectures::LectureCnn, f32>();
/// assert_eq!(summary(&model, [28, 28, 1]).unwrap().total_params(), 1_413_834);
/// ```
pub type LectureCnn = (
    (Conv2D<1, 64, 7, 1, Same, Relu>, MaxPool2D<2>),
    (
        Conv2D<64, 128, 3, 1, Same, Relu>,
        Conv2D<128, 128, 3, 1, Same, Relu>,
        MaxPool2D<2>,
    ),
    (
        Conv2D<128, 256, 3, 1, Same, Relu>,
        Conv2D<256, 256, 3, 1, Same, Relu>,
        MaxPool2D<2>,
    ),
    (
        Flatten,
        Dense<2304, 128, Relu>,
        Dropout,
        Dense<128, 64, Relu>,
        Dropout,
        Dense<64, 10>,
    ),
);
