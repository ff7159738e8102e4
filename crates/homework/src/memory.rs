//! Exercise 1: output size, parameter count and memory of a small CNN (the book's
//! exercise 2 of chapter 14, 3rd edition).
//!
//! The expected answers are computed here from [`BOOK_CNN`] with `cnnkit_nn::arith` when a
//! check runs; they are not written in this file as numbers (a student may open it).

use super::verdict::{run_answer, run_student, Tally};
use super::Verdict;
use cnnkit_nn::arith::{axis_geometry, conv_params, Padding};

/// The network of the book's exercise: three `Conv2D` layers with 3x3 kernels, stride 2
/// and `same` padding, with 100, 200 and 400 feature maps, on 200x300 RGB images, trained
/// on mini-batches of 50.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CnnSpec {
    /// Input `(height, width, channels)`.
    pub input: (usize, usize, usize),
    /// Kernel size of every layer (`k x k`).
    pub kernel: usize,
    /// Stride of every layer.
    pub stride: usize,
    /// Padding of every layer.
    pub padding: Padding,
    /// Feature maps (filters) of the three layers, bottom to top.
    pub maps: [usize; 3],
    /// Images per training mini-batch.
    pub batch: usize,
    /// Bytes per number (`float32`).
    pub bytes_per_value: usize,
}

/// The book's exercise network: three 3x3 convolutions on 200x300 RGB images.
///
/// ```
/// let net = cnnkit_homework::BOOK_CNN;
/// assert_eq!((net.input, net.maps, net.batch), ((200, 300, 3), [100, 200, 400], 50));
/// ```
pub const BOOK_CNN: CnnSpec = CnnSpec {
    input: (200, 300, 3),
    kernel: 3,
    stride: 2,
    padding: Padding::Same,
    maps: [100, 200, 400],
    batch: 50,
    bytes_per_value: 4,
};

/// What the checkers expect, computed once from a [`CnnSpec`], with the numbers of some
/// typical mistakes for the hints.
struct Expected {
    params: u64,
    /// Values in each layer's output for one image.
    outputs: [u64; 3],
    input_values: u64,
    /// Same, with the output size rounded down instead of up (a `valid`-like mistake).
    outputs_floor: [u64; 3],
    params_no_bias: u64,
    params_one_channel: u64,
}

impl Expected {
    fn of(net: &CnnSpec) -> Expected {
        let (h, w, c) = net.input;
        let mut params = 0u64;
        let mut params_no_bias = 0u64;
        let mut params_one_channel = 0u64;
        let mut outputs = [0u64; 3];
        let mut outputs_floor = [0u64; 3];
        let (mut hh, mut ww, mut cin) = (h, w, c);
        let (mut fh, mut fw) = (h, w);
        for (i, &maps) in net.maps.iter().enumerate() {
            params += conv_params(net.kernel, net.kernel, cin, maps) as u64;
            params_no_bias += (net.kernel * net.kernel * cin * maps) as u64;
            params_one_channel += conv_params(net.kernel, net.kernel, 1, maps) as u64;
            hh = axis_geometry(hh, net.kernel, net.stride, net.padding).map_or(0, |g| g.output);
            ww = axis_geometry(ww, net.kernel, net.stride, net.padding).map_or(0, |g| g.output);
            fh /= net.stride;
            fw /= net.stride;
            outputs[i] = (hh * ww * maps) as u64;
            outputs_floor[i] = (fh * fw * maps) as u64;
            cin = maps;
        }
        Expected {
            params,
            outputs,
            input_values: (h * w * c) as u64,
            outputs_floor,
            params_no_bias,
            params_one_channel,
        }
    }

    fn inference_values(outputs: &[u64; 3], params: u64) -> u64 {
        outputs.windows(2).map(|p| p[0] + p[1]).max().unwrap_or(0) + params
    }

    fn training_values(&self, outputs: &[u64; 3], batch: u64) -> u64 {
        batch * (outputs.iter().sum::<u64>() + self.input_values) + self.params
    }
}

const EX_SIZE: &str = "연습 1-1 · 출력 크기 (output_size)";
const EX_PARAMS: &str = "연습 1-2 · 파라미터 수 (total_params)";
const EX_INFER: &str = "연습 1-3 · 추론 메모리 (inference_bytes)";
const EX_TRAIN: &str = "연습 1-4 · 훈련 메모리 (training_bytes)";

const NOT_DONE_HINT: &str = "함수가 아직 None을 돌려줍니다. `None` 자리에 답을 `Some(...)`으로 \
                             돌려주도록 바꾼 뒤 이 셀을 다시 실행하세요.";

fn padding_ko(p: Padding) -> &'static str {
    match p {
        Padding::Same => "\"same\"",
        Padding::Valid => "\"valid\"",
    }
}

/// Checks a function that returns the output size of a convolution or pooling layer along
/// one axis, `output_size(n, k, s, padding)` for input size `n`, kernel `k` and stride `s`,
/// with Keras' rules (`valid`: windows that do not fit are dropped; `same`: the output has
/// `ceil(n / s)` positions).
///
/// Tests every `n` in 1..=40, `k` in 1..=7, `s` in 1..=4 with both paddings (for `valid`
/// only `k <= n`). A wrong answer names the first failing case, the student's value and
/// whether it is too large or too small, not the expected value. The check's 2 points are
/// one per padding: an answer right for one of them earns 1 ([`crate::Credit`]).
///
/// ```
/// use cnnkit_nn::arith::Padding;
/// use cnnkit_homework::check_output_size;
/// let v = check_output_size(|n, k, s, p| match p {
///     Padding::Valid => Some((n - k) / s + 1),
///     Padding::Same => Some(n.div_ceil(s)),
/// });
/// assert!(v.is_correct());
/// assert!(check_output_size(|_, _, _, _| None).is_not_done());
/// assert!(check_output_size(|n, _, _, _| Some(n)).is_wrong());
/// // Right for "valid" only: 1 point of 2.
/// let v = check_output_size(|n, k, s, p| Some((n - k) / s + 1));
/// assert_eq!(v.credit().map(|c| c.points()), Some(1.0));
/// ```
pub fn check_output_size<F>(output_size: F) -> Verdict
where
    F: Fn(usize, usize, usize, Padding) -> Option<usize>,
{
    let mut cases = 0;
    // One point per padding: each is right when all of its cases are.
    let mut tally = Tally::parts(EX_SIZE, 2, 2.0);
    for (part, padding) in [Padding::Valid, Padding::Same].into_iter().enumerate() {
        match output_size_part(&output_size, padding, &mut cases) {
            Ok(()) => tally.pass(),
            Err(problems) if problems.is_empty() => {
                return Verdict::not_done(EX_SIZE, NOT_DONE_HINT)
            }
            Err(problems) => tally.fail(part + 1, problems),
        }
    }
    tally.verdict(vec![format!(
        "{cases}가지 경우 (n 1~40, k 1~7, s 1~4, \"valid\"와 \"same\")가 모두 Keras의 규칙과 같습니다."
    )])
}

/// Runs every case of one padding; `Err` with the problems of the first wrong one, or with
/// no problems when the very first case of the check returned `None` (not done yet).
fn output_size_part<F>(
    output_size: &F,
    padding: Padding,
    cases: &mut usize,
) -> Result<(), Vec<String>>
where
    F: Fn(usize, usize, usize, Padding) -> Option<usize>,
{
    for n in 1..=40 {
        for k in 1..=7 {
            for s in 1..=4 {
                let Ok(g) = axis_geometry(n, k, s, padding) else {
                    continue;
                };
                let case = format!("n={n}, k={k}, s={s}, padding={}", padding_ko(padding));
                let got = match run_student(|| output_size(n, k, s, padding)) {
                    Ok(v) => v,
                    Err(panic) => {
                        return Err(vec![format!("{case} 에서 함수가 멈췄습니다: {panic}")])
                    }
                };
                *cases += 1;
                match got {
                    None if *cases == 1 => return Err(Vec::new()),
                    None => {
                        return Err(vec![format!(
                        "{case} 에서 None을 돌려주었습니다. 모든 경우에 Some(크기)를 돌려주세요."
                    )])
                    }
                    Some(v) if v != g.output => {
                        let dir = if v > g.output {
                            "큽니다"
                        } else {
                            "작습니다"
                        };
                        let mut problems = vec![format!(
                            "{case} 에서 {v}을(를) 돌려주었습니다. 정답보다 {dir}."
                        )];
                        if padding == Padding::Same && k > 1 && s == 1 {
                            problems.push(
                                "힌트: stride 1과 \"same\" 패딩이면 출력 크기는 입력 크기와 같습니다."
                                    .into(),
                            );
                        } else if padding == Padding::Valid && v > g.output {
                            problems.push(
                                "힌트: \"valid\"에서는 입력 밖으로 튀어나가는 창(window)은 버려집니다."
                                    .into(),
                            );
                        } else if padding == Padding::Same {
                            problems.push(
                                "힌트: \"same\"에서 출력 크기는 커널 크기와 상관없이 n과 s로만 정해집니다 (나머지는 올림)."
                                    .into(),
                            );
                        }
                        return Err(problems);
                    }
                    Some(_) => {}
                }
            }
        }
    }
    Ok(())
}

fn too(v: u64, expected: u64) -> &'static str {
    if v > expected {
        "너무 큽니다"
    } else {
        "너무 작습니다"
    }
}

/// A wrong verdict for a number: the student's value, the direction, and the hints of
/// the known mistakes it matches.
fn wrong_number(
    exercise: &str,
    what: &str,
    v: u64,
    expected: u64,
    mistakes: &[(u64, &str)],
) -> Verdict {
    let mut problems = vec![format!(
        "{what}로 {v}을(를) 주었는데, {}.",
        too(v, expected)
    )];
    for (value, hint) in mistakes {
        if v == *value {
            problems.push(format!("힌트: {hint}"));
        }
    }
    let off = (v as f64 - expected as f64).abs() / expected as f64;
    if problems.len() == 1 && off < 0.01 {
        problems.push(
            "힌트: 거의 맞았습니다. MB로 반올림하지 말고 바이트 단위의 정확한 정수를 주세요 \
             (예: 크기를 올림하는 곳, 더하는 항목을 다시 확인하세요)."
                .into(),
        );
    }
    Verdict::wrong(exercise, problems)
}

/// Checks a student's function that returns one number, `what`: correct (with the detail
/// `correct`) when it is `expected`, otherwise wrong as [`wrong_number`] says.
fn check_number(
    exercise: &str,
    answer: impl FnOnce() -> Option<u64>,
    what: &str,
    expected: u64,
    correct: &str,
    mistakes: &[(u64, &str)],
) -> Verdict {
    let v = match run_answer(exercise, NOT_DONE_HINT, answer) {
        Ok(v) => v,
        Err(verdict) => return verdict,
    };
    if v == expected {
        return Verdict::correct(exercise, vec![correct.into()]);
    }
    wrong_number(exercise, what, v, expected, mistakes)
}

/// Checks the total number of trainable parameters of [`BOOK_CNN`] (weights and biases of
/// its three convolution layers).
///
/// The student's function returns `Some(count)`; the placeholder returns `None`. A wrong
/// count is reported as too large or too small, with a hint when it matches a known
/// mistake (biases left out, filters that see only one input channel, bytes instead of a
/// count).
///
/// ```
/// use cnnkit_homework::check_total_params;
/// assert!(check_total_params(|| Some(1)).is_wrong());
/// assert!(check_total_params(|| None).is_not_done());
/// ```
pub fn check_total_params<F: FnOnce() -> Option<u64>>(total_params: F) -> Verdict {
    let net = BOOK_CNN;
    let e = Expected::of(&net);
    check_number(
        EX_PARAMS,
        total_params,
        "파라미터 수",
        e.params,
        "세 합성곱 층의 가중치와 편향을 모두 셌습니다.",
        &[
            (e.params_no_bias, "필터마다 편향(bias)이 하나씩 있습니다."),
            (
                e.params_one_channel,
                "필터 하나는 입력의 모든 채널(특성지도)에 걸쳐 있습니다: 3x3xC_in 개의 가중치.",
            ),
            (
                e.params * net.bytes_per_value as u64,
                "여기서는 바이트가 아니라 파라미터의 개수를 묻습니다.",
            ),
        ],
    )
}

/// Checks the memory, in bytes, that [`BOOK_CNN`] needs at least to make a prediction for
/// one image.
///
/// The checker's assumptions, as in the book's answer: `float32` (4 bytes per number); once
/// a layer's output has been computed the previous one can be freed, so at most the outputs
/// of **two consecutive convolution layers** are held at once (the largest such pair
/// counts); the **parameters** are in memory as well; the input image is not counted.
///
/// ```
/// use cnnkit_homework::check_inference_memory;
/// assert!(check_inference_memory(|| Some(1)).is_wrong());
/// assert!(check_inference_memory(|| None).is_not_done());
/// ```
pub fn check_inference_memory<F: FnOnce() -> Option<u64>>(inference_bytes: F) -> Verdict {
    let net = BOOK_CNN;
    let b = net.bytes_per_value as u64;
    let e = Expected::of(&net);
    let expected = b * Expected::inference_values(&e.outputs, e.params);
    let all_layers = b * (e.outputs.iter().sum::<u64>() + e.params);
    check_number(
        EX_INFER,
        inference_bytes,
        "추론 메모리(바이트)",
        expected,
        "연속한 두 층의 출력 중 가장 큰 쌍과 파라미터를 float32로 셌습니다.",
        &[
            (
                b * Expected::inference_values(&e.outputs, 0),
                "파라미터(가중치와 편향)도 메모리에 있어야 합니다.",
            ),
            (
                all_layers,
                "추론 때는 한 층을 계산하고 나면 그 아래 층의 출력을 버릴 수 있습니다: \
                 연속한 두 층의 출력만 동시에 필요합니다.",
            ),
            (
                expected + b * e.input_values,
                "이 연습의 가정에서는 (책처럼) 입력 이미지를 세지 않습니다.",
            ),
            (expected * 2, "float32는 4바이트입니다 (8바이트는 float64)."),
            (
                expected / b,
                "개수가 아니라 바이트를 물었습니다: float32 하나는 4바이트입니다.",
            ),
        ],
    )
}

/// Checks the memory, in bytes, that [`BOOK_CNN`] needs at least to train on one
/// mini-batch of 50 images.
///
/// The checker's assumptions, as in the book's answer: `float32`; backpropagation keeps the
/// outputs of **all three convolution layers for every image of the batch**; the batch's
/// **input images** and the **parameters** are in memory too; gradients and optimizer
/// state are left out (the book neglects them).
///
/// ```
/// use cnnkit_homework::check_training_memory;
/// assert!(check_training_memory(|| Some(1)).is_wrong());
/// assert!(check_training_memory(|| None).is_not_done());
/// ```
pub fn check_training_memory<F: FnOnce() -> Option<u64>>(training_bytes: F) -> Verdict {
    let net = BOOK_CNN;
    let b = net.bytes_per_value as u64;
    let batch = net.batch as u64;
    let e = Expected::of(&net);
    let expected = b * e.training_values(&e.outputs, batch);
    check_number(
        EX_TRAIN,
        training_bytes,
        "훈련 메모리(바이트)",
        expected,
        "배치 50장의 세 층 출력, 입력 이미지, 파라미터를 float32로 셌습니다.",
        &[
            (
                expected - b * batch * e.input_values,
                "배치의 입력 이미지 50장도 메모리에 있습니다.",
            ),
            (
                expected - b * e.params,
                "파라미터(가중치와 편향)도 메모리에 있어야 합니다.",
            ),
            (
                expected - b * (batch - 1) * e.params,
                "파라미터는 배치 크기와 상관없이 한 벌만 있습니다.",
            ),
            (
                b * e.training_values(&e.outputs_floor, batch),
                "\"same\" 패딩과 stride 2에서 홀수 크기를 나누면 올림합니다 (75 / 2 → 38).",
            ),
            (expected * 2, "float32는 4바이트입니다 (8바이트는 float64)."),
            (
                expected / b,
                "개수가 아니라 바이트를 물었습니다: float32 하나는 4바이트입니다.",
            ),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FNV-1a of a number's decimal digits: the tests compare the expected answers with
    /// these digests, so that this file does not show the answers.
    fn digest(v: u64) -> u64 {
        v.to_string().bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    }

    #[test]
    fn expected_values_follow_the_book() {
        // Digests of the book's answer (HOML 3rd ed., appendix A, exercise 2 of chapter 14),
        // which docs/instructors.md gives in numbers.
        let e = Expected::of(&BOOK_CNN);
        let inference = 4 * Expected::inference_values(&e.outputs, e.params);
        let training = 4 * e.training_values(&e.outputs, 50);
        assert_eq!(
            [digest(e.params), digest(inference), digest(training)],
            [PARAMS_DIGEST, INFERENCE_DIGEST, TRAINING_DIGEST],
            "{:x} {:x} {:x}",
            digest(e.params),
            digest(inference),
            digest(training)
        );
    }

    const PARAMS_DIGEST: u64 = 0x13ee_016a_ddae_bd73;
    const INFERENCE_DIGEST: u64 = 0x6bed_ef39_acf4_6e06;
    const TRAINING_DIGEST: u64 = 0xefb1_a8a1_1efb_c5dd;
}
