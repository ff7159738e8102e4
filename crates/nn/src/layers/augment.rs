//! Data augmentation as layers of the model, as in Keras 3: [`RandomFlip`],
//! [`RandomTranslation`], [`RandomRotation`], [`RandomZoom`] and [`RandomContrast`].
//!
//! They change the training images a little at every step (the book's "data
//! augmentation", which AlexNet used against overfitting) and leave them alone otherwise:
//!
//! | call | who makes it | what the layer does |
//! |---|---|---|
//! | [`ModuleMut::forward_mut`] | [`crate::train::fit`] (with a gradient tape) | draws new random settings for every image and applies them |
//! | [`Module::forward`] | [`crate::train::evaluate`], [`crate::train::predict`] | returns the input unchanged |
//!
//! None has parameters, and none passes a gradient back to its input (the images need
//! none): the tape goes around the computation onto the output, and
//! [`crate::model::summary`] refuses a model with a trainable layer before one of them.
//! Put them at the start of the model, as the book does.
//!
//! # Random numbers
//!
//! Each layer holds a public `seed` (a default per kind of layer) and counts its
//! training calls. The settings of image `i` in call `k` come from a hash of
//! `(seed, k, i)` (SplitMix64), so a run is reproducible, every batch gets other draws,
//! and nothing depends on the number of threads. Two layers of the same kind in one
//! model start from the same seed: give one of them another (`model.0.seed = 7`).
//! Building a model (`build_module`) makes new layers with the default seed and count 0.
//!
//! # Keras equivalents
//!
//! The settings are const generics in whole percent or degrees, so the model's type reads
//! like the Keras code:
//!
//! ```python
//! data_augmentation = keras.Sequential([
//!     keras.layers.RandomFlip("horizontal"),
//!     keras.layers.RandomRotation(15 / 360),
//!     keras.layers.RandomZoom(0.1),
//! ])
//! ```
//!
//! ```
//! use cnnkit_nn::prelude::*;
//! type Augment = (RandomFlip<Horizontal>, RandomRotation<15>, RandomZoom<10>);
//! let mut augment = Cpu::default().build_module::<Augment, f32>();
//! let dev = Cpu::default();
//! let x: Images<1> = dev.tensor_from_vec((0..32).map(|v| v as f32 / 32.0).collect(), (2, 4, 4, Const::<1>));
//! // Inference: unchanged.
//! assert_eq!(augment.forward(x.clone()).as_vec(), x.as_vec());
//! // Training: changed, differently at every call.
//! let a = augment.forward_mut(x.clone()).as_vec();
//! let b = augment.forward_mut(x.clone()).as_vec();
//! assert!(a != x.as_vec() && a != b);
//! ```
//!
//! Fill mode `reflect` and bilinear interpolation are the defaults, as in Keras; the
//! geometric layers take a fill mode as a type parameter ([`FillConstant`] for Keras'
//! `fill_mode="constant"`). The kernels, and where their conventions come from, are in
//! `cnnkit_kernels::augment`.

use std::fmt;
use std::marker::PhantomData;

use cnnkit_kernels::augment::{self as kernel, FillMode, Flip, Interpolation, Transform};
use dfdx::nn::modules::{BuildOnDevice, Module, ModuleMut, ModuleVisitor};
use dfdx::nn::tensor_collection::TensorCollection;
use dfdx::prelude::*;

use super::describe::{image_input, push, Describe, FeatureShape, LayerRow};
use super::forward_error;
use crate::error::{Error, Result};

// ------------------------------------------------------------------------------------------
// Random numbers
// ------------------------------------------------------------------------------------------

/// SplitMix64's output function (Steele, Lea and Flood 2014, the generator `java.util`'s
/// `SplittableRandom` uses): a bijective mix of 64 bits.
fn splitmix64(z: u64) -> u64 {
    let z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A number in `0..1` for draw `draw` of image `image` in call `call` of a layer seeded
/// `seed`: a hash of the four, so that any draw can be made alone, in any order.
fn uniform(seed: u64, call: u64, image: usize, draw: u64) -> f64 {
    let h = [call, image as u64, draw]
        .iter()
        .fold(splitmix64(seed), |h, &v| splitmix64(h ^ v));
    // The top 53 bits, as a double in [0, 1).
    (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A number in `-limit..limit` (Keras' `uniform(-factor, factor)`).
fn symmetric(seed: u64, call: u64, image: usize, draw: u64, limit: f64) -> f64 {
    limit * (2.0 * uniform(seed, call, image, draw) - 1.0)
}

/// A factor as Keras prints it: `0.1`, `0.0417` (at most four decimals).
fn factor(value: f64) -> String {
    let s = format!("{value:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() {
        "0".into()
    } else {
        s.into()
    }
}

// ------------------------------------------------------------------------------------------
// Settings as types
// ------------------------------------------------------------------------------------------

/// Which axes a [`RandomFlip`] mirrors: [`Horizontal`], [`Vertical`] or
/// [`HorizontalAndVertical`] (Keras' `mode`).
pub trait FlipMode: Default + Clone + Copy + fmt::Debug + 'static {
    /// Left and right may swap.
    const HORIZONTAL: bool;
    /// Top and bottom may swap.
    const VERTICAL: bool;
    /// Keras' name of the mode.
    const NAME: &'static str;
}

/// Keras `RandomFlip("horizontal")`: left and right swap in half of the images.
#[derive(Default, Clone, Copy, Debug)]
pub struct Horizontal;

/// Keras `RandomFlip("vertical")`: top and bottom swap in half of the images.
#[derive(Default, Clone, Copy, Debug)]
pub struct Vertical;

/// Keras `RandomFlip("horizontal_and_vertical")`, the default: as in Keras 3, one draw per
/// image flips both axes (a half turn) or neither.
#[derive(Default, Clone, Copy, Debug)]
pub struct HorizontalAndVertical;

impl FlipMode for Horizontal {
    const HORIZONTAL: bool = true;
    const VERTICAL: bool = false;
    const NAME: &'static str = "horizontal";
}

impl FlipMode for Vertical {
    const HORIZONTAL: bool = false;
    const VERTICAL: bool = true;
    const NAME: &'static str = "vertical";
}

impl FlipMode for HorizontalAndVertical {
    const HORIZONTAL: bool = true;
    const VERTICAL: bool = true;
    const NAME: &'static str = "horizontal_and_vertical";
}

/// How [`RandomTranslation`], [`RandomRotation`] and [`RandomZoom`] fill the points that
/// come from outside the image (Keras' `fill_mode`): [`FillReflect`] (the default),
/// [`FillWrap`], [`FillConstant`] or [`FillNearest`].
pub trait Fill: Default + Clone + Copy + fmt::Debug + 'static {
    /// The kernel's fill mode.
    const MODE: FillMode;
}

/// Keras `fill_mode="reflect"`, the default: `d c b a | a b c d | d c b a`.
#[derive(Default, Clone, Copy, Debug)]
pub struct FillReflect;

/// Keras `fill_mode="wrap"`: `a b c d | a b c d | a b c d`.
#[derive(Default, Clone, Copy, Debug)]
pub struct FillWrap;

/// Keras `fill_mode="constant"` with its default `fill_value=0.0`: `0 0 0 0 | a b c d | 0 0 0 0`.
#[derive(Default, Clone, Copy, Debug)]
pub struct FillConstant;

/// Keras `fill_mode="nearest"`: `a a a a | a b c d | d d d d`.
#[derive(Default, Clone, Copy, Debug)]
pub struct FillNearest;

impl Fill for FillReflect {
    const MODE: FillMode = FillMode::Reflect;
}

impl Fill for FillWrap {
    const MODE: FillMode = FillMode::Wrap;
}

impl Fill for FillConstant {
    const MODE: FillMode = FillMode::Constant(0.0);
}

impl Fill for FillNearest {
    const MODE: FillMode = FillMode::Nearest;
}

// ------------------------------------------------------------------------------------------
// The layers
// ------------------------------------------------------------------------------------------

/// Mirrors half of the training images, chosen at random (Keras `RandomFlip`).
///
/// Keras: `RandomFlip("horizontal")` is `RandomFlip<Horizontal>`; `RandomFlip()` (mode
/// `"horizontal_and_vertical"`) is `RandomFlip` alone. Each image is flipped when its draw
/// is at most 0.5, as in Keras 3; [`HorizontalAndVertical`] flips both axes with that one
/// draw, as Keras 3 does (Keras 2 drew each axis apart).
///
/// While training only ([`ModuleMut`]); [`Module::forward`] returns its input. See the
/// [module documentation](self) for the random numbers.
///
/// # Shapes
/// `(B, H, W, C)` to `(B, H, W, C)`.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let dev = Cpu::default();
/// let mut flip = dev.build_module::<RandomFlip<Horizontal>, f32>();
/// let x: Images<1> = dev.tensor_from_vec((0..300).map(|v| v as f32).collect(), (100, 1, 3, Const::<1>));
/// let y = flip.forward_mut(x.clone()).as_vec();
/// // Every 1x3 image is either unchanged or mirrored, and both happen.
/// let kept = |i: usize| y[3 * i..3 * i + 3] == x.as_vec()[3 * i..3 * i + 3];
/// let mirrored = |i: usize| y[3 * i] == x.as_vec()[3 * i + 2] && y[3 * i + 2] == x.as_vec()[3 * i];
/// assert!((0..100).all(|i| kept(i) || mirrored(i)));
/// assert!((0..100).any(kept) && (0..100).any(mirrored));
/// assert_eq!(flip.calls(), 1);
/// ```
#[derive(Clone, Debug)]
pub struct RandomFlip<Mode = HorizontalAndVertical> {
    /// Seed of the draws (default [`RandomFlip::DEFAULT_SEED`]).
    pub seed: u64,
    calls: u64,
    mode: PhantomData<Mode>,
}

/// Moves the training images by a random fraction of their size (Keras
/// `RandomTranslation`).
///
/// Keras: `RandomTranslation(0.1, 0.1)` is `RandomTranslation<10>`; `RandomTranslation(0.2,
/// 0.1)` is `RandomTranslation<20, 10>` (height first, as in Keras). Each image moves by
/// `u * height` rows and `v * width` columns, `u` and `v` drawn in `-HEIGHT%..HEIGHT%` and
/// `-WIDTH%..WIDTH%` (fractions of a pixel too, with bilinear interpolation), and the
/// uncovered border is filled by reflection unless `F` says otherwise. Factors above 100%
/// do not compile (Keras accepts `-1.0..=1.0`).
///
/// While training only ([`ModuleMut`]); [`Module::forward`] returns its input.
///
/// # Shapes
/// `(B, H, W, C)` to `(B, H, W, C)`.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let dev = Cpu::default();
/// let mut shift = dev.build_module::<RandomTranslation<20>, f32>();
/// let x: Images<1> = dev.tensor_from_vec((0..50).map(|v| v as f32).collect(), (2, 5, 5, Const::<1>));
/// let y = shift.forward_mut(x.clone());
/// assert_eq!(*y.shape(), *x.shape());
/// assert_ne!(y.as_vec(), x.as_vec());
/// ```
///
/// ```compile_fail
/// use cnnkit_nn::prelude::*;
/// // More than 100% of the size does not compile.
/// let layer = Cpu::default().build_module::<RandomTranslation<101>, f32>();
/// ```
#[derive(Clone, Debug)]
pub struct RandomTranslation<const HEIGHT: usize, const WIDTH: usize = HEIGHT, F = FillReflect> {
    /// Seed of the draws (default [`RandomTranslation::DEFAULT_SEED`]).
    pub seed: u64,
    calls: u64,
    fill: PhantomData<F>,
}

/// Turns the training images by a random angle about their centre (Keras
/// `RandomRotation`).
///
/// Keras' factor is a fraction of a full turn, ours is in degrees: `RandomRotation(15 /
/// 360)` (up to 15° either way) is `RandomRotation<15>`, and `RandomRotation(0.1)` is
/// `RandomRotation<36>`. Each image turns by an angle drawn in `-DEGREES..DEGREES`,
/// counter-clockwise for positive angles as in Keras, about the centre of the image, and
/// the corners that come from outside are filled by reflection unless `F` says otherwise.
/// More than 180° does not compile (it would only repeat angles).
///
/// While training only ([`ModuleMut`]); [`Module::forward`] returns its input.
///
/// # Shapes
/// `(B, H, W, C)` to `(B, H, W, C)`.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let dev = Cpu::default();
/// let mut rotate = dev.build_module::<RandomRotation<30>, f32>();
/// let x: Images<3> = dev.tensor_from_vec((0..2 * 7 * 7 * 3).map(|v| (v % 5) as f32).collect(),
///                                        (2, 7, 7, Const::<3>));
/// assert_ne!(rotate.forward_mut(x.clone()).as_vec(), x.as_vec());
/// let s = summary(&rotate, [7, 7, 3]).unwrap();
/// assert_eq!(s.layers[0].config, "factor 0.0833 (±30°), fill_mode=reflect, interpolation=bilinear");
/// ```
///
/// ```compile_fail
/// use cnnkit_nn::prelude::*;
/// // More than 180 degrees does not compile.
/// let layer = Cpu::default().build_module::<RandomRotation<181>, f32>();
/// ```
#[derive(Clone, Debug)]
pub struct RandomRotation<const DEGREES: usize, F = FillReflect> {
    /// Seed of the draws (default [`RandomRotation::DEFAULT_SEED`]).
    pub seed: u64,
    calls: u64,
    fill: PhantomData<F>,
}

/// Zooms into or out of the training images by a random factor (Keras `RandomZoom`).
///
/// Keras: `RandomZoom(0.1)` is `RandomZoom<10>`: the same factor for height and width
/// (Keras' `width_factor=None`, which keeps the aspect ratio), drawn in `1 - 10%..1 + 10%`
/// per image. Above 1 the layer zooms out (the image shrinks about its centre and the
/// border is filled by reflection unless `F` says otherwise), below 1 it zooms in.
/// 100% or more does not compile (a factor of 0 would sample one point).
///
/// While training only ([`ModuleMut`]); [`Module::forward`] returns its input.
///
/// # Shapes
/// `(B, H, W, C)` to `(B, H, W, C)`.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let dev = Cpu::default();
/// let mut zoom = dev.build_module::<RandomZoom<10>, f32>();
/// let x: Images<1> = dev.tensor_from_vec((0..2 * 9 * 9).map(|v| (v % 7) as f32).collect(),
///                                        (2, 9, 9, Const::<1>));
/// assert_ne!(zoom.forward_mut(x.clone()).as_vec(), x.as_vec());
/// assert_eq!(zoom.forward(x.clone()).as_vec(), x.as_vec());
/// ```
///
/// ```compile_fail
/// use cnnkit_nn::prelude::*;
/// // A zoom factor of 100% or more does not compile.
/// let layer = Cpu::default().build_module::<RandomZoom<100>, f32>();
/// ```
#[derive(Clone, Debug)]
pub struct RandomZoom<const PERCENT: usize, F = FillReflect> {
    /// Seed of the draws (default [`RandomZoom::DEFAULT_SEED`]).
    pub seed: u64,
    calls: u64,
    fill: PhantomData<F>,
}

/// Changes the contrast of the training images by a random factor (Keras
/// `RandomContrast`).
///
/// Keras: `RandomContrast(0.2)` is `RandomContrast<20>`. Each image gets a factor drawn
/// in `1 - 20%..1 + 20%` (the range Keras 3 documents and Keras 2 drew; Keras 3.15's code
/// draws a single float's factor in `1..1 + 20%` only, because its `_set_factor` clamps
/// the lower bound at 0), and every value `x` of each channel becomes
/// `(x - mean) * factor + mean` with that channel's mean, clipped to
/// [`value_range`](RandomContrast::value_range). Keras' default `value_range` is
/// `(0, 255)`; ours is `(0, 1)`, the range of this course's images. More than 100% does
/// not compile (Keras accepts `0..=1`).
///
/// While training only ([`ModuleMut`]); [`Module::forward`] returns its input.
///
/// # Shapes
/// `(B, H, W, C)` to `(B, H, W, C)`.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let dev = Cpu::default();
/// let mut contrast = dev.build_module::<RandomContrast<50>, f32>();
/// let x: Images<1> = dev.tensor_from_vec(vec![0.2, 0.4, 0.6, 0.8], (1, 2, 2, Const::<1>));
/// let y = contrast.forward_mut(x).as_vec();
/// // The mean stays, the spread changes.
/// assert!((y.iter().sum::<f32>() / 4.0 - 0.5).abs() < 1e-6);
/// assert!((y[3] - y[0] - 0.6).abs() > 1e-3);
/// ```
///
/// ```compile_fail
/// use cnnkit_nn::prelude::*;
/// // More than 100% does not compile.
/// let layer = Cpu::default().build_module::<RandomContrast<101>, f32>();
/// ```
#[derive(Clone, Debug)]
pub struct RandomContrast<const PERCENT: usize> {
    /// Seed of the draws (default [`RandomContrast::DEFAULT_SEED`]).
    pub seed: u64,
    /// The range the values are clipped to, `(low, high)` (Keras' `value_range`); by
    /// default `(0.0, 1.0)`.
    pub value_range: (f32, f32),
    calls: u64,
}

// ------------------------------------------------------------------------------------------
// Construction and checks
// ------------------------------------------------------------------------------------------

macro_rules! constructors {
    ($layer:ident < $($p:ident),* > [$($g:tt)*], $seed:expr, $check:expr, { $($extra:tt)* }) => {
        impl<$($g)*> $layer<$($p),*> {
            /// The seed that [`Default`] and `build_module` give this kind of layer.
            pub const DEFAULT_SEED: u64 = $seed;

            /// Fails to compile for a setting out of range.
            const CHECK: () = $check;

            /// A layer with seed `seed` that has made no draws yet.
            pub fn with_seed(seed: u64) -> Self {
                let () = Self::CHECK;
                $layer {
                    seed,
                    calls: 0,
                    $($extra)*
                }
            }

            /// How many training calls ([`ModuleMut::forward_mut`]) the layer has made:
            /// the `k` of the next call's draws.
            pub fn calls(&self) -> u64 {
                self.calls
            }
        }

        impl<$($g)*> Default for $layer<$($p),*> {
            fn default() -> Self {
                Self::with_seed(Self::DEFAULT_SEED)
            }
        }
    };
}

constructors!(RandomFlip<Mode> [Mode: FlipMode], 0x466C_6970, (), { mode: PhantomData });
constructors!(
    RandomTranslation<HEIGHT, WIDTH, F> [const HEIGHT: usize, const WIDTH: usize, F: Fill],
    0x5472_616E,
    assert!(
        HEIGHT <= 100 && WIDTH <= 100,
        "RandomTranslation<HEIGHT, WIDTH>: a factor is a percentage of the size, at most 100 \
         (Keras accepts factors in -1.0..=1.0); RandomTranslation<10> is Keras' \
         RandomTranslation(0.1, 0.1)"
    ),
    { fill: PhantomData }
);
constructors!(
    RandomRotation<DEGREES, F> [const DEGREES: usize, F: Fill],
    0x526F_7461,
    assert!(
        DEGREES <= 180,
        "RandomRotation<DEGREES>: the largest angle in degrees, at most 180 (a larger one \
         only repeats angles); RandomRotation<15> is Keras' RandomRotation(15 / 360)"
    ),
    { fill: PhantomData }
);
constructors!(
    RandomZoom<PERCENT, F> [const PERCENT: usize, F: Fill],
    0x5A6F_6F6D,
    assert!(
        PERCENT < 100,
        "RandomZoom<PERCENT>: the zoom factor in percent must be below 100 (at 100% a zoom \
         factor of 0 would shrink the image to one point); RandomZoom<10> is Keras' \
         RandomZoom(0.1)"
    ),
    { fill: PhantomData }
);
constructors!(
    RandomContrast<PERCENT> [const PERCENT: usize],
    0x436F_6E74,
    assert!(
        PERCENT <= 100,
        "RandomContrast<PERCENT>: the contrast factor in percent is at most 100 (Keras \
         accepts 0..=1); RandomContrast<20> is Keras' RandomContrast(0.2)"
    ),
    { value_range: (0.0, 1.0) }
);

impl<const PERCENT: usize> RandomContrast<PERCENT> {
    /// The same layer clipping to `(low, high)` (Keras' `value_range`), e.g. `(0.0, 255.0)`
    /// for images that were not rescaled.
    ///
    /// ```
    /// let layer = cnnkit_nn::layers::RandomContrast::<20>::default().with_value_range(0.0, 255.0);
    /// assert_eq!(layer.value_range, (0.0, 255.0));
    /// ```
    pub fn with_value_range(self, low: f32, high: f32) -> Self {
        RandomContrast {
            value_range: (low, high),
            ..self
        }
    }

    fn check_range(&self) -> Result<()> {
        let (low, high) = self.value_range;
        if low <= high {
            Ok(())
        } else {
            Err(Error::invalid(
                "RandomContrast value_range",
                format!(
                    "({low}, {high}) is not a range (low, high) with low <= high; use (0.0, 1.0) \
                     for images scaled to 0..1 or (0.0, 255.0) for raw pixels"
                ),
            ))
        }
    }
}

// ------------------------------------------------------------------------------------------
// What each layer does to a batch
// ------------------------------------------------------------------------------------------

/// A batch's `(batch, height, width, channels)`.
type Dims = (usize, usize, usize, usize);

/// Transforms `x` through one matrix per image.
fn resample(x: &[f32], (_, h, w, c): Dims, transforms: &[Transform], fill: FillMode) -> Vec<f32> {
    let mut out = vec![0.0; x.len()];
    kernel::affine_transform(
        x,
        (h, w, c),
        transforms,
        Interpolation::Bilinear,
        fill,
        &mut out,
    );
    out
}

impl<Mode: FlipMode> RandomFlip<Mode> {
    fn augment(&self, x: &[f32], (n, h, w, c): Dims, call: u64) -> Result<Vec<f32>> {
        let flips: Vec<Flip> = (0..n)
            .map(|i| {
                let on = uniform(self.seed, call, i, 0) <= 0.5;
                Flip {
                    horizontal: on && Mode::HORIZONTAL,
                    vertical: on && Mode::VERTICAL,
                }
            })
            .collect();
        let mut out = vec![0.0; x.len()];
        kernel::flip(x, (h, w, c), &flips, &mut out);
        Ok(out)
    }
}

impl<const HEIGHT: usize, const WIDTH: usize, F: Fill> RandomTranslation<HEIGHT, WIDTH, F> {
    fn augment(&self, x: &[f32], dims: Dims, call: u64) -> Result<Vec<f32>> {
        let (n, h, w, _) = dims;
        let (fh, fw) = (HEIGHT as f64 / 100.0, WIDTH as f64 / 100.0);
        let t: Vec<Transform> = (0..n)
            .map(|i| {
                let dy = symmetric(self.seed, call, i, 0, fh) * h as f64;
                let dx = symmetric(self.seed, call, i, 1, fw) * w as f64;
                kernel::translation(dx, dy)
            })
            .collect();
        Ok(resample(x, dims, &t, F::MODE))
    }
}

impl<const DEGREES: usize, F: Fill> RandomRotation<DEGREES, F> {
    fn augment(&self, x: &[f32], dims: Dims, call: u64) -> Result<Vec<f32>> {
        let (n, h, w, _) = dims;
        let t: Vec<Transform> = (0..n)
            .map(|i| {
                let angle = symmetric(self.seed, call, i, 0, DEGREES as f64);
                kernel::rotation(angle, h, w)
            })
            .collect();
        Ok(resample(x, dims, &t, F::MODE))
    }
}

impl<const PERCENT: usize, F: Fill> RandomZoom<PERCENT, F> {
    fn augment(&self, x: &[f32], dims: Dims, call: u64) -> Result<Vec<f32>> {
        let (n, h, w, _) = dims;
        let t: Vec<Transform> = (0..n)
            .map(|i| {
                let z = 1.0 + symmetric(self.seed, call, i, 0, PERCENT as f64 / 100.0);
                kernel::zoom(z, z, h, w)
            })
            .collect();
        Ok(resample(x, dims, &t, F::MODE))
    }
}

impl<const PERCENT: usize> RandomContrast<PERCENT> {
    fn augment(&self, x: &[f32], (n, h, w, c): Dims, call: u64) -> Result<Vec<f32>> {
        self.check_range()?;
        let factors: Vec<f32> = (0..n)
            .map(|i| (1.0 + symmetric(self.seed, call, i, 0, PERCENT as f64 / 100.0)) as f32)
            .collect();
        let mut out = vec![0.0; x.len()];
        kernel::adjust_contrast(x, (h, w, c), &factors, self.value_range, &mut out);
        Ok(out)
    }
}

// ------------------------------------------------------------------------------------------
// dfdx: building, inference, training
// ------------------------------------------------------------------------------------------

macro_rules! augmentation_layer {
    ($layer:ident < $($p:ident),* > [$($g:tt)*], $name:literal) => {
        impl<$($g)*, D: Device<E>, E: Dtype> BuildOnDevice<D, E> for $layer<$($p),*> {
            type Built = Self;
        }

        /// No tensors: the seed and the count are settings, not parameters.
        impl<$($g)*, E: Dtype, D: Device<E>> TensorCollection<E, D> for $layer<$($p),*> {
            type To<E2: Dtype, D2: Device<E2>> = Self;

            fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
                visitor: &mut V,
            ) -> std::result::Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
                visitor.visit_fields((), |_| Self::default())
            }
        }

        /// Inference: the input, unchanged.
        impl<$($g)*, B: Dim, H: Dim, W: Dim, T: Tape<f32, Cpu>, const C: usize>
            Module<Tensor<(B, H, W, Const<C>), f32, Cpu, T>> for $layer<$($p),*>
        {
            type Output = Tensor<(B, H, W, Const<C>), f32, Cpu, T>;
            type Error = CpuError;

            fn try_forward(
                &self,
                x: Tensor<(B, H, W, Const<C>), f32, Cpu, T>,
            ) -> std::result::Result<Self::Output, CpuError> {
                let () = Self::CHECK;
                Ok(x)
            }
        }

        /// Training: new random settings for every image; the tape goes around the
        /// computation onto the output, so no gradient flows back to the input.
        impl<$($g)*, B: Dim, H: Dim, W: Dim, T: Tape<f32, Cpu>, const C: usize>
            ModuleMut<Tensor<(B, H, W, Const<C>), f32, Cpu, T>> for $layer<$($p),*>
        {
            type Output = Tensor<(B, H, W, Const<C>), f32, Cpu, T>;
            type Error = CpuError;

            fn try_forward_mut(
                &mut self,
                x: Tensor<(B, H, W, Const<C>), f32, Cpu, T>,
            ) -> std::result::Result<Self::Output, CpuError> {
                let () = Self::CHECK;
                let call = self.calls;
                self.calls += 1;
                let (x, tape) = x.split_tape();
                let x = x.try_contiguous()?;
                let shape = *x.shape();
                let dims = (shape.0.size(), shape.1.size(), shape.2.size(), C);
                let mut values = vec![0.0f32; shape.num_elements()];
                x.copy_into(&mut values);
                let out = self
                    .augment(&values, dims, call)
                    .map_err(|e| forward_error($name, e))?;
                Ok(x.device().try_tensor_from_vec(out, shape)?.put_tape(tape))
            }
        }
    };
}

augmentation_layer!(RandomFlip<Mode> [Mode: FlipMode], "RandomFlip");
augmentation_layer!(
    RandomTranslation<HEIGHT, WIDTH, F> [const HEIGHT: usize, const WIDTH: usize, F: Fill],
    "RandomTranslation"
);
augmentation_layer!(RandomRotation<DEGREES, F> [const DEGREES: usize, F: Fill], "RandomRotation");
augmentation_layer!(RandomZoom<PERCENT, F> [const PERCENT: usize, F: Fill], "RandomZoom");
augmentation_layer!(RandomContrast<PERCENT> [const PERCENT: usize], "RandomContrast");

// ------------------------------------------------------------------------------------------
// Summary rows
// ------------------------------------------------------------------------------------------

/// The row of an augmentation layer: the input's shape, no parameters, and no gradient
/// back to the layers before it.
fn augment_row(
    rows: &mut Vec<LayerRow>,
    (kind, base): (&'static str, &str),
    input: FeatureShape,
    config: String,
) -> Result<FeatureShape> {
    let (h, w, c) = image_input(rows, kind, base, input, None)?;
    let output = push(rows, kind, base, FeatureShape::image(h, w, c), 0, config);
    if let Some(row) = rows.last_mut() {
        row.stops_gradient = true;
    }
    Ok(output)
}

fn geometry_config(fill: FillMode) -> String {
    format!("fill_mode={}, interpolation=bilinear", fill.name())
}

impl<Mode: FlipMode> Describe for RandomFlip<Mode> {
    fn describe(&self, input: FeatureShape, rows: &mut Vec<LayerRow>) -> Result<FeatureShape> {
        let config = format!("mode={}", Mode::NAME);
        augment_row(rows, ("RandomFlip", "random_flip"), input, config)
    }
}

impl<const HEIGHT: usize, const WIDTH: usize, F: Fill> Describe
    for RandomTranslation<HEIGHT, WIDTH, F>
{
    fn describe(&self, input: FeatureShape, rows: &mut Vec<LayerRow>) -> Result<FeatureShape> {
        let () = Self::CHECK;
        let config = format!(
            "height_factor {} (±{HEIGHT}%), width_factor {} (±{WIDTH}%), {}",
            factor(HEIGHT as f64 / 100.0),
            factor(WIDTH as f64 / 100.0),
            geometry_config(F::MODE)
        );
        augment_row(
            rows,
            ("RandomTranslation", "random_translation"),
            input,
            config,
        )
    }
}

impl<const DEGREES: usize, F: Fill> Describe for RandomRotation<DEGREES, F> {
    fn describe(&self, input: FeatureShape, rows: &mut Vec<LayerRow>) -> Result<FeatureShape> {
        let () = Self::CHECK;
        let config = format!(
            "factor {} (±{DEGREES}°), {}",
            factor(DEGREES as f64 / 360.0),
            geometry_config(F::MODE)
        );
        augment_row(rows, ("RandomRotation", "random_rotation"), input, config)
    }
}

impl<const PERCENT: usize, F: Fill> Describe for RandomZoom<PERCENT, F> {
    fn describe(&self, input: FeatureShape, rows: &mut Vec<LayerRow>) -> Result<FeatureShape> {
        let () = Self::CHECK;
        let config = format!(
            "height_factor {} (in or out by up to {PERCENT}%), {}",
            factor(PERCENT as f64 / 100.0),
            geometry_config(F::MODE)
        );
        augment_row(rows, ("RandomZoom", "random_zoom"), input, config)
    }
}

impl<const PERCENT: usize> Describe for RandomContrast<PERCENT> {
    fn describe(&self, input: FeatureShape, rows: &mut Vec<LayerRow>) -> Result<FeatureShape> {
        let () = Self::CHECK;
        self.check_range()?;
        let (low, high) = self.value_range;
        let config = format!(
            "factor {} (×{} to ×{}), value_range=[{low}, {high}]",
            factor(PERCENT as f64 / 100.0),
            factor(1.0 - PERCENT as f64 / 100.0),
            factor(1.0 + PERCENT as f64 / 100.0),
        );
        augment_row(rows, ("RandomContrast", "random_contrast"), input, config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_uniform_enough_and_independent_of_each_other() {
        let n = 20_000;
        let u: Vec<f64> = (0..n).map(|i| uniform(1, 0, i, 0)).collect();
        assert!(u.iter().all(|v| (0.0..1.0).contains(v)));
        let mean = u.iter().sum::<f64>() / n as f64;
        assert!((mean - 0.5).abs() < 0.01, "mean {mean}");
        let below = u.iter().filter(|&&v| v < 0.25).count() as f64 / n as f64;
        assert!((below - 0.25).abs() < 0.01, "quarter {below}");
        // Another call, image, draw or seed gives another number.
        let base = uniform(1, 2, 3, 4);
        for other in [
            uniform(0, 2, 3, 4),
            uniform(1, 3, 3, 4),
            uniform(1, 2, 4, 4),
            uniform(1, 2, 3, 5),
        ] {
            assert_ne!(base, other);
        }
    }

    #[test]
    fn factors_print_as_keras_writes_them() {
        assert_eq!(factor(0.1), "0.1");
        assert_eq!(factor(15.0 / 360.0), "0.0417");
        assert_eq!(factor(1.0), "1");
        assert_eq!(factor(0.0), "0");
    }
}
