//! The names the CLI takes, checked before they are stored: domain names as DNS names
//! (RFC 1035 §2.3.1, RFC 5890: internationalised names stored as A-labels under IDNA
//! 2008 / UTS #46 and shown as U-labels), local parts of addresses (RFC 5321 §4.1.2:
//! dot-atoms), alias patterns (an address or `*@domain`).

use anyhow::{Result, bail};

/// A domain name as stored: lower case, A-labels, no trailing dot.
pub fn domain(input: &str) -> Result<String> {
    let s = input.trim();
    if s.is_empty() {
        bail!("a domain name cannot be empty");
    }
    if s.contains('@') {
        bail!("{s:?} is an address: give only the domain, the part after @");
    }
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.starts_with('.') || s.contains("..") {
        bail!("{s:?} has an empty label (a leading dot or two dots in a row)");
    }
    let ascii = idna::domain_to_ascii_strict(s)
        .map_err(|_| anyhow::anyhow!("{s:?} is not a valid domain name: only letters, digits and hyphens between dots (internationalised names are welcome)"))?;
    if ascii.len() > 253 {
        bail!("{s:?} is longer than 253 characters");
    }
    for label in ascii.split('.') {
        if label.is_empty() || label.len() > 63 {
            bail!("{s:?}: every label (between dots) must have 1 to 63 characters");
        }
        if label.starts_with('-') || label.ends_with('-') {
            bail!("{s:?}: a label cannot begin or end with a hyphen");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            bail!("{s:?}: only letters, digits and hyphens between dots");
        }
    }
    if ascii.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        bail!("{s:?} is an IP address, not a domain name");
    }
    Ok(ascii)
}

/// How a stored domain is shown: U-labels.
pub fn show_domain(ascii: &str) -> String {
    let (unicode, r) = idna::domain_to_unicode(ascii);
    if r.is_ok() {
        unicode
    } else {
        ascii.to_string()
    }
}

/// An address as stored: a dot-atom local part (RFC 5322 §3.2.3, UTF-8 allowed as
/// RFC 6531 does) at a valid domain (A-labels).
pub fn address(input: &str) -> Result<String> {
    let s = input.trim();
    let Some((local, dom)) = s.rsplit_once('@') else {
        bail!("{s:?} is not an address: expected name@domain");
    };
    local_part(local)?;
    Ok(format!("{local}@{}", domain(dom)?))
}

fn local_part(local: &str) -> Result<()> {
    if local.is_empty() || local.len() > 64 {
        bail!("the part before @ must have 1 to 64 characters");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        bail!("{local:?}: dots only between characters, one at a time");
    }
    const SPECIALS: &[u8] = b"!#$%&'*+-/=?^_`{|}~.";
    if let Some(c) = local.chars().find(|c| {
        !(c.is_alphanumeric() || (c.is_ascii() && SPECIALS.contains(&(*c as u8))) || !c.is_ascii())
            || c.is_control()
            || c.is_whitespace()
    }) {
        bail!("{local:?}: {c:?} is not allowed before @");
    }
    Ok(())
}

/// An alias source: an address, or `*@domain` (the catch-all).
pub fn alias_source(input: &str) -> Result<String> {
    match input.trim().strip_prefix("*@") {
        Some(d) => Ok(format!("*@{}", domain(d)?)),
        None => address(input),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains() {
        assert_eq!(domain("Example.COM").unwrap(), "example.com");
        assert_eq!(domain("example.com.").unwrap(), "example.com");
        assert_eq!(domain("bücher.example").unwrap(), "xn--bcher-kva.example");
        assert_eq!(show_domain("xn--bcher-kva.example"), "bücher.example");
        for bad in [
            "",
            " ",
            "Bad Domain",
            "x@y.com",
            "a..b",
            "has/slash",
            ".lead.com",
            "-a.com",
            "a-.com",
            "192.0.2.1",
            &"a".repeat(64),
        ] {
            assert!(domain(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn addresses() {
        assert_eq!(
            address("Bob.Smith@Example.com").unwrap(),
            "Bob.Smith@example.com"
        );
        assert_eq!(
            address("o'neil+tag@example.com").unwrap(),
            "o'neil+tag@example.com"
        );
        assert_eq!(address("josé@example.com").unwrap(), "josé@example.com");
        for bad in [
            "bob",
            "@example.com",
            "a b@example.com",
            ".bob@example.com",
            "bob.@example.com",
            "a..b@example.com",
            "bob@bad domain",
            "bo\"b@example.com",
        ] {
            assert!(address(bad).is_err(), "{bad:?} must be refused");
        }
        assert_eq!(alias_source("*@Example.com").unwrap(), "*@example.com");
        assert!(alias_source("*@").is_err());
    }
}
