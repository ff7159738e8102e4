//! Exercise 5: build and train a CNN on Fashion-MNIST that beats a test accuracy within a
//! time limit.
//!
//! The time limit is relative: [`check_fashion_cnn`] first trains a reference model
//! ([`ReferenceCnn`], the solution's small CNN) for one epoch on [`REFERENCE_IMAGES`]
//! images, on the same machine, in the same process and compiled the same way as the
//! student's model, and allows [`FashionGoal::time_factor`] times the reference's estimated
//! training time ([`FashionGoal::relative_to`]). A slow or busy machine thus moves the
//! limit with the student's training.

use std::fmt;
use std::marker::PhantomData;
use std::time::Instant;

use cnnkit_nn::prelude::{Conv2D, Cpu, Dense, DeviceBuildExt, Flatten, MaxPool2D, Relu, Same};
use cnnkit_nn::train::{fit, FitConfig};

use super::verdict::run_student;
use super::Verdict;
use cnnkit_data::{FashionMnist, Split};
use cnnkit_nn::model::{fmt_thousands, summary};
use cnnkit_nn::quick::quick_or;
use cnnkit_nn::train::{evaluate, Classifier, Dataset};
use cnnkit_viz::plot::RichOutput;

const EX: &str = "연습 5 · 패션 MNIST CNN (train_my_cnn)";

/// The target of the Fashion-MNIST exercise: data sizes, the test accuracy to beat and the
/// time the training function may take. [`fashion_goal`] returns the one in force.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FashionGoal {
    /// True in quick mode (`CNNKIT_QUICK=1`, for CI): a small subset and a lower bar.
    pub quick: bool,
    /// Training images handed to the student's function (the first ones of the training
    /// file).
    pub train_images: usize,
    /// Validation images handed to it (taken after the 55,000 training images, as in the
    /// lecture).
    pub valid_images: usize,
    /// Test images the trained model is evaluated on (the first ones of the test file).
    pub test_images: usize,
    /// The test accuracy to reach (at least).
    pub min_accuracy: f32,
    /// The longest the training function may take, in seconds of wall-clock time. With a
    /// [`time_factor`](FashionGoal::time_factor), [`check_fashion_cnn`] replaces it by the
    /// limit measured in the same run; the constants hold the value measured on the
    /// course's 2-core machine, for the notebook's table.
    pub max_seconds: f64,
    /// `Some(f)`: the training may take `f` times the reference model's estimated training
    /// time, measured in the same run ([`FashionGoal::relative_to`]); `None`: `max_seconds`
    /// is an absolute limit.
    pub time_factor: Option<f64>,
    /// The reference workload's measured time, seconds (one epoch of [`ReferenceCnn`] on
    /// [`REFERENCE_IMAGES`] images), once [`FashionGoal::relative_to`] has set the limit.
    pub reference_seconds: Option<f64>,
}

/// The reference model of the time limit: the solution's small CNN (two convolution layers,
/// about 420,000 parameters), which the solution trains for [`REFERENCE_EPOCHS`] epochs.
pub type ReferenceCnn = (
    (Conv2D<1, 32, 3, 1, Same, Relu>, MaxPool2D<2>),
    (Conv2D<32, 64, 3, 1, Same, Relu>, MaxPool2D<2>),
    (Flatten, Dense<{ 7 * 7 * 64 }, 128, Relu>, Dense<128, 10>),
);

/// Images of the reference workload: one epoch (batches of 32) on the first of them.
pub const REFERENCE_IMAGES: usize = 1_000;

/// Epochs of the reference training the limit is relative to (the solution's).
pub const REFERENCE_EPOCHS: usize = 5;

/// The full goal: all 55,000 training images, test accuracy of at least 90% within twice
/// the reference model's training time (about 20 minutes on the course's 2-core machine).
pub const FULL_GOAL: FashionGoal = FashionGoal {
    quick: false,
    train_images: 55_000,
    valid_images: 5_000,
    test_images: 10_000,
    min_accuracy: 0.90,
    max_seconds: 1_200.0,
    time_factor: Some(2.0),
    reference_seconds: None,
};

/// The quick goal (CI): 2,000 training images, 75% on 1,000 test images within four times
/// the reference model's training time (a wide margin, for loaded CI machines).
pub const QUICK_GOAL: FashionGoal = FashionGoal {
    quick: true,
    train_images: 2_000,
    valid_images: 500,
    test_images: 1_000,
    min_accuracy: 0.75,
    max_seconds: 240.0,
    time_factor: Some(4.0),
    reference_seconds: None,
};

/// The goal in force: [`QUICK_GOAL`] in quick mode, otherwise [`FULL_GOAL`].
///
/// ```
/// // SAFETY: each doc test runs in a process of its own.
/// unsafe { std::env::remove_var("CNNKIT_QUICK") };
/// let goal = cnnkit_homework::fashion_goal();
/// assert_eq!((goal.train_images, goal.min_accuracy), (55_000, 0.90));
/// ```
pub fn fashion_goal() -> FashionGoal {
    quick_or(FULL_GOAL, QUICK_GOAL)
}

impl fmt::Display for FashionGoal {
    /// The goal in one Korean sentence.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = if self.quick {
            "빠른 모드 (CNNKIT_QUICK=1)"
        } else {
            "전체 모드"
        };
        let limit = match (self.time_factor, self.reference_seconds) {
            (Some(factor), Some(_)) => format!(
                "{:.0}초 (같은 실행에서 잰 기준 모델의 예상 훈련 시간 {:.0}초 × {factor}) 안에",
                self.max_seconds,
                self.max_seconds / factor
            ),
            (Some(factor), None) if self.quick => {
                format!("기준 모델의 예상 훈련 시간 × {factor} (확인 셀이 같은 실행에서 잽니다) 안에")
            }
            (Some(factor), None) => format!(
                "기준 모델의 예상 훈련 시간 × {factor} (확인 셀이 같은 실행에서 잽니다. 과제를 만든 \
                 2코어 컴퓨터에서 약 {}분) 안에",
                (self.max_seconds / 60.0).round()
            ),
            (None, _) => format!(
                "{}분 ({}초) 안에",
                self.max_seconds / 60.0,
                self.max_seconds
            ),
        };
        write!(
            f,
            "{mode}: 훈련 이미지 {}장 (검증 {}장)으로 {limit} 훈련하여, 테스트 이미지 {}장에서 \
             정확도 {:.0}% 이상",
            fmt_thousands(self.train_images as i64),
            fmt_thousands(self.valid_images as i64),
            fmt_thousands(self.test_images as i64),
            self.min_accuracy * 100.0
        )
    }
}

impl FashionGoal {
    /// This goal with its limit set from a reference workload that took `reference_seconds`
    /// for one epoch on `reference_images` images: `time_factor` times the reference's
    /// estimated training, [`REFERENCE_EPOCHS`] epochs on `train_images` images. A goal
    /// without a `time_factor` is returned unchanged.
    ///
    /// ```
    /// use cnnkit_homework::{FashionGoal, QUICK_GOAL};
    /// let goal = FashionGoal { time_factor: Some(2.0), ..QUICK_GOAL }.relative_to(3.0, 1_000);
    /// // 3 s per 1,000 images -> 5 epochs on 2,000 images take 30 s; twice that is allowed.
    /// assert_eq!(goal.max_seconds, 60.0);
    /// assert_eq!(goal.reference_seconds, Some(3.0));
    /// ```
    pub fn relative_to(self, reference_seconds: f64, reference_images: usize) -> FashionGoal {
        let Some(factor) = self.time_factor else {
            return self;
        };
        let per_image = reference_seconds / reference_images.max(1) as f64;
        let estimate = per_image * (REFERENCE_EPOCHS * self.train_images) as f64;
        FashionGoal {
            max_seconds: factor * estimate,
            reference_seconds: Some(reference_seconds),
            ..self
        }
    }
}

/// Times the reference workload: one epoch of [`ReferenceCnn`] (batches of 32) on the first
/// [`REFERENCE_IMAGES`] images of `train`; returns the seconds and the number of images.
///
/// The type parameter is the student's model, only so that this function, and the training
/// code it uses, is compiled in the student's notebook with the same settings as the
/// student's own training (evcxr compiles a cell's generic instances itself).
fn time_reference<M>(train: &Dataset<1>, _student: PhantomData<M>) -> crate::Result<(f64, usize)> {
    let n = REFERENCE_IMAGES.min(train.len());
    let part = train.slice(0..n);
    let mut model = Cpu::seed_from_u64(42).build_module::<ReferenceCnn, f32>();
    let cfg = FitConfig {
        epochs: 1,
        batch_size: 32,
        verbose: false,
        ..FitConfig::default()
    };
    let start = Instant::now();
    fit(&mut model, &part, None, &cfg)?;
    Ok((start.elapsed().as_secs_f64(), n))
}

impl RichOutput for FashionGoal {
    /// The goal as plain text.
    fn mime_bundle(&self) -> Vec<(&'static str, String)> {
        vec![("text/plain", self.to_string())]
    }
}

impl FashionGoal {
    /// The goal's training, validation and test sets from Fashion-MNIST, scaled to `0..1`.
    ///
    /// # Errors
    /// When Fashion-MNIST cannot be found (the message says how to install it).
    pub fn datasets(&self, data: &FashionMnist) -> crate::Result<[Dataset<1>; 3]> {
        let (train, valid): (Split, Split) = data.train.split_at(55_000);
        let train = train.take(self.train_images);
        let valid = valid.take(self.valid_images);
        let test = data.test.take(self.test_images);
        Ok([
            Dataset::try_from(&train)?,
            Dataset::try_from(&valid)?,
            Dataset::try_from(&test)?,
        ])
    }
}

/// Checks the Fashion-MNIST exercise: builds the data sets of [`fashion_goal`], times the
/// reference workload to set the time limit ([`FashionGoal::relative_to`]), times the
/// student's training function, and evaluates the model it returns on the test images.
///
/// The student's function is `fn(train: &Dataset<1>, valid: &Dataset<1>) -> Option<M>` for a
/// model type `M` built with `dev.build_module` (see [`super::Built`]); it returns
/// `Some(trained model)`, or `None` while it is still the placeholder. It is correct when
/// * the model has at least one `Conv2D` layer (it is a CNN),
/// * the function returned within the limit (wall-clock, measured here; `time_factor`
///   times the reference model's estimated training time, measured just before), and
/// * the model's accuracy on the test images is at least `min_accuracy`.
///
/// The verdict reports the measured accuracy and time, which give nothing away.
///
/// ```no_run
/// use cnnkit_nn::prelude::*;
/// use cnnkit_homework::*;
/// type MyCnn = (Conv2D<1, 8, 3, 1, Same, Relu>, MaxPool2D<2>, Flatten, Dense<{ 14 * 14 * 8 }, 10>);
/// fn train_my_cnn(train: &Dataset<1>, valid: &Dataset<1>) -> Option<Built<MyCnn>> {
///     let mut model = Cpu::seed_from_u64(42).build_module::<MyCnn, f32>();
///     fit(&mut model, train, Some(valid), &FitConfig { epochs: 1, ..FitConfig::default() }).ok()?;
///     Some(model)
/// }
/// let verdict = check_fashion_cnn(train_my_cnn);
/// ```
pub fn check_fashion_cnn<M, F>(train_my_cnn: F) -> Verdict
where
    M: Classifier<1, 10>,
    F: FnOnce(&Dataset<1>, &Dataset<1>) -> Option<M>,
{
    let goal = fashion_goal();
    let data = match FashionMnist::load() {
        Ok(d) => d,
        Err(e) => {
            return Verdict::wrong(
                EX,
                vec![format!(
                    "패션 MNIST를 불러오지 못해 확인할 수 없습니다 (여러분의 잘못이 아닙니다): {e}"
                )],
            )
        }
    };
    let [train, valid, test] = match goal.datasets(&data) {
        Ok(sets) => sets,
        Err(e) => return Verdict::wrong(EX, vec![format!("데이터 준비 실패: {e}")]),
    };
    let goal = if goal.time_factor.is_some() {
        match time_reference(&train, PhantomData::<M>) {
            Ok((seconds, images)) => goal.relative_to(seconds, images),
            Err(e) => return crate::verdict::internal_error(EX, e),
        }
    } else {
        goal
    };
    check_fashion_cnn_with(goal, &train, &valid, &test, train_my_cnn)
}

/// [`check_fashion_cnn`] with a goal and data sets of your choice: for instructors who set
/// a different bar, and for tests on small synthetic data. The goal's `max_seconds` is
/// applied as it is (no reference is timed here; see [`FashionGoal::relative_to`]).
///
/// The images may have any size; the model must accept `(h, w, 1)` images of the test set.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// use cnnkit_homework::*;
/// let data = cnnkit_nn::train::toy_bars(8, 0); // 6x6 images, labels 0 and 1
/// let goal = FashionGoal { min_accuracy: 0.5, ..fashion_goal() };
/// type Tiny = (Conv2D<1, 2, 3, 1, Same, Relu>, GlobalAvgPool2D, Dense<2, 10>);
/// let placeholder = |_: &Dataset<1>, _: &Dataset<1>| -> Option<Built<Tiny>> { None };
/// assert!(check_fashion_cnn_with(goal, &data, &data, &data, placeholder).is_not_done());
/// ```
pub fn check_fashion_cnn_with<M, F>(
    goal: FashionGoal,
    train: &Dataset<1>,
    valid: &Dataset<1>,
    test: &Dataset<1>,
    train_my_cnn: F,
) -> Verdict
where
    M: Classifier<1, 10>,
    F: FnOnce(&Dataset<1>, &Dataset<1>) -> Option<M>,
{
    let start = Instant::now();
    let result = run_student(|| train_my_cnn(train, valid));
    let seconds = start.elapsed().as_secs_f64();
    let model = match result {
        Ok(Some(m)) => m,
        Ok(None) => {
            return Verdict::not_done(
                EX,
                format!(
                    "함수가 아직 None을 돌려줍니다. 모델을 만들고 훈련해 Some(모델)을 돌려주도록 바꾼 뒤 \
                     이 셀을 다시 실행하세요. 목표: {goal}."
                ),
            )
        }
        Err(panic) => {
            return Verdict::wrong(
                EX,
                vec![format!("훈련 함수가 {seconds:.0}초 뒤에 멈췄습니다: {panic}")],
            )
        }
    };
    let (h, w) = test.image_size();
    let layers = match summary(&model, [h, w, 1]) {
        Ok(s) => s,
        Err(e) => {
            return Verdict::wrong(
                EX,
                vec![format!("모델이 {h}x{w}x1 이미지를 받지 못합니다: {e}")],
            )
        }
    };
    let convs = layers.layers.iter().filter(|l| l.kind == "Conv2D").count();
    let params = layers.total_params();
    let accuracy = match evaluate(&model, test) {
        Ok(e) => e.accuracy,
        Err(e) => return Verdict::wrong(EX, vec![format!("평가 실패: {e}")]),
    };
    let reference = match (goal.time_factor, goal.reference_seconds) {
        (Some(factor), Some(r)) => format!(
            " = 기준 모델의 예상 훈련 시간 {:.0}초 × {factor}; 기준 작업 (이미지 {}장 1에포크) {r:.1}초",
            goal.max_seconds / factor,
            fmt_thousands(REFERENCE_IMAGES.min(train.len()) as i64)
        ),
        _ => String::new(),
    };
    let facts = format!(
        "테스트 정확도 {:.2}% (목표 {:.0}% 이상), 훈련 시간 {seconds:.0}초 (제한 {:.0}초{reference}), \
         합성곱 층 {convs}개, 파라미터 {}개",
        accuracy * 100.0,
        goal.min_accuracy * 100.0,
        goal.max_seconds,
        fmt_thousands(params as i64)
    );
    let mut problems = Vec::new();
    if convs == 0 {
        problems.push("모델에 Conv2D 층이 없습니다: 합성곱 신경망(CNN)을 만드세요.".to_string());
    }
    if seconds > goal.max_seconds {
        problems.push(format!(
            "훈련이 {seconds:.0}초 걸려 제한 {:.0}초를 넘었습니다: 에포크 수나 모델 크기를 줄여 보세요.",
            goal.max_seconds
        ));
    }
    if accuracy < goal.min_accuracy {
        problems.push(format!(
            "테스트 정확도 {:.2}%가 목표 {:.0}%보다 낮습니다.",
            accuracy * 100.0,
            goal.min_accuracy * 100.0
        ));
    }
    if problems.is_empty() {
        Verdict::correct(EX, vec![facts])
    } else {
        problems.push(facts);
        Verdict::wrong(EX, problems)
    }
}
