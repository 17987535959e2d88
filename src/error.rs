//! The one error type of the library.

use std::fmt;
use std::path::{Path, PathBuf};

/// Result alias used by every fallible gpix function.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in gpix. Messages are one line, name the file
/// (and line, for text files) when there is one, and say the reason.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An argument is outside its documented range or shapes do not agree.
    #[error("{0}")]
    InvalidArgument(String),
    /// A file could not be opened, read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// A file's contents are malformed or of a kind gpix does not handle.
    #[error("{}", FormatMessage { path, line: *line, reason })]
    Format {
        /// The file concerned.
        path: PathBuf,
        /// 1-based line number, for text files.
        line: Option<usize>,
        /// What is wrong.
        reason: String,
    },
    /// The work would need more memory (or a larger GPU buffer) than allowed.
    #[error("{what} needs {}, more than the limit of {} (GPIX_MAX_BYTES sets it)", size_text(*bytes), size_text(*limit))]
    TooLarge {
        /// What was being allocated.
        what: String,
        /// How many bytes it would need.
        bytes: u64,
        /// The limit in force.
        limit: u64,
    },
    /// `--device gpu` was asked for but wgpu found no adapter.
    #[error("no GPU adapter found{0}")]
    NoAdapter(String),
    /// The GPU device reported an error (validation, out of memory, lost device).
    #[cfg(feature = "gpu")]
    #[error("GPU error: {0}")]
    Gpu(String),
}

/// A byte count for messages: "2.5 GB (2500000000 bytes)".
fn size_text(bytes: u64) -> String {
    if bytes == u64::MAX {
        return "more than 2^64 bytes".to_owned();
    }
    if bytes < 1_000_000 {
        return format!("{bytes} bytes");
    }
    if bytes < 1_000_000_000 {
        return format!("{:.1} MB ({bytes} bytes)", bytes as f64 / 1e6);
    }
    format!("{:.1} GB ({bytes} bytes)", bytes as f64 / 1e9)
}

struct FormatMessage<'a> {
    path: &'a Path,
    line: Option<usize>,
    reason: &'a str,
}

impl fmt::Display for FormatMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path.display(), self.reason),
            None => write!(f, "{}: {}", self.path.display(), self.reason),
        }
    }
}

impl Error {
    /// An [`Error::InvalidArgument`] with the given message.
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidArgument(msg.into())
    }

    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    /// An [`Error::Format`] for `path`, optionally at a 1-based `line`.
    pub fn format(path: impl AsRef<Path>, line: Option<usize>, reason: impl Into<String>) -> Self {
        Error::Format {
            path: path.as_ref().to_path_buf(),
            line,
            reason: reason.into(),
        }
    }

    /// An [`Error::TooLarge`].
    pub fn too_large(what: impl Into<String>, bytes: u64, limit: u64) -> Self {
        Error::TooLarge {
            what: what.into(),
            bytes,
            limit,
        }
    }

    /// Attach a file name to an error that lacks one (argument errors raised
    /// while interpreting a file's contents).
    #[must_use]
    pub fn in_file(self, path: impl AsRef<Path>) -> Self {
        match self {
            Error::InvalidArgument(reason) => Error::format(path, None, reason),
            other => other,
        }
    }
}
