//! The account's "code page": the charset that 8-bit header and body text without a
//! declared charset is read with, turned into UTF-8 (headers) or a declared charset
//! (text parts) before the message is stored, so it shows readable everywhere.
//!
//! Pure: bytes in, bytes out (through `pillarbox_mime`). Never touches a message that
//! is all ASCII, and never changes bytes the code page does not concern.

/// A validated code page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodePage {
    label: String,
}

impl CodePage {
    /// Accepts a charset label `encoding_rs` knows that keeps ASCII as ASCII
    /// (windows-1252, ISO-8859-2, Shift_JIS, KOI8-R, GBK...; not UTF-16).
    pub fn parse(label: &str) -> Result<CodePage, String> {
        match pillarbox_mime::encoding_for_label(label) {
            Some(e) if e.is_ascii_compatible() => Ok(CodePage {
                label: e.name().to_string(),
            }),
            Some(e) => Err(format!(
                "{} cannot be a code page for mail headers (not ASCII-compatible)",
                e.name()
            )),
            None => Err(format!(
                "unknown charset {label:?} (e.g. windows-1252, ISO-8859-2, Shift_JIS)"
            )),
        }
    }

    /// The canonical name, e.g. `windows-1252`.
    pub fn name(&self) -> &str {
        &self.label
    }

    /// The message with its undeclared 8-bit text made readable; `None` when nothing
    /// needed to change.
    pub fn apply(&self, raw: &[u8]) -> Option<Vec<u8>> {
        if raw.is_ascii() {
            return None;
        }
        let out = pillarbox_mime::reencode_undeclared_8bit_headers(raw, &self.label);
        (out != raw).then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(CodePage::parse("cp1252").unwrap().name(), "windows-1252");
        assert_eq!(CodePage::parse("latin-2").unwrap().name(), "ISO-8859-2");
        assert_eq!(CodePage::parse("sjis").unwrap().name(), "Shift_JIS");
        assert!(CodePage::parse("utf-16").is_err());
        assert!(CodePage::parse("nope").is_err());
    }

    #[test]
    fn windows_1252_subject_becomes_readable() {
        let cp = CodePage::parse("windows-1252").unwrap();
        let raw = b"Subject: Caf\xe9 \x80 5\r\nFrom: Ren\xe9 <r@example.net>\r\n\r\nhello\r\n";
        let out = cp.apply(raw).expect("rewritten");
        let text = String::from_utf8(out.clone()).expect("UTF-8 headers");
        let parsed = pillarbox_mime::parse(&out);
        let subject = parsed.envelope.subject.clone().unwrap_or_default();
        let subject = pillarbox_mime::decode_encoded_words(subject.as_bytes());
        assert_eq!(subject, "Café € 5", "{text}");
        assert!(cp.apply(b"Subject: plain\r\n\r\nascii\r\n").is_none());
    }
}
