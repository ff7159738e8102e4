//! Residual networks: the book's ResNet-34, an SE-ResNet unit, and the small ResNet that
//! notebook 07 trains on Fashion-MNIST.

use crate::layers::{
    BatchNorm, Conv2DNoBias, ConvBnRelu, Dense, GlobalAvgPool2D, MaxPool2D, Relu, ResidualUnit,
    ResidualUnitDown, Same, SeResidualUnit,
};

/// The book's ResNet-34 (HOML chapter 14, "Implementing a ResNet-34 CNN Using Keras"):
/// a 7x7 stride-2 convolution, batch normalization, ReLU, 3x3 stride-2 max pooling, then
/// residual units of 64 (3), 128 (4), 256 (6) and 512 (3) filters, the first of each new
/// width with stride 2, global average pooling and a 10-class dense layer.
///
/// ```python
/// model = keras.Sequential([
///     DefaultConv2D(64, kernel_size=7, strides=2, input_shape=[224, 224, 3]),
///     keras.layers.BatchNormalization(),
///     keras.layers.Activation("relu"),
///     keras.layers.MaxPool2D(pool_size=3, strides=2, padding="same"),
/// ])
/// prev_filters = 64
/// for filters in [64] * 3 + [128] * 4 + [256] * 6 + [512] * 3:
///     strides = 1 if filters == prev_filters else 2
///     model.add(ResidualUnit(filters, strides=strides))
///     prev_filters = filters
/// model.add(keras.layers.GlobalAvgPool2D())
/// model.add(keras.layers.Flatten())
/// model.add(keras.layers.Dense(10, activation="softmax"))
/// ```
pub type ResNet34 = (
    (
        Conv2DNoBias<3, 64, 7, 2, Same>,
        BatchNorm<64>,
        Relu,
        MaxPool2D<3, 2, Same>,
    ),
    (ResidualUnit<64>, ResidualUnit<64>, ResidualUnit<64>),
    (
        ResidualUnitDown<64, 128>,
        ResidualUnit<128>,
        ResidualUnit<128>,
        ResidualUnit<128>,
    ),
    (
        ResidualUnitDown<128, 256>,
        ResidualUnit<256>,
        ResidualUnit<256>,
        ResidualUnit<256>,
        ResidualUnit<256>,
        ResidualUnit<256>,
    ),
    (
        ResidualUnitDown<256, 512>,
        ResidualUnit<512>,
        ResidualUnit<512>,
    ),
    (GlobalAvgPool2D, Dense<512, 10>),
);

/// One SE-ResNet unit at the size of ResNet's first stage with 256 channels (56x56x256):
/// the residual unit's main path, a squeeze-and-excitation block with 256 / 16 = 16
/// units, the addition and ReLU.
pub type SeResNetBlock = SeResidualUnit<256, 16>;

/// A small ResNet for 28x28x1 Fashion-MNIST images (notebook 07): a 3x3 convolution with
/// 32 filters, batch normalization and ReLU, then five residual units (32; 64 with stride
/// 2, 64; 128 with stride 2, 128), global average pooling and a 10-class dense layer.
/// About 680,000 parameters, half as many as the lecture's CNN, and a similar number of
/// multiplications per image.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let model = Cpu::seed_from_u64(0).build_module::<cnnkit_nn::architectures::SmallResNet, f32>();
/// let s = summary(&model, [28, 28, 1]).unwrap();
/// assert_eq!(s.output(), FeatureShape::Flat(10));
/// assert_eq!(s.non_trainable_params(), 2 * (32 + 2 * 32 + 3 * 64 + 2 * 64 + 3 * 128 + 2 * 128));
/// ```
pub type SmallResNet = (
    ConvBnRelu<Conv2DNoBias<1, 32, 3, 1, Same>, BatchNorm<32>>,
    ResidualUnit<32>,
    (ResidualUnitDown<32, 64>, ResidualUnit<64>),
    (ResidualUnitDown<64, 128>, ResidualUnit<128>),
    (GlobalAvgPool2D, Dense<128, 10>),
);
