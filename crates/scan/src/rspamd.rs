//! rspamd: a message checked by the normal worker (`POST /checkv2`, the envelope in
//! request headers, JSON back), and spam or ham learned through the controller
//! (`POST /learnspam`, `/learnham`). Our own small HTTP/1.1 client ([`http`]): one
//! request per connection, bounded replies.

mod http;

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::endpoint::{Conn, Endpoint, send, timed, timed_out};
use crate::error::{ScanError, quote};

pub use http::{MAX_BODY, MAX_HEAD};

/// The most raw bytes read for one response (chunked framing can cost more than the
/// body it carries).
const MAX_RAW: usize = MAX_HEAD + 4 * MAX_BODY;

/// An rspamd to check (and learn) with.
#[derive(Debug, Clone)]
pub struct Rspamd {
    /// The normal worker (`127.0.0.1:11333`).
    pub endpoint: Endpoint,
    /// The controller (`127.0.0.1:11334`), for learning.
    pub controller: Option<Endpoint>,
    /// The controller's password (sent as `Password` when learning).
    pub password: Option<String>,
    /// The longest connecting, sending the request, or waiting for the whole response
    /// may each take.
    pub timeout: Duration,
}

/// What rspamd is told about a message besides its bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct CheckRequest<'a> {
    /// The client's address.
    pub ip: Option<IpAddr>,
    pub helo: Option<&'a str>,
    /// The client's verified reverse DNS name.
    pub hostname: Option<&'a str>,
    /// The envelope sender; empty for the null sender.
    pub from: &'a str,
    pub rcpts: &'a [String],
    /// The authenticated user.
    pub user: Option<&'a str>,
    pub queue_id: Option<&'a str>,
}

/// rspamd's verdict (the parts of `/checkv2`'s JSON a mail server uses).
#[derive(Debug, Clone, PartialEq)]
pub struct CheckReply {
    pub action: Action,
    pub score: f64,
    pub required_score: f64,
    /// Every symbol and its score, sorted by name.
    pub symbols: Vec<(String, f64)>,
    /// `messages.smtp_message`: the text rspamd wants in an SMTP reply.
    pub smtp_message: Option<String>,
    /// The new subject, for [`Action::RewriteSubject`].
    pub subject: Option<String>,
    /// `milter.add_headers`, sorted by name (several values of one name in rspamd's
    /// order). Values are as rspamd gave them (they may be folded with CRLF + tab).
    pub add_headers: Vec<(String, String)>,
    /// `milter.remove_headers`: names of headers to remove, sorted.
    pub remove_headers: Vec<String>,
}

/// rspamd's action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    NoAction,
    Greylist,
    AddHeader,
    RewriteSubject,
    SoftReject,
    Reject,
}

impl Action {
    /// rspamd's name for an action (`"no action"`, `"soft reject"`, …).
    pub fn parse(s: &str) -> Option<Action> {
        Some(match s {
            "no action" => Action::NoAction,
            "greylist" => Action::Greylist,
            "add header" => Action::AddHeader,
            "rewrite subject" => Action::RewriteSubject,
            "soft reject" => Action::SoftReject,
            "reject" => Action::Reject,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::NoAction => "no action",
            Action::Greylist => "greylist",
            Action::AddHeader => "add header",
            Action::RewriteSubject => "rewrite subject",
            Action::SoftReject => "soft reject",
            Action::Reject => "reject",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Rspamd {
    /// rspamd's normal worker at `endpoint`, no controller, a 30 s timeout.
    pub fn new(endpoint: Endpoint) -> Self {
        Rspamd {
            endpoint,
            controller: None,
            password: None,
            timeout: Duration::from_secs(30),
        }
    }

    /// Checks `msg`: `POST /checkv2`. A status other than 200 is a protocol error
    /// naming the status (and rspamd's `error`, if it gave one).
    pub async fn check(&self, req: &CheckRequest<'_>, msg: &[u8]) -> Result<CheckReply, ScanError> {
        let who = format!("rspamd at {}", self.endpoint);
        let headers = check_headers(req);
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let (status, body) = post(
            &self.endpoint,
            &who,
            self.timeout,
            "/checkv2",
            &headers,
            msg,
        )
        .await?;
        if status != 200 {
            return Err(status_error(&who, status, &body));
        }
        parse_check(&body).map_err(|e| e.context(&who))
    }

    /// Teaches rspamd's classifier that `msg` is spam (or ham): `POST /learnspam` or
    /// `/learnham` to the controller, with the password when there is one. 200 and 208
    /// (already learned) are success.
    pub async fn learn(&self, spam: bool, msg: &[u8]) -> Result<(), ScanError> {
        let Some(controller) = &self.controller else {
            return Err(ScanError::unavailable(format!(
                "rspamd at {}: no controller configured for learning",
                self.endpoint
            )));
        };
        let who = format!("rspamd controller at {controller}");
        let mut headers = Vec::new();
        if let Some(p) = &self.password {
            headers.push(("Password", p.as_str()));
        }
        let path = if spam { "/learnspam" } else { "/learnham" };
        let (status, body) = post(controller, &who, self.timeout, path, &headers, msg).await?;
        match status {
            200 | 208 => Ok(()),
            _ => Err(status_error(&who, status, &body)),
        }
    }
}

/// The request headers of `/checkv2` (values sanitised when the head is written).
fn check_headers(req: &CheckRequest<'_>) -> Vec<(&'static str, String)> {
    let mut h = Vec::new();
    if let Some(ip) = req.ip {
        h.push(("IP", ip.to_canonical().to_string()));
    }
    if let Some(helo) = req.helo {
        h.push(("Helo", helo.to_string()));
    }
    if let Some(host) = req.hostname {
        h.push(("Hostname", host.to_string()));
    }
    let from = if req.from.is_empty() { "<>" } else { req.from };
    h.push(("From", from.to_string()));
    for r in req.rcpts {
        h.push(("Rcpt", r.clone()));
    }
    if let Some(user) = req.user {
        h.push(("User", user.to_string()));
    }
    if let Some(id) = req.queue_id {
        h.push(("Queue-Id", id.to_string()));
    }
    h
}

/// A status other than success, with what rspamd said about it.
fn status_error(who: &str, status: u16, body: &[u8]) -> ScanError {
    let said = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string));
    let detail = match said {
        Some(e) => format!(": {}", quote(e.as_bytes(), 300)),
        None if body.is_empty() => String::new(),
        None => format!(": {}", quote(body, 200)),
    };
    ScanError::protocol(format!("{who}: HTTP status {status}{detail}"))
}

/// One request, one response, one connection.
async fn post(
    endpoint: &Endpoint,
    who: &str,
    timeout: Duration,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<(u16, Vec<u8>), ScanError> {
    const WHAT: &str = "sending the request";
    let mut conn = endpoint.open(timeout, who).await?;
    let head = http::request_head(path, endpoint.http_host(), body.len(), headers);
    let sent = async {
        send(&mut conn, who, WHAT, timeout, &head).await?;
        send(&mut conn, who, WHAT, timeout, body).await?;
        timed(who, WHAT, timeout, conn.flush()).await
    }
    .await;
    match sent {
        Ok(()) => read_response(&mut conn, who, timeout).await,
        // A server refusing the request (413) may answer and close before reading it
        // all: its answer says more than the broken pipe.
        Err(e) => read_response(&mut conn, who, timeout).await.map_err(|_| e),
    }
}

/// Reads one response within `timeout` in all.
async fn read_response(
    conn: &mut Box<dyn Conn>,
    who: &str,
    timeout: Duration,
) -> Result<(u16, Vec<u8>), ScanError> {
    const WHAT: &str = "waiting for the response";
    let read = async {
        let mut buf = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let n = timed(who, WHAT, timeout, conn.read(&mut chunk)).await?;
            if n == 0 {
                return parse_response(&buf).map_err(|e| e.context(who));
            }
            buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
            if buf.len() > MAX_RAW {
                return Err(ScanError::protocol(format!(
                    "{who}: response longer than {MAX_RAW} bytes"
                )));
            }
            if let Some(r) = http::parse_partial(&buf, false).map_err(|e| e.context(who))? {
                return Ok(r);
            }
        }
    };
    match tokio::time::timeout(timeout, read).await {
        Ok(r) => r,
        Err(_) => Err(timed_out(who, WHAT, timeout)),
    }
}

/// A whole HTTP/1.x response, as read to the end of the connection: its status and
/// its body (chunked coding undone; `Content-Length` honoured; otherwise all that
/// follows the head). Bounded: [`MAX_HEAD`] bytes of head, [`MAX_BODY`] of body.
pub fn parse_response(raw: &[u8]) -> Result<(u16, Vec<u8>), ScanError> {
    http::parse_partial(raw, true)?.ok_or_else(|| ScanError::protocol("incomplete response"))
}

/// `/checkv2`'s JSON body.
pub fn parse_check(body: &[u8]) -> Result<CheckReply, ScanError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        ScanError::protocol(format!("reply is not JSON ({e}): {}", quote(body, 100)))
    })?;
    let Some(obj) = v.as_object() else {
        return Err(ScanError::protocol("reply is not a JSON object"));
    };
    if let Some(e) = obj.get("error") {
        let e = e.as_str().map_or_else(|| e.to_string(), str::to_string);
        return Err(ScanError::protocol(format!(
            "rspamd error: {}",
            quote(e.as_bytes(), 300)
        )));
    }
    let action = match obj.get("action") {
        Some(Value::String(a)) => Action::parse(a).ok_or_else(|| {
            ScanError::protocol(format!("unknown action {}", quote(a.as_bytes(), 60)))
        })?,
        Some(_) => return Err(ScanError::protocol("action is not a string")),
        None => return Err(ScanError::protocol("reply has no action")),
    };
    let score = number(obj, "score")?;
    let required_score = number(obj, "required_score")?;

    let mut symbols = Vec::new();
    if let Some(s) = obj.get("symbols") {
        let Some(s) = s.as_object() else {
            return Err(ScanError::protocol("symbols is not an object"));
        };
        for (name, sym) in s {
            let score = match sym.get("score") {
                None | Some(Value::Null) => 0.0,
                Some(v) => v.as_f64().ok_or_else(|| {
                    ScanError::protocol(format!(
                        "score of symbol {} is not a number",
                        quote(name.as_bytes(), 60)
                    ))
                })?,
            };
            symbols.push((name.clone(), score));
        }
    }
    symbols.sort_by(|a, b| a.0.cmp(&b.0));

    let smtp_message = match obj.get("messages") {
        Some(Value::Object(m)) => opt_string(m, "smtp_message", "messages.smtp_message")?,
        None | Some(Value::Null) => None,
        Some(_) => return Err(ScanError::protocol("messages is not an object")),
    };
    let subject = opt_string(obj, "subject", "subject")?;

    let mut add_headers = Vec::new();
    let mut remove_headers = Vec::new();
    match obj.get("milter") {
        Some(Value::Object(m)) => {
            if let Some(add) = m.get("add_headers") {
                let Some(add) = add.as_object() else {
                    return Err(ScanError::protocol("milter.add_headers is not an object"));
                };
                for (name, v) in add {
                    check_header_name(name)?;
                    match v {
                        Value::Array(vs) => {
                            for v in vs {
                                add_headers.push((name.clone(), header_value(name, v)?));
                            }
                        }
                        v => add_headers.push((name.clone(), header_value(name, v)?)),
                    }
                }
            }
            if let Some(rm) = m.get("remove_headers") {
                let Some(rm) = rm.as_object() else {
                    return Err(ScanError::protocol(
                        "milter.remove_headers is not an object",
                    ));
                };
                for name in rm.keys() {
                    check_header_name(name)?;
                    remove_headers.push(name.clone());
                }
            }
        }
        None | Some(Value::Null) => {}
        Some(_) => return Err(ScanError::protocol("milter is not an object")),
    }
    add_headers.sort_by(|a, b| a.0.cmp(&b.0));
    remove_headers.sort();
    remove_headers.dedup();

    Ok(CheckReply {
        action,
        score,
        required_score,
        symbols,
        smtp_message,
        subject,
        add_headers,
        remove_headers,
    })
}

fn number(obj: &Map<String, Value>, key: &str) -> Result<f64, ScanError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(0.0),
        Some(v) => v
            .as_f64()
            .ok_or_else(|| ScanError::protocol(format!("{key} is not a number"))),
    }
}

fn opt_string(
    obj: &Map<String, Value>,
    key: &str,
    what: &str,
) -> Result<Option<String>, ScanError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ScanError::protocol(format!("{what} is not a string"))),
    }
}

/// A header name rspamd asks to add or remove: printable ASCII without `:`, so that a
/// caller can write it into a message as it is.
fn check_header_name(name: &str) -> Result<(), ScanError> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
        return Err(ScanError::protocol(format!(
            "invalid header name {}",
            quote(name.as_bytes(), 60)
        )));
    }
    Ok(())
}

/// An `add_headers` value: `"value"` or `{"value": "...", "order": n}`.
fn header_value(name: &str, v: &Value) -> Result<String, ScanError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Object(o) => match o.get("value") {
            Some(Value::String(s)) => Ok(s.clone()),
            _ => Err(ScanError::protocol(format!(
                "milter.add_headers.{} has no string value",
                quote(name.as_bytes(), 60)
            ))),
        },
        _ => Err(ScanError::protocol(format!(
            "milter.add_headers.{} is neither a string nor an object",
            quote(name.as_bytes(), 60)
        ))),
    }
}

#[cfg(test)]
mod tests;
