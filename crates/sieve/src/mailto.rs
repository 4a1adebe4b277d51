//! The notification methods of enotify (RFC 5435): only `mailto:` (RFC 5436), parsed
//! per RFC 6068 into recipients and header fields, and the capability answers of
//! RFC 5436 §2.
//!
//! Pure text handling; sends nothing. Never panics.

use crate::check::strings::is_addr_spec;

/// A parsed `mailto:` URI.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MailtoUri {
    /// Recipients: the path and any `to=` header field, percent-decoded.
    pub to: Vec<String>,
    /// Other header fields (`cc`, `subject`, `body`, …), names lower-cased,
    /// values percent-decoded.
    pub headers: Vec<(String, String)>,
}

impl MailtoUri {
    /// The value of the first header field named `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad percent-encoding in '{s}'"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("'{s}' does not decode to UTF-8"))
}

/// Header fields a `mailto:` URI in a notification may not set (RFC 5436 §2.2).
const UNSAFE_HEADERS: [&str; 6] = [
    "auto-submitted",
    "received",
    "message-id",
    "date",
    "from",
    "sender",
];

/// Parses a `mailto:` URI (RFC 6068 §2).
pub fn parse_mailto(uri: &str) -> Result<MailtoUri, String> {
    let rest = uri
        .get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("mailto:"))
        .and_then(|_| uri.get(7..))
        .ok_or_else(|| format!("'{uri}' is not a mailto: URI"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut parsed = MailtoUri::default();
    let add_recipients = |list: &str, parsed: &mut MailtoUri| -> Result<(), String> {
        for address in list.split(',').map(str::trim).filter(|a| !a.is_empty()) {
            if !is_addr_spec(address) {
                return Err(format!(
                    "'{address}' in the mailto: URI is not an e-mail address"
                ));
            }
            parsed.to.push(address.to_string());
        }
        Ok(())
    };
    add_recipients(&percent_decode(path)?, &mut parsed)?;
    for field in query.split('&').filter(|f| !f.is_empty()) {
        let (name, value) = field.split_once('=').unwrap_or((field, ""));
        let name = percent_decode(name)?.to_ascii_lowercase();
        let value = percent_decode(value)?;
        if name.is_empty() || !name.bytes().all(|b| (33..=126).contains(&b) && b != b':') {
            return Err(format!(
                "'{name}' is not a header field name in the mailto: URI"
            ));
        }
        if name == "to" {
            add_recipients(&value, &mut parsed)?;
        } else if !UNSAFE_HEADERS.contains(&name.as_str()) {
            parsed.headers.push((name, value));
        }
    }
    if parsed.to.is_empty() {
        return Err(format!("the mailto: URI '{uri}' names no recipient"));
    }
    Ok(parsed)
}

/// Checks a notification method URI: its scheme must be one the engine supports
/// (RFC 5435 §3.3) and it must be well formed.
pub(crate) fn check_method(uri: &str) -> Result<(), String> {
    let scheme = uri.split_once(':').map_or("", |(s, _)| s);
    if !scheme.eq_ignore_ascii_case("mailto") {
        return Err(format!(
            "unsupported notification method '{scheme}' in '{uri}'; only mailto: is available"
        ));
    }
    parse_mailto(uri).map(|_| ())
}

/// The answer to `notify_method_capability` (RFC 5435 §5, RFC 5436 §2.6): `mailto`
/// can tell nothing about whether the recipient is online.
pub(crate) fn capability(uri: &str, capability: &str) -> Option<&'static str> {
    check_method(uri).ok()?;
    capability.eq_ignore_ascii_case("online").then_some("maybe")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailto_uris_of_rfc_6068() {
        let m = parse_mailto("mailto:a@b.c,d@e.f?subject=Hi%20there&cc=x@y.z&to=g@h.i&from=x@y")
            .unwrap();
        assert_eq!(m.to, ["a@b.c", "d@e.f", "g@h.i"]);
        assert_eq!(m.header("subject"), Some("Hi there"));
        assert_eq!(m.header("cc"), Some("x@y.z"));
        assert_eq!(m.header("from"), None);
        assert!(parse_mailto("mailto:").is_err());
        assert!(parse_mailto("mailto:not-an-address").is_err());
        assert!(parse_mailto("mailto:a@b%zz").is_err());
        assert!(
            check_method("xmpp:a@b")
                .unwrap_err()
                .contains("unsupported")
        );
        assert_eq!(capability("mailto:a@b.c", "online"), Some("maybe"));
    }
}
