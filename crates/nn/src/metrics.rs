//! Where a classifier goes wrong: a confusion matrix, accuracy per class, the indices of
//! the misclassified images, and the pairs of classes confused most often.
//!
//! The functions take the true labels as the data set holds them (`&[u8]`, Keras'
//! `y_test`) and the predictions as [`crate::train::predict_classes`] returns them
//! (`&[usize]`, Keras' `model.predict(X_test).argmax(axis=1)`); any unsigned integer
//! type that converts into `usize` works for either.
//!
//! | function | scikit-learn / NumPy equivalent |
//! |---|---|
//! | [`confusion_matrix`] | `sklearn.metrics.confusion_matrix(y_true, y_pred)` |
//! | [`accuracy`] | `(y_pred == y_true).mean()` |
//! | [`per_class_accuracy`] | `cm.diagonal() / cm.sum(axis=1)` (each class's recall) |
//! | [`misclassified`] | `np.flatnonzero(y_pred != y_true)` |
//! | [`top_confusions`] | the largest off-diagonal cells of `cm` |
//!
//! Introduced in `notebooks/06_fashion_mnist.ipynb`.
//!
//! # Semantic segmentation
//!
//! A segmentation model classifies every pixel, so its metrics come from the same
//! confusion matrix, counted over pixels instead of images:
//!
//! | function | definition | Keras equivalent |
//! |---|---|---|
//! | [`pixel_confusion_matrix`] | `cm[[t, p]]`: pixels of true class `t` predicted as `p` | `tf.math.confusion_matrix` on the flattened masks |
//! | [`pixel_accuracy`] | correct pixels / all pixels (the diagonal's share) | `accuracy` on the pixels |
//! | [`class_iou`] | `TP / (TP + FP + FN)` per class: `cm[c, c] / (row c + column c - cm[c, c])` | `keras.metrics.IoU` per class |
//! | [`mean_iou`] | the mean of `class_iou` over the classes present | `keras.metrics.MeanIoU(num_classes)` |
//!
//! A class is *present* when it occurs in the true masks or in the predictions (its union
//! is not empty). A class absent from both has no IoU (NaN in [`class_iou`]) and is left
//! out of [`mean_iou`], as in Keras' `MeanIoU`; a class that is predicted but absent from
//! the truth has IoU 0 and counts. The background (mask value 0 on the canvases of
//! `cnnkit_data::canvas`) is a class like the others; leave it out by averaging
//! `class_iou(&cm)[1..]` yourself.
//!
//! ```
//! use cnnkit_nn::metrics::{class_iou, mean_iou, pixel_accuracy, pixel_confusion_matrix};
//! let truth = ndarray::array![[0u8, 0, 1], [0, 1, 1]];
//! let predicted = ndarray::array![[0u8, 1, 1], [0, 1, 2]];
//! let cm = pixel_confusion_matrix(&truth, &predicted, 3)?;
//! assert_eq!(pixel_accuracy(&cm), 4.0 / 6.0);
//! // Class 0: 2 right of 3 true, none extra: 2/3. Class 1: 2 right, 1 extra, 1 missed: 2/4.
//! // Class 2: predicted once, never true: 0.
//! assert_eq!(class_iou(&cm), vec![2.0 / 3.0, 0.5, 0.0]);
//! assert!((mean_iou(&cm) - (2.0 / 3.0 + 0.5 + 0.0) / 3.0).abs() < 1e-6);
//! # Ok::<(), cnnkit_nn::Error>(())
//! ```
//!
//! ```
//! use cnnkit_nn::metrics::{confusion_matrix, misclassified, per_class_accuracy};
//! let y_true: Vec<u8> = vec![0, 0, 1, 1, 2, 2];
//! let y_pred: Vec<usize> = vec![0, 1, 1, 1, 2, 0];
//! let cm = confusion_matrix(&y_true, &y_pred, 3)?;
//! assert_eq!(cm, ndarray::array![[1, 1, 0], [0, 2, 0], [1, 0, 1]]);
//! assert_eq!(per_class_accuracy(&cm), vec![0.5, 1.0, 0.5]);
//! assert_eq!(misclassified(&y_true, &y_pred)?, vec![1, 5]);
//! # Ok::<(), cnnkit_nn::Error>(())
//! ```

use ndarray::{Array2, ArrayView, ArrayView2, AsArray, Dimension, Ix2};

use crate::error::{Error, Result};

/// Checks that two label lists have the same length.
fn same_len(y_true: usize, y_pred: usize) -> Result<()> {
    if y_true != y_pred {
        return Err(Error::invalid(
            "labels and predictions",
            format!(
                "{y_true} true labels but {y_pred} predictions; predict the same images whose \
                 labels you pass (e.g. `predict_classes(&model, &test)` with `test.labels`)"
            ),
        ));
    }
    Ok(())
}

/// Counts, for every pair of classes, how many images of true class `i` were predicted
/// as class `j`: `cm[[i, j]]`. The diagonal holds the correct predictions.
///
/// Rows are true classes and columns predicted classes, as in scikit-learn's
/// `confusion_matrix(y_true, y_pred)`; `cnnkit::plot::confusion_matrix` (crate `cnnkit-viz`) draws it.
///
/// # Shapes
/// `y_true`, `y_pred`: `n` labels each; result: `(n_classes, n_classes)`.
///
/// # Errors
/// [`Error::Invalid`] when the two lists differ in length or a label is not below
/// `n_classes`.
///
/// ```
/// let y_true = [9u8, 0, 0, 3];
/// let y_pred = [9usize, 0, 6, 3];
/// let cm = cnnkit_nn::metrics::confusion_matrix(&y_true, &y_pred, 10)?;
/// assert_eq!(cm.dim(), (10, 10));
/// assert_eq!((cm[[0, 0]], cm[[0, 6]], cm[[9, 9]]), (1, 1, 1));
/// assert_eq!(cm.sum(), 4);
/// assert!(cnnkit_nn::metrics::confusion_matrix(&y_true, &y_pred, 5).is_err()); // label 9
/// # Ok::<(), cnnkit_nn::Error>(())
/// ```
pub fn confusion_matrix<T, P>(y_true: &[T], y_pred: &[P], n_classes: usize) -> Result<Array2<usize>>
where
    T: Copy + Into<usize>,
    P: Copy + Into<usize>,
{
    same_len(y_true.len(), y_pred.len())?;
    if n_classes == 0 {
        return Err(Error::invalid(
            "n_classes",
            "a confusion matrix needs at least one class (Fashion-MNIST has 10)",
        ));
    }
    let mut cm = Array2::<usize>::zeros((n_classes, n_classes));
    for (i, (&t, &p)) in y_true.iter().zip(y_pred).enumerate() {
        let (t, p): (usize, usize) = (t.into(), p.into());
        if t >= n_classes || p >= n_classes {
            let (what, v) = if t >= n_classes {
                ("true label", t)
            } else {
                ("prediction", p)
            };
            return Err(Error::invalid(
                "labels and predictions",
                format!(
                    "the {what} of item {i} is {v}, but there are only {n_classes} classes \
                     (0..={}); pass the model's number of classes as n_classes",
                    n_classes - 1
                ),
            ));
        }
        cm[[t, p]] += 1;
    }
    Ok(cm)
}

/// The fraction of predictions equal to the true label (Keras' `accuracy` metric).
///
/// # Errors
/// [`Error::Invalid`] when the two lists differ in length or are empty.
///
/// ```
/// let acc = cnnkit_nn::metrics::accuracy(&[1u8, 2, 3, 4], &[1usize, 2, 3, 0])?;
/// assert_eq!(acc, 0.75);
/// # Ok::<(), cnnkit_nn::Error>(())
/// ```
pub fn accuracy<T, P>(y_true: &[T], y_pred: &[P]) -> Result<f32>
where
    T: Copy + Into<usize>,
    P: Copy + Into<usize>,
{
    same_len(y_true.len(), y_pred.len())?;
    if y_true.is_empty() {
        return Err(Error::invalid(
            "labels and predictions",
            "both are empty: accuracy needs at least one image",
        ));
    }
    let correct = y_true
        .iter()
        .zip(y_pred)
        .filter(|&(&t, &p)| t.into() == p.into())
        .count();
    Ok(correct as f32 / y_true.len() as f32)
}

/// The accuracy within each true class: the diagonal of a confusion matrix divided by
/// its row sums (scikit-learn calls it each class's *recall*). A class without any
/// image gets `NaN`.
///
/// # Shapes
/// `cm`: `(classes, classes)` with true classes as rows; result: `classes` values.
///
/// ```
/// let cm = ndarray::array![[8_usize, 2], [1, 9]];
/// assert_eq!(cnnkit_nn::metrics::per_class_accuracy(&cm), vec![0.8, 0.9]);
/// ```
pub fn per_class_accuracy<'a>(cm: impl AsArray<'a, usize, Ix2>) -> Vec<f32> {
    let cm: ArrayView2<'a, usize> = cm.into();
    cm.rows()
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            let total: usize = row.sum();
            let hit = row.get(i).copied().unwrap_or(0);
            if total == 0 {
                f32::NAN
            } else {
                hit as f32 / total as f32
            }
        })
        .collect()
}

/// The indices of the images whose prediction differs from the true label, in order.
///
/// Index the data set with them to look at the mistakes, e.g. with
/// `cnnkit::inspect::pick` and `cnnkit::plot::image_grid` (crate `cnnkit-viz`).
///
/// # Errors
/// [`Error::Invalid`] when the two lists differ in length.
///
/// ```
/// let wrong = cnnkit_nn::metrics::misclassified(&[0u8, 1, 2, 3], &[0usize, 2, 2, 1])?;
/// assert_eq!(wrong, vec![1, 3]);
/// # Ok::<(), cnnkit_nn::Error>(())
/// ```
pub fn misclassified<T, P>(y_true: &[T], y_pred: &[P]) -> Result<Vec<usize>>
where
    T: Copy + Into<usize>,
    P: Copy + Into<usize>,
{
    same_len(y_true.len(), y_pred.len())?;
    Ok(y_true
        .iter()
        .zip(y_pred)
        .enumerate()
        .filter(|&(_, (&t, &p))| t.into() != p.into())
        .map(|(i, _)| i)
        .collect())
}

/// The `k` largest off-diagonal cells of a confusion matrix, as
/// `(true class, predicted class, count)`, largest first (ties: lower true class first,
/// then lower predicted class). Cells with a zero count are left out.
///
/// # Shapes
/// `cm`: `(classes, classes)`.
///
/// ```
/// let cm = ndarray::array![[5_usize, 3, 0], [1, 6, 0], [0, 4, 2]];
/// assert_eq!(cnnkit_nn::metrics::top_confusions(&cm, 2), vec![(2, 1, 4), (0, 1, 3)]);
/// ```
pub fn top_confusions<'a>(
    cm: impl AsArray<'a, usize, Ix2>,
    k: usize,
) -> Vec<(usize, usize, usize)> {
    let cm: ArrayView2<'a, usize> = cm.into();
    let mut cells: Vec<(usize, usize, usize)> = cm
        .indexed_iter()
        .filter(|&((i, j), &n)| i != j && n > 0)
        .map(|((i, j), &n)| (i, j, n))
        .collect();
    cells.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
    cells.truncate(k);
    cells
}

/// Counts, over all pixels of all masks, how many of true class `t` were predicted as `p`:
/// `cm[[t, p]]`, rows true classes and columns predictions, as [`confusion_matrix`] does
/// for images.
///
/// # Shapes
/// `true_masks`, `predicted_masks`: the same shape, e.g. `(n, h, w)` (a `CanvasSet`'s
/// `masks()` and a segmentation model's predicted masks); result `(n_classes, n_classes)`.
///
/// # Errors
/// [`Error::Invalid`] when the shapes differ, `n_classes` is 0, or a value is not below
/// `n_classes`.
///
/// ```
/// let truth = ndarray::array![[[0u8, 3], [3, 3]]];
/// let predicted = ndarray::array![[[0u8, 3], [0, 3]]];
/// let cm = cnnkit_nn::metrics::pixel_confusion_matrix(&truth, &predicted, 11)?;
/// assert_eq!((cm[[0, 0]], cm[[3, 3]], cm[[3, 0]], cm.sum()), (1, 2, 1, 4));
/// let err = cnnkit_nn::metrics::pixel_confusion_matrix(&truth, &predicted, 3).unwrap_err();
/// assert!(err.to_string().contains("value 3"), "{err}");
/// # Ok::<(), cnnkit_nn::Error>(())
/// ```
pub fn pixel_confusion_matrix<'a, 'b, D: Dimension>(
    true_masks: impl AsArray<'a, u8, D>,
    predicted_masks: impl AsArray<'b, u8, D>,
    n_classes: usize,
) -> Result<Array2<usize>> {
    let truth: ArrayView<'a, u8, D> = true_masks.into();
    let predicted: ArrayView<'b, u8, D> = predicted_masks.into();
    if truth.shape() != predicted.shape() {
        return Err(Error::invalid(
            "masks",
            format!(
                "the true masks are {:?} but the predicted ones {:?}: predict the same images, \
                 one class per pixel",
                truth.shape(),
                predicted.shape()
            ),
        ));
    }
    if n_classes == 0 {
        return Err(Error::invalid(
            "n_classes",
            "a confusion matrix needs at least one class (the canvases' masks have 11)",
        ));
    }
    let mut cm = Array2::<usize>::zeros((n_classes, n_classes));
    for (&t, &p) in truth.iter().zip(predicted.iter()) {
        let (t, p) = (t as usize, p as usize);
        if t >= n_classes || p >= n_classes {
            let (what, v) = if t >= n_classes {
                ("true mask", t)
            } else {
                ("predicted mask", p)
            };
            return Err(Error::invalid(
                "masks",
                format!(
                    "the {what} holds the value {v}, but there are only {n_classes} classes \
                     (0..={}); pass the number of mask classes (11 for the canvases: \
                     background and ten items)",
                    n_classes - 1
                ),
            ));
        }
        cm[[t, p]] += 1;
    }
    Ok(cm)
}

/// The fraction of pixels predicted right: the diagonal of a pixel confusion matrix over
/// its sum (NaN for an empty matrix).
///
/// ```
/// let cm = ndarray::array![[6_usize, 2], [0, 2]];
/// assert_eq!(cnnkit_nn::metrics::pixel_accuracy(&cm), 0.8);
/// ```
pub fn pixel_accuracy<'a>(cm: impl AsArray<'a, usize, Ix2>) -> f32 {
    let cm: ArrayView2<'a, usize> = cm.into();
    let total: usize = cm.sum();
    let right: usize = cm.diag().sum();
    if total == 0 {
        f32::NAN
    } else {
        (right as f64 / total as f64) as f32
    }
}

/// The IoU of each class, `TP / (TP + FP + FN)`: the pixels of the class in both the truth
/// and the prediction, over the pixels of the class in either. NaN for a class absent
/// from both (see the [module documentation](self)).
///
/// # Shapes
/// `cm`: `(classes, classes)` with true classes as rows; result: `classes` values.
///
/// ```
/// let cm = ndarray::array![[5_usize, 1, 0], [1, 3, 0], [0, 0, 0]];
/// let iou = cnnkit_nn::metrics::class_iou(&cm);
/// // Class 0: 5 / (6 + 6 - 5); class 1: 3 / (4 + 4 - 3); class 2 never occurs.
/// assert_eq!((iou[0], iou[1]), (5.0 / 7.0, 3.0 / 5.0));
/// assert!(iou[2].is_nan());
/// ```
pub fn class_iou<'a>(cm: impl AsArray<'a, usize, Ix2>) -> Vec<f32> {
    let cm: ArrayView2<'a, usize> = cm.into();
    let (rows, cols) = cm.dim();
    (0..rows.max(cols))
        .map(|c| {
            let tp = cm.get((c, c)).copied().unwrap_or(0);
            let truth: usize = if c < rows { cm.row(c).sum() } else { 0 };
            let predicted: usize = if c < cols { cm.column(c).sum() } else { 0 };
            let union = truth + predicted - tp;
            if union == 0 {
                f32::NAN
            } else {
                (tp as f64 / union as f64) as f32
            }
        })
        .collect()
}

/// The mean of [`class_iou`] over the classes present (in the truth or the prediction),
/// Keras' `MeanIoU`; NaN when no class is present (an empty matrix).
///
/// ```
/// let cm = ndarray::array![[5_usize, 1, 0], [1, 3, 0], [0, 0, 0]];
/// let m = cnnkit_nn::metrics::mean_iou(&cm);
/// assert!((m - (5.0 / 7.0 + 3.0 / 5.0) / 2.0).abs() < 1e-7); // class 2 left out
/// ```
pub fn mean_iou<'a>(cm: impl AsArray<'a, usize, Ix2>) -> f32 {
    let present: Vec<f64> = class_iou(cm)
        .into_iter()
        .filter(|v| !v.is_nan())
        .map(f64::from)
        .collect();
    if present.is_empty() {
        f32::NAN
    } else {
        (present.iter().sum::<f64>() / present.len() as f64) as f32
    }
}
