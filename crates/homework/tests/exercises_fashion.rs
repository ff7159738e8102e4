//! Exercise 5 checker on small synthetic data (debug builds train slowly): a trained CNN
//! passes, the placeholder is not done, and a model without convolution, an untrained
//! model or a slow one are wrong with the reason.

use cnnkit_homework::*;
use cnnkit_nn::prelude::*;

/// 10 classes of 8x8 images: class c has a bright pixel block at a position of its own.
fn toy_classes(n: usize) -> Dataset<1> {
    let mut images = ndarray::Array4::<f32>::zeros((n, 8, 8, 1));
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % 10;
        let (r, col) = (2 * (c / 4), 2 * (c % 4));
        for dy in 0..2 {
            for dx in 0..2 {
                images[[i, r + dy, col + dx, 0]] = 1.0;
            }
        }
        labels.push(c as u8);
    }
    Dataset::new(images, labels).unwrap()
}

type Small = (
    Conv2D<1, 4, 3, 1, Same, Relu>,
    Flatten,
    Dense<{ 8 * 8 * 4 }, 10>,
);
type NoConv = (Flatten, Dense<64, 10>);

fn goal(max_seconds: f64) -> FashionGoal {
    FashionGoal {
        min_accuracy: 0.9,
        max_seconds,
        ..QUICK_GOAL
    }
}

fn train_small(train: &Dataset<1>, valid: &Dataset<1>) -> Option<Built<Small>> {
    let mut model = Cpu::seed_from_u64(1).build_module::<Small, f32>();
    let cfg = FitConfig {
        epochs: 15,
        batch_size: 10,
        lr: 0.01,
        verbose: false,
        ..FitConfig::default()
    };
    fit(&mut model, train, Some(valid), &cfg).ok()?;
    Some(model)
}

#[test]
fn trained_cnn_passes_and_reports_accuracy_and_time() {
    let data = toy_classes(100);
    let v = check_fashion_cnn_with(goal(600.0), &data, &data, &data, train_small);
    assert!(v.is_correct(), "{v}");
    let text = v.to_string();
    assert!(
        text.contains("테스트 정확도") && text.contains("훈련 시간"),
        "{text}"
    );
}

#[test]
fn placeholder_is_not_done() {
    let data = toy_classes(20);
    let placeholder = |_: &Dataset<1>, _: &Dataset<1>| -> Option<Built<Small>> { None };
    let v = check_fashion_cnn_with(goal(600.0), &data, &data, &data, placeholder);
    assert!(v.is_not_done(), "{v}");
}

#[test]
fn model_without_convolution_is_wrong() {
    let data = toy_classes(20);
    let dense_only =
        |_: &Dataset<1>, _: &Dataset<1>| Some(Cpu::seed_from_u64(0).build_module::<NoConv, f32>());
    let v = check_fashion_cnn_with(goal(600.0), &data, &data, &data, dense_only);
    assert!(v.is_wrong());
    assert!(v.to_string().contains("Conv2D 층이 없습니다"), "{v}");
}

#[test]
fn untrained_model_misses_the_accuracy() {
    let data = toy_classes(50);
    let untrained =
        |_: &Dataset<1>, _: &Dataset<1>| Some(Cpu::seed_from_u64(0).build_module::<Small, f32>());
    let v = check_fashion_cnn_with(goal(600.0), &data, &data, &data, untrained);
    assert!(v.is_wrong());
    assert!(v.to_string().contains("목표 90%보다 낮습니다"), "{v}");
}

#[test]
fn slow_training_is_wrong() {
    let data = toy_classes(20);
    let slow = |_: &Dataset<1>, _: &Dataset<1>| {
        std::thread::sleep(std::time::Duration::from_millis(300));
        Some(Cpu::seed_from_u64(0).build_module::<Small, f32>())
    };
    let v = check_fashion_cnn_with(goal(0.1), &data, &data, &data, slow);
    assert!(v.is_wrong());
    assert!(v.to_string().contains("제한"), "{v}");
}

#[test]
fn a_panic_in_training_is_wrong() {
    let data = toy_classes(20);
    let panics =
        |_: &Dataset<1>, _: &Dataset<1>| -> Option<Built<Small>> { panic!("out of ideas") };
    let v = check_fashion_cnn_with(goal(600.0), &data, &data, &data, panics);
    assert!(v.is_wrong());
    assert!(v.to_string().contains("out of ideas"), "{v}");
}

#[test]
fn goals_by_mode() {
    // SAFETY: no other test of this binary reads or writes the environment (the others
    // pass their goal explicitly).
    unsafe { std::env::set_var("CNNKIT_QUICK", "1") };
    assert_eq!(fashion_goal(), QUICK_GOAL);
    unsafe { std::env::remove_var("CNNKIT_QUICK") };
    assert_eq!(fashion_goal(), FULL_GOAL);
    let (full, quick) = (fashion_goal(), QUICK_GOAL);
    assert!(full.min_accuracy > quick.min_accuracy && full.train_images > quick.train_images);
    assert!(FULL_GOAL.to_string().contains("전체 모드"));
}

#[test]
fn real_data_placeholder_is_not_done_when_fashion_mnist_is_installed() {
    if cnnkit_data::FashionMnist::load().is_err() {
        eprintln!("Fashion-MNIST not installed: skipped");
        return;
    }
    let placeholder = |_: &Dataset<1>, _: &Dataset<1>| -> Option<Built<Small>> { None };
    let v = check_fashion_cnn(placeholder);
    assert!(v.is_not_done(), "{v}");
}

#[test]
fn the_time_limit_is_relative_to_the_reference_workload() {
    // 2 s for one epoch on 1,000 images: 5 epochs on 55,000 take 550 s; twice that is allowed.
    let goal = FULL_GOAL.relative_to(2.0, REFERENCE_IMAGES);
    assert_eq!(goal.time_factor, Some(2.0));
    assert!(
        (goal.max_seconds - 1_100.0).abs() < 1e-9,
        "{}",
        goal.max_seconds
    );
    assert_eq!(goal.reference_seconds, Some(2.0));
    assert!(goal.to_string().contains("1100초"), "{goal}");
    // A machine twice as slow gets twice the time.
    assert!((FULL_GOAL.relative_to(4.0, 1_000).max_seconds - 2_200.0).abs() < 1e-9);
    // Before the measurement the goal says how the limit is set.
    assert!(
        FULL_GOAL
            .to_string()
            .contains("기준 모델의 예상 훈련 시간 × 2"),
        "{FULL_GOAL}"
    );
    // An absolute goal is left as it is.
    let fixed = FashionGoal {
        time_factor: None,
        ..QUICK_GOAL
    };
    assert_eq!(fixed.relative_to(100.0, 10), fixed);
}

#[test]
fn a_slow_answer_fails_against_the_measured_limit() {
    let data = toy_classes(20);
    // A reference workload of 1 ms per 1,000 images gives a limit far below any training.
    let goal = FashionGoal {
        min_accuracy: 0.0,
        ..QUICK_GOAL
    }
    .relative_to(0.000_001, 1_000);
    let slow = |train: &Dataset<1>, valid: &Dataset<1>| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        train_small(train, valid)
    };
    let v = check_fashion_cnn_with(goal, &data, &data, &data, slow);
    assert!(v.is_wrong(), "{v}");
    assert!(v.to_string().contains("기준 모델의 예상 훈련 시간"), "{v}");
}
