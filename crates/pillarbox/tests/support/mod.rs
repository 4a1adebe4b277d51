//! Test support: runs the real `pillarbox` binary with a configuration in a temp
//! directory, on loopback ports chosen by the OS, and learns the ports from its JSON
//! log. The server is killed when the handle drops.
#![allow(dead_code)]

pub mod cluster;
pub mod peers;
#[path = "../../../store/tests/common/postgres.rs"]
pub mod postgres;
pub mod remote;
pub mod scanners;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A self-signed certificate for `cn` in `dir` (`cert.pem`, `key.pem`, made by
/// openssl); returns the certificate's PEM.
pub fn self_signed(dir: &Path, cn: &str) -> String {
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "30",
        ])
        .args(["-subj", &format!("/CN={cn}")])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .output()
        .expect("openssl is installed");
    assert!(
        out.status.success(),
        "openssl req failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(dir.join("cert.pem")).unwrap()
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_pillarbox")
}

/// A running server.
pub struct TestServer {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub child: Child,
    pub ports: HashMap<String, SocketAddr>,
    pub log: mpsc::Receiver<String>,
}

/// The `[listen]` section binding every service on an OS-chosen port on `ip`.
pub fn listen_any(ip: &str) -> String {
    let mut s = String::from("[listen]\n");
    for svc in [
        "smtp",
        "submission",
        "submissions",
        "imap",
        "imaps",
        "pop3",
        "pop3s",
        "http",
        "metrics",
        "managesieve",
    ] {
        s.push_str(&format!("{svc} = [\"{ip}:0\"]\n"));
    }
    s
}

impl TestServer {
    /// Starts a server whose config is `[server]` (data dir in the temp dir) + `extra`.
    /// `extra` must not contain a `[server]` section; `{dir}` in it is replaced by the
    /// temp directory.
    pub fn start(extra: &str) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir, extra)
    }

    pub fn start_in(dir: tempfile::TempDir, extra: &str) -> TestServer {
        let config = dir.path().join("pillarbox.toml");
        let text = format!(
            "[server]\nhostname = \"mx.example.test\"\ndata_dir = \"{}\"\n\n{}\n",
            dir.path().join("data").display(),
            extra.replace("{dir}", &dir.path().display().to_string())
        );
        if !text.contains("[listen]") {
            panic!("test config needs a [listen] section");
        }
        // Alerts that depend on the machine (its free disk space) would mail the
        // postmaster in the middle of tests that count messages; tests of alerts
        // configure [monitor] themselves.
        let text = if text.contains("[monitor]") {
            text
        } else {
            format!("{text}\n[monitor]\nalert_disk_free_percent = 0\n")
        };
        // SPF, DKIM and DMARC would ask the machine's resolver (no Internet here) about
        // every test domain; tests of the checks configure [mail_auth] themselves.
        let text = if text.contains("[mail_auth]") {
            text
        } else {
            format!("{text}\n[mail_auth]\nenabled = false\n")
        };
        std::fs::write(&config, text).unwrap();
        let mut child = Command::new(bin())
            .args([
                "--config",
                config.to_str().unwrap(),
                "serve",
                "--log-format",
                "json",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut ports = HashMap::new();
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("server did not start; ports so far {ports:?}"));
            let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            let fields = &v["fields"];
            match fields["message"].as_str() {
                Some("listening") => {
                    let svc = fields["service"].as_str().unwrap().to_string();
                    let addr = fields["address"].as_str().unwrap().parse().unwrap();
                    ports.insert(svc, addr);
                }
                Some("Pillarbox is running") => break,
                _ => {}
            }
            if v["level"] == "ERROR" {
                panic!("server error at start: {line}");
            }
        }
        TestServer {
            dir,
            config,
            child,
            ports,
            log: rx,
        }
    }

    pub fn addr(&self, service: &str) -> SocketAddr {
        self.ports[service]
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs a CLI command against this server's configuration.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> std::process::Output {
        cli(&self.config, args, stdin)
    }

    /// Waits for a log line containing `needle` (JSON text).
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> Option<String> {
        let deadline = std::time::Instant::now() + timeout;
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match self.log.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return Some(line),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
        None
    }

    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// SIGTERM and wait: a clean stop (no unclean-restart alert on the next start).
    pub fn stop(mut self) -> tempfile::TempDir {
        self.signal("TERM");
        let _ = self.child.wait();
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }

    /// SIGKILL and wait.
    pub fn kill9(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the CLI with `--config config`.
pub fn cli(config: &Path, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut cmd = Command::new(bin());
    cmd.arg("--config").arg(config).args(args);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

/// Asserts success and returns stdout.
pub fn ok(out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "command failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Asserts failure with exactly one line on stderr and returns it.
pub fn fails(out: std::process::Output) -> String {
    assert!(
        !out.status.success(),
        "expected failure, got: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "one clear line: {err:?}");
    err.trim_end().to_string()
}

/// Runs a Python 3 script (written to a temp file) with `args`; returns its output.
pub fn python(script: &str, args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("script.py");
    std::fs::write(&path, script).unwrap();
    Command::new("python3")
        .arg(&path)
        .args(args)
        .output()
        .unwrap()
}

/// Like [`python`], asserting success; returns stdout.
pub fn python_ok(script: &str, args: &[&str]) -> String {
    let out = python(script, args);
    assert!(
        out.status.success(),
        "python failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The messages in `address`'s INBOX, read through the store (as a tool would).
pub fn inbox(data_dir: &Path, address: &str) -> Vec<Vec<u8>> {
    mailbox(data_dir, address, "INBOX")
}

/// The messages in one of `address`'s mailboxes, read through the store.
pub fn mailbox(data_dir: &Path, address: &str, name: &str) -> Vec<Vec<u8>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = pillarbox_store::Store::open(data_dir, pillarbox_store::Role::Tool).unwrap();
        let account = store
            .account_get(address)
            .await
            .unwrap()
            .expect("account exists");
        let mb = store.mailbox_get(account.id, name).await.unwrap().unwrap();
        let entries = store.entries(mb.id).await.unwrap();
        let data = store
            .messages(entries.iter().map(|e| e.message).collect())
            .await
            .unwrap();
        let mut out = Vec::new();
        for d in data {
            out.push(store.blobs().read(&d.blob).await.unwrap());
        }
        out
    })
}

/// Waits (up to 15 s) until the event log has an event of type `kind` containing
/// `needle`; the matching listing.
pub fn wait_event(s: &TestServer, kind: &str, needle: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let out = s.cli(&["events", "--type", kind], None);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.contains(needle) {
            return text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {kind} event with {needle:?}: {text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Adds `example.test` and accounts `name@example.test` with password `pw`.
pub fn accounts(server: &TestServer, names: &[&str]) {
    ok(server.cli(&["domain", "add", "example.test"], None));
    for n in names {
        ok(server.cli(
            &[
                "account",
                "add",
                &format!("{n}@example.test"),
                "--password-stdin",
            ],
            Some("pw\n"),
        ));
    }
}
