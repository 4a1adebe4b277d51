//! Feeds arbitrary bytes to the milter client's packet decoder
//! (`pillarbox_scan::milter::decode`) and reply parser (`Reply::parse`) as a hostile
//! milter would send them, then applies the header edits and replacement body those
//! replies carry (`apply`) to a message made of the rest of the input (the first byte
//! says where the input is split in two). Nothing may panic; a decoded packet never
//! claims more bytes than it was given and encodes back to exactly those bytes; no
//! edits and no body leave the message as it was; and an edit adds at most one field
//! (a value's line breaks fold, they never start a field of their own).

#![no_main]

use libfuzzer_sys::fuzz_target;
use pillarbox_scan::milter::{HeaderEdit, MAX_PACKET, Reply, apply, decode, encode};

fuzz_target!(|data: &[u8]| {
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let at = (usize::from(cut) * rest.len() / 255).min(rest.len());
    let (wire, msg) = rest.split_at(at);

    let mut edits = Vec::new();
    let mut body: Option<Vec<u8>> = None;
    let mut buf = wire;
    while let Ok(Some((p, used))) = decode(buf) {
        assert!(used >= 5 && used <= buf.len() && used <= MAX_PACKET + 4);
        assert_eq!(encode(p.cmd, &p.data), &buf[..used]);
        match Reply::parse(&p) {
            Ok(Reply::AddHeader { name, value }) => edits.push(HeaderEdit::Add { name, value }),
            Ok(Reply::InsHeader { index, name, value }) => {
                edits.push(HeaderEdit::Insert { index, name, value })
            }
            Ok(Reply::ChgHeader { index, name, value }) => {
                edits.push(HeaderEdit::Change { index, name, value })
            }
            Ok(Reply::ReplBody(chunk)) => body.get_or_insert_with(Vec::new).extend(chunk),
            _ => {}
        }
        buf = &buf[used..];
    }

    let out = apply(msg, &edits, body.as_deref());
    if edits.is_empty() && body.is_none() {
        assert_eq!(out, msg);
    }
    assert!(fields(&out) <= fields(msg) + edits.len());
});

/// The lines of the header that start a field (not continuations), up to the blank
/// line.
fn fields(msg: &[u8]) -> usize {
    msg.split_inclusive(|&b| b == b'\n')
        .take_while(|l| *l != b"\n" && *l != b"\r\n")
        .filter(|l| !l.starts_with(b" ") && !l.starts_with(b"\t"))
        .count()
}
