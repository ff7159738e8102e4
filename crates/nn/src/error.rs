//! The error type of the NN crate.
//!
//! Every fallible public function returns [`Result`]. Data errors pass through unchanged
//! ([`Error::Data`]), and `cnnkit-viz`'s error wraps this one, so a notebook sees one
//! `cnnkit_nn::Error` whose messages come from the layer where things went wrong. Messages are written for a student:
//! they say what was wrong (which file, which layer, expected versus actual) and what to do.

use std::path::PathBuf;

/// Shorthand for `std::result::Result<T, cnnkit_nn::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while building, training, evaluating or saving a model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ---- files and data -------------------------------------------------------------
    /// Reading, checking or downloading a file failed (see [`cnnkit_data::Error`]).
    #[error(transparent)]
    Data(#[from] cnnkit_data::Error),

    // ---- tensors ------------------------------------------------------------------------
    /// dfdx's CPU device reported an error (out of memory, wrong element count).
    #[error("tensor operation failed: {0}")]
    Device(#[from] dfdx::tensor::CpuError),

    // ---- shapes and models ------------------------------------------------------------
    /// A layer received input of a shape it cannot handle.
    #[error(
        "shape mismatch in layer `{layer}`: expected {expected}, got {actual} \
         (층 `{layer}`의 입력 모양이 맞지 않습니다: summary()로 각 층의 출력 모양을 확인하십시오)"
    )]
    Shape {
        /// The layer's name as shown by `summary()`, e.g. `conv2d_3 (Conv2D)`.
        layer: String,
        /// What the layer needs.
        expected: String,
        /// What it was given.
        actual: String,
    },

    /// A configuration value is out of range (a zero stride, an empty data set, ...).
    #[error("invalid {what}: {why}")]
    Invalid {
        /// The setting or argument.
        what: String,
        /// Why it is wrong and what to use instead.
        why: String,
    },

    // ---- training -----------------------------------------------------------------------
    /// Training stopped because it could not go on (the loss became NaN or infinite).
    #[error("training stopped at epoch {epoch}, step {step}: {why}")]
    Training {
        /// The epoch (from 1).
        epoch: usize,
        /// The step within the epoch (from 1).
        step: usize,
        /// What happened and what to do.
        why: String,
    },

    // ---- checkpoints --------------------------------------------------------------------
    /// Saving or loading model weights failed.
    #[error("checkpoint `{path}`: {why}")]
    Checkpoint {
        /// The weights file.
        path: PathBuf,
        /// What did not match and what to do.
        why: String,
    },
}

impl Error {
    /// Builds a [`cnnkit_data::Error::Io`] for `path`.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Data(cnnkit_data::Error::io(action, path, source))
    }

    /// Builds an [`Error::Invalid`].
    pub fn invalid(what: impl Into<String>, why: impl Into<String>) -> Self {
        Error::Invalid {
            what: what.into(),
            why: why.into(),
        }
    }
}

impl From<cnnkit_kernels::geometry::GeometryError> for Error {
    fn from(e: cnnkit_kernels::geometry::GeometryError) -> Self {
        Error::Invalid {
            what: e.what,
            why: e.why,
        }
    }
}
