//! Feeds arbitrary bytes to the import formats: mbox splitting in both variants (each
//! message's bytes must be CRLF lines, and writing a message back then reading it must
//! give it again in mboxrd), and Maildir's `dovecot-uidlist`, `dovecot-keywords`, file
//! names and folder names. None may panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pillarbox_transfer::{maildir, mbox};

fuzz_target!(|data: &[u8]| {
    for rd in [false, true] {
        for m in mbox::split(data, rd) {
            let again = mbox::write_entry(&m.sender, m.date.unwrap_or(0), m.flags, &[], &m.message, true);
            let back = mbox::split(&again, true);
            assert_eq!(back.len(), 1, "one message written, one read");
            assert_eq!(back[0].flags, m.flags);
        }
    }
    let _ = mbox::to_lf(&mbox::to_crlf(data));
    let text = String::from_utf8_lossy(data);
    let list = maildir::parse_uidlist(&text);
    let kws = maildir::parse_keywords(&text);
    for line in text.lines().take(50) {
        let (f, k) = maildir::flags_of(line, &kws);
        let refs: Vec<&str> = k.iter().map(String::as_str).collect();
        let mut letters = Vec::new();
        let _ = maildir::info_for(f, &refs, &mut letters);
        if let Some(name) = maildir::folder_name(line) {
            let _ = maildir::folder_dir(&name);
        }
    }
    let _ = list.uids.len();
});
