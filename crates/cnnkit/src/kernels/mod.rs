//! The numeric kernels behind the layers, on plain `f32` slices in NHWC layout.
//!
//! These functions know nothing about dfdx: [`crate::ops`] wraps them into differentiable
//! tensor operations. They are public so that the benchmark and the tests can call them
//! directly, and so that a curious student can read a fast convolution in one file.

pub mod conv;
pub mod matmul;
pub mod pool;
pub mod scratch;
pub mod simd;
pub mod winograd;

/// Asks glibc's `malloc` to keep freed memory for reuse (once per process; a no-op on other
/// platforms).
///
/// By default glibc serves every allocation above 128 KiB-32 MiB with fresh pages from the
/// kernel and returns them on `free`, so a training step that allocates its activations
/// and gradients anew pays a page fault per 4 KiB, every step: 30 s of the 170 s of CPU
/// time of a benchmark run went to the kernel, and batch 256 inference ran at half speed.
/// With the mmap threshold at its maximum (32 MiB, what [`conv::CHUNK_FLOATS`] is sized
/// for) and trimming above 1 GiB only, freed blocks are reused instead.
pub fn tune_allocator() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: mallopt only changes malloc's tuning parameters; it is thread-safe and
        // has no memory-safety preconditions.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
            libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        }
    });
}
