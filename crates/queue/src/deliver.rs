//! One delivery task: a group of recipients sharing a route and a destination. Finds the
//! hosts (MX lookup or the smart host), logs in with the right credentials (the route's,
//! the sending account's own, or an OAuth2 token; POP-before-SMTP first when asked),
//! connects once and sends every message of the group, honouring the route's rate
//! limit, and reports one [`Attempt`] per recipient as soon as its message is done.
//! Decides nothing about retries.

use std::path::PathBuf;
use std::time::Duration;

use pillarbox_client::sasl::{Credentials, Mechanism, Secret};
use pillarbox_client::smtp::{
    AuthMode, Envelope, RcptSpec, Reply, SmtpClient, SmtpClientConfig, SmtpTimeouts, TlsPolicy,
};
use pillarbox_config::{AuthRequirement, CredentialSource, OutboundTls, QueueSection};
use pillarbox_net::dial::{DialOptions, Target};
use pillarbox_net::{ClientTls, ClientTlsMode};
use pillarbox_store::QueueItem;

use crate::route::Route;
use crate::{Inner, QueueError};

/// What happened to one recipient in this attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// The remote server took responsibility.
    Delivered {
        reply: String,
        host: String,
        /// The remote advertised DSN, so it will send any further notices.
        remote_dsn: bool,
    },
    /// Try again later.
    Temporary { error: String, host: Option<String> },
    /// Will never work.
    Permanent { error: String, host: Option<String> },
}

/// Settings every delivery shares.
#[derive(Debug)]
pub(crate) struct Transport {
    hostname: String,
    require_tls_domains: Vec<String>,
    oauth: crate::oauth::Tokens,
}

impl Transport {
    pub fn new(q: &QueueSection, hostname: &str) -> Result<Transport, QueueError> {
        Ok(Transport {
            hostname: hostname.to_string(),
            require_tls_domains: q
                .require_tls_domains
                .iter()
                .map(|d| d.to_ascii_lowercase())
                .collect(),
            oauth: crate::oauth::Tokens::new(&q.routes)?,
        })
    }
}

fn all(items: &[QueueItem], a: Attempt) -> Vec<Attempt> {
    vec![a; items.len()]
}

fn classify(reply: &Reply, host: &str) -> Attempt {
    let error = reply.to_string();
    if reply.is_permanent() {
        Attempt::Permanent {
            error,
            host: Some(host.to_string()),
        }
    } else {
        Attempt::Temporary {
            error,
            host: Some(host.to_string()),
        }
    }
}

/// Delivers a group, handing each message's items with their attempts (one per item,
/// in order) to `settle` as soon as that message's outcome is known, so the caller can
/// record it while the connection goes on with the next message.
pub(crate) async fn deliver_group(
    inner: &Inner,
    route: &Route,
    items: &[QueueItem],
    settle: &mut impl FnMut(&[QueueItem], Vec<Attempt>),
) {
    let Some(first) = items.first() else {
        return;
    };
    let hosts = match destinations(inner, route, &first.domain).await {
        Ok(h) => h,
        Err(a) => return settle(items, all(items, a)),
    };
    let mut config = match client_config(inner, route, first).await {
        Ok(c) => c,
        Err(error) => return settle(items, all(items, Attempt::Temporary { error, host: None })),
    };
    if let Some(pop) = &route.config.pop_before_smtp
        && let Err(error) = crate::popbefore::login(pop, route).await
    {
        let error = format!("POP-before-SMTP login failed: {error}");
        return settle(items, all(items, Attempt::Temporary { error, host: None }));
    }
    if route.is_direct()
        && inner
            .transport
            .require_tls_domains
            .contains(&first.domain.to_ascii_lowercase())
    {
        config.tls_policy = TlsPolicy::Required;
        config.dial.tls.mode = ClientTlsMode::StartTls;
    }
    let (mut client, host) = match connect(&hosts, &mut config).await {
        Ok(c) => c,
        Err((a, auth_failed)) => {
            if auth_failed && route.config.oauth2.is_some() {
                // The server refused the token: fetch a fresh one next time.
                inner.transport.oauth.invalidate(route.name());
            }
            return settle(items, all(items, a));
        }
    };
    let mut start = 0;
    while start < items.len() {
        let end = items[start..]
            .iter()
            .position(|i| i.queue_id != items[start].queue_id)
            .map(|k| start + k)
            .unwrap_or(items.len());
        let message_items = &items[start..end];
        start = end;
        if !client.is_usable() {
            let lost = Attempt::Temporary {
                error: "connection lost earlier in the session".into(),
                host: Some(host.clone()),
            };
            settle(message_items, all(message_items, lost));
            continue;
        }
        if let Some(rate) = inner.rates.get(route.name()) {
            rate.acquire(&inner.store).await;
        }
        let attempts = send_one(inner, &mut client, &host, message_items).await;
        settle(message_items, attempts);
    }
    if client.is_usable() {
        let _ = client.quit().await;
    }
}

/// Sends one message to its recipients in this group.
async fn send_one(
    inner: &Inner,
    client: &mut SmtpClient,
    host: &str,
    items: &[QueueItem],
) -> Vec<Attempt> {
    let first = &items[0];
    let message = match inner.store.blobs().read(&first.blob).await {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(queue_id = %first.queue_id, error = %e, "cannot read a queued message");
            return all(
                items,
                Attempt::Temporary {
                    error: format!("local error reading the message: {e}"),
                    host: None,
                },
            );
        }
    };
    let eight_bit = message.iter().any(|&b| b >= 0x80);
    let envelope = Envelope {
        from: first.sender.clone(),
        size: message.len(),
        ret: first.ret.clone(),
        envid: first.envid.clone(),
        rcpts: items
            .iter()
            .map(|i| RcptSpec {
                address: i.recipient.clone(),
                notify: i.notify.clone(),
                orcpt: i.orcpt.clone(),
            })
            .collect(),
        smtputf8: !first.sender.is_ascii()
            || items.iter().any(|i| !i.recipient.is_ascii())
            || header_is_utf8(&message),
        eight_bit,
    };
    let remote_dsn = client.capabilities().dsn;
    match client.send(&envelope, &message).await {
        Ok(outcome) => outcome
            .rcpts
            .iter()
            .map(|r| match (r, &outcome.data) {
                (Err(reply), _) => classify(reply, host),
                (Ok(_), Some(Ok(reply))) => Attempt::Delivered {
                    reply: reply.to_string(),
                    host: host.to_string(),
                    remote_dsn,
                },
                (Ok(_), Some(Err(reply))) => classify(reply, host),
                (Ok(_), None) => Attempt::Temporary {
                    error: "message not sent".into(),
                    host: Some(host.to_string()),
                },
            })
            .collect(),
        Err(e) => {
            let error = e.to_string();
            let host = Some(host.to_string());
            all(
                items,
                if e.is_permanent() {
                    Attempt::Permanent { error, host }
                } else {
                    Attempt::Temporary { error, host }
                },
            )
        }
    }
}

/// True when the header block carries raw non-ASCII (RFC 6532), which needs SMTPUTF8.
fn header_is_utf8(message: &[u8]) -> bool {
    let end = message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(message.len());
    message[..end].iter().any(|&b| b >= 0x80) && std::str::from_utf8(&message[..end]).is_ok()
}

/// The hosts to try, best first: (name for reports, target, TLS server name).
async fn destinations(
    inner: &Inner,
    route: &Route,
    domain: &str,
) -> Result<Vec<(String, Target, Option<String>)>, Attempt> {
    let port = route.port();
    if !route.is_direct() {
        let host = route.config.host.clone().unwrap_or_default();
        return Ok(vec![(host.clone(), Target::new(host, port), None)]);
    }
    match inner.mx.hosts(domain).await {
        Ok(mxs) => Ok(mxs
            .into_iter()
            .flat_map(|mx| {
                let name = mx.name.clone();
                mx.addrs.into_iter().map(move |ip| {
                    (
                        format!("{name}[{ip}]"),
                        Target::new(ip.to_string(), port),
                        Some(name.clone()),
                    )
                })
            })
            .collect()),
        Err(e) if e.is_permanent() => Err(Attempt::Permanent {
            error: e.to_string(),
            host: None,
        }),
        Err(e) => Err(Attempt::Temporary {
            error: e.to_string(),
            host: None,
        }),
    }
}

/// Connects to the first host that answers; a refusal that is the host's (greeting,
/// TLS) moves on to the next one, like the RFC 5321 §5.1 MX fallback.
/// On failure, also says whether the last host refused our credentials.
async fn connect(
    hosts: &[(String, Target, Option<String>)],
    config: &mut SmtpClientConfig,
) -> Result<(SmtpClient, String), (Attempt, bool)> {
    let mut last: Option<(String, pillarbox_client::smtp::SmtpError)> = None;
    for (name, target, sni) in hosts {
        config.dial.sni = sni.clone();
        match SmtpClient::connect(target, config).await {
            Ok(c) => return Ok((c, name.clone())),
            Err(e) => {
                tracing::info!(host = %name, error = %e, "cannot deliver through this host");
                last = Some((name.clone(), e));
            }
        }
    }
    let auth_failed = last.as_ref().is_some_and(|(_, e)| e.is_auth_failure());
    Err((
        match last {
            // One smart host that refuses the session for good: permanent.
            Some((name, e))
                if e.is_permanent()
                    && hosts.len() == 1
                    && !matches!(e, pillarbox_client::smtp::SmtpError::Dial(_)) =>
            {
                Attempt::Permanent {
                    error: e.to_string(),
                    host: Some(name),
                }
            }
            Some((name, e)) => Attempt::Temporary {
                error: e.to_string(),
                host: Some(name),
            },
            None => Attempt::Temporary {
                error: "no host to deliver to".into(),
                host: None,
            },
        },
        auth_failed,
    ))
}

/// The client settings for `route`, with the credentials for `item`'s sender.
async fn client_config(
    inner: &Inner,
    route: &Route,
    item: &QueueItem,
) -> Result<SmtpClientConfig, String> {
    let c = &route.config;
    let (mode, policy) = match route.tls() {
        OutboundTls::None => (ClientTlsMode::None, TlsPolicy::None),
        OutboundTls::Implicit => (ClientTlsMode::Implicit, TlsPolicy::None),
        OutboundTls::Starttls => (ClientTlsMode::StartTls, TlsPolicy::Required),
        OutboundTls::Opportunistic => (ClientTlsMode::StartTls, TlsPolicy::Opportunistic),
    };
    let mut config = SmtpClientConfig::new(
        c.ehlo_name
            .clone()
            .unwrap_or_else(|| inner.transport.hostname.clone()),
    );
    config.dial = DialOptions {
        connect_timeout: Duration::from_millis(c.connect_timeout_ms.max(1)),
        proxy: None,
        tls: ClientTls {
            mode,
            min_version: c.tls_min_version,
            verify: route.tls_verify(),
            extra_ca: c.tls_ca_file.clone(),
        },
        sni: None,
    };
    config.tls_policy = policy;
    config.timeouts = if c.command_timeout.get() == Duration::from_secs(300) {
        SmtpTimeouts::rfc5321()
    } else {
        SmtpTimeouts::uniform(c.command_timeout.get())
    };
    if !c.mechanisms.is_empty() {
        config.mechanisms = c
            .mechanisms
            .iter()
            .filter_map(|m| m.parse::<Mechanism>().ok())
            .collect();
    }
    config.auth = match c.auth {
        AuthRequirement::None => AuthMode::None,
        AuthRequirement::Required => AuthMode::Required,
        AuthRequirement::Optional => AuthMode::Optional,
    };
    if config.auth != AuthMode::None {
        config.credentials = Some(credentials(inner, route, item).await?);
    }
    Ok(config)
}

/// Whose login: the sending account's own smart host credentials when the route
/// allows per-account authentication and the account has them; otherwise the route's
/// (its password, its password file, or an OAuth2 token).
async fn credentials(
    inner: &Inner,
    route: &Route,
    item: &QueueItem,
) -> Result<Credentials, String> {
    let c = &route.config;
    if c.credentials == CredentialSource::Account {
        let account = match item.account {
            Some(id) => inner.store.account_get_by_id(id).await,
            None => inner.store.account_get(&item.sender).await,
        }
        .map_err(|e| e.to_string())?;
        if let Some(a) = account
            && let Some(user) = a.smarthost_username.clone()
        {
            return Ok(Credentials {
                username: user,
                secret: Secret::Password(a.smarthost_password.clone().unwrap_or_default()),
            });
        }
    }
    if c.credentials == CredentialSource::Collection
        && let Some(creds) = crate::collection_login::for_sender(&inner.store, &item.sender).await?
    {
        return Ok(creds);
    }
    let username = c.username.clone().unwrap_or_else(|| item.sender.clone());
    if c.oauth2.is_some() {
        let token = inner.transport.oauth.token(route.name()).await?;
        return Ok(Credentials {
            username,
            secret: Secret::BearerToken(token),
        });
    }
    let password = match (&c.password, &c.password_file) {
        (Some(p), _) => p.clone(),
        (None, Some(f)) => read_secret(f)?,
        (None, None) => String::new(),
    };
    Ok(Credentials {
        username,
        secret: Secret::Password(password),
    })
}

fn read_secret(path: &PathBuf) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map(|s| s.lines().next().unwrap_or_default().to_string())
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
}
