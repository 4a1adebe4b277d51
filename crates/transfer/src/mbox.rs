//! mbox, pure: splitting a file into messages at `From ` lines (mboxo, what mutt,
//! Thunderbird and Python write: `>From ` becomes `From `; mboxrd: one `>` comes off
//! every `>…>From ` line), the flags mail programs keep in `Status`,
//! `X-Status`, `X-Keywords` and Thunderbird's `X-Mozilla-Status` (those fields are
//! taken out of the stored message, as Dovecot does), the `From ` line's date as the
//! INTERNALDATE, and writing an mboxrd file back with the same fields.

use pillarbox_store::flags;

/// One message of an mbox file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MboxMessage {
    /// Offset of its `From ` line in the file.
    pub offset: usize,
    /// The envelope sender of the `From ` line.
    pub sender: String,
    /// The `From ` line's date, seconds since the epoch, if it parses.
    pub date: Option<i64>,
    /// The message with CRLF line ends, quoting undone, status fields removed.
    pub message: Vec<u8>,
    pub flags: u32,
    pub keywords: Vec<String>,
}

/// Fields that carry a mail program's state, not the message's.
const STATE_FIELDS: &[&str] = &[
    "status",
    "x-status",
    "x-keywords",
    "x-mozilla-status",
    "x-mozilla-status2",
    "x-mozilla-keys",
    "x-uid",
    "x-imap",
    "x-imapbase",
    "content-length",
    "lines",
];

/// Whether `line` starts a message (`From ` at the start of a line, after a blank line
/// or at the start of the file).
fn is_from_line(line: &[u8]) -> bool {
    line.starts_with(b"From ")
}

/// Splits an mbox file into messages. Text before the first `From ` line is ignored
/// (and reported by the caller as a broken start if not blank).
pub fn split(data: &[u8], rd: bool) -> Vec<MboxMessage> {
    let mut out = Vec::new();
    let mut starts: Vec<usize> = Vec::new();
    let mut pos = 0;
    let mut prev_blank = true;
    while pos < data.len() {
        let end = data[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(data.len(), |i| pos + i + 1);
        let line = &data[pos..end];
        if prev_blank && is_from_line(line) {
            starts.push(pos);
        }
        let content = trim_eol(line);
        prev_blank = content.is_empty();
        pos = end;
    }
    for (i, &start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(data.len());
        out.push(parse_one(&data[start..end], start, rd));
    }
    out
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let l = line.strip_suffix(b"\n").unwrap_or(line);
    l.strip_suffix(b"\r").unwrap_or(l)
}

fn parse_one(chunk: &[u8], offset: usize, rd: bool) -> MboxMessage {
    let nl = chunk
        .iter()
        .position(|&b| b == b'\n')
        .map_or(chunk.len(), |i| i + 1);
    let from_line = String::from_utf8_lossy(trim_eol(&chunk[..nl])).into_owned();
    let mut words = from_line.split_whitespace().skip(1);
    let sender = words.next().unwrap_or("").to_string();
    let date = parse_ctime(&words.collect::<Vec<_>>().join(" "));
    let mut body = &chunk[nl..];
    // The blank line before the next `From ` line belongs to the file, not the message.
    if body.ends_with(b"\r\n\r\n") {
        body = &body[..body.len() - 2];
    } else if body.ends_with(b"\n\n") {
        body = &body[..body.len() - 1];
    }
    let mut message = Vec::with_capacity(body.len() + body.len() / 30);
    let mut f = 0u32;
    let mut keywords = Vec::new();
    let mut in_header = true;
    let mut skipping = false;
    for line in body.split_inclusive(|&b| b == b'\n') {
        let content = trim_eol(line);
        if in_header {
            if content.is_empty() {
                in_header = false;
            } else {
                let continuation = content.first().is_some_and(|&b| b == b' ' || b == b'\t');
                if !continuation {
                    let name = content
                        .split(|&b| b == b':')
                        .next()
                        .map(|n| String::from_utf8_lossy(n).trim().to_ascii_lowercase())
                        .unwrap_or_default();
                    skipping = content.contains(&b':') && STATE_FIELDS.contains(&name.as_str());
                    if skipping {
                        let value = content
                            .splitn(2, |&b| b == b':')
                            .nth(1)
                            .map(|v| String::from_utf8_lossy(v).trim().to_string())
                            .unwrap_or_default();
                        state_field(&name, &value, &mut f, &mut keywords);
                    }
                }
                if skipping {
                    continue;
                }
            }
        }
        // One level of `>From ` quoting comes off (mboxo: only `>From `).
        let unquoted = if !in_header && quoted(content, rd) {
            &content[1..]
        } else {
            content
        };
        message.extend_from_slice(unquoted);
        message.extend_from_slice(b"\r\n");
    }
    MboxMessage {
        offset,
        sender,
        date,
        message,
        flags: f,
        keywords,
    }
}

/// Whether a body line is a quoted `From ` line: `>From ` (mboxo), or any number of
/// `>` before `From ` (mboxrd).
fn quoted(line: &[u8], rd: bool) -> bool {
    if rd {
        line.starts_with(b">")
            && line
                .iter()
                .skip_while(|&&b| b == b'>')
                .take(5)
                .eq(b"From ".iter())
    } else {
        line.starts_with(b">From ")
    }
}

/// Whether a body line must be quoted when written.
fn needs_quote(line: &[u8], rd: bool) -> bool {
    if rd {
        line.iter()
            .skip_while(|&&b| b == b'>')
            .take(5)
            .eq(b"From ".iter())
    } else {
        line.starts_with(b"From ")
    }
}

fn state_field(name: &str, value: &str, f: &mut u32, keywords: &mut Vec<String>) {
    match name {
        "status" if value.contains('R') => *f |= flags::SEEN,
        "x-status" => {
            for c in value.chars() {
                match c {
                    'A' => *f |= flags::ANSWERED,
                    'F' => *f |= flags::FLAGGED,
                    'T' => *f |= flags::DRAFT,
                    'D' => *f |= flags::DELETED,
                    _ => {}
                }
            }
        }
        "x-mozilla-status" => {
            if let Ok(bits) = u32::from_str_radix(value.trim(), 16) {
                if bits & 0x0001 != 0 {
                    *f |= flags::SEEN;
                }
                if bits & 0x0002 != 0 {
                    *f |= flags::ANSWERED;
                }
                if bits & 0x0004 != 0 {
                    *f |= flags::FLAGGED;
                }
                if bits & 0x0008 != 0 {
                    *f |= flags::DELETED;
                }
                if bits & 0x1000 != 0 {
                    push_kw(keywords, "$Forwarded");
                }
            }
        }
        "x-keywords" | "x-mozilla-keys" => {
            for k in value.split([' ', ',']).filter(|k| !k.is_empty()) {
                if k.bytes()
                    .all(|b| b > b' ' && b < 0x7f && !b"(){%*\"\\]".contains(&b))
                {
                    push_kw(keywords, k);
                }
            }
        }
        _ => {}
    }
}

fn push_kw(keywords: &mut Vec<String>, k: &str) {
    if !keywords.iter().any(|x| x.eq_ignore_ascii_case(k)) && keywords.len() < 100 {
        keywords.push(k.to_string());
    }
}

/// `Mon Jan  2 15:04:05 2006` (asctime; an optional zone or trailing text ignored) as
/// seconds since the epoch, UTC.
pub fn parse_ctime(s: &str) -> Option<i64> {
    let w: Vec<&str> = s.split_whitespace().collect();
    if w.len() < 5 {
        return None;
    }
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| m.eq_ignore_ascii_case(w[1]))? as u8
        + 1;
    let day: u8 = w[2].parse().ok()?;
    let mut hms = w[3].split(':').map(|p| p.parse::<u8>().ok());
    let (h, m, sec) = (
        hms.next()??,
        hms.next()??,
        hms.next().flatten().unwrap_or(0),
    );
    let year: i32 = w
        .iter()
        .skip(4)
        .find_map(|x| x.parse::<i32>().ok().filter(|y| *y > 1900))?;
    let date =
        time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()?;
    let t = time::Time::from_hms(h, m, sec).ok()?;
    Some(
        time::PrimitiveDateTime::new(date, t)
            .assume_utc()
            .unix_timestamp(),
    )
}

/// asctime of `t` (UTC), for a `From ` line.
pub fn format_ctime(t: i64) -> String {
    let dt =
        time::OffsetDateTime::from_unix_timestamp(t).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let fmt = time::macros::format_description!(
        "[weekday repr:short] [month repr:short] [day padding:space] [hour]:[minute]:[second] [year]"
    );
    dt.format(&fmt).unwrap_or_default()
}

/// One message as an mbox entry: the `From ` line, the header with `Status`,
/// `X-Status` and `X-Keywords` added, `From ` lines of the body quoted (mboxo, or
/// mboxrd with `rd`), LF line ends, and the blank separator line.
pub fn write_entry(
    sender: &str,
    date: i64,
    f: u32,
    keywords: &[&str],
    message: &[u8],
    rd: bool,
) -> Vec<u8> {
    let sender = if sender.is_empty() || sender.contains(char::is_whitespace) {
        "MAILER-DAEMON"
    } else {
        sender
    };
    let mut out = Vec::with_capacity(message.len() + 200);
    out.extend_from_slice(format!("From {sender} {}\n", format_ctime(date)).as_bytes());
    let mut in_header = true;
    for line in message.split_inclusive(|&b| b == b'\n') {
        let content = trim_eol(line);
        if in_header && content.is_empty() {
            in_header = false;
            let mut status = String::from("O");
            if f & flags::SEEN != 0 {
                status.insert(0, 'R');
            }
            out.extend_from_slice(format!("Status: {status}\n").as_bytes());
            let mut x = String::new();
            for (bit, c) in [
                (flags::ANSWERED, 'A'),
                (flags::FLAGGED, 'F'),
                (flags::DRAFT, 'T'),
                (flags::DELETED, 'D'),
            ] {
                if f & bit != 0 {
                    x.push(c);
                }
            }
            if !x.is_empty() {
                out.extend_from_slice(format!("X-Status: {x}\n").as_bytes());
            }
            if !keywords.is_empty() {
                out.extend_from_slice(format!("X-Keywords: {}\n", keywords.join(" ")).as_bytes());
            }
            out.push(b'\n');
            continue;
        }
        if !in_header && needs_quote(content, rd) {
            out.push(b'>');
        }
        out.extend_from_slice(content);
        out.push(b'\n');
    }
    if in_header {
        out.push(b'\n');
    }
    out.push(b'\n');
    out
}

/// `data` with bare LF line ends made CRLF (Maildir files are usually LF).
pub fn to_crlf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 30);
    let mut prev = 0u8;
    for &b in data {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    out
}

/// `data` with CRLF line ends made LF (for files mail programs read).
pub fn to_lf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i] == b'\r' && data.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        out.push(data[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MBOX: &str = "From alice@example.org Mon Jan  2 15:04:05 2006\n\
Subject: one\nStatus: RO\nX-Status: AF\nX-Keywords: Work $Label1\n\nhello\n>From the start\n>>From deeper\n\n\
From bob@example.org Tue Feb  3 10:00:00 2009\nSubject: two\nX-Mozilla-Status: 0005\nContent-Length: 4\n\nbye\n";

    #[test]
    fn splits_and_reads_flags() {
        let m = split(MBOX.as_bytes(), true);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].sender, "alice@example.org");
        assert_eq!(m[0].date, Some(1_136_214_245));
        assert_eq!(
            String::from_utf8_lossy(&m[0].message),
            "Subject: one\r\n\r\nhello\r\nFrom the start\r\n>From deeper\r\n"
        );
        assert_eq!(m[0].flags, flags::SEEN | flags::ANSWERED | flags::FLAGGED);
        assert_eq!(
            m[0].keywords,
            vec!["Work".to_string(), "$Label1".to_string()]
        );
        assert_eq!(
            String::from_utf8_lossy(&m[1].message),
            "Subject: two\r\n\r\nbye\r\n"
        );
        assert_eq!(m[1].flags, flags::SEEN | flags::FLAGGED);
    }

    #[test]
    fn write_then_read_is_identity() {
        let msg = b"Subject: x\r\nFrom: a@b\r\n\r\nFrom here\r\n>From there\r\nend\r\n";
        let entry = write_entry(
            "a@b",
            1_136_214_245,
            flags::SEEN | flags::DRAFT,
            &["Work"],
            msg,
            true,
        );
        let mut file = entry.clone();
        file.extend_from_slice(&entry);
        let back = split(&file, true);
        assert_eq!(back.len(), 2);
        for m in back {
            assert_eq!(m.message, msg.to_vec());
            assert_eq!(m.flags, flags::SEEN | flags::DRAFT);
            assert_eq!(m.keywords, vec!["Work".to_string()]);
            assert_eq!(m.date, Some(1_136_214_245));
        }
    }

    #[test]
    fn line_ends() {
        assert_eq!(to_crlf(b"a\nb\r\nc"), b"a\r\nb\r\nc");
        assert_eq!(to_lf(b"a\r\nb\nc\r"), b"a\nb\nc\r");
        assert!(split(b"garbage\nno from line\n", false).is_empty());
        // mboxo: only `>From ` is a quoted line.
        let m = split(
            b"From a Mon Jan  2 15:04:05 2006\nS: x\n\n>From a\n>>From b\n",
            false,
        );
        assert_eq!(
            String::from_utf8_lossy(&m[0].message),
            "S: x\r\n\r\nFrom a\r\n>>From b\r\n"
        );
        let e = write_entry("a", 0, 0, &[], b"S: x\r\n\r\nFrom a\r\n>From b\r\n", false);
        assert!(String::from_utf8_lossy(&e).contains("\n>From a\n>From b\n"));
    }
}
