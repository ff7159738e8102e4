//! Matrix multiplication on `f32` slices, through the `gemm` crate.
//!
//! `gemm` picks AVX-512, AVX2 or portable kernels at run time (its `x86-v4` feature), so the
//! same binary is fast both in a release build and inside an evcxr notebook cell, which
//! is compiled without `target-cpu=native`. Large products use every rayon thread.

/// A read-only matrix view: `rows x cols`, element `(i, j)` at `data[i * row_stride + j * col_stride]`.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    /// The backing slice.
    pub data: &'a [f32],
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// Distance between rows.
    pub row_stride: usize,
    /// Distance between columns.
    pub col_stride: usize,
}

impl<'a> MatRef<'a> {
    /// A row-major `rows x cols` matrix.
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        MatRef {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose, without copying.
    pub fn t(self) -> Self {
        MatRef {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    fn check(&self, what: &str) {
        if self.rows == 0 || self.cols == 0 {
            return;
        }
        let last = (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride;
        assert!(
            last < self.data.len(),
            "matmul: {what} view {}x{} (strides {}, {}) needs {} elements, slice has {}",
            self.rows,
            self.cols,
            self.row_stride,
            self.col_stride,
            last + 1,
            self.data.len()
        );
    }
}

/// `dst = lhs * rhs` (or `dst += lhs * rhs` when `accumulate`), with `dst` row-major
/// `lhs.rows x rhs.cols`.
///
/// # Panics
/// If the inner dimensions differ or a slice is too short for its view (a bug in the
/// caller, not a user error: every public op checks shapes first).
///
/// ```
/// use cnnkit::kernels::matmul::{matmul, MatRef};
/// let a = [1.0, 2.0, 3.0, 4.0]; // [[1, 2], [3, 4]]
/// let b = [5.0, 6.0, 7.0, 8.0]; // [[5, 6], [7, 8]]
/// let mut c = [0.0; 4];
/// matmul(&mut c, MatRef::row_major(&a, 2, 2), MatRef::row_major(&b, 2, 2), false);
/// assert_eq!(c, [19.0, 22.0, 43.0, 50.0]);
/// // Transposed operands are views, not copies: a^T * b.
/// matmul(&mut c, MatRef::row_major(&a, 2, 2).t(), MatRef::row_major(&b, 2, 2), false);
/// assert_eq!(c, [26.0, 30.0, 38.0, 44.0]);
/// ```
pub fn matmul(dst: &mut [f32], lhs: MatRef<'_>, rhs: MatRef<'_>, accumulate: bool) {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    assert_eq!(
        rhs.rows, k,
        "matmul: inner dimensions differ ({m}x{k} times {}x{n})",
        rhs.rows
    );
    assert!(dst.len() >= m * n, "matmul: destination too short");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(0.0);
        }
        return;
    }
    lhs.check("left");
    rhs.check("right");
    // SAFETY: every index the kernel touches was bounds-checked above: dst is m x n
    // row-major and the operand views fit inside their slices. The slices do not alias
    // (dst is a unique borrow).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::Rayon(0),
        );
    }
}
