//! The SMTP client session up to "ready to send": dial (proxies and implicit TLS come
//! from `pillarbox_net::dial`), the 220 greeting, EHLO (HELO when EHLO is refused),
//! STARTTLS by policy with a fresh EHLO after it (RFC 3207 §4.2), and AUTH (in
//! `auth.rs`). Sending lives in `send.rs`.
//!
//! Never trusts bytes that arrived before a TLS handshake, never waits without a
//! timeout, never logs credentials.

use pillarbox_net::ClientTlsMode;
use pillarbox_net::dial::{self, DialError, DialReport, Target, TlsReport};

use super::capabilities::Capabilities;
use super::config::{SmtpClientConfig, SmtpTimeouts, TlsPolicy};
use super::error::{SmtpError, Stage, conn_error};
use super::reply::{Reply, parse_reply};
use crate::conn::Conn;
use crate::sasl::Mechanism;

/// What the session learned while connecting: for logs, `Received:` lines and the
/// connection test.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub target: Target,
    pub dial: DialReport,
    pub greeting: Reply,
    /// The capabilities in force (from the EHLO after STARTTLS when there was one).
    pub capabilities: Capabilities,
    /// The server refused EHLO and HELO was used (no extensions).
    pub helo_only: bool,
    /// TLS on this connection: implicit (from the dial) or STARTTLS.
    pub tls: Option<TlsReport>,
    /// Why opportunistic STARTTLS was not used, when it was not.
    pub tls_skipped: Option<String>,
    /// The SASL mechanism that authenticated the session.
    pub authenticated: Option<Mechanism>,
}

/// An SMTP client connection, ready to send after [`SmtpClient::connect`].
#[derive(Debug)]
pub struct SmtpClient {
    pub(super) conn: Conn,
    pub(super) info: SessionInfo,
    pub(super) timeouts: SmtpTimeouts,
    /// A transaction may be open on the server: RSET before the next MAIL.
    pub(super) needs_rset: bool,
    /// An I/O or protocol failure made the connection unusable.
    pub(super) broken: bool,
}

impl SmtpClient {
    /// Dials, reads the greeting, says EHLO, starts TLS as configured and
    /// authenticates as configured: the whole way to "ready to send".
    pub async fn connect(
        target: &Target,
        config: &SmtpClientConfig,
    ) -> Result<SmtpClient, SmtpError> {
        let mut client = SmtpClient::open(target, config).await?;
        client.authenticate(config).await?;
        Ok(client)
    }

    /// [`SmtpClient::connect`] without the AUTH step, for callers that report each
    /// step (the connection test) and then call [`SmtpClient::authenticate`].
    pub async fn open(target: &Target, config: &SmtpClientConfig) -> Result<SmtpClient, SmtpError> {
        let name = &config.ehlo_name;
        if name.is_empty()
            || name
                .bytes()
                .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(SmtpError::Config(format!("invalid EHLO name {name:?}")));
        }
        let starttls =
            config.dial.tls.mode == ClientTlsMode::StartTls && config.tls_policy != TlsPolicy::None;
        match SmtpClient::open_once(target, config, starttls).await {
            Err(OpenError::HandshakeFailed(reason))
                if config.tls_policy == TlsPolicy::Opportunistic =>
            {
                tracing::info!(%target, %reason, "STARTTLS failed; reconnecting without TLS");
                let mut client = SmtpClient::open_once(target, config, false)
                    .await
                    .map_err(OpenError::into_error)?;
                client.info.tls_skipped = Some(format!("STARTTLS handshake failed: {reason}"));
                Ok(client)
            }
            r => r.map_err(OpenError::into_error),
        }
    }

    async fn open_once(
        target: &Target,
        config: &SmtpClientConfig,
        starttls: bool,
    ) -> Result<SmtpClient, OpenError> {
        let dialed = dial::connect(target, &config.dial)
            .await
            .map_err(|e| OpenError::Fatal(e.into()))?;
        SmtpClient::open_on(target, config, starttls, dialed).await
    }

    /// Greeting and EHLO on a connection already dialed, without STARTTLS: for the
    /// connection test, which dials itself to report each step and then calls
    /// [`SmtpClient::start_tls`] and [`SmtpClient::authenticate`].
    pub async fn open_dialed(
        target: &Target,
        config: &SmtpClientConfig,
        dialed: dial::Dialed,
    ) -> Result<SmtpClient, SmtpError> {
        SmtpClient::open_on(target, config, false, dialed)
            .await
            .map_err(OpenError::into_error)
    }

    /// STARTTLS (required) and EHLO again, for a client from
    /// [`SmtpClient::open_dialed`].
    pub async fn start_tls(
        &mut self,
        target: &Target,
        config: &SmtpClientConfig,
    ) -> Result<(), SmtpError> {
        let mut required = config.clone();
        required.tls_policy = TlsPolicy::Required;
        self.starttls(target, &required)
            .await
            .map_err(OpenError::into_error)
    }

    async fn open_on(
        target: &Target,
        config: &SmtpClientConfig,
        starttls: bool,
        dialed: dial::Dialed,
    ) -> Result<SmtpClient, OpenError> {
        let tls = dialed.report.tls.clone();
        let mut client = SmtpClient {
            conn: Conn::new(dialed.stream),
            info: SessionInfo {
                target: target.clone(),
                dial: dialed.report,
                greeting: Reply {
                    code: 0,
                    enhanced: None,
                    lines: Vec::new(),
                },
                capabilities: Capabilities::default(),
                helo_only: false,
                tls,
                tls_skipped: None,
                authenticated: None,
            },
            timeouts: config.timeouts,
            needs_rset: false,
            broken: false,
        };
        // RFC 5321 §4.3.1: 220 ready; 554 (or any 4xx/5xx) refuses the session.
        let greeting = client
            .read_reply(Stage::Greeting, config.timeouts.greeting)
            .await?;
        if greeting.code != 220 {
            if greeting.code == 421 {
                return Err(SmtpError::ServiceClosing(greeting).into());
            }
            return Err(SmtpError::Greeting(greeting).into());
        }
        client.info.greeting = greeting;
        client.hello(&config.ehlo_name).await?;
        if starttls {
            client.starttls(target, config).await?;
        }
        Ok(client)
    }

    /// What the session negotiated so far.
    pub fn info(&self) -> &SessionInfo {
        &self.info
    }

    pub fn capabilities(&self) -> &Capabilities {
        &self.info.capabilities
    }

    /// RFC 5321 §4.1.1.1 EHLO; on a 5xx, HELO (§4.1.4: no extensions then).
    async fn hello(&mut self, name: &str) -> Result<(), SmtpError> {
        let t = self.timeouts.other;
        let reply = self
            .command(format!("EHLO {name}\r\n").as_bytes(), Stage::Ehlo, t)
            .await?;
        if reply.code == 250 {
            self.info.capabilities = Capabilities::from_ehlo(&reply);
            self.info.helo_only = false;
            return Ok(());
        }
        if !reply.is_permanent() {
            return Err(SmtpError::Rejected {
                stage: Stage::Ehlo,
                reply,
            });
        }
        let reply = self
            .command(format!("HELO {name}\r\n").as_bytes(), Stage::Ehlo, t)
            .await?;
        if reply.code != 250 {
            return Err(SmtpError::Rejected {
                stage: Stage::Ehlo,
                reply,
            });
        }
        self.info.capabilities = Capabilities {
            hello: reply.lines.first().cloned().unwrap_or_default(),
            ..Capabilities::default()
        };
        self.info.helo_only = true;
        Ok(())
    }

    /// RFC 3207: STARTTLS, the handshake, and EHLO again (the old capabilities are
    /// forgotten, §4.2).
    async fn starttls(
        &mut self,
        target: &Target,
        config: &SmtpClientConfig,
    ) -> Result<(), OpenError> {
        let opportunistic = config.tls_policy == TlsPolicy::Opportunistic;
        if !self.info.capabilities.starttls {
            if opportunistic {
                self.info.tls_skipped = Some("the server does not offer STARTTLS".into());
                return Ok(());
            }
            return Err(SmtpError::StartTlsUnavailable.into());
        }
        let t = self.timeouts.other;
        let reply = self.command(b"STARTTLS\r\n", Stage::StartTls, t).await?;
        if reply.code != 220 {
            if opportunistic && reply.code != 421 {
                self.info.tls_skipped = Some(format!("STARTTLS refused: {reply}"));
                return Ok(());
            }
            return Err(SmtpError::Rejected {
                stage: Stage::StartTls,
                reply,
            }
            .into());
        }
        if !self.conn.buffer().is_empty() {
            return Err(SmtpError::StartTlsInjection.into());
        }
        let name = config.dial.server_name(target);
        match self.conn.start_tls(name, &config.dial.tls, t).await {
            Ok(report) => self.info.tls = Some(report),
            Err(e) => {
                self.broken = true;
                return Err(match e {
                    DialError::Timeout { .. }
                    | DialError::TlsHandshake { .. }
                    | DialError::TlsUntrusted { .. } => OpenError::HandshakeFailed(e),
                    e => OpenError::Fatal(e.into()),
                });
            }
        }
        self.hello(&config.ehlo_name).await?;
        Ok(())
    }

    /// Reads one reply; a 421 anywhere means the server is going away.
    pub(super) async fn read_reply(
        &mut self,
        stage: Stage,
        timeout: std::time::Duration,
    ) -> Result<Reply, SmtpError> {
        if self.broken {
            return Err(SmtpError::Broken);
        }
        let result = self.read_reply_inner(stage, timeout).await;
        match result {
            Ok(r) if r.code == 421 && stage != Stage::Greeting => {
                self.broken = true;
                Err(SmtpError::ServiceClosing(r))
            }
            Ok(r) => Ok(r),
            Err(e) => {
                self.broken = true;
                Err(e)
            }
        }
    }

    async fn read_reply_inner(
        &mut self,
        stage: Stage,
        timeout: std::time::Duration,
    ) -> Result<Reply, SmtpError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match parse_reply(self.conn.buffer()) {
                Ok(Some((reply, used))) => {
                    self.conn.consume(used);
                    return Ok(reply);
                }
                Ok(None) => {}
                Err(error) => return Err(SmtpError::Protocol { stage, error }),
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Err(SmtpError::Timeout {
                    stage,
                    after: timeout,
                });
            }
            self.conn.read_more(left).await.map_err(|e| match e {
                crate::conn::ConnError::Timeout(_) => SmtpError::Timeout {
                    stage,
                    after: timeout,
                },
                e => conn_error(stage, e),
            })?;
        }
    }

    /// Writes bytes (one or more command lines).
    pub(super) async fn write(
        &mut self,
        bytes: &[u8],
        stage: Stage,
        timeout: std::time::Duration,
    ) -> Result<(), SmtpError> {
        if self.broken {
            return Err(SmtpError::Broken);
        }
        let r = self.conn.write_all(bytes, timeout).await;
        r.map_err(|e| {
            self.broken = true;
            conn_error(stage, e)
        })
    }

    /// Writes one command and reads its reply.
    pub(super) async fn command(
        &mut self,
        line: &[u8],
        stage: Stage,
        timeout: std::time::Duration,
    ) -> Result<Reply, SmtpError> {
        self.write(line, stage, timeout).await?;
        self.read_reply(stage, timeout).await
    }

    /// RSET (RFC 5321 §4.1.1.5): abandons an open transaction.
    pub async fn reset(&mut self) -> Result<(), SmtpError> {
        let t = self.timeouts.other;
        let reply = self.command(b"RSET\r\n", Stage::Rset, t).await?;
        if reply.code != 250 {
            self.broken = true;
            return Err(SmtpError::Rejected {
                stage: Stage::Rset,
                reply,
            });
        }
        self.needs_rset = false;
        Ok(())
    }

    /// Whether the connection can still carry a transaction.
    pub fn is_usable(&self) -> bool {
        !self.broken
    }

    /// QUIT (RFC 5321 §4.1.1.10) and close. A missing 221 is not an error worth
    /// reporting once the messages are through, so only I/O failures are returned.
    pub async fn quit(mut self) -> Result<(), SmtpError> {
        if self.broken {
            return Ok(());
        }
        let t = self.timeouts.other;
        let result = self.command(b"QUIT\r\n", Stage::Quit, t).await;
        self.conn.shutdown(t).await;
        match result {
            Ok(_) | Err(SmtpError::Closed { .. }) | Err(SmtpError::ServiceClosing(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// Opening fails either for good or in a way opportunistic TLS may retry in clear.
enum OpenError {
    Fatal(SmtpError),
    HandshakeFailed(DialError),
}

impl From<SmtpError> for OpenError {
    fn from(e: SmtpError) -> Self {
        OpenError::Fatal(e)
    }
}

impl OpenError {
    fn into_error(self) -> SmtpError {
        match self {
            OpenError::Fatal(e) => e,
            OpenError::HandshakeFailed(e) => SmtpError::Dial(e),
        }
    }
}
