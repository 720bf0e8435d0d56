//! The library's error type: every message names what went wrong and what to do.

use thiserror::Error;

/// Everything the library can fail with.
#[derive(Debug, Error)]
pub enum Error {
    /// No adapter matched the request.
    #[error("no GPU adapter found: {0}")]
    NoAdapter(String),
    /// The device could not be created on the chosen adapter.
    #[error("could not open the device on adapter '{adapter}': {reason}")]
    DeviceRequest {
        /// The adapter's name.
        adapter: String,
        /// What wgpu said.
        reason: String,
    },
    /// A shader failed to compile or validate.
    #[error("shader '{name}' is invalid: {reason}")]
    Shader {
        /// The shader's file stem.
        name: String,
        /// What naga said.
        reason: String,
    },
    /// wgpu reported a validation, out-of-memory or internal error, or the device was lost.
    #[error("GPU error: {0}")]
    Gpu(String),
    /// Shapes that do not fit the op.
    #[error("{op}: {msg}")]
    Shape {
        /// The op that rejected the shapes.
        op: &'static str,
        /// Which shapes and why.
        msg: String,
    },
    /// A request exceeds the adapter's limits.
    #[error("{what} needs {needed} but the adapter allows {limit}: {hint}")]
    Limit {
        /// What was too large.
        what: String,
        /// The size asked for.
        needed: u64,
        /// The adapter's limit.
        limit: u64,
        /// What to do about it.
        hint: &'static str,
    },
    /// Bad data on disk.
    #[error("{path}: {msg}")]
    Data {
        /// The file or folder.
        path: String,
        /// The problem.
        msg: String,
    },
    /// A checkpoint that cannot be used.
    #[error("checkpoint {path}: {msg}")]
    Checkpoint {
        /// The checkpoint file.
        path: String,
        /// The problem.
        msg: String,
    },
    /// Training diverged.
    #[error("the loss became {value} at epoch {epoch}, step {step}; the last good checkpoint is kept. Try a lower learning rate (--lr)")]
    NonFinite {
        /// The loss value (NaN or inf).
        value: f32,
        /// The epoch (1-based).
        epoch: usize,
        /// The step within the epoch (1-based).
        step: usize,
    },
    /// Bad arguments.
    #[error("{0}")]
    Invalid(String),
    /// An I/O error with the path it concerns.
    // Not a `source` field: the message already holds the I/O error, and
    // the CLI prints each error's sources after it, which said it twice.
    #[error("{path}: {error}")]
    Io {
        /// The file or folder.
        path: String,
        /// The I/O error.
        error: std::io::Error,
    },
}

/// The library's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl AsRef<std::path::Path>, error: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().display().to_string(),
            error,
        }
    }
}
