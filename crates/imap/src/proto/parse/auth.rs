//! Authentication commands: AUTHENTICATE with SASL-IR and the client's lines of a SASL
//! exchange, LOGIN (RFC 9051 §6.2, RFC 4959).
//!
//! Decodes BASE64 but never interprets SASL payloads (the directory does) and never
//! logs secrets. No I/O.

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::proto::command::{Authenticate, Login};
use crate::proto::error::{ParseError, ParseErrorKind as K};
use crate::proto::frame::FramedCommand;
use crate::proto::lexer::{Lexer, Result};

/// Padding is optional on input: some clients drop it.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A client line during an AUTHENTICATE exchange.
#[derive(Clone, PartialEq, Eq)]
pub enum SaslResponse {
    /// The decoded response (empty for an empty line).
    Data(Vec<u8>),
    /// `*`: the client cancels; reply `BAD`.
    Cancel,
}

impl std::fmt::Debug for SaslResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SaslResponse::Data(d) => write!(f, "Data(<{} bytes>)", d.len()),
            SaslResponse::Cancel => f.write_str("Cancel"),
        }
    }
}

/// RFC 9051 §9 `authenticate = "AUTHENTICATE" SP auth-type [SP initial-resp]`,
/// RFC 4959 §7 `initial-resp = (base64 / "=")`.
pub(super) fn authenticate(lx: &mut Lexer<'_>) -> Result<Authenticate> {
    lx.sp()?;
    let mechanism = lx.atom_bytes()?;
    let initial_response = if lx.sp_then_more() {
        Some(base64_or_empty(lx)?)
    } else {
        None
    };
    Ok(Authenticate {
        mechanism,
        initial_response,
    })
}

/// `"="` (empty) or RFC 9051 §9 `base64`.
fn base64_or_empty(lx: &mut Lexer<'_>) -> Result<Vec<u8>> {
    let start = lx.pos();
    let token = lx.take_bytes(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
    if token.is_empty() {
        return Err(lx.expected("expected BASE64"));
    }
    if token[..] == b"="[..] {
        return Ok(Vec::new());
    }
    BASE64
        .decode(&token)
        .map_err(|_| ParseError::new(K::Base64, "invalid BASE64", start))
}

/// RFC 9051 §9 `login = "LOGIN" SP userid SP password` (both astrings).
pub(super) fn login(lx: &mut Lexer<'_>) -> Result<Login> {
    lx.sp()?;
    let username = lx.astring()?;
    lx.sp()?;
    let password = lx.astring()?;
    Ok(Login { username, password })
}

/// A client line of an AUTHENTICATE exchange (RFC 9051 §6.2.2, §9 `authenticate ...
/// *(CRLF base64)`): BASE64 data, an empty line, or `*` to cancel. Call
/// [`crate::proto::Framer::expect_line`] before framing it so that an empty line is
/// delivered.
pub fn parse_sasl_response<H>(
    framed: &FramedCommand<H>,
) -> std::result::Result<SaslResponse, ParseError> {
    let mut lx = Lexer::new(&framed.bytes, &framed.slots);
    lx.skip_spaces();
    if lx.at_end() {
        return Ok(SaslResponse::Data(Vec::new()));
    }
    if lx.eat(b'*') {
        lx.finish()?;
        return Ok(SaslResponse::Cancel);
    }
    let data = base64_or_empty(&mut lx)?;
    lx.finish()?;
    Ok(SaslResponse::Data(data))
}
