//! One ManageSieve connection (RFC 5804): greeting, commands until LOGOUT, BYE on
//! shutdown, idle time-out or input past its limit. A malformed command gets `NO` and
//! the session goes on.

use std::net::SocketAddr;
use std::sync::Arc;

use base64::Engine as _;
use pillarbox_directory::sasl::{Exchange, Mechanism, Step};
use pillarbox_directory::{Credentials, Service};
use pillarbox_net::{BoxedStream, Connection, TlsInfo};
use pillarbox_store::{Account, StoreError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use crate::Inner;
use crate::proto::{self, Arg, Command, ParseError, write_response, write_string};

/// Longest command line outside literals.
const MAX_LINE: usize = 8192;

pub(crate) struct Session {
    svc: Arc<Inner>,
    stream: Option<BoxedStream>,
    peer: SocketAddr,
    tls: Option<TlsInfo>,
    shutdown: CancellationToken,
    buf: Vec<u8>,
    out: Vec<u8>,
    account: Option<Account>,
}

/// What a command leaves the session to do.
enum Next {
    Continue,
    Close,
}

/// Input read for one command.
enum Read {
    Command(Command),
    /// Malformed; already answered.
    Answered,
    Closed,
}

impl Session {
    pub(crate) fn new(svc: Arc<Inner>, conn: Connection) -> Session {
        Session {
            svc,
            stream: Some(conn.stream),
            peer: conn.peer,
            tls: conn.tls,
            shutdown: conn.shutdown,
            buf: Vec::new(),
            out: Vec::new(),
            account: None,
        }
    }

    pub(crate) async fn run(mut self) {
        self.capabilities();
        write_response(
            &mut self.out,
            "OK",
            None,
            Some("Pillarbox ManageSieve ready"),
        );
        loop {
            if self.flush().await.is_err() {
                return;
            }
            let cmd = match self.read_command().await {
                Read::Command(c) => c,
                Read::Answered => continue,
                Read::Closed => break,
            };
            match self.dispatch(cmd).await {
                Next::Continue => {}
                Next::Close => break,
            }
        }
        let _ = self.flush().await;
        if let Some(mut s) = self.stream.take() {
            let _ = s.shutdown().await;
        }
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let Some(s) = self.stream.as_mut() else {
            return Err(std::io::ErrorKind::NotConnected.into());
        };
        s.write_all(&self.out).await?;
        s.flush().await?;
        self.out.clear();
        Ok(())
    }

    /// Reads until one command is complete.
    async fn read_command(&mut self) -> Read {
        let max_literal = self.svc.settings.max_script_size.max(MAX_LINE);
        loop {
            match proto::parse(&self.buf, MAX_LINE, max_literal) {
                Ok((cmd, used)) => {
                    self.buf.drain(..used);
                    return Read::Command(cmd);
                }
                Err(ParseError::Bad { used, why }) => {
                    self.buf.drain(..used.min(self.buf.len()));
                    write_response(&mut self.out, "NO", None, Some(why));
                    return Read::Answered;
                }
                Err(ParseError::TooLarge) => {
                    write_response(
                        &mut self.out,
                        "BYE",
                        Some("QUOTA/MAXSIZE"),
                        Some("Command or script too large"),
                    );
                    return Read::Closed;
                }
                Err(ParseError::Incomplete) => {}
            }
            if !self.fill().await {
                return Read::Closed;
            }
        }
    }

    /// Reads more input; false at end of stream, shutdown or idle time-out (the
    /// client is told why).
    async fn fill(&mut self) -> bool {
        let Some(stream) = self.stream.as_mut() else {
            return false;
        };
        let mut chunk = [0u8; 16 * 1024];
        let idle = self.svc.settings.idle_timeout;
        tokio::select! {
            r = tokio::time::timeout(idle, stream.read(&mut chunk)) => match r {
                Ok(Ok(0)) | Ok(Err(_)) => false,
                Ok(Ok(n)) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    true
                }
                Err(_) => {
                    write_response(&mut self.out, "BYE", None, Some("Idle for too long"));
                    false
                }
            },
            _ = self.shutdown.cancelled() => {
                write_response(&mut self.out, "BYE", Some("TRYLATER"), Some("Server shutting down"));
                false
            }
        }
    }

    fn plaintext_allowed(&self) -> bool {
        self.tls.is_some() || self.svc.settings.trusted.contains(self.peer.ip())
    }

    /// The capability list (RFC 5804 §1.7), without the final OK.
    fn capabilities(&mut self) {
        let mechanisms = if self.account.is_none() && self.plaintext_allowed() {
            Mechanism::ALL.map(|m| m.name()).join(" ")
        } else {
            String::new()
        };
        let starttls = self.tls.is_none() && self.svc.tls.is_some() && self.account.is_none();
        let owner = self.account.as_ref().map(|a| a.address());
        let out = &mut self.out;
        let mut line = |name: &str, value: Option<&str>| {
            write_string(out, name.as_bytes());
            if let Some(v) = value {
                out.push(b' ');
                write_string(out, v.as_bytes());
            }
            out.extend_from_slice(b"\r\n");
        };
        line("IMPLEMENTATION", Some("Pillarbox"));
        let extensions: Vec<&str> = pillarbox_sieve::Extension::ALL
            .iter()
            .map(|e| e.name())
            .collect();
        line("SIEVE", Some(&extensions.join(" ")));
        line("NOTIFY", Some("mailto"));
        line(
            "MAXREDIRECTS",
            Some(&pillarbox_sieve::Limits::default().max_redirects.to_string()),
        );
        line("SASL", Some(&mechanisms));
        if starttls {
            line("STARTTLS", None);
        }
        if let Some(a) = &owner {
            line("OWNER", Some(a));
        }
        line("VERSION", Some("1.0"));
    }

    fn ok(&mut self, text: &str) {
        write_response(&mut self.out, "OK", None, Some(text));
    }

    fn no(&mut self, code: Option<&str>, text: &str) {
        write_response(&mut self.out, "NO", code, Some(text));
    }

    async fn dispatch(&mut self, cmd: Command) -> Next {
        let authed = self.account.is_some();
        match (cmd.name.as_str(), authed) {
            ("CAPABILITY", _) if cmd.args.is_empty() => {
                self.capabilities();
                self.ok("Capability completed");
            }
            ("NOOP", _) => match cmd.args.as_slice() {
                [] => self.ok("Done"),
                [Arg::Str(tag)] => {
                    self.out.extend_from_slice(b"OK (TAG ");
                    write_string(&mut self.out, tag);
                    self.out.extend_from_slice(b") \"Done\"\r\n");
                }
                _ => self.no(None, "NOOP takes at most one string"),
            },
            ("LOGOUT", _) => {
                self.ok("Logout completed");
                return Next::Close;
            }
            ("STARTTLS", false) if cmd.args.is_empty() => return self.starttls().await,
            ("AUTHENTICATE", false) => return self.authenticate(cmd.args).await,
            ("STARTTLS" | "AUTHENTICATE", true) => {
                self.no(None, "Already authenticated");
            }
            ("UNAUTHENTICATE", true) if cmd.args.is_empty() => {
                self.account = None;
                self.ok("Unauthenticate completed");
            }
            (
                "HAVESPACE" | "PUTSCRIPT" | "LISTSCRIPTS" | "SETACTIVE" | "GETSCRIPT"
                | "DELETESCRIPT" | "RENAMESCRIPT" | "CHECKSCRIPT",
                false,
            ) => self.no(None, "Authenticate first"),
            (name, true) => {
                let account = self.account.clone();
                if let Some(a) = account
                    && let Err(e) = self.script_command(&a, name, cmd.args).await
                {
                    tracing::error!(user = %a.address(), error = %e, "ManageSieve command failed");
                    self.no(Some("TRYLATER"), "Temporary server error, try again later");
                }
            }
            _ => self.no(None, "Unknown command or wrong arguments"),
        }
        Next::Continue
    }

    async fn starttls(&mut self) -> Next {
        if self.tls.is_some() {
            self.no(None, "TLS is already active");
            return Next::Continue;
        }
        let Some(tls) = self.svc.tls.clone() else {
            self.no(None, "TLS is not available");
            return Next::Continue;
        };
        self.ok("Begin TLS negotiation now");
        if self.flush().await.is_err() {
            return Next::Close;
        }
        // Whatever the client sent after STARTTLS, before the handshake, is dropped.
        self.buf.clear();
        let Some(stream) = self.stream.take() else {
            return Next::Close;
        };
        let timeout = self.svc.settings.tls_handshake_timeout;
        match tokio::time::timeout(timeout, tls.acceptor().accept(stream)).await {
            Ok(Ok(stream)) => {
                self.tls = Some(TlsInfo::from_common(stream.get_ref().1));
                self.stream = Some(Box::new(stream));
                // RFC 5804 §2.2: the capabilities again, now that TLS is on.
                self.capabilities();
                self.ok("TLS negotiation successful");
                Next::Continue
            }
            Ok(Err(e)) => {
                tracing::info!(error = %e, "ManageSieve STARTTLS handshake failed");
                Next::Close
            }
            Err(_) => Next::Close,
        }
    }

    /// RFC 5804 §2.1.
    async fn authenticate(&mut self, args: Vec<Arg>) -> Next {
        let (mech, initial) = match args.as_slice() {
            [Arg::Str(m)] => (m.clone(), None),
            [Arg::Str(m), Arg::Str(i)] => (m.clone(), Some(i.clone())),
            _ => {
                self.no(
                    None,
                    "AUTHENTICATE takes a mechanism and an optional response",
                );
                return Next::Continue;
            }
        };
        if !self.plaintext_allowed() {
            self.no(Some("ENCRYPT-NEEDED"), "Use STARTTLS first");
            return Next::Continue;
        }
        let Some(mech) = Mechanism::from_name(&String::from_utf8_lossy(&mech)) else {
            self.no(None, "Unsupported SASL mechanism");
            return Next::Continue;
        };
        let b64 = base64::engine::general_purpose::STANDARD;
        let initial = match initial.map(|i| b64.decode(i)) {
            None => None,
            Some(Ok(i)) => Some(i),
            Some(Err(_)) => {
                self.no(None, "The initial response is not base64");
                return Next::Continue;
            }
        };
        let (mut exchange, mut step) = Exchange::start(mech, initial.as_deref());
        let creds: Credentials = loop {
            match step {
                Step::Done(c) => break c,
                Step::Failed(e) => {
                    self.no(None, &format!("Authentication failed: {e}"));
                    return Next::Continue;
                }
                Step::Challenge(ch) => {
                    write_string(&mut self.out, b64.encode(ch).as_bytes());
                    self.out.extend_from_slice(b"\r\n");
                    if self.flush().await.is_err() {
                        return Next::Close;
                    }
                    let Some(answer) = self.read_sasl_response().await else {
                        return Next::Close;
                    };
                    step = match answer {
                        SaslAnswer::Cancel => {
                            self.no(None, "Authentication cancelled");
                            return Next::Continue;
                        }
                        SaslAnswer::Bad => {
                            self.no(None, "The response is not a base64 string");
                            return Next::Continue;
                        }
                        SaslAnswer::Data(d) => exchange.step(&d),
                    };
                }
            }
        };
        match self
            .svc
            .directory
            .authenticate(&creds, Service::Imap, self.peer.ip())
            .await
        {
            Ok(a) => {
                tracing::info!(user = %a.address(), "ManageSieve login");
                self.account = Some(a);
                self.ok("Logged in");
            }
            Err(pillarbox_directory::AuthError::Temporary(_)) => {
                self.no(Some("TRYLATER"), "Temporary server error, try again later")
            }
            Err(e) => self.no(None, &e.to_string()),
        }
        Next::Continue
    }

    /// One client response during SASL: a string (quoted or literal) alone on its
    /// line; `"*"` cancels.
    async fn read_sasl_response(&mut self) -> Option<SaslAnswer> {
        loop {
            // Parsed as the arguments of a command named by a placeholder.
            let mut framed = b"R ".to_vec();
            framed.extend_from_slice(&self.buf);
            match proto::parse(&framed, MAX_LINE, MAX_LINE) {
                Ok((cmd, used)) => {
                    self.buf.drain(..used - 2);
                    return Some(match cmd.args.as_slice() {
                        [Arg::Str(s)] if s == b"*" => SaslAnswer::Cancel,
                        [Arg::Str(s)] => base64::engine::general_purpose::STANDARD
                            .decode(s)
                            .map_or(SaslAnswer::Bad, SaslAnswer::Data),
                        _ => SaslAnswer::Bad,
                    });
                }
                Err(ParseError::Bad { used, .. }) => {
                    self.buf.drain(..used.saturating_sub(2).min(self.buf.len()));
                    return Some(SaslAnswer::Bad);
                }
                Err(ParseError::TooLarge) => return None,
                Err(ParseError::Incomplete) => {}
            }
            if !self.fill().await {
                return None;
            }
        }
    }

    /// The commands of the authenticated state.
    async fn script_command(
        &mut self,
        account: &Account,
        name: &str,
        args: Vec<Arg>,
    ) -> Result<(), StoreError> {
        let store = self.svc.directory.store().clone();
        match (name, args.as_slice()) {
            ("LISTSCRIPTS", []) => {
                for s in store.sieve_list(account.id).await? {
                    write_string(&mut self.out, s.name.as_bytes());
                    if s.active {
                        self.out.extend_from_slice(b" ACTIVE");
                    }
                    self.out.extend_from_slice(b"\r\n");
                }
                self.ok("Listscripts completed");
            }
            ("GETSCRIPT", [Arg::Str(n)]) => {
                let Some(n) = self.script_name(n) else {
                    return Ok(());
                };
                match store.sieve_get(account.id, &n).await? {
                    Some(s) => {
                        self.out
                            .extend_from_slice(format!("{{{}}}\r\n", s.content.len()).as_bytes());
                        self.out.extend_from_slice(s.content.as_bytes());
                        self.out.extend_from_slice(b"\r\n");
                        self.ok("Getscript completed");
                    }
                    None => self.no(Some("NONEXISTENT"), "There is no script by that name"),
                }
            }
            ("CHECKSCRIPT", [Arg::Str(script)]) => {
                if self.check(script) {
                    self.ok("Script is valid");
                }
            }
            ("PUTSCRIPT", [Arg::Str(n), Arg::Str(script)]) => {
                let Some(n) = self.script_name(n) else {
                    return Ok(());
                };
                if !self.has_space(account, &n, script.len() as u64).await? {
                    return Ok(());
                }
                if !self.check(script) {
                    return Ok(());
                }
                let text = String::from_utf8_lossy(script).to_string();
                store.sieve_put(account.id, &n, &text).await?;
                self.ok("Putscript completed");
            }
            ("HAVESPACE", [Arg::Str(n), Arg::Number(size)]) => {
                let Some(n) = self.script_name(n) else {
                    return Ok(());
                };
                if self.has_space(account, &n, *size).await? {
                    self.ok("Putscript would succeed");
                }
            }
            ("SETACTIVE", [Arg::Str(n)]) => {
                let target = if n.is_empty() {
                    None
                } else {
                    match self.script_name(n) {
                        Some(n) => Some(n),
                        None => return Ok(()),
                    }
                };
                match store.sieve_activate(account.id, target.as_deref()).await {
                    Ok(()) => self.ok("Setactive completed"),
                    Err(StoreError::NotFound(_)) => {
                        self.no(Some("NONEXISTENT"), "There is no script by that name")
                    }
                    Err(e) => return Err(e),
                }
            }
            ("DELETESCRIPT", [Arg::Str(n)]) => {
                let Some(n) = self.script_name(n) else {
                    return Ok(());
                };
                match store.sieve_delete(account.id, &n).await {
                    Ok(()) => self.ok("Deletescript completed"),
                    Err(StoreError::NotFound(_)) => {
                        self.no(Some("NONEXISTENT"), "There is no script by that name")
                    }
                    Err(StoreError::Conflict(_)) => {
                        self.no(Some("ACTIVE"), "You may not delete an active script")
                    }
                    Err(e) => return Err(e),
                }
            }
            ("RENAMESCRIPT", [Arg::Str(old), Arg::Str(new)]) => {
                let (Some(old), Some(new)) = (self.script_name(old), self.script_name(new)) else {
                    return Ok(());
                };
                match store.sieve_rename(account.id, &old, &new).await {
                    Ok(()) => self.ok("Renamescript completed"),
                    Err(StoreError::NotFound(_)) => {
                        self.no(Some("NONEXISTENT"), "There is no script by that name")
                    }
                    Err(StoreError::Conflict(_)) => {
                        self.no(Some("ALREADYEXISTS"), "A script with that name exists")
                    }
                    Err(e) => return Err(e),
                }
            }
            _ => self.no(None, "Unknown command or wrong arguments"),
        }
        Ok(())
    }

    /// Whether a script `name` of `size` octets fits the account's quotas (RFC 5804
    /// §2.5); `NO (QUOTA/…)` sent when it does not.
    async fn has_space(
        &mut self,
        account: &Account,
        name: &str,
        size: u64,
    ) -> Result<bool, StoreError> {
        let max_size = self.svc.settings.max_script_size;
        let max_scripts = self.svc.settings.max_scripts;
        if size > max_size as u64 {
            self.no(
                Some("QUOTA/MAXSIZE"),
                &format!("Scripts may be at most {max_size} octets"),
            );
            return Ok(false);
        }
        let list = self.svc.directory.store().sieve_list(account.id).await?;
        if list.len() >= max_scripts && !list.iter().any(|s| s.name == name) {
            self.no(
                Some("QUOTA/MAXSCRIPTS"),
                &format!("An account may keep at most {max_scripts} scripts"),
            );
            return Ok(false);
        }
        Ok(true)
    }

    /// A script name (RFC 5804 §1.6: UTF-8 without control characters, and at most
    /// 128 characters here), or `NO` sent.
    fn script_name(&mut self, raw: &[u8]) -> Option<String> {
        let ok = std::str::from_utf8(raw).ok().filter(|s| {
            !s.is_empty()
                && s.chars().count() <= 128
                && !s
                    .chars()
                    .any(|c| c.is_control() || c == '\u{2028}' || c == '\u{2029}')
        });
        match ok {
            Some(s) => Some(s.to_string()),
            None => {
                self.no(None, "Not a valid script name");
                None
            }
        }
    }

    /// Compiles `script`; on an error sends `NO` with its line and column.
    fn check(&mut self, script: &[u8]) -> bool {
        let options = pillarbox_sieve::Options {
            limits: pillarbox_sieve::Limits {
                max_script_size: self.svc.settings.max_script_size,
                ..Default::default()
            },
            ..Default::default()
        };
        match pillarbox_sieve::compile(script, &options) {
            Ok(_) => true,
            Err(e) => {
                self.no(None, &e.to_string());
                false
            }
        }
    }
}

enum SaslAnswer {
    Cancel,
    Bad,
    Data(Vec<u8>),
}
