//! Where a domain's mail goes (RFC 5321 §5.1): its MX hosts in preference order (equal
//! preferences shuffled), with their addresses; the domain itself when it has no MX
//! (implicit MX); a null MX (RFC 7505) means the domain accepts no mail. Nameservers
//! are the system's or the configured `ip:port` list ("resolve destination's domain
//! using DNS server…").

use std::net::{IpAddr, SocketAddr};

use hickory_resolver::TokioResolver;
use hickory_resolver::proto::rr::RData;

/// One host to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MxHost {
    pub name: String,
    pub preference: u16,
    pub addrs: Vec<IpAddr>,
}

/// Why no host could be found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MxError {
    /// RFC 7505: the domain publishes a null MX. Permanent.
    #[error("domain {0} does not accept mail (null MX, RFC 7505)")]
    NullMx(String),
    /// The domain does not exist. Permanent.
    #[error("domain {0} does not exist (NXDOMAIN)")]
    NoSuchDomain(String),
    /// MX hosts exist but none has an address. Temporary.
    #[error("no address found for the mail servers of {0}")]
    NoAddress(String),
    /// The lookup failed (timeout, SERVFAIL...). Temporary.
    #[error("DNS lookup for {domain} failed: {reason}")]
    Lookup { domain: String, reason: String },
}

impl MxError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, MxError::NullMx(_) | MxError::NoSuchDomain(_))
    }
}

/// An MX resolver.
#[derive(Clone)]
pub struct MxResolver {
    resolver: TokioResolver,
}

impl std::fmt::Debug for MxResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MxResolver").finish_non_exhaustive()
    }
}

impl MxResolver {
    /// A resolver using `nameservers` (`ip:port`), or the system configuration when
    /// the list is empty.
    pub fn new(nameservers: &[SocketAddr]) -> Result<MxResolver, MxError> {
        let err = |e: &dyn std::fmt::Display| MxError::Lookup {
            domain: String::new(),
            reason: e.to_string(),
        };
        let resolver = pillarbox_net::dns::resolver(nameservers, std::time::Duration::from_secs(5))
            .map_err(|e| err(&e))?;
        Ok(MxResolver { resolver })
    }

    /// The TXT records at `name`, each with its strings joined (RFC 7208 §3.3); empty
    /// when there are none or the name does not exist.
    pub async fn txt(&self, name: &str) -> Result<Vec<String>, MxError> {
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        match self.resolver.txt_lookup(fqdn.as_str()).await {
            Ok(lookup) => Ok(lookup
                .answers()
                .iter()
                .filter_map(|r| match &r.data {
                    RData::TXT(txt) => Some(
                        txt.txt_data
                            .iter()
                            .map(|s| String::from_utf8_lossy(s).into_owned())
                            .collect::<String>(),
                    ),
                    _ => None,
                })
                .collect()),
            Err(e) if e.is_nx_domain() || e.is_no_records_found() => Ok(Vec::new()),
            Err(e) => Err(MxError::Lookup {
                domain: name.to_string(),
                reason: e.to_string(),
            }),
        }
    }

    /// The MX names of `domain` as published (no implicit MX, no address lookups).
    pub async fn mx_names(&self, domain: &str) -> Result<Vec<String>, MxError> {
        let fqdn = format!("{}.", domain.trim_end_matches('.'));
        match self.resolver.mx_lookup(fqdn.as_str()).await {
            Ok(lookup) => Ok(lookup
                .answers()
                .iter()
                .filter_map(|r| match &r.data {
                    RData::MX(mx) => Some(mx.exchange.to_ascii().trim_end_matches('.').to_string()),
                    _ => None,
                })
                .collect()),
            Err(e) if e.is_nx_domain() || e.is_no_records_found() => Ok(Vec::new()),
            Err(e) => Err(MxError::Lookup {
                domain: domain.to_string(),
                reason: e.to_string(),
            }),
        }
    }

    /// The hosts to try for `domain`, best first.
    pub async fn hosts(&self, domain: &str) -> Result<Vec<MxHost>, MxError> {
        let fqdn = format!("{}.", domain.trim_end_matches('.'));
        let fail = |e: &hickory_resolver::net::NetError| MxError::Lookup {
            domain: domain.to_string(),
            reason: e.to_string(),
        };
        let mut mxs: Vec<(u16, String)> = match self.resolver.mx_lookup(fqdn.as_str()).await {
            Ok(lookup) => lookup
                .answers()
                .iter()
                .filter_map(|r| match &r.data {
                    RData::MX(mx) => Some((mx.preference, mx.exchange.to_ascii())),
                    _ => None,
                })
                .collect(),
            Err(e) if e.is_nx_domain() => return Err(MxError::NoSuchDomain(domain.to_string())),
            Err(e) if e.is_no_records_found() => Vec::new(),
            Err(e) => return Err(fail(&e)),
        };
        if mxs.len() == 1 && (mxs[0].1 == "." || mxs[0].1.is_empty()) {
            return Err(MxError::NullMx(domain.to_string()));
        }
        mxs.retain(|(_, h)| h != "." && !h.is_empty());
        if mxs.is_empty() {
            // RFC 5321 §5.1: no MX, so the domain itself is the implicit MX.
            mxs.push((0, fqdn.clone()));
        }
        shuffle_equal_preferences(&mut mxs);
        let mut hosts = Vec::with_capacity(mxs.len());
        for (preference, name) in mxs {
            let addrs: Vec<IpAddr> = match name.trim_end_matches('.').parse::<IpAddr>() {
                Ok(ip) => vec![ip],
                Err(_) => match self.resolver.lookup_ip(name.as_str()).await {
                    Ok(ips) => ips.iter().collect(),
                    Err(_) => Vec::new(),
                },
            };
            hosts.push(MxHost {
                name: name.trim_end_matches('.').to_string(),
                preference,
                addrs,
            });
        }
        if hosts.iter().all(|h| h.addrs.is_empty()) {
            return Err(MxError::NoAddress(domain.to_string()));
        }
        Ok(hosts)
    }
}

/// Sorts by preference and shuffles hosts of equal preference (RFC 5321 §5.1).
fn shuffle_equal_preferences(mxs: &mut [(u16, String)]) {
    use rand::seq::SliceRandom;
    mxs.sort_by_key(|m| m.0);
    let mut i = 0;
    while i < mxs.len() {
        let j = mxs[i..]
            .iter()
            .position(|m| m.0 != mxs[i].0)
            .map(|k| i + k)
            .unwrap_or(mxs.len());
        mxs[i..j].shuffle(&mut rand::rng());
        i = j;
    }
}
