//! The one error type of this crate.

use std::fmt;
use std::path::PathBuf;

/// A place in a config file, used to point users at the offending line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileLocation {
    /// The config file.
    pub path: PathBuf,
    /// 1-based line number.
    pub line: usize,
}

impl fmt::Display for FileLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} line {}", self.path.display(), self.line)
    }
}

/// Everything that can go wrong while resolving or checking the configuration.
///
/// `Display` is always a single line, meant to be printed as is before exiting with code 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// An option on the command line that does not exist; `option` includes the leading `--`.
    #[error("Unknown option: '{option}'.{}", did_you_mean(.suggestion))]
    UnknownOption {
        /// The option as typed, e.g. `--htp-port`.
        option: String,
        /// The closest known option, with `--`.
        suggestion: Option<String>,
    },
    /// A key in the config file that is not an option.
    #[error("Unknown option '{key}' in {location}.{}", did_you_mean(.suggestion))]
    UnknownFileOption {
        /// The key as written.
        key: String,
        /// Where it was written.
        location: FileLocation,
        /// The closest known option name.
        suggestion: Option<String>,
    },
    /// A command line word where an option name was expected.
    #[error("Unexpected argument: '{0}'. Options are given as '--name=value' or '--name value'.")]
    UnexpectedArgument(String),
    /// An option given without its value; holds the option as typed (`--db`).
    #[error("Option '{0}' expects a value.")]
    MissingValue(String),
    /// A value that does not parse or validate.
    #[error("Invalid value for option '{option}'{}: '{value}'. {expected}", in_file(.location))]
    InvalidValue {
        /// How the user named the option: `--db`, `KC_DB`, or `db` for the config file.
        option: String,
        /// Set when the value came from the config file.
        location: Option<FileLocation>,
        /// The offending value (or the offending list entry).
        value: String,
        /// A full sentence describing what is accepted.
        expected: String,
    },
    /// `--config-file` / `KC_CONFIG_FILE` names a file that does not exist.
    #[error("Config file not found: {}", .0.display())]
    ConfigFileNotFound(PathBuf),
    /// The config file exists but cannot be read.
    #[error("Cannot read config file {}: {message}", .path.display())]
    ConfigFileUnreadable {
        /// The config file.
        path: PathBuf,
        /// The I/O error, rendered.
        message: String,
    },
    /// A config file line that is neither blank, a comment, nor `name=value`.
    #[error("Invalid line in {0}: expected 'name=value'.")]
    MalformedLine(FileLocation),
    /// `${VAR}` in the config file with `VAR` unset and no default.
    #[error(
        "Environment variable '{var}' used in {location} is not set and has no default; use '${{{var}:default}}' to give one."
    )]
    UnsetVariable {
        /// The variable name.
        var: String,
        /// Where it was used.
        location: FileLocation,
    },
    /// `${` without a closing `}` in the config file.
    #[error("Unterminated '${{' in {0}.")]
    UnterminatedExpression(FileLocation),
    /// Options that cannot go together on a command's line, or one the command needs that is
    /// missing; the message is the whole sentence.
    #[error("{0}")]
    Usage(String),
    /// The same feature is both enabled and disabled.
    #[error("Feature '{0}' is listed in both features and features-disabled.")]
    FeatureConflict(String),
    /// Production start without a hostname while hostname-strict is on.
    #[error(
        "hostname is not configured; either configure hostname, or set hostname-strict to false"
    )]
    HostnameNotConfigured,
    /// Production start with neither HTTPS key material nor plain HTTP.
    #[error(
        "Key material not provided to setup HTTPS. Please configure your keys/certificates or set http-enabled to true."
    )]
    KeyMaterialMissing,
    /// Only one half of the HTTPS certificate/key pair was given.
    #[error("Option '{missing}' is required when '{given}' is set.")]
    IncompleteKeyMaterial {
        /// The option that is missing.
        missing: &'static str,
        /// The option that was given.
        given: &'static str,
    },
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!(" Did you mean '{s}'?"),
        None => String::new(),
    }
}

fn in_file(location: &Option<FileLocation>) -> String {
    match location {
        Some(l) => format!(" in {l}"),
        None => String::new(),
    }
}
