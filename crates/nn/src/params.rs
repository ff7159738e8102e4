//! Walking over a model's parameter tensors: the one adapter between dfdx's
//! `TensorVisitor` and this crate's visitors (the Nadam update, the checkpoint layout, and
//! `fit`'s renewal of tensor ids), so that each states only what it does with one tensor.

use dfdx::nn::tensor_collection::{
    RecursiveWalker, ScalarOptions, TensorCollection, TensorOptions, TensorViewer, TensorVisitor,
    ViewTensorMut, ViewTensorName, ViewTensorRef,
};
use dfdx::prelude::*;

/// What a visitor does with each `f32` CPU tensor (and scalar, such as a dropout rate) of a
/// model; [`visit_mut`] and [`visit_named`] walk the model in its own order.
pub(crate) trait ParamVisitor {
    /// How tensors are seen: `ViewTensorMut`, `ViewTensorRef`, or with their names.
    type Viewer: TensorViewer;

    /// Called for every tensor.
    fn tensor<S: Shape>(
        &mut self,
        opts: TensorOptions<S, f32, Cpu>,
        t: <Self::Viewer as TensorViewer>::View<'_, Tensor<S, f32, Cpu>>,
    ) -> Result<(), CpuError>;

    /// Called for every scalar; nothing by default.
    fn scalar<N: num_traits::NumCast>(
        &mut self,
        _t: <Self::Viewer as TensorViewer>::View<'_, N>,
    ) -> Result<(), CpuError> {
        Ok(())
    }
}

/// dfdx's side of a [`ParamVisitor`]: builds no new module, only visits.
struct Adapter<'v, V>(&'v mut V);

impl<V: ParamVisitor> TensorVisitor<f32, Cpu> for Adapter<'_, V> {
    type Viewer = V::Viewer;
    type Err = CpuError;
    type E2 = f32;
    type D2 = Cpu;

    fn visit<S: Shape>(
        &mut self,
        opts: TensorOptions<S, f32, Cpu>,
        t: <Self::Viewer as TensorViewer>::View<'_, Tensor<S, f32, Cpu>>,
    ) -> Result<Option<Tensor<S, f32, Cpu>>, CpuError> {
        self.0.tensor(opts, t)?;
        Ok(None)
    }

    fn visit_scalar<N: num_traits::NumCast>(
        &mut self,
        _: ScalarOptions<N>,
        t: <Self::Viewer as TensorViewer>::View<'_, N>,
    ) -> Result<Option<N>, CpuError> {
        self.0.scalar(t)?;
        Ok(None)
    }
}

/// Runs `visitor` over every tensor and scalar of `model`, mutably, in the model's order.
pub(crate) fn visit_mut<M, V>(model: &mut M, visitor: &mut V) -> Result<(), CpuError>
where
    M: TensorCollection<f32, Cpu>,
    V: ParamVisitor<Viewer = ViewTensorMut>,
{
    let mut adapter = Adapter(visitor);
    M::iter_tensors(&mut RecursiveWalker {
        m: model,
        f: &mut adapter,
    })?;
    Ok(())
}

/// Runs `visitor` over every tensor and scalar of `model` with their names (`0.weight`,
/// `1.bias`, ...), in the model's order.
pub(crate) fn visit_named<M, V>(model: &M, visitor: &mut V) -> Result<(), CpuError>
where
    M: TensorCollection<f32, Cpu>,
    V: ParamVisitor<Viewer = (ViewTensorRef, ViewTensorName)>,
{
    let mut adapter = Adapter(visitor);
    M::iter_tensors(&mut RecursiveWalker {
        m: (model, String::new()),
        f: &mut adapter,
    })?;
    Ok(())
}

/// Runs `visitor` over every tensor and scalar of `model`, mutably, with their names.
pub(crate) fn visit_mut_named<M, V>(model: &mut M, visitor: &mut V) -> Result<(), CpuError>
where
    M: TensorCollection<f32, Cpu>,
    V: ParamVisitor<Viewer = (ViewTensorMut, ViewTensorName)>,
{
    let mut adapter = Adapter(visitor);
    M::iter_tensors(&mut RecursiveWalker {
        m: (model, String::new()),
        f: &mut adapter,
    })?;
    Ok(())
}
