//! The crate's integration tests as one test binary: one build and one link instead of
//! one per file. Files that change process-wide state (environment variables) stay
//! binaries of their own beside this folder.

mod canvas;
mod common;
mod data_debian;
mod data_download;
mod data_photos;
