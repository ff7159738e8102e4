//! [`Frozen`]: layers whose weights training leaves alone, as Keras' `layer.trainable = False`.

use dfdx::nn::modules::{BuildOnDevice, Module, ModuleMut, ModuleVisitor};
use dfdx::nn::tensor_collection::TensorCollection;
use dfdx::prelude::*;

use super::describe::{Describe, FeatureShape, LayerRow};

/// The layers `M` with their weights frozen: the book's transfer learning step
/// `for layer in base_model.layers: layer.trainable = False`.
///
/// A frozen block always computes what `M` computes in inference mode, also inside
/// [`crate::train::fit`]: batch normalization uses its moving statistics (as Keras does for
/// a layer with `trainable=False`) and dropout is off. It runs without a gradient tape, so
/// its weights get no gradient and the optimizer leaves them exactly as they were; this
/// also makes a training step as cheap as inference for the frozen part. For the same
/// reason no gradient flows back through it: put it at the start of the model, where the
/// base of a pretrained model is. [`crate::model::summary`] counts its parameters as
/// non-trainable and refuses a model with a trainable layer before a frozen block.
///
/// [`Frozen::new`] wraps a trained block and [`Frozen::into_inner`] unfreezes it again
/// (the book's second phase, `layer.trainable = True` with a lower learning rate).
///
/// ```
/// use cnnkit_nn::prelude::*;
/// type Base = (Conv2D<1, 4, 3, 1, Same, Relu>, GlobalAvgPool2D);
/// let dev = Cpu::seed_from_u64(0);
/// let base = dev.build_module::<Base, f32>();
/// let head = dev.build_module::<Dense<4, 2>, f32>();
/// let mut model = (Frozen::new(base.clone()), head);
/// let s = summary(&model, [6, 6, 1]).unwrap();
/// assert_eq!((s.trainable_params(), s.non_trainable_params()), (10, 40));
///
/// let data = cnnkit_nn::train::toy_bars(64, 0);
/// let cfg = FitConfig { epochs: 1, batch_size: 16, verbose: false, ..FitConfig::default() };
/// fit(&mut model, &data, None, &cfg).unwrap();
/// // The base did not move; the head did.
/// assert_eq!(model.0.inner.0.weight.as_vec(), base.0.weight.as_vec());
/// // Unfreezing gives the plain layers back: everything trains again.
/// let (frozen, head) = model;
/// let unfrozen = (frozen.into_inner(), head);
/// assert_eq!(summary(&unfrozen, [6, 6, 1]).unwrap().trainable_params(), 50);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Frozen<M> {
    /// The frozen layers.
    pub inner: M,
}

impl<M> Frozen<M> {
    /// Freezes `inner`.
    pub fn new(inner: M) -> Self {
        Frozen { inner }
    }

    /// The layers again, trainable.
    pub fn into_inner(self) -> M {
        self.inner
    }
}

impl<D: Device<E>, E: Dtype, M: BuildOnDevice<D, E>> BuildOnDevice<D, E> for Frozen<M> {
    type Built = Frozen<M::Built>;
}

impl<E: Dtype, D: Device<E>, M: TensorCollection<E, D>> TensorCollection<E, D> for Frozen<M> {
    type To<E2: Dtype, D2: Device<E2>> = Frozen<M::To<E2, D2>>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            Self::module("inner", |s| &s.inner, |s| &mut s.inner),
            |inner| Frozen { inner },
        )
    }
}

impl<X, M: Module<X>> Module<X> for Frozen<M> {
    type Output = M::Output;
    type Error = M::Error;

    fn try_forward(&self, x: X) -> Result<Self::Output, Self::Error> {
        self.inner.try_forward(x)
    }
}

impl<S, S2, E, D, T, M> ModuleMut<Tensor<S, E, D, T>> for Frozen<M>
where
    S: Shape,
    S2: Shape,
    E: Dtype,
    D: Device<E>,
    T: Tape<E, D>,
    M: Module<Tensor<S, E, D>, Output = Tensor<S2, E, D>>,
{
    type Output = Tensor<S2, E, D, T>;
    type Error = M::Error;

    /// Inference mode without the tape, which goes on with the output.
    fn try_forward_mut(&mut self, x: Tensor<S, E, D, T>) -> Result<Self::Output, Self::Error> {
        let (x, tape) = x.split_tape();
        Ok(self.inner.try_forward(x)?.put_tape(tape))
    }
}

impl<M: Describe> Describe for Frozen<M> {
    fn describe(
        &self,
        input: FeatureShape,
        rows: &mut Vec<LayerRow>,
    ) -> crate::Result<FeatureShape> {
        let first = rows.len();
        let output = self.inner.describe(input, rows)?;
        for row in &mut rows[first..] {
            row.non_trainable = row.params;
            row.stops_gradient = true;
            row.config = if row.config.is_empty() {
                "frozen".into()
            } else {
                format!("frozen; {}", row.config)
            };
        }
        Ok(output)
    }
}
