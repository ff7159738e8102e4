//! Weight initialisers with Keras' definitions, for the layers' `reset_with` options.
//!
//! | function | Keras | used by |
//! |---|---|---|
//! | [`glorot_uniform`] | `GlorotUniform` (the default of `Conv2D` and `Dense`) | [`crate::layers::Conv2D`], [`crate::layers::Dense`] |
//! | [`he_normal`] | `HeNormal` (`kernel_initializer="he_normal"`, the book's choice before ReLU) | layers that ask for it |
//!
//! Both take the fans as Keras counts them: for a convolution `k_h * k_w * c_in` in and
//! `k_h * k_w * c_out` out, for a dense layer the input and output features.

use dfdx::prelude::*;
use rand::distributions::{Distribution, Uniform};
use rand::Rng;

/// The bound `sqrt(6 / (fan_in + fan_out))` of Glorot's uniform distribution.
///
/// ```
/// // The lecture's first layer: 7x7 kernels, 1 channel in, 64 out.
/// let limit = cnnkit_nn::init::glorot_limit(49, 49 * 64);
/// assert_eq!(limit, (6.0f64 / (49.0 + 3136.0)).sqrt());
/// assert!((limit - 0.0434).abs() < 1e-4);
/// ```
pub fn glorot_limit(fan_in: usize, fan_out: usize) -> f64 {
    (6.0 / (fan_in + fan_out).max(1) as f64).sqrt()
}

/// Fills `t` from `U(-l, l)` with `l = sqrt(6 / (fan_in + fan_out))` (Keras' `GlorotUniform`).
///
/// ```
/// use dfdx::prelude::*;
/// let dev = Cpu::seed_from_u64(0);
/// let mut w: Tensor<Rank2<100, 50>, f32, _> = dev.zeros();
/// cnnkit_nn::init::glorot_uniform(&mut w, 100, 50).unwrap();
/// let limit = cnnkit_nn::init::glorot_limit(100, 50) as f32;
/// assert!(w.as_vec().iter().all(|v| v.abs() <= limit));
/// ```
pub fn glorot_uniform<S: Shape, E, D>(
    t: &mut Tensor<S, E, D>,
    fan_in: usize,
    fan_out: usize,
) -> Result<(), D::Err>
where
    E: Dtype + num_traits::Float + rand::distributions::uniform::SampleUniform,
    D: Device<E>,
{
    let limit = E::from(glorot_limit(fan_in, fan_out)).expect("a finite bound");
    t.try_fill_with_distr(Uniform::new(-limit, limit))
}

/// A normal distribution with mean 0 and standard deviation `sigma`, truncated at two
/// standard deviations (values beyond are drawn again), as Keras' `TruncatedNormal`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TruncatedNormal {
    /// Standard deviation of the normal distribution before truncation.
    pub sigma: f64,
}

impl<E: num_traits::Float> Distribution<E> for TruncatedNormal {
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> E {
        let unit = Uniform::new(f64::EPSILON, 1.0);
        loop {
            // Box-Muller: one standard normal value from two uniform ones.
            let (u, v): (f64, f64) = (unit.sample(rng), unit.sample(rng));
            let z = (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos();
            if z.abs() <= 2.0 {
                return E::from(z * self.sigma).expect("a finite sample");
            }
        }
    }
}

/// The standard deviation of Keras' `HeNormal`: `sqrt(2 / fan_in) / 0.8796...`, the
/// factor that makes the variance of the truncated distribution exactly `2 / fan_in`.
pub fn he_sigma(fan_in: usize) -> f64 {
    // Standard deviation of a unit normal truncated to [-2, 2] (Keras' constant).
    const TRUNCATED_STD: f64 = 0.879_625_661_034_239_8;
    (2.0 / fan_in.max(1) as f64).sqrt() / TRUNCATED_STD
}

/// Fills `t` with Keras' `HeNormal`: a normal distribution with standard deviation
/// [`he_sigma`]`(fan_in)` truncated at two standard deviations, whose variance is `2 / fan_in`.
///
/// ```
/// use dfdx::prelude::*;
/// let dev = Cpu::seed_from_u64(1);
/// let mut w: Tensor<Rank1<20000>, f32, _> = dev.zeros();
/// cnnkit_nn::init::he_normal(&mut w, 50).unwrap();
/// let v = w.as_vec();
/// let var = v.iter().map(|x| x * x).sum::<f32>() / v.len() as f32;
/// assert!((var - 2.0 / 50.0).abs() < 0.002, "variance {var}");
/// ```
pub fn he_normal<S: Shape, E, D>(t: &mut Tensor<S, E, D>, fan_in: usize) -> Result<(), D::Err>
where
    E: Dtype + num_traits::Float,
    D: Device<E>,
{
    t.try_fill_with_distr(TruncatedNormal {
        sigma: he_sigma(fan_in),
    })
}
