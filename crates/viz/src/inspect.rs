//! Looking inside a trained CNN: a [`Conv2D`](cnnkit_nn::layers::Conv2D) layer's filters as
//! small images, the feature maps one image produces after a given layer, and helpers that
//! turn arrays into lists of 2-D images for [`crate::plot`]'s grids.
//!
//! | function | what it gives | Keras / NumPy equivalent |
//! |---|---|---|
//! | [`filter_weights`] | all weights of a conv layer, `(K, K, IN, OUT)` | `layer.get_weights()[0]` |
//! | [`filters`] | the `OUT` filters seen by one input channel, each `(K, K)` | `w[:, :, c, f]` |
//! | [`show_filters`] | those filters as a grid, blue negative, red positive | `plt.imshow(w[:, :, 0, f])` per filter |
//! | [`activations`] | the feature maps of one image after a layer (or a tuple of layers), `(H', W', OUT)` | `keras.Model(model.input, layer.output).predict(x[None])[0]` |
//! | [`strongest_channels`] | the feature maps with the largest mean activation | `maps.mean(axis=(0, 1)).argsort()[::-1][:k]` |
//! | [`channels`] | a `(H, W, C)` stack split into `C` images | `[maps[:, :, c] for c in range(C)]` |
//! | [`image()`] | one image of a data set, `(H, W, C)` | `X_test[i]` |
//! | [`pick`] | chosen images of an `(n, H, W, C)` batch, one channel | `[X[i, :, :, 0] for i in idx]` |
//! | [`mosaic`] | a `(H, W, C)` stack tiled into one 2-D image | the book's feature-map mosaics |
//!
//! Introduced in `notebooks/06_fashion_mnist.ipynb`.
//!
//! ```
//! use cnnkit_nn::prelude::*;
//! type Small = (Conv2D<1, 4, 3, 1, Same, Relu>, MaxPool2D<2>);
//! let model = Cpu::seed_from_u64(0).build_module::<Small, f32>();
//! let image = ndarray::Array3::<f32>::ones((8, 8, 1));
//! // After the convolution alone (model.0), then after convolution and pooling (model).
//! let conv_maps = cnnkit_viz::inspect::activations(&model.0, &image)?;
//! let pooled = cnnkit_viz::inspect::activations(&model, &image)?;
//! assert_eq!((conv_maps.dim(), pooled.dim()), ((8, 8, 4), (4, 4, 4)));
//! let fig = cnnkit_viz::inspect::show_filters(&model.0, 0, 4)?;
//! assert_eq!(fig.as_str().matches("<image").count(), 4);
//! # Ok::<(), cnnkit_viz::Error>(())
//! ```

use dfdx::nn::modules::Module;
use dfdx::prelude::*;
use image::{ImageBuffer, Luma};
use ndarray::{Array2, Array3, Array4, ArrayView2, ArrayView3, AsArray, Axis, Ix3};

use crate::error::{Error, Result};
use crate::plot::images::{grid_shape, tile};
use crate::plot::{image_grid_with, ImageOptions, Svg};
use cnnkit_nn::layers::Conv2DModule;
use cnnkit_nn::model::{summary, Describe, FeatureShape};
use cnnkit_nn::ops::Images;
use cnnkit_nn::train::Dataset;

/// Every weight of a convolution layer as an array in Keras' layout: `w[[r, c, i, f]]`
/// is row `r`, column `c` of filter `f` for input channel `i`.
///
/// # Shapes
/// A `Conv2D<IN, OUT, K, ..>` layer gives `(K, K, IN, OUT)`.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let conv = Cpu::seed_from_u64(0).build_module::<Conv2D<3, 8, 5>, f32>();
/// let w = cnnkit_viz::inspect::filter_weights(&conv);
/// assert_eq!(w.dim(), (5, 5, 3, 8));
/// assert_eq!(w[[0, 0, 0, 1]], conv.weight.as_vec()[1]);
/// ```
pub fn filter_weights<const IN: usize, const OUT: usize, const K: usize, const S: usize, P, A>(
    layer: &Conv2DModule<IN, OUT, K, S, P, A, f32, Cpu>,
) -> Array4<f32> {
    // `as_vec` reads in logical order, which is the layout of the shape (K, K, IN, OUT).
    Array4::from_shape_vec((K, K, IN, OUT), layer.weight.as_vec())
        .unwrap_or_else(|_| Array4::zeros((K, K, IN, OUT)))
}

/// The `OUT` filters of a convolution layer as they apply to input channel `in_channel`,
/// each a `K x K` image (for a first layer on grey images, `in_channel` is 0).
///
/// # Shapes
/// `OUT` arrays of `(K, K)`.
///
/// # Errors
/// [`cnnkit_nn::Error::Invalid`] when `in_channel` is not below the layer's `IN`.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let conv = Cpu::seed_from_u64(0).build_module::<Conv2D<1, 64, 7, 1, Same, Relu>, f32>();
/// let f = cnnkit_viz::inspect::filters(&conv, 0)?;
/// assert_eq!((f.len(), f[0].dim()), (64, (7, 7)));
/// assert!(cnnkit_viz::inspect::filters(&conv, 1).is_err());
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn filters<const IN: usize, const OUT: usize, const K: usize, const S: usize, P, A>(
    layer: &Conv2DModule<IN, OUT, K, S, P, A, f32, Cpu>,
    in_channel: usize,
) -> Result<Vec<Array2<f32>>> {
    if in_channel >= IN {
        return Err(Error::invalid(
            "in_channel",
            format!(
                "the layer has {IN} input channel(s), numbered 0..={}, but channel {in_channel} \
                 was asked for",
                IN - 1
            ),
        ));
    }
    let w = filter_weights(layer);
    let per_channel = w.index_axis(Axis(2), in_channel);
    Ok(per_channel
        .axis_iter(Axis(2))
        .map(|f| f.to_owned())
        .collect())
}

/// Shows a convolution layer's filters for one input channel as a grid of `cols`
/// columns, titled by filter number: blue negative, white zero, red positive. Each filter
/// is scaled on its own, symmetrically around zero (its largest absolute weight gets the
/// strongest colour), so that the pattern of a weak filter shows too; compare strengths
/// with the numbers from [`filters`].
///
/// # Errors
/// [`cnnkit_nn::Error::Invalid`] when `in_channel` is out of range or `cols` is 0.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let conv = Cpu::seed_from_u64(1).build_module::<Conv2D<1, 6, 3>, f32>();
/// let fig = cnnkit_viz::inspect::show_filters(&conv, 0, 3)?;
/// assert!(fig.as_str().contains(">5</text>"));
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn show_filters<const IN: usize, const OUT: usize, const K: usize, const S: usize, P, A>(
    layer: &Conv2DModule<IN, OUT, K, S, P, A, f32, Cpu>,
    in_channel: usize,
    cols: usize,
) -> Result<Svg> {
    let fs = filters(layer, in_channel)?;
    let views: Vec<ArrayView2<'_, f32>> = fs.iter().map(|f| f.view()).collect();
    let titles: Vec<String> = (0..fs.len()).map(|i| i.to_string()).collect();
    let opts = ImageOptions::filter().size(56);
    image_grid_with(&views, &titles, cols, &opts)
}

/// Runs one image through `layer` (a layer of a model, or a tuple of consecutive layers
/// such as `model.0`) and returns the feature maps it produces, without a gradient tape.
///
/// The result has the same `(height, width, channels)` layout as the input, so it can be
/// passed on to the next layer: `activations(&model.1, &activations(&model.0, &x)?)`.
///
/// # Shapes
/// `image`: `(H, W, C)` (one image of a data set: `data.images.index_axis(Axis(0), i)`);
/// result: `(H', W', O)`, the layer's output for that image.
///
/// Keras: `keras.Model(model.input, layer.output).predict(image[np.newaxis])[0]`.
///
/// # Errors
/// [`cnnkit_nn::Error::Invalid`] when the image's channel count is not the layer's `C`, and
/// [`cnnkit_nn::Error::Shape`] naming the layer when the image is too small for it (checked with
/// [`cnnkit_nn::model::summary`] before running).
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let conv = Cpu::seed_from_u64(0).build_module::<Conv2D<1, 2, 3, 2, Valid>, f32>();
/// let maps = cnnkit_viz::inspect::activations(&conv, &ndarray::Array3::<f32>::zeros((9, 9, 1)))?;
/// assert_eq!(maps.dim(), (4, 4, 2));
/// let err = cnnkit_viz::inspect::activations(&conv, &ndarray::Array3::<f32>::zeros((9, 9, 3)));
/// assert!(err.unwrap_err().to_string().contains("3 channels"));
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn activations<'a, M, const C: usize, const O: usize>(
    layer: &M,
    image: impl AsArray<'a, f32, Ix3>,
) -> Result<Array3<f32>>
where
    M: Describe + Module<Images<C>, Output = Images<O>, Error = CpuError>,
{
    let image: ArrayView3<'a, f32> = image.into();
    let (h, w, c) = image.dim();
    if c != C {
        return Err(Error::invalid(
            "image",
            format!(
                "it has {c} channels, shape ({h}, {w}, {c}), but the layer takes {C}; pass one \
                 image as (height, width, channels), or the output of the layer before"
            ),
        ));
    }
    summary(layer, FeatureShape::image(h, w, c))?;
    let dev = Cpu::default();
    let data: Vec<f32> = image.iter().copied().collect();
    let x: Images<C> = dev.try_tensor_from_vec(data, (1, h, w, Const::<C>))?;
    let y = layer.try_forward(x)?;
    let (_, oh, ow, _) = *y.shape();
    Array3::from_shape_vec((oh, ow, O), y.as_vec())
        .map_err(|e| Error::invalid("layer output", e.to_string()))
}

/// The `k` channels of a feature-map stack with the largest mean value, strongest first
/// (after a ReLU many maps of one image are almost empty; these are the busy ones).
///
/// # Shapes
/// `maps`: `(H, W, C)`; result: `min(k, C)` channel numbers.
///
/// ```
/// let maps = ndarray::Array3::from_shape_fn((2, 2, 4), |(_, _, c)| [0.1, 0.9, 0.0, 0.5][c]);
/// assert_eq!(cnnkit_viz::inspect::strongest_channels(&maps, 2), vec![1, 3]);
/// ```
pub fn strongest_channels<'a>(maps: impl AsArray<'a, f32, Ix3>, k: usize) -> Vec<usize> {
    let maps: ArrayView3<'a, f32> = maps.into();
    let mut means: Vec<(usize, f32)> = maps
        .axis_iter(Axis(2))
        .enumerate()
        .map(|(c, m)| (c, m.mean().unwrap_or(0.0)))
        .collect();
    means.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    means.into_iter().take(k).map(|(c, _)| c).collect()
}

/// Image `index` of a data set as a `(H, W, C)` view (no copy): the input of
/// [`activations`], or, with [`channels`], of [`crate::plot::image_grid`].
///
/// # Shapes
/// `data.images`: `(n, H, W, C)`; result: `(H, W, C)`.
///
/// Keras / NumPy: `X_test[index]`.
///
/// # Errors
/// [`cnnkit_nn::Error::Invalid`] when `index` is not below the number of images.
///
/// ```
/// let data = cnnkit_nn::train::toy_bars(4, 0);
/// let x = cnnkit_viz::inspect::image(&data, 3)?;
/// assert_eq!(x.dim(), (6, 6, 1));
/// assert!(cnnkit_viz::inspect::image(&data, 4).is_err());
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn image<const C: usize>(data: &Dataset<C>, index: usize) -> Result<ArrayView3<'_, f32>> {
    let n = data.len();
    if index >= n {
        return Err(Error::invalid(
            "image index",
            format!(
                "{index} is out of range: the data set holds {n} images (0..={})",
                n.max(1) - 1
            ),
        ));
    }
    Ok(data.images.index_axis(Axis(0), index))
}

/// Splits a feature-map stack into its channels, one 2-D view each (no copy), ready for
/// [`crate::plot::image_grid`].
///
/// # Shapes
/// `maps`: `(H, W, C)`; result: `C` views of `(H, W)`.
///
/// ```
/// let maps = ndarray::Array3::<f32>::zeros((5, 4, 3));
/// let views = cnnkit_viz::inspect::channels(maps.view());
/// assert_eq!((views.len(), views[0].dim()), (3, (5, 4)));
/// ```
pub fn channels<'a>(maps: ArrayView3<'a, f32>) -> Vec<ArrayView2<'a, f32>> {
    (0..maps.dim().2)
        .map(move |k| maps.index_axis_move(Axis(2), k))
        .collect()
}

/// Views of the images at `indices` in an `(n, H, W, C)` batch (a [`cnnkit_nn::train::Dataset`]'s
/// `images`), channel 0 of each: what [`crate::plot::image_grid`] takes.
///
/// # Shapes
/// `images`: `(n, H, W, C)`; result: `indices.len()` views of `(H, W)`.
///
/// # Errors
/// [`cnnkit_nn::Error::Invalid`] when an index is not below `n`.
///
/// ```
/// let images = ndarray::Array4::<f32>::zeros((10, 28, 28, 1));
/// let views = cnnkit_viz::inspect::pick(&images, &[0, 3, 9])?;
/// assert_eq!((views.len(), views[2].dim()), (3, (28, 28)));
/// assert!(cnnkit_viz::inspect::pick(&images, &[10]).is_err());
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn pick<'a>(images: &'a Array4<f32>, indices: &[usize]) -> Result<Vec<ArrayView2<'a, f32>>> {
    let (n, _, _, c) = images.dim();
    if c == 0 {
        return Err(Error::invalid("images", "they have no channel"));
    }
    indices
        .iter()
        .map(|&i| {
            if i < n {
                Ok(images.index_axis(Axis(0), i).index_axis_move(Axis(2), 0))
            } else {
                Err(Error::invalid(
                    "image index",
                    format!(
                        "{i} is out of range: there are {n} images (0..={})",
                        n.max(1) - 1
                    ),
                ))
            }
        })
        .collect()
}

/// Tiles the channels of a feature-map stack into one 2-D image of `cols` columns, each
/// tile scaled on its own to `0..1` (a constant tile becomes 0), separated by one-pixel
/// lines of value 1 (white with [`crate::plot::ImageOptions::unit`]). Unused tiles of the
/// last row are 1 as well.
///
/// # Shapes
/// `maps`: `(H, W, C)`; result: `(rows * (H + 1) - 1, cols * (W + 1) - 1)` with
/// `rows = ceil(C / cols)` (and `cols` lowered to `C` if larger).
///
/// # Errors
/// [`cnnkit_nn::Error::Invalid`] when `cols` is 0 or the stack has no channel or no pixel.
///
/// ```
/// let maps = ndarray::Array3::from_shape_fn((2, 3, 5), |(r, c, k)| (r + c + k) as f32);
/// let m = cnnkit_viz::inspect::mosaic(&maps, 2)?;
/// assert_eq!(m.dim(), (3 * 3 - 1, 2 * 4 - 1));
/// assert_eq!((m[[0, 0]], m[[1, 2]], m[[0, 3]]), (0.0, 1.0, 1.0)); // tile min, tile max, gap
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn mosaic<'a>(maps: impl AsArray<'a, f32, Ix3>, cols: usize) -> Result<Array2<f32>> {
    let maps: ArrayView3<'a, f32> = maps.into();
    let (h, w, c) = maps.dim();
    let shape = grid_shape(c, cols)?;
    if c == 0 || h == 0 || w == 0 {
        return Err(Error::invalid(
            "feature maps",
            format!("shape ({h}, {w}, {c}) is empty; expected (H, W, C) with all three >= 1"),
        ));
    }
    let tiles: Vec<ImageBuffer<Luma<f32>, Vec<f32>>> = maps
        .axis_iter(Axis(2))
        .map(|map| {
            let (lo, hi) = map
                .iter()
                .filter(|v| v.is_finite())
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                    (lo.min(v), hi.max(v))
                });
            let span = hi - lo;
            ImageBuffer::from_fn(w as u32, h as u32, |x, y| {
                let v = map[[y as usize, x as usize]];
                Luma([if span > 0.0 && v.is_finite() {
                    (v - lo) / span
                } else {
                    0.0
                }])
            })
        })
        .collect();
    let out = tile(&tiles, shape, 1, 0, Luma([1.0]));
    let dim = (out.height() as usize, out.width() as usize);
    Array2::from_shape_vec(dim, out.into_raw()).map_err(|e| Error::invalid("mosaic", e.to_string()))
}
