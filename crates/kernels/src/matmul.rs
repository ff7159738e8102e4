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
/// use cnnkit_kernels::matmul::{matmul, MatRef};
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
    crate::scratch::tune_allocator();
    // gemm parallelises over blocks of the output. A small output with a long inner
    // dimension (the weight gradient of a first layer: 49 x 64 outputs, 25,088 terms
    // each) would then run on one thread, so split the inner dimension instead and add
    // the partial products. The split is the same for every thread count, so that the
    // sums (and a whole training run) do not depend on the machine's cores.
    matmul_with(dst, lhs, rhs, accumulate, gemm::Parallelism::Rayon(0));
}

/// [`matmul`] with gemm's `parallelism` for the products it does not split: the same
/// sums in the same order whichever parallelism (gemm splits only the output).
fn matmul_with(
    dst: &mut [f32],
    lhs: MatRef<'_>,
    rhs: MatRef<'_>,
    accumulate: bool,
    parallelism: gemm::Parallelism,
) {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    if m * n <= SPLIT_K_MAX_OUTPUT && k >= SPLIT_K_MIN_INNER {
        return matmul_split_k(dst, lhs, rhs, accumulate, SPLIT_K_PARTS);
    }
    gemm_call(dst, lhs, rhs, accumulate, parallelism);
}

/// `dst[i] (+)= lhs(i) * rhs(i)` for `count` independent products of the same shape, where
/// `dst[i]` is the `i`-th of `count` equal row-major blocks of `dst`.
///
/// Each product runs on one thread and the products are spread over the threads: for the
/// 16 small products of a Winograd layer this is 5-35% faster than running them one after
/// another with every thread on each (measured at the lecture's sizes: no synchronisation
/// inside a product, and each thread keeps its own operands in its cache). With fewer
/// products than threads they run one after another, each on every thread.
///
/// ```
/// use cnnkit_kernels::matmul::{matmul_batch, MatRef};
/// let a = [1.0, 2.0, 3.0, 4.0]; // two 1x2 matrices
/// let b = [1.0, 1.0, 2.0, -1.0]; // two 2x1 matrices
/// let mut c = [0.0; 2];
/// matmul_batch(
///     &mut c,
///     2,
///     |i| MatRef::row_major(&a[2 * i..2 * i + 2], 1, 2),
///     |i| MatRef::row_major(&b[2 * i..2 * i + 2], 2, 1),
///     false,
/// );
/// assert_eq!(c, [3.0, 2.0]);
/// ```
pub fn matmul_batch<'a, 'b>(
    dst: &mut [f32],
    count: usize,
    lhs: impl Fn(usize) -> MatRef<'a> + Sync,
    rhs: impl Fn(usize) -> MatRef<'b> + Sync,
    accumulate: bool,
) {
    if count == 0 {
        return;
    }
    assert!(
        dst.len().is_multiple_of(count),
        "matmul_batch: destination of {} elements is not {count} equal blocks",
        dst.len()
    );
    let stride = dst.len() / count;
    matmul_batch_strided(dst, count, stride, lhs, rhs, accumulate);
}

/// [`matmul_batch`] with the products' destinations `stride` floats apart: `dst[i]` is the
/// row-major block that starts at `i * stride`, and the floats between the end of one
/// block and the start of the next are left alone. `dst` holds `count * stride` floats.
///
/// Winograd's transformed tiles use this to keep their planes a cache line off a multiple
/// of 4 KB from each other: planes exactly 4 KB apart land in the same set of the L1 cache,
/// and a tile's 36 positions, one per plane, would then evict each other.
///
/// ```
/// use cnnkit_kernels::matmul::{matmul_batch_strided, MatRef};
/// let a = [2.0, 3.0];
/// let b = [5.0];
/// let mut c = [0.0, -1.0, 0.0, -1.0]; // two 1x1 products, 2 floats apart
/// matmul_batch_strided(
///     &mut c,
///     2,
///     2,
///     |i| MatRef::row_major(&a[i..i + 1], 1, 1),
///     |_| MatRef::row_major(&b, 1, 1),
///     false,
/// );
/// assert_eq!(c, [10.0, -1.0, 15.0, -1.0]);
/// ```
pub fn matmul_batch_strided<'a, 'b>(
    dst: &mut [f32],
    count: usize,
    stride: usize,
    lhs: impl Fn(usize) -> MatRef<'a> + Sync,
    rhs: impl Fn(usize) -> MatRef<'b> + Sync,
    accumulate: bool,
) {
    use rayon::prelude::*;
    crate::scratch::tune_allocator();
    if count == 0 {
        return;
    }
    assert_eq!(
        dst.len(),
        count * stride,
        "matmul_batch: destination of {} elements is not {count} blocks {stride} apart",
        dst.len()
    );
    let run = |i: usize, d: &mut [f32], parallelism| {
        let (l, r) = (lhs(i), rhs(i));
        let len = l.rows * r.cols;
        assert!(
            len <= stride,
            "matmul_batch: product {i} of {len} elements does not fit in {stride}"
        );
        matmul_with(&mut d[..len], l, r, accumulate, parallelism);
    };
    if count < rayon::current_num_threads() {
        for (i, d) in dst.chunks_exact_mut(stride).enumerate() {
            run(i, d, gemm::Parallelism::Rayon(0));
        }
        return;
    }
    dst.par_chunks_exact_mut(stride)
        .enumerate()
        .for_each(|(i, d)| run(i, d, gemm::Parallelism::None));
}

/// Outputs up to this many elements use [`matmul_split_k`] ...
const SPLIT_K_MAX_OUTPUT: usize = 32 * 1024;
/// ... when the inner dimension is at least this long.
const SPLIT_K_MIN_INNER: usize = 4096;
/// Parts of the inner dimension in the split-k path: fixed (not the thread count), enough
/// for the cores of a teaching machine.
const SPLIT_K_PARTS: usize = 16;

/// `dst (+)= lhs * rhs` with the inner dimension split into `parts` products computed in
/// parallel, each on one thread, then summed.
fn matmul_split_k(
    dst: &mut [f32],
    lhs: MatRef<'_>,
    rhs: MatRef<'_>,
    accumulate: bool,
    parts: usize,
) {
    use rayon::prelude::*;
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    let chunk = k.div_ceil(parts);
    let partials: Vec<Vec<f32>> = (0..parts)
        .into_par_iter()
        .map(|p| {
            let (k0, k1) = (p * chunk, ((p + 1) * chunk).min(k));
            let mut out = vec![0.0f32; m * n];
            if k1 > k0 {
                let l = MatRef {
                    data: &lhs.data[k0 * lhs.col_stride..],
                    cols: k1 - k0,
                    ..lhs
                };
                let r = MatRef {
                    data: &rhs.data[k0 * rhs.row_stride..],
                    rows: k1 - k0,
                    ..rhs
                };
                gemm_call(&mut out, l, r, false, gemm::Parallelism::None);
            }
            out
        })
        .collect();
    let dst = &mut dst[..m * n];
    if !accumulate {
        dst.fill(0.0);
    }
    for part in &partials {
        for (d, v) in dst.iter_mut().zip(part) {
            *d += v;
        }
    }
}

/// One call of the `gemm` crate with a row-major contiguous destination.
fn gemm_call(
    dst: &mut [f32],
    lhs: MatRef<'_>,
    rhs: MatRef<'_>,
    accumulate: bool,
    par: gemm::Parallelism,
) {
    gemm_call_strided(dst, rhs.cols, lhs, rhs, accumulate, par)
}

/// One call of the `gemm` crate, after checking every bound; row `i` of the result
/// starts at `dst[i * dst_rs]`.
fn gemm_call_strided(
    dst: &mut [f32],
    dst_rs: usize,
    lhs: MatRef<'_>,
    rhs: MatRef<'_>,
    accumulate: bool,
    par: gemm::Parallelism,
) {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    assert_eq!(
        rhs.rows, k,
        "matmul: inner dimensions differ ({m}x{k} times {}x{n})",
        rhs.rows
    );
    if m == 0 || n == 0 {
        return;
    }
    assert!(
        dst.len() >= (m - 1) * dst_rs + n,
        "matmul: destination too short"
    );
    if k == 0 {
        if !accumulate {
            for row in 0..m {
                dst[row * dst_rs..row * dst_rs + n].fill(0.0);
            }
        }
        return;
    }
    lhs.check("left");
    rhs.check("right");
    // SAFETY: every index the kernel touches was bounds-checked above: row i of dst
    // occupies dst[i * dst_rs .. i * dst_rs + n] and the operand views fit inside their
    // slices. The slices do not alias (dst is a unique borrow).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_rs as isize,
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
            par,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: MatRef<'_>, b: MatRef<'_>) -> Vec<f64> {
        let mut c = vec![0.0f64; a.rows * b.cols];
        for i in 0..a.rows {
            for j in 0..b.cols {
                for k in 0..a.cols {
                    c[i * b.cols + j] += a.data[i * a.row_stride + k * a.col_stride] as f64
                        * b.data[k * b.row_stride + j * b.col_stride] as f64;
                }
            }
        }
        c
    }

    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) % 1000) as f32 / 500.0
                    - 1.0
            })
            .collect()
    }

    #[test]
    fn split_k_and_plain_paths_agree_with_a_naive_product() {
        // (m, k, n): the second case takes the split-k path (small output, long inner dim).
        for (m, k, n) in [(33, 70, 17), (7, 5000, 5), (49, 9000, 64)] {
            let a = values(m * k, 1);
            let b = values(k * n, 2);
            // lhs given transposed (col-major view), as the weight gradient does.
            let at: Vec<f32> = (0..k * m).map(|idx| a[(idx % m) * k + idx / m]).collect();
            let lhs = MatRef::row_major(&at, k, m).t();
            let rhs = MatRef::row_major(&b, k, n);
            let expected = naive(lhs, rhs);
            for accumulate in [false, true] {
                let mut c = vec![1.0f32; m * n];
                matmul(&mut c, lhs, rhs, accumulate);
                for (got, want) in c.iter().zip(&expected) {
                    let want = want + if accumulate { 1.0 } else { 0.0 };
                    assert!(
                        (*got as f64 - want).abs() < 1e-3 * (1.0 + want.abs()),
                        "m={m} k={k} n={n}: {got} vs {want}"
                    );
                }
            }
        }
    }
}
