//! Table tests from proxy-protocol.txt's examples and limits: each row is bytes in and
//! the expected header (with its length) or error out; every valid header is also fed
//! in every shorter prefix, which must be "incomplete", never an error.

use std::net::SocketAddr;

use super::*;

fn tcp(source: &str, destination: &str) -> ProxyAddresses {
    ProxyAddresses::Tcp {
        source: source.parse::<SocketAddr>().unwrap(),
        destination: destination.parse::<SocketAddr>().unwrap(),
    }
}

fn complete(buf: &[u8]) -> (ProxyHeader, usize) {
    match parse(buf) {
        Ok(Parsed::Complete { header, len }) => (header, len),
        other => panic!(
            "{:?}: expected a header, got {other:?}",
            String::from_utf8_lossy(buf)
        ),
    }
}

/// Asserts `header` parses to `expect`, every proper prefix is incomplete, and bytes
/// after it are not consumed.
fn assert_header(header: &[u8], version: ProxyVersion, expect: ProxyAddresses) {
    for n in 0..header.len() {
        assert_eq!(
            parse(&header[..n]),
            Ok(Parsed::Incomplete),
            "prefix of {n} bytes of {:?}",
            String::from_utf8_lossy(header)
        );
    }
    let mut with_data = header.to_vec();
    with_data.extend_from_slice(b"\x16\x03\x01 data that follows");
    let (got, len) = complete(&with_data);
    assert_eq!(len, header.len());
    assert_eq!(got.version, version);
    assert_eq!(got.addresses, expect);
}

#[test]
fn v1_examples_from_the_spec() {
    let rows: &[(&[u8], ProxyAddresses)] = &[
        // §2.1's example before an HTTP request.
        (
            b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
            tcp("192.168.0.1:56324", "192.168.0.11:443"),
        ),
        // §2.1's longest TCP/IPv4 line (56 bytes).
        (
            b"PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n",
            tcp("255.255.255.255:65535", "255.255.255.255:65535"),
        ),
        // §2.1's longest TCP/IPv6 line (104 bytes), upper and lower case.
        (
            b"PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF 65535 65535\r\n",
            tcp(
                "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535",
                "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535",
            ),
        ),
        (
            b"PROXY TCP6 2001:db8::1 ::1 0 993\r\n",
            tcp("[2001:db8::1]:0", "[::1]:993"),
        ),
        // §2.1's short UNKNOWN form, and the worst case (107 bytes) whose rest is ignored.
        (b"PROXY UNKNOWN\r\n", ProxyAddresses::Unspecified),
        (b"PROXY UNKNOWN \xff\0 anything\r\n", ProxyAddresses::Unspecified),
        (
            b"PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
            ProxyAddresses::Unspecified,
        ),
    ];
    for (bytes, expect) in rows {
        assert_header(bytes, ProxyVersion::V1, *expect);
    }
    assert_eq!(rows[6].0.len(), V1_MAX_LEN);
}

#[test]
fn v1_refusals() {
    use ProxyError::*;
    let port = |field: &'static str, value: &str| V1Port {
        field,
        value: value.into(),
    };
    let addr = |field: &'static str, family: &'static str, value: &str| V1Address {
        field,
        family,
        value: value.into(),
    };
    let rows: &[(&[u8], ProxyError)] = &[
        (b"EHLO client.example\r\n", NotAHeader),
        (b"PROXz", NotAHeader),
        (b"PROXY\r\n", NotAHeader),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", V1BareLineEnd),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX", V1BareLineEnd),
        (b"PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n", V1NotAscii),
        (
            b"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
            V1Protocol("TCP5".into()),
        ),
        (
            b"PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n",
            V1Protocol("tcp4".into()),
        ),
        (b"PROXY \r\n", V1Protocol(String::new())),
        (b"PROXY TCP4\r\n", V1FieldCount(0)),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", V1FieldCount(3)),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", V1FieldCount(5)),
        // Exactly one space between fields.
        (b"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", V1FieldCount(5)),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", V1FieldCount(5)),
        // Canonical IPv4 only: no leading zeroes, four numbers, each 0-255.
        (
            b"PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n",
            addr("source address", "IPv4", "01.2.3.4"),
        ),
        (
            b"PROXY TCP4 1.2.3.4 5.6.7.256 1 2\r\n",
            addr("destination address", "IPv4", "5.6.7.256"),
        ),
        (
            b"PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n",
            addr("source address", "IPv4", "1.2.3"),
        ),
        // The family must match the addresses.
        (
            b"PROXY TCP4 ::1 5.6.7.8 1 2\r\n",
            addr("source address", "IPv4", "::1"),
        ),
        (
            b"PROXY TCP6 1.2.3.4 ::1 1 2\r\n",
            addr("source address", "IPv6", "1.2.3.4"),
        ),
        (
            b"PROXY TCP6 ::ffff:1.2.3.4 ::1 1 2\r\n",
            addr("source address", "IPv6", "::ffff:1.2.3.4"),
        ),
        (
            b"PROXY TCP6 1::2::3 ::1 1 2\r\n",
            addr("source address", "IPv6", "1::2::3"),
        ),
        // Ports: decimal 0-65535, no leading zeroes, no sign.
        (
            b"PROXY TCP4 1.2.3.4 5.6.7.8 0443 2\r\n",
            port("source port", "0443"),
        ),
        (
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n",
            port("destination port", "65536"),
        ),
        (
            b"PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n",
            port("source port", "+1"),
        ),
        (
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 -2\r\n",
            port("destination port", "-2"),
        ),
    ];
    for (bytes, expect) in rows {
        assert_eq!(
            parse(bytes).as_ref(),
            Err(expect),
            "{:?}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[test]
fn v1_line_length_limit() {
    // No CRLF within 107 bytes: refused once 107 bytes are in, incomplete before.
    let mut long = b"PROXY UNKNOWN ".to_vec();
    long.resize(V1_MAX_LEN - 1, b'f');
    assert_eq!(parse(&long), Ok(Parsed::Incomplete));
    long.push(b'f');
    assert_eq!(parse(&long), Err(ProxyError::V1TooLong));
    // A CR as the 107th byte leaves no room for the LF.
    long[V1_MAX_LEN - 1] = b'\r';
    assert_eq!(parse(&long), Err(ProxyError::V1TooLong));
    long.push(b'\n');
    assert_eq!(parse(&long), Err(ProxyError::V1TooLong));
}

/// A version 2 header: signature, `ver_cmd`, `fam`, length, then `body`.
fn v2(ver_cmd: u8, fam: u8, body: &[u8]) -> Vec<u8> {
    let mut h = V2_SIGNATURE.to_vec();
    h.push(ver_cmd);
    h.push(fam);
    h.extend_from_slice(&u16::try_from(body.len()).unwrap().to_be_bytes());
    h.extend_from_slice(body);
    h
}

/// The IPv4 block of §2.2 for 192.0.2.7:40000 → 198.51.100.1:993.
const INET_BLOCK: [u8; 12] = [192, 0, 2, 7, 198, 51, 100, 1, 0x9c, 0x40, 0x03, 0xe1];

fn inet6_block() -> Vec<u8> {
    let src: std::net::Ipv6Addr = "2001:db8::7".parse().unwrap();
    let dst: std::net::Ipv6Addr = "2001:db8::1".parse().unwrap();
    let mut b = src.octets().to_vec();
    b.extend_from_slice(&dst.octets());
    b.extend_from_slice(&40000u16.to_be_bytes());
    b.extend_from_slice(&465u16.to_be_bytes());
    b
}

#[test]
fn v2_headers() {
    let with_tlvs = {
        let mut b = INET_BLOCK.to_vec();
        // PP2_TYPE_ALPN "imap", PP2_TYPE_NOOP empty, PP2_TYPE_UNIQUE_ID 3 bytes.
        b.extend_from_slice(&[0x01, 0x00, 0x04]);
        b.extend_from_slice(b"imap");
        b.extend_from_slice(&[0x04, 0x00, 0x00]);
        b.extend_from_slice(&[0x05, 0x00, 0x03, 1, 2, 3]);
        b
    };
    let unix_block = [0u8; 216];
    let rows: Vec<(Vec<u8>, ProxyAddresses)> = vec![
        // \x21 PROXY, \x11 TCP over IPv4: 12 address bytes.
        (
            v2(0x21, 0x11, &INET_BLOCK),
            tcp("192.0.2.7:40000", "198.51.100.1:993"),
        ),
        (
            v2(0x21, 0x11, &with_tlvs),
            tcp("192.0.2.7:40000", "198.51.100.1:993"),
        ),
        // \x21 TCP over IPv6: 36 address bytes.
        (
            v2(0x21, 0x21, &inet6_block()),
            tcp("[2001:db8::7]:40000", "[2001:db8::1]:465"),
        ),
        // LOCAL (health check) with no address, and LOCAL whose length must still be
        // skipped ("must not assume zero is presented for LOCAL connections").
        (v2(0x20, 0x00, &[]), ProxyAddresses::Local),
        (v2(0x20, 0x11, &INET_BLOCK), ProxyAddresses::Local),
        // PROXY with UNSPEC, UDP, UNIX: the real endpoints.
        (v2(0x21, 0x00, &[]), ProxyAddresses::Unspecified),
        (v2(0x21, 0x00, &[1, 2, 3]), ProxyAddresses::Unspecified),
        (v2(0x21, 0x12, &INET_BLOCK), ProxyAddresses::Unspecified),
        (v2(0x21, 0x22, &inet6_block()), ProxyAddresses::Unspecified),
        (v2(0x21, 0x31, &unix_block), ProxyAddresses::Unspecified),
    ];
    for (bytes, expect) in rows {
        assert_header(&bytes, ProxyVersion::V2, expect);
    }
}

#[test]
fn v2_refusals() {
    use ProxyError::*;
    let mut bad_signature = v2(0x21, 0x11, &INET_BLOCK);
    bad_signature[7] = b'q';
    let short_tlv = {
        let mut b = INET_BLOCK.to_vec();
        b.extend_from_slice(&[0x01, 0x00, 0x05, b'i']);
        b
    };
    let trailing = {
        let mut b = INET_BLOCK.to_vec();
        b.extend_from_slice(&[0x04, 0x00]);
        b
    };
    let rows: Vec<(Vec<u8>, ProxyError)> = vec![
        (bad_signature, NotAHeader),
        (b"\r\n\r\n\0\r\nQUIT\r".to_vec(), NotAHeader),
        // Version 1 in the binary format, a version 3, an unassigned command.
        (v2(0x11, 0x11, &INET_BLOCK), V2Version(1)),
        (v2(0x31, 0x11, &INET_BLOCK), V2Version(3)),
        (v2(0x22, 0x11, &INET_BLOCK), V2Command(2)),
        (v2(0x2f, 0x11, &INET_BLOCK), V2Command(0xf)),
        // Unspecified family and transport values "must be rejected".
        (v2(0x21, 0x41, &INET_BLOCK), V2Family(4)),
        (v2(0x21, 0x13, &INET_BLOCK), V2Transport(3)),
        // An address block shorter than its family needs.
        (
            v2(0x21, 0x11, &INET_BLOCK[..11]),
            V2AddressBlock {
                family: "IPv4",
                need: 12,
                len: 11,
            },
        ),
        (
            v2(0x21, 0x21, &INET_BLOCK),
            V2AddressBlock {
                family: "IPv6",
                need: 36,
                len: 12,
            },
        ),
        (
            v2(0x21, 0x31, &INET_BLOCK),
            V2AddressBlock {
                family: "UNIX",
                need: 216,
                len: 12,
            },
        ),
        // TLVs that run past the header.
        (v2(0x21, 0x11, &short_tlv), V2Tlv { offset: 28 }),
        (v2(0x21, 0x11, &trailing), V2Tlv { offset: 28 }),
    ];
    for (bytes, expect) in rows {
        assert_eq!(parse(&bytes), Err(expect.clone()), "{bytes:02x?}");
    }
}

#[test]
fn v2_errors_come_as_soon_as_the_bytes_show_them() {
    // The version is refused at byte 13, before the length is even known.
    let h = v2(0x11, 0x11, &INET_BLOCK);
    assert_eq!(parse(&h[..13]), Err(ProxyError::V2Version(1)));
    // A length past the cap is refused once the 16 fixed bytes are in, without waiting
    // for (or buffering) the announced bytes.
    let mut h = v2(0x21, 0x11, &[]);
    h[14..16].copy_from_slice(&0xffffu16.to_be_bytes());
    assert_eq!(
        parse(&h),
        Err(ProxyError::V2TooLong {
            len: 16 + 0xffff,
            max: V2_MAX_LEN
        })
    );
    // The largest accepted header: TLVs up to the cap.
    let mut body = INET_BLOCK.to_vec();
    let pad = V2_MAX_LEN - 16 - body.len() - 3;
    body.extend_from_slice(&[0x04]);
    body.extend_from_slice(&u16::try_from(pad).unwrap().to_be_bytes());
    body.resize(body.len() + pad, 0);
    let h = v2(0x21, 0x11, &body);
    assert_eq!(h.len(), V2_MAX_LEN);
    let (header, len) = complete(&h);
    assert_eq!(len, V2_MAX_LEN);
    assert_eq!(header.source(), Some("192.0.2.7:40000".parse().unwrap()));
}

#[test]
fn a_v1_line_is_not_a_v2_header_and_tls_or_protocol_bytes_are_neither() {
    for first in [
        &b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"[..],
        b"GET / HTTP/1.1\r\n",
        b"a001 LOGIN bob pw\r\n",
        b"USER bob\r\n",
    ] {
        assert_eq!(parse(first), Err(ProxyError::NotAHeader), "{first:02x?}");
    }
}
