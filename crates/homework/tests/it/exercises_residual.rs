//! Exercise 6 checkers: the book's residual unit with stride 2 built from layers passes
//! every part; models with one mistake each fail exactly the parts that mistake affects,
//! with a message that says what is wrong; the skeleton with `Todo` is not done; the
//! crate's own unit is rejected; a panic inside the model costs only the part it happens
//! in. The same for the inception module.

use cnnkit_homework::*;
use cnnkit_nn::model::{Describe, FeatureShape, LayerRow};
use cnnkit_nn::prelude::*;
use dfdx::nn::modules::{NonMutableModule, ZeroSizedModule};
use dfdx::tensor::CpuError;

/// The main path of the book's unit, with the stride of its first convolution.
type Main<const S: usize> = (
    Conv2DNoBias<32, 64, 3, S, Same>,
    BatchNorm<64>,
    Relu,
    Conv2DNoBias<64, 64, 3, 1, Same>,
    BatchNorm<64>,
);

/// The book's `ResidualUnit(64, strides=2)` on 32 channels.
type Good = (
    Residual<Main<2>, (Conv2DNoBias<32, 64, 1, 2, Same>, BatchNorm<64>)>,
    Relu,
);

/// A projection shortcut without its batch normalization.
type ShortcutWithoutBn = (Residual<Main<2>, Conv2DNoBias<32, 64, 1, 2, Same>>, Relu);

/// Stride 1 everywhere: the tensors are right, the size is not halved.
type Stride1 = (
    Residual<Main<1>, (Conv2DNoBias<32, 64, 1, 1, Same>, BatchNorm<64>)>,
    Relu,
);

/// Convolutions with a bias (Keras' default) instead of `use_bias=False`.
type Biased = (
    Residual<
        (
            Conv2D<32, 64, 3, 2, Same>,
            BatchNorm<64>,
            Relu,
            Conv2D<64, 64, 3, 1, Same>,
            BatchNorm<64>,
        ),
        (Conv2D<32, 64, 1, 2, Same>, BatchNorm<64>),
    >,
    Relu,
);

/// No ReLU after the addition.
type NoFinalRelu = (Residual<Main<2>, (Conv2DNoBias<32, 64, 1, 2, Same>, BatchNorm<64>)>,);

/// The main path's ReLU after the second convolution instead of after the first BN: the
/// same tensors in the same order, other outputs.
type ReluInTheWrongPlace = (
    Residual<
        (
            Conv2DNoBias<32, 64, 3, 2, Same>,
            BatchNorm<64>,
            Conv2DNoBias<64, 64, 3, 1, Same>,
            Relu,
            BatchNorm<64>,
        ),
        (Conv2DNoBias<32, 64, 1, 2, Same>, BatchNorm<64>),
    >,
    Relu,
);

/// A layer that keeps the shape and panics when it runs.
#[derive(Clone, Copy, Debug, Default)]
struct Boom;

impl ZeroSizedModule for Boom {}
impl NonMutableModule for Boom {}

impl<S: Shape, T: Tape<f32, Cpu>> Module<Tensor<S, f32, Cpu, T>> for Boom {
    type Output = Tensor<S, f32, Cpu, T>;
    type Error = CpuError;
    fn try_forward(&self, _: Tensor<S, f32, Cpu, T>) -> Result<Self::Output, CpuError> {
        panic!("boom in the student's layer")
    }
}

impl Describe for Boom {
    fn describe(
        &self,
        input: FeatureShape,
        _rows: &mut Vec<LayerRow>,
    ) -> cnnkit_nn::Result<FeatureShape> {
        Ok(input)
    }
}

type Panics = (Good, Boom);

/// A student's own block around the crate's unit: the summary hides the inner row.
#[derive(Clone, Copy, Debug, Default)]
struct MyName;
impl cnnkit_nn::layers::BlockName for MyName {
    const KIND: &'static str = "MyUnit";
    const BASE: &'static str = "my_unit";
}

fn part(v: &Verdict, label: &str) -> String {
    v.lines()
        .into_iter()
        .find(|l| l.contains(label))
        .unwrap_or_else(|| panic!("no line for {label} in {v}"))
}

fn passed(v: &Verdict, p: UnitPart) -> bool {
    part(v, p.label()).starts_with('✅')
}

#[test]
fn the_book_unit_passes_every_part() {
    let v = check_residual_unit::<Good>();
    assert!(v.is_correct(), "{v}");
    for p in UnitPart::ALL {
        assert!(passed(&v, p), "{v}");
        assert!(check_residual_unit_part::<Good>(p).is_correct());
    }
    let text = v.to_string();
    assert!(text.contains("(None, 14, 14, 64)"), "{text}");
    assert!(text.contains("훈련 모드"), "{text}");
    // The part verdicts carry the part in the exercise's name.
    let shape = check_residual_unit_part::<Good>(UnitPart::Shape);
    assert!(shape.exercise().ends_with("(가) 출력 모양"), "{shape}");
}

#[test]
fn the_counts_in_the_verdict_come_from_the_crate_unit() {
    let unit = Cpu::default().build_module::<ResidualUnitDown<32, 64>, f32>();
    let s = summary(&unit, [28, 28, 32]).unwrap();
    let v = check_residual_unit_part::<Good>(UnitPart::Params);
    let text = v.to_string();
    let n = |v: usize| cnnkit_nn::model::fmt_thousands(v as i64);
    assert!(text.contains(&n(s.total_params())), "{text}");
    assert!(text.contains(&n(s.non_trainable_params())), "{text}");
}

#[test]
fn a_shortcut_without_batch_norm_fails_counts_and_outputs_but_not_the_shape() {
    let v = check_residual_unit::<ShortcutWithoutBn>();
    assert!(v.is_wrong(), "{v}");
    assert!(passed(&v, UnitPart::Shape), "{v}");
    let params = part(&v, UnitPart::Params.label());
    assert!(params.starts_with('❌'), "{v}");
    assert!(
        params.contains("훈련되지 않는 파라미터") && params.contains("BatchNorm 층이 2개"),
        "{params}"
    );
    let outputs = part(&v, UnitPart::Outputs.label());
    assert!(outputs.starts_with('❌'), "{v}");
    // 11 tensors instead of 15: the shortcut's BN is missing, and the book's order is listed.
    assert!(
        outputs.contains("11개뿐") && outputs.contains("지름길의 첫 번째 BN의 gamma"),
        "{outputs}"
    );
    assert!(
        outputs.contains("지름길: 합성곱 (1, 1, 32, 64) → BN (64)"),
        "{outputs}"
    );
}

#[test]
fn stride_one_fails_the_shape_and_the_outputs_only() {
    let v = check_residual_unit::<Stride1>();
    assert!(v.is_wrong(), "{v}");
    let shape = part(&v, UnitPart::Shape.label());
    assert!(
        shape.starts_with('❌') && shape.contains("(None, 28, 28, 64)") && shape.contains("보폭"),
        "{shape}"
    );
    assert!(passed(&v, UnitPart::Params), "{v}");
    let outputs = part(&v, UnitPart::Outputs.label());
    assert!(
        outputs.starts_with('❌') && outputs.contains("출력 모양이 (2, 14, 14, 64)이어야"),
        "{outputs}"
    );
}

#[test]
fn biased_convolutions_fail_counts_and_tensor_order_with_a_hint() {
    let v = check_residual_unit::<Biased>();
    assert!(passed(&v, UnitPart::Shape), "{v}");
    let params = part(&v, UnitPart::Params.label());
    assert!(
        params.contains("편향이 있는 Conv2D가 3개") && params.contains("Conv2DNoBias"),
        "{params}"
    );
    let outputs = part(&v, UnitPart::Outputs.label());
    // Position 2 is the first BN's gamma in the book, the first convolution's bias here.
    assert!(
        outputs.contains("2번째 파라미터 텐서") && outputs.contains("`0.main.0.bias`"),
        "{outputs}"
    );
}

#[test]
fn a_missing_final_relu_fails_only_the_outputs() {
    let v = check_residual_unit::<NoFinalRelu>();
    assert!(
        passed(&v, UnitPart::Shape) && passed(&v, UnitPart::Params),
        "{v}"
    );
    let outputs = part(&v, UnitPart::Outputs.label());
    assert!(
        outputs.contains("추론 모드(forward)의 출력이 다릅니다") && outputs.contains("음수"),
        "{outputs}"
    );
    assert!(
        outputs.contains("훈련 모드(forward_mut)의 출력이 다릅니다"),
        "{outputs}"
    );
}

#[test]
fn a_relu_in_the_wrong_place_fails_only_the_outputs() {
    let v = check_residual_unit::<ReluInTheWrongPlace>();
    assert!(
        passed(&v, UnitPart::Shape) && passed(&v, UnitPart::Params),
        "{v}"
    );
    let outputs = part(&v, UnitPart::Outputs.label());
    assert!(
        outputs.starts_with('❌') && outputs.contains("ReLU의 위치"),
        "{outputs}"
    );
}

#[test]
fn a_panic_in_the_model_costs_only_the_outputs() {
    let v = check_residual_unit::<Panics>();
    assert!(v.is_wrong(), "{v}");
    assert!(
        passed(&v, UnitPart::Shape) && passed(&v, UnitPart::Params),
        "{v}"
    );
    let outputs = part(&v, UnitPart::Outputs.label());
    assert!(
        outputs.contains("멈췄습니다") && outputs.contains("boom in the student's layer"),
        "{outputs}"
    );
    assert!(check_residual_unit_part::<Panics>(UnitPart::Shape).is_correct());
}

#[test]
fn the_crate_unit_is_rejected_however_it_is_wrapped() {
    for v in [
        check_residual_unit::<ResidualUnitDown<32, 64>>(),
        check_residual_unit::<(ResidualUnitDown<32, 64>,)>(),
        check_residual_unit::<Block<MyName, ResidualUnitDown<32, 64>>>(),
        check_residual_unit_part::<ResidualUnitDown<32, 64>>(UnitPart::Shape),
    ] {
        assert!(v.is_wrong(), "{v}");
        let text = v.to_string();
        assert!(
            text.contains("직접 조립") && text.contains("Conv2DNoBias"),
            "{text}"
        );
        assert_eq!(v.lines().len(), 1, "{v}");
    }
}

#[test]
fn the_skeleton_is_not_done_in_every_part() {
    // The student notebook's skeleton.
    type Skeleton = (Residual<(Todo, Todo, Todo, Todo, Todo), (Todo, Todo)>, Todo);
    let v = check_residual_unit::<Skeleton>();
    assert!(v.is_not_done(), "{v}");
    assert!(v.to_string().contains("남은 Todo: 8개"), "{v}");
    for p in UnitPart::ALL {
        assert!(check_residual_unit_part::<Skeleton>(p).is_not_done());
    }
    // Half done is still not done.
    type Half = (
        Residual<
            (
                Conv2DNoBias<32, 64, 3, 2, Same>,
                BatchNorm<64>,
                Relu,
                Conv2DNoBias<64, 64, 3, 1, Same>,
                Todo,
            ),
            (Conv2DNoBias<32, 64, 1, 2, Same>, Todo),
        >,
        Relu,
    );
    assert!(check_residual_unit::<Half>().is_not_done());
}

#[test]
fn the_summary_of_a_skeleton_shows_the_placeholders() {
    type Skeleton = (Residual<(Todo, Todo, Todo, Todo, Todo), (Todo, Todo)>, Relu);
    let model = Cpu::default().build_module::<Skeleton, f32>();
    let s = summary(&model, [28, 28, 32]).unwrap();
    assert_eq!(s.layers.iter().filter(|l| l.kind == "Todo").count(), 7);
    assert_eq!(s.layers[6].name, "todo_6");
}

// ---------------------------------------------------------------------------------------
// Inception

type GoodInception = Concat<
    (
        Conv2D<192, 64, 1, 1, Same, Relu>,
        (
            Conv2D<192, 96, 1, 1, Same, Relu>,
            Conv2D<96, 128, 3, 1, Same, Relu>,
        ),
        (
            Conv2D<192, 16, 1, 1, Same, Relu>,
            Conv2D<16, 32, 5, 1, Same, Relu>,
        ),
        (MaxPool2D<3, 1, Same>, Conv2D<192, 32, 1, 1, Same, Relu>),
    ),
    256,
>;

/// The pooling branch without its activation: same tensors, other outputs.
type InceptionLinearPool = Concat<
    (
        Conv2D<192, 64, 1, 1, Same, Relu>,
        (
            Conv2D<192, 96, 1, 1, Same, Relu>,
            Conv2D<96, 128, 3, 1, Same, Relu>,
        ),
        (
            Conv2D<192, 16, 1, 1, Same, Relu>,
            Conv2D<16, 32, 5, 1, Same, Relu>,
        ),
        (MaxPool2D<3, 1, Same>, Conv2D<192, 32, 1, 1, Same>),
    ),
    256,
>;

/// The 3x3 and 5x5 branches swapped: 32 + 128 channels in another order.
type InceptionSwapped = Concat<
    (
        Conv2D<192, 64, 1, 1, Same, Relu>,
        (
            Conv2D<192, 16, 1, 1, Same, Relu>,
            Conv2D<16, 32, 5, 1, Same, Relu>,
        ),
        (
            Conv2D<192, 96, 1, 1, Same, Relu>,
            Conv2D<96, 128, 3, 1, Same, Relu>,
        ),
        (MaxPool2D<3, 1, Same>, Conv2D<192, 32, 1, 1, Same, Relu>),
    ),
    256,
>;

#[test]
fn the_inception_module_passes_every_part() {
    let v = check_inception::<GoodInception>();
    assert!(v.is_correct(), "{v}");
    assert!(v.to_string().contains("(None, 28, 28, 256)"), "{v}");
}

#[test]
fn inception_mistakes_fail_the_right_parts() {
    let v = check_inception::<InceptionLinearPool>();
    assert!(
        passed(&v, UnitPart::Shape) && passed(&v, UnitPart::Params),
        "{v}"
    );
    assert!(
        part(&v, UnitPart::Outputs.label()).contains("출력이 다릅니다"),
        "{v}"
    );
    // Two of the three parts: 2 of the cell's 3 points.
    assert_eq!(v.credit().map(|c| c.points()), Some(2.0), "{v}");

    let v = check_inception::<InceptionSwapped>();
    assert!(
        passed(&v, UnitPart::Shape) && passed(&v, UnitPart::Params),
        "{v}"
    );
    let outputs = part(&v, UnitPart::Outputs.label());
    assert!(
        outputs.contains("3번째 파라미터 텐서")
            && outputs.contains("갈래 2의 첫 번째 합성곱의 weight (1, 1, 192, 96)")
            && outputs.contains("`branches.1.0.weight` (1, 1, 192, 16)"),
        "{outputs}"
    );
}

#[test]
fn the_crate_inception_is_rejected() {
    let v = check_inception::<(Inception<192, 64, 96, 128, 16, 32, 32, 256>,)>();
    assert!(v.is_wrong() && v.to_string().contains("Concat"), "{v}");
    assert!(check_inception_part::<Todo>(UnitPart::Outputs).is_not_done());
}
