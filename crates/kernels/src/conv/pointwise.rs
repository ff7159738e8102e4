//! 1x1 convolutions with stride 1 and no padding: the NHWC input, read as a
//! `(batch * h * w) x c_in` matrix, is already im2col's matrix, so each pass is one GEMM.

use crate::geometry::ConvGeometry;
use crate::matmul::{matmul, MatRef};

/// `out += x W`.
pub(crate) fn forward_add(g: &ConvGeometry, x: &[f32], w: &[f32], out: &mut [f32]) {
    let (rows, l, o) = (g.rows(), g.patch_len(), g.out_c);
    matmul(
        out,
        MatRef::row_major(x, rows, l),
        MatRef::row_major(w, l, o),
        true,
    );
}

/// `dw += xᵀ dz`.
pub(crate) fn weight_grad(g: &ConvGeometry, x: &[f32], dz: &[f32], dw: &mut [f32]) {
    let (rows, l, o) = (g.rows(), g.patch_len(), g.out_c);
    matmul(
        dw,
        MatRef::row_major(x, rows, l).t(),
        MatRef::row_major(dz, rows, o),
        true,
    );
}

/// `dx += dz Wᵀ`.
pub(crate) fn input_grad(g: &ConvGeometry, dz: &[f32], w: &[f32], dx: &mut [f32]) {
    let (rows, l, o) = (g.rows(), g.patch_len(), g.out_c);
    matmul(
        dx,
        MatRef::row_major(dz, rows, o),
        MatRef::row_major(w, l, o).t(),
        true,
    );
}
