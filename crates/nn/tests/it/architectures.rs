//! The architectures of notebook 07: their parameter counts against Keras, and the small
//! ResNet trained by `fit` (batch statistics in training, moving averages in evaluation).
//!
//! Keras figures: `scripts/keras_param_counts.py` (Keras 3.15.1 / TensorFlow 2.21,
//! `weights=None`, `model.count_params()` and the trainable / non-trainable split), run
//! on 2026-12-01; see `docs/architectures.md`. The book's ResNet-34 is the Sequential
//! model of HOML chapter 14; VGG16 and Xception are `keras.applications`.

use cnnkit_nn::architectures::*;
use cnnkit_nn::model::Describe;
use cnnkit_nn::prelude::*;
use cnnkit_nn::train::toy_bars;
use dfdx::nn::BuildOnDevice;

/// (total, trainable, non-trainable) parameters and the output shape of `M` on `input`.
fn counts<M: BuildOnDevice<Cpu, f32>>(input: [usize; 3]) -> (usize, usize, usize, FeatureShape)
where
    M::Built: Describe,
{
    let model = Cpu::seed_from_u64(0).build_module::<M, f32>();
    let s = summary(&model, input).unwrap();
    (
        s.total_params(),
        s.trainable_params(),
        s.non_trainable_params(),
        s.output(),
    )
}

#[test]
fn parameter_counts_match_keras() {
    use FeatureShape::Flat;
    assert_eq!(counts::<LeNet5>([32, 32, 1]), (61_706, 61_706, 0, Flat(10)));
    assert_eq!(
        counts::<AlexNet>([227, 227, 3]),
        (62_378_344, 62_378_344, 0, Flat(1000))
    );
    assert_eq!(
        counts::<Vgg16>([224, 224, 3]),
        (138_357_544, 138_357_544, 0, Flat(1000))
    );
    assert_eq!(
        counts::<GoogLeNet>([224, 224, 3]),
        (6_998_552, 6_998_552, 0, Flat(1000))
    );
    assert_eq!(
        counts::<ResNet34>([224, 224, 3]),
        (21_306_826, 21_289_802, 17_024, Flat(10))
    );
    assert_eq!(
        counts::<Xception>([299, 299, 3]),
        (22_910_480, 22_855_952, 54_528, Flat(1000))
    );
    assert_eq!(
        counts::<SeResNetBlock>([56, 56, 256]),
        (
            1_190_160,
            1_189_136,
            1_024,
            FeatureShape::image(56, 56, 256)
        )
    );
    assert_eq!(
        counts::<SmallResNet>([28, 28, 1]),
        (679_594, 677_482, 2_112, Flat(10))
    );
}

#[test]
fn resnet34_summary_has_the_books_rows() {
    let model = Cpu::seed_from_u64(0).build_module::<ResNet34, f32>();
    let s = summary(&model, [224, 224, 3]).unwrap();
    let shapes: Vec<String> = s.layers.iter().map(|l| l.output.to_string()).collect();
    // Conv, BN, ReLU, MaxPool, 16 residual units, GlobalAvgPool, Dense.
    assert_eq!(s.layers.len(), 4 + 16 + 2);
    assert_eq!(shapes[3], "(None, 56, 56, 64)");
    assert_eq!(s.layers[7].name, "residual_unit_3");
    assert_eq!(shapes[7], "(None, 28, 28, 128)");
    assert_eq!(shapes[19], "(None, 7, 7, 512)");
    let text = s.to_string();
    assert!(text.contains("Trainable params: 21,289,802"), "{text}");
    assert!(text.contains("Non-trainable params: 17,024"), "{text}");
}

#[test]
fn small_resnet_trains_and_evaluates_with_moving_statistics() {
    let data = toy_bars(256, 1);
    let dev = Cpu::seed_from_u64(3);
    let mut model = dev.build_module::<SmallResNet, f32>();
    let before = evaluate(&model, &data).unwrap();
    let moving_before = model.0.bn.moving_mean.as_vec();
    let cfg = FitConfig {
        epochs: 3,
        batch_size: 32,
        verbose: false,
        ..Default::default()
    };
    let history = fit(&mut model, &data, None, &cfg).unwrap();
    // fit trained in training mode: the moving statistics moved, the loss went down.
    assert_ne!(model.0.bn.moving_mean.as_vec(), moving_before);
    let losses = history.series("loss");
    assert!(
        losses[2] < losses[0],
        "training loss did not fall: {losses:?}"
    );
    // evaluate uses inference mode: the same images give the same predictions whatever
    // else is in the batch.
    let after = evaluate(&model, &data).unwrap();
    assert!(after.loss < before.loss, "{before:?} -> {after:?}");
    let all = predict(&model, &data).unwrap();
    let first = predict(&model, &data.slice(0..1)).unwrap();
    for (a, b) in all.row(0).iter().zip(first.row(0).iter()) {
        assert!(
            (a - b).abs() < 1e-5,
            "prediction depends on the batch: {a} vs {b}"
        );
    }
}
