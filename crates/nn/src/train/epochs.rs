//! The epoch loop that every `fit` of this module shares (classification, classification
//! with localization, segmentation): shuffling, mini-batches, the optimizer step, the
//! progress lines, validation and the [`History`]. What differs between the tasks, the
//! forward pass with its loss and the figures reported, comes in as a closure and a
//! [`Tally`].

use std::io::IsTerminal;
use std::time::Instant;

use dfdx::nn::modules::ZeroGrads;
use dfdx::nn::tensor_collection::TensorCollection;
use dfdx::prelude::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::resume::{epoch_seed, Checkpoint, Fingerprint};
use super::{epoch_line, progress_line, renew_tensor_ids, EpochStats, FitConfig, History};
use super::{Adam, Moments, Nadam, OptimizerKind};
use crate::error::{Error, Result};

/// The scalar loss of one batch, on the tape that leads back to the weights.
pub(super) type Loss = Tensor<Rank0, f32, Cpu, OwnedTape<f32, Cpu>>;

/// The running figures of a task over the batches of an epoch, or over a whole data set.
pub(super) trait Tally: Default {
    /// Mean loss so far.
    fn loss(&self) -> f64;
    /// The headline metric so far: accuracy, or pixel accuracy for segmentation.
    fn accuracy(&self) -> f64;
    /// Further figures, Keras' extra history keys (`class_loss`, `iou`, ...), in order.
    fn extra(&self) -> Vec<(&'static str, f32)> {
        Vec::new()
    }
}

/// What the loop needs of a task besides the model.
pub(super) struct Task<'a, M, T> {
    /// Training examples.
    pub n_train: usize,
    /// The loss of guessing (`ln n` for `n` classes): an epoch far above it warns.
    pub guess_loss: Option<f32>,
    /// The forward pass on examples `idx` with the tape in `grads`; adds the batch's figures
    /// to the tally and returns the batch's mean loss.
    #[allow(clippy::type_complexity)]
    pub step:
        Box<dyn FnMut(&mut M, &Cpu, &[usize], Gradients<f32, Cpu>, &mut T) -> Result<Loss> + 'a>,
    /// The figures on the validation data, when there is any.
    #[allow(clippy::type_complexity)]
    pub validate: Box<dyn FnMut(&M) -> Result<Option<T>> + 'a>,
    /// Feeds the training and validation data into a checkpoint's key (called only when
    /// [`FitConfig::checkpoint_dir`] is set).
    pub fingerprint: Box<dyn Fn(&mut Fingerprint) + 'a>,
}

/// The optimizer of a run, by [`FitConfig::optimizer`].
enum Optim {
    Nadam(Nadam),
    Adam(Adam),
}

impl Optim {
    fn new(cfg: &FitConfig) -> Self {
        match cfg.optimizer {
            OptimizerKind::Nadam => Optim::Nadam(Nadam::new(cfg.lr)),
            OptimizerKind::Adam => Optim::Adam(Adam::new(cfg.lr)),
        }
    }

    fn moments(&mut self) -> &mut Moments {
        match self {
            Optim::Nadam(o) => &mut o.moments,
            Optim::Adam(o) => &mut o.moments,
        }
    }

    fn step<M: TensorCollection<f32, Cpu>>(
        &mut self,
        model: &mut M,
        grads: &mut Gradients<f32, Cpu>,
    ) -> std::result::Result<(), CpuError> {
        match self {
            Optim::Nadam(o) => o.step(model, grads),
            Optim::Adam(o) => o.step(model, grads),
        }
    }
}

/// Trains `model` for `cfg.epochs` epochs of shuffled mini-batches of `task`.
///
/// The order of the random draws (the device seeded with `cfg.seed` for dropout, the
/// shuffle generator seeded with it too) is the one [`super::fit`] always had, so results
/// stay identical across this refactoring and the shipped weights reproduce.
pub(super) fn run<M, T>(model: &mut M, cfg: &FitConfig, mut task: Task<'_, M, T>) -> Result<History>
where
    M: TensorCollection<f32, Cpu> + ZeroGrads<f32, Cpu>,
    T: Tally,
{
    if cfg.batch_size == 0 {
        return Err(Error::invalid("batch_size", "it must be at least 1"));
    }
    if cfg.max_batches == Some(0) {
        return Err(Error::invalid(
            "max_batches",
            "Some(0) would train nothing; use None for whole epochs or Some(n) with n >= 1 \
             (0이면 아무것도 학습하지 않습니다)",
        ));
    }
    crate::build::warn_if_slow();
    let checkpoint = match &cfg.checkpoint_dir {
        Some(dir) => Some(Checkpoint::of(dir, model, cfg, &*task.fingerprint)?),
        None => None,
    };
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let mut order: Vec<usize> = (0..task.n_train).collect();
    let mut optim = Optim::new(cfg);
    let mut history = History::default();
    if let Some(c) = &checkpoint {
        match c.restore(model)? {
            Some(saved) => {
                *optim.moments() = saved.moments;
                history = saved.history;
                history.resumed_epochs = saved.epochs_done;
                // The shuffles of the finished epochs, so that the next one is the same.
                for _ in 0..saved.epochs_done {
                    order.shuffle(&mut rng);
                }
                if saved.epochs_done >= cfg.epochs {
                    println!(
                        "This training run already finished ({} epochs, checkpoint {}): \
                         returning the saved model and history. / 이 학습은 이미 끝났습니다: \
                         저장된 모델과 기록을 돌려줍니다.",
                        cfg.epochs,
                        c.path().display()
                    );
                    return Ok(history);
                }
                println!(
                    "Resuming after epoch {}/{} from the checkpoint {}. / 저장된 체크포인트에서 \
                     {}번째 에포크 다음부터 이어서 학습합니다.",
                    saved.epochs_done,
                    cfg.epochs,
                    c.path().display(),
                    saved.epochs_done
                );
            }
            None if cfg.verbose => println!(
                "Saving a checkpoint after every epoch to {} (re-running this call resumes \
                 there). / 에포크마다 체크포인트를 저장합니다.",
                c.path().display()
            ),
            None => {}
        }
    }
    let live_progress = cfg.verbose && std::io::stdout().is_terminal();
    let steps = {
        let all = task.n_train.div_ceil(cfg.batch_size);
        cfg.max_batches.map_or(all, |m| m.min(all))
    };
    for epoch in history.epochs.len()..cfg.epochs {
        let start = Instant::now();
        // A device seeded for this epoch, and the parameters moved onto it with fresh
        // tensor ids. Gradients are keyed by id, and in evcxr each cell links its own copy
        // of dfdx, whose id counter restarts at zero: a model built in an earlier cell
        // would share ids with the tensors made here.
        let dev = Cpu::seed_from_u64(epoch_seed(cfg.seed, epoch));
        renew_tensor_ids(model, &dev)?;
        let mut grads = model.try_alloc_grads()?;
        order.shuffle(&mut rng);
        let mut tally = T::default();
        let mut last_report = Instant::now();
        for (step, idx) in order.chunks(cfg.batch_size).take(steps).enumerate() {
            let loss = (task.step)(model, &dev, idx, grads, &mut tally)?;
            let value = loss.array();
            if !value.is_finite() {
                return Err(Error::Training {
                    epoch: epoch + 1,
                    step: step + 1,
                    why: format!(
                        "the loss became {}: the weights overflowed. Lower the learning rate \
                         (now {}; the lecture uses 0.001) and check the images for NaN or \
                         infinite values (손실이 발산했습니다: 학습률을 낮추십시오)",
                        if value.is_nan() { "NaN" } else { "infinite" },
                        cfg.lr
                    ),
                });
            }
            grads = loss.backward();
            optim.step(model, &mut grads)?;
            model.try_zero_grads(&mut grads)?;
            // Progress within the epoch only where a line can be redrawn in place (a
            // terminal): evcxr forwards a cell's output a whole line at a time, so in a
            // notebook the log is one line per epoch, as Keras' `verbose=2`.
            if live_progress && step + 1 < steps && last_report.elapsed().as_millis() >= 200 {
                last_report = Instant::now();
                progress_line(step + 1, steps, start, tally.loss(), tally.accuracy());
            }
        }
        let mut stats = EpochStats {
            loss: tally.loss() as f32,
            accuracy: tally.accuracy() as f32,
            val_loss: None,
            val_accuracy: None,
            seconds: 0.0,
        };
        let mut extra: Vec<(String, f32)> = tally
            .extra()
            .into_iter()
            .map(|(k, x)| (k.to_string(), x))
            .collect();
        if let Some(v) = (task.validate)(model)? {
            stats.val_loss = Some(v.loss() as f32);
            stats.val_accuracy = Some(v.accuracy() as f32);
            extra.extend(v.extra().into_iter().map(|(k, x)| (format!("val_{k}"), x)));
        }
        stats.seconds = start.elapsed().as_secs_f64();
        if cfg.verbose {
            if live_progress {
                // Clear the progress line that the epoch's line replaces.
                print!("\r\x1b[2K");
            }
            let mut line = epoch_line(epoch + 1, cfg.epochs, steps, &stats);
            for (k, x) in &extra {
                line.push_str(&format!(" - {k}: {x:.4}"));
            }
            println!("{line}");
        }
        if let Some(guess) = task.guess_loss {
            warn_if_diverging(stats.loss, guess, epoch + 1, cfg.lr);
        }
        for (k, x) in extra {
            history.metrics.entry(k).or_default().push(x);
        }
        history.epochs.push(stats);
        if let Some(c) = &checkpoint {
            c.save(model, optim.moments(), &history)?;
        }
    }
    Ok(history)
}

/// Warns when an epoch's mean loss is far above the loss of guessing (`ln n` for `n`
/// classes): the weights are moving away from a solution, usually because the learning
/// rate is too large.
fn warn_if_diverging(loss: f32, guessing: f32, epoch: usize, lr: f32) {
    if loss > 10.0 * guessing {
        eprintln!(
            "warning: epoch {epoch}'s loss {loss:.3e} is more than ten times the loss of \
             guessing ({guessing:.2}): training is diverging. Lower the learning rate (now \
             {lr}). / 경고: 손실이 무작위 추측보다 훨씬 큽니다: 학습률을 낮추십시오."
        );
    }
}
