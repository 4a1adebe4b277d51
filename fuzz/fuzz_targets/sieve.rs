//! Fuzz target: `pillarbox_sieve::compile` on arbitrary script text and, when it
//! compiles, a run over a fixed message with a host that knows one included script.
//! Checks that nothing panics and that compile errors carry a position.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pillarbox_sieve::{Host, IncludeLocation, Input, Options, compile};

const MESSAGE: &[u8] = b"Received: from a by b; Tue, 1 Jul 2025 08:25:00 +0000\r\n\
From: Alice <alice+tag@example.com>\r\nTo: bob@example.org, undisclosed:;\r\n\
Subject: =?UTF-8?Q?caf=C3=A9?= invoice\r\nMessage-ID: <x@example.com>\r\n\
Date: Tue, 1 Jul 2025 10:20:30 +0200\r\nList-Id: <l.example.com>\r\n\
Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n\
hello\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>hi</p>\r\n--b--\r\n";

/// Includes resolve to the fuzzed script itself, so include loops are exercised.
struct SelfHost<'a>(&'a [u8]);

impl Host for SelfHost<'_> {
    fn include(&mut self, _name: &str, _location: IncludeLocation) -> Option<String> {
        std::str::from_utf8(self.0).ok().map(str::to_string)
    }

    fn mailbox_exists(&mut self, name: &str) -> bool {
        name.len() % 2 == 0
    }

    fn duplicate_seen(&mut self, _handle: &str, id: &str) -> bool {
        id.len() % 2 == 1
    }
}

fuzz_target!(|source: &[u8]| {
    let mut options = Options::default();
    options.limits.max_steps = 20_000;
    match compile(source, &options) {
        Err(error) => assert!(error.line >= 1 && error.column >= 1),
        Ok(script) => {
            let mut input = Input::new(MESSAGE, "alice@example.com", "bob@example.org");
            input.now = 1_751_358_030;
            let _ = script.run(&input, &mut SelfHost(source));
        }
    }
});
