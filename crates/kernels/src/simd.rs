//! Element-wise kernels compiled for the widest vector instructions the CPU has.
//!
//! This crate is compiled for the baseline of its target: on x86-64 that is SSE2, four
//! `f32` lanes, in a release build as well as inside an evcxr notebook cell (neither passes
//! `-C target-cpu=native`, and a course cannot ask every student to). The GEMMs are not
//! affected (`gemm` picks AVX-512 or AVX2 kernels at run time), but our own loops are: the
//! Winograd tile transforms and the pooling loops ran at a quarter of the width an AVX-512
//! machine offers.
//!
//! [`multiversion!`](crate::simd::multiversion) fixes that the way `gemm` does, with the
//! crate `gemm` itself uses for it, [`pulp`]: one function body is compiled three times,
//! inside pulp's `V4` (AVX-512), inside `V3` (AVX2 with FMA) and for the baseline, and the
//! best copy the CPU supports runs (detected once by pulp, then a cached load). The body is
//! ordinary safe Rust and the dispatch needs no `unsafe` here; LLVM vectorises the body's
//! loops over fixed-size arrays ([`LANES`] floats, one AVX-512 register) at the width of
//! the copy it is compiled into.

/// Channels processed together by the vectorised kernels: 16 `f32`, one AVX-512 register
/// (two AVX2 registers, four SSE2 registers).
pub const LANES: usize = 16;

use std::sync::atomic::{AtomicU8, Ordering};

/// An instruction set a [`multiversion!`](crate::simd::multiversion) function
/// can run with, from the narrowest to the widest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InstructionSet {
    /// What the crate is compiled for (SSE2 on x86-64).
    Baseline = 1,
    /// AVX2 with FMA (pulp's `V3`): eight `f32` lanes.
    Avx2 = 2,
    /// AVX-512 (F, BW, CD, DQ, VL, with AVX2 and FMA: pulp's `V4`): sixteen `f32` lanes.
    Avx512 = 3,
}

impl InstructionSet {
    /// The widest instruction set this CPU supports.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if pulp::x86::V4::is_available() {
                return InstructionSet::Avx512;
            }
            if pulp::x86::V3::is_available() {
                return InstructionSet::Avx2;
            }
        }
        InstructionSet::Baseline
    }

    /// A short name: `"AVX-512"`, `"AVX2+FMA"` or `"baseline"`.
    pub fn name(self) -> &'static str {
        match self {
            InstructionSet::Baseline => "baseline",
            InstructionSet::Avx2 => "AVX2+FMA",
            InstructionSet::Avx512 => "AVX-512",
        }
    }

    fn from_u8(v: u8) -> Self {
        match v {
            3 => InstructionSet::Avx512,
            2 => InstructionSet::Avx2,
            _ => InstructionSet::Baseline,
        }
    }
}

/// The instruction set in use, 0 until the first call of [`instruction_set`].
static IN_USE: AtomicU8 = AtomicU8::new(0);

/// The instruction set [`multiversion!`](crate::simd::multiversion) functions run
/// with: the CPU's widest, or a narrower one named by the environment variable
/// `CNNKIT_SIMD` (`avx512`, `avx2` or `baseline`; read once), which the benchmark and the
/// tests use to measure and check the narrower copies.
///
/// ```
/// use cnnkit_kernels::simd::{instruction_set, InstructionSet};
/// assert!(instruction_set() <= InstructionSet::detect());
/// ```
#[inline]
pub fn instruction_set() -> InstructionSet {
    match IN_USE.load(Ordering::Relaxed) {
        0 => {
            let cpu = InstructionSet::detect();
            let wanted = match std::env::var("CNNKIT_SIMD").as_deref() {
                Ok("baseline") => InstructionSet::Baseline,
                Ok("avx2") => InstructionSet::Avx2,
                _ => cpu,
            };
            let set = wanted.min(cpu);
            IN_USE.store(set as u8, Ordering::Relaxed);
            set
        }
        v => InstructionSet::from_u8(v),
    }
}

/// Makes every [`multiversion!`](crate::simd::multiversion) function use `set`
/// (at most what the CPU has) from now on, in every thread; returns the set it replaces.
///
/// For tests that check the narrower copies against the widest: the copies compute the
/// same operations in the same order, lane by lane, so their results are identical to the
/// bit, and other threads that run meanwhile are not disturbed.
pub fn use_instruction_set(set: InstructionSet) -> InstructionSet {
    let before = instruction_set();
    IN_USE.store(set.min(InstructionSet::detect()) as u8, Ordering::Relaxed);
    before
}

/// Runs `f` once with each instruction set, widest first ([`InstructionSet::Avx512`],
/// [`InstructionSet::Avx2`], [`InstructionSet::Baseline`], each capped at what the CPU has;
/// see [`use_instruction_set`]), then restores the set in use before, also when `f`
/// panics. For tests that compare the copies of the multiversioned kernels.
///
/// ```
/// use cnnkit_kernels::simd::{for_each_instruction_set, instruction_set};
/// let before = instruction_set();
/// let mut seen = Vec::new();
/// for_each_instruction_set(|set| seen.push(set));
/// assert_eq!(seen.len(), 3);
/// assert_eq!(instruction_set(), before);
/// ```
pub fn for_each_instruction_set(mut f: impl FnMut(InstructionSet)) {
    struct Restore(InstructionSet);
    impl Drop for Restore {
        fn drop(&mut self) {
            use_instruction_set(self.0);
        }
    }
    let _restore = Restore(instruction_set());
    for set in [
        InstructionSet::Avx512,
        InstructionSet::Avx2,
        InstructionSet::Baseline,
    ] {
        use_instruction_set(set);
        f(set);
    }
}

/// Defines a function whose body is compiled for AVX-512, for AVX2+FMA and for the
/// baseline, and which runs the best of the three this CPU supports.
///
/// The arguments must be plain `name: Type` pairs (no patterns, no generics); the body
/// should keep its hot loops over [`LANES`]-sized arrays or slices so that they vectorise.
///
/// ```
/// cnnkit_kernels::simd::multiversion! {
///     /// `y += a * x`.
///     fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
///         for (y, x) in y.iter_mut().zip(x) {
///             *y += a * x;
///         }
///     }
/// }
/// let mut y = [1.0f32; 3];
/// axpy(2.0, &[1.0, 2.0, 3.0], &mut y);
/// assert_eq!(y, [3.0, 5.0, 7.0]);
/// ```
#[macro_export]
#[doc(hidden)]
macro_rules! __cnnkit_multiversion {
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block
    ) => {
        $(#[$meta])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn body($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            match $crate::simd::instruction_set() {
                // `instruction_set` never exceeds what pulp detected, so `try_new` succeeds;
                // `vectorize` runs the inlined body with the set's target features enabled.
                $crate::simd::InstructionSet::Avx512 => {
                    if let Some(simd) = $crate::simd::__pulp::x86::V4::try_new() {
                        return simd.vectorize(|| body($($arg),*));
                    }
                }
                $crate::simd::InstructionSet::Avx2 => {
                    if let Some(simd) = $crate::simd::__pulp::x86::V3::try_new() {
                        return simd.vectorize(|| body($($arg),*));
                    }
                }
                $crate::simd::InstructionSet::Baseline => {}
            }
            body($($arg),*)
        }
    };
}

#[doc(inline)]
pub use crate::__cnnkit_multiversion as multiversion;

/// pulp, for the expansion of [`multiversion!`](crate::simd::multiversion) in other crates.
#[doc(hidden)]
pub use pulp as __pulp;

/// A raw pointer to `f32`s that rayon tasks may share, for kernels whose tasks write
/// disjoint elements that are not one contiguous block per task (Winograd's tiles of one
/// image are spread over 16 planes).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SharedMut {
    ptr: *mut f32,
    len: usize,
}

// SAFETY: `SharedMut` is only a pointer; the functions that write through it require
// their callers to keep the writes of different threads disjoint.
unsafe impl Send for SharedMut {}
// SAFETY: as above.
unsafe impl Sync for SharedMut {}

impl SharedMut {
    /// Shares `data` for the lifetime of the borrow the caller keeps.
    pub(crate) fn new(data: &mut [f32]) -> Self {
        SharedMut {
            ptr: data.as_mut_ptr(),
            len: data.len(),
        }
    }

    /// The `len` elements from `start`.
    ///
    /// # Safety
    /// The slice this was made from must still be borrowed by the caller, and no other
    /// thread may read or write these elements while the returned slice lives.
    #[inline(always)]
    #[allow(clippy::mut_from_ref)] // the point of the type; see the safety contract
    pub(crate) unsafe fn slice(&self, start: usize, len: usize) -> &mut [f32] {
        assert!(
            start <= self.len && len <= self.len - start,
            "SharedMut: {start}+{len} out of {}",
            self.len
        );
        // SAFETY: in bounds (checked above); exclusivity is the caller's promise.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(start), len) }
    }
}

/// `L` floats from the start of `src`, as a value (kept in registers by the vectorised
/// copies).
#[inline(always)]
pub(crate) fn load<const L: usize>(src: &[f32]) -> [f32; L] {
    src[..L].try_into().expect("a slice of L elements")
}

/// Writes `v` to the start of `dst`.
#[inline(always)]
pub(crate) fn store<const L: usize>(dst: &mut [f32], v: [f32; L]) {
    dst[..L].copy_from_slice(&v);
}

/// Lane-wise `a + b`.
#[inline(always)]
pub(crate) fn add<const L: usize>(a: [f32; L], b: [f32; L]) -> [f32; L] {
    std::array::from_fn(|l| a[l] + b[l])
}

/// Lane-wise `a - b`.
#[inline(always)]
pub(crate) fn sub<const L: usize>(a: [f32; L], b: [f32; L]) -> [f32; L] {
    std::array::from_fn(|l| a[l] - b[l])
}

/// Lane-wise `-a`.
#[inline(always)]
pub(crate) fn neg<const L: usize>(a: [f32; L]) -> [f32; L] {
    std::array::from_fn(|l| -a[l])
}

/// Lane-wise `a * s`, for the constant coefficients of Winograd's transforms (a product,
/// then an addition in the caller: never fused, so every instruction set rounds alike).
#[inline(always)]
pub(crate) fn scale<const L: usize>(a: [f32; L], s: f32) -> [f32; L] {
    std::array::from_fn(|l| a[l] * s)
}

/// Lane-wise ReLU, keeping NaN as TensorFlow does (`f32::max` would turn it into 0).
#[inline(always)]
pub(crate) fn relu<const L: usize>(a: [f32; L]) -> [f32; L] {
    std::array::from_fn(|l| crate::elementwise::relu(a[l]))
}

#[cfg(test)]
mod tests {
    use super::*;

    multiversion! {
        fn sum_of_squares(x: &[f32]) -> f32 {
            let mut acc = [0.0f32; LANES];
            let mut chunks = x.chunks_exact(LANES);
            for c in &mut chunks {
                for (a, v) in acc.iter_mut().zip(c) {
                    *a += v * v;
                }
            }
            acc.iter().sum::<f32>() + chunks.remainder().iter().map(|v| v * v).sum::<f32>()
        }
    }

    #[test]
    fn every_copy_computes_the_same_result() {
        let x: Vec<f32> = (0..1000).map(|i| (i % 7) as f32 * 0.37 - 1.1).collect();
        let mut want = [0.0f32; LANES];
        for (i, v) in x[..992].iter().enumerate() {
            want[i % LANES] += v * v;
        }
        let want = want.iter().sum::<f32>() + x[992..].iter().map(|v| v * v).sum::<f32>();
        for_each_instruction_set(|set| {
            assert!(instruction_set() <= InstructionSet::detect());
            assert_eq!(sum_of_squares(&x).to_bits(), want.to_bits(), "{set:?}");
        });
    }

    #[test]
    fn shared_slices_stay_in_bounds() {
        let mut v = vec![0.0f32; 8];
        let s = SharedMut::new(&mut v);
        // SAFETY: one thread, `v` borrowed.
        unsafe { s.slice(6, 2).fill(1.0) };
        assert_eq!(v[6..], [1.0, 1.0]);
        let r = std::panic::catch_unwind(|| {
            let mut w = vec![0.0f32; 4];
            let s = SharedMut::new(&mut w);
            // SAFETY: one thread; the call must panic before touching memory.
            unsafe { s.slice(3, 2).fill(1.0) };
        });
        assert!(r.is_err());
    }
}
