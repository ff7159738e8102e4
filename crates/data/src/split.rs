//! One split of Fashion-MNIST: images and their labels.

use std::fmt;
use std::ops::{Bound, RangeBounds};

use crate::error::{Error, Result};

/// Height and width of a Fashion-MNIST image, in pixels.
pub const IMAGE_SIDE: usize = 28;
/// Pixels per Fashion-MNIST image (28 × 28 = 784).
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;

/// One split of Fashion-MNIST (train or test): `n` grayscale 28 × 28 images and their labels.
///
/// Keras equivalent: one `(X, y)` pair of `fashion_mnist.load_data()`, with `X` of shape
/// `(n, 28, 28)` and dtype `uint8`.
///
/// # Shapes
/// - `images`: `n × 28 × 28` bytes, image after image, each row-major (row 0 first); 0 is the
///   background, 255 the brightest pixel.
/// - `labels`: `n` bytes in `0..=9`; see [`class_name`](super::class_name).
///
/// The `Debug` output is a short summary, not 47 million numbers.
///
/// ```
/// use cnnkit_data::Split;
/// let split = Split::new(vec![0; 3 * 784], vec![9, 0, 0])?;
/// assert_eq!(split.len(), 3);
/// assert_eq!(split.label_counts()[0], 2);
/// # Ok::<(), cnnkit_data::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Split {
    /// The pixels, `n × 28 × 28` bytes.
    pub images: Vec<u8>,
    /// The labels, `n` bytes in `0..=9`.
    pub labels: Vec<u8>,
    /// Number of images.
    pub n: usize,
}

impl Split {
    /// Builds a split from pixels and labels, checking that there are exactly 784 pixels per
    /// label ([`Error::Invalid`] otherwise).
    pub fn new(images: Vec<u8>, labels: Vec<u8>) -> Result<Split> {
        let n = labels.len();
        if n.checked_mul(IMAGE_PIXELS) != Some(images.len()) {
            return Err(Error::invalid(
                "Fashion-MNIST split",
                format!(
                    "{} labels need {} pixels (784 each), but {} were given",
                    n,
                    n.saturating_mul(IMAGE_PIXELS),
                    images.len()
                ),
            ));
        }
        Ok(Split { images, labels, n })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True when the split holds no image.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The 784 pixels of image `i`, row-major.
    ///
    /// # Panics
    /// When `i >= self.len()`, like slice indexing.
    ///
    /// ```
    /// use cnnkit_data::Split;
    /// let split = Split::new((0..=255).cycle().take(2 * 784).collect(), vec![1, 2])?;
    /// assert_eq!(split.image(1)[0], (784 % 256) as u8);
    /// # Ok::<(), cnnkit_data::Error>(())
    /// ```
    pub fn image(&self, i: usize) -> &[u8] {
        &self.images[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS]
    }

    /// The label of image `i`, in `0..=9`.
    ///
    /// # Panics
    /// When `i >= self.len()`, like slice indexing.
    pub fn label(&self, i: usize) -> u8 {
        self.labels[i]
    }

    /// All pixels as `f32` divided by 255 (values in `0..=1`), in the same order as `images`.
    ///
    /// Keras equivalent: `X_train / 255.` (the lecture scales the inputs this way).
    ///
    /// # Shapes
    /// `n × 28 × 28` values, ready for `dev.tensor_from_vec(x, (n, 1, 28, 28))` (channels first)
    /// or `(n, 28, 28, 1)`: with a single channel both orders hold the same bytes.
    pub fn images_f32(&self) -> Vec<f32> {
        const SCALE: f32 = 1.0 / 255.0;
        self.images.iter().map(|&p| p as f32 * SCALE).collect()
    }

    /// The images whose indices fall in `range`, as a new split.
    ///
    /// Bounds past the end are clamped to the end (like [`take`](Self::take)), so
    /// `subset(0..1000)` of a 100-image split returns those 100 images.
    ///
    /// ```
    /// use cnnkit_data::Split;
    /// let split = Split::new(vec![0; 5 * 784], vec![0, 1, 2, 3, 4])?;
    /// assert_eq!(split.subset(1..3).labels, vec![1, 2]);
    /// assert_eq!(split.subset(3..).labels, vec![3, 4]);
    /// assert_eq!(split.subset(4..99).len(), 1);
    /// # Ok::<(), cnnkit_data::Error>(())
    /// ```
    pub fn subset(&self, range: impl RangeBounds<usize>) -> Split {
        let n = self.consistent_len();
        let start = match range.start_bound() {
            Bound::Included(&s) => s,
            Bound::Excluded(&s) => s.saturating_add(1),
            Bound::Unbounded => 0,
        }
        .min(n);
        let end = match range.end_bound() {
            Bound::Included(&e) => e.saturating_add(1),
            Bound::Excluded(&e) => e,
            Bound::Unbounded => n,
        }
        .clamp(start, n);
        Split {
            images: self.images[start * IMAGE_PIXELS..end * IMAGE_PIXELS].to_vec(),
            labels: self.labels[start..end].to_vec(),
            n: end - start,
        }
    }

    /// The first `n` images (all of them if there are fewer), as a new split.
    ///
    /// Handy for quick runs: `data.train.take(quick_or(55_000, 2_000))`.
    pub fn take(&self, n: usize) -> Split {
        self.subset(..n)
    }

    /// Splits into the first `n` images and the rest (`n` is clamped to the length).
    ///
    /// Keras equivalent, as in the lecture (55,000 for training, 5,000 for validation):
    /// `X_train, X_valid = X_train_full[:-5000], X_train_full[-5000:]`.
    ///
    /// ```
    /// use cnnkit_data::Split;
    /// let full = Split::new(vec![0; 10 * 784], (0..10).collect())?;
    /// let (train, valid) = full.split_at(8);
    /// assert_eq!((train.len(), valid.len()), (8, 2));
    /// assert_eq!(valid.labels, vec![8, 9]);
    /// # Ok::<(), cnnkit_data::Error>(())
    /// ```
    pub fn split_at(&self, n: usize) -> (Split, Split) {
        (self.subset(..n), self.subset(n..))
    }

    /// How many images each class has: `counts[label]`. Labels outside `0..=9` (possible only in
    /// a hand-built split) are not counted.
    ///
    /// Fashion-MNIST is balanced: 6,000 per class in train, 1,000 per class in test.
    pub fn label_counts(&self) -> [usize; 10] {
        let mut counts = [0usize; 10];
        for &label in &self.labels {
            if let Some(c) = counts.get_mut(label as usize) {
                *c += 1;
            }
        }
        counts
    }

    /// `n`, lowered if a hand-edited split has fewer labels or pixels than `n` says, so that
    /// slicing never goes out of bounds.
    fn consistent_len(&self) -> usize {
        self.n
            .min(self.labels.len())
            .min(self.images.len() / IMAGE_PIXELS)
    }
}

impl fmt::Debug for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = self.labels.len().min(10);
        write!(
            f,
            "Split {{ n: {}, images: {} × {} × {} bytes, labels: {:?}{} }}",
            self.n,
            self.n,
            IMAGE_SIDE,
            IMAGE_SIDE,
            &self.labels[..shown],
            if self.labels.len() > shown {
                " …"
            } else {
                ""
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(n: usize) -> Split {
        let images = (0..n).flat_map(|i| [i as u8; IMAGE_PIXELS]).collect();
        Split::new(images, (0..n).map(|i| (i % 10) as u8).collect()).unwrap()
    }

    #[test]
    fn new_rejects_wrong_pixel_count() {
        let err = Split::new(vec![0; 783], vec![1]).unwrap_err();
        assert!(err.to_string().contains("783"), "{err}");
    }

    #[test]
    fn image_returns_the_right_pixels() {
        let s = numbered(3);
        assert_eq!(s.image(2), &[2u8; IMAGE_PIXELS][..]);
        assert_eq!(s.label(2), 2);
    }

    #[test]
    fn subset_keeps_images_and_labels_together() {
        let s = numbered(12).subset(3..=5);
        assert_eq!(s.n, 3);
        assert_eq!(s.labels, vec![3, 4, 5]);
        assert_eq!(s.image(0)[0], 3);
        assert_eq!(s.image(2)[783], 5);
    }

    #[test]
    fn out_of_range_bounds_are_clamped() {
        let s = numbered(4);
        assert_eq!(s.subset(10..20).len(), 0);
        let (start, end) = (3, 1);
        assert_eq!(s.subset(start..end).len(), 0);
        assert_eq!(s.take(100).len(), 4);
        let (a, b) = s.split_at(9);
        assert_eq!((a.len(), b.len()), (4, 0));
    }

    #[test]
    fn images_f32_scales_to_unit_range() {
        let s = Split::new(vec![255; IMAGE_PIXELS], vec![0]).unwrap();
        let x = s.images_f32();
        assert_eq!(x.len(), IMAGE_PIXELS);
        assert!(x.iter().all(|&v| v == 1.0));
    }

    #[test]
    fn label_counts_ignores_bad_labels() {
        let mut s = numbered(23);
        s.labels[0] = 200;
        let c = s.label_counts();
        assert_eq!(c, [2, 3, 3, 2, 2, 2, 2, 2, 2, 2]);
    }

    #[test]
    fn debug_is_short() {
        let text = format!("{:?}", numbered(30));
        assert!(text.len() < 120, "{text}");
        assert!(text.contains("n: 30"), "{text}");
    }
}
