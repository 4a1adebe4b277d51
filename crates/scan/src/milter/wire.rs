//! The milter protocol's packets (libmilter's `mfdef.h`): `[u32 BE length][command
//! byte][data]`, the length counting the command byte. Decoding is pure and bounded.

use crate::error::{ScanError, quote};

/// The protocol version we speak.
pub const VERSION: u32 = 6;

/// Commands (MTA → milter).
pub mod cmd {
    pub const ABORT: u8 = b'A';
    pub const BODY: u8 = b'B';
    pub const CONNECT: u8 = b'C';
    pub const MACRO: u8 = b'D';
    pub const BODYEOB: u8 = b'E';
    pub const HELO: u8 = b'H';
    pub const HEADER: u8 = b'L';
    pub const MAIL: u8 = b'M';
    pub const EOH: u8 = b'N';
    pub const OPTNEG: u8 = b'O';
    pub const QUIT: u8 = b'Q';
    pub const RCPT: u8 = b'R';
    pub const DATA: u8 = b'T';
}

/// Actions (`SMFIF_*`): what a milter may do to a message at end of message.
pub mod act {
    pub const ADDHDRS: u32 = 0x01;
    pub const CHGBODY: u32 = 0x02;
    pub const ADDRCPT: u32 = 0x04;
    pub const DELRCPT: u32 = 0x08;
    pub const CHGHDRS: u32 = 0x10;
    pub const QUARANTINE: u32 = 0x20;
    pub const CHGFROM: u32 = 0x40;
    pub const ADDRCPT_PAR: u32 = 0x80;
    pub const SETSYMLIST: u32 = 0x100;
    /// What we offer: only what `apply` applies.
    pub const OFFERED: u32 = ADDHDRS | CHGBODY | CHGHDRS | QUARANTINE;
}

/// Protocol bits (`SMFIP_*`): steps the milter does not want (`NO*`) and steps it
/// does not answer (`NR_*`).
pub mod proto {
    pub const NOCONNECT: u32 = 0x1;
    pub const NOHELO: u32 = 0x2;
    pub const NOMAIL: u32 = 0x4;
    pub const NORCPT: u32 = 0x8;
    pub const NOBODY: u32 = 0x10;
    pub const NOHDRS: u32 = 0x20;
    pub const NOEOH: u32 = 0x40;
    pub const NR_HDR: u32 = 0x80;
    pub const NOUNKNOWN: u32 = 0x100;
    pub const NODATA: u32 = 0x200;
    pub const SKIP: u32 = 0x400;
    pub const RCPT_REJ: u32 = 0x800;
    pub const NR_CONN: u32 = 0x1000;
    pub const NR_HELO: u32 = 0x2000;
    pub const NR_MAIL: u32 = 0x4000;
    pub const NR_RCPT: u32 = 0x8000;
    pub const NR_DATA: u32 = 0x10000;
    pub const NR_UNKN: u32 = 0x20000;
    pub const NR_EOH: u32 = 0x40000;
    pub const NR_BODY: u32 = 0x80000;
    pub const HDR_LEADSPC: u32 = 0x100000;
    /// What we offer: every step may be left out or left unanswered, and a body
    /// chunk may be answered with "skip". Not offered: `RCPT_REJ` (we show no
    /// rejected recipients) and `HDR_LEADSPC` (values go without the space after the
    /// colon).
    pub const OFFERED: u32 = NOCONNECT
        | NOHELO
        | NOMAIL
        | NORCPT
        | NOBODY
        | NOHDRS
        | NOEOH
        | NR_HDR
        | NOUNKNOWN
        | NODATA
        | SKIP
        | NR_CONN
        | NR_HELO
        | NR_MAIL
        | NR_RCPT
        | NR_DATA
        | NR_UNKN
        | NR_EOH
        | NR_BODY;
}

/// The longest packet accepted from a milter (its length field).
pub const MAX_PACKET: usize = 1 << 20;
/// The longest replacement-body chunk (`b`) accepted in one packet.
pub const MAX_BODY_CHUNK: usize = 64 * 1024;
/// The longest replacement body, all chunks together.
pub const MAX_NEW_BODY: usize = 64 << 20;
/// The longest data we send in one packet: libmilter refuses more than 65535 bytes
/// unless a larger size was negotiated, which we never ask for.
pub const MAX_SEND: usize = 65535;

/// One packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub cmd: u8,
    pub data: Vec<u8>,
}

/// One packet from the front of `buf`: the packet and the bytes it took, or `None`
/// while it is incomplete. A zero length (no command byte), a length over
/// [`MAX_PACKET`] and a `b` chunk over [`MAX_BODY_CHUNK`] are protocol errors (the
/// stream cannot be resynchronised after them).
pub fn decode(buf: &[u8]) -> Result<Option<(Packet, usize)>, ScanError> {
    let Some((len, rest)) = buf.split_first_chunk::<4>() else {
        return Ok(None);
    };
    let len = u32::from_be_bytes(*len);
    let Ok(len) = usize::try_from(len) else {
        return Err(ScanError::protocol(format!(
            "packet length {len} too large"
        )));
    };
    if len == 0 {
        return Err(ScanError::protocol("packet of length 0"));
    }
    if len > MAX_PACKET {
        return Err(ScanError::protocol(format!(
            "packet of {len} bytes (more than {MAX_PACKET})"
        )));
    }
    if len > MAX_BODY_CHUNK + 1 && rest.first() == Some(&b'b') {
        return Err(ScanError::protocol(format!(
            "replacement body chunk of {} bytes (more than {MAX_BODY_CHUNK})",
            len - 1
        )));
    }
    let Some(body) = rest.get(..len) else {
        return Ok(None);
    };
    let Some((&cmd, data)) = body.split_first() else {
        return Err(ScanError::protocol("packet of length 0"));
    };
    Ok(Some((
        Packet {
            cmd,
            data: data.to_vec(),
        },
        4 + len,
    )))
}

/// A packet on the wire. `data` must be at most [`MAX_SEND`] bytes (callers cut what
/// could be longer).
pub fn encode(cmd: u8, data: &[u8]) -> Vec<u8> {
    let len = u32::try_from(data.len() + 1).unwrap_or(u32::MAX);
    let mut p = Vec::with_capacity(5 + data.len());
    p.extend_from_slice(&len.to_be_bytes());
    p.push(cmd);
    p.extend_from_slice(data);
    p
}

/// A milter's reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `O`: the milter's version, the actions it wants, the protocol bits it asks for.
    OptNeg {
        version: u32,
        actions: u32,
        protocol: u32,
    },
    /// `a`: accept the message; no more steps.
    Accept,
    /// `c`: go on.
    Continue,
    /// `r`: reject.
    Reject,
    /// `t`, and `4` (shutdown) and `f` (connection failure): fail temporarily.
    TempFail,
    /// `d`: accept and throw away.
    Discard,
    /// `y`: reject or tempfail with this SMTP reply (`550 5.7.1 text`).
    ReplyCode(String),
    /// `h`: add a header at the end.
    AddHeader { name: String, value: String },
    /// `i`: insert a header at a position (0: first).
    InsHeader {
        index: u32,
        name: String,
        value: String,
    },
    /// `m`: change the `index`th (from 1) header of that name; empty value: delete it.
    ChgHeader {
        index: u32,
        name: String,
        value: String,
    },
    /// `b`: a chunk of the replacement body.
    ReplBody(Vec<u8>),
    /// `q`: quarantine, with a reason.
    Quarantine(String),
    /// `p`: still working; wait on.
    Progress,
    /// `s`: send no more body chunks.
    Skip,
    /// A modification we did not offer and do not apply: `addrcpt`, `delrcpt`,
    /// `chgfrom`, `addrcpt_par`, `setsymlist`.
    Unsupported(&'static str),
}

impl Reply {
    /// The reply a packet carries. Unknown commands, missing fields, invalid header
    /// names and reply codes that are not 4xx/5xx are protocol errors.
    pub fn parse(p: &Packet) -> Result<Reply, ScanError> {
        let d = p.data.as_slice();
        Ok(match p.cmd {
            b'O' => {
                let (Some(v), Some(a), Some(pr)) = (u32_at(d, 0), u32_at(d, 4), u32_at(d, 8))
                else {
                    return Err(ScanError::protocol(format!(
                        "option negotiation reply of {} bytes (12 needed)",
                        d.len()
                    )));
                };
                Reply::OptNeg {
                    version: v,
                    actions: a,
                    protocol: pr,
                }
            }
            b'a' => Reply::Accept,
            b'c' => Reply::Continue,
            b'r' => Reply::Reject,
            b't' | b'4' | b'f' => Reply::TempFail,
            b'd' => Reply::Discard,
            b'y' => Reply::ReplyCode(reply_code(d)?),
            b'h' => {
                let (name, value) = name_value(d)?;
                Reply::AddHeader { name, value }
            }
            b'i' | b'm' => {
                let Some((index, rest)) = d.split_first_chunk::<4>() else {
                    return Err(ScanError::protocol("header change without an index"));
                };
                let index = u32::from_be_bytes(*index);
                let (name, value) = name_value(rest)?;
                if p.cmd == b'i' {
                    Reply::InsHeader { index, name, value }
                } else {
                    Reply::ChgHeader { index, name, value }
                }
            }
            b'b' => Reply::ReplBody(d.to_vec()),
            b'q' => Reply::Quarantine(text(cstr(d).0)),
            b'p' => Reply::Progress,
            b's' => Reply::Skip,
            b'+' => Reply::Unsupported("addrcpt"),
            b'-' => Reply::Unsupported("delrcpt"),
            b'e' => Reply::Unsupported("chgfrom"),
            b'2' => Reply::Unsupported("addrcpt_par"),
            b'l' => Reply::Unsupported("setsymlist"),
            other => {
                return Err(ScanError::protocol(format!(
                    "unknown reply {} ({} bytes)",
                    quote(&[other], 4),
                    d.len()
                )));
            }
        })
    }
}

fn u32_at(d: &[u8], at: usize) -> Option<u32> {
    let b = d.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(b.try_into().ok()?))
}

/// The C string at the front of `d` (up to its NUL, or all of `d` without one) and
/// what follows the NUL.
fn cstr(d: &[u8]) -> (&[u8], &[u8]) {
    match d.iter().position(|&b| b == 0) {
        Some(i) => (d.get(..i).unwrap_or(d), d.get(i + 1..).unwrap_or_default()),
        None => (d, &[]),
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `name\0value\0`: the name must be a valid header name.
fn name_value(d: &[u8]) -> Result<(String, String), ScanError> {
    let (name, rest) = cstr(d);
    if !valid_name(name) {
        return Err(ScanError::protocol(format!(
            "invalid header name {}",
            quote(name, 60)
        )));
    }
    let (value, _) = cstr(rest);
    Ok((text(name), text(value)))
}

/// A header field name: printable ASCII other than `:`.
pub(crate) fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|&b| b.is_ascii_graphic() && b != b':')
}

/// `y`'s text: `4xx` or `5xx`, then a space, a dash (multi-line) or nothing.
fn reply_code(d: &[u8]) -> Result<String, ScanError> {
    let (t, _) = cstr(d);
    let ok = matches!(t.first(), Some(b'4' | b'5'))
        && t.get(1..3)
            .is_some_and(|c| c.iter().all(u8::is_ascii_digit))
        && matches!(t.get(3), None | Some(b' ' | b'-'));
    if !ok {
        return Err(ScanError::protocol(format!(
            "reply code is not 4xx or 5xx: {}",
            quote(t, 100)
        )));
    }
    Ok(text(t))
}
