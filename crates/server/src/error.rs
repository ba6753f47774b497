use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the server could not start or stopped badly.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A listening address could not be bound (in use, not ours, no permission).
    #[error("cannot listen on {addr}: {cause}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's reason.
        cause: std::io::Error,
    },
    /// `http-host` is not an IP address this machine can bind.
    #[error("invalid value for option '--http-host': '{0}'. Expected an IP address")]
    Host(String),
    /// The certificate or key file could not be read or used.
    #[error("cannot use HTTPS certificate '{cert}' with key '{key}': {cause}")]
    Tls {
        /// `https-certificate-file`.
        cert: PathBuf,
        /// `https-certificate-key-file`.
        key: PathBuf,
        /// What was wrong with them.
        cause: String,
    },
    /// An option read at start-up (a free-form `spi-*` one) has a value it cannot take.
    #[error("{0}")]
    Option(String),
    /// The built-in theme does not parse (a build defect; the unit tests catch it).
    #[error("login theme: {0}")]
    Theme(String),
    /// A listener failed while serving.
    #[error("listener failed: {0}")]
    Serve(std::io::Error),
}
