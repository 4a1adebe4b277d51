//! A small, strict SMTP server for the client tests. It can demand STARTTLS before
//! MAIL, demand AUTH (PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER checked against
//! fixed credentials), answer chosen recipients with chosen replies, greet with any
//! line or not at all, speak implicit TLS, and records the command lines of every
//! read so tests can see pipelining.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use pillarbox_net::BoxedStream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::TestCert;

/// How the server behaves.
#[derive(Clone)]
pub struct Script {
    /// The greeting line; `None` never says anything.
    pub greeting: Option<String>,
    pub implicit_tls: bool,
    pub offer_starttls: bool,
    pub require_tls: bool,
    /// SASL mechanisms offered (empty: no AUTH).
    pub auth: Vec<&'static str>,
    pub require_auth: bool,
    pub user: String,
    pub password: String,
    pub token: String,
    pub pipelining: bool,
    /// More EHLO keywords (`SIZE 1000`, `DSN`, `SMTPUTF8`, `8BITMIME`).
    pub extensions: Vec<String>,
    /// Replaces the EHLO reply (e.g. `502 5.5.1 no EHLO` to force HELO).
    pub ehlo_reply: Option<String>,
    /// Reply for MAIL.
    pub mail_reply: Option<String>,
    /// Replies for chosen recipients (lowercase address → reply line).
    pub rcpt_replies: HashMap<String, String>,
}

impl Default for Script {
    fn default() -> Self {
        Script {
            greeting: Some("220 test.example ESMTP".into()),
            implicit_tls: false,
            offer_starttls: false,
            require_tls: false,
            auth: Vec::new(),
            require_auth: false,
            user: "alice".into(),
            password: "s3cret".into(),
            token: "ya29.token".into(),
            pipelining: true,
            extensions: Vec::new(),
            ehlo_reply: None,
            mail_reply: None,
            rcpt_replies: HashMap::new(),
        }
    }
}

/// A message as received (dot-unstuffed).
#[derive(Debug, Clone)]
pub struct Received {
    pub mail: String,
    pub rcpts: Vec<String>,
    pub data: Vec<u8>,
    pub tls: bool,
}

/// What the server saw.
#[derive(Debug, Default)]
pub struct Record {
    pub connections: usize,
    /// Command lines per read, in order.
    pub reads: Vec<Vec<String>>,
    pub commands: Vec<String>,
    pub messages: Vec<Received>,
    pub authenticated: Vec<String>,
}

pub struct SmtpServer {
    pub addr: SocketAddr,
    pub record: Arc<Mutex<Record>>,
    pub cert: Arc<TestCert>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpServer {
    pub async fn start(script: Script) -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let record = Arc::new(Mutex::new(Record::default()));
        let cert = Arc::new(TestCert::new());
        let (r, c) = (record.clone(), cert.clone());
        let task = tokio::spawn(async move {
            let mut sessions = tokio::task::JoinSet::new();
            while let Ok((socket, _)) = listener.accept().await {
                r.lock().unwrap().connections += 1;
                let session = Session {
                    script: script.clone(),
                    record: r.clone(),
                    cert: c.clone(),
                    tls: false,
                    authenticated: false,
                };
                sessions.spawn(session.run(Box::new(socket)));
            }
        });
        SmtpServer {
            addr,
            record,
            cert,
            task,
        }
    }

    pub fn commands(&self) -> Vec<String> {
        self.record.lock().unwrap().commands.clone()
    }

    pub fn messages(&self) -> Vec<Received> {
        self.record.lock().unwrap().messages.clone()
    }
}

struct Session {
    script: Script,
    record: Arc<Mutex<Record>>,
    cert: Arc<TestCert>,
    tls: bool,
    authenticated: bool,
}

/// The connection plus a read buffer; reads record their command lines.
struct Io {
    stream: BoxedStream,
    buf: Vec<u8>,
}

impl Io {
    async fn line(&mut self, record: &Mutex<Record>) -> Option<String> {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=i).collect();
                let line = String::from_utf8_lossy(&line).trim_end().to_string();
                return Some(line);
            }
            let mut chunk = vec![0u8; 65536];
            let n = self.stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            let text = String::from_utf8_lossy(&chunk[..n]).to_string();
            let lines = text.lines().map(str::to_string).collect();
            record.lock().unwrap().reads.push(lines);
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    async fn send(&mut self, text: &str) -> Option<()> {
        self.stream.write_all(text.as_bytes()).await.ok()?;
        self.stream.write_all(b"\r\n").await.ok()?;
        self.stream.flush().await.ok()
    }
}

impl Session {
    async fn run(mut self, socket: BoxedStream) {
        let stream: BoxedStream = if self.script.implicit_tls {
            match self.cert.acceptor.accept(socket).await {
                Ok(s) => {
                    self.tls = true;
                    Box::new(s)
                }
                Err(_) => return,
            }
        } else {
            socket
        };
        let mut io = Io {
            stream,
            buf: Vec::new(),
        };
        let Some(greeting) = self.script.greeting.clone() else {
            // Say nothing; wait for the client to give up.
            let mut sink = Vec::new();
            let _ = io.stream.read_to_end(&mut sink).await;
            return;
        };
        if io.send(&greeting).await.is_none() || !greeting.starts_with("220") {
            return;
        }
        let _ = self.commands(&mut io).await;
    }

    async fn commands(&mut self, io: &mut Io) -> Option<()> {
        let mut mail: Option<String> = None;
        let mut rcpts: Vec<String> = Vec::new();
        loop {
            let line = io.line(&self.record).await?;
            self.record.lock().unwrap().commands.push(line.clone());
            let upper = line.to_ascii_uppercase();
            let verb = upper.split(' ').next().unwrap_or("").to_string();
            match verb.as_str() {
                "EHLO" => {
                    let reply = self.ehlo_reply();
                    io.send(&reply).await?;
                }
                "HELO" => io.send("250 test.example").await?,
                "STARTTLS" if self.script.offer_starttls && !self.tls => {
                    io.send("220 2.0.0 go ahead").await?;
                    let plain = std::mem::replace(&mut io.stream, Box::new(tokio::io::duplex(1).0));
                    let tls = self.cert.acceptor.accept(plain).await.ok()?;
                    io.stream = Box::new(tls);
                    io.buf.clear();
                    self.tls = true;
                }
                "AUTH" if !self.script.auth.is_empty() => {
                    let ok = self.auth(io, &line).await?;
                    if ok {
                        self.authenticated = true;
                        io.send("235 2.7.0 Authentication successful").await?;
                    } else {
                        io.send("535 5.7.8 Authentication credentials invalid")
                            .await?;
                    }
                }
                "MAIL" => {
                    if self.script.require_tls && !self.tls {
                        io.send("530 5.7.0 Must issue a STARTTLS command first")
                            .await?;
                    } else if self.script.require_auth && !self.authenticated {
                        io.send("530 5.7.0 Authentication required").await?;
                    } else if let Some(r) = &self.script.mail_reply {
                        io.send(r).await?;
                    } else {
                        mail = Some(line.clone());
                        io.send("250 2.1.0 Ok").await?;
                    }
                }
                "RCPT" => {
                    let addr = line
                        .split('<')
                        .nth(1)
                        .and_then(|s| s.split('>').next())
                        .unwrap_or("")
                        .to_ascii_lowercase();
                    if mail.is_none() {
                        io.send("503 5.5.1 Error: need MAIL command").await?;
                    } else if let Some(r) = self.script.rcpt_replies.get(&addr) {
                        let r = r.clone();
                        io.send(&r).await?;
                        if r.starts_with("421") {
                            return None;
                        }
                    } else {
                        rcpts.push(line.clone());
                        io.send("250 2.1.5 Ok").await?;
                    }
                }
                "DATA" => {
                    if mail.is_none() || rcpts.is_empty() {
                        io.send("554 5.5.1 Error: no valid recipients").await?;
                        continue;
                    }
                    io.send("354 End data with <CR><LF>.<CR><LF>").await?;
                    let data = self.data(io).await?;
                    self.record.lock().unwrap().messages.push(Received {
                        mail: mail.take().unwrap_or_default(),
                        rcpts: std::mem::take(&mut rcpts),
                        data,
                        tls: self.tls,
                    });
                    io.send("250 2.0.0 Ok: queued as 1234").await?;
                }
                "RSET" => {
                    mail = None;
                    rcpts.clear();
                    io.send("250 2.0.0 Ok").await?;
                }
                "NOOP" => io.send("250 2.0.0 Ok").await?,
                "QUIT" => {
                    io.send("221 2.0.0 Bye").await?;
                    return Some(());
                }
                _ => io.send("502 5.5.2 Error: command not recognized").await?,
            }
        }
    }

    fn ehlo_reply(&self) -> String {
        if let Some(r) = &self.script.ehlo_reply {
            return r.clone();
        }
        let mut lines = vec!["test.example".to_string()];
        if self.script.pipelining {
            lines.push("PIPELINING".into());
        }
        if self.script.offer_starttls && !self.tls {
            lines.push("STARTTLS".into());
        }
        if !self.script.auth.is_empty() {
            lines.push(format!("AUTH {}", self.script.auth.join(" ")));
        }
        lines.extend(self.script.extensions.iter().cloned());
        lines.push("ENHANCEDSTATUSCODES".into());
        let n = lines.len();
        lines
            .iter()
            .enumerate()
            .map(|(i, l)| format!("250{}{l}", if i + 1 == n { ' ' } else { '-' }))
            .collect::<Vec<_>>()
            .join("\r\n")
    }

    /// Reads the body up to the final dot and undoes dot-stuffing.
    async fn data(&self, io: &mut Io) -> Option<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line = io.line(&self.record).await?;
            if line == "." {
                return Some(body);
            }
            let line = line.strip_prefix('.').unwrap_or(&line);
            body.extend_from_slice(line.as_bytes());
            body.extend_from_slice(b"\r\n");
        }
    }

    /// Runs one AUTH exchange; `Some(true)` when the credentials are right.
    async fn auth(&self, io: &mut Io, line: &str) -> Option<bool> {
        let mut parts = line.split(' ');
        parts.next();
        let mech = parts.next().unwrap_or("").to_ascii_uppercase();
        let initial = parts.next().map(str::to_string);
        if !self.script.auth.iter().any(|m| *m == mech) {
            io.send("504 5.5.4 Unrecognized authentication type")
                .await?;
            return Some(false);
        }
        let decode = |s: &str| B64.decode(s.trim()).unwrap_or_default();
        let s = &self.script;
        let ok = match mech.as_str() {
            "PLAIN" => {
                let resp = match initial {
                    Some(i) if i == "=" => Vec::new(),
                    Some(i) => decode(&i),
                    None => {
                        io.send("334 ").await?;
                        decode(&io.line(&self.record).await?)
                    }
                };
                resp == format!("\0{}\0{}", s.user, s.password).into_bytes()
            }
            "LOGIN" => {
                io.send("334 VXNlcm5hbWU6").await?;
                let user = decode(&io.line(&self.record).await?);
                io.send("334 UGFzc3dvcmQ6").await?;
                let pass = decode(&io.line(&self.record).await?);
                user == s.user.as_bytes() && pass == s.password.as_bytes()
            }
            "CRAM-MD5" => {
                let challenge = "<1896.697170952@test.example>";
                io.send(&format!("334 {}", B64.encode(challenge))).await?;
                let resp = decode(&io.line(&self.record).await?);
                let expected =
                    pillarbox_client::sasl::cram_md5(&s.user, &s.password, challenge.as_bytes());
                resp == expected
            }
            "XOAUTH2" => {
                let resp = decode(&initial.unwrap_or_default());
                let ok = resp
                    == format!("user={}\x01auth=Bearer {}\x01\x01", s.user, s.token).into_bytes();
                if !ok {
                    let json =
                        r#"{"status":"401","schemes":"Bearer","scope":"https://mail.google.com/"}"#;
                    io.send(&format!("334 {}", B64.encode(json))).await?;
                    let empty = io.line(&self.record).await?;
                    assert_eq!(empty, "", "XOAUTH2 error continuation is an empty line");
                }
                ok
            }
            "OAUTHBEARER" => {
                let resp =
                    String::from_utf8(decode(&initial.unwrap_or_default())).unwrap_or_default();
                let ok = resp.starts_with(&format!("n,a={},\x01", s.user))
                    && resp.contains("\x01host=localhost\x01")
                    && resp.ends_with(&format!("\x01auth=Bearer {}\x01\x01", s.token));
                if !ok {
                    let json = r#"{"status":"invalid_token"}"#;
                    io.send(&format!("334 {}", B64.encode(json))).await?;
                    let dummy = io.line(&self.record).await?;
                    assert_eq!(dummy, "AQ==", "RFC 7628 §3.2.3 dummy response");
                }
                ok
            }
            _ => false,
        };
        if ok {
            self.record.lock().unwrap().authenticated.push(mech);
        }
        Some(ok)
    }
}
