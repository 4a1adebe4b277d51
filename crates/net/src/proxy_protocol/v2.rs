//! Version 2, the binary header (proxy-protocol.txt §2.2): the 12-byte signature, a
//! version/command byte, a family/transport byte, a 16-bit length, then that many bytes
//! of addresses followed by TLVs. Pure; never reads past `16 + length`, never trusts the
//! length beyond [`V2_MAX_LEN`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{
    Parsed, ProxyAddresses, ProxyError, ProxyHeader, ProxyVersion, V2_MAX_LEN, V2_SIGNATURE,
    prefix_matches,
};

/// The fixed part: signature, version/command, family/transport, length.
const FIXED: usize = 16;

/// Address block sizes per family (§2.2): IPv4 2×4 + 2×2, IPv6 2×16 + 2×2, UNIX 2×108.
const INET_LEN: usize = 12;
const INET6_LEN: usize = 36;
const UNIX_LEN: usize = 216;

/// Parses a buffer that begins with CR.
pub(super) fn parse(buf: &[u8]) -> Result<Parsed, ProxyError> {
    if !prefix_matches(buf, &V2_SIGNATURE) {
        return Err(ProxyError::NotAHeader);
    }
    // §2.2: "The highest four bits contains the version … the receiver must only accept
    // this value" (0x2); the lowest four the command, other values dropped.
    if let Some(&ver_cmd) = buf.get(12) {
        if ver_cmd >> 4 != 0x2 {
            return Err(ProxyError::V2Version(ver_cmd >> 4));
        }
        if ver_cmd & 0x0f > 0x1 {
            return Err(ProxyError::V2Command(ver_cmd & 0x0f));
        }
    }
    if let Some(&fam) = buf.get(13) {
        if fam >> 4 > 0x3 {
            return Err(ProxyError::V2Family(fam >> 4));
        }
        if fam & 0x0f > 0x2 {
            return Err(ProxyError::V2Transport(fam & 0x0f));
        }
    }
    if buf.len() < FIXED {
        return Ok(Parsed::Incomplete);
    }
    let len = usize::from(u16::from_be_bytes([buf[14], buf[15]]));
    let total = FIXED + len;
    if total > V2_MAX_LEN {
        return Err(ProxyError::V2TooLong {
            len: total,
            max: V2_MAX_LEN,
        });
    }
    // §2.2: "The receiver must not start to parse an address before the whole address
    // block is received."
    let Some(block) = buf.get(FIXED..total) else {
        return Ok(Parsed::Incomplete);
    };
    let addresses = if buf[12] & 0x0f == 0x0 {
        // LOCAL: "discard the protocol block including the family which is ignored".
        ProxyAddresses::Local
    } else {
        proxied(buf[13], block)?
    };
    Ok(Parsed::Complete {
        header: ProxyHeader {
            version: ProxyVersion::V2,
            addresses,
        },
        len: total,
    })
}

/// The addresses of a PROXY command, after which the TLVs are checked for framing.
fn proxied(fam: u8, block: &[u8]) -> Result<ProxyAddresses, ProxyError> {
    let need = |family: &'static str, need: usize| {
        if block.len() < need {
            Err(ProxyError::V2AddressBlock {
                family,
                need,
                len: block.len(),
            })
        } else {
            Ok(())
        }
    };
    let port = |at: usize| u16::from_be_bytes([block[at], block[at + 1]]);
    let (addresses, used) = match (fam >> 4, fam & 0x0f) {
        // TCP over IPv4.
        (0x1, 0x1) => {
            need("IPv4", INET_LEN)?;
            let src = Ipv4Addr::new(block[0], block[1], block[2], block[3]);
            let dst = Ipv4Addr::new(block[4], block[5], block[6], block[7]);
            (tcp(src.into(), port(8), dst.into(), port(10)), INET_LEN)
        }
        // TCP over IPv6.
        (0x2, 0x1) => {
            need("IPv6", INET6_LEN)?;
            let mut src = [0u8; 16];
            let mut dst = [0u8; 16];
            src.copy_from_slice(&block[..16]);
            dst.copy_from_slice(&block[16..32]);
            let (src, dst) = (Ipv6Addr::from(src), Ipv6Addr::from(dst));
            (tcp(src.into(), port(32), dst.into(), port(34)), INET6_LEN)
        }
        // UNSPEC family or transport: nothing defines the block, so it is skipped whole.
        (0x0, _) | (_, 0x0) => return Ok(ProxyAddresses::Unspecified),
        // UDP over IPv4/IPv6 (on a TCP listener) and UNIX sockets: the real endpoints
        // (§2.2: a receiver "automatically falls back to the UNSPEC mode" for valid
        // combinations it does not support). Their address sizes still frame the TLVs.
        (0x1, _) => {
            need("IPv4", INET_LEN)?;
            (ProxyAddresses::Unspecified, INET_LEN)
        }
        (0x2, _) => {
            need("IPv6", INET6_LEN)?;
            (ProxyAddresses::Unspecified, INET6_LEN)
        }
        _ => {
            need("UNIX", UNIX_LEN)?;
            (ProxyAddresses::Unspecified, UNIX_LEN)
        }
    };
    check_tlvs(&block[used..], FIXED + used)?;
    Ok(addresses)
}

fn tcp(src: IpAddr, sport: u16, dst: IpAddr, dport: u16) -> ProxyAddresses {
    ProxyAddresses::Tcp {
        source: SocketAddr::new(src, sport),
        destination: SocketAddr::new(dst, dport),
    }
}

/// Walks the TLVs after the addresses (§2.2: type, 16-bit length, value) without
/// interpreting them: each must fit inside the header. `offset` is where `tlvs` starts
/// in the header, for the error.
fn check_tlvs(mut tlvs: &[u8], mut offset: usize) -> Result<(), ProxyError> {
    while !tlvs.is_empty() {
        let Some(&[_, hi, lo]) = tlvs.get(..3) else {
            return Err(ProxyError::V2Tlv { offset });
        };
        let end = 3 + usize::from(u16::from_be_bytes([hi, lo]));
        let Some(rest) = tlvs.get(end..) else {
            return Err(ProxyError::V2Tlv { offset });
        };
        tlvs = rest;
        offset += end;
    }
    Ok(())
}
