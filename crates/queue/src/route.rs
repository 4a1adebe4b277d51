//! Routes and the rules that pick one: an ordered list of rules by recipient domain,
//! sender address or sender domain; the first that matches names the route; no match
//! takes the route called `default`, or direct delivery. Pure.

use pillarbox_config::{OutboundTls, QueueSection, RouteConfig, RouteKind, RuleConfig};

/// A route with its settings resolved to concrete values.
#[derive(Debug, Clone)]
pub struct Route {
    pub config: RouteConfig,
}

impl Route {
    pub fn name(&self) -> &str {
        &self.config.name
    }

    pub fn is_direct(&self) -> bool {
        self.config.kind == RouteKind::Direct
    }

    /// The TLS mode: configured, else opportunistic (direct) / STARTTLS (smart host).
    pub fn tls(&self) -> OutboundTls {
        self.config.tls.unwrap_or(if self.is_direct() {
            OutboundTls::Opportunistic
        } else {
            OutboundTls::Starttls
        })
    }

    /// The port: configured, else 25 (direct), 465 (implicit TLS) or 587.
    pub fn port(&self) -> u16 {
        self.config
            .port
            .unwrap_or(match (self.is_direct(), self.tls()) {
                (true, _) => 25,
                (false, OutboundTls::Implicit) => 465,
                (false, OutboundTls::None) => 25,
                (false, _) => 587,
            })
    }

    /// Whether the server certificate must verify: configured, else yes for smart hosts
    /// and no for direct delivery (MX certificates rarely match).
    pub fn tls_verify(&self) -> bool {
        self.config.tls_verify.unwrap_or(!self.is_direct())
    }

    /// The direct route used when nothing else is configured.
    pub fn implicit_direct() -> Route {
        Route {
            config: RouteConfig {
                name: "direct".into(),
                kind: RouteKind::Direct,
                host: None,
                port: None,
                tls: None,
                tls_min_version: pillarbox_config::TlsVersion::Tls12,
                tls_verify: None,
                tls_ca_file: None,
                auth: pillarbox_config::AuthRequirement::None,
                mechanisms: Vec::new(),
                username: None,
                password: None,
                password_file: None,
                credentials: pillarbox_config::CredentialSource::Route,
                oauth2: None,
                pop_before_smtp: None,
                ehlo_name: None,
                connect_timeout_ms: 30_000,
                command_timeout: pillarbox_config::Seconds::mins(5),
                messages_per_minute: 0,
                max_connections: 0,
            },
        }
    }
}

/// The routes and rules of `[queue]`.
#[derive(Debug, Clone)]
pub struct RouteTable {
    routes: Vec<Route>,
    rules: Vec<RuleConfig>,
    default: usize,
}

/// `*` matches anything, `*.example.com` a domain and its subdomains, anything else
/// the exact domain (case-insensitive).
fn domain_matches(pattern: &str, domain: &str) -> bool {
    let (p, d) = (pattern.to_ascii_lowercase(), domain.to_ascii_lowercase());
    if p == "*" {
        return true;
    }
    match p.strip_prefix("*.") {
        Some(base) => d == base || d.ends_with(&format!(".{base}")),
        None => p == d,
    }
}

impl RouteTable {
    pub fn new(q: &QueueSection) -> RouteTable {
        let mut routes: Vec<Route> = q
            .routes
            .iter()
            .map(|c| Route { config: c.clone() })
            .collect();
        if !routes.iter().any(|r| r.name() == "direct") {
            routes.push(Route::implicit_direct());
        }
        let default = routes
            .iter()
            .position(|r| r.name() == "default")
            .or_else(|| routes.iter().position(|r| r.name() == "direct"))
            .unwrap_or(0);
        RouteTable {
            routes,
            rules: q.rules.clone(),
            default,
        }
    }

    /// A route by name.
    pub fn get(&self, name: &str) -> Option<&Route> {
        self.routes.iter().find(|r| r.name() == name)
    }

    /// The route for a recipient domain and sender; `forced` (a route chosen by the
    /// producer) wins when it exists.
    pub fn select(&self, forced: Option<&str>, sender: &str, rcpt_domain: &str) -> &Route {
        if let Some(r) = forced.and_then(|n| self.get(n)) {
            return r;
        }
        let sender_domain = sender.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
        for rule in &self.rules {
            let ok = rule
                .recipient_domain
                .as_deref()
                .is_none_or(|p| domain_matches(p, rcpt_domain))
                && rule
                    .sender
                    .as_deref()
                    .is_none_or(|s| s.eq_ignore_ascii_case(sender))
                && rule
                    .sender_domain
                    .as_deref()
                    .is_none_or(|p| domain_matches(p, sender_domain));
            if ok && let Some(r) = self.get(&rule.route) {
                return r;
            }
        }
        &self.routes[self.default]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(toml_text: &str) -> RouteTable {
        let c = pillarbox_config::Config::parse(toml_text, std::path::Path::new("t.toml")).unwrap();
        RouteTable::new(&c.queue)
    }

    #[test]
    fn rules_in_order_then_default() {
        let t = table(
            r#"
[[queue.route]]
name = "isp"
kind = "smarthost"
host = "smtp.isp.example"
[[queue.route]]
name = "partners"
kind = "smarthost"
host = "relay.partner.example"
port = 2525
tls = "none"
[[queue.rule]]
recipient_domain = "*.partner.example"
route = "partners"
[[queue.rule]]
sender_domain = "sales.example.com"
route = "isp"
[[queue.rule]]
sender = "ceo@example.com"
route = "direct"
"#,
        );
        assert_eq!(
            t.select(None, "a@b.example", "x.partner.example").name(),
            "partners"
        );
        assert_eq!(
            t.select(None, "a@b.example", "partner.example").name(),
            "partners"
        );
        assert_eq!(
            t.select(None, "bob@sales.example.com", "gmail.example")
                .name(),
            "isp"
        );
        assert_eq!(
            t.select(None, "ceo@example.com", "gmail.example").name(),
            "direct"
        );
        assert_eq!(
            t.select(None, "other@example.com", "gmail.example").name(),
            "direct"
        );
        assert_eq!(
            t.select(Some("isp"), "ceo@example.com", "gmail.example")
                .name(),
            "isp"
        );
        assert_eq!(t.select(Some("missing"), "x@y", "z").name(), "direct");
        let p = t.get("partners").unwrap();
        assert_eq!((p.port(), p.tls()), (2525, OutboundTls::None));
        let isp = t.get("isp").unwrap();
        assert_eq!(
            (isp.port(), isp.tls(), isp.tls_verify()),
            (587, OutboundTls::Starttls, true)
        );
        let direct = t.get("direct").unwrap();
        assert_eq!(
            (direct.port(), direct.tls(), direct.tls_verify()),
            (25, OutboundTls::Opportunistic, false)
        );
    }

    #[test]
    fn a_route_named_default_catches_the_rest() {
        let t = table(
            "[[queue.route]]\nname = \"default\"\nkind = \"smarthost\"\nhost = \"relay\"\ntls = \"implicit\"\n",
        );
        let r = t.select(None, "a@b", "c.example");
        assert_eq!((r.name(), r.port()), ("default", 465));
    }
}
