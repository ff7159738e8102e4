//! The error type of the plotting crate, and of the `cnnkit` facade.
//!
//! It adds drawing failures to `cnnkit-nn`'s error, which already wraps `cnnkit-data`'s: so
//! every error of the workspace converts into this one with `?`, and `cnnkit_viz::Error` is
//! this type. Messages pass through unchanged from the crate where things went wrong.

use std::path::PathBuf;

/// Shorthand for `std::result::Result<T, cnnkit_viz::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the workspace: drawing, or anything below it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A model, tensor, data or file error (see [`cnnkit_nn::Error`]).
    #[error(transparent)]
    Nn(#[from] cnnkit_nn::Error),

    /// Drawing a chart failed.
    #[error("drawing failed: {0}")]
    Plot(String),
}

impl From<cnnkit_data::Error> for Error {
    fn from(e: cnnkit_data::Error) -> Self {
        Error::Nn(e.into())
    }
}

impl From<dfdx::tensor::CpuError> for Error {
    fn from(e: dfdx::tensor::CpuError) -> Self {
        Error::Nn(e.into())
    }
}

impl Error {
    /// An invalid setting or argument ([`cnnkit_nn::Error::Invalid`]).
    pub fn invalid(what: impl Into<String>, why: impl Into<String>) -> Self {
        Error::Nn(cnnkit_nn::Error::invalid(what, why))
    }

    /// A failed file operation on `path` ([`cnnkit_data::Error::Io`]).
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Nn(cnnkit_nn::Error::io(action, path, source))
    }

    /// An image that could not be decoded or encoded ([`cnnkit_data::Error::Image`]).
    pub fn image(name: impl Into<String>, source: image::ImageError) -> Self {
        cnnkit_data::Error::Image {
            name: name.into(),
            source,
        }
        .into()
    }
}
