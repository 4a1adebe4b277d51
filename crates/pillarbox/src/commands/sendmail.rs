//! `pillarbox sendmail` (also when the binary is invoked as `sendmail`): reads a message
//! from standard input and submits it through the delivery pipeline, as applications
//! that shell out to sendmail expect. Supported flags: `-t` (recipients from To/Cc/Bcc,
//! Bcc removed), `-i`/`-oi` (a lone `.` does not end the input), `-f`/`-r sender`,
//! `-F name`; other sendmail flags (`-odi`, `-oem`, `-bm`, `-v`, ...) are accepted and
//! ignored. Exit codes follow sysexits (67 unknown user, 75 temporary failure).

use std::io::Read;

use anyhow::{Context, Result, anyhow, bail};
use pillarbox_config::Config;
use pillarbox_delivery::{DeliveryPipeline, Envelope, Recipient, RecipientOutcome};
use pillarbox_directory::Directory;
use pillarbox_store::Role;

/// Parsed sendmail arguments.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SendmailArgs {
    pub from_headers: bool,
    pub ignore_dots: bool,
    pub sender: Option<String>,
    pub full_name: Option<String>,
    pub recipients: Vec<String>,
}

/// Parses sendmail-style arguments (flags may be glued to their values: `-fuser`).
pub fn parse_args(args: &[String]) -> Result<SendmailArgs> {
    let mut a = SendmailArgs::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            a.recipients.extend(args[i..].iter().cloned());
            break;
        }
        let Some(flag) = arg.strip_prefix('-') else {
            a.recipients.push(arg.clone());
            continue;
        };
        let mut value = |rest: &str| -> Result<String> {
            if !rest.is_empty() {
                return Ok(rest.to_string());
            }
            let v = args
                .get(i)
                .cloned()
                .ok_or_else(|| anyhow!("sendmail: -{flag} needs a value"))?;
            i += 1;
            Ok(v)
        };
        match flag.chars().next() {
            Some('t') if flag == "t" => a.from_headers = true,
            Some('i') if flag == "i" => a.ignore_dots = true,
            Some('o') if flag == "oi" => a.ignore_dots = true,
            Some('f') => a.sender = Some(value(&flag[1..])?),
            Some('r') => a.sender = Some(value(&flag[1..])?),
            Some('F') => a.full_name = Some(value(&flag[1..])?),
            // -o options, -b modes, -d, -v, -N, -R, -V, -X: accepted and ignored; the
            // ones that take a separate value are consumed.
            Some('N' | 'R' | 'V' | 'X' | 'B' | 'L' | 'p' | 'q') if flag.len() == 1 => {
                value("")?;
            }
            _ => {}
        }
    }
    Ok(a)
}

/// Reads the message, normalising line endings to CRLF. Without `-i`, a line holding
/// only `.` ends the input.
fn read_message(input: &[u8], ignore_dots: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() + input.len() / 32);
    for line in input.split_inclusive(|&b| b == b'\n') {
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        if !ignore_dots && content == b"." {
            break;
        }
        out.extend_from_slice(content);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Splits the message at the end of its header block.
fn split_header(msg: &[u8]) -> (&[u8], &[u8]) {
    if msg.starts_with(b"\r\n") {
        return (&[], msg);
    }
    match msg.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(i) => (&msg[..i + 2], &msg[i + 2..]),
        None => (msg, b""),
    }
}

/// Header fields as (name, full raw field including continuation lines).
fn fields(header: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for line in header.split_inclusive(|&b| b == b'\n') {
        if (line.starts_with(b" ") || line.starts_with(b"\t")) && !out.is_empty() {
            if let Some(last) = out.last_mut() {
                last.1.extend_from_slice(line);
            }
            continue;
        }
        let name = line
            .iter()
            .position(|&b| b == b':')
            .map(|i| &line[..i])
            .unwrap_or(b"");
        out.push((
            String::from_utf8_lossy(name).trim().to_ascii_lowercase(),
            line.to_vec(),
        ));
    }
    out
}

fn field_value(raw: &[u8]) -> &[u8] {
    raw.iter()
        .position(|&b| b == b':')
        .map(|i| &raw[i + 1..])
        .unwrap_or(b"")
}

pub async fn run(config_path: Option<&std::path::Path>, raw_args: &[String]) -> Result<()> {
    let args = parse_args(raw_args)?;
    let config = super::load_config(config_path)?;
    let mut input = Vec::new();
    std::io::stdin()
        .take(config.smtp.max_message_size.0 + 1)
        .read_to_end(&mut input)
        .context("sendmail: cannot read the message from standard input")?;
    if input.len() as u64 > config.smtp.max_message_size.0 {
        bail!("sendmail: message is larger than smtp.max_message_size");
    }
    let message = read_message(&input, args.ignore_dots);
    submit(&config, &args, &message).await
}

fn local_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "root".to_string())
}

fn qualify(address: &str, host: &str) -> String {
    let a = address.trim().trim_start_matches('<').trim_end_matches('>');
    if a.contains('@') || a.is_empty() {
        a.to_string()
    } else {
        format!("{a}@{host}")
    }
}

async fn submit(config: &Config, args: &SendmailArgs, message: &[u8]) -> Result<()> {
    let host = &config.server.hostname;
    let sender = qualify(&args.sender.clone().unwrap_or_else(local_user), host);
    let (header, body) = split_header(message);
    let mut kept = Vec::with_capacity(header.len());
    let mut recipients: Vec<String> = args.recipients.iter().map(|r| qualify(r, host)).collect();
    let has = |n: &str, f: &[(String, Vec<u8>)]| f.iter().any(|(name, _)| name == n);
    let fields = fields(header);
    for (name, raw) in &fields {
        if args.from_headers && matches!(name.as_str(), "to" | "cc" | "bcc") {
            for a in pillarbox_mime::parse_address_list(field_value(raw)) {
                if let (Some(m), Some(h)) = (a.mailbox.as_deref(), a.host.as_deref())
                    && h != pillarbox_mime::MISSING_DOMAIN
                {
                    recipients.push(format!("{m}@{h}"));
                }
            }
        }
        if args.from_headers && name == "bcc" {
            continue;
        }
        kept.extend_from_slice(raw);
    }
    recipients.dedup();
    if recipients.is_empty() {
        bail!("sendmail: no recipients (give addresses or use -t)");
    }
    let id = format!("{:016x}", rand_id());
    let date = rfc5322_now();
    let mut full = format!(
        "Received: by {host} (Pillarbox sendmail) id {id}\r\n\t(from {user});\r\n\t{date}\r\n",
        user = local_user()
    )
    .into_bytes();
    if !has("from", &fields) {
        let name = args
            .full_name
            .as_deref()
            .map(|n| format!("{n} "))
            .unwrap_or_default();
        full.extend_from_slice(format!("From: {name}<{sender}>\r\n").as_bytes());
    }
    if !has("date", &fields) {
        full.extend_from_slice(format!("Date: {date}\r\n").as_bytes());
    }
    if !has("message-id", &fields) {
        full.extend_from_slice(
            format!("Message-ID: <{id}.{:08x}@{host}>\r\n", rand_id() as u32).as_bytes(),
        );
    }
    full.extend_from_slice(&kept);
    full.extend_from_slice(body);

    let store = super::open_store(config, Role::Tool)
        .with_context(|| format!("sendmail: cannot open {}", config.server.data_dir.display()))?;
    let directory = super::with_srs(
        Directory::new(store.clone(), config.network.lan.clone(), &config.auth),
        config,
    )
    .await?;
    let pipeline = DeliveryPipeline::new(directory)
        .with_unsigned_on_key_error(
            config.dkim.on_key_error == pillarbox_config::OnKeyError::SendUnsigned,
        )
        .with_hostname(&config.server.hostname)
        .with_sieve(config.sieve.enabled, config.sieve.server_scripts_refresh.0)
        .with_spam_policy(crate::scanning::spam_policy(config));
    let blob = store.blobs().put(full.clone()).await?;
    let envelope = Envelope {
        sender: sender.clone(),
        recipients: recipients.iter().map(|r| Recipient::plain(r)).collect(),
        source: format!("sendmail {}", local_user()),
        enforce_quota: true,
        sign: true,
        ..Default::default()
    };
    let outcomes = pipeline
        .deliver(blob, &full, &envelope)
        .await
        .map_err(|e| SendmailError {
            code: 75,
            message: format!("sendmail: temporary failure, message not sent: {e}"),
        })?;
    let mut failed = Vec::new();
    for (r, o) in recipients.iter().zip(&outcomes) {
        match o {
            RecipientOutcome::Unknown => failed.push(format!("{r}: no such user")),
            RecipientOutcome::OverQuota => failed.push(format!("{r}: mailbox full")),
            RecipientOutcome::Rejected(reason) => failed.push(format!("{r}: refused: {reason}")),
            _ => {}
        }
    }
    if !failed.is_empty() {
        return Err(SendmailError {
            code: 67,
            message: format!("sendmail: {}", failed.join("; ")),
        }
        .into());
    }
    Ok(())
}

/// A failure with the sysexits code sendmail callers expect.
#[derive(Debug)]
pub struct SendmailError {
    pub code: u8,
    pub message: String,
}

impl std::fmt::Display for SendmailError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SendmailError {}

fn rand_id() -> u64 {
    rand::random()
}

fn rfc5322_now() -> String {
    let now = time::OffsetDateTime::now_utc();
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day padding:none] [month repr:short] [year] [hour]:[minute]:[second] +0000"
    );
    now.format(&fmt).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn sendmail_flags() {
        let a = parse_args(&s(&[
            "-t",
            "-oi",
            "-fapp@example.test",
            "-F",
            "The App",
            "x@y",
        ]))
        .unwrap();
        assert!(a.from_headers && a.ignore_dots);
        assert_eq!(a.sender.as_deref(), Some("app@example.test"));
        assert_eq!(a.full_name.as_deref(), Some("The App"));
        assert_eq!(a.recipients, vec!["x@y"]);
        let a = parse_args(&s(&["-odi", "-oem", "-f", "a@b", "--", "-odd@x"])).unwrap();
        assert_eq!(a.sender.as_deref(), Some("a@b"));
        assert_eq!(a.recipients, vec!["-odd@x"]);
    }

    #[test]
    fn dot_line_and_line_endings() {
        assert_eq!(read_message(b"a\nb\n.\nc\n", false), b"a\r\nb\r\n");
        assert_eq!(read_message(b"a\r\n.\nc", true), b"a\r\n.\r\nc\r\n");
    }
}
