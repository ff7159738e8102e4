//! The shipped models: what each file holds, how it was made and what it scores.

use cnnkit_nn::architectures::{LectureCnn, SmallResNet};
use cnnkit_nn::prelude::*;
use dfdx::nn::modules::BuildOnDevice;

/// One shipped model: its file, its training recipe and its measured accuracy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Entry {
    /// The name, also the file's stem: `lecture_cnn` is `lecture_cnn.safetensors`.
    pub name: &'static str,
    /// The architecture, as recorded in the file's metadata (a type of this workspace).
    pub architecture: &'static str,
    /// The Fashion-MNIST classes it was trained on; output `i` is class `classes[i]`.
    pub classes: &'static [u8],
    /// Epochs over the training images of those classes (from the first 55,000 training
    /// images, the lecture's training split; the last 5,000 are its validation split).
    pub epochs: usize,
    /// Seed of the initial weights (`Cpu::seed_from_u64`).
    pub model_seed: u64,
    /// Seed of `fit` (shuffling, dropout).
    pub fit_seed: u64,
    /// SHA-256 of the file, hexadecimal.
    pub sha256: &'static str,
    /// Accuracy on all test images of `classes`, measured with the shipped (`f16`) weights.
    pub test_accuracy: f32,
    /// The accuracy CI requires on the first 2,000 test images of `classes` (a margin
    /// below the measured figure, for the other instruction sets' rounding).
    pub ci_bound: f32,
    /// Minutes the training command took on the 2-core machine that made the file.
    pub minutes: u32,
}

impl Entry {
    /// The file name in [`crate::weights_dir`].
    pub fn file(&self) -> String {
        format!("{}.safetensors", self.name)
    }

    /// The command that trains this entry and writes its file.
    pub fn command(&self) -> String {
        format!(
            "cargo run --release -p cnnkit-pretrained --example pretrain -- {}",
            self.name
        )
    }
}

/// A model type that has a shipped file: [`crate::load`]`::<M>()`.
pub trait Pretrained: BuildOnDevice<Cpu, f32> {
    /// Its entry in [`MODELS`].
    const ENTRY: &'static Entry;
}

/// The lower part of [`Base`]: the stem and the 32- and 64-channel residual units (the
/// layers that stay frozen in the second phase of transfer learning).
pub type BaseLower = (
    (Conv2DNoBias<1, 32, 3, 1, Same>, BatchNorm<32>, Relu),
    ResidualUnit<32>,
    (ResidualUnitDown<32, 64>, ResidualUnit<64>),
);

/// The upper part of [`Base`]: the 128-channel residual units and global average pooling
/// (unfrozen in the second phase of transfer learning).
pub type BaseUpper = (
    (ResidualUnitDown<64, 128>, ResidualUnit<128>),
    GlobalAvgPool2D,
);

/// The small ResNet of notebook 07 without its classifier: 128 features per image.
pub type Base = (BaseLower, BaseUpper);

/// [`Base`] with a 5-class head, trained on classes 0-4: the base model of transfer learning.
pub type BaseClassifier = (Base, Dense<128, 5>);

/// `lecture_cnn`: the lecture's CNN, on all ten classes.
pub const LECTURE_CNN: Entry = Entry {
    name: "lecture_cnn",
    architecture: "LectureCnn",
    classes: &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    epochs: 1,
    model_seed: 42,
    fit_seed: 42,
    sha256: "edbc0a4f39a05573f8f9c3a62936929155218054398b0e4d74794a838e8a13ff",
    test_accuracy: 0.8546,
    ci_bound: 0.82,
    minutes: 21,
};

/// `small_resnet`: notebook 07's small ResNet, on all ten classes.
pub const SMALL_RESNET: Entry = Entry {
    name: "small_resnet",
    architecture: "SmallResNet",
    classes: &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    epochs: 2,
    model_seed: 42,
    fit_seed: 42,
    sha256: "f5b1da4d590d14841123e400a80a18dd11d642b0960e8a7cb7fd712aa046e492",
    test_accuracy: 0.9047,
    ci_bound: 0.88,
    minutes: 45,
};

/// `base_classes_0_4`: [`BaseClassifier`] on T-shirt/top, trouser, pullover, dress, coat.
pub const BASE_CLASSES_0_4: Entry = Entry {
    name: "base_classes_0_4",
    architecture: "BaseClassifier",
    classes: &[0, 1, 2, 3, 4],
    epochs: 3,
    model_seed: 42,
    fit_seed: 42,
    sha256: "01d9ba008eeb7af096fef7ef1e2842756aafde4a8cc03ab71b1c190cb8ac7f40",
    test_accuracy: 0.9326,
    ci_bound: 0.90,
    minutes: 21,
};

/// Every shipped model.
pub const MODELS: [&Entry; 3] = [&LECTURE_CNN, &SMALL_RESNET, &BASE_CLASSES_0_4];

/// The entry called `name`.
pub fn entry(name: &str) -> Option<&'static Entry> {
    MODELS.iter().copied().find(|e| e.name == name)
}

impl Pretrained for LectureCnn {
    const ENTRY: &'static Entry = &LECTURE_CNN;
}

impl Pretrained for SmallResNet {
    const ENTRY: &'static Entry = &SMALL_RESNET;
}

impl Pretrained for BaseClassifier {
    const ENTRY: &'static Entry = &BASE_CLASSES_0_4;
}
