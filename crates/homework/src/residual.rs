//! Exercise 6: the book's residual unit with stride 2, built from layers by the student
//! (and, as a second task, an inception module), checked part by part against the crate's
//! own [`ResidualUnitDown`] and [`Inception`].
//!
//! The checkers compare the student's model with the crate's type built beside it: the
//! output shape and the parameter counts come from both models' summaries, and the
//! outputs are compared after the crate's parameters have been copied into the student's
//! model, tensor by tensor in the order in which dfdx visits them. No expected number is
//! written in this file; all of them are computed from the crate's type when a check runs.

use std::any::type_name;
use std::fmt::Debug;

use dfdx::nn::modules::{BuildOnDevice, Module, ModuleMut};
use dfdx::nn::tensor_collection::{
    RecursiveWalker, TensorCollection, TensorOptions, TensorVisitor, ViewTensorMut, ViewTensorName,
    ViewTensorRef,
};
use dfdx::prelude::*;
use ndarray::Array4;
use rand::{Rng, SeedableRng};

use super::placeholder::Todo;
use super::verdict::{internal_error, run_student};
use super::{images_tensor, random_array, shape_str, Built, Verdict};
use cnnkit_nn::layers::{Inception, InceptionName, ResidualUnitDown, ResidualUnitName};
use cnnkit_nn::model::{fmt_thousands, summary, Describe, FeatureShape, Summary};
use cnnkit_nn::ops::Images;

/// Absolute and relative tolerance of the output comparison: `|a - b| <= TOL + TOL * |b|`.
/// 1e-4, not tighter: in inference the crate's residual units fold each batch
/// normalization into the convolution before it (scaled filters), which rounds
/// differently from a student's tuple of separate layers; on the test input the two
/// differ by up to 2.1e-5 at values near 0.7 (measured 2026-12-03). A wrong unit (a ReLU
/// out of place, a missing BN or stride) differs by whole units.
const TOL: f32 = 1e-4;

/// The parts of a model-building check. Each part is scored on its own: a model can pass
/// one and fail another, and a notebook can give each part a check cell (and points) of
/// its own with [`check_residual_unit_part`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnitPart {
    /// (가) The output shape for the exercise's input, read from [`summary`], so that a
    /// layer that does not fit is reported with its name instead of a panic.
    Shape,
    /// (나) Total, trainable and non-trainable parameter counts, as in Keras' summary.
    Params,
    /// (다) The outputs: with the crate's parameters copied in, the same values as the
    /// crate's type on a random input, in inference mode and (with batch normalization) in
    /// training mode.
    Outputs,
}

impl UnitPart {
    /// The three parts in order.
    pub const ALL: [UnitPart; 3] = [UnitPart::Shape, UnitPart::Params, UnitPart::Outputs];

    /// The Korean label of the part in verdicts.
    ///
    /// ```
    /// assert_eq!(cnnkit_homework::UnitPart::Params.label(), "(나) 파라미터 수");
    /// ```
    pub fn label(self) -> &'static str {
        match self {
            UnitPart::Shape => "(가) 출력 모양",
            UnitPart::Params => "(나) 파라미터 수",
            UnitPart::Outputs => "(다) 출력 값",
        }
    }
}

/// The output of a forward pass as the checkers read it: its shape and its values.
///
/// Implemented for every `f32` CPU tensor, with or without a tape.
pub trait ForwardOutput {
    /// The shape, batch first.
    fn dims(&self) -> Vec<usize>;
    /// The values in memory order (row-major, NHWC for images).
    fn values(&self) -> Vec<f32>;
}

impl<S: Shape, T> ForwardOutput for Tensor<S, f32, Cpu, T> {
    fn dims(&self) -> Vec<usize> {
        self.shape().concrete().into()
    }

    fn values(&self) -> Vec<f32> {
        self.as_vec()
    }
}

/// A forward pass's shape and values, or what stopped it.
type Output = (Vec<usize>, Vec<f32>);

/// A built model that the model-building checkers can examine with `C`-channel images: it
/// describes itself for [`summary`], its tensors can be walked (dfdx's
/// [`TensorCollection`]), and it runs on [`Images<C>`] with `forward` (inference) and
/// `forward_mut` (training mode).
///
/// Every model made of this crate's layers that accepts `Images<C>` implements it (a
/// blanket implementation); a student never implements it by hand. When the compiler
/// says that a model does not implement `LayerModel<32>`, the message below it names the
/// layer that does not fit (usually a main path and a shortcut whose outputs differ).
pub trait LayerModel<const C: usize>: Describe + TensorCollection<f32, Cpu> {
    /// `forward` (inference mode), as shape and values.
    ///
    /// # Errors
    /// The model's error, formatted.
    fn infer(&self, x: Images<C>) -> Result<Output, String>;

    /// `forward_mut` (training mode: batch normalization uses the batch's statistics and
    /// updates its moving averages), as shape and values.
    ///
    /// # Errors
    /// The model's error, formatted.
    fn train_step(&mut self, x: Images<C>) -> Result<Output, String>;
}

impl<const C: usize, M> LayerModel<C> for M
where
    M: Describe + TensorCollection<f32, Cpu> + Module<Images<C>> + ModuleMut<Images<C>>,
    <M as Module<Images<C>>>::Output: ForwardOutput,
    <M as Module<Images<C>>>::Error: Debug,
    <M as ModuleMut<Images<C>>>::Output: ForwardOutput,
    <M as ModuleMut<Images<C>>>::Error: Debug,
{
    fn infer(&self, x: Images<C>) -> Result<Output, String> {
        let y = self.try_forward(x).map_err(|e| format!("{e:?}"))?;
        Ok((y.dims(), y.values()))
    }

    fn train_step(&mut self, x: Images<C>) -> Result<Output, String> {
        let y = self.try_forward_mut(x).map_err(|e| format!("{e:?}"))?;
        Ok((y.dims(), y.values()))
    }
}

// ---------------------------------------------------------------------------------------
// Walking the tensors of a model

/// One parameter tensor of a model, in visiting order.
#[derive(Clone, Debug)]
struct Param {
    /// dfdx's path, such as `0.main.3.gamma`.
    name: String,
    shape: Vec<usize>,
    values: Vec<f32>,
}

impl Param {
    /// The last segment of the path: `weight`, `bias`, `gamma`, ...
    fn field(&self) -> &str {
        self.name.rsplit('.').next().unwrap_or("")
    }

    /// The path without the field: the layer the tensor belongs to.
    fn layer(&self) -> &str {
        self.name.rsplit_once('.').map_or("", |(l, _)| l)
    }
}

/// Collects every tensor with its name, shape and values.
struct Collect(Vec<Param>);

impl TensorVisitor<f32, Cpu> for Collect {
    type Viewer = (ViewTensorRef, ViewTensorName);
    type Err = CpuError;
    type E2 = f32;
    type D2 = Cpu;

    fn visit<S: Shape>(
        &mut self,
        _: TensorOptions<S, f32, Cpu>,
        (t, name): (&Tensor<S, f32, Cpu>, String),
    ) -> Result<Option<Tensor<S, f32, Cpu>>, CpuError> {
        self.0.push(Param {
            name,
            shape: t.shape().concrete().into(),
            values: t.as_vec(),
        });
        Ok(None)
    }
}

fn collect<M: TensorCollection<f32, Cpu>>(model: &M) -> Result<Vec<Param>, String> {
    let mut c = Collect(Vec::new());
    M::iter_tensors(&mut RecursiveWalker {
        m: (model, String::new()),
        f: &mut c,
    })
    .map_err(|e| format!("{e:?}"))?;
    Ok(c.0)
}

/// Writes the given values into the model's tensors, one list per tensor in visiting
/// order (the caller has checked that the shapes agree).
struct Assign<'a> {
    values: &'a [Param],
    next: usize,
}

impl TensorVisitor<f32, Cpu> for Assign<'_> {
    type Viewer = ViewTensorMut;
    type Err = CpuError;
    type E2 = f32;
    type D2 = Cpu;

    fn visit<S: Shape>(
        &mut self,
        _: TensorOptions<S, f32, Cpu>,
        t: &mut Tensor<S, f32, Cpu>,
    ) -> Result<Option<Tensor<S, f32, Cpu>>, CpuError> {
        if let Some(p) = self.values.get(self.next)
            && p.values.len() == t.shape().num_elements()
        {
            t.copy_from(&p.values);
        }
        self.next += 1;
        Ok(None)
    }
}

fn assign<M: TensorCollection<f32, Cpu>>(model: &mut M, values: &[Param]) -> Result<(), String> {
    let mut a = Assign { values, next: 0 };
    M::iter_tensors(&mut RecursiveWalker {
        m: model,
        f: &mut a,
    })
    .map_err(|e| format!("{e:?}"))?;
    Ok(())
}

/// Gives the reference's non-weight tensors random values (biases, `beta` and moving means
/// in `-0.5..0.5`, `gamma` and moving variances in `0.5..1.5`), so that a layer in the
/// wrong place changes the output; the convolution weights keep their seeded Glorot values.
struct Randomize(rand::rngs::StdRng);

impl TensorVisitor<f32, Cpu> for Randomize {
    type Viewer = (ViewTensorMut, ViewTensorName);
    type Err = CpuError;
    type E2 = f32;
    type D2 = Cpu;

    fn visit<S: Shape>(
        &mut self,
        _: TensorOptions<S, f32, Cpu>,
        (t, name): (&mut Tensor<S, f32, Cpu>, String),
    ) -> Result<Option<Tensor<S, f32, Cpu>>, CpuError> {
        let (lo, hi) = match name.rsplit('.').next().unwrap_or("") {
            "weight" => return Ok(None),
            "gamma" | "moving_variance" => (0.5f32, 1.5f32),
            _ => (-0.5, 0.5),
        };
        let values: Vec<f32> = (0..t.shape().num_elements())
            .map(|_| self.0.gen_range(lo..hi))
            .collect();
        t.copy_from(&values);
        Ok(None)
    }
}

// ---------------------------------------------------------------------------------------
// The exercises

/// Which exercise: the hints and the names of the model's parts differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Residual,
    Inception,
}

/// What a model-building exercise is checked against.
struct Spec {
    kind: Kind,
    title: &'static str,
    /// The crate's type as the verdicts name it.
    book: &'static str,
    input: [usize; 3],
    batch: usize,
    seed: u64,
    /// The summary kind of the crate's own type, which the student must not use.
    forbidden_kind: &'static str,
    /// Run the comparison in training mode too (batch normalization).
    training: bool,
    rejection: &'static str,
    not_done: &'static str,
    /// The points of a check of all three parts in one cell (`ex06_inception_check`), a
    /// third for each part that is right.
    points: f64,
}

const RESIDUAL: Spec = Spec {
    kind: Kind::Residual,
    // The notebook's three check cells of 2, 2 and 3 points; 7 for all in one verdict.
    points: 7.0,
    title: "연습 6-1 · 보폭 2의 잔차 유닛 (MyResidualUnit)",
    book: "책의 ResidualUnit(64, strides=2)",
    input: [28, 28, 32],
    batch: 2,
    seed: 61,
    forbidden_kind: "ResidualUnit",
    training: true,
    rejection: "crate의 잔차 유닛(ResidualUnitDown, ResidualUnit, 또는 이름이 ResidualUnit인 Block)을 \
                그대로 썼습니다. 이 과제는 잔차 유닛을 Conv2DNoBias, BatchNorm, Relu, Residual 층으로 \
                직접 조립하는 것입니다.",
    not_done: "과제 셀의 타입에 자리 표시자 Todo가 아직 남아 있습니다. Todo를 모두 층으로 바꾼 뒤 \
               과제 셀과 이 셀을 다시 실행하세요.",
};

const INCEPTION: Spec = Spec {
    kind: Kind::Inception,
    points: 3.0,
    title: "연습 6-2 · 인셉션 모듈 (MyInception)",
    book: "crate의 Inception<192, 64, 96, 128, 16, 32, 32, 256>",
    input: [28, 28, 192],
    batch: 2,
    seed: 62,
    forbidden_kind: "Inception",
    training: false,
    rejection: "crate의 인셉션 모듈(Inception, 또는 이름이 Inception인 Block)을 그대로 썼습니다. \
                이 과제는 인셉션 모듈을 Conv2D, MaxPool2D, Concat 층으로 직접 조립하는 것입니다.",
    not_done: "과제 셀의 타입에 자리 표시자 Todo가 아직 남아 있습니다. Todo를 층으로 바꾼 뒤 \
               과제 셀과 이 셀을 다시 실행하세요.",
};

/// The full type name that marks the crate's own unit inside a student's type (the name
/// of its block, which a summary would hide inside another block).
fn forbidden_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Residual => type_name::<ResidualUnitName>(),
        Kind::Inception => type_name::<InceptionName>(),
    }
}

/// The crate's model, its summary, its tensors and its outputs on the test input.
struct Reference {
    summary: Summary,
    params: Vec<Param>,
    input: Array4<f32>,
    inference: Output,
    /// With `Spec::training`: the output of `forward_mut` and the tensors after it.
    training: Option<(Output, Vec<Param>)>,
}

fn reference<R, const C: usize>(spec: &Spec) -> crate::Result<Reference>
where
    R: BuildOnDevice<Cpu, f32>,
    Built<R>: LayerModel<C>,
{
    let invalid = |what: &str, e: String| crate::Error::invalid(what, e);
    let mut model = Cpu::seed_from_u64(spec.seed).build_module::<R, f32>();
    <Built<R>>::iter_tensors(&mut RecursiveWalker {
        m: (&mut model, String::new()),
        f: &mut Randomize(rand::rngs::StdRng::seed_from_u64(spec.seed + 1)),
    })
    .map_err(|e| invalid("reference parameters", format!("{e:?}")))?;
    let summary = summary(&model, spec.input)?;
    let params = collect(&model).map_err(|e| invalid("reference parameters", e))?;
    let [h, w, c] = spec.input;
    let input = random_array(spec.seed + 2, (spec.batch, h, w, c));
    let inference = model
        .infer(images_tensor::<C>(&input)?)
        .map_err(|e| invalid("reference forward", e))?;
    let training = if spec.training {
        let out = model
            .train_step(images_tensor::<C>(&input)?)
            .map_err(|e| invalid("reference forward_mut", e))?;
        let after = collect(&model).map_err(|e| invalid("reference parameters", e))?;
        Some((out, after))
    } else {
        None
    };
    Ok(Reference {
        summary,
        params,
        input,
        inference,
        training,
    })
}

fn residual_reference() -> crate::Result<Reference> {
    reference::<ResidualUnitDown<32, 64>, 32>(&RESIDUAL)
}

fn inception_reference() -> crate::Result<Reference> {
    reference::<Inception<192, 64, 96, 128, 16, 32, 32, 256>, 192>(&INCEPTION)
}

// ---------------------------------------------------------------------------------------
// Running the student's model

/// What the student's model did; each step that panicked holds the panic's message.
struct Observed {
    summary: Result<Summary, String>,
    params: Result<Vec<Param>, String>,
    /// `None` when the tensor lists differ (nothing was copied or run).
    copy: Option<Result<(), String>>,
    inference: Option<Result<Output, String>>,
    training: Option<Result<(Output, Vec<Param>), String>>,
}

/// How the whole check ends before its parts are scored.
enum Early {
    NotDone(String),
    Rejected,
    Failed(String),
    Internal(crate::Error),
}

fn observe<M, const C: usize>(spec: &Spec, reference: &Reference) -> Result<Observed, Early>
where
    M: BuildOnDevice<Cpu, f32>,
    Built<M>: LayerModel<C>,
{
    let name = type_name::<M>();
    let todos = name.matches(type_name::<Todo>()).count();
    if todos > 0 {
        return Err(Early::NotDone(format!(
            "{} (남은 Todo: {todos}개)",
            spec.not_done
        )));
    }
    if name.contains(forbidden_type(spec.kind)) {
        return Err(Early::Rejected);
    }
    let mut model = run_student(|| Cpu::seed_from_u64(0).build_module::<M, f32>())
        .map_err(|p| Early::Failed(format!("모델을 만들다가 멈췄습니다: {p}")))?;
    let summary = match run_student(|| summary(&model, spec.input)) {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(e.to_string()),
        Err(p) => Err(format!("summary가 멈췄습니다: {p}")),
    };
    if let Ok(s) = &summary
        && s.layers.iter().any(|l| l.kind == spec.forbidden_kind)
    {
        return Err(Early::Rejected);
    }
    let params = run_student(|| collect(&model)).and_then(|r| r);
    let mut observed = Observed {
        summary,
        params,
        copy: None,
        inference: None,
        training: None,
    };
    let same = match &observed.params {
        Ok(list) => first_difference(spec, &reference.params, list).is_none(),
        Err(_) => false,
    };
    if !same {
        return Ok(observed);
    }
    let copied = run_student(|| assign(&mut model, &reference.params)).and_then(|r| r);
    let ok = copied.is_ok();
    observed.copy = Some(copied);
    if !ok {
        return Ok(observed);
    }
    let x = images_tensor::<C>(&reference.input).map_err(Early::Internal)?;
    observed.inference = Some(run_student(|| model.infer(x.clone())).and_then(|r| r));
    if spec.training {
        observed.training = Some(
            run_student(|| {
                let out = model.train_step(x)?;
                Ok((out, collect(&model)?))
            })
            .and_then(|r| r),
        );
    }
    Ok(observed)
}

/// Runs the check of `parts` for the student's model type `M` with `C` input channels.
fn check_model<M, const C: usize>(
    spec: &Spec,
    reference: crate::Result<Reference>,
    parts: &[UnitPart],
) -> Verdict
where
    M: BuildOnDevice<Cpu, f32>,
    Built<M>: LayerModel<C>,
{
    let title = exercise_name(spec, parts);
    let reference = match reference {
        Ok(r) => r,
        Err(e) => return internal_error(&title, e),
    };
    match observe::<M, C>(spec, &reference) {
        Ok(observed) => score(spec, &reference, &observed, parts),
        Err(early) => early_verdict(spec, &title, early),
    }
}

// ---------------------------------------------------------------------------------------
// Scoring (not generic: compiled once, in this crate)

fn exercise_name(spec: &Spec, parts: &[UnitPart]) -> String {
    match parts {
        [one] => format!("{} · {}", spec.title, one.label()),
        _ => spec.title.to_string(),
    }
}

fn early_verdict(spec: &Spec, title: &str, early: Early) -> Verdict {
    match early {
        Early::NotDone(hint) => Verdict::not_done(title, hint),
        Early::Rejected => Verdict::wrong(title, vec![spec.rejection.to_string()]),
        Early::Failed(problem) => Verdict::wrong(title, vec![problem]),
        Early::Internal(e) => internal_error(title, e),
    }
}

/// The result of one part: passed (what was verified) or failed (the problems).
enum Outcome {
    Pass(String),
    Fail(Vec<String>),
}

fn score(spec: &Spec, reference: &Reference, observed: &Observed, parts: &[UnitPart]) -> Verdict {
    let title = exercise_name(spec, parts);
    let outcomes: Vec<(UnitPart, Outcome)> = parts
        .iter()
        .map(|&p| {
            let o = match p {
                UnitPart::Shape => shape_part(spec, reference, observed),
                UnitPart::Params => params_part(spec, reference, observed),
                UnitPart::Outputs => outputs_part(spec, reference, observed),
            };
            (p, o)
        })
        .collect();
    if let [(_, outcome)] = outcomes.as_slice() {
        return match outcome {
            Outcome::Pass(detail) => Verdict::correct(title, vec![detail.clone()]),
            Outcome::Fail(problems) => Verdict::wrong(title, problems.clone()),
        };
    }
    let all_pass = outcomes.iter().all(|(_, o)| matches!(o, Outcome::Pass(_)));
    let lines: Vec<String> = outcomes
        .iter()
        .map(|(p, o)| match o {
            Outcome::Pass(detail) => format!("✅ {}: {detail}", p.label()),
            Outcome::Fail(problems) => format!("❌ {}: {}", p.label(), problems.join("\n")),
        })
        .collect();
    let passed = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Pass(_)))
        .count();
    if all_pass {
        Verdict::correct(title, lines)
    } else {
        Verdict::partly_wrong(
            title,
            lines,
            crate::Credit {
                passed,
                cases: outcomes.len(),
                max_points: spec.points,
            },
        )
    }
}

fn input_str(spec: &Spec) -> String {
    let [h, w, c] = spec.input;
    format!("{h}x{w}x{c}")
}

fn shape_part(spec: &Spec, reference: &Reference, observed: &Observed) -> Outcome {
    let want = reference.summary.output();
    let s = match &observed.summary {
        Ok(s) => s,
        Err(e) => {
            return Outcome::Fail(vec![format!(
                "{} 입력에서 층의 모양이 맞지 않습니다 (summary의 오류): {e}",
                input_str(spec)
            )])
        }
    };
    let got = s.output();
    if got == want {
        return Outcome::Pass(format!("{} 입력의 출력이 {want}입니다.", input_str(spec)));
    }
    let mut problems = vec![format!("출력의 모양이 {want}이어야 하는데 {got}입니다.")];
    if let (
        FeatureShape::Image { h, w, c },
        FeatureShape::Image {
            h: wh,
            w: ww,
            c: wc,
        },
    ) = (got, want)
    {
        let [ih, iw, _] = spec.input;
        match spec.kind {
            Kind::Residual => {
                if (h, w) == (ih, iw) {
                    problems.push(
                        "힌트: 높이와 너비가 입력과 같습니다. 주 경로의 첫 합성곱과 지름길의 1x1 합성곱이 \
                         보폭(stride) 2로 크기를 반으로 줄여야 합니다."
                            .into(),
                    );
                } else if h < wh || w < ww {
                    problems.push(
                        "힌트: 크기가 너무 많이 줄었습니다. 보폭 2는 주 경로의 첫 합성곱에만 두고, \
                         두 번째 합성곱은 보폭 1과 \"same\" 패딩으로 크기를 유지합니다."
                            .into(),
                    );
                }
            }
            Kind::Inception => {
                if (h, w) != (wh, ww) {
                    problems.push(
                        "힌트: 인셉션 모듈의 모든 층은 보폭 1과 \"same\" 패딩으로 높이와 너비를 유지합니다 \
                         (최대 풀링도 MaxPool2D<3, 1, Same>)."
                            .into(),
                    );
                }
            }
        }
        if c != wc {
            problems.push(format!("힌트: 출력 채널이 {wc}개여야 하는데 {c}개입니다."));
        }
    }
    Outcome::Fail(problems)
}

fn params_part(spec: &Spec, reference: &Reference, observed: &Observed) -> Outcome {
    let s = match &observed.summary {
        Ok(s) => s,
        Err(_) => {
            return Outcome::Fail(vec![
            "summary가 실패해서 파라미터를 셀 수 없습니다. 먼저 (가) 출력 모양의 문제를 고치세요."
                .into(),
        ])
        }
    };
    let r = &reference.summary;
    let counts = [
        (
            "전체 파라미터 (Total params)",
            s.total_params(),
            r.total_params(),
        ),
        (
            "훈련되는 파라미터 (Trainable params)",
            s.trainable_params(),
            r.trainable_params(),
        ),
        (
            "훈련되지 않는 파라미터 (Non-trainable params)",
            s.non_trainable_params(),
            r.non_trainable_params(),
        ),
    ];
    let n = |v: usize| fmt_thousands(v as i64);
    let mut problems: Vec<String> = counts
        .iter()
        .filter(|(_, got, want)| got != want)
        .map(|&(what, got, want)| {
            let (diff, dir) = if got > want {
                (got - want, "많습니다")
            } else {
                (want - got, "적습니다")
            };
            format!(
                "{what}: 여러분의 모델 {}개, {} {}개 ({}개 {dir}).",
                n(got),
                spec.book,
                n(want),
                n(diff)
            )
        })
        .collect();
    if problems.is_empty() {
        return Outcome::Pass(format!(
            "전체 {}개 = 훈련되는 {}개 + 훈련되지 않는 {}개로 {}의 수와 같습니다.",
            n(r.total_params()),
            n(r.trainable_params()),
            n(r.non_trainable_params()),
            spec.book
        ));
    }
    let convs = s.layers.iter().filter(|l| l.kind == "Conv2D");
    let no_bias = |l: &&cnnkit_nn::model::LayerRow| l.config.contains("use_bias=False");
    let bns = s
        .layers
        .iter()
        .filter(|l| l.kind == "BatchNormalization")
        .count();
    let book_bns = reference
        .params
        .iter()
        .filter(|p| p.field() == "gamma")
        .count();
    match spec.kind {
        Kind::Residual => {
            let biased = convs.filter(|l| !no_bias(l)).count();
            if biased > 0 {
                problems.push(format!(
                    "힌트: 편향이 있는 Conv2D가 {biased}개 있습니다. 배치 정규화 바로 앞의 합성곱에는 편향이 \
                     필요 없으므로 (BN의 beta가 같은 일을 합니다) Conv2DNoBias를 씁니다 (케라스의 use_bias=False)."
                ));
            }
            if bns != book_bns {
                problems.push(format!(
                    "힌트: BatchNorm 층이 {bns}개인데 책의 유닛에는 {book_bns}개 있습니다: 주 경로의 두 합성곱 뒤에 \
                     하나씩, 지름길의 1x1 합성곱 뒤에 하나. BatchNorm 하나는 채널마다 훈련되는 파라미터 2개(gamma, beta)와 \
                     훈련되지 않는 파라미터 2개(이동 평균, 이동 분산)를 가집니다."
                ));
            }
        }
        Kind::Inception => {
            let unbiased = convs.filter(no_bias).count();
            if unbiased > 0 {
                problems.push(format!(
                    "힌트: 편향이 없는 합성곱(Conv2DNoBias)이 {unbiased}개 있습니다. 인셉션 모듈의 합성곱은 모두 \
                     편향과 ReLU가 있는 Conv2D<..., Same, Relu>입니다."
                ));
            }
            if bns > 0 {
                problems.push("힌트: GoogLeNet의 인셉션 모듈에는 배치 정규화가 없습니다.".into());
            }
        }
    }
    Outcome::Fail(problems)
}

/// Korean ordinal for 1, 2, 3, ...
fn ordinal(k: usize) -> String {
    match k {
        1 => "첫 번째".into(),
        2 => "두 번째".into(),
        3 => "세 번째".into(),
        4 => "네 번째".into(),
        5 => "다섯 번째".into(),
        _ => format!("{k}번째"),
    }
}

/// The part of the model a tensor's path belongs to: the main path or the shortcut of a
/// residual unit, a branch of an inception module.
fn section(kind: Kind, path: &str) -> String {
    let parts: Vec<&str> = path.split('.').collect();
    match kind {
        Kind::Residual => {
            if parts.contains(&"shortcut") {
                "지름길".into()
            } else if parts.contains(&"main") {
                "주 경로".into()
            } else {
                String::new()
            }
        }
        Kind::Inception => parts
            .iter()
            .position(|p| *p == "branches")
            .and_then(|i| parts.get(i + 1))
            .and_then(|k| k.parse::<usize>().ok())
            .map_or_else(String::new, |k| format!("갈래 {}", k + 1)),
    }
}

/// One layer of the reference: its section, kind and the tensors it holds.
struct LayerInfo {
    section: String,
    /// `합성곱` or `BN` (or the field names of another layer).
    kind: String,
    /// `(3, 3, 32, 64)`, `(1, 1, 192, 64) + 편향 (64)`, `(64)`.
    shape: String,
    /// Which one of its kind in its section, from 1.
    nth: usize,
    tensors: std::ops::Range<usize>,
}

fn layers(kind: Kind, params: &[Param]) -> Vec<LayerInfo> {
    let mut out: Vec<LayerInfo> = Vec::new();
    let mut i = 0;
    while i < params.len() {
        let layer = params[i].layer();
        let mut j = i;
        while j < params.len() && params[j].layer() == layer {
            j += 1;
        }
        let group = &params[i..j];
        let fields: Vec<&str> = group.iter().map(|p| p.field()).collect();
        let (kind_name, shape) = if fields.contains(&"gamma") {
            ("BN".to_string(), shape_str(&group[0].shape))
        } else if fields.first() == Some(&"weight") {
            let mut s = shape_str(&group[0].shape);
            if let Some(b) = group.iter().find(|p| p.field() == "bias") {
                s = format!("{s} + 편향 {}", shape_str(&b.shape));
            }
            ("합성곱".to_string(), s)
        } else {
            (fields.join(", "), shape_str(&group[0].shape))
        };
        let sec = section(kind, layer);
        let nth = 1 + out
            .iter()
            .filter(|l| l.section == sec && l.kind == kind_name)
            .count();
        out.push(LayerInfo {
            section: sec,
            kind: kind_name,
            shape,
            nth,
            tensors: i..j,
        });
        i = j;
    }
    out
}

/// The reference tensor `i` in words: `주 경로의 두 번째 합성곱의 weight (3, 3, 64, 64)`.
fn tensor_label(kind: Kind, params: &[Param], i: usize) -> String {
    let p = &params[i];
    let infos = layers(kind, params);
    let Some(l) = infos.iter().find(|l| l.tensors.contains(&i)) else {
        return format!("{} {}", p.name, shape_str(&p.shape));
    };
    let owner = if l.section.is_empty() {
        format!("{} {}", ordinal(l.nth), l.kind)
    } else {
        format!("{}의 {} {}", l.section, ordinal(l.nth), l.kind)
    };
    format!("{owner}의 {} {}", p.field(), shape_str(&p.shape))
}

/// The reference's layers in visiting order, one line per section.
fn book_order(spec: &Spec, params: &[Param]) -> String {
    let infos = layers(spec.kind, params);
    let mut lines: Vec<(String, Vec<String>)> = Vec::new();
    for l in &infos {
        let item = format!("{} {}", l.kind, l.shape);
        match lines.last_mut() {
            Some((sec, items)) if *sec == l.section => items.push(item),
            _ => lines.push((l.section.clone(), vec![item])),
        }
    }
    let mut text = format!(
        "{}의 순서 (파라미터 텐서 {}개, dfdx가 모델을 따라가며 방문하는 순서):",
        spec.book,
        params.len()
    );
    for (sec, items) in lines {
        let sec = if sec.is_empty() {
            "나머지".to_string()
        } else {
            sec
        };
        text.push_str(&format!("\n{sec}: {}", items.join(" → ")));
    }
    if infos.iter().any(|l| l.kind == "BN") {
        text.push_str(
            "\nBN 하나는 텐서 4개입니다: gamma, beta, moving_mean, moving_variance (모양은 모두 채널 수).",
        );
    }
    if spec.kind == Kind::Inception {
        text.push_str("\n최대 풀링 층에는 파라미터가 없습니다.");
    }
    text
}

/// `None` when both lists have the same tensors in the same order (shape and kind: a
/// bias and a BN's `gamma` may have the same shape); otherwise where they first differ, in
/// words.
fn first_difference(spec: &Spec, book: &[Param], student: &[Param]) -> Option<String> {
    let n = book.len().max(student.len());
    for i in 0..n {
        let message = match (book.get(i), student.get(i)) {
            (Some(b), Some(s)) if b.shape == s.shape && b.field() == s.field() => continue,
            (Some(_), Some(s)) => format!(
                "{}번째 파라미터 텐서가 다릅니다: {}에서는 {}인데, 여러분의 모델에서는 `{}` {}입니다.",
                i + 1,
                spec.book,
                tensor_label(spec.kind, book, i),
                s.name,
                shape_str(&s.shape)
            ),
            (Some(_), None) => format!(
                "여러분의 모델에는 파라미터 텐서가 {}개뿐입니다 ({}에는 {}개): {}번째인 {}부터 없습니다.",
                student.len(),
                spec.book,
                book.len(),
                i + 1,
                tensor_label(spec.kind, book, i)
            ),
            (None, Some(s)) => format!(
                "여러분의 모델에는 파라미터 텐서가 {}개로 {}({}개)보다 많습니다: {}번째 텐서 `{}` {}에 \
                 해당하는 것이 없습니다.",
                student.len(),
                spec.book,
                book.len(),
                i + 1,
                s.name,
                shape_str(&s.shape)
            ),
            (None, None) => continue,
        };
        return Some(message);
    }
    None
}

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() <= TOL + TOL * b.abs()
}

/// Where a forward pass's output differs from the reference's, in words.
fn output_difference(what: &str, want: &Output, got: &Output) -> Option<String> {
    let (wd, wv) = want;
    let (gd, gv) = got;
    if wd != gd {
        return Some(format!(
            "{what}의 출력 모양이 {}이어야 하는데 {}입니다.",
            shape_str(wd),
            shape_str(gd)
        ));
    }
    let bad: Vec<usize> = (0..wv.len())
        .filter(|&k| !close(gv[k], wv[k]) || gv[k].is_nan())
        .collect();
    let first = *bad.first()?;
    let max = bad
        .iter()
        .map(|&k| (gv[k] - wv[k]).abs())
        .fold(0.0f32, f32::max);
    // The position of the flat index `first` in the output's shape.
    let mut at = vec![0; wd.len()];
    let mut rest = first;
    for (axis, &d) in wd.iter().enumerate().rev() {
        at[axis] = rest % d.max(1);
        rest /= d.max(1);
    }
    let at: Vec<String> = at.iter().map(|v| v.to_string()).collect();
    Some(format!(
        "{what}의 출력이 다릅니다: 값 {}개 중 {}개가 허용 오차 {TOL:e}를 넘습니다 (가장 큰 차이 {max:.2e}). \
         첫 번째로 다른 위치 [{}] (이미지, 행, 열, 채널): 기대값 {:.5}, 여러분의 값 {:.5}.",
        fmt_thousands(wv.len() as i64),
        fmt_thousands(bad.len() as i64),
        at.join(", "),
        wv[first],
        gv[first]
    ))
}

fn outputs_part(spec: &Spec, reference: &Reference, observed: &Observed) -> Outcome {
    let student = match &observed.params {
        Ok(list) => list,
        Err(e) => {
            return Outcome::Fail(vec![format!(
                "모델의 파라미터 텐서를 읽다가 멈췄습니다: {e}"
            )])
        }
    };
    if let Some(difference) = first_difference(spec, &reference.params, student) {
        return Outcome::Fail(vec![
            difference,
            book_order(spec, &reference.params),
            "출력을 비교하려면 책의 파라미터를 여러분의 모델에 같은 순서로 복사해야 하므로, 층을 책과 같은 \
             순서로 두세요."
                .into(),
        ]);
    }
    match &observed.copy {
        Some(Ok(())) => {}
        Some(Err(e)) => {
            return Outcome::Fail(vec![format!(
                "책의 파라미터를 여러분의 모델에 복사하다가 멈췄습니다: {e}"
            )])
        }
        None => {
            return Outcome::Fail(vec![
                "검사기가 파라미터를 복사하지 못했습니다 (강사에게 알려 주세요).".into(),
            ])
        }
    }
    let mut problems = Vec::new();
    // Some output differs (rather than a panic): worth the hints below.
    let mut differs = false;
    let mut negative = false;
    match &observed.inference {
        Some(Ok(out)) => {
            if let Some(d) = output_difference("추론 모드(forward)", &reference.inference, out)
            {
                problems.push(d);
                differs = true;
                negative |= out.1.iter().any(|v| *v < 0.0);
            }
        }
        Some(Err(e)) => problems.push(format!("추론 모드(forward)에서 모델이 멈췄습니다: {e}")),
        None => problems.push("추론 모드의 출력이 없습니다 (강사에게 알려 주세요).".into()),
    }
    if let Some((want, book_after)) = &reference.training {
        match &observed.training {
            Some(Ok((out, after))) => {
                if let Some(d) = output_difference("훈련 모드(forward_mut)", want, out) {
                    problems.push(d);
                    differs = true;
                    negative |= out.1.iter().any(|v| *v < 0.0);
                } else if let Some(d) = state_difference(spec, book_after, after) {
                    problems.push(d);
                    differs = true;
                }
            }
            Some(Err(e)) => {
                problems.push(format!("훈련 모드(forward_mut)에서 모델이 멈췄습니다: {e}"))
            }
            None => problems.push("훈련 모드의 출력이 없습니다 (강사에게 알려 주세요).".into()),
        }
    }
    if problems.is_empty() {
        let [h, w, c] = spec.input;
        let modes = if spec.training {
            "추론 모드와 훈련 모드의 출력이 모두"
        } else {
            "출력이"
        };
        let mut detail = format!(
            "{}의 파라미터를 복사해 넣고 ({}, {h}, {w}, {c}) 모양의 무작위 입력을 주면 {modes} 두 모델에서 \
             같습니다 (허용 오차 {TOL:e}).",
            spec.book, spec.batch
        );
        if spec.training {
            detail.push_str(" 훈련 모드 뒤의 BN 이동 평균과 이동 분산도 같습니다.");
        }
        return Outcome::Pass(detail);
    }
    if !differs {
        return Outcome::Fail(problems);
    }
    if spec.kind == Kind::Residual && negative {
        problems.push(
            "힌트: 출력에 음수가 있습니다. 잔차 유닛은 주 경로와 지름길의 합에 ReLU를 적용합니다: \
             relu(main(x) + shortcut(x))."
                .into(),
        );
    }
    if spec.kind == Kind::Residual {
        problems.push(
            "힌트: 파라미터 텐서의 종류, 모양, 순서가 책과 같으므로 층의 종류와 순서는 맞을 가능성이 큽니다. 보폭, 패딩, 활성화 함수와 \
             ReLU의 위치(주 경로에서는 첫 BN 뒤에만)를 확인하세요."
                .into(),
        );
    } else {
        problems.push(
            "힌트: 파라미터 텐서의 종류, 모양, 순서가 책과 같으므로 층의 종류와 순서는 맞을 가능성이 큽니다. 패딩(\"same\"), 활성화 함수(ReLU), \
             최대 풀링의 크기와 보폭(3, 1), 갈래의 순서를 확인하세요."
                .into(),
        );
    }
    Outcome::Fail(problems)
}

/// Where the tensors after a training-mode pass differ (the moving statistics).
fn state_difference(spec: &Spec, book: &[Param], student: &[Param]) -> Option<String> {
    for (i, (b, s)) in book.iter().zip(student).enumerate() {
        if let Some(k) = (0..b.values.len()).find(|&k| {
            s.values
                .get(k)
                .is_none_or(|&v| !close(v, b.values[k]) || v.is_nan())
        }) {
            return Some(format!(
                "훈련 모드의 순전파 한 번 뒤 {}의 값이 다릅니다 ({}번째 값: 기대값 {:.5}, 여러분의 값 {:.5}).",
                tensor_label(spec.kind, book, i),
                k + 1,
                b.values[k],
                s.values.get(k).copied().unwrap_or(f32::NAN)
            ));
        }
    }
    None
}

// ---------------------------------------------------------------------------------------
// The checkers

/// Checks the book's residual unit with stride 2, `ResidualUnit(64, strides=2)` on a
/// 28x28x32 input, that the student has built from layers as a type `M` (the builder
/// type, as written in a type alias), and returns one verdict listing every part.
///
/// The model must be made of [`Conv2DNoBias`](cnnkit_nn::layers::Conv2DNoBias),
/// [`BatchNorm`](cnnkit_nn::layers::BatchNorm), [`Relu`](cnnkit_nn::layers::Relu) and
/// [`Residual`](cnnkit_nn::layers::Residual); it is compared with the crate's
/// [`ResidualUnitDown<32, 64>`], built beside it. Each part is scored on its own
/// ([`UnitPart`]):
///
/// * (가) **output shape**: the student's [`summary`] for a 28x28x32 input ends in the
///   crate unit's output shape (14x14x64); a layer that does not fit is reported with the
///   summary's message, not as a panic;
/// * (나) **parameter counts**: total, trainable and non-trainable counts equal the crate
///   unit's (computed from its summary when the check runs), with hints for convolutions
///   with a bias and for a wrong number of batch normalizations;
/// * (다) **outputs**: the crate unit's parameters (random ones, not the initial values)
///   are copied into the student's model in dfdx's visiting order; if the two lists of
///   tensor shapes differ, the verdict names the first position that differs and lists
///   the book's order (main path: convolution, BN, convolution, BN; then the shortcut:
///   1x1 convolution, BN). Otherwise both models run on the same random batch, in
///   inference mode (`forward`) and in training mode (`forward_mut`), and the outputs
///   and the batch normalizations' updated moving averages must agree within `TOL` (1e-4).
///
/// A type that still contains the placeholder [`Todo`] is not done yet; a type that uses
/// the crate's own unit (a [`ResidualUnitDown`] or `ResidualUnit`, or any block whose
/// summary kind is `ResidualUnit`) is wrong, with a message saying that the task is to
/// build it from layers. Panics are caught and reported with their message: one in the
/// forward pass fails only (다), one in `summary` only (가) and (나); only a model that
/// panics while it is being built fails every part.
///
/// ```
/// use cnnkit_homework::*;
/// use cnnkit_nn::prelude::*;
/// type MyResidualUnit = (
///     Residual<
///         (
///             Conv2DNoBias<32, 64, 3, 2, Same>,
///             BatchNorm<64>,
///             Relu,
///             Conv2DNoBias<64, 64, 3, 1, Same>,
///             BatchNorm<64>,
///         ),
///         (Conv2DNoBias<32, 64, 1, 2, Same>, BatchNorm<64>),
///     >,
///     Relu,
/// );
/// let v = check_residual_unit::<MyResidualUnit>();
/// assert!(v.is_correct(), "{v}");
/// // The skeleton of the student notebook is not done yet:
/// type Skeleton = (Residual<(Todo, Todo, Todo, Todo, Todo), (Todo, Todo)>, Relu);
/// assert!(check_residual_unit::<Skeleton>().is_not_done());
/// // The crate's own unit is not an answer:
/// let v = check_residual_unit::<ResidualUnitDown<32, 64>>();
/// assert!(v.is_wrong() && v.to_string().contains("직접 조립"), "{v}");
/// ```
pub fn check_residual_unit<M>() -> Verdict
where
    M: BuildOnDevice<Cpu, f32>,
    Built<M>: LayerModel<32>,
{
    check_model::<M, 32>(&RESIDUAL, residual_reference(), &UnitPart::ALL)
}

/// One part of [`check_residual_unit`], as a verdict of its own: for a notebook that gives
/// each part a check cell and points of its own (partial credit).
///
/// The not-done and rejection rules of [`check_residual_unit`] apply to every part.
///
/// ```
/// use cnnkit_homework::*;
/// use cnnkit_nn::prelude::*;
/// // Stride 1 everywhere: the tensors and the parameter counts are right, the shape is not.
/// type Stride1 = (
///     Residual<
///         (
///             Conv2DNoBias<32, 64, 3, 1, Same>,
///             BatchNorm<64>,
///             Relu,
///             Conv2DNoBias<64, 64, 3, 1, Same>,
///             BatchNorm<64>,
///         ),
///         (Conv2DNoBias<32, 64, 1, 1, Same>, BatchNorm<64>),
///     >,
///     Relu,
/// );
/// assert!(check_residual_unit_part::<Stride1>(UnitPart::Params).is_correct());
/// let shape = check_residual_unit_part::<Stride1>(UnitPart::Shape);
/// assert!(shape.is_wrong() && shape.to_string().contains("보폭"), "{shape}");
/// ```
pub fn check_residual_unit_part<M>(part: UnitPart) -> Verdict
where
    M: BuildOnDevice<Cpu, f32>,
    Built<M>: LayerModel<32>,
{
    check_model::<M, 32>(&RESIDUAL, residual_reference(), &[part])
}

/// Checks an inception module built from layers ([`Conv2D`](cnnkit_nn::layers::Conv2D),
/// [`MaxPool2D`](cnnkit_nn::layers::MaxPool2D), [`Concat`](cnnkit_nn::layers::Concat))
/// against the crate's `Inception<192, 64, 96, 128, 16, 32, 32, 256>` (GoogLeNet's module
/// 3a) on a 28x28x192 input, with the parts of [`check_residual_unit`]: output shape
/// (28x28x256), parameter counts, and outputs after copying the crate module's parameters
/// (inference mode only: the module has no batch normalization). The branches must be in
/// the book's order: 1x1; 1x1 then 3x3; 1x1 then 5x5; 3x3 max pooling then 1x1.
///
/// A type containing [`Todo`] is not done yet; one using the crate's [`Inception`] is
/// wrong.
///
/// ```
/// use cnnkit_homework::*;
/// use cnnkit_nn::prelude::*;
/// assert!(check_inception::<Todo>().is_not_done());
/// let v = check_inception::<Inception<192, 64, 96, 128, 16, 32, 32, 256>>();
/// assert!(v.is_wrong(), "{v}");
/// ```
pub fn check_inception<M>() -> Verdict
where
    M: BuildOnDevice<Cpu, f32>,
    Built<M>: LayerModel<192>,
{
    check_model::<M, 192>(&INCEPTION, inception_reference(), &UnitPart::ALL)
}

/// One part of [`check_inception`], as a verdict of its own.
///
/// ```
/// use cnnkit_homework::*;
/// assert!(check_inception_part::<Todo>(UnitPart::Shape).is_not_done());
/// ```
pub fn check_inception_part<M>(part: UnitPart) -> Verdict
where
    M: BuildOnDevice<Cpu, f32>,
    Built<M>: LayerModel<192>,
{
    check_model::<M, 192>(&INCEPTION, inception_reference(), &[part])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_order_reads_like_the_book() {
        let r = residual_reference().unwrap();
        assert_eq!(r.params.len(), 15);
        let order = book_order(&RESIDUAL, &r.params);
        assert!(
            order.contains(
                "주 경로: 합성곱 (3, 3, 32, 64) → BN (64) → 합성곱 (3, 3, 64, 64) → BN (64)"
            ),
            "{order}"
        );
        assert!(
            order.contains("지름길: 합성곱 (1, 1, 32, 64) → BN (64)"),
            "{order}"
        );
        assert_eq!(
            tensor_label(Kind::Residual, &r.params, 5),
            "주 경로의 두 번째 합성곱의 weight (3, 3, 64, 64)"
        );
        assert_eq!(
            tensor_label(Kind::Residual, &r.params, 14),
            "지름길의 첫 번째 BN의 moving_variance (64)"
        );
    }

    #[test]
    fn the_inception_order_names_the_branches() {
        let r = inception_reference().unwrap();
        let order = book_order(&INCEPTION, &r.params);
        assert!(
            order.contains("갈래 1: 합성곱 (1, 1, 192, 64) + 편향 (64)"),
            "{order}"
        );
        assert!(
            order.contains("갈래 4: 합성곱 (1, 1, 192, 32) + 편향 (32)"),
            "{order}"
        );
    }

    #[test]
    fn the_forbidden_names_are_found_in_type_names() {
        assert!(forbidden_type(Kind::Residual).ends_with("::ResidualUnitName"));
        assert!(type_name::<ResidualUnitDown<32, 64>>().contains(forbidden_type(Kind::Residual)));
        assert!(forbidden_type(Kind::Inception).ends_with("::InceptionName"));
    }

    #[test]
    fn output_difference_names_the_position() {
        let want = (vec![1, 2, 2, 2], vec![0.0; 8]);
        let mut got = want.clone();
        got.1[5] = 1.0;
        let d = output_difference("추론", &want, &got).unwrap();
        assert!(d.contains("[0, 1, 0, 1]") && d.contains("1개"), "{d}");
        assert!(output_difference("추론", &want, &want).is_none());
    }
}
