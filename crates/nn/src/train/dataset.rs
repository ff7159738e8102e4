//! [`Dataset`]: labelled NHWC images, as Keras' `(X_train, y_train)`, with the subsets
//! transfer learning needs ([`Dataset::select_classes`], [`Dataset::take_per_class`]).

use dfdx::prelude::*;
use ndarray::Array4;

use crate::error::{Error, Result};
use crate::ops::Images;

/// Labelled images with `C` channels: what [`fit`] and [`evaluate`] take.
///
/// `images` is `(n, height, width, C)` like Keras' `X_train`; `labels` has one class index
/// per image (`y_train`). [`predict`] ignores the labels, so they may be empty there.
#[derive(Clone, Debug)]
pub struct Dataset<const C: usize> {
    /// Images, `(n, h, w, C)`, usually scaled to `0..1`.
    pub images: Array4<f32>,
    /// Class index of each image.
    pub labels: Vec<u8>,
}

impl<const C: usize> Dataset<C> {
    /// Wraps images and labels, checking that they agree.
    ///
    /// # Errors
    /// When the images' last axis is not `C`, or the counts differ.
    pub fn new(images: Array4<f32>, labels: Vec<u8>) -> Result<Self> {
        let (n, _, _, c) = images.dim();
        if c != C {
            return Err(Error::invalid(
                "images",
                format!("they have {c} channels but the data set was declared with {C}"),
            ));
        }
        if !labels.is_empty() && labels.len() != n {
            return Err(Error::invalid(
                "labels",
                format!("{} labels for {n} images", labels.len()),
            ));
        }
        Ok(Dataset {
            images: images.as_standard_layout().into_owned(),
            labels,
        })
    }

    /// Images without labels, for [`predict`].
    pub fn unlabeled(images: Array4<f32>) -> Result<Self> {
        Self::new(images, Vec::new())
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.images.dim().0
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `(height, width)` of the images.
    pub fn image_size(&self) -> (usize, usize) {
        let (_, h, w, _) = self.images.dim();
        (h, w)
    }

    /// Images `range` as a new data set (a copy).
    pub fn slice(&self, range: std::ops::Range<usize>) -> Self {
        let images = self
            .images
            .slice(ndarray::s![range.clone(), .., .., ..])
            .to_owned();
        let labels = if self.labels.is_empty() {
            Vec::new()
        } else {
            self.labels[range].to_vec()
        };
        Dataset { images, labels }
    }

    /// The images of the given classes, relabelled by their position in `classes`: the
    /// first class becomes label 0, and so on. The order of the images is kept.
    ///
    /// Transfer learning's two tasks come from one data set this way: a base model
    /// learns classes 0-4 and a new task is classes 5-9 as labels 0-4.
    ///
    /// ```
    /// use cnnkit_nn::prelude::*;
    /// let data = cnnkit_nn::train::toy_bars(20, 0);
    /// let horizontal = data.select_classes(&[1]).unwrap();
    /// assert!(horizontal.labels.iter().all(|&l| l == 0));
    /// assert_eq!(horizontal.len(), data.labels.iter().filter(|&&l| l == 1).count());
    /// ```
    ///
    /// # Errors
    /// When `classes` is empty or names a class twice, or the data set has no labels.
    pub fn select_classes(&self, classes: &[u8]) -> Result<Self> {
        if classes.is_empty() {
            return Err(Error::invalid("classes", "give at least one class"));
        }
        if let Some(c) = classes
            .iter()
            .enumerate()
            .find_map(|(i, c)| classes[..i].contains(c).then_some(c))
        {
            return Err(Error::invalid(
                "classes",
                format!("class {c} is named twice"),
            ));
        }
        if self.labels.len() != self.len() {
            return Err(Error::invalid("data set", "it has no labels to select by"));
        }
        let keep: Vec<(usize, u8)> = self
            .labels
            .iter()
            .enumerate()
            .filter_map(|(i, l)| classes.iter().position(|c| c == l).map(|p| (i, p as u8)))
            .collect();
        self.gather(&keep)
    }

    /// At most `per_class` images of each label, drawn at random (by `seed`) without
    /// replacement, in their original order: a task with few labelled images, as the
    /// book's transfer learning examples have.
    ///
    /// ```
    /// use cnnkit_nn::prelude::*;
    /// let data = cnnkit_nn::train::toy_bars(100, 0);
    /// let few = data.take_per_class(5, 7).unwrap();
    /// assert_eq!(few.len(), 10);
    /// assert_eq!(few.labels.iter().filter(|&&l| l == 0).count(), 5);
    /// assert_eq!(few.labels, data.take_per_class(5, 7).unwrap().labels);
    /// ```
    ///
    /// # Errors
    /// When the data set has no labels.
    pub fn take_per_class(&self, per_class: usize, seed: u64) -> Result<Self> {
        use rand::seq::SliceRandom;
        use rand::SeedableRng;
        if self.labels.len() != self.len() {
            return Err(Error::invalid("data set", "it has no labels to count by"));
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let classes = self
            .labels
            .iter()
            .map(|&l| l as usize + 1)
            .max()
            .unwrap_or(0);
        let mut chosen = Vec::new();
        for class in 0..classes {
            let mut of_class: Vec<usize> = (0..self.len())
                .filter(|&i| self.labels[i] as usize == class)
                .collect();
            of_class.shuffle(&mut rng);
            chosen.extend(of_class.into_iter().take(per_class));
        }
        chosen.sort_unstable();
        let keep: Vec<(usize, u8)> = chosen.into_iter().map(|i| (i, self.labels[i])).collect();
        self.gather(&keep)
    }

    /// The images at the given indices, with the given labels.
    fn gather(&self, keep: &[(usize, u8)]) -> Result<Self> {
        let (_, h, w, _) = self.images.dim();
        let per = h * w * C;
        let all = self
            .images
            .as_slice()
            .ok_or_else(|| Error::invalid("images", "not in standard layout"))?;
        let mut pixels = Vec::with_capacity(keep.len() * per);
        for &(i, _) in keep {
            pixels.extend_from_slice(&all[i * per..(i + 1) * per]);
        }
        let images = Array4::from_shape_vec((keep.len(), h, w, C), pixels)
            .map_err(|e| Error::invalid("images", e.to_string()))?;
        Ok(Dataset {
            images,
            labels: keep.iter().map(|&(_, l)| l).collect(),
        })
    }

    /// Copies the images at `indices` into one NHWC batch tensor.
    pub(crate) fn batch(&self, dev: &Cpu, indices: &[usize]) -> Result<Images<C>> {
        let (_, h, w, _) = self.images.dim();
        let per = h * w * C;
        let all = self
            .images
            .as_slice()
            .ok_or_else(|| Error::invalid("images", "not in standard layout"))?;
        let mut buf = Vec::with_capacity(indices.len() * per);
        for &i in indices {
            buf.extend_from_slice(&all[i * per..(i + 1) * per]);
        }
        Ok(dev.try_tensor_from_vec(buf, (indices.len(), h, w, Const::<C>))?)
    }

    /// One-hot targets for `indices`.
    pub(crate) fn targets<const N: usize>(
        &self,
        dev: &Cpu,
        indices: &[usize],
    ) -> Result<Tensor<(usize, Const<N>), f32, Cpu>> {
        let mut buf = vec![0.0f32; indices.len() * N];
        for (row, &i) in indices.iter().enumerate() {
            let label = self.labels[i] as usize;
            if label >= N {
                return Err(Error::invalid(
                    "labels",
                    format!("label {label} at index {i}, but the model has only {N} outputs"),
                ));
            }
            buf[row * N + label] = 1.0;
        }
        Ok(dev.try_tensor_from_vec(buf, (indices.len(), Const::<N>))?)
    }
}

impl TryFrom<&cnnkit_data::Split> for Dataset<1> {
    type Error = Error;

    /// Fashion-MNIST images scaled to `0..1` as `(n, 28, 28, 1)`, like the lecture's
    /// `X_train = X_train_full / 255.` with a channel axis added.
    ///
    /// ```
    /// use cnnkit_nn::prelude::*;
    /// let split = cnnkit_data::Split::new(vec![255; 2 * 784], vec![3, 7]).unwrap();
    /// let data = Dataset::try_from(&split).unwrap();
    /// assert_eq!(data.images.dim(), (2, 28, 28, 1));
    /// assert_eq!(data.images[[1, 5, 5, 0]], 1.0);
    /// ```
    fn try_from(split: &cnnkit_data::Split) -> Result<Self> {
        let n = split.len();
        let images = Array4::from_shape_vec((n, 28, 28, 1), split.images_f32()).map_err(|_| {
            Error::invalid(
                "Fashion-MNIST split",
                format!("{} pixels for {n} images of 28x28", split.images.len()),
            )
        })?;
        Dataset::new(images, split.labels.clone())
    }
}
