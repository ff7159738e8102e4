//! Training beyond classification: the two-headed model of classification and localization
//! (`Heads`, `fit_localization`) and per-pixel classification (`fit_segmentation`).
//! Reference values are computed here from the models' own predictions with plain loops,
//! or by hand in the comments.

use cnnkit_nn::detection::iou as box_iou;
use cnnkit_nn::prelude::*;
use cnnkit_nn::train::{
    evaluate_localization, evaluate_segmentation, fit_localization, fit_segmentation,
    predict_localization, predict_masks, LocalizationData, LossWeights, SegmentationData,
};
use ndarray::{Array3, Array4};

/// 32 images of 8x8 with a bright 3x3 square: the box is its place, the class the parity
/// of its row.
fn squares(n: usize, offset: usize) -> LocalizationData<1> {
    let mut images = Array4::<f32>::zeros((n, 8, 8, 1));
    let (mut labels, mut boxes) = (vec![], vec![]);
    for i in 0..n {
        let j = i + offset;
        let (x, y) = (j % 6, (j / 6) % 6);
        for dy in 0..3 {
            for dx in 0..3 {
                images[[i, y + dy, x + dx, 0]] = 1.0;
            }
        }
        labels.push((y % 2) as u8);
        boxes.push([
            x as f32 / 8.0,
            y as f32 / 8.0,
            (x + 3) as f32 / 8.0,
            (y + 3) as f32 / 8.0,
        ]);
    }
    LocalizationData::new(Dataset::new(images, labels).unwrap(), boxes).unwrap()
}

type Localizer = (
    Conv2D<1, 8, 3, 1, Same, Relu>,
    Flatten,
    Heads<Dense<512, 2>, Dense<512, 4, Sigmoid>>,
);

fn quiet(epochs: usize) -> FitConfig {
    FitConfig {
        epochs,
        batch_size: 8,
        lr: 0.003,
        verbose: false,
        ..FitConfig::default()
    }
}

#[test]
fn box_iou_by_hand() {
    // Two 2x2 squares overlapping in a 1x1 corner: 1 / (4 + 4 - 1).
    assert!((box_iou([0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 3.0]) - 1.0 / 7.0).abs() < 1e-6);
    assert_eq!(box_iou([0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]), 1.0);
    assert_eq!(box_iou([0.0, 0.0, 1.0, 1.0], [2.0, 2.0, 3.0, 3.0]), 0.0);
    // A box inside another: its area over the outer one's, 1 / 4.
    assert!((box_iou([0.0, 0.0, 2.0, 2.0], [0.5, 0.5, 1.5, 1.5]) - 0.25).abs() < 1e-6);
    // An inverted (empty) predicted box overlaps nothing.
    assert_eq!(box_iou([1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]), 0.0);
}

#[test]
fn heads_pass_the_sum_of_both_gradients_to_the_shared_layers() {
    // d(La + Lb)/dW of the shared layer, through Heads, equals dLa/dW + dLb/dW computed
    // with two separate forward passes.
    type Trunk = Dense<3, 4, Relu>;
    let dev = Cpu::seed_from_u64(7);
    let trunk = dev.build_module::<Trunk, f32>();
    let a = dev.build_module::<Dense<4, 2>, f32>();
    let b = dev.build_module::<Dense<4, 1>, f32>();
    let x: Tensor<(usize, Const<3>), f32, Cpu> =
        dev.tensor_from_vec(vec![0.5, -1.0, 2.0, 1.5, 0.3, -0.7], (2, Const::<3>));

    let model = (
        trunk.clone(),
        Heads {
            first: a.clone(),
            second: b.clone(),
        },
    );
    let g = model.alloc_grads();
    let (ya, yb) = model.forward(x.clone().traced(g));
    let both = (ya.square().sum() + yb.sum()).backward();
    let joint = both.get(&model.0.weight).as_vec();

    let g = trunk.alloc_grads();
    let la = a
        .forward(trunk.forward(x.clone().traced(g)))
        .square()
        .sum()
        .backward();
    let g = trunk.alloc_grads();
    let lb = b.forward(trunk.forward(x.traced(g))).sum().backward();
    let separate: Vec<f32> = la
        .get(&trunk.weight)
        .as_vec()
        .iter()
        .zip(lb.get(&trunk.weight).as_vec())
        .map(|(p, q)| p + q)
        .collect();
    for (j, s) in joint.iter().zip(&separate) {
        assert!((j - s).abs() < 1e-5, "{joint:?} vs {separate:?}");
    }
    assert!(
        separate.iter().any(|v| v.abs() > 1e-3),
        "the test needs non-zero gradients"
    );
}

#[test]
fn localization_learns_classes_and_boxes() {
    let train = squares(36, 0);
    let mut model = Cpu::seed_from_u64(1).build_module::<Localizer, f32>();
    let before = evaluate_localization(&model, &train, LossWeights::default()).unwrap();
    let history = fit_localization(
        &mut model,
        &train,
        Some(&train),
        &quiet(12),
        LossWeights::default(),
    )
    .unwrap();
    let after = evaluate_localization(&model, &train, LossWeights::default()).unwrap();
    assert!(
        after.mean_iou > 0.5 && after.mean_iou > before.mean_iou + 0.2,
        "IoU {before:?} -> {after:?}"
    );
    assert!(after.accuracy >= 0.9, "{after:?}");
    // The history names every figure, and the last validation figures are the evaluation's.
    for key in [
        "class_loss",
        "box_loss",
        "iou",
        "val_class_loss",
        "val_box_loss",
        "val_iou",
    ] {
        assert_eq!(history.series(key).len(), 12, "{key}");
    }
    assert!((history.series("val_iou")[11] - after.mean_iou).abs() < 1e-6);
    assert!((history.series("val_loss")[11] - after.loss).abs() < 1e-6);
    // The total loss is the weighted sum of the two.
    assert!((after.loss - (0.8 * after.class_loss + 0.2 * after.box_loss)).abs() < 1e-6);

    // evaluate_localization against a plain computation from predict_localization.
    let (classes, boxes) = predict_localization(&model, &train.data).unwrap();
    let n = train.len() as f32;
    let acc = classes
        .iter()
        .zip(&train.data.labels)
        .filter(|(c, l)| **c == **l as usize)
        .count() as f32
        / n;
    let (mut mse, mut iou) = (0.0f32, 0.0f32);
    for (row, t) in boxes.rows().into_iter().zip(&train.boxes) {
        let p = [row[0], row[1], row[2], row[3]];
        mse += p.iter().zip(t).map(|(a, b)| (a - b) * (a - b)).sum::<f32>() / 4.0;
        iou += box_iou(p, *t);
    }
    assert!((after.accuracy - acc).abs() < 1e-6);
    assert!(
        (after.box_loss - mse / n).abs() < 1e-5,
        "{} vs {}",
        after.box_loss,
        mse / n
    );
    assert!((after.mean_iou - iou / n).abs() < 1e-5);
}

#[test]
fn a_zero_loss_weight_leaves_that_head_alone() {
    let train = squares(16, 3);
    let mut model = Cpu::seed_from_u64(2).build_module::<Localizer, f32>();
    let box_head = model.2.second.weight.as_vec();
    let class_head = model.2.first.weight.as_vec();
    let only_classes = LossWeights {
        class: 1.0,
        boxes: 0.0,
    };
    fit_localization(&mut model, &train, None, &quiet(1), only_classes).unwrap();
    assert_eq!(
        model.2.second.weight.as_vec(),
        box_head,
        "the box head got a gradient"
    );
    assert_ne!(model.2.first.weight.as_vec(), class_head);
}

#[test]
fn localization_data_refuses_bad_boxes_and_counts() {
    let d = squares(2, 0).data;
    let err = LocalizationData::new(d.clone(), vec![[0.0, 0.0, 0.5, 0.5]])
        .unwrap_err()
        .to_string();
    assert!(err.contains("1 boxes") && err.contains("2 images"), "{err}");
    let err = LocalizationData::new(d.clone(), vec![[0.0, 0.0, 0.5, 0.5], [0.0, 0.0, 8.0, 3.0]])
        .unwrap_err()
        .to_string();
    assert!(err.contains("box 1") && err.contains("0..=1"), "{err}");
    let err = LocalizationData::new(d, vec![[0.0, 0.0, 0.5, 0.5], [0.6, 0.0, 0.5, 1.0]])
        .unwrap_err()
        .to_string();
    assert!(err.contains("min <= max"), "{err}");
}

/// 6x6 images whose pixels above 0.5 are class 1, the rest class 0 (and, with three
/// classes, the pixels at exactly 0 are class 2).
fn thresholds(n: usize, three: bool) -> SegmentationData<1> {
    let images = Array4::from_shape_fn((n, 6, 6, 1), |(i, y, x, _)| {
        ((i + y * x + x) % 5) as f32 / 4.0
    });
    let masks = images.map_axis(ndarray::Axis(3), |v| {
        if three && v[0] == 0.0 {
            2
        } else {
            (v[0] > 0.5) as u8
        }
    });
    SegmentationData::new(Dataset::unlabeled(images).unwrap(), masks).unwrap()
}

#[test]
fn segmentation_learns_a_per_pixel_rule() {
    let train = thresholds(24, true);
    type Segmenter = (Conv2D<1, 8, 1, 1, Same, Relu>, Conv2D<8, 3, 1>);
    let mut model = Cpu::seed_from_u64(4).build_module::<Segmenter, f32>();
    let cfg = FitConfig {
        epochs: 25,
        batch_size: 4,
        lr: 0.01,
        verbose: false,
        ..FitConfig::default()
    };
    let history = fit_segmentation(&mut model, &train, Some(&train), &cfg).unwrap();
    let e = evaluate_segmentation(&model, &train).unwrap();
    assert!(e.pixel_accuracy > 0.95 && e.mean_iou > 0.9, "{e:?}");
    assert!((history.series("val_mean_iou")[24] - e.mean_iou).abs() < 1e-6);
    assert!((history.series("val_accuracy")[24] - e.pixel_accuracy).abs() < 1e-6);
    // predict_masks agrees with the pixel accuracy.
    let predicted = predict_masks(&model, &train.data).unwrap();
    let right = predicted
        .iter()
        .zip(train.masks.iter())
        .filter(|(p, t)| p == t)
        .count();
    assert!((right as f32 / predicted.len() as f32 - e.pixel_accuracy).abs() < 1e-6);
}

#[test]
fn segmentation_metrics_by_hand() {
    // A 1x1 convolution with fixed weights predicts class 1 where x > 0.5 (logit of class 1
    // minus class 0 is 2x - 1). Four pixels, values 0, 0.25, 0.75, 1: predictions 0, 0, 1, 1.
    // True masks 0, 1, 1, 2 (class 2 is never predicted).
    type OneByOne = Conv2D<1, 3, 1>;
    let dev = Cpu::seed_from_u64(0);
    let mut model = dev.build_module::<OneByOne, f32>();
    model.weight = dev.tensor_from_vec(
        vec![-1.0, 1.0, -10.0],
        (Const::<1>, Const::<1>, Const::<1>, Const::<3>),
    );
    model.bias = dev.tensor_from_vec(vec![0.5, -0.5, 0.0], (Const::<3>,));
    let images = Array4::from_shape_vec((1, 2, 2, 1), vec![0.0, 0.25, 0.75, 1.0]).unwrap();
    let masks = Array3::from_shape_vec((1, 2, 2), vec![0, 1, 1, 2]).unwrap();
    let data = SegmentationData::new(Dataset::unlabeled(images).unwrap(), masks).unwrap();
    let e = evaluate_segmentation(&model, &data).unwrap();
    // Right: pixels 0 and 2, so 2 / 4.
    assert_eq!(e.pixel_accuracy, 0.5);
    // Class 0: TP 1 (pixel 0), predicted 2 (pixels 0, 1), true 1: IoU 1 / 2.
    // Class 1: TP 1 (pixel 2), predicted 2 (pixels 2, 3), true 2 (pixels 1, 2): 1 / 3.
    // Class 2: TP 0, true 1: 0. Mean over the three: (1/2 + 1/3 + 0) / 3.
    assert_eq!(e.class_iou.len(), 3);
    assert!((e.class_iou[0] - 0.5).abs() < 1e-6 && (e.class_iou[1] - 1.0 / 3.0).abs() < 1e-6);
    assert_eq!(e.class_iou[2], 0.0);
    assert!((e.mean_iou - (0.5 + 1.0 / 3.0) / 3.0).abs() < 1e-6);
    // The loss is the mean cross-entropy of the four pixels, by hand from the logits.
    let xs = [0.0f32, 0.25, 0.75, 1.0];
    let truth = [0usize, 1, 1, 2];
    let ce: f32 = xs
        .iter()
        .zip(truth)
        .map(|(&x, t)| {
            let z = [-x + 0.5, x - 0.5, -10.0 * x];
            let m = z.iter().cloned().fold(f32::MIN, f32::max);
            m + z.iter().map(|v| (v - m).exp()).sum::<f32>().ln() - z[t]
        })
        .sum::<f32>()
        / 4.0;
    assert!((e.loss - ce).abs() < 1e-5, "{} vs {ce}", e.loss);

    // A class that occurs nowhere is left out of the mean (NaN in class_iou).
    let masks = Array3::from_shape_vec((1, 2, 2), vec![0, 0, 1, 1]).unwrap();
    let data = SegmentationData::new(data.data, masks).unwrap();
    let e = evaluate_segmentation(&model, &data).unwrap();
    assert!(e.class_iou[2].is_nan());
    assert_eq!((e.pixel_accuracy, e.mean_iou), (1.0, 1.0));
}

#[test]
fn segmentation_refuses_mismatched_masks_and_outputs() {
    let data = thresholds(2, false);
    let err = SegmentationData::new(data.data.clone(), Array3::zeros((2, 5, 6)))
        .unwrap_err()
        .to_string();
    assert!(err.contains("one mask per image"), "{err}");
    // A model whose output is smaller than the masks.
    type Shrinks = (Conv2D<1, 2, 1>, MaxPool2D<2>);
    let mut model = Cpu::seed_from_u64(0).build_module::<Shrinks, f32>();
    let err = fit_segmentation(&mut model, &data, None, &quiet(1))
        .unwrap_err()
        .to_string();
    assert!(err.contains("upsample") && err.contains("6x6"), "{err}");
    // A mask class the model has no output for.
    let mut masks = data.masks.clone();
    masks[[0, 0, 0]] = 5;
    let bad = SegmentationData::new(data.data.clone(), masks).unwrap();
    let mut model = Cpu::seed_from_u64(0).build_module::<Conv2D<1, 2, 1>, f32>();
    let err = fit_segmentation(&mut model, &bad, None, &quiet(1))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("class 5") && err.contains("2 outputs"),
        "{err}"
    );
    let err = evaluate_segmentation(&model, &bad).unwrap_err().to_string();
    assert!(err.contains("class 5"), "{err}");
}
