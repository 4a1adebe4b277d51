//! Feeds arbitrary bytes to clamd's reply parser (`pillarbox_scan::clamd::parse_reply`)
//! as a hostile or broken clamd would send them. Nothing may panic; a clean verdict
//! only comes from `stream: OK`, a signature is never empty nor holds control
//! characters, and every refusal is a protocol error with a bounded message.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pillarbox_scan::ScanErrorKind;
use pillarbox_scan::clamd::{VirusVerdict, parse_reply};

fuzz_target!(|data: &[u8]| {
    match parse_reply(data) {
        Ok(VirusVerdict::Clean) => assert!(data.starts_with(b"stream: OK")),
        Ok(VirusVerdict::Infected(sig)) => {
            assert!(data.starts_with(b"stream: "));
            assert!(!sig.is_empty());
            assert!(!sig.chars().any(char::is_control));
        }
        Err(e) => {
            assert_eq!(e.kind(), ScanErrorKind::Protocol);
            assert!(e.to_string().len() < 1200, "bounded message");
        }
    }
});
