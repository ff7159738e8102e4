//! # cnnkit-homework
//!
//! Checkers for the homework notebooks in `notebooks/exercises/` (`cnnkit::exercises` in
//! a notebook).
//!
//! Each exercise gives the student a function whose body is a placeholder that returns
//! `None`; a check cell passes that function to a checker here, which runs it on test
//! cases and returns a [`Verdict`]: correct (`정답입니다!`), not done yet (`아직 풀지
//! 않았습니다`: the function still returns `None`), or wrong, with what is wrong. Checkers
//! never panic: a panic inside the student's function becomes a wrong verdict with its
//! message, so the rest of the notebook keeps running.
//!
//! | notebook | checkers |
//! |---|---|
//! | `ex01_cnn_arithmetic.ipynb` | [`check_output_size`], [`check_total_params`], [`check_inference_memory`], [`check_training_memory`] |
//! | `ex02_conv2d_by_hand.ipynb` | [`check_conv2d`] |
//! | `ex03_pooling_by_hand.ipynb` | [`check_max_pool2d`], [`check_depthwise_max_pool`] |
//! | `ex04_custom_filter.ipynb` | [`check_diagonal_filter`], [`check_apply_filter`] |
//! | `ex05_fashion_mnist_cnn.ipynb` | [`check_fashion_cnn`] (goal: [`fashion_goal`]) |
//! | `ex06_residual_unit.ipynb` | [`check_residual_unit_part`] (one [`UnitPart`] per check cell; all at once: [`check_residual_unit`]), [`check_inception`] |
//! | `ex07_transfer_learning.ipynb` | [`check_few_shot`], [`check_frozen_model`], [`check_transfer`] (goal: [`transfer_goal`]) |
//! | `ex08_detection.ipynb` | [`check_iou`], [`check_nms`], [`check_transposed_output_size`] |
//!
//! In exercise 6 the answer is a model type rather than a function: the placeholder is the
//! layer [`Todo`], and a type that still contains it is not done yet.
//!
//! A notebook needs `use cnnkit::prelude::*;` and `use cnnkit::exercises::*;`; the second
//! also brings the `ndarray` types the exercises use ([`Array1`], [`Array2`], [`Array4`],
//! the [`s!`] macro).
//!
//! ```
//! use cnnkit_homework::*;
//! // A student's answer that is still the placeholder:
//! fn total_params() -> Option<u64> {
//!     None
//! }
//! assert!(check_total_params(total_params).is_not_done());
//! ```
//!
//! Grading with nbgrader: see [`is_grading`] and `docs/instructors.md`.

#![warn(missing_docs)]

mod conv;
mod detection;
mod fashion;
mod filter;
mod memory;
mod placeholder;
mod pool;
mod residual;
mod transfer;
mod verdict;

pub use conv::check_conv2d;
pub use detection::{check_iou, check_nms, check_transposed_output_size};
pub use fashion::{
    check_fashion_cnn, check_fashion_cnn_with, fashion_goal, FashionGoal, ReferenceCnn, FULL_GOAL,
    QUICK_GOAL, REFERENCE_EPOCHS, REFERENCE_IMAGES,
};
pub use filter::{
    check_apply_filter, check_diagonal_filter, filter_responses, test_pattern, Pattern,
    PATTERN_SIZE,
};
pub use memory::{
    check_inference_memory, check_output_size, check_total_params, check_training_memory, BOOK_CNN,
};
pub use placeholder::Todo;
pub use pool::{check_depthwise_max_pool, check_max_pool2d};
pub use residual::{
    check_inception, check_inception_part, check_residual_unit, check_residual_unit_part,
    ForwardOutput, LayerModel, UnitPart,
};
pub use transfer::{
    check_few_shot, check_few_shot_with, check_frozen_model, check_transfer, check_transfer_with,
    transfer_goal, TransferGoal, POOL_IMAGES, TRANSFER_FULL_GOAL, TRANSFER_QUICK_GOAL,
};
pub use verdict::{
    is_grading, Credit, Verdict, CORRECT_PHRASE, GRADING_ENV, GRADING_EXIT_CODE, NOT_DONE_PHRASE,
    POINTS_PREFIX, WRONG_PHRASE,
};

/// `ndarray` itself, for items not re-exported below (`ndarray::Axis`, `ndarray::Zip`, ...).
use cnnkit_viz::{Error, Result};

pub use ndarray;
/// `ndarray`'s array types and slicing macro, as the exercises use them.
pub use ndarray::{array, s, Array1, Array2, Array3, Array4, ArrayView2};

use dfdx::nn::modules::BuildOnDevice;
use dfdx::tensor::Cpu;

/// The type `dev.build_module::<M, f32>()` returns for a model description `M` on the CPU:
/// what a student's training function returns in `ex05_fashion_mnist_cnn.ipynb`.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// use cnnkit_homework::Built;
/// type Tiny = (Flatten, Dense<784, 10>);
/// let model: Built<Tiny> = Cpu::default().build_module::<Tiny, f32>();
/// # let _ = model;
/// ```
pub type Built<M> = <M as BuildOnDevice<Cpu, f32>>::Built;

/// Tolerance of a value comparison: `|a - b| <= ABS_TOL + REL_TOL * |b|`.
pub(crate) const ABS_TOL: f32 = 1e-4;
/// See [`ABS_TOL`].
pub(crate) const REL_TOL: f32 = 1e-4;

/// True when `actual` matches `expected` within [`ABS_TOL`] and [`REL_TOL`].
pub(crate) fn close(actual: f32, expected: f32) -> bool {
    (actual - expected).abs() <= ABS_TOL + REL_TOL * expected.abs()
}

/// Formats a shape as `(2, 7, 9, 3)`.
pub(crate) fn shape_str(shape: &[usize]) -> String {
    let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("({})", parts.join(", "))
}

/// Compares a student's array with the expected one: `None` when they match, otherwise a
/// Korean description of the problem (the shapes, or the first position that differs with
/// both values).
pub(crate) fn compare_arrays(
    actual: &ndarray::ArrayD<f32>,
    expected: &ndarray::ArrayD<f32>,
    axes: &str,
) -> Option<String> {
    if actual.shape() != expected.shape() {
        return Some(format!(
            "출력의 모양(shape)이 {}이어야 하는데 {}입니다.",
            shape_str(expected.shape()),
            shape_str(actual.shape())
        ));
    }
    for ((index, &e), &a) in expected.indexed_iter().zip(actual.iter()) {
        if !close(a, e) || a.is_nan() {
            let at: Vec<String> = ndarray::Dimension::slice(&index)
                .iter()
                .map(|i| i.to_string())
                .collect();
            return Some(format!(
                "첫 번째로 다른 위치 [{}] ({axes}): 기대값 {e:.5}, 여러분의 값 {a:.5}.",
                at.join(", ")
            ));
        }
    }
    None
}

/// An NHWC array as the tensor the crate's ops take (`C` channels).
pub(crate) fn images_tensor<const C: usize>(
    x: &ndarray::Array4<f32>,
) -> Result<cnnkit_nn::ops::Images<C>> {
    use dfdx::tensor::{Cpu, TensorFromVec};
    let (n, h, w, _) = x.dim();
    Ok(Cpu::default().try_tensor_from_vec(
        x.iter().copied().collect(),
        (n, h, w, dfdx::shapes::Const::<C>),
    )?)
}

/// A reference op's NHWC output tensor as an array.
pub(crate) fn images_array<const C: usize>(
    y: cnnkit_nn::ops::Images<C>,
) -> Result<ndarray::Array4<f32>> {
    use dfdx::shapes::HasShape;
    let (n, h, w, _) = *y.shape();
    ndarray::Array4::from_shape_vec((n, h, w, C), y.as_vec())
        .map_err(|e| Error::invalid("reference output", e.to_string()))
}

/// An array of `shape` holding seeded uniform values in `-1..1`, row by row: the inputs of
/// the checkers' random test cases.
pub(crate) fn random_array<Sh: ndarray::IntoDimension>(
    seed: u64,
    shape: Sh,
) -> ndarray::Array<f32, Sh::Dim> {
    use ndarray::Dimension;
    use rand::{Rng, SeedableRng};
    let shape = shape.into_dimension();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let values = (0..shape.size())
        .map(|_| rng.gen_range(-1.0f32..1.0))
        .collect();
    // The number of values is the shape's size, so this cannot fail.
    ndarray::Array::from_shape_vec(shape.clone(), values)
        .unwrap_or_else(|_| ndarray::Array::zeros(shape))
}
