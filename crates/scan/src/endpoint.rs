//! Where a scanner listens ([`Endpoint`]: `host:port` or a Unix socket), connecting to
//! it under a timeout, and the timed I/O steps the clients are made of.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::Ipv6Addr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use crate::error::{ScanError, ScanErrorKind, duration_text, io_text};

/// A connection to a scanner: TCP or a Unix socket.
pub trait Conn: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + ?Sized> Conn for T {}

/// A scanner's address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `host:port`; an IPv6 address in brackets (`[::1]:3310`).
    Tcp(String),
    /// A Unix socket's path.
    Unix(PathBuf),
}

/// An address [`Endpoint::parse`] refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid scanner address \"{}\": {reason} (expected host:port or unix:/path/to/socket)", input.escape_debug())]
pub struct InvalidEndpoint {
    input: String,
    reason: &'static str,
}

impl Endpoint {
    /// `unix:/path` or a string starting with `/` is a Unix socket; anything else must
    /// be `host:port` with a port from 1 to 65535 (IPv6 addresses in brackets).
    pub fn parse(s: &str) -> Result<Endpoint, InvalidEndpoint> {
        let bad = |reason| InvalidEndpoint {
            input: s.to_string(),
            reason,
        };
        let s = s.trim();
        if let Some(path) = s.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(bad("no socket path after unix:"));
            }
            return Ok(Endpoint::Unix(PathBuf::from(path)));
        }
        if s.starts_with('/') {
            return Ok(Endpoint::Unix(PathBuf::from(s)));
        }
        if s.is_empty() {
            return Err(bad("empty"));
        }
        if s.chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '/')
        {
            return Err(bad("spaces, control characters or '/' in a host:port"));
        }
        let Some((host, port)) = s.rsplit_once(':') else {
            return Err(bad("no port"));
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        if !port.bytes().all(|b| b.is_ascii_digit()) || port.is_empty() {
            return Err(bad("the port is not a number"));
        }
        match port.parse::<u16>() {
            Ok(0) | Err(_) => return Err(bad("the port must be from 1 to 65535")),
            Ok(_) => {}
        }
        if host.contains(':') {
            let inner = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
            if inner.is_none_or(|h| h.parse::<Ipv6Addr>().is_err()) {
                return Err(bad("an IPv6 address must be in brackets: [::1]:port"));
            }
        } else if host.contains(['[', ']']) {
            return Err(bad("brackets around something other than an IPv6 address"));
        }
        Ok(Endpoint::Tcp(s.to_string()))
    }

    /// Connects within `timeout` (name resolution included).
    pub async fn connect(&self, timeout: Duration) -> Result<Box<dyn Conn>, ScanError> {
        self.open(timeout, &self.to_string()).await
    }

    /// [`Endpoint::connect`], with errors said of `who` ("clamd at 127.0.0.1:3310").
    pub(crate) async fn open(
        &self,
        timeout: Duration,
        who: &str,
    ) -> Result<Box<dyn Conn>, ScanError> {
        let result = tokio::time::timeout(timeout, self.open_untimed()).await;
        match result {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => Err(ScanError::unavailable(format!("{who}: {}", io_text(&e)))),
            Err(_) => Err(ScanError::new(
                ScanErrorKind::Timeout,
                format!(
                    "{who}: timed out after {} while connecting",
                    duration_text(timeout)
                ),
            )),
        }
    }

    async fn open_untimed(&self) -> io::Result<Box<dyn Conn>> {
        match self {
            Endpoint::Tcp(addr) => {
                let s = tokio::net::TcpStream::connect(addr.as_str()).await?;
                // Small writes (a clamd chunk header, a milter packet) go out at once.
                s.set_nodelay(true)?;
                Ok(Box::new(s))
            }
            #[cfg(unix)]
            Endpoint::Unix(path) => Ok(Box::new(tokio::net::UnixStream::connect(path).await?)),
            #[cfg(not(unix))]
            Endpoint::Unix(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "Unix sockets are not supported on this system",
            )),
        }
    }

    /// The `Host` header for an HTTP request to this endpoint.
    pub(crate) fn http_host(&self) -> &str {
        match self {
            Endpoint::Tcp(a) => a,
            Endpoint::Unix(_) => "localhost",
        }
    }
}

impl FromStr for Endpoint {
    type Err = InvalidEndpoint;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Endpoint::parse(s)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp(a) => f.write_str(a),
            Endpoint::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

/// Runs one I/O step under `timeout`; errors are said of `who`, naming the step
/// (`what`: "sending the message").
pub(crate) async fn timed<T>(
    who: &str,
    what: &str,
    timeout: Duration,
    step: impl Future<Output = io::Result<T>>,
) -> Result<T, ScanError> {
    match tokio::time::timeout(timeout, step).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(ScanError::unavailable(format!(
            "{who}: {} while {what}",
            io_text(&e)
        ))),
        Err(_) => Err(timed_out(who, what, timeout)),
    }
}

pub(crate) fn timed_out(who: &str, what: &str, timeout: Duration) -> ScanError {
    ScanError::new(
        ScanErrorKind::Timeout,
        format!("{who}: timed out after {} {what}", duration_text(timeout)),
    )
}

/// Writes all of `bytes` under `timeout`.
pub(crate) async fn send(
    conn: &mut Box<dyn Conn>,
    who: &str,
    what: &str,
    timeout: Duration,
    bytes: &[u8],
) -> Result<(), ScanError> {
    timed(who, what, timeout, conn.write_all(bytes)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tcp() {
        assert_eq!(
            Endpoint::parse("127.0.0.1:3310"),
            Ok(Endpoint::Tcp("127.0.0.1:3310".into()))
        );
        assert_eq!(
            Endpoint::parse(" localhost:11333 "),
            Ok(Endpoint::Tcp("localhost:11333".into()))
        );
        assert_eq!(
            Endpoint::parse("[::1]:3310"),
            Ok(Endpoint::Tcp("[::1]:3310".into()))
        );
    }

    #[test]
    fn parses_unix() {
        assert_eq!(
            Endpoint::parse("unix:/run/clamav/clamd.ctl"),
            Ok(Endpoint::Unix("/run/clamav/clamd.ctl".into()))
        );
        assert_eq!(
            Endpoint::parse("/run/rspamd/milter.sock"),
            Ok(Endpoint::Unix("/run/rspamd/milter.sock".into()))
        );
        assert_eq!(
            Endpoint::parse("unix:relative.sock"),
            Ok(Endpoint::Unix("relative.sock".into()))
        );
    }

    #[test]
    fn refuses_bad_addresses() {
        for bad in [
            "",
            "localhost",
            "localhost:",
            ":3310",
            "host:0",
            "host:65536",
            "host:+1",
            "host:port",
            "::1:3310",
            "[::1]",
            "[nothost]:25",
            "a b:25",
            "unix:",
            "ho]st:25",
        ] {
            let e = Endpoint::parse(bad);
            assert!(e.is_err(), "{bad:?} gave {e:?}");
        }
        let e = Endpoint::parse("localhost").unwrap_err().to_string();
        assert!(e.contains("no port"), "{e}");
    }

    #[test]
    fn displays_round_trip() {
        for s in ["127.0.0.1:3310", "[::1]:11333", "unix:/run/x.sock"] {
            let e: Endpoint = s.parse().unwrap();
            assert_eq!(e.to_string(), s);
            assert_eq!(Endpoint::parse(&e.to_string()), Ok(e));
        }
        assert_eq!(
            Endpoint::parse("/run/x.sock").unwrap().to_string(),
            "unix:/run/x.sock"
        );
    }

    #[tokio::test]
    async fn connect_refused_is_unavailable() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        let ep = Endpoint::Tcp(addr.to_string());
        let e = ep.connect(Duration::from_secs(5)).await.err().unwrap();
        assert_eq!(e.kind(), ScanErrorKind::Unavailable);
        assert_eq!(e.to_string(), format!("{addr}: connection refused"));
    }

    #[tokio::test]
    async fn connect_missing_socket_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let ep = Endpoint::Unix(dir.path().join("nothing.sock"));
        let e = ep.connect(Duration::from_secs(5)).await.err().unwrap();
        assert_eq!(e.kind(), ScanErrorKind::Unavailable);
        assert!(e.to_string().ends_with(": no such socket"), "{e}");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn connects_to_unix_socket() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        let l = tokio::net::UnixListener::bind(&path).unwrap();
        tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            s.write_all(b"hi").await.unwrap();
        });
        let mut c = Endpoint::Unix(path)
            .connect(Duration::from_secs(5))
            .await
            .unwrap();
        let mut buf = Vec::new();
        c.read_to_end(&mut buf).await.unwrap();
        assert_eq!(buf, b"hi");
    }
}
