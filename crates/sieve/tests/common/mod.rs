//! Helpers shared by the table-driven tests: a host backed by maps, a fixed input,
//! and a one-line summary of each action so tables stay readable.

#![allow(dead_code)]

use std::collections::{HashMap, HashSet};

use pillarbox_sieve::{
    Action, Host, IncludeLocation, Input, Options, Outcome, RuntimeError, compile,
};

pub const MESSAGE: &[u8] =
    b"Received: from mx.example.com by mail.example.org; Tue, 1 Jul 2025 08:25:00 +0000\r\n\
From: Alice Liddell <alice@example.com>\r\n\
To: Bob <bob@example.org>, carol+news@example.net\r\n\
Cc: dave@example.org\r\n\
Subject: Invoice 42 for July\r\n\
Message-ID: <inv42@example.com>\r\n\
Date: Tue, 1 Jul 2025 10:20:30 +0200\r\n\
X-Tag: one\r\n\
X-Tag: two\r\n\
\r\n\
Hello Bob,\r\nplease pay invoice 42.\r\n";

/// A host whose mailboxes, scripts and known duplicates are maps.
#[derive(Default)]
pub struct MapHost {
    pub mailboxes: HashSet<String>,
    pub scripts: HashMap<(IncludeLocation, String), String>,
    pub seen: HashSet<(String, String)>,
}

impl Host for MapHost {
    fn duplicate_seen(&mut self, handle: &str, id: &str) -> bool {
        self.seen.contains(&(handle.to_string(), id.to_string()))
    }
    fn mailbox_exists(&mut self, name: &str) -> bool {
        self.mailboxes.contains(name)
    }
    fn include(&mut self, name: &str, location: IncludeLocation) -> Option<String> {
        self.scripts.get(&(location, name.to_string())).cloned()
    }
}

/// The input every table uses unless it says otherwise: 2025-07-01 12:00:00 UTC,
/// local zone +0100.
pub fn input(message: &[u8]) -> Input<'_> {
    let mut input = Input::new(message, "alice@example.com", "bob@example.org");
    input.now = 1_751_371_200;
    input.zone_offset_minutes = 60;
    input
}

pub fn summary(outcome: &Outcome) -> Vec<String> {
    outcome
        .actions
        .iter()
        .map(|action| match action {
            Action::Keep {
                flags, implicit, ..
            } => format!(
                "{}{}",
                if *implicit { "implicit-keep" } else { "keep" },
                if flags.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", flags.join(" "))
                }
            ),
            Action::FileInto {
                mailbox,
                flags,
                copy,
                create,
                ..
            } => format!(
                "fileinto {mailbox}{}{}{}",
                if *copy { " :copy" } else { "" },
                if *create { " :create" } else { "" },
                if flags.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", flags.join(" "))
                }
            ),
            Action::Redirect { address, copy, .. } => {
                format!("redirect {address}{}", if *copy { " :copy" } else { "" })
            }
            Action::Reject { reason, extended } => {
                format!("{} {reason}", if *extended { "ereject" } else { "reject" })
            }
            Action::Discard => "discard".to_string(),
            Action::Vacation(v) => format!("vacation to {} period {}", v.recipient, v.period),
            Action::Notify(n) => format!("notify {}", n.method),
        })
        .collect()
}

/// Compiles and runs `script`; panics with the compile error when it does not compile.
pub fn run_with(
    script: &str,
    input: &Input<'_>,
    host: &mut MapHost,
) -> Result<Outcome, RuntimeError> {
    let script = compile(script.as_bytes(), &Options::default())
        .unwrap_or_else(|e| panic!("does not compile: {e}\n{script}"));
    script.run(input, host)
}

pub fn run(script: &str) -> Vec<String> {
    match run_with(script, &input(MESSAGE), &mut MapHost::default()) {
        Ok(outcome) => summary(&outcome),
        Err(e) => vec![format!("error: {}", e.message)],
    }
}

/// Runs a table of (script, expected summary) rows and reports every mismatch.
pub fn check_table(section: &str, table: &[(&str, &[&str])]) {
    let mut failures = Vec::new();
    for (script, expected) in table {
        let got = run(script);
        let matches = got.len() == expected.len()
            && got.iter().zip(expected.iter()).all(|(g, e)| {
                if let Some(prefix) = e.strip_prefix("error: ") {
                    g.starts_with("error: ") && g.contains(prefix)
                } else {
                    g == e
                }
            });
        if !matches {
            failures.push(format!(
                "{script}\n  expected {expected:?}\n  got      {got:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{section}:\n{}", failures.join("\n"));
}
