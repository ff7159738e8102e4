//! [`Block`]: several layers shown as one row of a summary, like a custom Keras layer.

use std::marker::PhantomData;

use dfdx::nn::modules::{BuildOnDevice, Module, ModuleMut, ModuleVisitor};
use dfdx::nn::tensor_collection::TensorCollection;
use dfdx::prelude::*;

use super::describe::{push_with_frozen, Describe, FeatureShape, LayerRow};

/// The name a [`Block`] shows in a summary: Keras' class name and instance prefix.
pub trait BlockName: Default + Clone + Copy + std::fmt::Debug + 'static {
    /// The layer type, for example `ResidualUnit`.
    const KIND: &'static str;
    /// The instance prefix, for example `residual_unit` (then `residual_unit_1`, ...).
    const BASE: &'static str;
}

/// The layers `M` under one name `N`: it computes what `M` computes, and
/// [`crate::model::summary`] shows it as one row with the sum of its parameters, as Keras
/// shows a custom layer such as the book's `ResidualUnit`. [`Block::rows`] lists the
/// layers inside.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let dev = Cpu::seed_from_u64(0);
/// let model = dev.build_module::<(ResidualUnit<16>, ResidualUnit<16>), f32>();
/// let s = summary(&model, [8, 8, 16]).unwrap();
/// assert_eq!(s.layers[1].name, "residual_unit_1");
/// assert_eq!(model.0.rows([8, 8, 16]).unwrap().len(), 7); // conv, BN, relu, conv, BN, add, relu
/// ```
#[derive(Clone, Debug, Default)]
pub struct Block<N, M> {
    /// The layers inside.
    pub inner: M,
    name: PhantomData<N>,
}

impl<N: BlockName, M: Describe> Block<N, M> {
    /// The rows of the layers inside, for an input of shape `input`.
    ///
    /// # Errors
    /// [`crate::Error::Shape`] when `input` does not fit.
    pub fn rows(&self, input: impl Into<FeatureShape>) -> crate::Result<Vec<LayerRow>> {
        let mut rows = Vec::new();
        self.inner.describe(input.into(), &mut rows)?;
        Ok(rows)
    }

    /// The layers inside as a summary of their own, to print like a model's.
    ///
    /// ```
    /// use cnnkit_nn::prelude::*;
    /// let unit = Cpu::seed_from_u64(0).build_module::<ResidualUnit<8>, f32>();
    /// let inside = unit.summary([6, 6, 8]).unwrap();
    /// assert_eq!(inside.layers[0].kind, "Conv2D");
    /// assert!(inside.to_string().contains("add (Add)"));
    /// ```
    ///
    /// # Errors
    /// [`crate::Error::Shape`] when `input` does not fit.
    pub fn summary(&self, input: impl Into<FeatureShape>) -> crate::Result<crate::model::Summary> {
        let input = input.into();
        Ok(crate::model::Summary {
            input,
            layers: self.rows(input)?,
        })
    }
}

impl<N: BlockName, D: Device<E>, E: Dtype, M: BuildOnDevice<D, E>> BuildOnDevice<D, E>
    for Block<N, M>
{
    type Built = Block<N, M::Built>;
}

impl<N: BlockName, E: Dtype, D: Device<E>, M: TensorCollection<E, D>> TensorCollection<E, D>
    for Block<N, M>
{
    type To<E2: Dtype, D2: Device<E2>> = Block<N, M::To<E2, D2>>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            Self::module("inner", |s| &s.inner, |s| &mut s.inner),
            |inner| Block {
                inner,
                name: PhantomData,
            },
        )
    }
}

impl<N, X, M: Module<X>> Module<X> for Block<N, M> {
    type Output = M::Output;
    type Error = M::Error;

    fn try_forward(&self, x: X) -> Result<Self::Output, Self::Error> {
        self.inner.try_forward(x)
    }
}

impl<N, X, M: ModuleMut<X>> ModuleMut<X> for Block<N, M> {
    type Output = M::Output;
    type Error = M::Error;

    fn try_forward_mut(&mut self, x: X) -> Result<Self::Output, Self::Error> {
        self.inner.try_forward_mut(x)
    }
}

impl<N: BlockName, M: Describe> Describe for Block<N, M> {
    fn describe(
        &self,
        input: FeatureShape,
        rows: &mut Vec<LayerRow>,
    ) -> crate::Result<FeatureShape> {
        let mut inside = Vec::new();
        let output = self
            .inner
            .describe(input, &mut inside)
            .map_err(|e| match e {
                crate::Error::Shape {
                    layer,
                    expected,
                    actual,
                } => crate::Error::Shape {
                    layer: format!("{} inside {}", layer, N::KIND),
                    expected,
                    actual,
                },
                other => other,
            })?;
        crate::model::check_gradient_flow(&inside)?;
        let params = inside.iter().map(|r| r.params).sum();
        let frozen = inside.iter().map(|r| r.non_trainable).sum();
        push_with_frozen(
            rows,
            N::KIND,
            N::BASE,
            output,
            (params, frozen),
            format!("{} layers", inside.len()),
        );
        if let Some(row) = rows.last_mut() {
            row.stops_gradient = inside.iter().any(|r| r.stops_gradient);
        }
        Ok(output)
    }
}
