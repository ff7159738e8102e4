//! Model building, summary, training, determinism and checkpoints.

use cnnkit_nn::model::LectureCnn;
use cnnkit_nn::prelude::*;
use cnnkit_nn::train::toy_bars;

#[test]
fn lecture_model_summary_matches_keras() {
    let model = Cpu::default().build_module::<LectureCnn, f32>();
    let s = summary(&model, [28, 28, 1]).unwrap();
    // Output shapes and parameter counts as printed by Keras' model.summary() for the
    // lecture's Sequential model (HOML ch. 14; the totals agree with FACTS.md).
    let expected: Vec<(&str, &str, usize)> = vec![
        ("conv2d", "(None, 28, 28, 64)", 3_200),
        ("max_pool2d", "(None, 14, 14, 64)", 0),
        ("conv2d_1", "(None, 14, 14, 128)", 73_856),
        ("conv2d_2", "(None, 14, 14, 128)", 147_584),
        ("max_pool2d_1", "(None, 7, 7, 128)", 0),
        ("conv2d_3", "(None, 7, 7, 256)", 295_168),
        ("conv2d_4", "(None, 7, 7, 256)", 590_080),
        ("max_pool2d_2", "(None, 3, 3, 256)", 0),
        ("flatten", "(None, 2304)", 0),
        ("dense", "(None, 128)", 295_040),
        ("dropout", "(None, 128)", 0),
        ("dense_1", "(None, 64)", 8_256),
        ("dropout_1", "(None, 64)", 0),
        ("dense_2", "(None, 10)", 650),
    ];
    let got: Vec<(&str, String, usize)> = s
        .layers
        .iter()
        .map(|l| (l.name.as_str(), l.output.to_string(), l.params))
        .collect();
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!((g.0, g.1.as_str(), g.2), *e);
    }
    assert_eq!(s.total_params(), 1_413_834);
    assert!(s.to_string().contains("Total params: 1,413,834"), "{s}");
}

#[test]
fn summary_names_the_layer_that_does_not_fit() {
    type Wrong = (
        Conv2D<1, 8, 3, 1, Same, Relu>,
        MaxPool2D<2>,
        Flatten,
        Dense<1000, 10>,
    );
    let model = Cpu::default().build_module::<Wrong, f32>();
    let err = summary(&model, [28, 28, 1]).unwrap_err().to_string();
    assert!(err.contains("dense (Dense)"), "{err}");
    assert!(
        err.contains("(None, 1000)") && err.contains("1568"),
        "{err}"
    );

    type TooSmall = (
        Conv2D<1, 8, 5, 1, Valid, Relu>,
        Conv2D<8, 8, 5, 1, Valid, Relu>,
    );
    let model = Cpu::default().build_module::<TooSmall, f32>();
    let err = summary(&model, [6, 6, 1]).unwrap_err().to_string();
    assert!(
        err.contains("conv2d_1 (Conv2D)") && err.contains("2x2"),
        "{err}"
    );

    let err = summary(&model, [6, 6, 3]).unwrap_err().to_string();
    assert!(
        err.contains("conv2d (Conv2D)") && err.contains("1 channels"),
        "{err}"
    );
}

#[test]
#[should_panic(expected = "Dense: shape mismatch in layer `Dense`: expected 1000 input features")]
fn forward_with_a_wrong_feature_count_panics_with_the_layer_name() {
    type Wrong = (
        Conv2D<1, 8, 3, 1, Same, Relu>,
        MaxPool2D<2>,
        Flatten,
        Dense<1000, 10>,
    );
    let dev = Cpu::default();
    let model = dev.build_module::<Wrong, f32>();
    let _ = model.forward(dev.zeros_like(&(1, 28, 28, Const::<1>)));
}

type Toy = (
    Conv2D<1, 8, 3, 1, Same, Relu>,
    MaxPool2D<2>,
    Flatten,
    Dense<72, 16, Relu>,
    Dense<16, 2>,
);

#[test]
fn a_small_cnn_learns_the_toy_task() {
    let train = toy_bars(512, 1);
    let test = toy_bars(256, 2);
    let mut model = Cpu::seed_from_u64(3).build_module::<Toy, f32>();
    let before = evaluate(&model, &test).unwrap();
    let cfg = FitConfig {
        epochs: 6,
        batch_size: 16,
        lr: 0.01,
        verbose: false,
        ..Default::default()
    };
    let history = fit(&mut model, &train, Some(&test), &cfg).unwrap();
    let after = evaluate(&model, &test).unwrap();
    let losses = history.series("loss");
    assert!(
        losses.last().unwrap() < &(losses[0] * 0.5),
        "loss did not fall: {losses:?}"
    );
    assert!(
        after.accuracy > 0.95,
        "accuracy {} (before: {})",
        after.accuracy,
        before.accuracy
    );
    assert_eq!(
        history.series("val_accuracy").last().copied(),
        Some(after.accuracy)
    );
    // predict agrees with predict_classes and gives probabilities.
    let p = predict(&model, &test).unwrap();
    let classes = predict_classes(&model, &test).unwrap();
    for (row, c) in p.rows().into_iter().zip(&classes) {
        assert!((row.sum() - 1.0).abs() < 1e-5);
        let best = row
            .iter()
            .enumerate()
            .fold(0, |b, (i, v)| if *v > row[b] { i } else { b });
        assert_eq!(best, *c);
    }
}

#[test]
fn adam_also_trains() {
    let train = toy_bars(512, 4);
    let mut model = Cpu::seed_from_u64(5).build_module::<Toy, f32>();
    let cfg = FitConfig {
        epochs: 5,
        batch_size: 16,
        lr: 0.01,
        optimizer: OptimizerKind::Adam,
        verbose: false,
        ..Default::default()
    };
    fit(&mut model, &train, None, &cfg).unwrap();
    assert!(evaluate(&model, &toy_bars(256, 6)).unwrap().accuracy > 0.9);
}

fn trained_weights(model_seed: u64, fit_seed: u64) -> Vec<f32> {
    type WithDropout = (
        Conv2D<1, 4, 3, 1, Same, Relu>,
        Flatten,
        Dense<144, 16, Relu>,
        Dropout,
        Dense<16, 2>,
    );
    let mut model = Cpu::seed_from_u64(model_seed).build_module::<WithDropout, f32>();
    let cfg = FitConfig {
        epochs: 2,
        batch_size: 8,
        seed: fit_seed,
        verbose: false,
        ..Default::default()
    };
    fit(&mut model, &toy_bars(64, 7), None, &cfg).unwrap();
    let mut w = model.0.weight.as_vec();
    w.extend(model.2.weight.as_vec());
    w
}

#[test]
fn training_is_reproducible_for_a_fixed_seed() {
    assert_eq!(trained_weights(1, 2), trained_weights(1, 2));
    assert_ne!(
        trained_weights(1, 2),
        trained_weights(1, 3),
        "the fit seed must matter"
    );
    assert_ne!(
        trained_weights(1, 2),
        trained_weights(4, 2),
        "the model seed must matter"
    );
}

#[test]
fn dropout_is_active_only_in_training() {
    type D = (Flatten, Dense<36, 36>, Dropout);
    let dev = Cpu::seed_from_u64(0);
    let mut model = dev.build_module::<D, f32>();
    let x: Images<1> = dev.ones_like(&(4, 6, 6, Const::<1>));
    assert_eq!(
        model.forward(x.clone()).as_vec(),
        model.forward(x.clone()).as_vec()
    );
    let train = model
        .forward_mut(x.clone().traced(model.alloc_grads()))
        .as_vec();
    assert!(
        train.iter().filter(|v| **v == 0.0).count() > 20,
        "about half should be dropped"
    );
    assert_ne!(train, model.forward(x).as_vec());
}

#[test]
fn fit_rejects_bad_labels_and_configs_with_messages() {
    let mut data = toy_bars(10, 0);
    data.labels[3] = 7;
    let mut model = Cpu::default().build_module::<Toy, f32>();
    let err = fit(
        &mut model,
        &data,
        None,
        &FitConfig {
            verbose: false,
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("label 7") && err.contains("2 outputs"),
        "{err}"
    );
    let err = fit(
        &mut model,
        &toy_bars(10, 0),
        None,
        &FitConfig {
            batch_size: 0,
            verbose: false,
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("batch_size"), "{err}");
    let err = Dataset::<3>::new(ndarray::Array4::zeros((2, 6, 6, 1)), vec![0, 1])
        .unwrap_err()
        .to_string();
    assert!(err.contains("1 channels") && err.contains("3"), "{err}");
}

#[test]
fn checkpoints_round_trip_and_refuse_other_models() {
    let dir = std::env::temp_dir().join(format!("cnnkit-ckpt-{}", std::process::id()));
    let path = dir.join("toy.safetensors");
    let dev = Cpu::seed_from_u64(9);
    let mut model = dev.build_module::<Toy, f32>();
    fit(
        &mut model,
        &toy_bars(64, 1),
        None,
        &FitConfig {
            epochs: 1,
            verbose: false,
            ..Default::default()
        },
    )
    .unwrap();
    cnnkit_nn::checkpoint::save(&model, &path).unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "no temporary file may remain: {leftovers:?}"
    );

    let mut copy = Cpu::seed_from_u64(10).build_module::<Toy, f32>();
    cnnkit_nn::checkpoint::load(&mut copy, &path).unwrap();
    let test = toy_bars(32, 2);
    assert_eq!(
        predict(&model, &test).unwrap(),
        predict(&copy, &test).unwrap()
    );

    type Bigger = (
        Conv2D<1, 8, 3, 1, Same, Relu>,
        MaxPool2D<2>,
        Flatten,
        Dense<72, 32, Relu>,
        Dense<32, 2>,
    );
    let mut other = dev.build_module::<Bigger, f32>();
    let before = other.3.weight.as_vec();
    let err = cnnkit_nn::checkpoint::load(&mut other, &path)
        .unwrap_err()
        .to_string();
    // Tensors are compared in name order: the first difference is layer 3's bias.
    assert!(
        err.contains("3.bias") && err.contains("[16]") && err.contains("[32]"),
        "{err}"
    );
    assert_eq!(
        other.3.weight.as_vec(),
        before,
        "a refused load must not change the model"
    );

    // A truncated file is reported as damaged, not loaded.
    let bytes = std::fs::read(&path).unwrap();
    let cut = dir.join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let err = cnnkit_nn::checkpoint::load(&mut copy, &cut)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("damaged") || err.contains("truncated"),
        "{err}"
    );
    let err = cnnkit_nn::checkpoint::load(&mut copy, dir.join("missing.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("no such file"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fit_keeps_layer_settings_when_it_renews_tensor_ids() {
    type D = (
        Conv2D<1, 4, 3, 1, Same, Relu>,
        Flatten,
        Dense<144, 16, Relu>,
        Dropout,
        Dense<16, 2>,
    );
    let mut model = Cpu::seed_from_u64(1).build_module::<D, f32>();
    model.3.p = 0.2;
    let before = model.0.weight.as_vec();
    // No epoch: fit renews the ids and takes no step (max_batches: Some(0) is an error now).
    let cfg = FitConfig {
        epochs: 0,
        verbose: false,
        ..Default::default()
    };
    fit(&mut model, &toy_bars(16, 0), None, &cfg).unwrap();
    assert_eq!(model.3.p, 0.2, "the dropout rate must survive fit");
    assert_eq!(
        model.0.weight.as_vec(),
        before,
        "no step was taken, so no weight may change"
    );
}
