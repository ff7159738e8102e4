//! The crate's integration tests as one test binary: one build and one link instead of
//! one per file. Files that change process-wide state (environment variables) stay
//! binaries of their own beside this folder.

mod architecture_layers;
mod architectures;
mod augment;
mod checkpoint_f16;
mod common;
mod detection;
mod faults;
mod fcn;
mod ops_reference;
mod resume;
mod tasks;
mod train_model;
mod transfer;
mod transpose;
