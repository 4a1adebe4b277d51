//! The PROXY protocol (HAProxy's proxy-protocol.txt, versions 1 and 2) on the receiving
//! side: a load balancer in front of Pillarbox prefixes each connection with a header that
//! names the client's address, and the accept path uses that address instead of the
//! balancer's.
//!
//! `parse` (with `v1` and `v2`) is pure: bytes in, a typed [`ProxyHeader`] (with the
//! number of bytes it took) or a precise [`ProxyError`] out, and "incomplete" while the
//! bytes so far are a valid beginning. It does no I/O and never reads past the header, so
//! whatever follows in the buffer belongs to the protocol behind it. `read` is the I/O
//! side: it reads one header off a socket under a timeout and a size cap.
//!
//! This module never decides *whether* a header is expected: a header is read only from
//! peers the configuration trusts (proxy-protocol.txt §5: never guess), and nothing here
//! knows a mail protocol.

mod read;
mod v1;
mod v2;

pub use read::{ReadError, Rewound, read_header};

use std::net::SocketAddr;

/// The 12-byte signature that opens a version 2 header (proxy-protocol.txt §2.2).
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";

/// The longest version 1 line, CRLF included (proxy-protocol.txt §2.1: 107 bytes).
pub const V1_MAX_LEN: usize = 107;

/// The longest version 2 header accepted: the 16 fixed bytes plus an address block
/// (216 bytes at most) and room for TLVs. The format allows 16 + 65535; a balancer
/// sends far less, and the cap bounds what an untrusted length field can make us buffer.
pub const V2_MAX_LEN: usize = 16 + 2048;

/// Which header format a connection used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyVersion {
    /// The text line `PROXY TCP4 …\r\n`.
    V1,
    /// The binary header.
    V2,
}

/// What a header says about the connection's endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyAddresses {
    /// Version 2 LOCAL: the balancer's own connection (a health check). The real
    /// endpoints are used (proxy-protocol.txt §2.2).
    Local,
    /// Version 1 UNKNOWN, or version 2 PROXY for a family or transport other than TCP
    /// over IPv4/IPv6 (UNSPEC, UDP, UNIX): the real endpoints are used, as §2.1 and
    /// §2.2 allow ("falls back to the UNSPEC mode").
    Unspecified,
    /// TCP over IPv4 or IPv6: the client's address and the address it connected to.
    Tcp {
        source: SocketAddr,
        destination: SocketAddr,
    },
}

/// A complete, valid header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyHeader {
    pub version: ProxyVersion,
    pub addresses: ProxyAddresses,
}

impl ProxyHeader {
    /// The client's address when the header carries one.
    pub fn source(&self) -> Option<SocketAddr> {
        match self.addresses {
            ProxyAddresses::Tcp { source, .. } => Some(source),
            ProxyAddresses::Local | ProxyAddresses::Unspecified => None,
        }
    }

    /// The address the client connected to, when the header carries one.
    pub fn destination(&self) -> Option<SocketAddr> {
        match self.addresses {
            ProxyAddresses::Tcp { destination, .. } => Some(destination),
            ProxyAddresses::Local | ProxyAddresses::Unspecified => None,
        }
    }
}

/// The result of looking at the bytes received so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed {
    /// A valid beginning: more bytes are needed.
    Incomplete,
    /// A complete header, `len` bytes long; bytes after it belong to the protocol.
    Complete { header: ProxyHeader, len: usize },
}

/// Why bytes are not a valid PROXY header. Each means: close the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    #[error(
        "no PROXY protocol header: the connection begins with neither \"PROXY \" (version 1) nor the version 2 signature"
    )]
    NotAHeader,
    #[error("version 1 line has no CRLF within its first 107 bytes")]
    V1TooLong,
    #[error("version 1 line ends with a bare CR or LF instead of CRLF")]
    V1BareLineEnd,
    #[error("version 1 line is not printable US-ASCII")]
    V1NotAscii,
    #[error("version 1 protocol {0:?} is none of TCP4, TCP6, UNKNOWN")]
    V1Protocol(String),
    #[error("version 1 line has {0} fields after the protocol, expected 4 (addresses and ports)")]
    V1FieldCount(usize),
    #[error("version 1 {field} {value:?} is not an {family} address in canonical form")]
    V1Address {
        field: &'static str,
        family: &'static str,
        value: String,
    },
    #[error("version 1 {field} {value:?} is not a decimal port 0-65535 without leading zeroes")]
    V1Port { field: &'static str, value: String },
    #[error("version 2 header has version {0:#x}, expected 0x2")]
    V2Version(u8),
    #[error("version 2 command {0:#x} is neither LOCAL (0x0) nor PROXY (0x1)")]
    V2Command(u8),
    #[error("version 2 address family {0:#x} is none of UNSPEC, INET, INET6, UNIX")]
    V2Family(u8),
    #[error("version 2 transport {0:#x} is none of UNSPEC, STREAM, DGRAM")]
    V2Transport(u8),
    #[error("version 2 {family} address block needs {need} bytes, the header has {len}")]
    V2AddressBlock {
        family: &'static str,
        need: usize,
        len: usize,
    },
    #[error("version 2 header is {len} bytes long, more than the {max} accepted")]
    V2TooLong { len: usize, max: usize },
    #[error("version 2 TLV at byte {offset} runs past the end of the header")]
    V2Tlv { offset: usize },
}

/// Looks at the first bytes of a connection: a complete header, a valid beginning, or an
/// error as soon as the bytes cannot begin a header (garbage is refused without waiting
/// for more). The version is told by the first byte: `P` begins version 1, CR the
/// version 2 signature (proxy-protocol.txt §2.2, "Identifying the protocol version").
pub fn parse(buf: &[u8]) -> Result<Parsed, ProxyError> {
    match buf.first() {
        None => Ok(Parsed::Incomplete),
        Some(b'P') => v1::parse(buf),
        Some(b'\r') => v2::parse(buf),
        Some(_) => Err(ProxyError::NotAHeader),
    }
}

/// True when `buf` is a prefix of `expected` or starts with all of it.
fn prefix_matches(buf: &[u8], expected: &[u8]) -> bool {
    let n = buf.len().min(expected.len());
    buf[..n] == expected[..n]
}

#[cfg(test)]
mod tests;
