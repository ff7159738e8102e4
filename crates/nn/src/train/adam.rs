//! The Adam family of optimizers with Keras' defaults: [`Nadam`] (Adam with Nesterov
//! momentum, the lecture's `optimizer="nadam"`) and [`Adam`]. Both keep their moments in
//! [`Moments`], which [`fit`](super::fit)'s checkpoints save and restore so that a resumed
//! run continues exactly where it stopped.

use dfdx::nn::tensor_collection::{TensorCollection, TensorOptions, ViewTensorMut};
use dfdx::optim::{Optimizer, OptimizerUpdateError};
use dfdx::prelude::*;
use rayon::prelude::*;

use crate::params::{self, ParamVisitor};

/// The Nadam optimizer as Keras implements it (`keras.optimizers.Nadam`), usable like
/// dfdx's own optimizers (`opt.update(&mut model, &grads)`).
///
/// With `g` the gradient, `t` the step, `mu_t = beta1 * (1 - 0.5 * 0.96^t)` (Keras 3; Keras 2
/// used `0.96^(0.004 t)`) and
/// `prod_t = mu_1 * ... * mu_t`:
/// ```text
/// m = beta1 m + (1 - beta1) g          v = beta2 v + (1 - beta2) g^2
/// m_hat = mu_{t+1} m / (1 - prod_{t+1}) + (1 - mu_t) g / (1 - prod_t)
/// v_hat = v / (1 - beta2^t)
/// w -= lr * m_hat / (sqrt(v_hat) + eps)
/// ```
/// Keras defaults: `lr = 0.001`, `beta1 = 0.9`, `beta2 = 0.999`, `eps = 1e-7`.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// use cnnkit_nn::train::Nadam;
/// use dfdx::optim::Optimizer;
/// let dev = Cpu::default();
/// let mut w: Tensor<Rank1<2>, f32, Cpu> = dev.tensor([1.0, -1.0]);
/// let mut opt = Nadam::new(0.1);
/// for _ in 0..100 {
///     let grads = w.leaky_trace().square().sum().backward();
///     opt.update(&mut w, &grads).unwrap();
/// }
/// assert!(w.as_vec().iter().all(|v| v.abs() < 0.1), "{:?}", w.as_vec());
/// ```
#[derive(Clone, Debug)]
pub struct Nadam {
    /// Learning rate.
    pub lr: f32,
    /// Decay of the first moment.
    pub beta1: f32,
    /// Decay of the second moment.
    pub beta2: f32,
    /// Added to the denominator for stability.
    pub eps: f32,
    /// The step count and the moments of every parameter.
    pub moments: Moments,
}

impl Nadam {
    /// Nadam with learning rate `lr` and Keras' other defaults.
    pub fn new(lr: f32) -> Self {
        Nadam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-7,
            moments: Moments::default(),
        }
    }
}

impl Default for Nadam {
    fn default() -> Self {
        Nadam::new(0.001)
    }
}

/// The Adam optimizer with dfdx's formulas and Keras' default settings (`lr = 0.001`,
/// `beta1 = 0.9`, `beta2 = 0.999`, `eps = 1e-7`):
/// ```text
/// m = beta1 m + (1 - beta1) g          v = beta2 v + (1 - beta2) g^2
/// w -= lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
/// ```
/// It gives the same updates as `dfdx::optim::Adam` with `eps: 1e-7` (tested), with its
/// state in [`Moments`], which `fit`'s checkpoints can save (dfdx's is private).
///
/// ```
/// use cnnkit_nn::prelude::*;
/// use cnnkit_nn::train::Adam;
/// use dfdx::optim::Optimizer;
/// let dev = Cpu::default();
/// let mut w: Tensor<Rank1<2>, f32, Cpu> = dev.tensor([1.0, -1.0]);
/// let mut opt = Adam::new(0.1);
/// for _ in 0..100 {
///     let grads = w.leaky_trace().square().sum().backward();
///     opt.update(&mut w, &grads).unwrap();
/// }
/// assert!(w.as_vec().iter().all(|v| v.abs() < 0.1), "{:?}", w.as_vec());
/// ```
#[derive(Clone, Debug)]
pub struct Adam {
    /// Learning rate.
    pub lr: f32,
    /// Decay of the first moment.
    pub beta1: f32,
    /// Decay of the second moment.
    pub beta2: f32,
    /// Added to the denominator for stability.
    pub eps: f32,
    /// The step count and the moments of every parameter.
    pub moments: Moments,
}

impl Adam {
    /// Adam with learning rate `lr` and Keras' other defaults.
    pub fn new(lr: f32) -> Self {
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-7,
            moments: Moments::default(),
        }
    }
}

impl Default for Adam {
    fn default() -> Self {
        Adam::new(0.001)
    }
}

/// The state of an Adam-family optimizer: the steps taken, Nadam's running product of
/// momentum factors, and the first and second moment of every trainable tensor in the
/// model's order. Public so that a training checkpoint can save and restore it.
#[derive(Clone, Debug, PartialEq)]
pub struct Moments {
    /// Steps taken.
    pub t: u32,
    /// `mu_1 * ... * mu_t` (Nadam only; 1 for Adam).
    pub u_product: f64,
    /// `(m, v)` of every trainable tensor, in the order the model visits them.
    pub tensors: Vec<(Vec<f32>, Vec<f32>)>,
}

impl Default for Moments {
    fn default() -> Self {
        Moments {
            t: 0,
            u_product: 1.0,
            tensors: Vec::new(),
        }
    }
}

/// The coefficients of one step, shared by every parameter.
#[derive(Clone, Copy)]
struct Step {
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    /// Weight of the momentum term in m_hat.
    c_m: f32,
    /// Weight of the gradient term in m_hat.
    c_g: f32,
    /// 1 / (1 - beta2^t).
    c_v: f32,
}

struct Visitor<'a> {
    moments: &'a mut Moments,
    step: Step,
    grads: &'a mut Gradients<f32, Cpu>,
    index: usize,
    buf: Vec<f32>,
}

impl ParamVisitor for Visitor<'_> {
    type Viewer = ViewTensorMut;

    fn tensor<S: Shape>(
        &mut self,
        opts: TensorOptions<S, f32, Cpu>,
        p: &mut Tensor<S, f32, Cpu>,
    ) -> Result<(), CpuError> {
        if !opts.do_gradient_update {
            return Ok(());
        }
        let n = p.shape().num_elements();
        if self.moments.tensors.len() <= self.index {
            self.moments.tensors.push((vec![0.0; n], vec![0.0; n]));
        }
        let (m, v) = &mut self.moments.tensors[self.index];
        self.index += 1;
        // The gradient buffer, read in place (it has the parameter's layout; parameters
        // are contiguous). Allocated as zeros for a parameter that received none.
        let grad: &[f32] = self.grads.get_or_alloc_mut(&*p)?;
        self.buf.resize(n, 0.0);
        p.copy_into(&mut self.buf);
        let s = self.step;
        self.buf
            .par_chunks_mut(4096)
            .zip(grad.par_chunks(4096))
            .zip(m.par_chunks_mut(4096).zip(v.par_chunks_mut(4096)))
            .for_each(|((w, g), (m, v))| {
                for i in 0..w.len() {
                    let gi = g[i];
                    m[i] = s.beta1 * m[i] + (1.0 - s.beta1) * gi;
                    v[i] = s.beta2 * v[i] + (1.0 - s.beta2) * gi * gi;
                    let m_hat = s.c_m * m[i] + s.c_g * gi;
                    let v_hat = v[i] * s.c_v;
                    w[i] -= s.lr * m_hat / (v_hat.sqrt() + s.eps);
                }
            });
        p.copy_from(&self.buf);
        Ok(())
    }
}

impl Moments {
    /// Applies `step` to every trainable tensor of `module`.
    fn apply<M: TensorCollection<f32, Cpu>>(
        &mut self,
        module: &mut M,
        gradients: &mut Gradients<f32, Cpu>,
        step: Step,
    ) -> Result<(), CpuError> {
        let mut visitor = Visitor {
            moments: self,
            step,
            grads: gradients,
            index: 0,
            buf: Vec::new(),
        };
        params::visit_mut(module, &mut visitor)
    }
}

macro_rules! dfdx_optimizer {
    ($name:ident) => {
        impl<M: TensorCollection<f32, Cpu>> Optimizer<M, Cpu, f32> for $name {
            /// dfdx's optimizer interface. It receives the gradients read-only, so it works
            /// on a copy of them; `step` avoids that copy.
            fn update(
                &mut self,
                module: &mut M,
                gradients: &Gradients<f32, Cpu>,
            ) -> Result<(), OptimizerUpdateError<CpuError>> {
                self.step(module, &mut gradients.clone())
                    .map_err(OptimizerUpdateError::DeviceError)
            }
        }
    };
}

dfdx_optimizer!(Nadam);
dfdx_optimizer!(Adam);

impl Nadam {
    /// One update of every parameter of `module` from `gradients`, reading the gradient
    /// buffers in place (a parameter without a gradient gets a zero one).
    ///
    /// # Errors
    /// dfdx's device error if a gradient buffer cannot be allocated.
    pub fn step<M: TensorCollection<f32, Cpu>>(
        &mut self,
        module: &mut M,
        gradients: &mut Gradients<f32, Cpu>,
    ) -> Result<(), CpuError> {
        let state = &mut self.moments;
        state.t += 1;
        let t = state.t as f64;
        let beta1 = self.beta1 as f64;
        let u_t = beta1 * (1.0 - 0.5 * 0.96f64.powf(t));
        let u_t1 = beta1 * (1.0 - 0.5 * 0.96f64.powf(t + 1.0));
        let u_product_t = state.u_product * u_t;
        let u_product_t1 = u_product_t * u_t1;
        state.u_product = u_product_t;
        let step = Step {
            lr: self.lr,
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.eps,
            c_m: (u_t1 / (1.0 - u_product_t1)) as f32,
            c_g: ((1.0 - u_t) / (1.0 - u_product_t)) as f32,
            c_v: (1.0 / (1.0 - (self.beta2 as f64).powf(t))) as f32,
        };
        state.apply(module, gradients, step)
    }
}

impl Adam {
    /// One update of every parameter of `module` from `gradients`, as [`Nadam::step`].
    ///
    /// # Errors
    /// dfdx's device error if a gradient buffer cannot be allocated.
    pub fn step<M: TensorCollection<f32, Cpu>>(
        &mut self,
        module: &mut M,
        gradients: &mut Gradients<f32, Cpu>,
    ) -> Result<(), CpuError> {
        let state = &mut self.moments;
        state.t += 1;
        let t = state.t as i32;
        let step = Step {
            lr: self.lr,
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.eps,
            c_m: 1.0 / (1.0 - self.beta1.powi(t)),
            c_g: 0.0,
            c_v: 1.0 / (1.0 - self.beta2.powi(t)),
        };
        state.apply(module, gradients, step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values from Keras 3.15.1 / TensorFlow 2.21 on this project's machine:
    /// ```python
    /// w = tf.Variable([1.0, -0.5, 0.25]); g = tf.constant([0.1, -0.2, 0.3])
    /// opt = keras.optimizers.Nadam(learning_rate=0.01)
    /// for t in range(5):
    ///     opt.apply_gradients([(g * (t + 1), w)]); print(w.numpy())
    /// ```
    #[test]
    fn matches_keras_nadam_step_by_step() {
        let keras = [
            [0.989_372_13, -0.489_372_13, 0.239_372_12],
            [0.979_910_8, -0.479_910_76, 0.229_910_76],
            [0.970_676_8, -0.470_676_75, 0.220_676_75],
            [0.961_377_26, -0.461_377_2, 0.211_377_2],
            [0.951_905_85, -0.451_905_82, 0.201_905_8],
        ];
        let dev = Cpu::default();
        let mut w: Tensor<Rank1<3>, f32, Cpu> = dev.tensor([1.0, -0.5, 0.25]);
        let mut opt = Nadam::new(0.01);
        for (t, expected) in keras.iter().enumerate() {
            let scale = (t + 1) as f32;
            let g: Tensor<Rank1<3>, f32, Cpu> =
                dev.tensor([0.1 * scale, -0.2 * scale, 0.3 * scale]);
            // d/dw of sum(w * g) is g.
            let mut grads = (w.leaky_trace() * g).sum().backward();
            opt.step(&mut w, &mut grads).unwrap();
            for (got, want) in w.as_vec().iter().zip(expected) {
                assert!((got - want).abs() < 2e-6, "step {}: {got} vs {want}", t + 1);
            }
        }
    }

    /// The reference is dfdx 0.13's own `Adam` (the implementation `fit` used before this
    /// one) on the same gradients: `m_hat / (sqrt(v_hat) + eps)` with both moments
    /// bias-corrected.
    #[test]
    fn matches_dfdx_adam_step_by_step() {
        let dev = Cpu::default();
        let mut ours: Tensor<Rank1<3>, f32, Cpu> = dev.tensor([1.0, -0.5, 0.25]);
        let mut theirs = ours.clone();
        let mut opt = Adam::new(0.01);
        let mut reference = dfdx::optim::Adam::new(
            &theirs,
            dfdx::optim::AdamConfig {
                lr: 0.01,
                eps: 1e-7,
                ..Default::default()
            },
        );
        for t in 0..20 {
            let scale = (t % 5 + 1) as f32 * if t % 2 == 0 { 1.0 } else { -0.5 };
            let g: Tensor<Rank1<3>, f32, Cpu> =
                dev.tensor([0.1 * scale, -0.2 * scale, 0.3 * scale]);
            let mut grads = (ours.leaky_trace() * g.clone()).sum().backward();
            opt.step(&mut ours, &mut grads).unwrap();
            let grads = (theirs.leaky_trace() * g).sum().backward();
            reference.update(&mut theirs, &grads).unwrap();
            for (a, b) in ours.as_vec().iter().zip(theirs.as_vec()) {
                assert!((a - b).abs() < 1e-6, "step {}: {a} vs {b}", t + 1);
            }
        }
        assert_eq!(opt.moments.t, 20);
    }
}
