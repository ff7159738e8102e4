//! The kernels' memory policy, in one place: how large temporary matrices are, where they
//! come from, and how the allocator is tuned.
//!
//! 1. **Chunks.** Temporary matrices (im2col's `col`, Winograd's transformed tiles) are
//!    built for chunks of images of about [`CHUNK_FLOATS`] floats (16 MB), not for the
//!    whole batch: [`images_per_chunk`] and [`image_chunks`] split a batch.
//! 2. **Reuse.** A training step needs the same temporary matrices in every layer and
//!    every step. Allocating them zeroed each time costs a `memset` of megabytes per call
//!    (5-8% of a training step in `perf`), although every kernel overwrites them anyway.
//!    [`take`] hands out a buffer from a small per-thread pool instead; it goes back to
//!    the pool when dropped.
//! 3. **The allocator.** [`tune_allocator`] keeps glibc's `malloc` from returning large
//!    freed blocks to the kernel (the GEMM wrappers call it once per process), so that the
//!    activations and gradients that dfdx allocates anew every step reuse memory too.

use std::cell::RefCell;
use std::ops::{Deref, DerefMut};

/// Temporary matrices are built for chunks of images of about this many floats (16 MB).
/// A whole batch at once would need hundreds of megabytes at batch 128-256 (the `col` of
/// `conv2d_2` alone is 115 MB at batch 128), which glibc hands out as fresh pages on every
/// call; chunks of this size are reused across the batch, stay below glibc's mmap
/// threshold (see [`tune_allocator`]) and still give GEMMs thousands of rows.
pub const CHUNK_FLOATS: usize = 1 << 22;

/// Images per chunk of a batch of `batch` images when one image needs `floats_per_image`
/// floats of scratch: about [`CHUNK_FLOATS`] per chunk, at least one image.
///
/// ```
/// use cnnkit_kernels::scratch::{image_chunks, images_per_chunk, CHUNK_FLOATS};
/// let per = images_per_chunk(256, CHUNK_FLOATS / 100);
/// assert_eq!(per, 100);
/// let chunks: Vec<_> = image_chunks(256, per).collect();
/// assert_eq!(chunks, [(0, 100), (100, 100), (200, 56)]);
/// ```
pub fn images_per_chunk(batch: usize, floats_per_image: usize) -> usize {
    (CHUNK_FLOATS / floats_per_image.max(1)).clamp(1, batch.max(1))
}

/// The chunks `(first image, images)` of a batch of `batch` images, `per` at a time (the
/// last one may be shorter).
pub fn image_chunks(batch: usize, per: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..batch)
        .step_by(per)
        .map(move |first| (first, per.min(batch - first)))
}

/// Buffers kept per thread; more are freed.
const POOL_SIZE: usize = 8;

thread_local! {
    static POOL: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) };
}

/// A buffer of `f32` from the pool; returns to the pool of the dropping thread.
#[derive(Debug)]
pub struct Scratch(Vec<f32>);

/// A buffer of `len` floats with UNSPECIFIED contents (left over from earlier use, or
/// zeros): only for callers that write every element before reading it.
///
/// ```
/// let mut a = cnnkit_kernels::scratch::take(4);
/// a.copy_from_slice(&[1.0, 2.0, 3.0, 4.0]);
/// assert_eq!(a.len(), 4);
/// ```
pub fn take(len: usize) -> Scratch {
    let mut v = POOL.with(|p| {
        let mut pool = p.borrow_mut();
        // The smallest buffer that is large enough, else the largest one.
        let fit = (0..pool.len())
            .filter(|&i| pool[i].capacity() >= len)
            .min_by_key(|&i| pool[i].capacity())
            .or_else(|| (0..pool.len()).max_by_key(|&i| pool[i].capacity()));
        fit.map(|i| pool.swap_remove(i)).unwrap_or_default()
    });
    if v.len() >= len {
        v.truncate(len);
    } else {
        v.resize(len, 0.0);
    }
    Scratch(v)
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let v = std::mem::take(&mut self.0);
        if v.capacity() == 0 {
            return;
        }
        // Ignore a thread that is shutting down (its pool is gone).
        let _ = POOL.try_with(|p| {
            let mut pool = p.borrow_mut();
            pool.push(v);
            if pool.len() > POOL_SIZE {
                // Free the smallest.
                if let Some(i) = (0..pool.len()).min_by_key(|&i| pool[i].capacity()) {
                    pool.swap_remove(i);
                }
            }
        });
    }
}

impl Deref for Scratch {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.0
    }
}

impl DerefMut for Scratch {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.0
    }
}

/// At most this many floats (128 MB) wait in one thread's [`Recycled`] lists: a notebook's
/// kernel keeps them between cells.
const RECYCLED_MAX_FLOATS: usize = 1 << 25;

/// Free buffers by exact length, and the floats they hold in all.
type FreeLists = (std::collections::HashMap<usize, Vec<Vec<f32>>>, usize);

thread_local! {
    static RECYCLED: RefCell<FreeLists> = RefCell::new((std::collections::HashMap::new(), 0));
}

/// A buffer of exactly the length asked for, from per-length free lists of the calling
/// thread: for copies of tensors that a training step makes again with the same sizes
/// every step (`cnnkit-nn` copies each op's input out of its dfdx tensor). A fresh zeroed
/// `Vec` costs a `memset` of the whole buffer first (calloc clears reused memory); a
/// recycled one is only overwritten. Contents are UNSPECIFIED: only for callers that
/// write every element before reading it.
///
/// ```
/// use cnnkit_kernels::scratch::Recycled;
/// let mut a = Recycled::take(3);
/// a.copy_from_slice(&[1.0, 2.0, 3.0]);
/// drop(a);
/// let b = Recycled::take(3); // the same memory again
/// assert_eq!(b.len(), 3);
/// assert_eq!(b.into_vec().len(), 3);
/// ```
#[derive(Debug)]
pub struct Recycled(Vec<f32>);

impl Recycled {
    /// A buffer of `len` floats with unspecified contents.
    pub fn take(len: usize) -> Self {
        let found = RECYCLED
            .try_with(|r| {
                let (lists, floats) = &mut *r.borrow_mut();
                let v = lists.get_mut(&len).and_then(Vec::pop);
                if v.is_some() {
                    *floats -= len;
                }
                v
            })
            .ok()
            .flatten();
        Recycled(found.unwrap_or_else(|| vec![0.0; len]))
    }

    /// The buffer as a `Vec`, which is not recycled (for a buffer that becomes a tensor's
    /// storage).
    pub fn into_vec(mut self) -> Vec<f32> {
        std::mem::take(&mut self.0)
    }
}

impl Drop for Recycled {
    fn drop(&mut self) {
        let v = std::mem::take(&mut self.0);
        let len = v.len();
        // Up to half the limit, so that the 51 MB copies of a first layer's output at
        // batch 256 are kept too: glibc serves blocks above 32 MB with fresh pages every
        // time, and the page faults cost 12% of inference (`bench --only lecture`, 1,453-
        // 1,477 against 1,656-1,660 images/s, 2026-12-03).
        if len == 0 || len > RECYCLED_MAX_FLOATS / 2 {
            return;
        }
        let _ = RECYCLED.try_with(|r| {
            let (lists, floats) = &mut *r.borrow_mut();
            if *floats + len > RECYCLED_MAX_FLOATS {
                // Full: forget the longest list, whose size is least likely to come back.
                let longest = lists.iter().max_by_key(|(k, l)| **k * l.len());
                if let Some(l) = longest.map(|(&k, _)| k).and_then(|k| lists.remove(&k)) {
                    *floats -= l.iter().map(Vec::len).sum::<usize>();
                }
            }
            if *floats + len <= RECYCLED_MAX_FLOATS {
                lists.entry(len).or_default().push(v);
                *floats += len;
            }
        });
    }
}

impl Deref for Recycled {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.0
    }
}

impl DerefMut for Recycled {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.0
    }
}

/// Asks glibc's `malloc` to keep freed memory for reuse (once per process; a no-op on other
/// platforms).
///
/// By default glibc serves every allocation above 128 KiB-32 MiB with fresh pages from the
/// kernel and returns them on `free`, so a training step that allocates its activations
/// and gradients anew pays a page fault per 4 KiB, every step: 30 s of the 170 s of CPU
/// time of a benchmark run went to the kernel, and batch 256 inference ran at half speed.
/// With the mmap threshold at its maximum (32 MiB, what [`CHUNK_FLOATS`] is sized
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
