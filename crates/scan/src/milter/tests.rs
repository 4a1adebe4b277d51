//! The milter client against scripted local peers (rspamd-style no-reply sessions,
//! full-reply sessions with modifications, skips, garbage, closes, timeouts) and the
//! pure packet decoder and `apply`.

use std::net::IpAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::*;
use crate::ScanErrorKind;
use crate::test_peer::peer;

// ---- pure: decode ----

#[test]
fn decodes_one_packet_at_a_time() {
    let mut wire = encode(b'h', b"X-Spam\0Yes\0");
    wire.extend(encode(b'a', b""));
    let (p, used) = decode(&wire).unwrap().unwrap();
    assert_eq!(
        p,
        Packet {
            cmd: b'h',
            data: b"X-Spam\0Yes\0".to_vec()
        }
    );
    assert_eq!(used, 4 + 1 + 11);
    let (p, used2) = decode(&wire[used..]).unwrap().unwrap();
    assert_eq!(
        p,
        Packet {
            cmd: b'a',
            data: vec![]
        }
    );
    assert_eq!(used + used2, wire.len());
}

#[test]
fn incomplete_packets_ask_for_more() {
    let wire = encode(b'y', b"550 5.7.1 no\0");
    for n in 0..wire.len() {
        assert_eq!(decode(&wire[..n]), Ok(None), "prefix {n}");
    }
}

#[test]
fn refuses_garbage_lengths() {
    assert!(decode(&[0, 0, 0, 0, b'a']).is_err());
    assert!(decode(&[0, 0, 0, 0]).is_err());
    // 1 MiB + 1
    assert!(decode(&[0, 0x10, 0, 2, b'h']).is_err());
    assert!(decode(b"HTTP/1.1 400 Bad Request\r\n").is_err());
    assert!(decode(&[0xff, 0xff, 0xff, 0xff]).is_err());
    // A replacement-body chunk may be 64 KiB, not more; other packets up to 1 MiB.
    assert_eq!(decode(&[0, 1, 0, 1, b'b']), Ok(None));
    assert!(decode(&[0, 1, 0, 2, b'b']).is_err());
    assert_eq!(decode(&[0, 1, 0, 2, b'h']), Ok(None));
    assert_eq!(decode(&[0, 0x10, 0, 0, b'h']), Ok(None));
}

// ---- pure: replies ----

fn reply(cmd: u8, data: &[u8]) -> Result<Reply, ScanError> {
    Reply::parse(&Packet {
        cmd,
        data: data.to_vec(),
    })
}

#[test]
fn parses_replies() {
    let mut o = 6u32.to_be_bytes().to_vec();
    o.extend(0x11u32.to_be_bytes());
    o.extend(0xff080u32.to_be_bytes());
    o.extend(b"extra symlist data\0");
    assert_eq!(
        reply(b'O', &o),
        Ok(Reply::OptNeg {
            version: 6,
            actions: 0x11,
            protocol: 0xff080
        })
    );
    assert_eq!(reply(b'a', b""), Ok(Reply::Accept));
    assert_eq!(reply(b'c', b""), Ok(Reply::Continue));
    assert_eq!(reply(b'r', b""), Ok(Reply::Reject));
    assert_eq!(reply(b't', b""), Ok(Reply::TempFail));
    assert_eq!(reply(b'4', b""), Ok(Reply::TempFail));
    assert_eq!(reply(b'd', b""), Ok(Reply::Discard));
    assert_eq!(reply(b'p', b""), Ok(Reply::Progress));
    assert_eq!(reply(b's', b""), Ok(Reply::Skip));
    assert_eq!(
        reply(b'y', b"550 5.7.1 Spam\0"),
        Ok(Reply::ReplyCode("550 5.7.1 Spam".into()))
    );
    assert_eq!(reply(b'y', b"421"), Ok(Reply::ReplyCode("421".into())));
    assert_eq!(
        reply(b'y', b"550-5.7.1 a\r\n550 5.7.1 b\0"),
        Ok(Reply::ReplyCode("550-5.7.1 a\r\n550 5.7.1 b".into()))
    );
    assert_eq!(
        reply(b'h', b"X-Spam\0Yes\0"),
        Ok(Reply::AddHeader {
            name: "X-Spam".into(),
            value: "Yes".into()
        })
    );
    assert_eq!(
        reply(b'h', b"X-Empty\0"),
        Ok(Reply::AddHeader {
            name: "X-Empty".into(),
            value: "".into()
        })
    );
    assert_eq!(
        reply(b'i', b"\0\0\0\x02X-I\0v\n\tw\0"),
        Ok(Reply::InsHeader {
            index: 2,
            name: "X-I".into(),
            value: "v\n\tw".into()
        })
    );
    assert_eq!(
        reply(b'm', b"\0\0\0\x01Subject\0\0"),
        Ok(Reply::ChgHeader {
            index: 1,
            name: "Subject".into(),
            value: "".into()
        })
    );
    assert_eq!(reply(b'b', b"new"), Ok(Reply::ReplBody(b"new".to_vec())));
    assert_eq!(
        reply(b'q', b"virus\0"),
        Ok(Reply::Quarantine("virus".into()))
    );
    for (c, n) in [
        (b'+', "addrcpt"),
        (b'-', "delrcpt"),
        (b'e', "chgfrom"),
        (b'2', "addrcpt_par"),
        (b'l', "setsymlist"),
    ] {
        assert_eq!(reply(c, b"<x@y>\0"), Ok(Reply::Unsupported(n)));
    }
}

#[test]
fn refuses_malformed_replies() {
    for (c, d) in [
        (b'O', &b"\0\0\0\x06\0\0\0\x01"[..]),
        (b'y', b"250 ok\0"),
        (b'y', b"5"),
        (b'y', b"55x"),
        (b'y', b"5500"),
        (b'y', b""),
        (b'h', b"\0v\0"),
        (b'h', b"X Y\0v\0"),
        (b'h', b"X:Y\0v\0"),
        (b'h', b"X\r\nY\0v\0"),
        (b'h', b""),
        (b'i', b"\0\0\0"),
        (b'm', b"\0\0\0\x01"),
        (b'Z', b""),
        (0, b""),
    ] {
        assert!(reply(c, d).is_err(), "{} {}", c as char, d.escape_ascii());
    }
    let e = reply(b'Z', b"xx").unwrap_err();
    assert_eq!(e.to_string(), "unknown reply \"Z\" (2 bytes)");
}

// ---- pure: the message as shown, and apply ----

const MSG: &[u8] = b"Received: from x\r\n\tby y\r\nSubject: hello\r\n world\r\nX-Spam: old\r\nfrom: a@b\r\nbadline\r\nX-SPAM:   older\r\n\r\nbody line\r\n";

#[test]
fn splits_headers_as_a_milter_sees_them() {
    let s = message::split(MSG);
    let shown: Vec<(String, String)> = s
        .fields
        .iter()
        .filter_map(|f| {
            Some((
                String::from_utf8(f.name(MSG)?.to_vec()).unwrap(),
                String::from_utf8(f.milter_value(MSG)).unwrap(),
            ))
        })
        .collect();
    assert_eq!(
        shown,
        vec![
            ("Received".into(), "from x\n\tby y".into()),
            ("Subject".into(), "hello\n world".into()),
            ("X-Spam".into(), "old".into()),
            ("from".into(), "a@b".into()),
            ("X-SPAM".into(), "older".into()),
        ]
    );
    assert_eq!(&MSG[s.body_start..], b"body line\r\n");
    assert_eq!(&MSG[s.header_end..], b"\r\nbody line\r\n");

    let s = message::split(b"A: 1\nB: 2");
    assert_eq!(s.fields.len(), 2);
    assert_eq!(s.body_start, 9);
    let s = message::split(b"\r\nonly body");
    assert!(s.fields.is_empty());
    assert_eq!(s.body_start, 2);
    let s = message::split(b"");
    assert!(s.fields.is_empty());
    let s = message::split(b" continuation first\r\n\r\n");
    assert_eq!(s.fields.len(), 1);
    assert_eq!(s.fields[0].name(b" continuation first\r\n\r\n"), None);
}

fn add(name: &str, value: &str) -> HeaderEdit {
    HeaderEdit::Add {
        name: name.into(),
        value: value.into(),
    }
}
fn ins(index: u32, name: &str, value: &str) -> HeaderEdit {
    HeaderEdit::Insert {
        index,
        name: name.into(),
        value: value.into(),
    }
}
fn chg(index: u32, name: &str, value: &str) -> HeaderEdit {
    HeaderEdit::Change {
        index,
        name: name.into(),
        value: value.into(),
    }
}

fn applied(msg: &[u8], edits: &[HeaderEdit], body: Option<&[u8]>) -> String {
    String::from_utf8(apply(msg, edits, body)).unwrap()
}

#[test]
fn applies_nothing_as_nothing() {
    assert_eq!(apply(MSG, &[], None), MSG);
    assert_eq!(apply(b"no newline", &[], None), b"no newline");
}

#[test]
fn adds_at_the_end_of_the_header() {
    assert_eq!(
        applied(
            b"A: 1\r\nB: 2\r\n\r\nbody\r\n",
            &[add("X-Spam", "Yes"), add("X-Two", "")],
            None
        ),
        "A: 1\r\nB: 2\r\nX-Spam: Yes\r\nX-Two:\r\n\r\nbody\r\n"
    );
    // No body, no final line end.
    assert_eq!(applied(b"A: 1", &[add("B", "2")], None), "A: 1\r\nB: 2\r\n");
}

#[test]
fn inserts_at_a_position() {
    let m = b"A: 1\r\nB: 2\r\n\r\n";
    assert_eq!(
        applied(m, &[ins(0, "T", "top")], None),
        "T: top\r\nA: 1\r\nB: 2\r\n\r\n"
    );
    assert_eq!(
        applied(m, &[ins(1, "M", "mid")], None),
        "A: 1\r\nM: mid\r\nB: 2\r\n\r\n"
    );
    assert_eq!(
        applied(m, &[ins(99, "E", "end")], None),
        "A: 1\r\nB: 2\r\nE: end\r\n\r\n"
    );
    assert_eq!(
        applied(m, &[ins(u32::MAX, "E", "end")], None),
        "A: 1\r\nB: 2\r\nE: end\r\n\r\n"
    );
}

#[test]
fn changes_the_nth_field_of_a_name() {
    // X-Spam occurs twice (case-insensitively); index 2 is the second.
    let out = applied(MSG, &[chg(2, "x-spam", "new")], None);
    assert!(out.contains("X-Spam: old\r\n"), "{out}");
    assert!(out.contains("X-SPAM: new\r\n\r\nbody line\r\n"), "{out}");
    // 0 counts as 1; a folded field is replaced whole.
    let out = applied(MSG, &[chg(0, "Subject", "bye")], None);
    assert!(out.contains("\r\nSubject: bye\r\nX-Spam: old\r\n"), "{out}");
    assert!(!out.contains("world"), "{out}");
    // An empty value deletes.
    let out = applied(MSG, &[chg(1, "X-SPAM", ""), chg(1, "x-spam", "")], None);
    assert!(!out.to_ascii_lowercase().contains("x-spam"), "{out}");
    // Past the last occurrence: added (or, empty, nothing).
    let out = applied(MSG, &[chg(3, "X-Spam", "third")], None);
    assert!(
        out.ends_with("X-SPAM:   older\r\nX-Spam: third\r\n\r\nbody line\r\n"),
        "{out}"
    );
    assert_eq!(applied(MSG, &[chg(3, "X-Spam", "")], None).as_bytes(), MSG);
    // The malformed line is kept and never matched.
    assert!(applied(MSG, &[add("Z", "z")], None).contains("\r\nbadline\r\n"));
}

#[test]
fn edits_apply_in_order() {
    let m = b"A: 1\r\n\r\n";
    let out = applied(
        m,
        &[
            ins(0, "X", "1"),
            chg(1, "X", "2"),
            add("X", "3"),
            chg(2, "x", ""),
        ],
        None,
    );
    assert_eq!(out, "X: 2\r\nA: 1\r\n\r\n");
}

#[test]
fn new_values_fold_and_never_start_a_field() {
    let m = b"A: 1\r\n\r\n";
    assert_eq!(
        applied(
            m,
            &[add("X-Res", "a;\n\tb;\r\n c;\n\nInjected: yes\r\rd\0")],
            None
        ),
        "A: 1\r\nX-Res: a;\r\n\tb;\r\n c;\r\n Injected: yes\r\n d\r\n\r\n"
    );
    // Invalid names are ignored.
    assert_eq!(
        applied(
            m,
            &[
                add("Bad Name", "x"),
                add("", "x"),
                add("A:B", "x"),
                chg(1, "A\r\n", "")
            ],
            None
        ),
        "A: 1\r\n\r\n"
    );
}

#[test]
fn replaces_the_body() {
    assert_eq!(
        applied(b"A: 1\r\n\r\nold\r\n", &[], Some(b"new\nlines\r\nok\n")),
        "A: 1\r\n\r\nnew\r\nlines\r\nok\r\n"
    );
    assert_eq!(applied(b"A: 1", &[], Some(b"b")), "A: 1\r\n\r\nb");
    assert_eq!(applied(b"", &[], Some(b"b")), "\r\nb");
}

// ---- the client against scripted milters ----

async fn read_pkt(s: &mut TcpStream) -> Option<Packet> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).await.ok()?;
    let mut d = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut d).await.ok()?;
    let (&cmd, data) = d.split_first()?;
    Some(Packet {
        cmd,
        data: data.to_vec(),
    })
}

fn optneg(version: u32, actions: u32, protocol: u32) -> Vec<u8> {
    let mut o = version.to_be_bytes().to_vec();
    o.extend(actions.to_be_bytes());
    o.extend(protocol.to_be_bytes());
    encode(b'O', &o)
}

type Responder = Box<dyn FnMut(&Packet) -> Vec<u8> + Send>;

/// A milter that answers option negotiation with `protocol`, then gives each packet
/// to `respond` and writes what it returns; it reports every packet it got (the
/// option negotiation included) once the client quits or closes.
async fn milter_peer(
    version: u32,
    protocol: u32,
    mut respond: Responder,
) -> (Endpoint, tokio::sync::oneshot::Receiver<Vec<Packet>>) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let ep = peer(move |mut s| async move {
        let mut got = Vec::new();
        if let Some(o) = read_pkt(&mut s).await {
            got.push(o);
            s.write_all(&optneg(version, act::ADDHDRS | act::CHGHDRS, protocol))
                .await
                .unwrap();
            while let Some(p) = read_pkt(&mut s).await {
                let out = respond(&p);
                let quit = p.cmd == b'Q';
                got.push(p);
                if quit {
                    break;
                }
                if !out.is_empty() && s.write_all(&out).await.is_err() {
                    break;
                }
            }
        }
        let _ = tx.send(got);
    })
    .await;
    (ep, rx)
}

fn milter(ep: Endpoint) -> Milter {
    Milter {
        name: "test".into(),
        endpoint: ep,
        connect_timeout: Duration::from_secs(5),
        timeout: Duration::from_secs(5),
    }
}

fn rcpts() -> Vec<String> {
    vec!["bob@x.test".into(), "carol@x.test".into()]
}

fn request(rcpts: &[String]) -> MilterRequest<'_> {
    MilterRequest {
        hostname: "mail.sender.test",
        ip: "192.0.2.7".parse::<IpAddr>().unwrap(),
        port: 40000,
        helo: "sender.test",
        from: "alice@sender.test",
        rcpts,
        queue_id: "Q123",
        our_hostname: "mx.pillarbox.test",
    }
}

fn cmds(got: &[Packet]) -> String {
    got.iter().map(|p| p.cmd as char).collect()
}

fn packets(list: &[(u8, &[u8])]) -> Vec<u8> {
    list.iter().flat_map(|(c, d)| encode(*c, d)).collect()
}

/// Continue on every step; `eom` at end of message.
fn continuing(eom: Vec<u8>) -> Responder {
    Box::new(move |p: &Packet| match p.cmd {
        b'C' | b'H' | b'M' | b'R' | b'T' | b'L' | b'N' | b'B' => encode(b'c', b""),
        b'E' => eom.clone(),
        _ => Vec::new(),
    })
}

#[tokio::test]
async fn rspamd_style_no_reply_session() {
    // rspamd's proxy: protocol 0xff080 (every NR_* bit), replies only at end of message.
    let eom = packets(&[
        (b'm', b"\0\0\0\x01X-Spam\0\0"),
        (b'h', b"X-Spamd-Result\0default: False [1.00 / 15.00]\0"),
        (b'a', b""),
    ]);
    let (ep, rx) = milter_peer(
        6,
        0xff080,
        Box::new(move |p: &Packet| {
            if p.cmd == b'E' {
                eom.clone()
            } else {
                Vec::new()
            }
        }),
    )
    .await;
    let r = rcpts();
    let result = tokio::time::timeout(Duration::from_secs(3), milter(ep).check(&request(&r), MSG))
        .await
        .expect("no hang waiting for replies that never come")
        .unwrap();
    assert_eq!(
        result,
        MilterResult {
            action: MilterAction::Accept,
            edits: vec![
                chg(1, "X-Spam", ""),
                add("X-Spamd-Result", "default: False [1.00 / 15.00]"),
            ],
            new_body: None,
            quarantine: None,
            unsupported: vec![],
        }
    );
    let got = rx.await.unwrap();
    assert_eq!(cmds(&got), "ODCHDMDRDRDTLLLLLDNBEQ");

    // What we offered.
    let o = &got[0].data;
    assert_eq!(&o[..4], &6u32.to_be_bytes());
    assert_eq!(
        u32::from_be_bytes(o[4..8].try_into().unwrap()),
        0x01 | 0x02 | 0x10 | 0x20
    );
    assert_eq!(
        u32::from_be_bytes(o[8..12].try_into().unwrap()),
        proto::OFFERED
    );
    assert_eq!(proto::OFFERED & 0xff080, 0xff080);
    // Macros before connect, then connect.
    assert_eq!(
        got[1].data,
        b"Cj\0mx.pillarbox.test\0{daemon_name}\0pillarbox\0i\0Q123\0{client_addr}\x00192.0.2.7\0{client_name}\0mail.sender.test\0{client_port}\x0040000\0"
    );
    let mut c = b"mail.sender.test\x004".to_vec();
    c.extend(40000u16.to_be_bytes());
    c.extend(b"192.0.2.7\0");
    assert_eq!(got[2].data, c);
    assert_eq!(got[3].data, b"sender.test\0");
    assert_eq!(got[4].data, b"Mi\0Q123\0{mail_addr}\0alice@sender.test\0");
    assert_eq!(got[5].data, b"<alice@sender.test>\0");
    assert_eq!(got[6].data, b"R{rcpt_addr}\0bob@x.test\0");
    assert_eq!(got[7].data, b"<bob@x.test>\0");
    assert_eq!(got[9].data, b"<carol@x.test>\0");
    assert_eq!(got[11].data, b"");
    let headers: Vec<&[u8]> = got[12..17].iter().map(|p| p.data.as_slice()).collect();
    assert_eq!(
        headers,
        vec![
            &b"Received\0from x\n\tby y\0"[..],
            b"Subject\0hello\n world\0",
            b"X-Spam\0old\0",
            b"from\0a@b\0",
            b"X-SPAM\0older\0",
        ]
    );
    assert_eq!(got[18].data, b"");
    assert_eq!(got[19].data, b"body line\r\n");
    assert_eq!(got[20].data, b"");
}

#[tokio::test]
async fn full_reply_session_with_modifications() {
    let mut eom = packets(&[(b'p', b"")]);
    eom.extend(packets(&[
        (b'b', b"new "),
        (b'p', b""),
        (b'b', b"body\r\n"),
        (b'q', b"looks odd\0"),
        (b'+', b"<x@y>\0"),
        (b'e', b"<z@y>\0"),
        (b'+', b"<x2@y>\0"),
        (b'i', b"\0\0\0\0X-First\0yes\0"),
        (b'c', b""),
    ]));
    let (ep, rx) = milter_peer(6, 0, continuing(eom)).await;
    let r = rcpts();
    let big: Vec<u8> = b"Subject: big\r\n\r\n"
        .iter()
        .copied()
        .chain(std::iter::repeat_n(b'z', 150_000))
        .collect();
    let result = milter(ep).check(&request(&r), &big).await.unwrap();
    assert_eq!(result.action, MilterAction::Continue);
    assert_eq!(result.edits, vec![ins(0, "X-First", "yes")]);
    assert_eq!(result.new_body.as_deref(), Some(&b"new body\r\n"[..]));
    assert_eq!(result.quarantine.as_deref(), Some("looks odd"));
    assert_eq!(result.unsupported, vec!["addrcpt", "chgfrom"]);
    let got = rx.await.unwrap();
    assert_eq!(cmds(&got), "ODCHDMDRDRDTLDNBBBEQ");
    let sizes: Vec<usize> = got
        .iter()
        .filter(|p| p.cmd == b'B')
        .map(|p| p.data.len())
        .collect();
    assert_eq!(sizes, vec![65535, 65535, 150_000 - 2 * 65535]);
    assert_eq!(
        apply(&big, &result.edits, result.new_body.as_deref()),
        b"X-First: yes\r\nSubject: big\r\n\r\nnew body\r\n"
    );
}

#[tokio::test]
async fn reject_at_rcpt_ends_the_session() {
    let (ep, rx) = milter_peer(
        6,
        0,
        Box::new(|p: &Packet| match p.cmd {
            b'R' => encode(b'y', b"550 5.7.1 no thanks\0"),
            b'C' | b'H' | b'M' => encode(b'c', b""),
            _ => Vec::new(),
        }),
    )
    .await;
    let r = rcpts();
    let result = milter(ep).check(&request(&r), MSG).await.unwrap();
    assert_eq!(
        result.action,
        MilterAction::Reject(Some("550 5.7.1 no thanks".into()))
    );
    assert!(result.edits.is_empty());
    assert_eq!(cmds(&rx.await.unwrap()), "ODCHDMDRQ");
}

#[tokio::test]
async fn early_verdicts() {
    for (at, reply, want) in [
        (b'C', encode(b't', b""), MilterAction::TempFail(None)),
        (b'H', encode(b'a', b""), MilterAction::Accept),
        (b'M', encode(b'd', b""), MilterAction::Discard),
        (b'N', encode(b'r', b""), MilterAction::Reject(None)),
        (
            b'B',
            encode(b'y', b"451 4.7.1 later\0"),
            MilterAction::TempFail(Some("451 4.7.1 later".into())),
        ),
    ] {
        let (ep, rx) = milter_peer(
            6,
            0,
            Box::new(move |p: &Packet| {
                if p.cmd == at {
                    reply.clone()
                } else if p.cmd != b'D' {
                    encode(b'c', b"")
                } else {
                    Vec::new()
                }
            }),
        )
        .await;
        let r = rcpts();
        let result = milter(ep).check(&request(&r), MSG).await.unwrap();
        assert_eq!(result.action, want);
        let got = rx.await.unwrap();
        assert_eq!(got[got.len() - 2].cmd, at);
        assert_eq!(got[got.len() - 1].cmd, b'Q');
    }
}

#[tokio::test]
async fn honours_no_step_bits() {
    use proto::*;
    let (ep, rx) = milter_peer(
        6,
        NOHELO | NOHDRS | NOBODY | NORCPT | NR_CONN,
        Box::new(|p: &Packet| match p.cmd {
            b'M' | b'T' | b'N' => encode(b'c', b""),
            b'E' => encode(b'a', b""),
            _ => Vec::new(),
        }),
    )
    .await;
    let r = rcpts();
    let result = milter(ep).check(&request(&r), MSG).await.unwrap();
    assert_eq!(result.action, MilterAction::Accept);
    assert_eq!(cmds(&rx.await.unwrap()), "ODCDMDTDNEQ");
}

#[tokio::test]
async fn old_milters_get_no_data_step() {
    let eom = encode(b'c', b"");
    let (ep, rx) = milter_peer(2, 0, continuing(eom)).await;
    let r = rcpts();
    milter(ep).check(&request(&r), MSG).await.unwrap();
    assert_eq!(cmds(&rx.await.unwrap()), "ODCHDMDRDRLLLLLDNBEQ");
}

#[tokio::test]
async fn skip_stops_the_body() {
    let (ep, rx) = milter_peer(
        6,
        proto::SKIP,
        Box::new(|p: &Packet| match p.cmd {
            b'B' => encode(b's', b""),
            b'E' => encode(b'a', b""),
            b'D' => Vec::new(),
            _ => encode(b'c', b""),
        }),
    )
    .await;
    let r = rcpts();
    let body = vec![b'x'; 200_000];
    let mut m = b"A: 1\r\n\r\n".to_vec();
    m.extend(&body);
    milter(ep).check(&request(&r), &m).await.unwrap();
    let got = rx.await.unwrap();
    assert_eq!(got.iter().filter(|p| p.cmd == b'B').count(), 1);
}

#[tokio::test]
async fn ipv6_and_null_sender() {
    let (ep, rx) = milter_peer(6, 0xff080, continuing(encode(b'a', b""))).await;
    let r = rcpts();
    let mut req = request(&r);
    req.ip = "2001:db8::25".parse().unwrap();
    req.from = "";
    req.helo = "evil\0helo";
    milter(ep).check(&req, b"").await.unwrap();
    let got = rx.await.unwrap();
    let c = &got[2];
    assert_eq!(c.cmd, b'C');
    let mut want = b"mail.sender.test\x006".to_vec();
    want.extend(40000u16.to_be_bytes());
    want.extend(b"2001:db8::25\0");
    assert_eq!(c.data, want);
    assert_eq!(got[3].data, b"evilhelo\0");
    assert_eq!(got[5].data, b"<>\0");
}

#[tokio::test]
async fn modification_before_end_of_message_is_a_protocol_error() {
    let (ep, _rx) = milter_peer(6, 0, Box::new(|_: &Packet| encode(b'h', b"X\0y\0"))).await;
    let r = rcpts();
    let e = milter(ep.clone())
        .check(&request(&r), MSG)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ScanErrorKind::Protocol);
    assert_eq!(
        e.to_string(),
        format!("milter test at {ep}: unexpected addheader reply to connect")
    );
}

#[tokio::test]
async fn garbage_answer_is_a_protocol_error() {
    let ep = peer(|mut s| async move {
        let _ = read_pkt(&mut s).await;
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
    })
    .await;
    let r = rcpts();
    let e = milter(ep.clone())
        .check(&request(&r), MSG)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ScanErrorKind::Protocol);
    assert!(
        e.to_string()
            .starts_with(&format!("milter test at {ep}: packet of")),
        "{e}"
    );

    let ep = peer(|mut s| async move {
        let _ = read_pkt(&mut s).await;
        let _ = s.write_all(&encode(b'c', b"")).await;
        let _ = read_pkt(&mut s).await;
    })
    .await;
    let e = milter(ep).check(&request(&r), MSG).await.unwrap_err();
    assert!(
        e.to_string()
            .ends_with("unexpected continue reply to option negotiation"),
        "{e}"
    );

    let ep = peer(|mut s| async move {
        let _ = read_pkt(&mut s).await;
        let _ = s.write_all(&optneg(1, 0, 0)).await;
    })
    .await;
    let e = milter(ep).check(&request(&r), MSG).await.unwrap_err();
    assert!(e.to_string().contains("version 1"), "{e}");

    let (ep, _rx) = milter_peer(6, 0, Box::new(|_: &Packet| encode(b'y', b"250 fine\0"))).await;
    let e = milter(ep).check(&request(&r), MSG).await.unwrap_err();
    assert_eq!(e.kind(), ScanErrorKind::Protocol);
    assert!(e.to_string().contains("not 4xx or 5xx"), "{e}");
}

#[tokio::test]
async fn closed_mid_session_is_a_protocol_error() {
    let ep = peer(|mut s| async move {
        let _ = read_pkt(&mut s).await;
        s.write_all(&optneg(6, 0, 0)).await.unwrap();
        let _ = read_pkt(&mut s).await;
        let _ = read_pkt(&mut s).await;
        // Half a reply, then gone.
        let _ = s.write_all(&[0, 0, 0, 1]).await;
    })
    .await;
    let r = rcpts();
    let e = milter(ep.clone())
        .check(&request(&r), MSG)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ScanErrorKind::Protocol);
    assert_eq!(
        e.to_string(),
        format!("milter test at {ep}: connection closed while waiting for the reply to connect")
    );
}

#[tokio::test]
async fn slow_milter_times_out() {
    let ep = peer(|mut s| async move {
        let _ = read_pkt(&mut s).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
    })
    .await;
    let r = rcpts();
    let mut m = milter(ep.clone());
    m.timeout = Duration::from_millis(200);
    let e = m.check(&request(&r), MSG).await.unwrap_err();
    assert_eq!(e.kind(), ScanErrorKind::Timeout);
    assert_eq!(
        e.to_string(),
        format!(
            "milter test at {ep}: timed out after 200ms waiting for the reply to option negotiation"
        )
    );
}

#[tokio::test]
async fn progress_keeps_a_slow_milter_alive() {
    let ep = peer(|mut s| async move {
        let _ = read_pkt(&mut s).await;
        s.write_all(&optneg(6, 0, 0xff080)).await.unwrap();
        while let Some(p) = read_pkt(&mut s).await {
            if p.cmd == b'E' {
                for _ in 0..8 {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    s.write_all(&encode(b'p', b"")).await.unwrap();
                }
                s.write_all(&encode(b'a', b"")).await.unwrap();
            }
        }
    })
    .await;
    let r = rcpts();
    let mut m = milter(ep);
    m.timeout = Duration::from_millis(300);
    let result = m.check(&request(&r), MSG).await.unwrap();
    assert_eq!(result.action, MilterAction::Accept);
}

#[tokio::test]
async fn endless_modifications_are_bounded() {
    let ep = peer(|mut s| async move {
        let _ = read_pkt(&mut s).await;
        s.write_all(&optneg(6, 0, 0xff080)).await.unwrap();
        while let Some(p) = read_pkt(&mut s).await {
            if p.cmd == b'E' {
                let many = encode(b'h', b"X-A\0b\0").repeat(MAX_EDITS + 1);
                let _ = s.write_all(&many).await;
            }
        }
    })
    .await;
    let r = rcpts();
    let e = milter(ep).check(&request(&r), MSG).await.unwrap_err();
    assert_eq!(e.kind(), ScanErrorKind::Protocol);
    assert!(e.to_string().contains("header edits"), "{e}");
}

#[tokio::test]
async fn refused_is_unavailable() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    let r = rcpts();
    let e = milter(Endpoint::Tcp(addr.to_string()))
        .check(&request(&r), MSG)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ScanErrorKind::Unavailable);
    assert_eq!(
        e.to_string(),
        format!("milter test at {addr}: connection refused")
    );
}
