//! What Pillarbox does with the scanners' verdicts (`[scan]`): clamd first, then each
//! milter, then rspamd; the first refusal ends the scan. A scanner that gives no
//! verdict leads to the administrator's choice (`on_error`: refuse for now, or take
//! the message tagged as unscanned), never to a message silently let through.
//!
//! The result is one [`Outcome`]: the message's fate, the message as the scanners
//! left it (their header edits, our `X-Spam-*` fields), and the spam score and virus
//! verdict that the delivery pipeline turns into a Junk decision per recipient and
//! into Sieve's `spamtest`/`virustest`.

use std::net::IpAddr;
use std::time::Duration;

use pillarbox_config::{OnScanError, Oversize, ScanSection};
use serde_json::json;

use crate::milter::{Milter, MilterAction};
use crate::rspamd::{Action, CheckRequest, Rspamd};
use crate::{Clamd, Endpoint, ScanError, VirusVerdict};

/// The scanners `[scan]` configures.
pub struct Scanners {
    clamd: Option<Clamd>,
    rspamd: Option<Rspamd>,
    milters: Vec<(Milter, OnScanError, Vec<String>)>,
    settings: ScanSection,
    hostname: String,
}

impl std::fmt::Debug for Scanners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanners")
            .field("clamd", &self.clamd.is_some())
            .field("rspamd", &self.rspamd.is_some())
            .field("milters", &self.milters.len())
            .finish()
    }
}

/// Who sent the message and how (what the scanners are told).
#[derive(Debug, Clone, Default)]
pub struct Context<'a> {
    /// `smtp`, `submission`, `submissions` or `collect`.
    pub listener: &'a str,
    pub ip: Option<IpAddr>,
    pub port: u16,
    pub helo: &'a str,
    /// The client's verified reverse name.
    pub hostname: Option<&'a str>,
    pub from: &'a str,
    pub rcpts: &'a [String],
    pub user: Option<&'a str>,
    pub queue_id: &'a str,
    /// Score already earned before the content was seen (DNS list listings), with
    /// the names shown in `X-Spam-Symbols`.
    pub extra: Vec<(String, f64)>,
}

/// What becomes of the message.
#[derive(Debug, Clone, PartialEq)]
pub enum Fate {
    /// Deliver it (to Junk or not: the pipeline decides per recipient by score).
    Accept,
    /// Refuse it (`554 5.7.1` at SMTP).
    Reject {
        code: u16,
        status: String,
        text: String,
    },
    /// Refuse it for now (`451 4.7.1` at SMTP; collected mail waits for the next run).
    TempFail { text: String },
    /// Take it and store it nowhere (a milter said so).
    Discard,
    /// Hold it in quarantine.
    Quarantine { reason: String },
}

/// The scan of one message.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub fate: Fate,
    /// The message as the scanners left it; `None` when unchanged.
    pub message: Option<Vec<u8>>,
    /// The spam score, when a spam scanner (or a DNS list) gave one.
    pub spam_score: Option<f64>,
    /// Whether the antivirus found something (`None`: not scanned).
    pub infected: Option<bool>,
    /// The verdicts, for the message's trace and the quarantine.
    pub summary: serde_json::Value,
    /// Scanners that gave no verdict, each a line for the event log.
    pub failures: Vec<String>,
}

impl Scanners {
    /// The scanners `scan` configures, or `None` when there are none.
    pub fn new(scan: &ScanSection, hostname: &str) -> Result<Option<Scanners>, String> {
        let endpoint =
            |key: &str, v: &str| Endpoint::parse(v).map_err(|e| format!("scan.{key}: {e}"));
        let clamd = if scan.clamd.is_empty() {
            None
        } else {
            let mut c = Clamd::new(endpoint("clamd", &scan.clamd)?);
            c.timeout = scan.clamd_timeout.get();
            c.max_size = usize::try_from(scan.clamd_max_size.0).unwrap_or(usize::MAX);
            Some(c)
        };
        let rspamd = if scan.rspamd.is_empty() {
            None
        } else {
            let mut r = Rspamd::new(endpoint("rspamd", &scan.rspamd)?);
            r.timeout = scan.rspamd_timeout.get();
            if !scan.rspamd_controller.is_empty() {
                r.controller = Some(endpoint("rspamd_controller", &scan.rspamd_controller)?);
            }
            if !scan.rspamd_password.is_empty() {
                r.password = Some(scan.rspamd_password.clone());
            }
            Some(r)
        };
        let mut milters = Vec::new();
        for (i, m) in scan.milter.iter().enumerate() {
            let name = if m.name.is_empty() {
                format!("milter{}", i + 1)
            } else {
                m.name.clone()
            };
            milters.push((
                Milter {
                    name,
                    endpoint: endpoint(&format!("milter[{i}].address"), &m.address)?,
                    connect_timeout: Duration::from_secs(10).min(m.timeout.get()),
                    timeout: m.timeout.get(),
                },
                m.on_error.unwrap_or(scan.on_error),
                m.listeners.clone(),
            ));
        }
        if clamd.is_none() && rspamd.is_none() && milters.is_empty() {
            return Ok(None);
        }
        Ok(Some(Scanners {
            clamd,
            rspamd,
            milters,
            settings: scan.clone(),
            hostname: hostname.to_string(),
        }))
    }

    /// Whether mail arriving on `listener` is scanned: it is one of `[scan]
    /// listeners`, or a milter names it.
    pub fn scans(&self, listener: &str) -> bool {
        self.settings.scans(listener)
            || self
                .milters
                .iter()
                .any(|(_, _, l)| l.iter().any(|l| l == listener))
    }

    /// Whether Junk moves are reported to rspamd.
    pub fn learns(&self) -> bool {
        self.settings.learn && self.rspamd.as_ref().is_some_and(|r| r.controller.is_some())
    }

    /// Reports a message to rspamd as spam or ham.
    pub async fn learn(&self, spam: bool, msg: &[u8]) -> Result<(), ScanError> {
        match &self.rspamd {
            Some(r) => r.learn(spam, msg).await,
            None => Ok(()),
        }
    }

    /// Days a quarantined message is kept.
    pub fn quarantine_days(&self) -> u32 {
        self.settings.quarantine_days
    }

    /// Scans `msg`.
    pub async fn scan(&self, cx: &Context<'_>, msg: &[u8]) -> Outcome {
        let on_error = if cx.listener == "collect" {
            self.settings.collect_on_error
        } else {
            self.settings.on_error
        };
        let mut out = Outcome {
            fate: Fate::Accept,
            message: None,
            spam_score: None,
            infected: None,
            summary: json!({}),
            failures: Vec::new(),
        };
        let mut unscanned: Vec<String> = Vec::new();
        let mut added: Vec<(String, String)> = Vec::new();
        let mut removed: Vec<String> = Vec::new();

        // Listeners `[scan] listeners` names get every scanner; the others only the
        // milters that name them.
        let all = self.settings.scans(cx.listener);
        // 1. Viruses.
        if let Some(clamd) = self.clamd.as_ref().filter(|_| all) {
            let too_big = msg.len() > clamd.max_size;
            if too_big && self.settings.oversize == Oversize::SkipWithHeader {
                unscanned.push("clamd: too big".into());
                out.summary["virus"] = json!("unscanned: too big");
            } else {
                match clamd.scan(msg).await {
                    Ok(VirusVerdict::Clean) => {
                        out.infected = Some(false);
                        out.summary["virus"] = json!(if too_big {
                            "clean (first part scanned)"
                        } else {
                            "clean"
                        });
                        added.push((
                            "X-Virus-Scanned".into(),
                            format!("clamd on {}", self.hostname),
                        ));
                    }
                    Ok(VirusVerdict::Infected(name)) => {
                        out.infected = Some(true);
                        out.summary["virus"] = json!(format!("infected: {name}"));
                        out.fate = if cx.listener == "collect" {
                            Fate::Quarantine {
                                reason: format!("virus {name}"),
                            }
                        } else {
                            Fate::Reject {
                                code: 554,
                                status: "5.7.1".into(),
                                text: format!("Message refused: it contains a virus ({name})"),
                            }
                        };
                        return out;
                    }
                    Err(e) => {
                        out.summary["virus"] = json!(format!("error: {e}"));
                        out.failures.push(format!("antivirus gave no verdict: {e}"));
                        if on_error == OnScanError::Tempfail {
                            out.fate = Fate::TempFail {
                                text: "Virus scanner unavailable, try again later".into(),
                            };
                            return out;
                        }
                        unscanned.push(format!("clamd: {}", kind_name(&e)));
                    }
                }
            }
        }

        // 2. Milters, in order; each sees the message as the one before left it.
        let mut current: Option<Vec<u8>> = None;
        let mut milter_notes = Vec::new();
        for (milter, on_err, listeners) in &self.milters {
            let named = listeners.iter().any(|l| l == cx.listener);
            if !(named || (listeners.is_empty() && all)) {
                continue;
            }
            let req = crate::MilterRequest {
                hostname: &cx
                    .hostname
                    .map(str::to_string)
                    .or_else(|| cx.ip.map(|ip| format!("[{ip}]")))
                    .unwrap_or_else(|| "localhost".into()),
                ip: cx.ip.unwrap_or(IpAddr::from([127, 0, 0, 1])),
                port: cx.port,
                helo: cx.helo,
                from: cx.from,
                rcpts: cx.rcpts,
                queue_id: cx.queue_id,
                our_hostname: &self.hostname,
            };
            let body = current.as_deref().unwrap_or(msg);
            match milter.check(&req, body).await {
                Ok(r) => {
                    for u in &r.unsupported {
                        out.failures.push(format!(
                            "milter {} asked for {u}, which Pillarbox does not do; ignored",
                            milter.name
                        ));
                    }
                    milter_notes
                        .push(json!({"name": milter.name, "action": format!("{:?}", r.action)}));
                    if !r.edits.is_empty() || r.new_body.is_some() {
                        current = Some(crate::milter::apply(body, &r.edits, r.new_body.as_deref()));
                    }
                    match r.action {
                        MilterAction::Accept | MilterAction::Continue => {}
                        MilterAction::Reject(reply) => {
                            let (code, status, text) = reply_parts(reply.as_deref(), 550, "5.7.1");
                            out.fate = Fate::Reject { code, status, text };
                        }
                        MilterAction::TempFail(reply) => {
                            let (_, _, text) = reply_parts(reply.as_deref(), 451, "4.7.1");
                            out.fate = Fate::TempFail { text };
                        }
                        MilterAction::Discard => out.fate = Fate::Discard,
                    }
                    if out.fate == Fate::Accept
                        && let Some(reason) = r.quarantine
                    {
                        out.fate = Fate::Quarantine {
                            reason: format!("milter {}: {reason}", milter.name),
                        };
                    }
                    if out.fate != Fate::Accept {
                        out.summary["milters"] = json!(milter_notes);
                        out.message = current;
                        return out;
                    }
                }
                Err(e) => {
                    out.failures
                        .push(format!("milter {} gave no verdict: {e}", milter.name));
                    milter_notes.push(json!({"name": milter.name, "error": e.to_string()}));
                    if *on_err == OnScanError::Tempfail {
                        out.fate = Fate::TempFail {
                            text: "Content filter unavailable, try again later".into(),
                        };
                        out.summary["milters"] = json!(milter_notes);
                        return out;
                    }
                    unscanned.push(format!("milter {}: {}", milter.name, kind_name(&e)));
                }
            }
        }
        if !milter_notes.is_empty() {
            out.summary["milters"] = json!(milter_notes);
        }

        // 3. Spam.
        let mut symbols: Vec<(String, f64)> = cx.extra.clone();
        let mut score: Option<f64> =
            (!cx.extra.is_empty()).then(|| cx.extra.iter().map(|e| e.1).sum());
        let mut rspamd_says: Option<Action> = None;
        let mut smtp_message = None;
        if let Some(rspamd) = self.rspamd.as_ref().filter(|_| all) {
            let req = CheckRequest {
                ip: cx.ip,
                helo: (!cx.helo.is_empty()).then_some(cx.helo),
                hostname: cx.hostname,
                from: cx.from,
                rcpts: cx.rcpts,
                user: cx.user,
                queue_id: Some(cx.queue_id),
            };
            let body = current.as_deref().unwrap_or(msg);
            match rspamd.check(&req, body).await {
                Ok(r) => {
                    score = Some(score.unwrap_or(0.0) + r.score);
                    symbols.extend(r.symbols.iter().cloned());
                    rspamd_says = Some(r.action);
                    // One line of printable text: it becomes an SMTP reply.
                    smtp_message = r
                        .smtp_message
                        .as_deref()
                        .map(|m| m.chars().filter(|c| !c.is_control()).collect::<String>());
                    out.summary["rspamd"] = json!({
                        "action": r.action.as_str(),
                        "score": r.score,
                        "required": r.required_score,
                    });
                    added.extend(r.add_headers.iter().cloned());
                    removed.extend(r.remove_headers.iter().cloned());
                }
                Err(e) => {
                    out.summary["rspamd"] = json!({"error": e.to_string()});
                    out.failures
                        .push(format!("spam filter gave no verdict: {e}"));
                    if on_error == OnScanError::Tempfail {
                        out.fate = Fate::TempFail {
                            text: "Spam filter unavailable, try again later".into(),
                        };
                        return out;
                    }
                    unscanned.push(format!("rspamd: {}", kind_name(&e)));
                }
            }
        }
        out.spam_score = score;
        if let Some(score) = score {
            out.summary["score"] = json!(score);
            // Refused when it reaches every recipient's refusal score (or rspamd says
            // reject).
            let reject_at = cx
                .rcpts
                .iter()
                .map(|r| {
                    self.settings
                        .thresholds(r.rsplit_once('@').map_or("", |(_, d)| d))
                        .1
                })
                .fold(None, |acc: Option<f64>, t| {
                    Some(acc.map_or(t, |a| a.max(t)))
                })
                .unwrap_or(self.settings.reject_score);
            if rspamd_says == Some(Action::Reject) || score >= reject_at {
                out.fate = Fate::Reject {
                    code: 554,
                    status: "5.7.1".into(),
                    text: smtp_message
                        .filter(|m| !m.trim().is_empty())
                        .unwrap_or_else(|| format!("Message refused as spam (score {score:.1})")),
                };
                return out;
            }
            if self.settings.rspamd_greylist
                && matches!(
                    rspamd_says,
                    Some(Action::Greylist) | Some(Action::SoftReject)
                )
                && cx.listener != "collect"
            {
                out.fate = Fate::TempFail {
                    text: smtp_message
                        .filter(|m| !m.trim().is_empty())
                        .unwrap_or_else(|| "Greylisted, try again later".into()),
                };
                return out;
            }
            if self.settings.quarantine_score != 0.0 && score >= self.settings.quarantine_score {
                out.fate = Fate::Quarantine {
                    reason: format!("spam score {score:.1}"),
                };
            }
            if self.settings.spam_headers {
                let spam = score >= self.settings.junk_score;
                removed.extend(
                    [
                        "X-Spam-Score",
                        "X-Spam-Status",
                        "X-Spam-Symbols",
                        "X-Spam-Flag",
                    ]
                    .iter()
                    .map(|s| s.to_string()),
                );
                added.push(("X-Spam-Score".into(), format!("{score:.2}")));
                added.push((
                    "X-Spam-Status".into(),
                    format!(
                        "{}, score={score:.2} required={:.2}",
                        if spam { "Yes" } else { "No" },
                        self.settings.junk_score
                    ),
                ));
                if !symbols.is_empty() {
                    let list: Vec<String> = symbols
                        .iter()
                        .map(|(n, s)| format!("{n}({s:.2})"))
                        .collect();
                    added.push(("X-Spam-Symbols".into(), fold(&list)));
                }
                if spam {
                    added.push(("X-Spam-Flag".into(), "YES".into()));
                }
            }
        }
        if !unscanned.is_empty() {
            removed.push("X-Pillarbox-Scan".into());
            added.push((
                "X-Pillarbox-Scan".into(),
                format!("unscanned ({})", unscanned.join("; ")),
            ));
            out.summary["unscanned"] = json!(unscanned);
        }
        if !added.is_empty() || !removed.is_empty() {
            let base = current.as_deref().unwrap_or(msg);
            current = Some(edit_header(base, &removed, &added));
        }
        out.message = current;
        out
    }
}

fn kind_name(e: &ScanError) -> &'static str {
    match e.kind() {
        crate::ScanErrorKind::Unavailable => "unavailable",
        crate::ScanErrorKind::Timeout => "timed out",
        crate::ScanErrorKind::Protocol => "bad answer",
    }
}

/// `(code, status, text)` of a milter's `SMFIR_REPLYCODE` line (`550 5.7.1 text`), or
/// the defaults.
fn reply_parts(reply: Option<&str>, code: u16, status: &str) -> (u16, String, String) {
    let default = (
        code,
        status.to_string(),
        "Message refused by a content filter".to_string(),
    );
    let Some(line) = reply else {
        return default;
    };
    let mut parts = line.splitn(3, ' ');
    let c = parts.next().and_then(|c| c.parse::<u16>().ok());
    let (code, rest) = match c {
        Some(c) if (400..600).contains(&c) && c / 100 == code / 100 => {
            (c, parts.collect::<Vec<_>>().join(" "))
        }
        _ => (code, line.to_string()),
    };
    let mut words = rest.splitn(2, ' ');
    let first = words.next().unwrap_or("");
    let is_status = first.split('.').count() == 3
        && first
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    // RFC 3463 §3.1: the status's class is the reply code's first digit.
    let same_class = first.as_bytes().first() == code.to_string().as_bytes().first();
    let (status, text) = if is_status && same_class {
        (first.to_string(), words.next().unwrap_or("").to_string())
    } else if is_status {
        (status.to_string(), words.next().unwrap_or("").to_string())
    } else {
        (status.to_string(), rest.clone())
    };
    let text: String = text.chars().filter(|c| !c.is_control()).collect();
    let text = if text.trim().is_empty() {
        default.2
    } else {
        text
    };
    (code, status, text)
}

/// A symbol list folded for a header field.
fn fold(items: &[String]) -> String {
    let mut out = String::new();
    let mut line = 0;
    for (i, it) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
            line += 1;
            if line + it.len() > 70 {
                out.push_str("\r\n\t");
                line = 0;
            } else {
                out.push(' ');
                line += 1;
            }
        }
        out.push_str(it);
        line += it.len();
    }
    out
}

/// `msg` without the header fields named in `remove` (every occurrence) and with
/// `add` on top, in order.
pub fn edit_header(msg: &[u8], remove: &[String], add: &[(String, String)]) -> Vec<u8> {
    let end = msg
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(msg.len(), |p| p + 2);
    let (head, body) = msg.split_at(end);
    let mut out = Vec::with_capacity(msg.len() + 256);
    for (n, v) in add {
        let v: String = v
            .chars()
            .filter(|c| *c != '\r' && *c != '\n')
            .collect::<String>();
        // Folding we produced ourselves (`fold`) is kept: put it back.
        let v = v.replace('\t', "\r\n\t");
        out.extend_from_slice(n.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let mut skipping = false;
    for line in head.split_inclusive(|&b| b == b'\n') {
        let continuation = line.first().is_some_and(|&b| b == b' ' || b == b'\t');
        if !continuation {
            let name = line.split(|&b| b == b':').next().unwrap_or(b"");
            skipping = remove
                .iter()
                .any(|r| r.as_bytes().eq_ignore_ascii_case(name.trim_ascii()));
        }
        if !skipping {
            out.extend_from_slice(line);
        }
    }
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_edits() {
        let msg = b"X-Spam-Flag: NO\r\nSubject: hi\r\nX-Spam-Status: No,\r\n more\r\n\r\nbody\r\n";
        let out = edit_header(
            msg,
            &["x-spam-flag".into(), "X-Spam-Status".into()],
            &[("X-Spam-Score".into(), "1.00".into())],
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "X-Spam-Score: 1.00\r\nSubject: hi\r\n\r\nbody\r\n"
        );
    }

    #[test]
    fn milter_replies() {
        assert_eq!(
            reply_parts(Some("550 5.7.0 Go away"), 550, "5.7.1"),
            (550, "5.7.0".into(), "Go away".into())
        );
        assert_eq!(
            reply_parts(Some("554 Spam"), 550, "5.7.1"),
            (554, "5.7.1".into(), "Spam".into())
        );
        assert_eq!(reply_parts(None, 451, "4.7.1").0, 451);
        assert_eq!(
            reply_parts(Some("550 4.7.1 mixed"), 550, "5.7.1"),
            (550, "5.7.1".into(), "mixed".into()),
            "a status of another class than the code is replaced"
        );
        assert_eq!(reply_parts(Some("550 5.7.1 a\r\nb"), 550, "5.7.1").2, "ab");
        assert_eq!(
            reply_parts(Some("451 4.7.1 later"), 550, "5.7.1"),
            (550, "5.7.1".into(), "451 4.7.1 later".into()),
            "a code of the wrong class is text"
        );
    }

    #[test]
    fn folding() {
        let items: Vec<String> = (0..20).map(|i| format!("SYMBOL_{i}(1.00)")).collect();
        let f = fold(&items);
        assert!(f.lines().all(|l| l.len() <= 78), "{f}");
        assert!(f.contains("\r\n\t"));
    }
}
