//! Differential test against Dovecot Pigeonhole's `sieve-test` (Debian package
//! `dovecot-sieve`, installed by scripts/test): every case of
//! `tests/cases/differential.txt` runs through both engines over each message it
//! names, and the two action lists, normalised to one form, must be equal.
//!
//! Adding a case is adding a block to that file:
//!
//! ```text
//! === name | message.eml other.eml | from=alice@example.com | to=bob@example.org
//! require "fileinto";
//! fileinto "Billing";
//! ```
//!
//! Fails loudly when `sieve-test` is missing. Scripts included with `include` live in
//! `tests/cases/include/` (`:personal`) and `tests/cases/include/global/`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use pillarbox_sieve::{Action, Host, IncludeLocation, Input, Options, compile};

/// Extensions Pigeonhole 2.3 leaves off by default.
const EXTRA_EXTENSIONS: &str = "+editheader +spamtest +spamtestplus +virustest +vacation-seconds";

struct Case {
    name: String,
    messages: Vec<String>,
    from: String,
    to: String,
    script: String,
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases")
}

fn parse_cases(text: &str) -> Vec<Case> {
    let mut cases: Vec<Case> = Vec::new();
    for line in text.lines() {
        if let Some(header) = line.strip_prefix("=== ") {
            let mut fields = header.split('|').map(str::trim);
            let name = fields.next().unwrap_or_default().to_string();
            let messages = fields
                .next()
                .unwrap_or("invoice.eml")
                .split_whitespace()
                .map(str::to_string)
                .collect();
            let mut case = Case {
                name,
                messages,
                from: "alice@example.com".into(),
                to: "bob@example.org".into(),
                script: String::new(),
            };
            for field in fields {
                match field.split_once('=') {
                    Some(("from", v)) => case.from = v.to_string(),
                    Some(("to", v)) => case.to = v.to_string(),
                    _ => panic!("case {}: unknown field {field:?}", case.name),
                }
            }
            cases.push(case);
        } else if let Some(case) = cases.last_mut() {
            case.script.push_str(line);
            case.script.push('\n');
        }
    }
    cases
}

/// Reads included scripts from the cases directory, as Pigeonhole is configured to.
struct CaseHost;

impl Host for CaseHost {
    fn include(&mut self, name: &str, location: IncludeLocation) -> Option<String> {
        let dir = match location {
            IncludeLocation::Personal => cases_dir().join("include"),
            IncludeLocation::Global => cases_dir().join("include/global"),
        };
        fs::read_to_string(dir.join(format!("{name}.sieve"))).ok()
    }
}

fn flags_suffix(flags: &[String]) -> String {
    let mut flags: Vec<String> = flags.iter().map(|f| f.to_ascii_lowercase()).collect();
    flags.sort();
    if flags.is_empty() {
        String::new()
    } else {
        format!(" flags={}", flags.join(","))
    }
}

/// Our engine's actions in the common form.
fn ours(case: &Case, message: &[u8]) -> Vec<String> {
    let script = match compile(case.script.as_bytes(), &Options::default()) {
        Ok(script) => script,
        Err(_) => return vec!["error".into()],
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let mut input = Input::new(message, &case.from, &case.to);
    input.now = now;
    input.environment = vec![
        ("name".into(), "Pigeonhole Sieve".into()),
        ("location".into(), "MS".into()),
        ("phase".into(), "post".into()),
    ];
    let outcome = match script.run(&input, &mut CaseHost) {
        Ok(outcome) => outcome,
        // A run-time error ends in the implicit keep, as a compile error does.
        Err(_) => return vec!["error".into()],
    };
    let mut out = Vec::new();
    for action in &outcome.actions {
        out.push(match action {
            Action::Keep {
                flags,
                implicit: true,
                ..
            } => format!("implicit-keep{}", flags_suffix(flags)),
            Action::Keep { flags, .. } => format!("store INBOX{}", flags_suffix(flags)),
            Action::FileInto { mailbox, flags, .. } => {
                format!("store {mailbox}{}", flags_suffix(flags))
            }
            Action::Redirect { address, .. } => format!("redirect {address}"),
            Action::Reject { .. } => "reject".into(),
            Action::Discard => "discard".into(),
            Action::Vacation(v) => {
                // sieve-test prints the handle on one line: compare its first line.
                let handle = v.handle.lines().next().unwrap_or_default();
                let mut line = format!("vacation seconds={} handle={handle}", v.period);
                if v.subject_given {
                    line.push_str(&format!(" subject={}", v.subject));
                }
                line
            }
            Action::Notify(n) => format!(
                "notify importance={} to={}",
                n.importance,
                n.recipients.join(",")
            ),
        });
    }
    if !outcome.duplicates.is_empty() {
        out.push("track-duplicate".into());
    }
    out.sort();
    out
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Pigeonhole's actions in the common form.
fn pigeonhole(work: &Path, script: &Path, message: &Path, case: &Case) -> Vec<String> {
    let mut command = Command::new("sieve-test");
    command.env("TZ", "UTC").args(["-c", "/dev/null"]);
    if is_root() {
        command.args(["-o", "mail_uid=nobody", "-o", "mail_gid=nogroup"]);
    }
    let include = work.join("include");
    command
        .arg("-o")
        .arg(format!("plugin/sieve=file:{}", include.display()))
        .arg("-o")
        .arg(format!(
            "plugin/sieve_global={}",
            include.join("global").display()
        ))
        .args(["-x", EXTRA_EXTENSIONS])
        .arg("-l")
        .arg(format!("maildir:{}", work.join("mail").display()))
        .args(["-f", &case.from, "-r", &case.to])
        .arg(script)
        .arg(message);
    let output = command.output().expect(
        "sieve-test is missing: install the Debian package dovecot-sieve (scripts/test does)",
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if text.contains("failed to compile sieve script") {
        return vec!["error".into()];
    }
    assert!(
        text.contains("final result:"),
        "sieve-test gave no result for case {} (is the work directory writable by its user?):\n{text}",
        case.name
    );
    let mut out: Vec<String> = Vec::new();
    if text.contains("final result: failed") {
        return vec!["error".into()];
    }
    let mut implicit = false;
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let line = line.trim();
        if line == "Implicit keep:" {
            implicit = true;
            continue;
        }
        let mut entry = if let Some(folder) = line.strip_prefix("* store message in folder: ") {
            if implicit {
                "implicit-keep".to_string()
            } else {
                format!("store {folder}")
            }
        } else if let Some(to) = line.strip_prefix("* redirect message to: ") {
            format!(
                "redirect {}",
                to.trim_start_matches('<').trim_end_matches('>')
            )
        } else if line.starts_with("* reject message") {
            "reject".into()
        } else if line == "* discard" {
            "discard".into()
        } else if line == "* track duplicate" {
            "track-duplicate".into()
        } else if line.starts_with("* send vacation message") {
            let (mut seconds, mut handle, mut subject) = (String::new(), String::new(), None);
            while let Some(next) = lines.peek().map(|l| l.trim()) {
                if let Some(v) = next.strip_prefix("=> seconds : ") {
                    seconds = v.to_string();
                } else if let Some(v) = next.strip_prefix("=> handle  : ") {
                    handle = v.to_string();
                } else if let Some(v) = next.strip_prefix("=> subject : ") {
                    subject = Some(v.to_string());
                } else if !next.starts_with("=>") {
                    break;
                }
                lines.next();
            }
            let mut entry = format!("vacation seconds={seconds} handle={handle}");
            if let Some(subject) = subject {
                entry.push_str(&format!(" subject={subject}"));
            }
            entry
        } else if line.starts_with("* send notification") {
            let (mut importance, mut to) = (String::new(), Vec::new());
            while let Some(next) = lines.peek().map(|l| l.trim()) {
                if let Some(v) = next.strip_prefix("=> importance   : ") {
                    importance = v.to_string();
                } else if let Some(v) = next.strip_prefix("+ To: ") {
                    to.push(v.to_string());
                } else if !(next.starts_with("=>") || next.starts_with('+')) {
                    break;
                }
                lines.next();
            }
            format!("notify importance={importance} to={}", to.join(","))
        } else {
            continue;
        };
        // Flags follow their store action as "+ add IMAP flags: a b".
        if entry.starts_with("store") || entry.starts_with("implicit-keep") {
            let mut flags = Vec::new();
            while let Some(next) = lines.peek().map(|l| l.trim()) {
                if let Some(v) = next.strip_prefix("+ add IMAP flags: ") {
                    flags.extend(v.split_whitespace().map(str::to_string));
                } else if !next.starts_with('+') {
                    break;
                }
                lines.next();
            }
            entry.push_str(&flags_suffix(&flags));
        }
        out.push(entry);
    }
    out.sort();
    out
}

fn copy_writable(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    fs::set_permissions(to, fs::Permissions::from_mode(0o777)).unwrap();
    for entry in fs::read_dir(from).unwrap().flatten() {
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy_writable(&path, &target);
        } else {
            fs::copy(&path, &target).unwrap();
            fs::set_permissions(&target, fs::Permissions::from_mode(0o666)).unwrap();
        }
    }
}

#[test]
fn pigeonhole_and_pillarbox_agree() {
    let text = fs::read_to_string(cases_dir().join("differential.txt")).unwrap();
    let cases = parse_cases(&text);
    let work = tempfile::tempdir().unwrap();
    fs::set_permissions(work.path(), fs::Permissions::from_mode(0o777)).unwrap();
    copy_writable(&cases_dir().join("include"), &work.path().join("include"));
    let mut runs = 0;
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let script = work.path().join(format!("case{i}.sieve"));
        fs::write(&script, &case.script).unwrap();
        fs::set_permissions(&script, fs::Permissions::from_mode(0o666)).unwrap();
        for message in &case.messages {
            let path = cases_dir().join("messages").join(message);
            let raw = fs::read(&path)
                .unwrap_or_else(|_| panic!("case {}: no message {message}", case.name));
            let theirs = pigeonhole(work.path(), &script, &path, case);
            let mine = ours(case, &raw);
            runs += 1;
            if theirs != mine {
                failures.push(format!(
                    "case {} over {message}:\n  pigeonhole: {theirs:?}\n  pillarbox:  {mine:?}",
                    case.name
                ));
            }
        }
    }
    assert!(
        runs >= 100,
        "only {runs} differential runs; the brief asks for at least 100"
    );
    assert!(
        failures.is_empty(),
        "{} of {runs} runs differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("differential: {runs} runs agree");
}
