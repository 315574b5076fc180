//! Exit codes that mean something, so scripts can tell "not there" from "not allowed" from
//! "server down" without parsing messages.
//!
//! A command returns `Ok(ExitCode)` for outcomes it reports itself (for example `validate`
//! returning [`Code::Failure`] for an invalid file) and `Err(anyhow::Error)` for failures; the
//! error's code is found by [`classify`], which looks for a [`Coded`] error anywhere in the
//! chain (and for the typed errors of the crates the binary uses).

use std::fmt;
use std::process::ExitCode;

/// The documented exit codes. Keep [`AFTER_HELP`] in sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Code {
    /// Success.
    Ok = 0,
    /// The operation failed or its input is invalid.
    Failure = 1,
    /// Bad command line or configuration (clap also exits with 2).
    Usage = 2,
    /// The repository, tag, manifest or blob does not exist.
    NotFound = 3,
    /// Authentication required or refused.
    Auth = 4,
    /// The server failed (5xx) or could not be reached.
    Server = 5,
}

impl From<Code> for ExitCode {
    fn from(c: Code) -> ExitCode {
        ExitCode::from(c as u8)
    }
}

/// Shown at the end of `agentry --help`.
pub const AFTER_HELP: &str = "\
Exit codes:
  0  success
  1  failure, or invalid input (e.g. `validate` found errors)
  2  usage error: bad flags, arguments or configuration file
  3  not found: repository, tag, manifest or blob does not exist
  4  authentication required or refused (see `agentry login`)
  5  server error (5xx) or network failure

Configuration: every long option can also be set by its AGENTRY_* environment variable (shown in
each command's --help) or in a TOML file (--config, AGENTRY_CONFIG, default
~/.config/agentry/config.toml): top-level keys are option names (`registry = \"host:5000\"`),
tables apply to one command (`[serve]`). Precedence: flag > environment > file > default.";

/// An error that carries the exit code it should produce.
#[derive(Debug)]
pub struct Coded {
    pub code: Code,
    pub message: String,
}

impl Coded {
    pub fn new(code: Code, message: impl Into<String>) -> Coded {
        Coded {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Coded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Coded {}

/// Shorthand for `Err(Coded::new(code, message).into())`.
pub fn fail<T>(code: Code, message: impl Into<String>) -> anyhow::Result<T> {
    Err(Coded::new(code, message).into())
}

/// The exit code for a failed command: the first [`Coded`] error in the chain decides, then
/// well-known error types; anything else is a plain failure.
pub fn classify(err: &anyhow::Error) -> Code {
    for cause in err.chain() {
        if let Some(c) = cause.downcast_ref::<Coded>() {
            return c.code;
        }
        if let Some(e) = cause.downcast_ref::<agentry_client::Error>() {
            use agentry_client::ErrorKind as K;
            return match e.kind() {
                K::NotFound => Code::NotFound,
                K::Auth => Code::Auth,
                K::Server | K::Network => Code::Server,
                K::Invalid | K::Integrity | K::Io => Code::Failure,
            };
        }
        if let Some(e) = cause.downcast_ref::<std::io::Error>()
            && e.kind() == std::io::ErrorKind::NotFound
        {
            return Code::NotFound;
        }
    }
    Code::Failure
}

/// A short machine-readable name of a code, for `--json` error output.
pub fn name(code: Code) -> &'static str {
    match code {
        Code::Ok => "ok",
        Code::Failure => "failure",
        Code::Usage => "usage",
        Code::NotFound => "not_found",
        Code::Auth => "auth",
        Code::Server => "server",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_coded_error_anywhere_in_the_chain_decides() {
        let e = anyhow::Error::from(Coded::new(Code::NotFound, "no such tag")).context("pulling");
        assert_eq!(classify(&e), Code::NotFound);
        assert_eq!(classify(&anyhow::anyhow!("plain")), Code::Failure);
    }
}
