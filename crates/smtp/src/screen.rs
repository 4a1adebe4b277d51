//! Screening of MX clients before their message: DNS block and allow lists (client
//! address at connection, HELO and MAIL FROM domains at MAIL), greylisting at RCPT,
//! early talkers (input before the greeting), and per-address connection and message
//! rates. Mail from relay networks and authenticated clients is never screened.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use mail_auth::hickory_resolver::TokioResolver;
use mail_auth::hickory_resolver::proto::rr::RData;
use pillarbox_config::{DnsList, DnsListKind, ScanSection};
use pillarbox_store::GreylistPolicy;

/// One DNS list that lists the client, its HELO name or its sender's domain.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing {
    pub zone: String,
    /// What is listed: the address or the domain.
    pub listed: String,
    pub answer: IpAddr,
    pub weight: f64,
}

/// The screening of one listener's clients. Shared by its sessions.
pub struct Screen {
    resolver: Option<TokioResolver>,
    lists: Vec<DnsList>,
    reject_weight: f64,
    dns_timeout: Duration,
    pub(crate) greylist: Option<GreylistPolicy>,
    pub(crate) greet_delay: Duration,
    connections: RateLimit,
    messages: RateLimit,
}

impl std::fmt::Debug for Screen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Screen")
            .field("lists", &self.lists.len())
            .finish_non_exhaustive()
    }
}

impl Screen {
    /// The screening `[scan]` configures (`None`: nothing to do); `resolver` are the
    /// nameservers for the DNS lists (empty: the system's).
    pub fn new(scan: &ScanSection, resolver: &[SocketAddr]) -> Result<Option<Screen>, String> {
        let any = !scan.dnsbl.is_empty()
            || scan.greylist.enabled
            || !scan.greet_delay.get().is_zero()
            || scan.max_connections_per_minute > 0
            || scan.max_messages_per_minute > 0;
        if !any {
            return Ok(None);
        }
        let resolver = if scan.dnsbl.is_empty() {
            None
        } else {
            Some(
                pillarbox_net::dns::resolver(resolver, scan.dns_timeout.get())
                    .map_err(|e| format!("scan: cannot set up the DNS resolver: {e}"))?,
            )
        };
        let g = &scan.greylist;
        let secs = |d: pillarbox_config::Seconds| d.get().as_secs() as i64;
        Ok(Some(Screen {
            resolver,
            lists: scan.dnsbl.clone(),
            reject_weight: scan.dnsbl_reject_weight,
            dns_timeout: scan.dns_timeout.get(),
            greylist: g.enabled.then(|| GreylistPolicy {
                delay: secs(g.delay),
                retry_window: secs(g.retry_window),
                auto_whitelist_after: i64::from(g.auto_whitelist_after),
                remember: secs(g.remember),
            }),
            greet_delay: scan.greet_delay.get(),
            connections: RateLimit::new(scan.max_connections_per_minute),
            messages: RateLimit::new(scan.max_messages_per_minute),
        }))
    }

    /// Whether a new connection from `ip` is within its rate.
    pub fn admit_connection(&self, ip: IpAddr) -> bool {
        self.connections.admit(ip, Instant::now())
    }

    /// Whether another message from `ip` is within its rate.
    pub fn admit_message(&self, ip: IpAddr) -> bool {
        self.messages.admit(ip, Instant::now())
    }

    /// Whether any list checks client addresses.
    pub fn checks_ips(&self) -> bool {
        self.resolver.is_some() && self.lists.iter().any(|l| l.kind == DnsListKind::Ip)
    }

    /// The lists that list `ip`.
    pub async fn check_ip(&self, ip: IpAddr) -> Vec<Listing> {
        let names: Vec<(usize, String)> = self
            .lists
            .iter()
            .enumerate()
            .filter(|(_, l)| l.kind == DnsListKind::Ip)
            .map(|(i, l)| (i, ip_query(ip, &l.zone)))
            .collect();
        self.lookup_all(names, ip.to_string()).await
    }

    /// The lists that list one of `domains`.
    pub async fn check_domains(&self, domains: &[&str]) -> Vec<Listing> {
        let mut out = Vec::new();
        for d in domains {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            if d.is_empty() || d.starts_with('[') || d.parse::<IpAddr>().is_ok() {
                continue;
            }
            let names: Vec<(usize, String)> = self
                .lists
                .iter()
                .enumerate()
                .filter(|(_, l)| l.kind == DnsListKind::Domain)
                .map(|(i, l)| (i, format!("{d}.{}.", l.zone.trim_matches('.'))))
                .collect();
            out.extend(self.lookup_all(names, d.clone()).await);
        }
        out
    }

    /// Whether `listings` add up to a refusal.
    pub fn refuses(&self, listings: &[Listing]) -> bool {
        !listings.is_empty() && weight(listings) >= self.reject_weight
    }

    async fn lookup_all(&self, names: Vec<(usize, String)>, listed: String) -> Vec<Listing> {
        let Some(resolver) = &self.resolver else {
            return Vec::new();
        };
        let mut set = tokio::task::JoinSet::new();
        for (i, name) in names {
            let r = resolver.clone();
            let wait = self.dns_timeout;
            set.spawn(async move {
                let answers = match tokio::time::timeout(wait, r.ipv4_lookup(name.as_str())).await {
                    Ok(Ok(lookup)) => lookup
                        .answers()
                        .iter()
                        .filter_map(|rec| match &rec.data {
                            RData::A(a) => Some(IpAddr::V4(a.0)),
                            _ => None,
                        })
                        .collect(),
                    Ok(Err(e)) => {
                        if !(e.is_nx_domain() || e.is_no_records_found()) {
                            tracing::debug!(query = %name, error = %e, "DNS list lookup failed");
                        }
                        Vec::new()
                    }
                    Err(_) => {
                        tracing::debug!(query = %name, "DNS list lookup timed out");
                        Vec::new()
                    }
                };
                (i, answers)
            });
        }
        let mut out = Vec::new();
        while let Some(Ok((i, answers))) = set.join_next().await {
            let list = &self.lists[i];
            if let Some(answer) = answers.into_iter().find(|a| counts(list, *a)) {
                out.push(Listing {
                    zone: list.zone.clone(),
                    listed: listed.clone(),
                    answer,
                    weight: list.weight,
                });
            }
        }
        out.sort_by(|a, b| a.zone.cmp(&b.zone));
        out
    }
}

/// The sum of the listings' weights.
pub fn weight(listings: &[Listing]) -> f64 {
    listings.iter().map(|l| l.weight).sum()
}

/// Whether an answer of `list` counts: one of its `returns`, or any 127/8 address
/// (other answers are a list's error codes, such as Spamhaus's 127.255.255.x, or a
/// resolver that hijacks NXDOMAIN).
fn counts(list: &DnsList, answer: IpAddr) -> bool {
    if list.returns.is_empty() {
        match answer {
            IpAddr::V4(a) => a.octets()[0] == 127 && a.octets()[1..3] != [255, 255],
            IpAddr::V6(_) => false,
        }
    } else {
        list.returns.contains(&answer)
    }
}

/// The query name of `ip` in `zone`: IPv4 reversed by octet, IPv6 reversed by nibble
/// (RFC 5782 §2.1, §2.4).
pub fn ip_query(ip: IpAddr, zone: &str) -> String {
    let zone = zone.trim_matches('.');
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}.{zone}.", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(v6) => {
            let mut s = String::with_capacity(64 + zone.len() + 1);
            for b in v6.octets().iter().rev() {
                s.push(hex(b & 0x0f));
                s.push('.');
                s.push(hex(b >> 4));
                s.push('.');
            }
            s.push_str(zone);
            s.push('.');
            s
        }
    }
}

fn hex(n: u8) -> char {
    char::from_digit(u32::from(n), 16).unwrap_or('0')
}

/// The network greylisting treats as one client: the /24 of an IPv4 address, the /64
/// of an IPv6 one (big senders retry from another address of the same pool).
pub fn greylist_network(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// Events per address per minute, counted in fixed one-minute windows.
struct RateLimit {
    per_minute: u32,
    seen: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl RateLimit {
    fn new(per_minute: u32) -> RateLimit {
        RateLimit {
            per_minute,
            seen: Mutex::new(HashMap::new()),
        }
    }

    fn admit(&self, ip: IpAddr, now: Instant) -> bool {
        if self.per_minute == 0 {
            return true;
        }
        const WINDOW: Duration = Duration::from_secs(60);
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() > 100_000 {
            seen.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let e = seen.entry(ip).or_insert((now, 0));
        if now.duration_since(e.0) >= WINDOW {
            *e = (now, 0);
        }
        if e.1 >= self.per_minute {
            return false;
        }
        e.1 += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_names() {
        assert_eq!(
            ip_query("192.0.2.99".parse().unwrap(), "bl.example"),
            "99.2.0.192.bl.example."
        );
        // RFC 5782 §2.4's example.
        assert_eq!(
            ip_query(
                "2001:db8:1:2:3:4:567:89ab".parse().unwrap(),
                "ugly.example.com."
            ),
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example.com."
        );
        assert_eq!(
            greylist_network("192.0.2.99".parse().unwrap()),
            "192.0.2.0/24"
        );
        assert_eq!(
            greylist_network("2001:db8:1:2:3:4:567:89ab".parse().unwrap()),
            "2001:db8:1:2::/64"
        );
    }

    #[test]
    fn answers_that_count() {
        let mut l = DnsList::default();
        assert!(counts(&l, "127.0.0.2".parse().unwrap()));
        assert!(!counts(&l, "127.255.255.254".parse().unwrap()));
        assert!(!counts(&l, "10.0.0.1".parse().unwrap()));
        l.returns = vec!["127.0.0.4".parse().unwrap()];
        assert!(!counts(&l, "127.0.0.2".parse().unwrap()));
        assert!(counts(&l, "127.0.0.4".parse().unwrap()));
    }

    #[test]
    fn rate_limit_windows() {
        let r = RateLimit::new(2);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let t = Instant::now();
        assert!(r.admit(ip, t));
        assert!(r.admit(ip, t));
        assert!(!r.admit(ip, t + Duration::from_secs(10)));
        assert!(r.admit("192.0.2.2".parse().unwrap(), t));
        assert!(r.admit(ip, t + Duration::from_secs(61)));
    }
}
