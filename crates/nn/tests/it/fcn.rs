//! A classifier turned into a fully convolutional network, the windows it is trained on,
//! its grid decoded into detections, and the box weights of localization training.

use cnnkit_data::canvas::{BoxFormat, CanvasConfig, CanvasSet};
use cnnkit_data::Split;
use cnnkit_nn::detection::windows::{
    fcn_outputs, grid_detections, window_data, WindowGrid, WindowSampling, BACKGROUND,
};
use cnnkit_nn::prelude::*;
use cnnkit_nn::train::{
    evaluate_grid, fit_grid, fit_localization, GridData, LocalizationData, LossWeights,
};
use ndarray::{s, Array3, Array4};
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::common::{assert_close, random_vec};

// Valid convolutions and 2 x 2 pools: 16 -> 14 -> 7 -> 5 -> 2 (the pool drops the odd
// row), so the network's total stride is 4 and one output cell covers a 16 x 16 window.
type Base = (
    Conv2D<1, 3, 3, 1, Valid, Relu>,
    MaxPool2D<2>,
    Conv2D<3, 4, 3, 1, Valid, Relu>,
    MaxPool2D<2>,
);
type Classifier = (
    Base,
    Flatten,
    Dense<16, 6, Relu>,
    Heads<Dense<6, 5>, Dense<6, 4>>,
);
type Fcn = (
    Base,
    Conv2D<4, 6, 2, 1, Valid, Relu>,
    Heads<Conv2D<6, 5, 1>, Conv2D<6, 4, 1>>,
);

/// The FCN with the classifier's weights: the base as it is, the dense layers as
/// convolutions (as a notebook does it: build, then replace the layers).
fn convert(classifier: &ClassifierParts) -> <Fcn as dfdx::nn::BuildOnDevice<Cpu, f32>>::Built {
    let (base, _, dense, heads) = classifier.clone();
    let mut fcn = Cpu::seed_from_u64(99).build_module::<Fcn, f32>();
    fcn.0 = base;
    fcn.1 = dense.to_conv2d::<4, 2>().unwrap();
    fcn.2.first = heads.first.to_conv2d::<6, 1>().unwrap();
    fcn.2.second = heads.second.to_conv2d::<6, 1>().unwrap();
    fcn
}

type ClassifierParts = <Classifier as dfdx::nn::BuildOnDevice<Cpu, f32>>::Built;

#[test]
fn the_converted_network_gives_every_window_the_classifiers_answer() {
    let dev = Cpu::seed_from_u64(3);
    let classifier = dev.build_module::<Classifier, f32>();
    let fcn = convert(&classifier);
    let (h, w) = (28, 24); // (28 - 16) / 4 + 1 = 4 rows, (24 - 16) / 4 + 1 = 3 columns
    let mut rng = StdRng::seed_from_u64(7);
    let canvas = Array4::from_shape_vec((2, h, w, 1), random_vec(&mut rng, 2 * h * w)).unwrap();
    let (logits, boxes) = fcn_outputs(&fcn, &Dataset::unlabeled(canvas.clone()).unwrap()).unwrap();
    let grid = WindowGrid::new(16, 4).unwrap();
    assert_eq!(grid.cells(h, w).unwrap(), (4, 3));
    assert_eq!(logits.dim(), (2, 4, 3, 5));
    assert_eq!(boxes.dim(), (2, 4, 3, 4));
    for i in 0..2 {
        for r in 0..4 {
            for c in 0..3 {
                let crop = canvas
                    .slice(s![i..i + 1, 4 * r..4 * r + 16, 4 * c..4 * c + 16, ..])
                    .to_owned();
                let x: Images<1> =
                    dev.tensor_from_vec(crop.iter().copied().collect(), (1, 16, 16, Const::<1>));
                let (l, b) = classifier.forward(x);
                let at = format!("canvas {i}, window ({r}, {c})");
                let got_l: Vec<f32> = logits.slice(s![i, r, c, ..]).to_vec();
                let got_b: Vec<f32> = boxes.slice(s![i, r, c, ..]).to_vec();
                assert_close(&got_l, &l.as_vec(), 1e-5, &format!("logits, {at}"));
                assert_close(&got_b, &b.as_vec(), 1e-5, &format!("boxes, {at}"));
            }
        }
    }
}

#[test]
fn a_dense_layer_whose_inputs_are_no_window_is_refused_with_the_sizes() {
    let dense = Cpu::seed_from_u64(0).build_module::<Dense<16, 6>, f32>();
    let err = dense.to_conv2d::<4, 3>().unwrap_err().to_string();
    assert!(err.contains("16 inputs") && err.contains("36"), "{err}");
}

/// One 10 x 10 white square of class 2 pasted with its frame at (x, y) on a 40 x 40 canvas.
fn one_square() -> CanvasSet {
    let mut item = vec![0u8; 784];
    for r in 9..19 {
        for c in 9..19 {
            item[r * 28 + c] = 255;
        }
    }
    let split = Split::new(item, vec![2]).unwrap();
    CanvasSet::from_split(&split, 1, &CanvasConfig::default().size(40, 40).seed(5)).unwrap()
}

#[test]
fn windows_are_labelled_by_the_distance_of_their_centre_to_the_objects_centre() {
    let set = one_square();
    let bbox = set.objects()[0][0].bbox;
    assert_eq!((bbox.width(), bbox.height()), (10, 10));
    let (cx, cy) = (
        (bbox.x_min + bbox.x_max) as f32 / 2.0,
        (bbox.y_min + bbox.y_max) as f32 / 2.0,
    );
    let grid = WindowGrid::new(16, 2).unwrap();
    let sampling = WindowSampling {
        background_per_canvas: 1000, // every background window
        ..WindowSampling::default()
    };
    let data = window_data(&set, &grid, &sampling).unwrap();
    let (rows, cols) = grid.cells(40, 40).unwrap();
    // Recount by hand: windows at (2c, 2r), centre (2c + 8, 2r + 8).
    let (mut positives, mut background) = (vec![], 0);
    for r in 0..rows {
        for c in 0..cols {
            let (wx, wy) = ((2 * c + 8) as f32, (2 * r + 8) as f32);
            let d = (wx - cx).abs().max((wy - cy).abs());
            if d <= 4.0 {
                positives.push((r, c));
            } else if d > 8.0 {
                background += 1;
            }
        }
    }
    let labels = &data.data.labels;
    assert_eq!(labels.iter().filter(|&&l| l == 2).count(), positives.len());
    assert_eq!(
        labels.iter().filter(|&&l| l == BACKGROUND).count(),
        background
    );
    assert_eq!(labels.len(), positives.len() + background);
    // The first positive window is (r, c) = positives[0]: its crop holds the square where
    // the target box says, and the target is the box in window coordinates / 16.
    let (r, c) = positives[0];
    let target = data.boxes[0];
    let expected = [
        ((bbox.x_min as f32 - 2.0 * c as f32) / 16.0).clamp(0.0, 1.0),
        ((bbox.y_min as f32 - 2.0 * r as f32) / 16.0).clamp(0.0, 1.0),
        ((bbox.x_max as f32 - 2.0 * c as f32) / 16.0).clamp(0.0, 1.0),
        ((bbox.y_max as f32 - 2.0 * r as f32) / 16.0).clamp(0.0, 1.0),
    ];
    assert_eq!(target, expected);
    let crop = data.data.images.slice(s![0, .., .., 0]);
    let (x0, y0) = ((expected[0] * 16.0) as usize, (expected[1] * 16.0) as usize);
    assert_eq!(crop[[y0, x0]], 1.0);
    assert_eq!(data.box_weights.as_ref().unwrap()[0], 1.0);
}

#[test]
fn window_sampling_with_crossed_offsets_is_refused() {
    let sampling = WindowSampling {
        positive_offset: 9.0,
        ..WindowSampling::default()
    };
    let err = window_data(&one_square(), &WindowGrid::new(16, 2).unwrap(), &sampling)
        .unwrap_err()
        .to_string();
    assert!(err.contains("positive_offset <= negative_offset"), "{err}");
}

#[test]
fn grid_detections_move_boxes_to_the_canvas_and_skip_background_and_weak_cells() {
    // 2 x 2 grid of 3 classes, background 2, windows of 8 every 4 pixels.
    let mut logits = Array4::<f32>::zeros((1, 2, 2, 3));
    logits
        .slice_mut(s![0, 0, 0, ..])
        .assign(&ndarray::arr1(&[5.0, 0.0, 0.0])); // class 0, p = 0.987
    logits
        .slice_mut(s![0, 0, 1, ..])
        .assign(&ndarray::arr1(&[0.0, 0.0, 5.0])); // background
    logits
        .slice_mut(s![0, 1, 0, ..])
        .assign(&ndarray::arr1(&[0.1, 0.0, 0.0])); // weak: p = 0.35
    logits
        .slice_mut(s![0, 1, 1, ..])
        .assign(&ndarray::arr1(&[0.0, 3.0, 0.0])); // class 1
    let mut boxes = Array4::<f32>::zeros((1, 2, 2, 4));
    for r in 0..2 {
        for c in 0..2 {
            boxes
                .slice_mut(s![0, r, c, ..])
                .assign(&ndarray::arr1(&[0.25, 0.0, 0.75, 1.0]));
        }
    }
    let grid = WindowGrid::new(8, 4).unwrap();
    let found = grid_detections(logits.view(), boxes.view(), &grid, 2, 0.5).unwrap();
    assert_eq!(found.len(), 1);
    let got: Vec<(usize, [f32; 4])> = found[0]
        .iter()
        .map(|d| (d.class, d.bbox.to_array(BoxFormat::Corners)))
        .collect();
    assert_eq!(
        got,
        vec![(0, [2.0, 0.0, 6.0, 8.0]), (1, [6.0, 4.0, 10.0, 12.0])]
    );
    let p0 = 5f32.exp() / (5f32.exp() + 2.0);
    assert!((found[0][0].score - p0).abs() < 1e-6);
    let err = grid_detections(
        logits.view(),
        boxes.slice(s![.., ..1, .., ..]),
        &grid,
        2,
        0.5,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("(n, rows, cols, 4)"), "{err}");
    assert!(grid_detections(logits.view(), boxes.view(), &grid, 3, 0.5).is_err());
}

type Tiny = (Flatten, Heads<Dense<16, 2>, Dense<16, 4>>);

fn tiny_data() -> LocalizationData<1> {
    let mut rng = StdRng::seed_from_u64(1);
    let images = Array4::from_shape_vec((8, 4, 4, 1), random_vec(&mut rng, 128)).unwrap();
    let labels = (0..8).map(|i| (i % 2) as u8).collect();
    LocalizationData::new(
        Dataset::new(images, labels).unwrap(),
        vec![[0.1, 0.2, 0.6, 0.9]; 8],
    )
    .unwrap()
}

#[test]
fn a_box_weight_of_zero_leaves_the_box_head_untrained_and_out_of_the_iou() {
    let cfg = FitConfig {
        epochs: 2,
        batch_size: 4,
        verbose: false,
        ..FitConfig::default()
    };
    let train = |weights: Vec<f32>| {
        let mut model = Cpu::seed_from_u64(0).build_module::<Tiny, f32>();
        let before = model.1.second.weight.as_vec();
        let data = tiny_data().with_box_weights(weights).unwrap();
        let history =
            fit_localization(&mut model, &data, Some(&data), &cfg, LossWeights::default()).unwrap();
        (before, model.1.second.weight.as_vec(), history)
    };
    let (before, after, history) = train(vec![0.0; 8]);
    assert_eq!(
        before, after,
        "no box counts, so the box head gets no gradient"
    );
    assert_eq!(history.series("val_box_loss"), vec![0.0, 0.0]);
    let (before, after, _) = train(vec![1.0; 8]);
    assert_ne!(before, after);
    // Half the boxes weighted: the IoU is the mean over those four only.
    let (_, _, half) = train(vec![1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0]);
    let mut model = Cpu::seed_from_u64(0).build_module::<Tiny, f32>();
    let data = tiny_data();
    let _ = fit_localization(
        &mut model,
        &data
            .clone()
            .with_box_weights(vec![1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0])
            .unwrap(),
        None,
        &cfg,
        LossWeights::default(),
    )
    .unwrap();
    let (_, predicted) = cnnkit_nn::train::predict_localization(&model, &data.data).unwrap();
    let ious: Vec<f32> = (0..8)
        .step_by(2)
        .map(|i| {
            let p = predicted.row(i);
            cnnkit_nn::detection::iou([p[0], p[1], p[2], p[3]], data.boxes[i])
        })
        .collect();
    let mean = ious.iter().sum::<f32>() / 4.0;
    let last = *half.series("val_iou").last().unwrap();
    assert!(
        (last - mean).abs() < 1e-5,
        "val_iou {last}, mean over the weighted boxes {mean}"
    );
}

// A grid detector: 12 x 12 images, one 7 x 7 valid convolution, a 6 x 6 grid.
type GridNet = (
    Conv2D<1, 4, 7, 1, Valid, Relu>,
    Heads<Conv2D<4, 3, 1>, Conv2D<4, 4, 1>>,
);

fn grid_data(class_of_ignored: u8) -> GridData<1> {
    let mut rng = StdRng::seed_from_u64(4);
    let images = Array4::from_shape_vec((4, 12, 12, 1), random_vec(&mut rng, 4 * 144)).unwrap();
    let mut classes = Array3::<u8>::zeros((4, 6, 6));
    let mut class_weights = Array3::<f32>::ones((4, 6, 6));
    let mut box_weights = Array3::<f32>::zeros((4, 6, 6));
    for i in 0..4 {
        for r in 0..6 {
            for c in 0..6 {
                classes[[i, r, c]] = ((r + c + i) % 3) as u8;
                box_weights[[i, r, c]] = if classes[[i, r, c]] == 2 { 0.0 } else { 1.0 };
            }
        }
        // One ignored cell per image: its class must not matter.
        classes[[i, 0, 0]] = class_of_ignored;
        class_weights[[i, 0, 0]] = 0.0;
        box_weights[[i, 0, 0]] = 0.0;
    }
    let boxes = Array4::from_elem((4, 6, 6, 4), 0.25);
    GridData::new(
        Dataset::unlabeled(images).unwrap(),
        classes,
        class_weights,
        boxes,
        box_weights,
    )
    .unwrap()
}

#[test]
fn grid_training_ignores_the_cells_of_weight_zero_and_its_metrics_are_the_cells() {
    let cfg = FitConfig {
        epochs: 3,
        batch_size: 2,
        verbose: false,
        ..FitConfig::default()
    };
    let run = |ignored: u8| {
        let mut model = Cpu::seed_from_u64(0).build_module::<GridNet, f32>();
        let data = grid_data(ignored);
        let h = fit_grid(&mut model, &data, None, &cfg, LossWeights::default()).unwrap();
        (model, h)
    };
    let (a, ha) = run(0);
    let (b, hb) = run(1);
    assert_eq!(ha.series("loss"), hb.series("loss"));
    assert_eq!(a.0.weight.as_vec(), b.0.weight.as_vec());
    let first = ha.series("loss");
    assert!(first.last() < first.first(), "the loss falls: {first:?}");
    // The evaluation recounted by hand from the model's outputs.
    let data = grid_data(0);
    let eval = evaluate_grid(&a, &data, LossWeights::default()).unwrap();
    let (logits, boxes) = fcn_outputs(&a, &data.data).unwrap();
    let (mut correct, mut counted, mut ce, mut iou_sum, mut boxed) = (0, 0, 0.0f64, 0.0f64, 0);
    for i in 0..4 {
        for r in 0..6 {
            for c in 0..6 {
                if data.class_weights[[i, r, c]] > 0.0 {
                    let z: Vec<f32> = logits.slice(s![i, r, c, ..]).to_vec();
                    let t = data.classes[[i, r, c]] as usize;
                    let lse = z.iter().map(|v| v.exp()).sum::<f32>().ln();
                    ce += (lse - z[t]) as f64;
                    let best = (0..3).max_by(|&p, &q| z[p].total_cmp(&z[q])).unwrap();
                    correct += usize::from(best == t);
                    counted += 1;
                }
                if data.box_weights[[i, r, c]] > 0.0 {
                    let p = boxes.slice(s![i, r, c, ..]);
                    iou_sum +=
                        cnnkit_nn::detection::iou([p[0], p[1], p[2], p[3]], [0.25; 4]) as f64;
                    boxed += 1;
                }
            }
        }
    }
    assert_eq!(counted, 4 * 35);
    assert!((eval.accuracy - correct as f32 / counted as f32).abs() < 1e-6);
    assert!((eval.class_loss as f64 - ce / counted as f64).abs() < 1e-4);
    assert!((eval.mean_iou as f64 - iou_sum / boxed as f64).abs() < 1e-5);
}

#[test]
fn grid_targets_of_another_grid_size_are_refused_with_both_sizes() {
    let mut model = Cpu::seed_from_u64(0).build_module::<GridNet, f32>();
    let mut rng = StdRng::seed_from_u64(4);
    let images = Array4::from_shape_vec((1, 14, 14, 1), random_vec(&mut rng, 196)).unwrap();
    let data = GridData::new(
        Dataset::unlabeled(images).unwrap(),
        Array3::zeros((1, 6, 6)),
        Array3::ones((1, 6, 6)),
        Array4::zeros((1, 6, 6, 4)),
        Array3::ones((1, 6, 6)),
    )
    .unwrap();
    let err = fit_grid(
        &mut model,
        &data,
        None,
        &FitConfig::default(),
        LossWeights::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("(8, 8)") && err.contains("(6, 6)"), "{err}");
    let bad = GridData::<1>::new(
        Dataset::unlabeled(Array4::zeros((1, 12, 12, 1))).unwrap(),
        Array3::zeros((1, 6, 6)),
        Array3::ones((1, 6, 5)),
        Array4::zeros((1, 6, 6, 4)),
        Array3::ones((1, 6, 6)),
    );
    assert!(bad.unwrap_err().to_string().contains("(n, rows, cols)"));
}
