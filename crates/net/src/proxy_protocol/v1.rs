//! Version 1, the text line (proxy-protocol.txt §2.1):
//! `PROXY SP (TCP4|TCP6|UNKNOWN) SP src SP dst SP sport SP dport CRLF`, at most 107
//! bytes. Pure; exact: one space between fields, canonical addresses, ports without
//! leading zeroes, CRLF only.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{
    Parsed, ProxyAddresses, ProxyError, ProxyHeader, ProxyVersion, V1_MAX_LEN, prefix_matches,
};

const PREFIX: &[u8] = b"PROXY ";

/// Parses a buffer that begins with `P`.
pub(super) fn parse(buf: &[u8]) -> Result<Parsed, ProxyError> {
    if !prefix_matches(buf, PREFIX) {
        return Err(ProxyError::NotAHeader);
    }
    // proxy-protocol.txt §2.1: wait for the CRLF, within the first 107 bytes; a single
    // CR or LF never ends the line.
    let window = &buf[..buf.len().min(V1_MAX_LEN)];
    let Some(end) = window.iter().position(|&b| b == b'\r' || b == b'\n') else {
        return if buf.len() >= V1_MAX_LEN {
            Err(ProxyError::V1TooLong)
        } else {
            Ok(Parsed::Incomplete)
        };
    };
    if window[end] == b'\n' {
        return Err(ProxyError::V1BareLineEnd);
    }
    match buf.get(end + 1) {
        None if end + 2 > V1_MAX_LEN => return Err(ProxyError::V1TooLong),
        None => return Ok(Parsed::Incomplete),
        Some(b'\n') if end + 2 > V1_MAX_LEN => return Err(ProxyError::V1TooLong),
        Some(b'\n') => {}
        Some(_) => return Err(ProxyError::V1BareLineEnd),
    }
    let line = &buf[PREFIX.len()..end];
    let (protocol, rest) = match line.iter().position(|&b| b == b' ') {
        Some(i) => (&line[..i], &line[i + 1..]),
        None => (line, &[][..]),
    };
    let addresses = if protocol == b"UNKNOWN" {
        // "the receiver must ignore anything presented before the CRLF is found".
        ProxyAddresses::Unspecified
    } else {
        if !line.iter().all(|b| (0x20..0x7f).contains(b)) {
            return Err(ProxyError::V1NotAscii);
        }
        // Printable ASCII is UTF-8.
        let rest = std::str::from_utf8(rest).map_err(|_| ProxyError::V1NotAscii)?;
        match protocol {
            b"TCP4" => tcp(rest, Family::V4)?,
            b"TCP6" => tcp(rest, Family::V6)?,
            other => {
                return Err(ProxyError::V1Protocol(
                    String::from_utf8_lossy(other).into_owned(),
                ));
            }
        }
    };
    Ok(Parsed::Complete {
        header: ProxyHeader {
            version: ProxyVersion::V1,
            addresses,
        },
        len: end + 2,
    })
}

#[derive(Clone, Copy)]
enum Family {
    V4,
    V6,
}

/// `src SP dst SP sport SP dport` for TCP4/TCP6.
fn tcp(rest: &str, family: Family) -> Result<ProxyAddresses, ProxyError> {
    let fields: Vec<&str> = if rest.is_empty() {
        Vec::new()
    } else {
        rest.split(' ').collect()
    };
    let [src, dst, sport, dport] = fields[..] else {
        return Err(ProxyError::V1FieldCount(fields.len()));
    };
    let source = SocketAddr::new(
        address(src, "source address", family)?,
        port(sport, "source port")?,
    );
    let destination = SocketAddr::new(
        address(dst, "destination address", family)?,
        port(dport, "destination port")?,
    );
    Ok(ProxyAddresses::Tcp {
        source,
        destination,
    })
}

/// An address of the announced family. IPv4: four decimal numbers 0-255 without leading
/// zeroes (the standard parser refuses octal-looking forms). IPv6: hexadecimal groups with
/// at most one `::`.
fn address(s: &str, field: &'static str, family: Family) -> Result<IpAddr, ProxyError> {
    let bad = |family| ProxyError::V1Address {
        field,
        family,
        value: s.to_string(),
    };
    match family {
        Family::V4 => s
            .parse::<Ipv4Addr>()
            .map(IpAddr::V4)
            .map_err(|_| bad("IPv4")),
        // The dotted IPv4 tail (`::ffff:1.2.3.4`) is not the §2.1 form.
        Family::V6 if s.contains('.') => Err(bad("IPv6")),
        Family::V6 => s
            .parse::<Ipv6Addr>()
            .map(IpAddr::V6)
            .map_err(|_| bad("IPv6")),
    }
}

/// A decimal port 0-65535 without leading zeroes.
fn port(s: &str, field: &'static str) -> Result<u16, ProxyError> {
    let bad = || ProxyError::V1Port {
        field,
        value: s.to_string(),
    };
    let digits = !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits || (s.len() > 1 && s.starts_with('0')) {
        return Err(bad());
    }
    s.parse().map_err(|_| bad())
}
