//! Xception, built from depthwise separable convolutions.

use crate::layers::{
    BatchNorm, Block, BlockName, Conv2DNoBias, Dense, GlobalAvgPool2D, Identity, MaxPool2D, NoBias,
    Relu, Residual, Same, SeparableConv2D, Valid,
};

/// A separable 3x3 `same` convolution without bias, then batch normalization.
type SepBn<const IN: usize, const OUT: usize> = (
    SeparableConv2D<IN, OUT, 3, 1, Same, Identity, NoBias>,
    BatchNorm<OUT>,
);

/// Name of the Xception blocks in a summary.
#[derive(Clone, Copy, Debug, Default)]
pub struct XceptionBlockName;

impl BlockName for XceptionBlockName {
    const KIND: &'static str = "XceptionBlock";
    const BASE: &'static str = "xception_block";
}

/// An entry-flow (or exit-flow) block of Xception: ReLU, separable convolution to `MID`,
/// ReLU, separable convolution to `OUT`, 3x3 max pooling with stride 2, plus a shortcut
/// of a 1x1 convolution with stride 2 and batch normalization.
pub type XceptionEntryBlock<const IN: usize, const MID: usize, const OUT: usize> = Block<
    XceptionBlockName,
    Residual<
        (
            (Relu, SepBn<IN, MID>),
            (Relu, SepBn<MID, OUT>),
            MaxPool2D<3, 2, Same>,
        ),
        (Conv2DNoBias<IN, OUT, 1, 2, Same>, BatchNorm<OUT>),
    >,
>;

/// A middle-flow block of Xception: three times ReLU and a 728-channel separable
/// convolution, around an identity shortcut.
pub type XceptionMiddleBlock = Block<
    XceptionBlockName,
    Residual<(
        (Relu, SepBn<728, 728>),
        (Relu, SepBn<728, 728>),
        (Relu, SepBn<728, 728>),
    )>,
>;

/// Xception as `keras.applications.Xception(weights=None)` on 299x299x3 images: the entry
/// flow (two plain convolutions, then blocks to 128, 256 and 728 channels), eight middle
/// blocks, the exit flow (a block to 1,024 channels, separable convolutions to 1,536 and
/// 2,048), global average pooling and 1,000 classes. The first entry block has no ReLU in
/// front in Keras (it follows one already); here it starts with one more ReLU, which
/// changes nothing (a ReLU of a ReLU).
pub type Xception = (
    (
        Conv2DNoBias<3, 32, 3, 2, Valid>,
        BatchNorm<32>,
        Relu,
        Conv2DNoBias<32, 64, 3, 1, Valid>,
        BatchNorm<64>,
        Relu,
    ),
    (
        XceptionEntryBlock<64, 128, 128>,
        XceptionEntryBlock<128, 256, 256>,
        XceptionEntryBlock<256, 728, 728>,
    ),
    (
        XceptionMiddleBlock,
        XceptionMiddleBlock,
        XceptionMiddleBlock,
        XceptionMiddleBlock,
    ),
    (
        XceptionMiddleBlock,
        XceptionMiddleBlock,
        XceptionMiddleBlock,
        XceptionMiddleBlock,
    ),
    (
        XceptionEntryBlock<728, 728, 1024>,
        (
            SeparableConv2D<1024, 1536, 3, 1, Same, Identity, NoBias>,
            BatchNorm<1536>,
            Relu,
        ),
        (
            SeparableConv2D<1536, 2048, 3, 1, Same, Identity, NoBias>,
            BatchNorm<2048>,
            Relu,
        ),
    ),
    (GlobalAvgPool2D, Dense<2048, 1000>),
);
