//! Provider presets: the token endpoints, scopes and mail hosts of Microsoft 365 and
//! Gmail, as data the queue's routes and the collection accounts can name
//! (`preset = "microsoft365"`). Values from the providers' public documentation.
//!
//! Data only: nothing here connects anywhere.

use pillarbox_net::ClientTlsMode;

use crate::sasl::Mechanism;

/// A mail host of a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    pub host: &'static str,
    pub port: u16,
    pub tls: ClientTlsMode,
}

/// What Pillarbox needs to know about a provider's OAuth2 mail access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderPreset {
    /// The name configurations use.
    pub name: &'static str,
    /// The token endpoint; `{tenant}` is replaced by the tenant (default `common`).
    pub token_url: &'static str,
    /// Scopes for the refresh-token grant, per protocol.
    pub smtp_scope: &'static str,
    pub imap_scope: &'static str,
    pub pop3_scope: &'static str,
    /// The scope of the client-credentials grant (application access), if supported.
    pub client_credentials_scope: Option<&'static str>,
    pub smtp: Endpoint,
    pub imap: Endpoint,
    pub pop3: Endpoint,
    /// The SASL mechanism the provider's servers accept for tokens.
    pub mechanism: Mechanism,
}

/// Microsoft 365 / Exchange Online.
pub const MICROSOFT_365: ProviderPreset = ProviderPreset {
    name: "microsoft365",
    token_url: "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
    smtp_scope: "https://outlook.office.com/SMTP.Send offline_access",
    imap_scope: "https://outlook.office.com/IMAP.AccessAsUser.All offline_access",
    pop3_scope: "https://outlook.office.com/POP.AccessAsUser.All offline_access",
    client_credentials_scope: Some("https://outlook.office365.com/.default"),
    smtp: Endpoint {
        host: "smtp.office365.com",
        port: 587,
        tls: ClientTlsMode::StartTls,
    },
    imap: Endpoint {
        host: "outlook.office365.com",
        port: 993,
        tls: ClientTlsMode::Implicit,
    },
    pop3: Endpoint {
        host: "outlook.office365.com",
        port: 995,
        tls: ClientTlsMode::Implicit,
    },
    mechanism: Mechanism::XOAuth2,
};

/// Google Gmail / Workspace.
pub const GMAIL: ProviderPreset = ProviderPreset {
    name: "gmail",
    token_url: "https://oauth2.googleapis.com/token",
    smtp_scope: "https://mail.google.com/",
    imap_scope: "https://mail.google.com/",
    pop3_scope: "https://mail.google.com/",
    client_credentials_scope: None,
    smtp: Endpoint {
        host: "smtp.gmail.com",
        port: 587,
        tls: ClientTlsMode::StartTls,
    },
    imap: Endpoint {
        host: "imap.gmail.com",
        port: 993,
        tls: ClientTlsMode::Implicit,
    },
    pop3: Endpoint {
        host: "pop.gmail.com",
        port: 995,
        tls: ClientTlsMode::Implicit,
    },
    mechanism: Mechanism::XOAuth2,
};

/// Every preset.
pub const PRESETS: &[ProviderPreset] = &[MICROSOFT_365, GMAIL];

/// Looks a preset up by name (`microsoft365`, also `office365`/`outlook`; `gmail`,
/// also `google`), case-insensitively.
pub fn preset(name: &str) -> Option<&'static ProviderPreset> {
    match name.to_ascii_lowercase().as_str() {
        "microsoft365" | "office365" | "outlook" | "m365" => Some(&PRESETS[0]),
        "gmail" | "google" => Some(&PRESETS[1]),
        _ => None,
    }
}

impl ProviderPreset {
    /// The token URL for a tenant (Microsoft: a tenant id or domain; `common` when
    /// none is given). Providers without tenants ignore it.
    pub fn token_url_for(&self, tenant: Option<&str>) -> String {
        let tenant = tenant.filter(|t| !t.is_empty()).unwrap_or("common");
        self.token_url.replace("{tenant}", tenant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_and_tenant() {
        let m = preset("Office365").unwrap();
        assert_eq!(
            m.token_url_for(Some("contoso.onmicrosoft.com")),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert_eq!(
            m.token_url_for(None),
            "https://login.microsoftonline.com/common/oauth2/v2.0/token"
        );
        assert_eq!((m.smtp.host, m.smtp.port), ("smtp.office365.com", 587));
        let g = preset("gmail").unwrap();
        assert_eq!(
            g.token_url_for(Some("ignored")),
            "https://oauth2.googleapis.com/token"
        );
        assert_eq!(g.pop3.port, 995);
        assert!(preset("yahoo").is_none());
    }
}
