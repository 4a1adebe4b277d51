//! A Sendmail milter client (protocol version 6, libmilter's `mfdef.h`): the MTA's
//! side of one message's session. Option negotiation, then connect, HELO, MAIL, each
//! RCPT, DATA, each header, end of headers, the body in chunks and end of message,
//! each step preceded by its macros; then the end-of-message modifications and the
//! final verdict; then quit.
//!
//! The milter's protocol bits are honoured both ways: a step it asked not to see
//! (`SMFIP_NO*`) is not sent, and a step it does not answer (`SMFIP_NR_*`) is not
//! waited for. rspamd's proxy answers `0xff080` (every `NR_*`) whatever it is offered,
//! so a client that waits on every step hangs against it.
//!
//! We offer the actions we apply ([`apply`]): add, insert and change headers, replace
//! the body, quarantine. Recipient and sender changes (and `setsymlist`) are not
//! offered; a milter sending them anyway is not obeyed, and
//! [`MilterResult::unsupported`] names them.
//!
//! [`decode`], [`Reply::parse`] and [`apply`] are pure and fuzzed.

mod message;
mod wire;

use std::net::IpAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::endpoint::{Conn, Endpoint, timed, timed_out};
use crate::error::ScanError;

pub use message::apply;
pub use wire::{
    MAX_BODY_CHUNK, MAX_NEW_BODY, MAX_PACKET, MAX_SEND, Packet, Reply, VERSION, act, cmd, decode,
    encode, proto,
};

/// The most header edits kept from one end of message.
pub const MAX_EDITS: usize = 4096;
/// The most `progress` replies waited through in one session (each resets the
/// per-reply timeout, so without a bound a milter could hold a message forever).
pub const MAX_PROGRESS: usize = 1000;
/// The longest string sent in a C-string field (host names, addresses, macros).
const MAX_FIELD: usize = 4096;

/// A milter to show messages to.
#[derive(Debug, Clone)]
pub struct Milter {
    /// A name for messages and logs.
    pub name: String,
    pub endpoint: Endpoint,
    pub connect_timeout: Duration,
    /// The longest any one reply (and any one write) may take; a `progress` reply
    /// starts the wait again.
    pub timeout: Duration,
}

/// What the milter is told about a message besides its bytes.
#[derive(Debug, Clone, Copy)]
pub struct MilterRequest<'a> {
    /// The client's verified reverse DNS name, or `[ip]`.
    pub hostname: &'a str,
    pub ip: IpAddr,
    pub port: u16,
    pub helo: &'a str,
    /// The envelope sender, empty for the null sender.
    pub from: &'a str,
    pub rcpts: &'a [String],
    pub queue_id: &'a str,
    /// Our own host name (macro `j`).
    pub our_hostname: &'a str,
}

/// The milter's verdict and what it asked to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MilterResult {
    pub action: MilterAction,
    /// Header edits in the order received (apply with [`apply`]).
    pub edits: Vec<HeaderEdit>,
    /// The replacement body, all `replbody` chunks together.
    pub new_body: Option<Vec<u8>>,
    /// The milter asked to quarantine the message, for this reason.
    pub quarantine: Option<String>,
    /// Modifications the milter sent that we did not offer and did not apply
    /// (`addrcpt`, `delrcpt`, `chgfrom`, `addrcpt_par`, `setsymlist`), once each.
    pub unsupported: Vec<&'static str>,
}

/// The milter's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MilterAction {
    /// Accept (`a`), at end of message or earlier (then with no modifications).
    Accept,
    /// Continue (`c`) at end of message: accept as modified.
    Continue,
    /// Reject (`r`), or a `5xx` reply of its own (`y`: `550 5.7.1 text`).
    Reject(Option<String>),
    /// Fail temporarily (`t`), or a `4xx` reply of its own.
    TempFail(Option<String>),
    /// Accept and throw away (`d`).
    Discard,
}

/// A header edit asked for at end of message (see [`apply`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderEdit {
    /// Append at the end of the header.
    Add { name: String, value: String },
    /// Insert before the `index`th field (0: at the top).
    Insert {
        index: u32,
        name: String,
        value: String,
    },
    /// Change the `index`th (from 1) field of that name; an empty value deletes it.
    Change {
        index: u32,
        name: String,
        value: String,
    },
}

impl Milter {
    /// A milter at `endpoint`, with a 10 s connect and a 60 s reply timeout.
    pub fn new(name: impl Into<String>, endpoint: Endpoint) -> Self {
        Milter {
            name: name.into(),
            endpoint,
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(60),
        }
    }

    fn who(&self) -> String {
        if self.name.is_empty() {
            format!("milter at {}", self.endpoint)
        } else {
            format!("milter {} at {}", self.name, self.endpoint)
        }
    }

    /// Shows one message to the milter, in one session on a new connection.
    pub async fn check(
        &self,
        req: &MilterRequest<'_>,
        msg: &[u8],
    ) -> Result<MilterResult, ScanError> {
        let who = self.who();
        let conn = self.endpoint.open(self.connect_timeout, &who).await?;
        let mut s = Session {
            conn,
            buf: Vec::new(),
            pos: 0,
            who,
            timeout: self.timeout,
            protocol: 0,
            progress: 0,
        };
        let result = s.run(req, msg).await;
        s.quit().await;
        result
    }
}

/// What a step's reply means for the session.
enum Step {
    Go,
    /// `s` to a body chunk: no more body.
    SkipBody,
    End(MilterAction),
}

struct Session {
    conn: Box<dyn Conn>,
    /// Bytes read; those before `pos` are consumed.
    buf: Vec<u8>,
    pos: usize,
    who: String,
    timeout: Duration,
    /// The protocol bits agreed (the milter's, within what we offered).
    protocol: u32,
    progress: usize,
}

fn early(action: MilterAction) -> MilterResult {
    MilterResult {
        action,
        edits: Vec::new(),
        new_body: None,
        quarantine: None,
        unsupported: Vec::new(),
    }
}

/// A NUL-terminated field: NULs inside removed, cut at [`MAX_FIELD`] bytes.
fn put_cstr(out: &mut Vec<u8>, s: &[u8]) {
    out.extend(s.iter().copied().filter(|&b| b != 0).take(MAX_FIELD));
    out.push(0);
}

fn cstr(s: &str) -> Vec<u8> {
    let mut v = Vec::new();
    put_cstr(&mut v, s.as_bytes());
    v
}

/// `D` data: the command the macros are for, then `name\0value\0` pairs.
fn macros(for_cmd: u8, pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut d = vec![for_cmd];
    for (name, value) in pairs {
        let mut pair = Vec::new();
        put_cstr(&mut pair, name.as_bytes());
        put_cstr(&mut pair, value.as_bytes());
        if d.len() + pair.len() > MAX_SEND {
            break;
        }
        d.extend_from_slice(&pair);
    }
    d
}

impl Session {
    async fn run(
        &mut self,
        req: &MilterRequest<'_>,
        msg: &[u8],
    ) -> Result<MilterResult, ScanError> {
        use proto::*;
        self.negotiate().await?;

        let ip = req.ip.to_canonical();
        let addr = ip.to_string();
        let port = req.port.to_string();
        let family = if ip.is_ipv4() { b'4' } else { b'6' };
        let mut connect = cstr(req.hostname);
        connect.push(family);
        connect.extend_from_slice(&req.port.to_be_bytes());
        put_cstr(&mut connect, addr.as_bytes());
        let m = [
            ("j", req.our_hostname),
            ("{daemon_name}", "pillarbox"),
            ("i", req.queue_id),
            ("{client_addr}", addr.as_str()),
            ("{client_name}", req.hostname),
            ("{client_port}", port.as_str()),
        ];
        if let Step::End(a) = self
            .step(NOCONNECT, NR_CONN, "connect", &m, cmd::CONNECT, &connect)
            .await?
        {
            return Ok(early(a));
        }

        if let Step::End(a) = self
            .step(NOHELO, NR_HELO, "HELO", &[], cmd::HELO, &cstr(req.helo))
            .await?
        {
            return Ok(early(a));
        }

        let m = [("i", req.queue_id), ("{mail_addr}", req.from)];
        let mail = cstr(&format!("<{}>", req.from));
        if let Step::End(a) = self
            .step(NOMAIL, NR_MAIL, "MAIL", &m, cmd::MAIL, &mail)
            .await?
        {
            return Ok(early(a));
        }

        for rcpt in req.rcpts {
            let m = [("{rcpt_addr}", rcpt.as_str())];
            let data = cstr(&format!("<{rcpt}>"));
            if let Step::End(a) = self
                .step(NORCPT, NR_RCPT, "RCPT", &m, cmd::RCPT, &data)
                .await?
            {
                return Ok(early(a));
            }
        }

        let m = [("i", req.queue_id)];
        if let Step::End(a) = self
            .step(NODATA, NR_DATA, "DATA", &m, cmd::DATA, &[])
            .await?
        {
            return Ok(early(a));
        }

        let split = message::split(msg);
        for f in &split.fields {
            let Some(name) = f.name(msg) else { continue };
            let mut data = Vec::new();
            put_cstr(&mut data, name);
            data.extend_from_slice(&f.milter_value(msg));
            data.push(0);
            if let Step::End(a) = self
                .step(NOHDRS, NR_HDR, "header", &[], cmd::HEADER, &data)
                .await?
            {
                return Ok(early(a));
            }
        }

        if let Step::End(a) = self
            .step(NOEOH, NR_EOH, "end of headers", &m, cmd::EOH, &[])
            .await?
        {
            return Ok(early(a));
        }

        let body = msg.get(split.body_start..).unwrap_or_default();
        for chunk in body.chunks(MAX_SEND) {
            match self
                .step(NOBODY, NR_BODY, "body", &[], cmd::BODY, chunk)
                .await?
            {
                Step::Go => {}
                Step::SkipBody => break,
                Step::End(a) => return Ok(early(a)),
            }
        }

        self.send(cmd::BODYEOB, &[]).await?;
        self.end_of_message().await
    }

    async fn negotiate(&mut self) -> Result<(), ScanError> {
        let mut o = Vec::with_capacity(12);
        o.extend_from_slice(&VERSION.to_be_bytes());
        o.extend_from_slice(&act::OFFERED.to_be_bytes());
        o.extend_from_slice(&proto::OFFERED.to_be_bytes());
        self.send(cmd::OPTNEG, &o).await?;
        match self.reply("option negotiation").await? {
            Reply::OptNeg {
                version, protocol, ..
            } => {
                if version < 2 {
                    return Err(ScanError::protocol(format!(
                        "{}: milter protocol version {version} (2 to 6 supported)",
                        self.who
                    )));
                }
                // Bits we did not offer cannot be honoured; a milter asking for them
                // anyway (HDR_LEADSPC, RCPT_REJ, larger packets) gets the default.
                self.protocol = protocol & proto::OFFERED;
                if version < 4 {
                    // Milters before version 4 know no DATA step.
                    self.protocol |= proto::NODATA;
                }
                Ok(())
            }
            other => Err(self.unexpected(&other, "option negotiation")),
        }
    }

    /// One step: skipped when the milter asked not to see it, its macros, the
    /// command, and its reply unless the milter said it gives none.
    async fn step(
        &mut self,
        no: u32,
        no_reply: u32,
        what: &str,
        macro_pairs: &[(&str, &str)],
        command: u8,
        data: &[u8],
    ) -> Result<Step, ScanError> {
        if self.protocol & no != 0 {
            return Ok(Step::Go);
        }
        if !macro_pairs.is_empty() {
            self.send(cmd::MACRO, &macros(command, macro_pairs)).await?;
        }
        self.send(command, data).await?;
        if self.protocol & no_reply != 0 {
            return Ok(Step::Go);
        }
        let reply = self.reply(what).await?;
        Ok(match reply {
            Reply::Continue => Step::Go,
            Reply::Skip if command == cmd::BODY && self.protocol & proto::SKIP != 0 => {
                Step::SkipBody
            }
            Reply::Skip => Step::Go,
            Reply::Accept => Step::End(MilterAction::Accept),
            Reply::Reject => Step::End(MilterAction::Reject(None)),
            Reply::TempFail => Step::End(MilterAction::TempFail(None)),
            Reply::Discard => Step::End(MilterAction::Discard),
            Reply::ReplyCode(text) => Step::End(coded(text)),
            other => return Err(self.unexpected(&other, what)),
        })
    }

    /// The end-of-message replies: modifications, then the verdict.
    async fn end_of_message(&mut self) -> Result<MilterResult, ScanError> {
        let mut r = early(MilterAction::Continue);
        let mut edit_bytes = 0usize;
        loop {
            let reply = self.reply("end of message").await?;
            let edit = match reply {
                Reply::Accept => MilterAction::Accept,
                Reply::Continue => MilterAction::Continue,
                Reply::Reject => MilterAction::Reject(None),
                Reply::TempFail => MilterAction::TempFail(None),
                Reply::Discard => MilterAction::Discard,
                Reply::ReplyCode(text) => coded(text),
                Reply::AddHeader { name, value } => {
                    self.edit(&mut r, &mut edit_bytes, HeaderEdit::Add { name, value })?;
                    continue;
                }
                Reply::InsHeader { index, name, value } => {
                    self.edit(
                        &mut r,
                        &mut edit_bytes,
                        HeaderEdit::Insert { index, name, value },
                    )?;
                    continue;
                }
                Reply::ChgHeader { index, name, value } => {
                    self.edit(
                        &mut r,
                        &mut edit_bytes,
                        HeaderEdit::Change { index, name, value },
                    )?;
                    continue;
                }
                Reply::ReplBody(chunk) => {
                    let body = r.new_body.get_or_insert_with(Vec::new);
                    if body.len() + chunk.len() > MAX_NEW_BODY {
                        return Err(ScanError::protocol(format!(
                            "{}: replacement body longer than {MAX_NEW_BODY} bytes",
                            self.who
                        )));
                    }
                    body.extend_from_slice(&chunk);
                    continue;
                }
                Reply::Quarantine(reason) => {
                    r.quarantine = Some(reason);
                    continue;
                }
                Reply::Unsupported(what) => {
                    if !r.unsupported.contains(&what) {
                        r.unsupported.push(what);
                    }
                    continue;
                }
                other @ (Reply::OptNeg { .. } | Reply::Skip | Reply::Progress) => {
                    return Err(self.unexpected(&other, "end of message"));
                }
            };
            r.action = edit;
            return Ok(r);
        }
    }

    fn edit(
        &self,
        r: &mut MilterResult,
        bytes: &mut usize,
        edit: HeaderEdit,
    ) -> Result<(), ScanError> {
        let (HeaderEdit::Add { name, value }
        | HeaderEdit::Insert { name, value, .. }
        | HeaderEdit::Change { name, value, .. }) = &edit;
        *bytes += name.len() + value.len();
        if r.edits.len() >= MAX_EDITS || *bytes > MAX_PACKET * 16 {
            return Err(ScanError::protocol(format!(
                "{}: more than {MAX_EDITS} header edits or {} bytes of them",
                self.who,
                MAX_PACKET * 16
            )));
        }
        r.edits.push(edit);
        Ok(())
    }

    fn unexpected(&self, reply: &Reply, what: &str) -> ScanError {
        let name = match reply {
            Reply::OptNeg { .. } => "option negotiation",
            Reply::Accept => "accept",
            Reply::Continue => "continue",
            Reply::Reject => "reject",
            Reply::TempFail => "tempfail",
            Reply::Discard => "discard",
            Reply::ReplyCode(_) => "replycode",
            Reply::AddHeader { .. } => "addheader",
            Reply::InsHeader { .. } => "insheader",
            Reply::ChgHeader { .. } => "chgheader",
            Reply::ReplBody(_) => "replbody",
            Reply::Quarantine(_) => "quarantine",
            Reply::Progress => "progress",
            Reply::Skip => "skip",
            Reply::Unsupported(n) => n,
        };
        ScanError::protocol(format!("{}: unexpected {name} reply to {what}", self.who))
    }

    async fn send(&mut self, command: u8, data: &[u8]) -> Result<(), ScanError> {
        let p = encode(command, data);
        let what = "sending a command";
        timed(&self.who, what, self.timeout, self.conn.write_all(&p)).await
    }

    /// The next reply other than `progress`, each within the timeout.
    async fn reply(&mut self, what: &str) -> Result<Reply, ScanError> {
        loop {
            let wait = format!("waiting for the reply to {what}");
            let packet = match tokio::time::timeout(self.timeout, self.packet(&wait)).await {
                Ok(p) => p?,
                Err(_) => return Err(timed_out(&self.who, &wait, self.timeout)),
            };
            let reply = Reply::parse(&packet).map_err(|e| {
                ScanError::protocol(format!("{}: {} (reply to {what})", self.who, e.message()))
            })?;
            if reply != Reply::Progress {
                return Ok(reply);
            }
            self.progress += 1;
            if self.progress > MAX_PROGRESS {
                return Err(ScanError::protocol(format!(
                    "{}: more than {MAX_PROGRESS} progress replies",
                    self.who
                )));
            }
        }
    }

    async fn packet(&mut self, wait: &str) -> Result<Packet, ScanError> {
        loop {
            let unread = self.buf.get(self.pos..).unwrap_or_default();
            let decoded = decode(unread).map_err(|e| {
                ScanError::protocol(format!("{}: {} ({wait})", self.who, e.message()))
            })?;
            if let Some((p, used)) = decoded {
                self.pos += used;
                return Ok(p);
            }
            // Consumed bytes go only before a read, so many small packets in one read
            // cost no more than the read.
            self.buf.drain(..self.pos.min(self.buf.len()));
            self.pos = 0;
            self.buf.reserve(64 * 1024);
            let n = timed(
                &self.who,
                wait,
                self.timeout,
                self.conn.read_buf(&mut self.buf),
            )
            .await?;
            if n == 0 {
                return Err(ScanError::protocol(format!(
                    "{}: connection closed while {wait}",
                    self.who
                )));
            }
        }
    }

    /// `Q`, best effort, briefly.
    async fn quit(&mut self) {
        let t = self.timeout.min(Duration::from_secs(1));
        let q = encode(cmd::QUIT, &[]);
        let _ = tokio::time::timeout(t, async {
            let _ = self.conn.write_all(&q).await;
            let _ = self.conn.shutdown().await;
        })
        .await;
    }
}

/// A `y` reply's verdict: 4xx fails temporarily, 5xx rejects.
fn coded(text: String) -> MilterAction {
    if text.starts_with('4') {
        MilterAction::TempFail(Some(text))
    } else {
        MilterAction::Reject(Some(text))
    }
}

#[cfg(test)]
mod tests;
