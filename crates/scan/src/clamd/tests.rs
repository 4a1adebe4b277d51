//! The clamd client against scripted local peers: chunking, the size cut, refusals,
//! garbage, early closes and timeouts.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::*;
use crate::ScanErrorKind;
use crate::test_peer::{peer, read_exact, read_until};

#[test]
fn parses_clean_and_infected() {
    assert_eq!(parse_reply(b"stream: OK\0"), Ok(VirusVerdict::Clean));
    assert_eq!(parse_reply(b"stream: OK"), Ok(VirusVerdict::Clean));
    assert_eq!(parse_reply(b"stream: OK\n"), Ok(VirusVerdict::Clean));
    assert_eq!(
        parse_reply(b"stream: Eicar-Test-Signature FOUND\0"),
        Ok(VirusVerdict::Infected("Eicar-Test-Signature".into()))
    );
    assert_eq!(
        parse_reply(b"stream: Pillarbox.Test.UNOFFICIAL FOUND"),
        Ok(VirusVerdict::Infected("Pillarbox.Test.UNOFFICIAL".into()))
    );
}

#[test]
fn errors_are_protocol_errors_quoting_the_reply() {
    let e = parse_reply(b"INSTREAM size limit exceeded. ERROR\0").unwrap_err();
    assert_eq!(e.kind(), ScanErrorKind::Protocol);
    assert_eq!(
        e.to_string(),
        "clamd reported an error: \"INSTREAM size limit exceeded. ERROR\""
    );
    let e = parse_reply(b"stream: Can't allocate memory ERROR\0").unwrap_err();
    assert!(e.to_string().starts_with("clamd reported an error"), "{e}");
}

#[test]
fn garbage_is_quoted_escaped_and_cut() {
    for bad in [
        &b""[..],
        b"\0",
        b"stream: ",
        b"stream: FOUND",
        b"stream:  FOUND",
        b"stream: OKAY",
        b"stream: a\x01b FOUND",
        b"PONG",
        b"\xff\xfe",
        b"HTTP/1.1 200 OK\r\n",
    ] {
        let e = parse_reply(bad).unwrap_err();
        assert_eq!(e.kind(), ScanErrorKind::Protocol, "{bad:?}");
    }
    let e = parse_reply(b"hello\x01\xff world").unwrap_err();
    assert_eq!(e.to_string(), "unexpected reply \"hello\\x01\\xff world\"");
    let long = vec![b'x'; 5000];
    let e = parse_reply(&long).unwrap_err().to_string();
    assert!(e.len() < 300 && e.ends_with('…'), "{e}");
}

/// A clamd that reads one INSTREAM session and returns its stream (or None when the
/// framing is wrong).
async fn read_instream(s: &mut TcpStream) -> Option<(Vec<u8>, Vec<usize>)> {
    let cmd = read_exact(s, 10).await;
    if cmd != b"zINSTREAM\0" {
        return None;
    }
    let mut data = Vec::new();
    let mut sizes = Vec::new();
    loop {
        let mut len = [0u8; 4];
        s.read_exact(&mut len).await.ok()?;
        let len = u32::from_be_bytes(len) as usize;
        if len == 0 {
            return Some((data, sizes));
        }
        sizes.push(len);
        data.extend(read_exact(s, len).await);
    }
}

fn clamd(endpoint: Endpoint) -> Clamd {
    Clamd {
        endpoint,
        timeout: Duration::from_secs(5),
        max_size: 1 << 20,
    }
}

#[tokio::test]
async fn scans_clean_in_chunks() {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let ep = peer(|mut s| async move {
        let got = read_instream(&mut s).await;
        s.write_all(b"stream: OK\0").await.unwrap();
        tx.send(got).unwrap();
    })
    .await;
    let msg: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(clamd(ep).scan(&msg).await, Ok(VirusVerdict::Clean));
    let (data, sizes) = rx.await.unwrap().expect("well-framed INSTREAM");
    assert_eq!(data, msg);
    assert!(sizes.iter().all(|&n| n <= CHUNK), "{sizes:?}");
    assert_eq!(sizes.len(), 4);
}

#[tokio::test]
async fn sends_only_max_size_bytes() {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let ep = peer(|mut s| async move {
        let got = read_instream(&mut s).await;
        s.write_all(b"stream: Eicar-Test-Signature FOUND\0")
            .await
            .unwrap();
        tx.send(got).unwrap();
    })
    .await;
    let mut c = clamd(ep);
    c.max_size = 100;
    let msg = vec![b'a'; 1000];
    assert_eq!(
        c.scan(&msg).await,
        Ok(VirusVerdict::Infected("Eicar-Test-Signature".into()))
    );
    let (data, _) = rx.await.unwrap().unwrap();
    assert_eq!(data.len(), 100);
}

#[tokio::test]
async fn empty_message_is_just_the_end_frame() {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let ep = peer(|mut s| async move {
        let got = read_instream(&mut s).await;
        s.write_all(b"stream: OK\0").await.unwrap();
        tx.send(got).unwrap();
    })
    .await;
    assert_eq!(clamd(ep).scan(b"").await, Ok(VirusVerdict::Clean));
    assert_eq!(rx.await.unwrap(), Some((vec![], vec![])));
}

#[tokio::test]
async fn size_limit_reply_wins_over_the_broken_write() {
    // clamd with a small StreamMaxLength answers and closes while we are still
    // writing: the caller must see clamd's reason, not a broken pipe.
    let ep = peer(|mut s| async move {
        let _ = read_exact(&mut s, 10 + 4 + 1000).await;
        s.write_all(b"INSTREAM size limit exceeded. ERROR\0")
            .await
            .unwrap();
        drop(s);
    })
    .await;
    let mut c = clamd(ep);
    c.max_size = 8 << 20;
    let msg = vec![b'v'; 8 << 20];
    let e = c.scan(&msg).await.unwrap_err();
    assert_eq!(e.kind(), ScanErrorKind::Protocol);
    assert!(
        e.to_string().contains("INSTREAM size limit exceeded"),
        "{e}"
    );
}

#[tokio::test]
async fn closed_mid_stream_is_an_error() {
    let ep = peer(|mut s| async move {
        let _ = read_exact(&mut s, 10).await;
        drop(s);
    })
    .await;
    let e = clamd(ep.clone())
        .scan(&vec![0u8; 4 << 20])
        .await
        .unwrap_err();
    assert!(
        matches!(
            e.kind(),
            ScanErrorKind::Unavailable | ScanErrorKind::Protocol
        ),
        "{e:?}"
    );
    assert!(
        e.to_string().starts_with(&format!("clamd at {ep}: ")),
        "{e}"
    );
}

#[tokio::test]
async fn closed_without_reply_is_protocol() {
    let ep = peer(|mut s| async move {
        let _ = read_instream(&mut s).await;
        drop(s);
    })
    .await;
    let e = clamd(ep).scan(b"x").await.unwrap_err();
    assert_eq!(e.kind(), ScanErrorKind::Protocol);
    assert!(
        e.to_string().ends_with("connection closed without a reply"),
        "{e}"
    );
}

#[tokio::test]
async fn partial_reply_then_close_is_judged() {
    let ep = peer(|mut s| async move {
        let _ = read_instream(&mut s).await;
        s.write_all(b"stream: O").await.unwrap();
    })
    .await;
    let e = clamd(ep).scan(b"x").await.unwrap_err();
    assert_eq!(e.kind(), ScanErrorKind::Protocol);
    assert!(
        e.to_string().contains("unexpected reply \"stream: O\""),
        "{e}"
    );
}

#[tokio::test]
async fn garbage_reply_is_protocol() {
    let ep = peer(|mut s| async move {
        let _ = read_instream(&mut s).await;
        s.write_all(b"\x01\x02garbage\0").await.unwrap();
    })
    .await;
    let e = clamd(ep.clone()).scan(b"x").await.unwrap_err();
    assert_eq!(e.kind(), ScanErrorKind::Protocol);
    assert_eq!(
        e.to_string(),
        format!("clamd at {ep}: unexpected reply \"\\x01\\x02garbage\"")
    );
}

#[tokio::test]
async fn endless_reply_is_bounded() {
    let ep = peer(|mut s| async move {
        let _ = read_instream(&mut s).await;
        let junk = vec![b'j'; 64 * 1024];
        for _ in 0..16 {
            if s.write_all(&junk).await.is_err() {
                break;
            }
        }
    })
    .await;
    let e = clamd(ep).scan(b"x").await.unwrap_err();
    assert_eq!(e.kind(), ScanErrorKind::Protocol);
    assert!(
        e.to_string().contains("reply longer than 4096 bytes"),
        "{e}"
    );
}

#[tokio::test]
async fn slow_reply_times_out() {
    let ep = peer(|mut s| async move {
        let _ = read_instream(&mut s).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        let _ = s.write_all(b"stream: OK\0").await;
    })
    .await;
    let mut c = clamd(ep.clone());
    c.timeout = Duration::from_millis(200);
    let e = c.scan(b"x").await.unwrap_err();
    assert_eq!(e.kind(), ScanErrorKind::Timeout);
    assert_eq!(
        e.to_string(),
        format!("clamd at {ep}: timed out after 200ms waiting for the reply")
    );
}

#[tokio::test]
async fn peer_not_reading_times_out_on_send() {
    let ep = peer(|s| async move {
        tokio::time::sleep(Duration::from_secs(3)).await;
        drop(s);
    })
    .await;
    let mut c = clamd(ep);
    c.timeout = Duration::from_millis(300);
    c.max_size = 64 << 20;
    let e = c.scan(&vec![0u8; 64 << 20]).await.unwrap_err();
    assert_eq!(e.kind(), ScanErrorKind::Timeout);
    assert!(e.to_string().contains("sending the message"), "{e}");
}

#[tokio::test]
async fn refused_is_unavailable() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    let e = clamd(Endpoint::Tcp(addr.to_string()))
        .scan(b"x")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ScanErrorKind::Unavailable);
    assert_eq!(
        e.to_string(),
        format!("clamd at {addr}: connection refused")
    );
}

#[tokio::test]
async fn ping_pong() {
    let ep = peer(|mut s| async move {
        let got = read_until(&mut s, b"\0").await;
        assert_eq!(got, b"zPING\0");
        s.write_all(b"PONG\0").await.unwrap();
    })
    .await;
    assert_eq!(clamd(ep).ping().await, Ok(()));

    let ep = peer(|mut s| async move {
        let _ = read_until(&mut s, b"\0").await;
        s.write_all(b"PANG\0").await.unwrap();
    })
    .await;
    let e = clamd(ep).ping().await.unwrap_err();
    assert!(
        e.to_string().ends_with("expected PONG, got \"PANG\\x00\""),
        "{e}"
    );
}
