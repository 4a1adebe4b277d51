//! Feeds arbitrary bytes to the PROXY protocol header parser (`pillarbox_net::
//! proxy_protocol::parse`), as the first bytes of a connection from a trusted balancer.
//! It must never panic, and: a complete header is never longer than the input nor than
//! its version's cap, its result does not depend on the bytes after it, and every proper
//! prefix of it is "incomplete" (bytes arriving one at a time give the same answer);
//! "incomplete" is only said of inputs shorter than the caps.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pillarbox_net::proxy_protocol::{Parsed, ProxyVersion, V1_MAX_LEN, V2_MAX_LEN, parse};

fuzz_target!(|data: &[u8]| {
    match parse(data) {
        Ok(Parsed::Complete { header, len }) => {
            assert!(len <= data.len(), "a header within the input");
            let cap = match header.version {
                ProxyVersion::V1 => V1_MAX_LEN,
                ProxyVersion::V2 => V2_MAX_LEN,
            };
            assert!(len <= cap, "a header within its cap");
            assert_eq!(
                parse(&data[..len]),
                Ok(Parsed::Complete { header, len }),
                "the bytes after the header do not change it"
            );
            for n in 0..len {
                assert_eq!(parse(&data[..n]), Ok(Parsed::Incomplete), "prefix {n}");
            }
        }
        Ok(Parsed::Incomplete) => {
            assert!(data.len() < V2_MAX_LEN, "incomplete only below the caps");
        }
        Err(_) => {}
    }
});
