//! The content-scanning peers themselves (support/scanners.rs): clamd finds EICAR and
//! passes clean mail, rspamd rejects GTUBE, passes clean mail, speaks milter on its
//! proxy worker and learns spam and ham.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use support::scanners::{
    Clamd, EICAR, EICAR_SIGNATURE, RSPAMD_PASSWORD, Rspamd, clean_message,
    eicar_attachment_message, eicar_message, gtube_message, http_request, text_message,
};

#[test]
fn clamd_finds_eicar_in_text_and_attachments() {
    let t = Instant::now();
    let clamd = Clamd::shared();
    eprintln!("clamd ready in {:?}", t.elapsed());
    let found = format!("stream: {EICAR_SIGNATURE} FOUND");
    assert_eq!(clamd.scan(EICAR.as_bytes()), found);
    assert_eq!(clamd.scan(eicar_message().as_bytes()), found);
    assert_eq!(clamd.scan(eicar_attachment_message().as_bytes()), found);
    assert_eq!(clamd.scan(clean_message().as_bytes()), "stream: OK");
    assert_eq!(clamd.scan(b""), "stream: OK");
    // A bigger message goes in several INSTREAM chunks.
    let big = text_message("big", &"all quiet here\r\n".repeat(20_000));
    assert_eq!(clamd.scan(big.as_bytes()), "stream: OK");
}

#[test]
fn clamd_stops_and_starts_again() {
    let mut clamd = Clamd::start();
    assert!(clamd.ping());
    let addr = clamd.addr();
    clamd.stop();
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err());
    assert!(!clamd.ping());
    clamd.restart();
    assert_eq!(clamd.addr(), addr);
    assert!(clamd.ping());
    assert!(clamd.scan(eicar_message().as_bytes()).ends_with("FOUND"));
}

fn symbols(reply: &serde_json::Value) -> Vec<String> {
    let mut v: Vec<String> = reply["symbols"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, s)| format!("{k}({})", s["score"]))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn rspamd_rejects_gtube() {
    let t = Instant::now();
    let rspamd = Rspamd::shared();
    eprintln!("rspamd ready in {:?}", t.elapsed());
    let reply = rspamd.check(gtube_message().as_bytes(), &[("IP", "127.0.0.1")]);
    eprintln!(
        "GTUBE: score {} action {} {:?}",
        reply["score"],
        reply["action"],
        symbols(&reply)
    );
    assert_eq!(reply["action"], "reject", "{reply}");
    assert!(reply["symbols"]["GTUBE"].is_object(), "{reply}");
}

#[test]
fn rspamd_passes_clean_mail() {
    let rspamd = Rspamd::shared();
    let msg = clean_message();
    for headers in [
        &[("IP", "127.0.0.1")][..],
        // A non-loopback client: SPF/DKIM/DMARC run and fail on the dead nameserver.
        &[
            ("IP", "192.0.2.10"),
            ("Helo", "mail.example.test"),
            ("From", "alice@example.test"),
            ("Rcpt", "bob@example.test"),
        ][..],
        &[][..],
    ] {
        let t = Instant::now();
        let reply = rspamd.check(msg.as_bytes(), headers);
        let score = reply["score"].as_f64().unwrap();
        eprintln!(
            "clean {headers:?}: score {score} action {} in {:?} {:?}",
            reply["action"],
            t.elapsed(),
            symbols(&reply)
        );
        assert_ne!(reply["action"], "reject", "{reply}");
        assert!(score < 4.0, "{reply}");
    }
}

/// Reads one milter packet: (command, data).
fn milter_read(s: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap();
    let mut data = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut data).unwrap();
    (data[0], data[1..].to_vec())
}

fn milter_write(s: &mut TcpStream, cmd: u8, data: &[u8]) {
    let mut p = ((data.len() + 1) as u32).to_be_bytes().to_vec();
    p.push(cmd);
    p.extend_from_slice(data);
    s.write_all(&p).unwrap();
}

#[test]
fn rspamd_proxy_speaks_milter() {
    let rspamd = Rspamd::shared();
    let mut s = TcpStream::connect(rspamd.milter_addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // SMFIC_OPTNEG: version 6, all actions (0x1ff), no protocol steps skipped.
    let mut optneg = Vec::new();
    for n in [6u32, 0x1ff, 0] {
        optneg.extend_from_slice(&n.to_be_bytes());
    }
    milter_write(&mut s, b'O', &optneg);
    let (cmd, data) = milter_read(&mut s);
    assert_eq!(cmd, b'O', "reply {data:?}");
    assert!(data.len() >= 12, "reply {data:?}");
    let word = |i: usize| u32::from_be_bytes(data[i * 4..i * 4 + 4].try_into().unwrap());
    eprintln!(
        "milter OPTNEG: version {} actions {:#x} protocol {:#x}",
        word(0),
        word(1),
        word(2)
    );
    assert_eq!(word(0), 6);
}

#[test]
fn rspamd_learns_spam_and_ham() {
    let rspamd = Rspamd::shared();
    let spam = text_message(
        "You are a winner",
        "Cheap pills, casino bonus and free bitcoin investment: click here now, limited \
         offer, urgent money transfer to claim your prize today.",
    );
    let (status, body) = rspamd.learn_spam(spam.as_bytes());
    assert!(status == 200 || status == 208, "learnspam: {status} {body}");
    // The same message again: 404 "already learned".
    let (again, body) = rspamd.learn_spam(spam.as_bytes());
    assert_eq!(again, 404, "learnspam again: {body}");
    let (status, body) = rspamd.learn_ham(clean_message().as_bytes());
    assert!(status == 200 || status == 208, "learnham: {status} {body}");
    // Without the password the controller refuses.
    let (status, _) = http_request(
        rspamd.controller_addr(),
        "POST",
        "/learnham",
        &[("Password", "wrong")],
        clean_message().as_bytes(),
    )
    .unwrap();
    assert_eq!(status, 401);
    let stat = rspamd.stat();
    assert!(stat["learned"].as_u64().unwrap() >= 2, "{stat}");
    let _ = RSPAMD_PASSWORD;
}

/// With its own rspamd (Bayes votes after one learn per class), learning changes
/// verdicts: the sqlite3 statistics backend works without redis.
#[test]
fn rspamd_bayes_uses_what_it_learned() {
    let t = Instant::now();
    let rspamd = Rspamd::start();
    eprintln!("own rspamd ready in {:?}", t.elapsed());
    let spam_words = "cheap pills offer money winner prize casino bonus free click here now \
                      limited urgent transfer bitcoin investment crypto rich loan";
    let ham_words = "meeting agenda project report quarterly budget review schedule team \
                     lunch friday notes draft proposal deadline colleague office minutes";
    // Pseudo-random texts over each vocabulary.
    let text = |words: &str, seed: u64| {
        let w: Vec<&str> = words.split_whitespace().collect();
        let mut x = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..80)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                w[(x >> 33) as usize % w.len()]
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    for i in 0..5 {
        let (s, b) = rspamd.learn_spam(text_message("offer", &text(spam_words, i)).as_bytes());
        assert_eq!(s, 200, "{b}");
        let (s, b) = rspamd.learn_ham(text_message("notes", &text(ham_words, 100 + i)).as_bytes());
        assert_eq!(s, 200, "{b}");
    }
    let ip = [("IP", "127.0.0.1")];
    let spam = rspamd.check(text_message("offer", &text(spam_words, 50)).as_bytes(), &ip);
    let ham = rspamd.check(text_message("notes", &text(ham_words, 150)).as_bytes(), &ip);
    eprintln!("bayes spam: {} {:?}", spam["score"], symbols(&spam));
    eprintln!("bayes ham: {} {:?}", ham["score"], symbols(&ham));
    assert!(spam["symbols"]["BAYES_SPAM"].is_object(), "{spam}");
    assert!(ham["symbols"]["BAYES_HAM"].is_object(), "{ham}");
}
