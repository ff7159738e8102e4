//! [`Heads`]: two output layers on the same features, as a Keras functional model with two
//! outputs (the book's classification-and-localization model).

use dfdx::nn::modules::{BuildOnDevice, Module, ModuleMut, ModuleVisitor};
use dfdx::nn::tensor_collection::TensorCollection;
use dfdx::prelude::*;
use dfdx::tensor::WithEmptyTape;

use super::describe::{Describe, FeatureShape, LayerRow};
use crate::error::Error;

/// Runs both heads `A` and `B` on the same input and returns both outputs, `(a, b)`.
///
/// Keras (the book's chapter 14, "Classification and Localization"):
///
/// ```python
/// class_output = keras.layers.Dense(n_classes, activation="softmax")(avg)
/// loc_output = keras.layers.Dense(4)(avg)
/// model = keras.Model(inputs=base_model.input, outputs=[class_output, loc_output])
/// ```
///
/// is `(base, Heads<Dense<F, 10>, Dense<F, 4>>)` here (logits: the softmax sits in the loss).
/// During training the gradients of both heads' losses add up in the shared layers before
/// them. [`crate::model::summary`] lists the rows of `A`, then those of `B` (so its last
/// row, and `Summary::output`, show `B`'s output); both heads must end flat, or both in
/// feature maps of one height and width (a fully convolutional detector, see
/// [`crate::detection::windows`]).
///
/// ```
/// use cnnkit_nn::prelude::*;
/// type Model = (Conv2D<1, 4, 3, 1, Same, Relu>, GlobalAvgPool2D, Heads<Dense<4, 10>, Dense<4, 4>>);
/// let dev = Cpu::seed_from_u64(0);
/// let model = dev.build_module::<Model, f32>();
/// let (classes, boxes) = model.forward(dev.zeros_like(&(2, 8, 8, Const::<1>)));
/// assert_eq!((*classes.shape(), *boxes.shape()), ((2, Const::<10>), (2, Const::<4>)));
/// let s = summary(&model, [8, 8, 1]).unwrap();
/// assert_eq!(s.output(), FeatureShape::Flat(4)); // the last row: the second head
/// assert_eq!(s.total_params(), 40 + (4 * 10 + 10) + (4 * 4 + 4));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Heads<A, B> {
    /// The first head (class scores in the book's model).
    pub first: A,
    /// The second head (box coordinates in the book's model).
    pub second: B,
}

impl<D: Device<E>, E: Dtype, A: BuildOnDevice<D, E>, B: BuildOnDevice<D, E>> BuildOnDevice<D, E>
    for Heads<A, B>
{
    type Built = Heads<A::Built, B::Built>;
}

impl<E: Dtype, D: Device<E>, A: TensorCollection<E, D>, B: TensorCollection<E, D>>
    TensorCollection<E, D> for Heads<A, B>
{
    type To<E2: Dtype, D2: Device<E2>> = Heads<A::To<E2, D2>, B::To<E2, D2>>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::module("first", |s| &s.first, |s| &mut s.first),
                Self::module("second", |s| &s.second, |s| &mut s.second),
            ),
            |(first, second)| Heads { first, second },
        )
    }
}

impl<X: WithEmptyTape, A, B> Module<X> for Heads<A, B>
where
    A: Module<X>,
    B: Module<X, Error = A::Error>,
{
    type Output = (A::Output, B::Output);
    type Error = A::Error;

    fn try_forward(&self, x: X) -> Result<Self::Output, Self::Error> {
        // The first head records on a tape of its own; the shared layers' operations stay
        // on the second's. The loss that adds both merges the two (as in `Concat`).
        let a = self.first.try_forward(x.with_empty_tape())?;
        let b = self.second.try_forward(x)?;
        Ok((a, b))
    }
}

impl<X: WithEmptyTape, A, B> ModuleMut<X> for Heads<A, B>
where
    A: ModuleMut<X>,
    B: ModuleMut<X, Error = A::Error>,
{
    type Output = (A::Output, B::Output);
    type Error = A::Error;

    fn try_forward_mut(&mut self, x: X) -> Result<Self::Output, Self::Error> {
        let a = self.first.try_forward_mut(x.with_empty_tape())?;
        let b = self.second.try_forward_mut(x)?;
        Ok((a, b))
    }
}

impl<A: Describe, B: Describe> Describe for Heads<A, B> {
    fn describe(
        &self,
        input: FeatureShape,
        rows: &mut Vec<LayerRow>,
    ) -> crate::Result<FeatureShape> {
        let a = self.first.describe(input, rows)?;
        let b = self.second.describe(input, rows)?;
        match (a, b) {
            (FeatureShape::Flat(a), FeatureShape::Flat(b)) => Ok(FeatureShape::Flat(a + b)),
            // A fully convolutional detector: both heads give a score grid of one size.
            (
                FeatureShape::Image { h, w, c: ca },
                FeatureShape::Image {
                    h: hb,
                    w: wb,
                    c: cb,
                },
            ) if (h, w) == (hb, wb) => Ok(FeatureShape::image(h, w, ca + cb)),
            _ => Err(Error::Shape {
                layer: "Heads".into(),
                expected: "two heads that end in flat outputs (Dense layers), or in feature \
                           maps of the same height and width (1x1 convolutions)"
                    .into(),
                actual: format!(
                    "{a} and {b}; end each head with Flatten or GlobalAvgPool2D and Dense, or \
                     give both heads the same strides"
                ),
            }),
        }
    }
}
