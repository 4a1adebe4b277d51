//! The per-account service policy of the seed's "Mail Services" screen: POP on/off and
//! "only from LAN IPs", IMAP on/off and "only from LAN IPs", MultiPOP collection on/off,
//! connector access (which requires IMAP). One pure function decides; the protocols show
//! its reason to the user.

use std::fmt;
use std::net::IpAddr;

use pillarbox_config::IpRanges;
use pillarbox_store::ServiceFlags;

/// A service an account may be allowed to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Pop3,
    Imap,
    /// Sending through submission (always allowed to an enabled account).
    Submission,
    /// Collection of mail from remote accounts (MultiPOP).
    Collection,
    /// Groupware connector access (later CalDAV/CardDAV/JMAP).
    Connector,
}

impl Service {
    /// A short name for counters and metrics (`imap`, `submission`).
    pub fn key(self) -> &'static str {
        match self {
            Service::Pop3 => "pop3",
            Service::Imap => "imap",
            Service::Submission => "submission",
            Service::Collection => "collection",
            Service::Connector => "connector",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Service::Pop3 => "POP3",
            Service::Imap => "IMAP",
            Service::Submission => "SMTP submission",
            Service::Collection => "mail collection (MultiPOP)",
            Service::Connector => "connector",
        })
    }
}

/// Why a service was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyDenial {
    /// The service is off for this account.
    Disabled(Service),
    /// The service is allowed only from the LAN and the client is outside it.
    LanOnly { service: Service, peer: IpAddr },
    /// Connector access needs IMAP, which is off.
    ConnectorNeedsImap,
    /// The whole account is disabled.
    AccountDisabled,
}

impl fmt::Display for PolicyDenial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyDenial::Disabled(s) => write!(f, "{s} access is disabled for this account"),
            PolicyDenial::LanOnly { service, peer } => write!(
                f,
                "{service} access is allowed for this account only from the local network, and {peer} is outside it"
            ),
            PolicyDenial::ConnectorNeedsImap => {
                f.write_str("connector access requires IMAP, which is disabled for this account")
            }
            PolicyDenial::AccountDisabled => f.write_str("this account is disabled"),
        }
    }
}

impl std::error::Error for PolicyDenial {}

/// Decides whether an account with `flags` may use `service` from `peer`.
pub fn check(
    flags: &ServiceFlags,
    disabled: bool,
    service: Service,
    peer: IpAddr,
    lan: &IpRanges,
) -> Result<(), PolicyDenial> {
    if disabled {
        return Err(PolicyDenial::AccountDisabled);
    }
    let (enabled, lan_only) = match service {
        Service::Pop3 => (flags.pop, flags.pop_lan_only),
        Service::Imap => (flags.imap, flags.imap_lan_only),
        Service::Submission => (true, false),
        Service::Collection => (flags.multipop, false),
        Service::Connector => {
            if !flags.imap {
                return Err(PolicyDenial::ConnectorNeedsImap);
            }
            // The connector rides on IMAP, so IMAP's LAN restriction applies to it too.
            (flags.connector, flags.imap_lan_only)
        }
    };
    if !enabled {
        return Err(PolicyDenial::Disabled(service));
    }
    if lan_only && !lan.contains(peer) {
        return Err(PolicyDenial::LanOnly { service, peer });
    }
    Ok(())
}

/// Checks a change of flags before it is stored: connector access cannot be switched on
/// (or kept on) while IMAP is off.
pub fn validate_flags(flags: &ServiceFlags) -> Result<(), PolicyDenial> {
    if flags.connector && !flags.imap {
        return Err(PolicyDenial::ConnectorNeedsImap);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lan() -> IpRanges {
        IpRanges::from_static(&["127.0.0.0/8", "192.168.0.0/16", "fd00::/8"])
    }

    const INSIDE: [&str; 3] = ["127.0.0.1", "192.168.1.20", "fd00::5"];
    const OUTSIDE: [&str; 3] = ["203.0.113.9", "127.1.0.1.invalid", "2001:db8::1"];

    fn peers(list: &[&str]) -> Vec<IpAddr> {
        list.iter().filter_map(|s| s.parse().ok()).collect()
    }

    /// Every combination of on/off × LAN-only × inside/outside, for POP3 and IMAP.
    #[test]
    fn pop_and_imap_every_combination() {
        for service in [Service::Pop3, Service::Imap] {
            for enabled in [false, true] {
                for lan_only in [false, true] {
                    for (inside, addrs) in [(true, peers(&INSIDE)), (false, peers(&OUTSIDE))] {
                        for peer in addrs {
                            let mut flags = ServiceFlags::default();
                            match service {
                                Service::Pop3 => {
                                    flags.pop = enabled;
                                    flags.pop_lan_only = lan_only;
                                    // The other service's settings must not matter.
                                    flags.imap = !enabled;
                                    flags.imap_lan_only = !lan_only;
                                }
                                _ => {
                                    flags.imap = enabled;
                                    flags.imap_lan_only = lan_only;
                                    flags.pop = !enabled;
                                    flags.pop_lan_only = !lan_only;
                                }
                            }
                            let got = check(&flags, false, service, peer, &lan());
                            let want = if !enabled {
                                Err(PolicyDenial::Disabled(service))
                            } else if lan_only && !inside {
                                Err(PolicyDenial::LanOnly { service, peer })
                            } else {
                                Ok(())
                            };
                            assert_eq!(
                                got, want,
                                "{service} enabled={enabled} lan_only={lan_only} peer={peer}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn ipv4_mapped_ipv6_counts_as_its_ipv4_address() {
        let flags = ServiceFlags {
            imap_lan_only: true,
            ..ServiceFlags::default()
        };
        let mapped: IpAddr = "::ffff:192.168.1.20".parse().unwrap();
        assert_eq!(check(&flags, false, Service::Imap, mapped, &lan()), Ok(()));
    }

    #[test]
    fn connector_without_imap_is_refused() {
        let flags = ServiceFlags {
            imap: false,
            connector: true,
            ..ServiceFlags::default()
        };
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(
            check(&flags, false, Service::Connector, peer, &lan()),
            Err(PolicyDenial::ConnectorNeedsImap)
        );
        assert_eq!(
            validate_flags(&flags),
            Err(PolicyDenial::ConnectorNeedsImap)
        );
        assert!(
            PolicyDenial::ConnectorNeedsImap
                .to_string()
                .contains("requires IMAP")
        );
    }

    #[test]
    fn connector_with_imap_follows_its_own_switch_and_imap_lan_rule() {
        let peer_out: IpAddr = "203.0.113.9".parse().unwrap();
        let on = ServiceFlags {
            connector: true,
            ..ServiceFlags::default()
        };
        assert_eq!(
            check(&on, false, Service::Connector, peer_out, &lan()),
            Ok(())
        );
        let off = ServiceFlags::default();
        assert_eq!(
            check(&off, false, Service::Connector, peer_out, &lan()),
            Err(PolicyDenial::Disabled(Service::Connector))
        );
        let lan_only = ServiceFlags {
            connector: true,
            imap_lan_only: true,
            ..ServiceFlags::default()
        };
        assert!(matches!(
            check(&lan_only, false, Service::Connector, peer_out, &lan()),
            Err(PolicyDenial::LanOnly { .. })
        ));
    }

    #[test]
    fn multipop_switch_and_disabled_account() {
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        let off = ServiceFlags {
            multipop: false,
            ..ServiceFlags::default()
        };
        assert_eq!(
            check(&off, false, Service::Collection, peer, &lan()),
            Err(PolicyDenial::Disabled(Service::Collection))
        );
        assert_eq!(
            check(&ServiceFlags::default(), true, Service::Imap, peer, &lan()),
            Err(PolicyDenial::AccountDisabled)
        );
    }

    #[test]
    fn reasons_say_why() {
        let peer: IpAddr = "203.0.113.9".parse().unwrap();
        let text = PolicyDenial::LanOnly {
            service: Service::Pop3,
            peer,
        }
        .to_string();
        assert!(
            text.contains("POP3")
                && text.contains("only from the local network")
                && text.contains("203.0.113.9")
        );
        assert_eq!(
            PolicyDenial::Disabled(Service::Imap).to_string(),
            "IMAP access is disabled for this account"
        );
    }
}
