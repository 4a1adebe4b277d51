//! POP-before-SMTP ("wait until logged into Internet Mail Account…"): logs into the
//! configured POP3 account and quits, before the route sends anything.

use std::time::Duration;

use pillarbox_client::pop3::{Pop3Client, Pop3ClientConfig};
use pillarbox_client::{Credentials, Secret, TlsPolicy};
use pillarbox_config::{OutboundTls, PopBeforeSmtpConfig};
use pillarbox_net::dial::Target;
use pillarbox_net::{ClientTls, ClientTlsMode};

use crate::route::Route;

/// Logs in and out; an error says why the login failed.
pub(crate) async fn login(p: &PopBeforeSmtpConfig, route: &Route) -> Result<(), String> {
    let (mode, policy) = match p.tls {
        OutboundTls::None => (ClientTlsMode::None, TlsPolicy::None),
        OutboundTls::Implicit => (ClientTlsMode::Implicit, TlsPolicy::None),
        OutboundTls::Starttls => (ClientTlsMode::StartTls, TlsPolicy::Required),
        OutboundTls::Opportunistic => (ClientTlsMode::StartTls, TlsPolicy::Opportunistic),
    };
    let mut config = Pop3ClientConfig::default();
    config.dial.connect_timeout = Duration::from_millis(route.config.connect_timeout_ms.max(1));
    config.dial.tls = ClientTls {
        mode,
        min_version: route.config.tls_min_version,
        verify: p.tls_verify,
        extra_ca: route.config.tls_ca_file.clone(),
    };
    config.tls_policy = policy;
    let creds = Credentials {
        username: p.username.clone(),
        secret: Secret::Password(p.password.clone()),
    };
    Pop3Client::login_and_quit(&Target::new(p.host.clone(), p.port), &config, &creds)
        .await
        .map(|_| tracing::debug!(host = %p.host, user = %p.username, "POP-before-SMTP login done"))
        .map_err(|e| e.to_string())
}
