//! Scratch buffers that the kernels reuse from one call to the next.
//!
//! A training step needs the same large temporary matrices (`col`, Winograd's transformed
//! tiles) in every layer and every step. Allocating them zeroed each time costs a `memset`
//! of megabytes per call (5-8% of a training step in `perf`), although every kernel
//! overwrites them anyway. [`take`] hands out a buffer from a small per-thread pool
//! instead; it goes back to the pool when dropped.

use std::cell::RefCell;
use std::ops::{Deref, DerefMut};

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
/// let mut a = cnnkit::kernels::scratch::take(4);
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
