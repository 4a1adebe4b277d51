//! The POP3 client session (RFC 1939): dial (proxies, implicit TLS), greeting, STLS
//! by policy (RFC 2595 §4), CAPA (RFC 2449), login by SASL (RFC 5034: PLAIN for
//! passwords, XOAUTH2/OAUTHBEARER for tokens) or USER/PASS, and QUIT. Used now for
//! POP-before-SMTP; collection extends it with STAT/UIDL/RETR/DELE on the same
//! building blocks ([`Pop3Client::command`], [`Pop3Client::read_multiline`]).
//!
//! Never trusts bytes received before a TLS handshake, never waits without a timeout,
//! never logs credentials.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use pillarbox_net::ClientTlsMode;
use pillarbox_net::dial::{self, DialError, DialOptions, DialReport, Target, TlsReport};

use super::error::{Pop3Error, Pop3Stage, conn_error};
use super::reply::{Pop3Capabilities, Response, Status, parse_multiline, parse_status, split_line};
use crate::conn::{Conn, ConnError};
use crate::policy::TlsPolicy;
use crate::sasl::{self, Credentials, Mechanism, SaslClient, Secret, ServerHint};

/// Largest CAPA (or other small multi-line) response read whole.
const MAX_SMALL_MULTILINE: usize = 64 * 1024;
/// Most SASL challenge rounds answered.
const MAX_ROUNDS: usize = 8;

/// How the POP3 client connects.
#[derive(Debug, Clone)]
pub struct Pop3ClientConfig {
    /// Connect timeout, proxy, TLS mode (none / implicit / STLS), verification, SNI.
    pub dial: DialOptions,
    /// STLS behaviour; only consulted when `dial.tls.mode` is STARTTLS.
    pub tls_policy: TlsPolicy,
    /// Time allowed for each server answer.
    pub timeout: Duration,
    /// SASL mechanisms in order of preference; USER/PASS is the fallback for passwords.
    pub mechanisms: Vec<Mechanism>,
}

impl Default for Pop3ClientConfig {
    fn default() -> Self {
        Pop3ClientConfig {
            dial: DialOptions::default(),
            tls_policy: TlsPolicy::Required,
            timeout: Duration::from_secs(60),
            mechanisms: vec![Mechanism::OAuthBearer, Mechanism::XOAuth2, Mechanism::Plain],
        }
    }
}

/// How the session logged in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginMethod {
    Sasl(Mechanism),
    UserPass,
}

impl std::fmt::Display for LoginMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoginMethod::Sasl(m) => write!(f, "AUTH {}", m.name()),
            LoginMethod::UserPass => f.write_str("USER/PASS"),
        }
    }
}

/// What the session learned while connecting and logging in.
#[derive(Debug, Clone)]
pub struct Pop3SessionInfo {
    pub target: Target,
    pub dial: DialReport,
    pub greeting: Response,
    /// From CAPA (after STLS when there was one); `None` until asked, empty when the
    /// server does not know CAPA.
    pub capabilities: Option<Pop3Capabilities>,
    pub tls: Option<TlsReport>,
    /// Why opportunistic STLS was not used, when it was not.
    pub tls_skipped: Option<String>,
    pub login: Option<LoginMethod>,
}

/// A POP3 client connection.
#[derive(Debug)]
pub struct Pop3Client {
    pub(super) conn: Conn,
    pub(super) info: Pop3SessionInfo,
    pub(super) timeout: Duration,
    mechanisms: Vec<Mechanism>,
    /// The TLS/SASL server name (SNI or the target host).
    server_name: String,
    pub(super) broken: bool,
}

impl Pop3Client {
    /// Dials, reads the greeting and starts TLS as configured.
    pub async fn connect(
        target: &Target,
        config: &Pop3ClientConfig,
    ) -> Result<Pop3Client, Pop3Error> {
        let dialed = dial::connect(target, &config.dial).await?;
        Pop3Client::connect_dialed(target, config, dialed).await
    }

    /// [`Pop3Client::connect`] on a connection already dialed (the connection test
    /// dials itself to report each step).
    pub async fn connect_dialed(
        target: &Target,
        config: &Pop3ClientConfig,
        dialed: dial::Dialed,
    ) -> Result<Pop3Client, Pop3Error> {
        let tls = dialed.report.tls.clone();
        let mut client = Pop3Client {
            conn: Conn::new(dialed.stream),
            info: Pop3SessionInfo {
                target: target.clone(),
                dial: dialed.report,
                greeting: Response {
                    status: Status::Ok,
                    code: None,
                    text: String::new(),
                },
                capabilities: None,
                tls,
                tls_skipped: None,
                login: None,
            },
            timeout: config.timeout,
            mechanisms: config.mechanisms.clone(),
            server_name: config.dial.server_name(target).to_string(),
            broken: false,
        };
        let greeting = client.read_status(Pop3Stage::Greeting).await?;
        if !greeting.is_ok() {
            return Err(Pop3Error::Greeting(greeting));
        }
        client.info.greeting = greeting;
        if config.dial.tls.mode == ClientTlsMode::StartTls && config.tls_policy != TlsPolicy::None {
            client.stls(target, config).await?;
        }
        Ok(client)
    }

    pub fn info(&self) -> &Pop3SessionInfo {
        &self.info
    }

    /// POP-before-SMTP: connect, log in, QUIT, and report how it went. The server
    /// then lets this address relay for a while.
    pub async fn login_and_quit(
        target: &Target,
        config: &Pop3ClientConfig,
        credentials: &Credentials,
    ) -> Result<Pop3SessionInfo, Pop3Error> {
        let mut client = Pop3Client::connect(target, config).await?;
        client.login(credentials).await?;
        let info = client.info.clone();
        client.quit().await?;
        Ok(info)
    }

    /// STLS (required) on a client connected without it, for the connection test.
    pub async fn start_tls(
        &mut self,
        target: &Target,
        config: &Pop3ClientConfig,
    ) -> Result<(), Pop3Error> {
        let mut required = config.clone();
        required.tls_policy = TlsPolicy::Required;
        self.stls(target, &required).await
    }

    /// RFC 2595 §4: STLS, the handshake, and a fresh CAPA afterwards.
    async fn stls(&mut self, target: &Target, config: &Pop3ClientConfig) -> Result<(), Pop3Error> {
        let opportunistic = config.tls_policy == TlsPolicy::Opportunistic;
        let caps = self.capabilities().await?.clone();
        // A server without CAPA may still know STLS; only a CAPA without it says no.
        if !caps.stls && !caps.lines.is_empty() {
            if opportunistic {
                self.info.tls_skipped = Some("the server does not offer STLS".into());
                return Ok(());
            }
            return Err(Pop3Error::StlsUnavailable);
        }
        let reply = self.command("STLS", Pop3Stage::Stls).await?;
        if !reply.is_ok() {
            if opportunistic {
                self.info.tls_skipped = Some(format!("STLS refused: {reply}"));
                return Ok(());
            }
            return Err(Pop3Error::StlsUnavailable);
        }
        if !self.conn.buffer().is_empty() {
            self.broken = true;
            return Err(Pop3Error::StlsInjection);
        }
        let name = config.dial.server_name(target);
        match self
            .conn
            .start_tls(name, &config.dial.tls, self.timeout)
            .await
        {
            Ok(report) => self.info.tls = Some(report),
            Err(e) => {
                self.broken = true;
                return Err(match e {
                    DialError::Timeout { after, .. } => Pop3Error::Timeout {
                        stage: Pop3Stage::Stls,
                        after,
                    },
                    e => e.into(),
                });
            }
        }
        self.info.capabilities = None;
        self.capabilities().await?;
        Ok(())
    }

    /// The server's capabilities (RFC 2449 CAPA), asked once and remembered. A server
    /// that answers CAPA with -ERR has none (empty list).
    pub async fn capabilities(&mut self) -> Result<&Pop3Capabilities, Pop3Error> {
        if self.info.capabilities.is_none() {
            let reply = self.command("CAPA", Pop3Stage::Capa).await?;
            let caps = if reply.is_ok() {
                let lines = self
                    .read_multiline(Pop3Stage::Capa, MAX_SMALL_MULTILINE)
                    .await?;
                Pop3Capabilities::parse(&lines)
            } else {
                Pop3Capabilities::default()
            };
            self.info.capabilities = Some(caps);
        }
        Ok(self
            .info
            .capabilities
            .get_or_insert_with(Pop3Capabilities::default))
    }

    /// Logs in: SASL (the first of the configured mechanisms the server lists that
    /// fits the secret) or, for passwords, USER/PASS (RFC 1939 §7).
    pub async fn login(&mut self, credentials: &Credentials) -> Result<(), Pop3Error> {
        if credentials.username.is_empty() {
            return Err(Pop3Error::Config("the POP3 user name is empty".into()));
        }
        let caps = self.capabilities().await?.clone();
        let mechanism = sasl::choose(&self.mechanisms, &caps.sasl, &credentials.secret);
        match (mechanism, &credentials.secret) {
            (Some(m), _) => self.login_sasl(m, credentials).await,
            (None, Secret::Password(p)) => self.login_user_pass(&credentials.username, p).await,
            (None, Secret::BearerToken(_)) => Err(Pop3Error::Config(format!(
                "the server offers no token mechanism (SASL: {})",
                if caps.sasl.is_empty() {
                    "none".to_string()
                } else {
                    caps.sasl.join(" ")
                }
            ))),
        }
    }

    async fn login_user_pass(&mut self, user: &str, password: &str) -> Result<(), Pop3Error> {
        if user.contains(['\r', '\n']) || password.contains(['\r', '\n']) {
            return Err(Pop3Error::Config(
                "line breaks in the user name or password".into(),
            ));
        }
        let failed = |response| Pop3Error::LoginFailed {
            method: "USER/PASS".into(),
            response,
            detail: None,
        };
        let reply = self
            .command(&format!("USER {user}"), Pop3Stage::User)
            .await?;
        if !reply.is_ok() {
            return Err(failed(reply));
        }
        let reply = self
            .command(&format!("PASS {password}"), Pop3Stage::Pass)
            .await?;
        if !reply.is_ok() {
            return Err(failed(reply));
        }
        self.info.login = Some(LoginMethod::UserPass);
        Ok(())
    }

    /// RFC 5034: `AUTH mech initial-response`, `+ challenge` rounds, `+OK`/`-ERR`.
    async fn login_sasl(
        &mut self,
        mechanism: Mechanism,
        credentials: &Credentials,
    ) -> Result<(), Pop3Error> {
        let hint = ServerHint {
            host: self.server_name.clone(),
            port: self.info.target.port,
        };
        let mut sasl = SaslClient::new(mechanism, credentials.clone(), hint)?;
        let mut line = format!("AUTH {}", mechanism.name());
        if let Some(initial) = sasl.initial_response() {
            line.push(' ');
            line.push_str(&if initial.is_empty() {
                "=".to_string()
            } else {
                B64.encode(initial)
            });
        }
        let mut reply = self.command(&line, Pop3Stage::Auth).await?;
        for _ in 0..MAX_ROUNDS {
            match reply.status {
                Status::Ok => {
                    self.info.login = Some(LoginMethod::Sasl(mechanism));
                    return Ok(());
                }
                Status::Continue => {
                    let response = B64
                        .decode(reply.text.trim())
                        .map_err(|_| ())
                        .and_then(|c| sasl.respond(&c).map_err(|_| ()));
                    let line = match response {
                        Ok(r) => B64.encode(r),
                        Err(()) => "*".to_string(),
                    };
                    reply = self.command(&line, Pop3Stage::Auth).await?;
                }
                Status::Err => {
                    return Err(Pop3Error::LoginFailed {
                        method: mechanism.name().to_string(),
                        response: reply,
                        detail: sasl.server_error().map(str::to_string),
                    });
                }
            }
        }
        self.broken = true;
        Err(Pop3Error::LoginFailed {
            method: mechanism.name().to_string(),
            response: reply,
            detail: Some("too many challenges".into()),
        })
    }

    /// QUIT (RFC 1939 §6: in TRANSACTION state this commits deletions) and close.
    pub async fn quit(mut self) -> Result<Response, Pop3Error> {
        let reply = self.command("QUIT", Pop3Stage::Quit).await?;
        self.conn.shutdown(self.timeout).await;
        if !reply.is_ok() {
            return Err(Pop3Error::Rejected {
                stage: Pop3Stage::Quit,
                response: reply,
            });
        }
        Ok(reply)
    }

    /// Sends one command line (without line end) and reads its status line.
    pub async fn command(&mut self, line: &str, stage: Pop3Stage) -> Result<Response, Pop3Error> {
        if self.broken {
            return Err(Pop3Error::Broken);
        }
        let mut bytes = Vec::with_capacity(line.len() + 2);
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        if let Err(e) = self.conn.write_all(&bytes, self.timeout).await {
            self.broken = true;
            return Err(conn_error(stage, e));
        }
        self.read_status(stage).await
    }

    /// Reads one status line.
    pub async fn read_status(&mut self, stage: Pop3Stage) -> Result<Response, Pop3Error> {
        loop {
            match split_line(self.conn.buffer()) {
                Ok(Some((line, used))) => {
                    let parsed = parse_status(line);
                    self.conn.consume(used);
                    return parsed.map_err(|error| {
                        self.broken = true;
                        Pop3Error::Protocol { stage, error }
                    });
                }
                Ok(None) => self.fill(stage).await?,
                Err(error) => {
                    self.broken = true;
                    return Err(Pop3Error::Protocol { stage, error });
                }
            }
        }
    }

    /// Reads the body of a multi-line response whole (for CAPA, LIST, UIDL), at most
    /// `max_total` bytes; lines come back dot-unstuffed, without line ends.
    pub async fn read_multiline(
        &mut self,
        stage: Pop3Stage,
        max_total: usize,
    ) -> Result<Vec<Vec<u8>>, Pop3Error> {
        loop {
            match parse_multiline(self.conn.buffer(), max_total) {
                Ok(Some((lines, used))) => {
                    self.conn.consume(used);
                    return Ok(lines);
                }
                Ok(None) => self.fill(stage).await?,
                Err(error) => {
                    self.broken = true;
                    return Err(Pop3Error::Protocol { stage, error });
                }
            }
        }
    }

    pub(super) async fn fill(&mut self, stage: Pop3Stage) -> Result<(), Pop3Error> {
        match self.conn.read_more(self.timeout).await {
            Ok(_) => Ok(()),
            Err(e) => {
                self.broken = true;
                Err(match e {
                    ConnError::Timeout(after) => Pop3Error::Timeout { stage, after },
                    e => conn_error(stage, e),
                })
            }
        }
    }
}
