//! The connection test (`pillarbox test-connection`, `pillarbox collect test`, the
//! seed's Test button): dials with the requested TLS mode and proxy, then speaks the
//! protocol (SMTP, IMAP or POP3) step by step — greeting, capabilities, STARTTLS,
//! authentication — and reports each step with its time and what it found, ending with
//! a verdict that says what to change (`verdict`). `report` holds the result types.
//!
//! Reads and writes nothing but the connection under test; never logs or reports a
//! secret; every step is bounded by the timeout.

pub mod report;
pub mod verdict;

use std::time::{Duration, Instant};

use pillarbox_client::TlsPolicy;
use pillarbox_client::imap::{ImapClient, ImapClientConfig, ImapError, ImapStage};
use pillarbox_client::pop3::{Pop3Client, Pop3ClientConfig, Pop3Error, Pop3Stage};
use pillarbox_client::sasl::{Credentials, Mechanism};
use pillarbox_client::smtp::{
    AuthMode, SmtpClient, SmtpClientConfig, SmtpError, SmtpTimeouts, Stage,
};
use pillarbox_net::ClientTlsMode;
use pillarbox_net::dial::{
    self, DialError, DialOptions, DialStage, Dialed, PartialDial, Target, TlsReport,
};

pub use report::{ProbeReport, Step, StepStatus};
pub use verdict::{Context, Failure, ProbeProtocol};

use report::tls_detail;

/// What to test.
#[derive(Debug, Clone)]
pub struct ProbeRequest {
    pub protocol: ProbeProtocol,
    pub target: Target,
    /// TLS mode, versions, verification, proxy; `connect_timeout` bounds the dial.
    pub dial: DialOptions,
    /// Bound on each answer after the dial.
    pub timeout: Duration,
    /// Log in as well, when given.
    pub credentials: Option<Credentials>,
    /// EHLO name for SMTP.
    pub ehlo_name: String,
}

/// Runs the test; never fails (a failure is a step and the verdict).
pub async fn probe(req: &ProbeRequest) -> ProbeReport {
    let mut steps = Vec::new();
    let failure = run_steps(req, &mut steps).await.err();
    let ctx = Context {
        protocol: req.protocol,
        port: req.target.port,
        tls: req.dial.tls.mode,
        proxied: req.dial.proxy.is_some(),
        timeout_secs: req.timeout.as_secs().max(1),
        legacy_tls: matches!(
            req.dial.tls.min_version,
            pillarbox_config::TlsVersion::Tls10 | pillarbox_config::TlsVersion::Tls11
        ),
    };
    ProbeReport {
        protocol: req.protocol.name().to_string(),
        target: req.target.to_string(),
        tls: match req.dial.tls.mode {
            ClientTlsMode::None => "no TLS".into(),
            ClientTlsMode::Implicit => {
                format!("implicit TLS, {} or later", req.dial.tls.min_version)
            }
            ClientTlsMode::StartTls => format!("STARTTLS, {} or later", req.dial.tls.min_version),
        },
        proxy: req
            .dial
            .proxy
            .as_ref()
            .map(|p| format!("{} proxy {}:{}", p.kind, p.host, p.port)),
        ok: failure.is_none(),
        verdict: verdict::verdict(&ctx, failure.as_ref()),
        steps,
    }
}

async fn run_steps(req: &ProbeRequest, steps: &mut Vec<Step>) -> Result<(), Failure> {
    let dialed = dial_steps(req, steps).await?;
    match req.protocol {
        ProbeProtocol::Imap => imap_steps(req, dialed, steps).await,
        ProbeProtocol::Pop3 => pop3_steps(req, dialed, steps).await,
        ProbeProtocol::Smtp => smtp_steps(req, dialed, steps).await,
    }
}

/// DNS, TCP, proxy and implicit TLS, from the dialer's report (partial on failure).
async fn dial_steps(req: &ProbeRequest, steps: &mut Vec<Step>) -> Result<Dialed, Failure> {
    let started = Instant::now();
    let (partial, result) = match dial::connect_reporting(&req.target, &req.dial).await {
        Ok(d) => (
            PartialDial {
                dns: d.report.dns.clone(),
                tcp: Some(d.report.tcp),
                proxy: d.report.proxy.clone(),
                certificate: None,
            },
            Ok(d),
        ),
        Err(f) => (f.partial, Err(f.error)),
    };
    let first_hop = match &req.dial.proxy {
        Some(p) => Target::new(p.host.clone(), p.port),
        None => req.target.clone(),
    };
    let mut spent = Duration::ZERO;
    match &partial.dns {
        Some((took, ips)) => {
            spent += *took;
            let ips: Vec<String> = ips.iter().map(|i| i.to_string()).collect();
            steps.push(Step::ok(
                "DNS",
                Some(*took),
                format!("{} → {}", first_hop.host, ips.join(", ")),
            ));
        }
        None if first_hop.ip().is_some() => {
            steps.push(Step::skipped(
                "DNS",
                format!("{} is an IP address", first_hop.host),
            ));
        }
        None => {}
    }
    if let Some((took, addr)) = partial.tcp {
        spent += took;
        let what = if req.dial.proxy.is_some() {
            "the proxy at "
        } else {
            ""
        };
        steps.push(Step::ok(
            "TCP",
            Some(took),
            format!("connected to {what}{addr}"),
        ));
    }
    if let Some(p) = &partial.proxy {
        spent += p.duration;
        steps.push(Step::ok(
            "Proxy",
            Some(p.duration),
            format!("{} tunnel to {} through {}", p.kind, req.target, p.proxy),
        ));
    }
    let error = match result {
        Ok(d) => {
            if let Some(t) = &d.report.tls {
                let status = if t.verified.is_ok() {
                    StepStatus::Ok
                } else {
                    StepStatus::Warning
                };
                steps.push(Step::new("TLS", status, Some(t.duration), tls_detail(t)));
            }
            return Ok(d);
        }
        Err(e) => e,
    };
    let took = Some(started.elapsed().saturating_sub(spent));
    let name = match error.stage() {
        DialStage::Dns => "DNS",
        DialStage::Connect => "TCP",
        DialStage::Proxy => "Proxy",
        DialStage::Tls => "TLS",
    };
    let mut detail = error.to_string();
    if let Some(c) = &partial.certificate {
        detail.push_str("; ");
        detail.push_str(&report::cert_detail(c));
    }
    steps.push(Step::failed(name, took, detail));
    Err(dial_failure(&error))
}

fn dial_failure(e: &DialError) -> Failure {
    match e {
        DialError::Dns { .. } | DialError::NoAddress { .. } => Failure::Dns(e.to_string()),
        DialError::Connect { attempts, .. }
            if attempts
                .iter()
                .all(|(_, io)| io.kind() == std::io::ErrorKind::TimedOut) =>
        {
            Failure::TcpTimeout
        }
        DialError::Connect { .. } => Failure::TcpRefused(e.to_string()),
        DialError::Timeout { stage, .. } => match stage {
            DialStage::Dns | DialStage::Connect => Failure::TcpTimeout,
            DialStage::Proxy => Failure::Proxy("no answer from the proxy".into()),
            DialStage::Tls => Failure::TlsHandshake("no TLS answer".into()),
        },
        DialError::ProxyAuth { reason, .. } => Failure::ProxyAuth(reason.clone()),
        DialError::Proxy { reason, .. } => Failure::Proxy(reason.clone()),
        DialError::TlsUntrusted { reason, .. } => Failure::TlsUntrusted(reason.clone()),
        DialError::TlsHandshake { reason, .. } => Failure::TlsHandshake(reason.clone()),
        DialError::TlsConfig(_) | DialError::InvalidServerName { .. } => {
            Failure::Other(e.to_string())
        }
    }
}

/// The step of a STARTTLS upgrade: a warning when the certificate did not verify.
fn tls_step(name: &'static str, took: Option<Duration>, tls: Option<&TlsReport>) -> Step {
    match tls {
        Some(r) if r.verified.is_ok() => Step::ok(name, took, tls_detail(r)),
        Some(r) => Step::new(name, StepStatus::Warning, took, tls_detail(r)),
        None => Step::failed(name, took, "no TLS report"),
    }
}

fn since(t: Instant) -> Option<Duration> {
    Some(t.elapsed())
}

fn auth_skipped(steps: &mut Vec<Step>) {
    steps.push(Step::skipped("Auth", "no user given"));
}

/// The Auth step: who logged in and how (`how`: the method used), or why not.
fn auth_step<E: std::fmt::Display>(
    t: Instant,
    user: &str,
    outcome: &Result<(), E>,
    how: Option<String>,
) -> Step {
    match outcome {
        Ok(()) => Step::ok(
            "Auth",
            since(t),
            format!("logged in as {user} ({})", how.unwrap_or_default()),
        ),
        Err(e) => Step::failed("Auth", since(t), e.to_string()),
    }
}

fn mechanisms() -> Vec<Mechanism> {
    vec![
        Mechanism::XOAuth2,
        Mechanism::OAuthBearer,
        Mechanism::Plain,
        Mechanism::Login,
        Mechanism::CramMd5,
    ]
}

async fn imap_steps(
    req: &ProbeRequest,
    dialed: Dialed,
    steps: &mut Vec<Step>,
) -> Result<(), Failure> {
    let config = ImapClientConfig {
        dial: req.dial.clone(),
        tls_policy: TlsPolicy::None,
        timeout: req.timeout,
        mechanisms: mechanisms(),
        max_literal: 1024 * 1024,
    };
    let t = Instant::now();
    let mut client = match ImapClient::connect_dialed(&req.target, &config, dialed).await {
        Ok(c) => c,
        Err(e) => {
            steps.push(Step::failed("Greeting", since(t), e.to_string()));
            return Err(imap_failure(&e));
        }
    };
    steps.push(Step::ok(
        "Greeting",
        since(t),
        client.info().greeting.to_string(),
    ));
    steps.push(Step::ok(
        "Capabilities",
        None,
        client.info().capabilities.join(" "),
    ));
    if req.dial.tls.mode == ClientTlsMode::StartTls {
        let t = Instant::now();
        if let Err(e) = client.start_tls(&req.target, &config).await {
            steps.push(Step::failed("STARTTLS", since(t), e.to_string()));
            return Err(imap_failure(&e));
        }
        steps.push(tls_step("STARTTLS", since(t), client.info().tls.as_ref()));
        steps.push(Step::ok(
            "Capabilities",
            None,
            client.info().capabilities.join(" "),
        ));
    }
    let Some(creds) = &req.credentials else {
        auth_skipped(steps);
        let _ = client.logout().await;
        return Ok(());
    };
    let t = Instant::now();
    let outcome = client.login(creds).await;
    let how = client.info().login.map(|l| l.to_string());
    steps.push(auth_step(t, &creds.username, &outcome, how));
    outcome.map_err(|e| imap_failure(&e))?;
    let _ = client.logout().await;
    Ok(())
}

fn imap_failure(e: &ImapError) -> Failure {
    match e {
        ImapError::Dial(d) => dial_failure(d),
        ImapError::Timeout {
            stage: ImapStage::Greeting,
            ..
        } => Failure::GreetingTimeout,
        ImapError::Closed {
            stage: ImapStage::Greeting,
        }
        | ImapError::Protocol {
            stage: ImapStage::Greeting,
            ..
        }
        | ImapError::Greeting(_)
        | ImapError::Bye(_) => Failure::Greeting(e.to_string()),
        ImapError::StartTlsUnavailable => Failure::StartTlsMissing,
        ImapError::StartTlsInjection => Failure::StartTls(e.to_string()),
        ImapError::LoginFailed { .. } => Failure::AuthFailed(e.to_string()),
        ImapError::LoginDisabled | ImapError::Config(_) | ImapError::Sasl(_) => {
            Failure::AuthUnavailable(e.to_string())
        }
        _ if e.stage() == Some(ImapStage::StartTls) => Failure::StartTls(e.to_string()),
        _ => Failure::Other(e.to_string()),
    }
}

async fn pop3_steps(
    req: &ProbeRequest,
    dialed: Dialed,
    steps: &mut Vec<Step>,
) -> Result<(), Failure> {
    let config = Pop3ClientConfig {
        dial: req.dial.clone(),
        tls_policy: TlsPolicy::None,
        timeout: req.timeout,
        mechanisms: mechanisms(),
    };
    let t = Instant::now();
    let mut client = match Pop3Client::connect_dialed(&req.target, &config, dialed).await {
        Ok(c) => c,
        Err(e) => {
            steps.push(Step::failed("Greeting", since(t), e.to_string()));
            return Err(pop3_failure(&e));
        }
    };
    steps.push(Step::ok(
        "Greeting",
        since(t),
        client.info().greeting.to_string(),
    ));
    if req.dial.tls.mode == ClientTlsMode::StartTls {
        let t = Instant::now();
        if let Err(e) = client.start_tls(&req.target, &config).await {
            steps.push(Step::failed("STLS", since(t), e.to_string()));
            return Err(pop3_failure(&e));
        }
        steps.push(tls_step("STLS", since(t), client.info().tls.as_ref()));
    }
    let t = Instant::now();
    match client.capabilities().await {
        Ok(c) => {
            let caps = if c.lines.is_empty() {
                "none (no CAPA)".to_string()
            } else {
                c.lines.join(", ")
            };
            steps.push(Step::ok("Capabilities", since(t), caps));
        }
        Err(e) => {
            steps.push(Step::failed("Capabilities", since(t), e.to_string()));
            return Err(pop3_failure(&e));
        }
    }
    let Some(creds) = &req.credentials else {
        auth_skipped(steps);
        let _ = client.quit().await;
        return Ok(());
    };
    let t = Instant::now();
    let outcome = client.login(creds).await;
    let how = client.info().login.map(|l| l.to_string());
    steps.push(auth_step(t, &creds.username, &outcome, how));
    outcome.map_err(|e| pop3_failure(&e))?;
    let _ = client.quit().await;
    Ok(())
}

fn pop3_failure(e: &Pop3Error) -> Failure {
    match e {
        Pop3Error::Dial(d) => dial_failure(d),
        Pop3Error::Timeout {
            stage: Pop3Stage::Greeting,
            ..
        } => Failure::GreetingTimeout,
        Pop3Error::Closed {
            stage: Pop3Stage::Greeting,
        }
        | Pop3Error::Protocol {
            stage: Pop3Stage::Greeting,
            ..
        }
        | Pop3Error::Greeting(_) => Failure::Greeting(e.to_string()),
        Pop3Error::StlsUnavailable => Failure::StartTlsMissing,
        Pop3Error::StlsInjection
        | Pop3Error::Timeout {
            stage: Pop3Stage::Stls,
            ..
        } => Failure::StartTls(e.to_string()),
        Pop3Error::LoginFailed { .. } => Failure::AuthFailed(e.to_string()),
        Pop3Error::Config(_) | Pop3Error::Sasl(_) => Failure::AuthUnavailable(e.to_string()),
        _ => Failure::Other(e.to_string()),
    }
}

async fn smtp_steps(
    req: &ProbeRequest,
    dialed: Dialed,
    steps: &mut Vec<Step>,
) -> Result<(), Failure> {
    let mut config = SmtpClientConfig::new(req.ehlo_name.clone());
    config.dial = req.dial.clone();
    config.tls_policy = TlsPolicy::None;
    config.timeouts = SmtpTimeouts::uniform(req.timeout);
    config.mechanisms = mechanisms();
    let t = Instant::now();
    let mut client = match SmtpClient::open_dialed(&req.target, &config, dialed).await {
        Ok(c) => c,
        Err(e) => {
            steps.push(Step::failed("Greeting", since(t), e.to_string()));
            return Err(smtp_failure(&e));
        }
    };
    steps.push(Step::ok(
        "Greeting",
        since(t),
        client.info().greeting.to_string(),
    ));
    steps.push(Step::ok("Capabilities", None, ehlo_summary(&client)));
    if req.dial.tls.mode == ClientTlsMode::StartTls {
        let t = Instant::now();
        if let Err(e) = client.start_tls(&req.target, &config).await {
            steps.push(Step::failed("STARTTLS", since(t), e.to_string()));
            return Err(smtp_failure(&e));
        }
        steps.push(tls_step("STARTTLS", since(t), client.info().tls.as_ref()));
        steps.push(Step::ok("Capabilities", None, ehlo_summary(&client)));
    }
    let Some(creds) = &req.credentials else {
        auth_skipped(steps);
        let _ = client.quit().await;
        return Ok(());
    };
    config.auth = AuthMode::Required;
    config.credentials = Some(creds.clone());
    let t = Instant::now();
    let outcome = client.authenticate(&config).await;
    let how = client.info().authenticated.map(|m| m.name().to_string());
    steps.push(auth_step(t, &creds.username, &outcome, how));
    outcome.map_err(|e| smtp_failure(&e))?;
    let _ = client.quit().await;
    Ok(())
}

fn ehlo_summary(client: &SmtpClient) -> String {
    let info = client.info();
    if info.helo_only {
        return "HELO only (no ESMTP extensions)".into();
    }
    info.capabilities.keywords.join(" ")
}

fn smtp_failure(e: &SmtpError) -> Failure {
    match e {
        SmtpError::Dial(d) => dial_failure(d),
        SmtpError::Timeout {
            stage: Stage::Greeting,
            ..
        } => Failure::GreetingTimeout,
        SmtpError::Closed {
            stage: Stage::Greeting,
        }
        | SmtpError::Protocol {
            stage: Stage::Greeting,
            ..
        }
        | SmtpError::Greeting(_)
        | SmtpError::ServiceClosing(_) => Failure::Greeting(e.to_string()),
        SmtpError::StartTlsUnavailable => Failure::StartTlsMissing,
        SmtpError::StartTlsInjection => Failure::StartTls(e.to_string()),
        SmtpError::AuthFailed { .. } => Failure::AuthFailed(e.to_string()),
        SmtpError::AuthUnavailable { .. } | SmtpError::Sasl(_) | SmtpError::Config(_) => {
            Failure::AuthUnavailable(e.to_string())
        }
        _ => Failure::Other(e.to_string()),
    }
}
