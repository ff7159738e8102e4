//! Data augmentation (the book's figure of new training instances made from existing
//! ones): a few images, each followed by several random versions from augmentation
//! layers.

use dfdx::nn::modules::ModuleMut;
use dfdx::prelude::*;
use ndarray::{Array2, Array3, ArrayView4, AsArray, Axis, Ix4};

use crate::error::{Error, Result};
use crate::plot::{image_grid_rgb, image_grid_with, rgb_from_array, ImageOptions, Svg, ValueRange};
use cnnkit_nn::model::{summary, Describe};
use cnnkit_nn::ops::Images;

/// At most this many images (rows) and random versions (columns) per figure.
const MAX_ROWS: usize = 16;
const MAX_DRAWS: usize = 16;

/// Shows each of a few images (rows) next to `draws` random versions of it (columns) made
/// by `layer`'s training mode: one augmentation layer (`RandomRotation<15>`) or a tuple of
/// them, as at the start of a model. Grey images are drawn in grey, three-channel images
/// in colour, all on one value range so that contrast changes show.
///
/// `layer` itself is left as it is: the figure draws with a copy, so it shows the next
/// `draws` training calls the layer would make, and the same figure again when called
/// again. Keras: `plt.imshow(data_augmentation(images, training=True)[i])` in a loop.
///
/// # Shapes
/// `images`: `(n, H, W, C)` with `C` 1 or 3, `n` at most 16 (take a few with
/// `images.slice(s![..4, .., .., ..])`), `draws` from 1 to 16.
///
/// # Errors
/// [`Error::Invalid`](cnnkit_nn::Error::Invalid) for a channel count other than 1 or 3,
/// no images or too many, `draws` out of range, or a layer that cannot take the images
/// (its `summary` error).
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let augment = Cpu::default().build_module::<(RandomFlip<Horizontal>, RandomRotation<15>), f32>();
/// let images = ndarray::Array4::<f32>::from_shape_fn((3, 28, 28, 1), |(i, r, c, _)| {
///     ((r + i * c) % 9) as f32 / 8.0
/// });
/// let fig = cnnkit_viz::figures::augmented(&augment, &images, 6)?;
/// // 3 rows of the original and 6 versions.
/// assert_eq!(fig.as_str().matches("<image").count(), 3 * 7);
/// assert!(fig.as_str().contains(">원본</text>"));
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn augmented<'a, M>(layer: &M, images: impl AsArray<'a, f32, Ix4>, draws: usize) -> Result<Svg>
where
    M: Clone
        + Describe
        + ModuleMut<Images<1>, Output = Images<1>, Error = CpuError>
        + ModuleMut<Images<3>, Output = Images<3>, Error = CpuError>,
{
    augmented_with(layer, images, draws, &ImageOptions::default())
}

/// [`augmented`] with a colour map, value range and cell size of your choice for grey
/// images (`ImageOptions::unit().cmap(ColorMap::Binary)` for the book's Fashion-MNIST
/// look). [`ValueRange::Auto`] becomes one range for the whole figure: `0..1` when every
/// value lies in it, else from the smallest to the largest value shown.
///
/// # Shapes
/// As [`augmented`].
///
/// ```
/// use cnnkit_nn::prelude::*;
/// use cnnkit_viz::plot::{ColorMap, ImageOptions};
/// let contrast = RandomContrast::<50>::default();
/// let images = ndarray::Array4::<f32>::from_elem((2, 8, 8, 3), 0.5);
/// let fig = cnnkit_viz::figures::augmented_with(&contrast, &images, 2,
///                                               &ImageOptions::unit().cmap(ColorMap::Binary))?;
/// assert_eq!(fig.as_str().matches("<image").count(), 2 * 3);
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn augmented_with<'a, M>(
    layer: &M,
    images: impl AsArray<'a, f32, Ix4>,
    draws: usize,
    opts: &ImageOptions,
) -> Result<Svg>
where
    M: Clone
        + Describe
        + ModuleMut<Images<1>, Output = Images<1>, Error = CpuError>
        + ModuleMut<Images<3>, Output = Images<3>, Error = CpuError>,
{
    let images: ArrayView4<'a, f32> = images.into();
    let (n, h, w, c) = images.dim();
    if n == 0 || n > MAX_ROWS {
        return Err(Error::invalid(
            "images for augmented",
            format!("{n} images; show 1 to {MAX_ROWS}, e.g. `images.slice(s![..4, .., .., ..])`"),
        ));
    }
    if draws == 0 || draws > MAX_DRAWS {
        return Err(Error::invalid(
            "draws",
            format!("{draws} random versions per image; ask for 1 to {MAX_DRAWS}"),
        ));
    }
    // The layer's own check of the image size (and of its settings), as an error.
    summary(layer, [h, w, c])?;
    let versions = match c {
        1 => draw::<M, 1>(layer, images, draws)?,
        3 => draw::<M, 3>(layer, images, draws)?,
        _ => {
            return Err(Error::invalid(
                "images for augmented",
                format!(
                    "shape ({n}, {h}, {w}, {c}): the figure shows grey (1 channel) or colour \
                     (3 channels) images, channels last"
                ),
            ))
        }
    };
    // Row by row: the original, then its versions.
    let mut cells: Vec<Array3<f32>> = Vec::with_capacity(n * (draws + 1));
    for i in 0..n {
        cells.push(images.index_axis(Axis(0), i).to_owned());
        for v in &versions {
            cells.push(v.index_axis(Axis(0), i).to_owned());
        }
    }
    let titles: Vec<String> = (0..n * (draws + 1))
        .map(|k| match k {
            0 => "원본".to_string(),
            k if k <= draws => format!("증강 {k}"),
            _ => String::new(),
        })
        .collect();
    let (lo, hi) = match opts.range {
        ValueRange::Auto => {
            let values = || cells.iter().flat_map(|a| a.iter().copied());
            if values().all(|v| (0.0..=1.0).contains(&v)) {
                (0.0, 1.0)
            } else {
                ValueRange::Auto.resolve(values())
            }
        }
        other => other.resolve(cells.iter().flat_map(|a| a.iter().copied())),
    };
    if c == 1 {
        let grey: Vec<Array2<f32>> = cells
            .iter()
            .map(|a| a.index_axis(Axis(2), 0).to_owned())
            .collect();
        let views: Vec<_> = grey.iter().map(|a| a.view()).collect();
        let opts = opts.range(ValueRange::Fixed(lo, hi));
        image_grid_with(&views, &titles, draws + 1, &opts)
    } else {
        let colour = cells
            .iter()
            .map(|a| rgb_from_array(&a.mapv(|v| (v - lo) / (hi - lo))))
            .collect::<Result<Vec<_>>>()?;
        image_grid_rgb(&colour, &titles, draws + 1)
    }
}

/// `draws` training calls of a copy of `layer` on the images, each `(n, H, W, C)`.
fn draw<M, const C: usize>(
    layer: &M,
    images: ArrayView4<'_, f32>,
    draws: usize,
) -> Result<Vec<ndarray::Array4<f32>>>
where
    M: Clone + ModuleMut<Images<C>, Output = Images<C>, Error = CpuError>,
{
    let (n, h, w, _) = images.dim();
    let dev = Cpu::default();
    let values: Vec<f32> = images.iter().copied().collect();
    let x: Images<C> = dev.try_tensor_from_vec(values, (n, h, w, Const::<C>))?;
    let mut layer = layer.clone();
    (0..draws)
        .map(|_| {
            let y = layer.try_forward_mut(x.clone())?;
            ndarray::Array4::from_shape_vec((n, h, w, C), y.as_vec())
                .map_err(|e| Error::Plot(format!("augmented image shape: {e}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cnnkit_nn::prelude::{
        DeviceBuildExt, Horizontal, RandomContrast, RandomFlip, RandomRotation, RandomZoom,
    };
    use ndarray::Array4;

    fn bars(n: usize, c: usize) -> Array4<f32> {
        Array4::from_shape_fn((n, 12, 10, c), |(i, r, col, ch)| {
            if (col + i) % 4 == 0 || r == 2 + ch {
                0.9
            } else {
                0.1
            }
        })
    }

    #[test]
    fn renders_rows_of_originals_and_versions_in_grey_and_colour() {
        type Augment = (RandomFlip<Horizontal>, RandomRotation<20>, RandomZoom<10>);
        let augment = Cpu::default().build_module::<Augment, f32>();
        for c in [1, 3] {
            let fig = augmented(&augment, &bars(4, c), 5).unwrap();
            let svg = fig.as_str();
            assert!(svg.starts_with("<svg"));
            assert_eq!(svg.matches("<image").count(), 4 * 6, "{c} channels");
            assert!(svg.contains(">원본</text>") && svg.contains(">증강 5</text>"));
            assert!(!svg.contains(">증강 6</text>"));
        }
        // The layer itself was not used: the same figure again.
        assert_eq!((augment.0.calls(), augment.1.calls()), (0, 0));
        assert_eq!(
            augmented(&augment, &bars(2, 1), 3).unwrap().as_str(),
            augmented(&augment, &bars(2, 1), 3).unwrap().as_str()
        );
    }

    #[test]
    fn the_versions_differ_from_the_original() {
        let layer = RandomRotation::<30>::default();
        let images = bars(2, 1);
        let versions = draw::<_, 1>(&layer, images.view(), 3).unwrap();
        assert_eq!(versions.len(), 3);
        for v in &versions {
            assert_eq!(v.dim(), images.dim());
            assert_ne!(v, &images);
        }
        assert_ne!(versions[0], versions[1]);
    }

    #[test]
    fn bad_input_gets_a_sentence() {
        let layer = RandomContrast::<20>::default();
        let err = |r: Result<Svg>| r.unwrap_err().to_string();
        assert!(err(augmented(&layer, &bars(2, 2), 3)).contains("grey (1 channel) or colour"));
        assert!(err(augmented(&layer, &bars(0, 1), 3)).contains("show 1 to 16"));
        assert!(err(augmented(&layer, &bars(20, 1), 3)).contains("show 1 to 16"));
        assert!(err(augmented(&layer, &bars(2, 1), 0)).contains("ask for 1 to 16"));
        let wrong = layer.with_value_range(1.0, 0.0);
        assert!(err(augmented(&wrong, &bars(2, 1), 2)).contains("value_range"));
    }
}
