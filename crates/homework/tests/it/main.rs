//! The crate's integration tests as one test binary: one build and one link instead of
//! one per file. Files that change process-wide state (environment variables) stay
//! binaries of their own beside this folder.

mod common;
mod exercises_arithmetic;
mod exercises_conv;
mod exercises_detection;
mod exercises_filter;
mod exercises_pool;
mod exercises_residual;
mod exercises_transfer;
