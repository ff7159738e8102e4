//! GoogLeNet (Inception v1).

use dfdx::nn::builders::Dropout;

use crate::layers::{
    Conv2D, Dense, GlobalAvgPool2D, Inception, LocalResponseNorm, MaxPool2D, Relu, Same,
};

/// GoogLeNet as in the book's figure 14-14, on 224x224x3 images, without the two
/// auxiliary classifiers used only in training: a stem of convolutions, nine
/// [`Inception`] modules (3a-5b, with the paper's filter counts), global average pooling,
/// dropout and the 1,000-class layer. The paper's dropout rate is 0.4; the dfdx `Dropout`
/// builder here starts at 0.5 (set `model.3.1.p = 0.4` after building to match).
pub type GoogLeNet = (
    (
        Conv2D<3, 64, 7, 2, Same, Relu>,
        MaxPool2D<3, 2, Same>,
        LocalResponseNorm,
        Conv2D<64, 64, 1, 1, Same, Relu>,
        Conv2D<64, 192, 3, 1, Same, Relu>,
        (LocalResponseNorm, MaxPool2D<3, 2, Same>),
    ),
    (
        Inception<192, 64, 96, 128, 16, 32, 32, 256>,
        Inception<256, 128, 128, 192, 32, 96, 64, 480>,
        MaxPool2D<3, 2, Same>,
    ),
    (
        Inception<480, 192, 96, 208, 16, 48, 64, 512>,
        Inception<512, 160, 112, 224, 24, 64, 64, 512>,
        Inception<512, 128, 128, 256, 24, 64, 64, 512>,
        Inception<512, 112, 144, 288, 32, 64, 64, 528>,
        Inception<528, 256, 160, 320, 32, 128, 128, 832>,
        MaxPool2D<3, 2, Same>,
    ),
    (
        Inception<832, 256, 160, 320, 32, 128, 128, 832>,
        Inception<832, 384, 192, 384, 48, 128, 128, 1024>,
    ),
    (GlobalAvgPool2D, Dropout, Dense<1024, 1000>),
);
