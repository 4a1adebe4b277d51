//! Modified UTF-7, the IMAP4rev1 mailbox name encoding (RFC 3501 §5.1.3).
//!
//! Printable US-ASCII stands for itself except `&`, written `&-`; everything else is
//! UTF-16BE in a modified BASE64 (`,` instead of `/`, no padding) between `&` and `-`.
//! [`decode`] is strict: it refuses every non-canonical spelling so that one mailbox
//! has one wire name. Pure functions, no I/O.

/// Why bytes are not canonical modified UTF-7.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A byte outside printable US-ASCII appeared unencoded.
    #[error("byte 0x{0:02x} must be encoded")]
    RawByte(u8),
    /// A shifted run has no closing `-`.
    #[error("shifted sequence not terminated by '-'")]
    Unterminated,
    /// A character outside the modified BASE64 alphabet inside a shifted run.
    #[error("invalid character in shifted sequence")]
    InvalidBase64,
    /// Leftover bits that are not zero, or a run that is not whole UTF-16 units.
    #[error("shifted sequence has a partial or padded UTF-16 unit")]
    BadPadding,
    /// An unpaired UTF-16 surrogate.
    #[error("shifted sequence is not valid UTF-16")]
    InvalidUtf16,
    /// A printable US-ASCII character was encoded.
    #[error("printable US-ASCII must not be encoded")]
    EncodedAscii,
    /// Two shifted runs back to back (`-&`), which must be one run.
    #[error("null shift ('-&')")]
    NullShift,
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/// Encodes a Unicode mailbox name.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut out, &mut pending);
            out.push(c);
            if c == '&' {
                out.push('-');
            }
        } else {
            let mut units = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut units));
        }
    }
    flush(&mut out, &mut pending);
    out
}

fn flush(out: &mut String, units: &mut Vec<u16>) {
    if units.is_empty() {
        return;
    }
    out.push('&');
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for unit in units.drain(..) {
        acc = (acc << 16) | u32::from(unit);
        bits += 16;
        while bits >= 6 {
            bits -= 6;
            out.push(char::from(ALPHABET[((acc >> bits) & 0x3f) as usize]));
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((acc << (6 - bits)) & 0x3f) as usize]));
    }
    out.push('-');
}

fn sextet(b: u8) -> Option<u32> {
    let v = match b {
        b'A'..=b'Z' => b - b'A',
        b'a'..=b'z' => b - b'a' + 26,
        b'0'..=b'9' => b - b'0' + 52,
        b'+' => 62,
        b',' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Decodes a wire name, refusing non-canonical forms.
pub fn decode(wire: &[u8]) -> Result<String, DecodeError> {
    let mut out = String::with_capacity(wire.len());
    let mut i = 0;
    while let Some(&b) = wire.get(i) {
        match b {
            b'&' => {
                if wire.get(i + 1) == Some(&b'-') {
                    out.push('&');
                    i += 2;
                    continue;
                }
                let rest = wire.get(i + 1..).unwrap_or_default();
                let len = rest
                    .iter()
                    .position(|&c| c == b'-')
                    .ok_or(DecodeError::Unterminated)?;
                decode_run(rest.get(..len).unwrap_or_default(), &mut out)?;
                i += len + 2;
                if wire.get(i) == Some(&b'&') && wire.get(i + 1) != Some(&b'-') {
                    return Err(DecodeError::NullShift);
                }
            }
            b' '..=b'~' => {
                out.push(char::from(b));
                i += 1;
            }
            _ => return Err(DecodeError::RawByte(b)),
        }
    }
    Ok(out)
}

fn decode_run(run: &[u8], out: &mut String) -> Result<(), DecodeError> {
    let mut units = Vec::with_capacity(run.len() * 6 / 16);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &b in run {
        acc = (acc << 6) | sextet(b).ok_or(DecodeError::InvalidBase64)?;
        bits += 6;
        if bits >= 16 {
            bits -= 16;
            units.push(((acc >> bits) & 0xffff) as u16);
            acc &= (1 << bits) - 1;
        }
    }
    if bits >= 6 || acc != 0 || units.is_empty() {
        return Err(DecodeError::BadPadding);
    }
    for c in char::decode_utf16(units) {
        let c = c.map_err(|_| DecodeError::InvalidUtf16)?;
        if (' '..='~').contains(&c) {
            return Err(DecodeError::EncodedAscii);
        }
        out.push(c);
    }
    Ok(())
}
