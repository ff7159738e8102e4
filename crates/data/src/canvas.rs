//! Synthetic detection and segmentation data: Fashion-MNIST items pasted at random places
//! (and, as an option, random sizes) on larger canvases, with exact bounding boxes, class
//! labels and per-pixel masks.
//!
//! The book's localization, detection and segmentation examples need downloads; these
//! canvases are generated in memory from the Fashion-MNIST already on the machine, in a
//! fraction of a second, and the same seed always gives the same canvases.
//!
//! | item | what it is |
//! |---|---|
//! | [`CanvasConfig`] | canvas size, objects per canvas, scales, overlap, mask threshold, split sizes, seed |
//! | [`CanvasData::generate`] | train / validation / test canvases from the matching Fashion-MNIST splits |
//! | [`CanvasSet`] | one split: images, masks and objects, with [`images`](CanvasSet::images), [`labels`](CanvasSet::labels), [`boxes`](CanvasSet::boxes), [`masks_one_hot`](CanvasSet::masks_one_hot) for training |
//! | [`CanvasView`] | one canvas: pixels, mask, objects |
//! | [`CanvasObject`], [`PixelBox`] | one pasted item: class, exact box, where its 28 × 28 frame went, which image it is |
//! | [`resize`], [`Resize`] | the nearest / bilinear resizing used for scaled items |
//!
//! # Conventions
//!
//! - **Images** hold values in `0..=1` (`u8 / 255`, stored as bytes like [`Split`]), one
//!   channel, `height × width`, row 0 at the top. Where items overlap, a pixel takes the
//!   **maximum** of their values.
//! - **Boxes** ([`PixelBox`]) are in pixel coordinates, `x` the column and `y` the row, as
//!   `(x_min, y_min, x_max, y_max)` with **exclusive** maxima: the box covers columns
//!   `x_min..x_max` and rows `y_min..y_max`, so its width is `x_max - x_min`. Read as
//!   continuous coordinates (pixel `i` spans `[i, i + 1)`), the same numbers are the box's
//!   edges, which is what [`PixelBox::normalized`] divides by the canvas size for training
//!   targets (`0..=1`, corners or centre and size: [`BoxFormat`]).
//! - A box is exact: the smallest box holding every non-zero pixel of the item as pasted
//!   (after resizing), the 28 × 28 frame's blank margin left out. Overlaps do not shrink it
//!   (every such pixel is non-zero on the canvas too, because overlaps take the maximum).
//! - **Masks** are bytes: `0` for background and `1 + class` (`1..=10`) where an item's own
//!   value exceeds [`CanvasConfig::mask_threshold`] (default 0: every non-zero pixel). Where
//!   items overlap, the item pasted **later wins**, even where the earlier one is brighter;
//!   objects are listed in pasting order. So a mask value `1 + c` always lies inside the box
//!   of an object of class `c`, and a lone item's mask spans exactly its box.
//! - **Splits**: [`Part::Train`] draws its items from the first 55,000 Fashion-MNIST training
//!   images, [`Part::Valid`] from the last 5,000 (the lecture's `split_at(55_000)`), and
//!   [`Part::Test`] from the 10,000 test images, so no item is shared between splits.
//!   Items are drawn uniformly with replacement.
//! - **Seeds**: canvas `i` of a split comes from its own `StdRng::seed_from_u64` stream,
//!   derived from the seed, the split and `i`: it is the same whether 100 or 10,000
//!   canvases are generated, and the three splits never share a stream.
//!
//! # Speed
//!
//! `cargo run --release -p cnnkit-data --example canvases` generates 10,000 canvases of
//! 64 × 64 with one to three objects each, and 96 × 96 ones with random scales, and prints
//! the times. Measured on the shared 2-core machine (2026-12-02, release build, load
//! average 2 to 3), 10,000 canvases took 0.12-0.3 s with one object on 64 × 64,
//! 0.2-0.36 s with one to three objects (`max_iou(0.1)`), and 1.0-1.2 s on 96 × 96 with
//! two to four objects at scales 0.75-1.5.
//!
//! ```
//! use cnnkit_data::canvas::{CanvasConfig, CanvasData};
//! use cnnkit_data::FashionMnist;
//!
//! // Returns early on a machine without the data and without internet.
//! let Ok(data) = FashionMnist::load() else { return Ok(()) };
//! let config = CanvasConfig::default().sizes(500, 100, 100).objects(1, 3).max_iou(0.2);
//! let canvases = CanvasData::generate(&data, &config)?;
//! assert_eq!(canvases.train.images().dim(), (500, 64, 64, 1));
//! let first = canvases.test.get(0).unwrap();
//! assert!((1..=3).contains(&first.objects.len()));
//! // Same seed, same canvases.
//! assert_eq!(canvases.valid, CanvasData::generate(&data, &config)?.valid);
//! # Ok::<(), cnnkit_data::Error>(())
//! ```

use std::fmt;
use std::ops::Range;

use ndarray::{s, Array2, Array3, Array4, ArrayView2, ArrayView3, Axis};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::error::{Error, Result};
use crate::fashion::FashionMnist;
use crate::split::{Split, IMAGE_PIXELS, IMAGE_SIDE};

/// Number of object classes (the Fashion-MNIST classes, labels `0..=9`).
///
/// ```
/// assert_eq!(cnnkit_data::canvas::CLASSES, cnnkit_data::CLASS_NAMES_EN.len());
/// ```
pub const CLASSES: usize = 10;

/// Number of mask values: background (`0`) and one per class (`1 + label`), the channels
/// of [`CanvasSet::masks_one_hot`] and the outputs of a segmentation model.
///
/// ```
/// assert_eq!(cnnkit_data::canvas::MASK_CLASSES, 11);
/// ```
pub const MASK_CLASSES: usize = CLASSES + 1;

/// How many of the last Fashion-MNIST training images [`Part::Valid`] draws from (the
/// lecture's validation split: `X_train_full[-5000:]`).
///
/// ```
/// assert_eq!(60_000 - cnnkit_data::canvas::VALID_ITEMS, 55_000);
/// ```
pub const VALID_ITEMS: usize = 5_000;

/// How a scaled item is resized ([`resize`]).
///
/// Both use half-pixel centres, as `tf.image.resize` (without antialiasing), OpenCV and
/// PIL do: output pixel `i` of `n` samples the input at `(i + 0.5) * m / n - 0.5`.
///
/// ```
/// use cnnkit_data::canvas::Resize;
/// assert_eq!(Resize::default(), Resize::Bilinear);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Resize {
    /// The nearest input pixel: values stay the item's own, edges become blocky.
    Nearest,
    /// Linear interpolation between the four nearest input pixels, rounded to a byte
    /// (Keras' default `interpolation="bilinear"`).
    #[default]
    Bilinear,
}

/// Which Fashion-MNIST split a [`CanvasSet`] draws its items from.
///
/// ```
/// use cnnkit_data::canvas::Part;
/// assert_eq!(Part::Valid.name(), "valid");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Part {
    /// The first 55,000 training images (all but the last [`VALID_ITEMS`]).
    Train,
    /// The last 5,000 training images.
    Valid,
    /// The 10,000 test images.
    Test,
}

impl Part {
    /// `"train"`, `"valid"` or `"test"`.
    ///
    /// ```
    /// assert_eq!(cnnkit_data::canvas::Part::Test.name(), "test");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Part::Train => "train",
            Part::Valid => "valid",
            Part::Test => "test",
        }
    }

    /// The number mixed into the seed of this split's canvases.
    fn stream(self) -> u64 {
        match self {
            Part::Train => 1,
            Part::Valid => 2,
            Part::Test => 3,
        }
    }

    /// The Fashion-MNIST split this part draws from and the item indices it may use.
    fn items(self, data: &FashionMnist) -> Result<(&Split, Range<usize>)> {
        match self {
            Part::Test => Ok((&data.test, 0..data.test.len())),
            Part::Train | Part::Valid => {
                let n = data.train.len();
                if n <= VALID_ITEMS {
                    return Err(Error::invalid(
                        "Fashion-MNIST for canvases",
                        format!(
                            "the training split holds {n} images, but the validation canvases \
                             draw from its last {VALID_ITEMS} and the training canvases from the \
                             rest; load the full data with `FashionMnist::load()`, or build \
                             canvases from any split with `CanvasSet::from_split`"
                        ),
                    ));
                }
                let cut = n - VALID_ITEMS;
                Ok(match self {
                    Part::Train => (&data.train, 0..cut),
                    _ => (&data.train, cut..n),
                })
            }
        }
    }
}

/// How boxes are written as training targets: four numbers in `0..=1`, divided by the
/// canvas width (`x`) and height (`y`).
///
/// ```
/// use cnnkit_data::canvas::{BoxFormat, PixelBox};
/// let b = PixelBox::new(16, 8, 48, 40);
/// assert_eq!(b.to_target(BoxFormat::Corners, 64, 64), [0.25, 0.125, 0.75, 0.625]);
/// assert_eq!(b.to_target(BoxFormat::Center, 64, 64), [0.5, 0.375, 0.5, 0.5]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum BoxFormat {
    /// `[x_min, y_min, x_max, y_max]` (maxima exclusive, i.e. the right and bottom edges).
    #[default]
    Corners,
    /// `[x_center, y_center, width, height]`, the book's localization targets.
    Center,
}

/// A bounding box in whole pixels: columns `x_min..x_max`, rows `y_min..y_max` (maxima
/// exclusive). See the [module documentation](self) for the convention.
///
/// ```
/// use cnnkit_data::canvas::PixelBox;
/// let b = PixelBox::new(2, 3, 6, 5); // columns 2..6, rows 3..5
/// assert_eq!((b.width(), b.height(), b.area()), (4, 2, 8));
/// assert!(b.contains(5, 4) && !b.contains(6, 4));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PixelBox {
    /// First column inside the box.
    pub x_min: usize,
    /// First row inside the box.
    pub y_min: usize,
    /// First column to the right of the box (exclusive).
    pub x_max: usize,
    /// First row below the box (exclusive).
    pub y_max: usize,
}

impl PixelBox {
    /// The box over columns `x_min..x_max` and rows `y_min..y_max`. A maximum not above its
    /// minimum gives an empty box (area 0).
    ///
    /// ```
    /// assert!(cnnkit_data::canvas::PixelBox::new(4, 0, 4, 9).is_empty());
    /// ```
    pub fn new(x_min: usize, y_min: usize, x_max: usize, y_max: usize) -> PixelBox {
        PixelBox {
            x_min,
            y_min,
            x_max,
            y_max,
        }
    }

    /// The smallest box holding every pixel of `image` above `threshold`, or `None` if
    /// there is none. `enclosing(image, 0)` is the box of the non-zero pixels: how
    /// [`CanvasObject::bbox`] is computed.
    ///
    /// ```
    /// use cnnkit_data::canvas::PixelBox;
    /// let mut img = ndarray::Array2::<u8>::zeros((5, 6));
    /// img[[1, 2]] = 9;
    /// img[[3, 4]] = 200;
    /// assert_eq!(PixelBox::enclosing(img.view(), 0), Some(PixelBox::new(2, 1, 5, 4)));
    /// assert_eq!(PixelBox::enclosing(img.view(), 100), Some(PixelBox::new(4, 3, 5, 4)));
    /// assert_eq!(PixelBox::enclosing(img.view(), 255), None);
    /// ```
    pub fn enclosing(image: ArrayView2<'_, u8>, threshold: u8) -> Option<PixelBox> {
        let mut b: Option<PixelBox> = None;
        for ((y, x), &v) in image.indexed_iter() {
            if v > threshold {
                b = Some(match b {
                    None => PixelBox::new(x, y, x + 1, y + 1),
                    Some(b) => PixelBox::new(
                        b.x_min.min(x),
                        b.y_min.min(y),
                        b.x_max.max(x + 1),
                        b.y_max.max(y + 1),
                    ),
                });
            }
        }
        b
    }

    /// `x_max - x_min` (0 for an empty box).
    ///
    /// ```
    /// use cnnkit_data::canvas::PixelBox;
    /// assert_eq!(PixelBox::new(3, 0, 10, 1).width(), 7);
    /// assert_eq!(PixelBox::new(10, 0, 3, 1).width(), 0);
    /// ```
    pub fn width(&self) -> usize {
        self.x_max.saturating_sub(self.x_min)
    }

    /// `y_max - y_min` (0 for an empty box).
    ///
    /// ```
    /// assert_eq!(cnnkit_data::canvas::PixelBox::new(0, 5, 1, 9).height(), 4);
    /// ```
    pub fn height(&self) -> usize {
        self.y_max.saturating_sub(self.y_min)
    }

    /// Pixels inside the box.
    ///
    /// ```
    /// assert_eq!(cnnkit_data::canvas::PixelBox::new(0, 0, 28, 28).area(), 784);
    /// ```
    pub fn area(&self) -> usize {
        self.width() * self.height()
    }

    /// True when the box holds no pixel.
    ///
    /// ```
    /// use cnnkit_data::canvas::PixelBox;
    /// assert!(PixelBox::default().is_empty() && !PixelBox::new(0, 0, 1, 1).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.area() == 0
    }

    /// True when pixel `(x, y)` (column, row) is inside; the maxima are outside.
    ///
    /// ```
    /// let b = cnnkit_data::canvas::PixelBox::new(2, 2, 4, 4);
    /// assert!(b.contains(2, 3) && !b.contains(4, 3) && !b.contains(3, 1));
    /// ```
    pub fn contains(&self, x: usize, y: usize) -> bool {
        (self.x_min..self.x_max).contains(&x) && (self.y_min..self.y_max).contains(&y)
    }

    /// Pixels inside both boxes.
    ///
    /// ```
    /// use cnnkit_data::canvas::PixelBox;
    /// let a = PixelBox::new(0, 0, 4, 4);
    /// assert_eq!(a.intersection_area(&PixelBox::new(2, 2, 6, 6)), 4);
    /// assert_eq!(a.intersection_area(&PixelBox::new(4, 0, 8, 4)), 0); // touching edges
    /// ```
    pub fn intersection_area(&self, other: &PixelBox) -> usize {
        let w = self
            .x_max
            .min(other.x_max)
            .saturating_sub(self.x_min.max(other.x_min));
        let h = self
            .y_max
            .min(other.y_max)
            .saturating_sub(self.y_min.max(other.y_min));
        w * h
    }

    /// Intersection over union: shared pixels divided by the pixels of either box; 0 when
    /// both are empty. `cnnkit_nn::detection::iou` is the same for boxes with fractional
    /// coordinates.
    ///
    /// ```
    /// use cnnkit_data::canvas::PixelBox;
    /// let a = PixelBox::new(0, 0, 4, 4);
    /// // 4 shared pixels, 16 + 16 - 4 = 28 in the union.
    /// assert_eq!(a.iou(&PixelBox::new(2, 2, 6, 6)), 4.0 / 28.0);
    /// assert_eq!(a.iou(&a), 1.0);
    /// ```
    pub fn iou(&self, other: &PixelBox) -> f32 {
        let inter = self.intersection_area(other);
        let union = self.area() + other.area() - inter;
        if union == 0 {
            0.0
        } else {
            inter as f32 / union as f32
        }
    }

    /// The box as a training target on a canvas of `width × height` pixels: four numbers in
    /// `0..=1` in the given [`BoxFormat`]. `x` values are divided by `width`, `y` values
    /// by `height`.
    ///
    /// ```
    /// use cnnkit_data::canvas::{BoxFormat, PixelBox};
    /// let whole = PixelBox::new(0, 0, 96, 64);
    /// assert_eq!(whole.to_target(BoxFormat::Corners, 96, 64), [0.0, 0.0, 1.0, 1.0]);
    /// ```
    pub fn to_target(&self, format: BoxFormat, width: usize, height: usize) -> [f32; 4] {
        let (w, h) = (width.max(1) as f32, height.max(1) as f32);
        let (x0, y0, x1, y1) = (
            self.x_min as f32,
            self.y_min as f32,
            self.x_max as f32,
            self.y_max as f32,
        );
        match format {
            BoxFormat::Corners => [x0 / w, y0 / h, x1 / w, y1 / h],
            BoxFormat::Center => [
                (x0 + x1) / 2.0 / w,
                (y0 + y1) / 2.0 / h,
                (x1 - x0) / w,
                (y1 - y0) / h,
            ],
        }
    }

    /// [`to_target`](Self::to_target) in [`BoxFormat::Corners`]:
    /// `[x_min / width, y_min / height, x_max / width, y_max / height]`.
    ///
    /// ```
    /// let b = cnnkit_data::canvas::PixelBox::new(16, 0, 32, 64);
    /// assert_eq!(b.normalized(64, 64), [0.25, 0.0, 0.5, 1.0]);
    /// ```
    pub fn normalized(&self, width: usize, height: usize) -> [f32; 4] {
        self.to_target(BoxFormat::Corners, width, height)
    }

    /// The box moved by `(dx, dy)` pixels.
    fn offset(&self, dx: usize, dy: usize) -> PixelBox {
        PixelBox::new(
            self.x_min + dx,
            self.y_min + dy,
            self.x_max + dx,
            self.y_max + dy,
        )
    }
}

/// `x 3..20, y 5..31`: the column and row ranges.
///
/// ```
/// let b = cnnkit_data::canvas::PixelBox::new(3, 5, 20, 31);
/// assert_eq!(b.to_string(), "x 3..20, y 5..31");
/// ```
impl fmt::Display for PixelBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "x {}..{}, y {}..{}",
            self.x_min, self.x_max, self.y_min, self.y_max
        )
    }
}

/// One Fashion-MNIST item pasted on a canvas.
///
/// ```
/// use cnnkit_data::canvas::{CanvasConfig, CanvasSet};
/// let split = cnnkit_data::Split::new(vec![255; 784], vec![4])?;
/// let set = CanvasSet::from_split(&split, 1, &CanvasConfig::default().size(40, 40))?;
/// let object = set.get(0).unwrap().objects[0];
/// assert_eq!((object.class, object.source), (4, 0));
/// assert_eq!(object.bbox, object.frame); // a full white item fills its frame
/// assert_eq!(object.bbox.width(), 28);
/// # Ok::<(), cnnkit_data::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CanvasObject {
    /// The Fashion-MNIST label, `0..=9` ([`CLASS_NAMES_KO`](crate::CLASS_NAMES_KO)).
    pub class: u8,
    /// The exact box of the item's non-zero pixels on the canvas.
    pub bbox: PixelBox,
    /// Where the item's square frame (28 × 28 times its scale, margins included) was
    /// pasted: `frame.width()` is its size after resizing.
    pub frame: PixelBox,
    /// The index of the item in the Fashion-MNIST split it came from: `data.train` for
    /// [`Part::Train`] (below 55,000) and [`Part::Valid`] (55,000 and above), `data.test`
    /// for [`Part::Test`], the given split for [`CanvasSet::from_split`].
    pub source: usize,
}

/// Settings of the generated canvases: size, objects, scales, overlap, masks, split sizes
/// and seed.
///
/// Public fields with plain defaults, so both the struct-update style and the builder
/// methods work; [`validate`](Self::validate) (called by every generator) says what is
/// wrong with a setting and what to use instead.
///
/// | field | default | meaning |
/// |---|---|---|
/// | `height`, `width` | 64, 64 | canvas size in pixels |
/// | `min_objects`, `max_objects` | 1, 1 | objects per canvas, drawn uniformly in this range |
/// | `min_scale`, `max_scale` | 1.0, 1.0 | item size factor, drawn uniformly (1.0: 28 × 28) |
/// | `resize` | [`Resize::Bilinear`] | how scaled items are resized |
/// | `max_iou` | 1.0 | largest IoU allowed between two objects' boxes (1.0: any overlap) |
/// | `max_attempts` | 100 | placements tried per object before giving up with an error |
/// | `mask_threshold` | 0.0 | an item's value (`0..1`) must exceed this to be marked in the mask |
/// | `train_size`, `valid_size`, `test_size` | 10,000, 2,000, 2,000 | canvases per split |
/// | `seed` | 42 | the seed of everything random |
///
/// ```
/// use cnnkit_data::canvas::{CanvasConfig, Resize};
/// let a = CanvasConfig { width: 96, height: 96, max_objects: 3, ..CanvasConfig::default() };
/// let b = CanvasConfig::default().size(96, 96).objects(1, 3);
/// assert_eq!(a, b);
/// // Items of 21 to 42 pixels (scales 0.75 to 1.5) fit on 64 × 64, of 70 (scale 2.5) do not.
/// assert!(CanvasConfig::default().scale(0.75, 1.5).resize(Resize::Nearest).validate().is_ok());
/// assert!(CanvasConfig::default().scale(0.75, 2.5).validate().is_err());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct CanvasConfig {
    /// Canvas height in pixels (default 64).
    pub height: usize,
    /// Canvas width in pixels (default 64).
    pub width: usize,
    /// Fewest objects per canvas (default 1; at least 1).
    pub min_objects: usize,
    /// Most objects per canvas (default 1).
    pub max_objects: usize,
    /// Smallest scale of an item's 28-pixel side (default 1.0).
    pub min_scale: f32,
    /// Largest scale (default 1.0); `28 × max_scale`, rounded, must fit in the canvas.
    pub max_scale: f32,
    /// How scaled items are resized (default [`Resize::Bilinear`]).
    pub resize: Resize,
    /// Largest IoU allowed between the boxes of two objects of a canvas, in `0..=1`
    /// (default 1.0: no limit; 0.0: boxes may touch but not overlap).
    pub max_iou: f32,
    /// Placements (item, scale, position) tried per object before generation fails
    /// (default 100).
    pub max_attempts: usize,
    /// Mask threshold in `0..1` (default 0.0): a pixel gets an item's class in the mask
    /// where the item's value (`u8 / 255`) is above it.
    pub mask_threshold: f32,
    /// Training canvases made by [`CanvasData::generate`] (default 10,000).
    pub train_size: usize,
    /// Validation canvases (default 2,000).
    pub valid_size: usize,
    /// Test canvases (default 2,000).
    pub test_size: usize,
    /// Seed of the random choices (default 42).
    pub seed: u64,
}

impl Default for CanvasConfig {
    fn default() -> Self {
        CanvasConfig {
            height: 64,
            width: 64,
            min_objects: 1,
            max_objects: 1,
            min_scale: 1.0,
            max_scale: 1.0,
            resize: Resize::Bilinear,
            max_iou: 1.0,
            max_attempts: 100,
            mask_threshold: 0.0,
            train_size: 10_000,
            valid_size: 2_000,
            test_size: 2_000,
            seed: 42,
        }
    }
}

impl CanvasConfig {
    /// The defaults (see the table above); the same as `CanvasConfig::default()`.
    ///
    /// ```
    /// use cnnkit_data::canvas::CanvasConfig;
    /// assert_eq!(CanvasConfig::new(), CanvasConfig::default());
    /// assert_eq!((CanvasConfig::new().height, CanvasConfig::new().seed), (64, 42));
    /// ```
    pub fn new() -> CanvasConfig {
        CanvasConfig::default()
    }

    /// Canvas `height × width` in pixels.
    ///
    /// ```
    /// let c = cnnkit_data::canvas::CanvasConfig::new().size(96, 128);
    /// assert_eq!((c.height, c.width), (96, 128));
    /// ```
    pub fn size(self, height: usize, width: usize) -> CanvasConfig {
        CanvasConfig {
            height,
            width,
            ..self
        }
    }

    /// Objects per canvas, `min..=max` (each count equally likely).
    ///
    /// ```
    /// let c = cnnkit_data::canvas::CanvasConfig::new().objects(2, 4);
    /// assert_eq!((c.min_objects, c.max_objects), (2, 4));
    /// ```
    pub fn objects(self, min: usize, max: usize) -> CanvasConfig {
        CanvasConfig {
            min_objects: min,
            max_objects: max,
            ..self
        }
    }

    /// Item scales, drawn uniformly in `min..=max`; an item becomes a square of
    /// `round(28 × scale)` pixels.
    ///
    /// ```
    /// let c = cnnkit_data::canvas::CanvasConfig::new().scale(0.5, 2.0);
    /// assert_eq!((c.min_scale, c.max_scale), (0.5, 2.0));
    /// ```
    pub fn scale(self, min: f32, max: f32) -> CanvasConfig {
        CanvasConfig {
            min_scale: min,
            max_scale: max,
            ..self
        }
    }

    /// How scaled items are resized.
    ///
    /// ```
    /// use cnnkit_data::canvas::{CanvasConfig, Resize};
    /// assert_eq!(CanvasConfig::new().resize(Resize::Nearest).resize, Resize::Nearest);
    /// ```
    pub fn resize(self, resize: Resize) -> CanvasConfig {
        CanvasConfig { resize, ..self }
    }

    /// The largest IoU allowed between two objects' boxes on a canvas.
    ///
    /// ```
    /// assert_eq!(cnnkit_data::canvas::CanvasConfig::new().max_iou(0.0).max_iou, 0.0);
    /// ```
    pub fn max_iou(self, max_iou: f32) -> CanvasConfig {
        CanvasConfig { max_iou, ..self }
    }

    /// Placements tried per object before generation fails.
    ///
    /// ```
    /// assert_eq!(cnnkit_data::canvas::CanvasConfig::new().max_attempts(10).max_attempts, 10);
    /// ```
    pub fn max_attempts(self, max_attempts: usize) -> CanvasConfig {
        CanvasConfig {
            max_attempts,
            ..self
        }
    }

    /// The mask threshold in `0..1`.
    ///
    /// ```
    /// assert_eq!(cnnkit_data::canvas::CanvasConfig::new().mask_threshold(0.1).mask_threshold, 0.1);
    /// ```
    pub fn mask_threshold(self, mask_threshold: f32) -> CanvasConfig {
        CanvasConfig {
            mask_threshold,
            ..self
        }
    }

    /// Canvases per split for [`CanvasData::generate`].
    ///
    /// ```
    /// let c = cnnkit_data::canvas::CanvasConfig::new().sizes(1_000, 200, 300);
    /// assert_eq!((c.train_size, c.valid_size, c.test_size), (1_000, 200, 300));
    /// ```
    pub fn sizes(self, train: usize, valid: usize, test: usize) -> CanvasConfig {
        CanvasConfig {
            train_size: train,
            valid_size: valid,
            test_size: test,
            ..self
        }
    }

    /// The seed.
    ///
    /// ```
    /// assert_eq!(cnnkit_data::canvas::CanvasConfig::new().seed(7).seed, 7);
    /// ```
    pub fn seed(self, seed: u64) -> CanvasConfig {
        CanvasConfig { seed, ..self }
    }

    /// The side in pixels of an item at `scale`: `round(28 × scale)`, at least 1.
    ///
    /// ```
    /// use cnnkit_data::canvas::CanvasConfig;
    /// assert_eq!(CanvasConfig::item_side(1.0), 28);
    /// assert_eq!(CanvasConfig::item_side(0.5), 14);
    /// assert_eq!(CanvasConfig::item_side(1.26), 35);
    /// ```
    pub fn item_side(scale: f32) -> usize {
        ((IMAGE_SIDE as f32 * scale).round() as usize).max(1)
    }

    /// Checks every setting; the generators call it first.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the setting, what is wrong and what to use instead: an
    /// empty canvas, zero objects, `min > max`, a scale that is not positive or makes the
    /// item larger than the canvas, `max_iou` or `mask_threshold` out of range, zero
    /// attempts, or a split too large to hold in memory.
    ///
    /// ```
    /// use cnnkit_data::canvas::CanvasConfig;
    /// assert!(CanvasConfig::default().validate().is_ok());
    /// let err = CanvasConfig::default().size(20, 20).validate().unwrap_err().to_string();
    /// assert!(err.contains("smaller than the largest item"), "{err}");
    /// let err = CanvasConfig::default().objects(0, 2).validate().unwrap_err().to_string();
    /// assert!(err.contains("min_objects"), "{err}");
    /// ```
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str, why: String| Err(Error::invalid(format!("canvas {what}"), why));
        if self.height == 0 || self.width == 0 {
            return bad(
                "size",
                format!(
                    "the canvas is {}x{} pixels; give both sides, at least 28 pixels each \
                     (e.g. `.size(64, 64)`)",
                    self.height, self.width
                ),
            );
        }
        if self.min_objects == 0 {
            return bad(
                "min_objects",
                "0 objects per canvas: every canvas needs at least one item; set \
                 min_objects to 1 or more (`.objects(1, 3)`)"
                    .to_string(),
            );
        }
        if self.min_objects > self.max_objects {
            return bad(
                "objects",
                format!(
                    "min_objects {} is above max_objects {}: give the range as \
                     `.objects(min, max)` with min <= max",
                    self.min_objects, self.max_objects
                ),
            );
        }
        for (name, s) in [("min_scale", self.min_scale), ("max_scale", self.max_scale)] {
            if !(s.is_finite() && s > 0.0) {
                return bad(
                    name,
                    format!(
                        "{s} is not a positive number; scales multiply the 28-pixel side \
                         of an item (1.0 keeps it, 0.5 halves it)"
                    ),
                );
            }
        }
        if self.min_scale > self.max_scale {
            return bad(
                "scale",
                format!(
                    "min_scale {} is above max_scale {}: give the range as \
                     `.scale(min, max)` with min <= max",
                    self.min_scale, self.max_scale
                ),
            );
        }
        let largest = Self::item_side(self.max_scale);
        if largest > self.height || largest > self.width {
            let fits = self.height.min(self.width) as f32 / IMAGE_SIDE as f32;
            return bad(
                "size",
                format!(
                    "the canvas ({}x{}) is smaller than the largest item ({largest}x{largest}: \
                     28 pixels at scale {}); make the canvas at least {largest}x{largest} \
                     or lower max_scale to {:.2} or less",
                    self.height,
                    self.width,
                    self.max_scale,
                    (fits * 100.0).floor() / 100.0
                ),
            );
        }
        if !(0.0..=1.0).contains(&self.max_iou) {
            return bad(
                "max_iou",
                format!(
                    "{} is outside 0..=1; 1.0 allows any overlap, 0.0 none, 0.1 a little",
                    self.max_iou
                ),
            );
        }
        if self.max_attempts == 0 {
            return bad(
                "max_attempts",
                "0 placements per object cannot place anything; use 100 (the default)".to_string(),
            );
        }
        if !(0.0..1.0).contains(&self.mask_threshold) {
            return bad(
                "mask_threshold",
                format!(
                    "{} is outside 0..1 (pixel values are 0..=1); 0.0 marks every non-zero \
                     pixel of an item, 0.1 leaves out its faint outline",
                    self.mask_threshold
                ),
            );
        }
        for (name, n) in [
            ("train_size", self.train_size),
            ("valid_size", self.valid_size),
            ("test_size", self.test_size),
        ] {
            Self::check_count(name, n, self.height, self.width)?;
        }
        Ok(())
    }

    /// `n` canvases of `h × w` bytes, twice (pixels and masks), must fit in memory.
    fn check_count(name: &str, n: usize, h: usize, w: usize) -> Result<()> {
        const LIMIT: usize = 1 << 34; // 16 GiB of pixels and masks: surely a typo
        match n.checked_mul(h).and_then(|p| p.checked_mul(w)) {
            Some(bytes) if bytes.saturating_mul(2) <= LIMIT => Ok(()),
            _ => Err(Error::invalid(
                format!("canvas {name}"),
                format!(
                    "{n} canvases of {h}x{w} pixels would not fit in memory; ask for fewer \
                     (10,000 canvases of 64x64 take 82 MB)"
                ),
            )),
        }
    }

    /// The smallest byte value that passes the mask threshold.
    fn mask_min_byte(&self) -> u16 {
        (0..=255u16)
            .find(|&v| v as f32 / 255.0 > self.mask_threshold)
            .unwrap_or(256)
    }
}

/// One canvas of a [`CanvasSet`], borrowed: its pixels, mask and objects.
///
/// ```
/// use cnnkit_data::canvas::{CanvasConfig, CanvasSet};
/// let split = cnnkit_data::Split::new(vec![128; 784], vec![7])?;
/// let set = CanvasSet::from_split(&split, 2, &CanvasConfig::default())?;
/// let canvas = set.get(1).unwrap();
/// assert_eq!(canvas.pixels.dim(), (64, 64));
/// assert_eq!(canvas.image().sum(), 28.0 * 28.0 * 128.0 / 255.0);
/// assert_eq!(canvas.mask.iter().filter(|&&m| m == 8).count(), 28 * 28); // 1 + class 7
/// # Ok::<(), cnnkit_data::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct CanvasView<'a> {
    /// The image as bytes, `(height, width)`: 0 background, 255 brightest.
    pub pixels: ArrayView2<'a, u8>,
    /// The mask, `(height, width)`: 0 background, `1 + class` on an item.
    pub mask: ArrayView2<'a, u8>,
    /// The objects, in pasting order (later ones win in the mask).
    pub objects: &'a [CanvasObject],
}

impl CanvasView<'_> {
    /// The image as `f32` in `0..=1` (`pixels / 255`), `(height, width)`.
    ///
    /// ```
    /// # use cnnkit_data::canvas::{CanvasConfig, CanvasSet};
    /// let split = cnnkit_data::Split::new(vec![255; 784], vec![0])?;
    /// let set = CanvasSet::from_split(&split, 1, &CanvasConfig::default())?;
    /// let image = set.get(0).unwrap().image();
    /// assert_eq!((image.dim(), image.sum()), ((64, 64), 784.0));
    /// # Ok::<(), cnnkit_data::Error>(())
    /// ```
    pub fn image(&self) -> Array2<f32> {
        self.pixels.mapv(|p| p as f32 / 255.0)
    }
}

/// Generated canvases of one split: images, masks and objects.
///
/// The arrays a model trains on come from its methods:
///
/// | method | shape | for |
/// |---|---|---|
/// | [`images`](Self::images) | `(n, h, w, 1)` f32 in `0..=1` | every model's input (`Dataset::<1>::new(images, labels)` in `cnnkit-nn`) |
/// | [`labels`](Self::labels) | `n` bytes `0..=9` | the class head (one object per canvas) |
/// | [`boxes`](Self::boxes) | `n` × `[f32; 4]` in `0..=1` | the box head (one object per canvas; `cnnkit-nn`'s `LocalizationData::new(dataset, boxes)`) |
/// | [`masks`](Self::masks) | `(n, h, w)` bytes `0..=10` | segmentation targets as class indices (`SegmentationData::new(dataset, masks.to_owned())`) |
/// | [`masks_one_hot`](Self::masks_one_hot) | `(n, h, w, 11)` f32 | segmentation targets for a softmax over 11 classes |
/// | [`objects`](Self::objects) | `n` lists of [`CanvasObject`] | detection (several objects) |
///
/// The `Debug` output is a summary, not the pixels.
///
/// ```
/// use cnnkit_data::canvas::{BoxFormat, CanvasConfig, CanvasSet};
/// let split = cnnkit_data::Split::new(vec![200; 3 * 784], vec![0, 5, 9])?;
/// let set = CanvasSet::from_split(&split, 10, &CanvasConfig::default())?;
/// assert_eq!(set.len(), 10);
/// assert_eq!(set.images().dim(), (10, 64, 64, 1));
/// assert_eq!(set.boxes(BoxFormat::Center)?.len(), 10);
/// assert_eq!(set.masks_one_hot().dim(), (10, 64, 64, 11));
/// assert!(set.labels()?.iter().all(|l| [0, 5, 9].contains(l)));
/// # Ok::<(), cnnkit_data::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct CanvasSet {
    part: Option<Part>,
    /// `(n, height, width)` bytes.
    pixels: Array3<u8>,
    /// `(n, height, width)`, 0 background, `1 + class`.
    masks: Array3<u8>,
    objects: Vec<Vec<CanvasObject>>,
}

impl CanvasSet {
    /// `n` canvases whose items come from the Fashion-MNIST split of `part` (see
    /// [`Part`]); `config`'s split sizes are not used.
    ///
    /// # Errors
    /// A bad `config` ([`CanvasConfig::validate`]); a training split of at most 5,000
    /// images for [`Part::Train`] / [`Part::Valid`]; an object that could not be placed
    /// within `max_iou` in `max_attempts` tries.
    ///
    /// ```
    /// use cnnkit_data::canvas::{CanvasConfig, CanvasSet, Part};
    /// let Ok(data) = cnnkit_data::FashionMnist::load() else { return Ok(()) };
    /// let valid = CanvasSet::generate(&data, Part::Valid, 50, &CanvasConfig::default())?;
    /// assert!(valid.objects().iter().flatten().all(|o| o.source >= 55_000));
    /// # Ok::<(), cnnkit_data::Error>(())
    /// ```
    pub fn generate(
        data: &FashionMnist,
        part: Part,
        n: usize,
        config: &CanvasConfig,
    ) -> Result<CanvasSet> {
        config.validate()?;
        CanvasConfig::check_count(part.name(), n, config.height, config.width)?;
        let (split, items) = part.items(data)?;
        generate(split, items, n, config, part.stream(), Some(part))
    }

    /// `n` canvases whose items come from any split (all of its images), e.g. a few
    /// hand-made images; [`part`](Self::part) is `None`.
    ///
    /// # Errors
    /// As [`generate`](Self::generate), and an empty split.
    ///
    /// ```
    /// use cnnkit_data::canvas::{CanvasConfig, CanvasSet};
    /// let split = cnnkit_data::Split::new(vec![90; 2 * 784], vec![1, 2])?;
    /// let config = CanvasConfig::default().size(96, 96).objects(2, 3).max_iou(0.0);
    /// let set = CanvasSet::from_split(&split, 5, &config)?;
    /// for canvas in set.iter() {
    ///     let b: Vec<_> = canvas.objects.iter().map(|o| o.bbox).collect();
    ///     assert!(b.iter().enumerate().all(|(i, x)| b[..i].iter().all(|y| x.iou(y) == 0.0)));
    /// }
    /// # Ok::<(), cnnkit_data::Error>(())
    /// ```
    pub fn from_split(split: &Split, n: usize, config: &CanvasConfig) -> Result<CanvasSet> {
        config.validate()?;
        CanvasConfig::check_count("count", n, config.height, config.width)?;
        generate(split, 0..split.len(), n, config, 0, None)
    }

    /// The Fashion-MNIST split the items came from, or `None` for
    /// [`from_split`](Self::from_split).
    ///
    /// ```
    /// # use cnnkit_data::canvas::{CanvasConfig, CanvasSet};
    /// # let split = cnnkit_data::Split::new(vec![255; 784], vec![2])?;
    /// assert_eq!(CanvasSet::from_split(&split, 1, &CanvasConfig::default())?.part(), None);
    /// # Ok::<(), cnnkit_data::Error>(())
    /// ```
    pub fn part(&self) -> Option<Part> {
        self.part
    }

    /// Number of canvases.
    ///
    /// ```
    /// # use cnnkit_data::canvas::{CanvasConfig, CanvasSet};
    /// # let split = cnnkit_data::Split::new(vec![255; 784], vec![2])?;
    /// assert_eq!(CanvasSet::from_split(&split, 3, &CanvasConfig::default())?.len(), 3);
    /// # Ok::<(), cnnkit_data::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// True when there are no canvases.
    ///
    /// ```
    /// # use cnnkit_data::canvas::{CanvasConfig, CanvasSet};
    /// # let split = cnnkit_data::Split::new(vec![255; 784], vec![2])?;
    /// assert!(CanvasSet::from_split(&split, 0, &CanvasConfig::default())?.is_empty());
    /// # Ok::<(), cnnkit_data::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Canvas height in pixels.
    ///
    /// ```
    /// # use cnnkit_data::canvas::{CanvasConfig, CanvasSet};
    /// # let split = cnnkit_data::Split::new(vec![255; 784], vec![2])?;
    /// let set = CanvasSet::from_split(&split, 1, &CanvasConfig::default().size(96, 80))?;
    /// assert_eq!((set.height(), set.width()), (96, 80));
    /// # Ok::<(), cnnkit_data::Error>(())
    /// ```
    pub fn height(&self) -> usize {
        self.pixels.dim().1
    }

    /// Canvas width in pixels.
    ///
    /// ```
    /// # use cnnkit_data::canvas::{CanvasConfig, CanvasSet};
    /// # let split = cnnkit_data::Split::new(vec![255; 784], vec![2])?;
    /// let set = CanvasSet::from_split(&split, 1, &CanvasConfig::default().size(96, 80))?;
    /// assert_eq!(set.width(), 80);
    /// # Ok::<(), cnnkit_data::Error>(())
    /// ```
    pub fn width(&self) -> usize {
        self.pixels.dim().2
    }

    /// Canvas `i`, or `None` past the end.
    ///
    /// ```
    /// # use cnnkit_data::canvas::{CanvasConfig, CanvasSet};
    /// let split = cnnkit_data::Split::new(vec![1; 784], vec![3])?;
    /// let set = CanvasSet::from_split(&split, 2, &CanvasConfig::default())?;
    /// assert!(set.get(1).is_some() && set.get(2).is_none());
    /// # Ok::<(), cnnkit_data::Error>(())
    /// ```
    pub fn get(&self, i: usize) -> Option<CanvasView<'_>> {
        let objects = self.objects.get(i)?;
        Some(CanvasView {
            pixels: self.pixels.index_axis(Axis(0), i),
            mask: self.masks.index_axis(Axis(0), i),
            objects,
        })
    }

    /// Every canvas in order.
    ///
    /// ```
    /// # use cnnkit_data::canvas::{CanvasConfig, CanvasSet};
    /// # let split = cnnkit_data::Split::new(vec![255; 784], vec![2])?;
    /// let set = CanvasSet::from_split(&split, 4, &CanvasConfig::default())?;
    /// assert_eq!(set.iter().filter(|c| c.objects[0].class == 2).count(), 4);
    /// # Ok::<(), cnnkit_data::Error>(())
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = CanvasView<'_>> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// The objects of every canvas (`objects()[i]` belongs to canvas `i`), in pasting order.
    ///
    /// ```
    /// # use cnnkit_data::canvas::{CanvasConfig, CanvasSet};
    /// # let split = cnnkit_data::Split::new(vec![255; 784], vec![2])?;
    /// let config = CanvasConfig::default().size(96, 96).objects(2, 3);
    /// let set = CanvasSet::from_split(&split, 5, &config)?;
    /// assert!(set.objects().iter().all(|o| (2..=3).contains(&o.len())));
    /// # Ok::<(), cnnkit_data::Error>(())
    /// ```
    pub fn objects(&self) -> &[Vec<CanvasObject>] {
        &self.objects
    }

    /// All images as bytes, `(n, height, width)`, without copying.
    ///
    /// ```
    /// # use cnnkit_data::canvas::{CanvasConfig, CanvasSet};
    /// # let split = cnnkit_data::Split::new(vec![255; 784], vec![2])?;
    /// let set = CanvasSet::from_split(&split, 2, &CanvasConfig::default())?;
    /// assert_eq!(set.pixels().dim(), (2, 64, 64));
    /// assert_eq!(set.pixels().iter().filter(|&&p| p == 255).count(), 2 * 784);
    /// # Ok::<(), cnnkit_data::Error>(())
    /// ```
    pub fn pixels(&self) -> ArrayView3<'_, u8> {
        self.pixels.view()
    }

    /// All masks, `(n, height, width)`, values `0..=10` (0 background, `1 + class`),
    /// without copying: the targets of a sparse categorical cross entropy.
    ///
    /// ```
    /// # use cnnkit_data::canvas::{CanvasConfig, CanvasSet};
    /// # let split = cnnkit_data::Split::new(vec![255; 784], vec![2])?;
    /// let set = CanvasSet::from_split(&split, 2, &CanvasConfig::default())?;
    /// assert_eq!(set.masks().iter().filter(|&&m| m == 3).count(), 2 * 784); // 1 + class 2
    /// # Ok::<(), cnnkit_data::Error>(())
    /// ```
    pub fn masks(&self) -> ArrayView3<'_, u8> {
        self.masks.view()
    }

    /// All images as `f32` in `0..=1`, NHWC with one channel: `(n, height, width, 1)`,
    /// the input of every model (Keras' `X`).
    ///
    /// ```
    /// # use cnnkit_data::canvas::{CanvasConfig, CanvasSet};
    /// # let split = cnnkit_data::Split::new(vec![255; 784], vec![2])?;
    /// let x = CanvasSet::from_split(&split, 2, &CanvasConfig::default())?.images();
    /// assert_eq!(x.dim(), (2, 64, 64, 1));
    /// assert_eq!(x.sum(), 2.0 * 784.0);
    /// # Ok::<(), cnnkit_data::Error>(())
    /// ```
    pub fn images(&self) -> Array4<f32> {
        self.pixels.mapv(|p| p as f32 / 255.0).insert_axis(Axis(3))
    }

    /// The masks one-hot, `(n, height, width, 11)`: channel `m` is 1.0 where the mask is
    /// `m` (channel 0 the background, channel `1 + c` class `c`), the targets of a
    /// per-pixel softmax with categorical cross entropy.
    ///
    /// ```
    /// # use cnnkit_data::canvas::{CanvasConfig, CanvasSet};
    /// # let split = cnnkit_data::Split::new(vec![255; 784], vec![2])?;
    /// let y = CanvasSet::from_split(&split, 1, &CanvasConfig::default())?.masks_one_hot();
    /// assert_eq!(y.dim(), (1, 64, 64, 11));
    /// assert_eq!(y.slice(ndarray::s![.., .., .., 3]).sum(), 784.0); // class 2
    /// assert_eq!(y.slice(ndarray::s![.., .., .., 0]).sum(), (64.0 * 64.0) - 784.0);
    /// # Ok::<(), cnnkit_data::Error>(())
    /// ```
    pub fn masks_one_hot(&self) -> Array4<f32> {
        let (n, h, w) = self.masks.dim();
        let mut out = Array4::<f32>::zeros((n, h, w, MASK_CLASSES));
        if let Some(flat) = out.as_slice_mut() {
            for (p, &m) in self.masks.iter().enumerate() {
                if let Some(v) = flat.get_mut(p * MASK_CLASSES + m as usize) {
                    *v = 1.0;
                }
            }
        }
        out
    }

    /// The class of each canvas's object: for single-object canvases (`objects(1, 1)`, the
    /// default), the class head's targets.
    ///
    /// # Errors
    /// When a canvas holds more than one object (use [`objects`](Self::objects) then).
    ///
    /// ```
    /// use cnnkit_data::canvas::{CanvasConfig, CanvasSet};
    /// let split = cnnkit_data::Split::new(vec![9; 784], vec![6])?;
    /// let one = CanvasSet::from_split(&split, 3, &CanvasConfig::default())?;
    /// assert_eq!(one.labels()?, vec![6, 6, 6]);
    /// let two = CanvasSet::from_split(&split, 3, &CanvasConfig::default().objects(2, 2))?;
    /// assert!(two.labels().unwrap_err().to_string().contains("2 objects"));
    /// # Ok::<(), cnnkit_data::Error>(())
    /// ```
    pub fn labels(&self) -> Result<Vec<u8>> {
        self.single("labels")
            .map(|objects| objects.iter().map(|o| o.class).collect())
    }

    /// The box of each canvas's object as a training target, four numbers in `0..=1` (see
    /// [`PixelBox::to_target`]), for single-object canvases: the box head's targets.
    ///
    /// # Errors
    /// When a canvas holds more than one object.
    ///
    /// ```
    /// use cnnkit_data::canvas::{BoxFormat, CanvasConfig, CanvasSet};
    /// let split = cnnkit_data::Split::new(vec![255; 784], vec![0])?;
    /// let set = CanvasSet::from_split(&split, 4, &CanvasConfig::default())?;
    /// let b = set.boxes(BoxFormat::Center)?;
    /// // A full 28 × 28 item on a 64 × 64 canvas: width and height 28 / 64.
    /// assert!(b.iter().all(|r| r[2] == 0.4375 && r[3] == 0.4375));
    /// # Ok::<(), cnnkit_data::Error>(())
    /// ```
    pub fn boxes(&self, format: BoxFormat) -> Result<Vec<[f32; 4]>> {
        let (w, h) = (self.width(), self.height());
        Ok(self
            .single("boxes")?
            .iter()
            .map(|o| o.bbox.to_target(format, w, h))
            .collect())
    }

    /// How many objects of each class the canvases hold.
    ///
    /// ```
    /// # use cnnkit_data::canvas::{CanvasConfig, CanvasSet};
    /// # let split = cnnkit_data::Split::new(vec![255; 784], vec![2])?;
    /// let set = CanvasSet::from_split(&split, 6, &CanvasConfig::default())?;
    /// assert_eq!(set.class_counts()[2], 6);
    /// # Ok::<(), cnnkit_data::Error>(())
    /// ```
    pub fn class_counts(&self) -> [usize; CLASSES] {
        let mut counts = [0; CLASSES];
        for o in self.objects.iter().flatten() {
            if let Some(c) = counts.get_mut(o.class as usize) {
                *c += 1;
            }
        }
        counts
    }

    /// The first `n` canvases (all if there are fewer), as a new set: a few to draw.
    ///
    /// ```
    /// # use cnnkit_data::canvas::{CanvasConfig, CanvasSet};
    /// # let split = cnnkit_data::Split::new(vec![255; 784], vec![2])?;
    /// let set = CanvasSet::from_split(&split, 6, &CanvasConfig::default())?;
    /// assert_eq!(set.take(4).len(), 4);
    /// assert_eq!(set.take(4).get(3).unwrap().objects, set.get(3).unwrap().objects);
    /// assert_eq!(set.take(100).len(), 6);
    /// # Ok::<(), cnnkit_data::Error>(())
    /// ```
    pub fn take(&self, n: usize) -> CanvasSet {
        let n = n.min(self.len());
        CanvasSet {
            part: self.part,
            pixels: self.pixels.slice(s![..n, .., ..]).to_owned(),
            masks: self.masks.slice(s![..n, .., ..]).to_owned(),
            objects: self.objects[..n].to_vec(),
        }
    }

    /// The canvases at `indices`, in that order, as a new set.
    ///
    /// # Errors
    /// When an index is past the end.
    ///
    /// ```
    /// # use cnnkit_data::canvas::{CanvasConfig, CanvasSet};
    /// let split = cnnkit_data::Split::new(vec![1; 784], vec![3])?;
    /// let set = CanvasSet::from_split(&split, 5, &CanvasConfig::default())?;
    /// let picked = set.select(&[4, 0])?;
    /// assert_eq!(picked.get(0).unwrap().objects, set.get(4).unwrap().objects);
    /// assert!(set.select(&[5]).is_err());
    /// # Ok::<(), cnnkit_data::Error>(())
    /// ```
    pub fn select(&self, indices: &[usize]) -> Result<CanvasSet> {
        if let Some(&bad) = indices.iter().find(|&&i| i >= self.len()) {
            return Err(Error::invalid(
                "canvas index",
                format!(
                    "{bad} is past the end: the set holds {} canvases (0..{})",
                    self.len(),
                    self.len()
                ),
            ));
        }
        Ok(CanvasSet {
            part: self.part,
            pixels: self.pixels.select(Axis(0), indices),
            masks: self.masks.select(Axis(0), indices),
            objects: indices.iter().map(|&i| self.objects[i].clone()).collect(),
        })
    }

    /// The objects, checking there is exactly one per canvas.
    fn single(&self, what: &str) -> Result<Vec<CanvasObject>> {
        self.objects
            .iter()
            .enumerate()
            .map(|(i, objects)| match objects.as_slice() {
                [one] => Ok(*one),
                more => Err(Error::invalid(
                    format!("canvas {what}"),
                    format!(
                        "canvas {i} holds {} objects; `{what}()` is for canvases of one object \
                         each (`CanvasConfig::objects(1, 1)`, the default); for several use \
                         `objects()`",
                        more.len()
                    ),
                )),
            })
            .collect()
    }
}

impl fmt::Debug for CanvasSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let objects: usize = self.objects.iter().map(Vec::len).sum();
        write!(
            f,
            "CanvasSet {{ part: {}, n: {}, canvas: {} × {}, objects: {objects} }}",
            self.part.map_or("any split", Part::name),
            self.len(),
            self.height(),
            self.width(),
        )
    }
}

/// Canvases for training, validation and testing, each from the matching Fashion-MNIST
/// split ([`Part`]).
///
/// ```
/// use cnnkit_data::canvas::{CanvasConfig, CanvasData};
/// let Ok(data) = cnnkit_data::FashionMnist::load() else { return Ok(()) };
/// let canvases = CanvasData::generate(&data, &CanvasConfig::default().sizes(100, 20, 20))?;
/// assert_eq!((canvases.train.len(), canvases.valid.len(), canvases.test.len()), (100, 20, 20));
/// assert_eq!(canvases.config.height, 64);
/// # Ok::<(), cnnkit_data::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct CanvasData {
    /// `config.train_size` canvases from the first 55,000 training images.
    pub train: CanvasSet,
    /// `config.valid_size` canvases from the last 5,000 training images.
    pub valid: CanvasSet,
    /// `config.test_size` canvases from the 10,000 test images.
    pub test: CanvasSet,
    /// The settings they were made with.
    pub config: CanvasConfig,
}

impl CanvasData {
    /// Generates the three splits (sizes `config.train_size`, `valid_size`, `test_size`).
    ///
    /// # Errors
    /// As [`CanvasSet::generate`].
    ///
    /// ```
    /// use cnnkit_data::canvas::{CanvasConfig, CanvasData};
    /// let Ok(data) = cnnkit_data::FashionMnist::load() else { return Ok(()) };
    /// let config = CanvasConfig::default().size(96, 96).objects(2, 3).sizes(30, 10, 10);
    /// let canvases = CanvasData::generate(&data, &config)?;
    /// assert!(canvases.test.objects().iter().all(|o| o.len() >= 2));
    /// // Bad settings are errors, not panics.
    /// assert!(CanvasData::generate(&data, &config.objects(0, 0)).is_err());
    /// # Ok::<(), cnnkit_data::Error>(())
    /// ```
    pub fn generate(data: &FashionMnist, config: &CanvasConfig) -> Result<CanvasData> {
        config.validate()?;
        Ok(CanvasData {
            train: CanvasSet::generate(data, Part::Train, config.train_size, config)?,
            valid: CanvasSet::generate(data, Part::Valid, config.valid_size, config)?,
            test: CanvasSet::generate(data, Part::Test, config.test_size, config)?,
            config: config.clone(),
        })
    }
}

/// Resizes a byte image to `height × width` with half-pixel centres ([`Resize`]); values
/// are rounded to the nearest byte. The same size returns a copy.
///
/// # Errors
/// When the image or the requested size is empty.
///
/// ```
/// use cnnkit_data::canvas::{resize, Resize};
/// let img = ndarray::array![[0u8, 100], [200, 255]];
/// let big = resize(img.view(), 4, 4, Resize::Nearest)?;
/// assert_eq!(big.row(0).to_vec(), vec![0, 0, 100, 100]);
/// let smooth = resize(img.view(), 4, 4, Resize::Bilinear)?;
/// // Column 1 samples x = 0.25: 0.75 * 0 + 0.25 * 100 = 25.
/// assert_eq!(smooth.row(0).to_vec(), vec![0, 25, 75, 100]);
/// # Ok::<(), cnnkit_data::Error>(())
/// ```
pub fn resize(
    image: ArrayView2<'_, u8>,
    height: usize,
    width: usize,
    method: Resize,
) -> Result<Array2<u8>> {
    let (h, w) = image.dim();
    if h == 0 || w == 0 || height == 0 || width == 0 {
        return Err(Error::invalid(
            "resize",
            format!("from {h}x{w} to {height}x{width}: both sizes need at least one pixel"),
        ));
    }
    let src: Vec<u8> = image.iter().copied().collect();
    let mut out = Vec::new();
    resize_into(&src, (h, w), (height, width), method, &mut out);
    Array2::from_shape_vec((height, width), out)
        .map_err(|e| Error::invalid("resize", e.to_string()))
}

/// The sampling position in the source of output index `i` of `n` (source length `m`),
/// half-pixel centres, clamped to the source: `(index below, index above, weight above)`.
fn sample(i: usize, n: usize, m: usize) -> (usize, usize, f32) {
    let x = ((i as f32 + 0.5) * m as f32 / n as f32 - 0.5).clamp(0.0, (m - 1) as f32);
    let lo = x.floor() as usize;
    let hi = (lo + 1).min(m - 1);
    (lo, hi, x - lo as f32)
}

/// [`resize`] on a row-major slice, into `out` (cleared first). Sizes are not zero.
fn resize_into(
    src: &[u8],
    (h, w): (usize, usize),
    (dh, dw): (usize, usize),
    method: Resize,
    out: &mut Vec<u8>,
) {
    out.clear();
    if (h, w) == (dh, dw) {
        out.extend_from_slice(src);
        return;
    }
    match method {
        Resize::Nearest => {
            // floor((i + 0.5) * m / n) in integers.
            let near = |i: usize, n: usize, m: usize| ((2 * i + 1) * m / (2 * n)).min(m - 1);
            let cols: Vec<usize> = (0..dw).map(|c| near(c, dw, w)).collect();
            for r in 0..dh {
                let row = &src[near(r, dh, h) * w..][..w];
                out.extend(cols.iter().map(|&c| row[c]));
            }
        }
        Resize::Bilinear => {
            let cols: Vec<(usize, usize, f32)> = (0..dw).map(|c| sample(c, dw, w)).collect();
            for r in 0..dh {
                let (r0, r1, fy) = sample(r, dh, h);
                let (top, bottom) = (&src[r0 * w..][..w], &src[r1 * w..][..w]);
                out.extend(cols.iter().map(|&(c0, c1, fx)| {
                    let lerp = |a: u8, b: u8| a as f32 + (b as f32 - a as f32) * fx;
                    let t = lerp(top[c0], top[c1]);
                    let b = lerp(bottom[c0], bottom[c1]);
                    (t + (b - t) * fy).round().clamp(0.0, 255.0) as u8
                }));
            }
        }
    }
}

/// SplitMix64's finaliser: a well-mixed 64-bit value from any input.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed of canvas `index` of stream `stream` (0 for `from_split`, 1-3 for the parts).
fn canvas_seed(seed: u64, stream: u64, index: usize) -> u64 {
    mix(mix(mix(seed) ^ stream) ^ index as u64)
}

/// Generates `n` canvases from the items `items` of `split`; `config` is valid.
fn generate(
    split: &Split,
    items: Range<usize>,
    n: usize,
    config: &CanvasConfig,
    stream: u64,
    part: Option<Part>,
) -> Result<CanvasSet> {
    // A hand-edited split may hold fewer labels or pixels than `n` says.
    let usable = split
        .len()
        .min(split.labels.len())
        .min(split.images.len() / IMAGE_PIXELS);
    let items = items.start.min(usable)..items.end.min(usable);
    if items.is_empty() {
        return Err(Error::invalid(
            "split for canvases",
            format!(
                "it holds no image to paste ({} images, {} labels, {} pixels); canvases need \
                 at least one labelled 28x28 image",
                split.len(),
                split.labels.len(),
                split.images.len()
            ),
        ));
    }
    let (h, w) = (config.height, config.width);
    let mut all_pixels = vec![0u8; n * h * w];
    let mut all_masks = vec![0u8; n * h * w];
    let mut all_objects = Vec::with_capacity(n);
    let mask_min = config.mask_min_byte();
    let mut item = Vec::with_capacity(IMAGE_PIXELS);
    for i in 0..n {
        let mut rng = StdRng::seed_from_u64(canvas_seed(config.seed, stream, i));
        let count = rng.gen_range(config.min_objects..=config.max_objects);
        let pixels = &mut all_pixels[i * h * w..(i + 1) * h * w];
        let mask = &mut all_masks[i * h * w..(i + 1) * h * w];
        let mut objects: Vec<CanvasObject> = Vec::with_capacity(count);
        for k in 0..count {
            let mut placed = None;
            for _ in 0..config.max_attempts {
                let source = rng.gen_range(items.clone());
                let scale = if config.min_scale < config.max_scale {
                    rng.gen_range(config.min_scale..=config.max_scale)
                } else {
                    config.min_scale
                };
                let side = CanvasConfig::item_side(scale).min(h).min(w);
                let top = rng.gen_range(0..=h - side);
                let left = rng.gen_range(0..=w - side);
                resize_into(
                    split.image(source),
                    (IMAGE_SIDE, IMAGE_SIDE),
                    (side, side),
                    config.resize,
                    &mut item,
                );
                let ink = ArrayView2::from_shape((side, side), &item[..])
                    .ok()
                    .and_then(|v| PixelBox::enclosing(v, 0));
                let Some(ink) = ink else { continue };
                let bbox = ink.offset(left, top);
                if objects.iter().all(|o| o.bbox.iou(&bbox) <= config.max_iou) {
                    placed = Some(CanvasObject {
                        class: split.label(source),
                        bbox,
                        frame: PixelBox::new(left, top, left + side, top + side),
                        source,
                    });
                    break;
                }
            }
            let Some(object) = placed else {
                return Err(Error::invalid(
                    "canvas placement",
                    format!(
                        "object {} of {count} on canvas {i} could not be placed with an IoU of \
                         at most {} with the others in {} attempts; make the canvas larger \
                         (now {h}x{w}), ask for fewer objects (now up to {}), smaller items \
                         (max_scale {}), or allow more overlap (a larger max_iou)",
                        k + 1,
                        config.max_iou,
                        config.max_attempts,
                        config.max_objects,
                        config.max_scale
                    ),
                ));
            };
            paste(pixels, mask, w, &item, &object, mask_min);
            objects.push(object);
        }
        all_objects.push(objects);
    }
    let shaped = |v: Vec<u8>| {
        Array3::from_shape_vec((n, h, w), v).map_err(|e| Error::invalid("canvases", e.to_string()))
    };
    Ok(CanvasSet {
        part,
        pixels: shaped(all_pixels)?,
        masks: shaped(all_masks)?,
        objects: all_objects,
    })
}

/// Pastes a resized item (`frame.width()` squared bytes) into a canvas `w` pixels wide:
/// pixels take the maximum, the mask takes `1 + class` where the item's byte is at least
/// `mask_min`.
fn paste(
    pixels: &mut [u8],
    mask: &mut [u8],
    w: usize,
    item: &[u8],
    object: &CanvasObject,
    mask_min: u16,
) {
    let side = object.frame.width();
    let (top, left) = (object.frame.y_min, object.frame.x_min);
    for (r, row) in item.chunks_exact(side).enumerate() {
        let at = (top + r) * w + left;
        let (p, m) = (&mut pixels[at..at + side], &mut mask[at..at + side]);
        for ((p, m), &v) in p.iter_mut().zip(m.iter_mut()).zip(row) {
            *p = (*p).max(v);
            if v as u16 >= mask_min {
                *m = object.class + 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(values: &[u8], labels: Vec<u8>) -> Split {
        let images = values.iter().flat_map(|&v| [v; IMAGE_PIXELS]).collect();
        Split::new(images, labels).unwrap()
    }

    #[test]
    fn nearest_resize_keeps_values_and_bilinear_interpolates() {
        let img = ndarray::array![[10u8, 20, 30], [40, 50, 60]];
        let same = resize(img.view(), 2, 3, Resize::Bilinear).unwrap();
        assert_eq!(same, img);
        let down = resize(img.view(), 1, 1, Resize::Nearest).unwrap();
        assert_eq!(down[[0, 0]], 50); // the centre (row 1, col 1)
        let down = resize(img.view(), 1, 1, Resize::Bilinear).unwrap();
        assert_eq!(down[[0, 0]], 35); // mean of rows 0.5 at column 1: (20 + 50) / 2
        let up = resize(img.view(), 4, 6, Resize::Nearest).unwrap();
        assert_eq!(up.row(0).to_vec(), vec![10, 10, 20, 20, 30, 30]);
        assert_eq!(up.row(3).to_vec(), vec![40, 40, 50, 50, 60, 60]);
        assert!(resize(img.view(), 0, 3, Resize::Nearest).is_err());
    }

    #[test]
    fn mask_threshold_becomes_the_first_byte_above_it() {
        let c = |t| CanvasConfig::default().mask_threshold(t).mask_min_byte();
        assert_eq!(c(0.0), 1);
        assert_eq!(c(0.1), 26); // 25 / 255 = 0.098, 26 / 255 = 0.102
        assert_eq!(c(0.999), 255);
    }

    #[test]
    fn seeds_differ_between_streams_and_indices() {
        let a = canvas_seed(42, 1, 0);
        assert_ne!(a, canvas_seed(42, 2, 0));
        assert_ne!(a, canvas_seed(42, 1, 1));
        assert_ne!(a, canvas_seed(43, 1, 0));
    }

    #[test]
    fn a_full_item_fills_its_frame_and_mask() {
        let s = split(&[255], vec![3]);
        let set = CanvasSet::from_split(&s, 3, &CanvasConfig::default()).unwrap();
        for c in set.iter() {
            let o = c.objects[0];
            assert_eq!(o.bbox, o.frame);
            assert_eq!(c.pixels.iter().filter(|&&p| p == 255).count(), 784);
            assert_eq!(c.mask.iter().filter(|&&m| m == 4).count(), 784);
        }
    }

    #[test]
    fn impossible_placements_are_reported() {
        let s = split(&[255], vec![0]);
        let config = CanvasConfig::default()
            .size(30, 30)
            .objects(2, 2)
            .max_iou(0.0);
        let err = CanvasSet::from_split(&s, 1, &config)
            .unwrap_err()
            .to_string();
        assert!(err.contains("could not be placed"), "{err}");
        assert!(err.contains("100 attempts"), "{err}");
    }

    #[test]
    fn debug_is_short() {
        let s = split(&[255], vec![0]);
        let set = CanvasSet::from_split(&s, 30, &CanvasConfig::default()).unwrap();
        let text = format!("{set:?}");
        assert!(text.len() < 100, "{text}");
        assert!(text.contains("n: 30"));
    }
}
