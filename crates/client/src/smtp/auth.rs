//! SMTP AUTH as a client (RFC 4954): picks the mechanism, sends `AUTH MECH [initial]`,
//! answers `334` challenges through [`SaslClient`], and sorts the outcome.
//!
//! Never logs or quotes a response line (they carry the secret); errors quote only the
//! server's replies. Authentication failures are transient: an administrator fixes
//! credentials without the queue bouncing mail.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::client::SmtpClient;
use super::config::{AuthMode, SmtpClientConfig};
use super::error::{SmtpError, Stage};
use crate::sasl::{self, Credentials, SaslClient, Secret, ServerHint};

/// Most challenge rounds we answer before giving up on a confused server.
const MAX_ROUNDS: usize = 8;

impl SmtpClient {
    /// Authenticates as `config.auth` says (a no-op for [`AuthMode::None`], and for
    /// [`AuthMode::Optional`] when the server offers no AUTH).
    pub async fn authenticate(&mut self, config: &SmtpClientConfig) -> Result<(), SmtpError> {
        let credentials = match config.auth {
            AuthMode::None => return Ok(()),
            AuthMode::Required | AuthMode::Optional => check_credentials(config)?,
        };
        let offered = self.info.capabilities.auth.clone();
        if offered.is_empty() && config.auth == AuthMode::Optional {
            return Ok(());
        }
        let mechanism = sasl::choose(&config.mechanisms, &offered, &credentials.secret)
            .ok_or(SmtpError::AuthUnavailable { offered })?;
        let hint = ServerHint {
            host: config.dial.server_name(&self.info.target).to_string(),
            port: self.info.target.port,
        };
        let mut sasl = SaslClient::new(mechanism, credentials.clone(), hint)?;
        let t = self.timeouts.other;
        let mut line = format!("AUTH {}", mechanism.name());
        if let Some(initial) = sasl.initial_response() {
            // RFC 4954 §4: "=" stands for an empty initial response.
            let encoded = if initial.is_empty() {
                "=".to_string()
            } else {
                B64.encode(initial)
            };
            line.push(' ');
            line.push_str(&encoded);
        }
        line.push_str("\r\n");
        let mut reply = self.command(line.as_bytes(), Stage::Auth, t).await?;
        for _ in 0..MAX_ROUNDS {
            match reply.code {
                // RFC 4954 says 235; some servers (Postfix's smtp-sink among them)
                // answer 250, and any 2xx means the server accepted us.
                200..=299 => {
                    self.info.authenticated = Some(mechanism);
                    return Ok(());
                }
                334 => {
                    let challenge = B64
                        .decode(reply.text().trim())
                        .map_err(|_| ())
                        .and_then(|c| sasl.respond(&c).map_err(|_| ()));
                    let response = match challenge {
                        Ok(r) => format!("{}\r\n", B64.encode(r)),
                        // RFC 4954 §4: "*" cancels the exchange.
                        Err(()) => "*\r\n".to_string(),
                    };
                    reply = self.command(response.as_bytes(), Stage::Auth, t).await?;
                }
                _ => {
                    return Err(SmtpError::AuthFailed {
                        mechanism,
                        reply,
                        detail: sasl.server_error().map(str::to_string),
                    });
                }
            }
        }
        self.broken = true;
        Err(SmtpError::AuthFailed {
            mechanism,
            reply,
            detail: Some("too many challenges".into()),
        })
    }
}

/// The credentials the mode needs: Required wants a user and a non-empty secret,
/// Optional a user (the password may be empty).
fn check_credentials(config: &SmtpClientConfig) -> Result<&Credentials, SmtpError> {
    let c = config
        .credentials
        .as_ref()
        .filter(|c| !c.username.is_empty())
        .ok_or_else(|| SmtpError::Config("AUTH is configured but the user name is empty".into()))?;
    let empty_secret = c.secret.expose().is_empty();
    match (&c.secret, config.auth) {
        (Secret::BearerToken(_), _) if empty_secret => {
            Err(SmtpError::Config("the OAuth2 access token is empty".into()))
        }
        (Secret::Password(_), AuthMode::Required) if empty_secret => Err(SmtpError::Config(
            "AUTH is required but the password is empty (use optional AUTH for an empty password)"
                .into(),
        )),
        _ => Ok(c),
    }
}
