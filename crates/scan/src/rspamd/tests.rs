//! The rspamd client against scripted local HTTP peers (bodies by length, chunked and
//! to close; errors, garbage, timeouts; learning) and the pure response parsers.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use tokio::io::AsyncWriteExt;

use super::http::{parse_partial, request_head};
use super::*;
use crate::ScanErrorKind;
use crate::test_peer::{peer, read_exact, read_until};

const REPLY: &str = r#"{
  "is_skipped": false,
  "score": 7.5,
  "required_score": 15.0,
  "action": "add header",
  "symbols": {
    "R_SPF_FAIL": {"name": "R_SPF_FAIL", "score": 1.0, "metric_score": 1.0},
    "BAYES_SPAM": {"name": "BAYES_SPAM", "score": 5.1},
    "MIME_GOOD": {"name": "MIME_GOOD", "score": -0.1},
    "NO_SCORE": {"name": "NO_SCORE"}
  },
  "messages": {"smtp_message": "Spam message rejected"},
  "subject": "*** SPAM *** hello",
  "milter": {
    "add_headers": {
      "X-Spam": "Yes",
      "X-Spamd-Bar": {"value": "+++++++", "order": 0},
      "X-Multi": [{"value": "a", "order": 0}, "b"]
    },
    "remove_headers": {"X-Spam": 1, "X-Old": 0}
  },
  "message-id": "<x@y>"
}"#;

#[test]
fn parses_a_full_reply() {
    let r = parse_check(REPLY.as_bytes()).unwrap();
    assert_eq!(r.action, Action::AddHeader);
    assert_eq!(r.score, 7.5);
    assert_eq!(r.required_score, 15.0);
    assert_eq!(
        r.symbols,
        vec![
            ("BAYES_SPAM".into(), 5.1),
            ("MIME_GOOD".into(), -0.1),
            ("NO_SCORE".into(), 0.0),
            ("R_SPF_FAIL".into(), 1.0)
        ]
    );
    assert_eq!(r.smtp_message.as_deref(), Some("Spam message rejected"));
    assert_eq!(r.subject.as_deref(), Some("*** SPAM *** hello"));
    assert_eq!(
        r.add_headers,
        vec![
            ("X-Multi".into(), "a".into()),
            ("X-Multi".into(), "b".into()),
            ("X-Spam".into(), "Yes".into()),
            ("X-Spamd-Bar".into(), "+++++++".into()),
        ]
    );
    assert_eq!(r.remove_headers, vec!["X-Old".to_string(), "X-Spam".into()]);
}

#[test]
fn parses_a_minimal_reply_and_every_action() {
    for (s, a) in [
        ("no action", Action::NoAction),
        ("greylist", Action::Greylist),
        ("add header", Action::AddHeader),
        ("rewrite subject", Action::RewriteSubject),
        ("soft reject", Action::SoftReject),
        ("reject", Action::Reject),
    ] {
        let r = parse_check(format!(r#"{{"action":"{s}","score":1}}"#).as_bytes()).unwrap();
        assert_eq!(r.action, a);
        assert_eq!(a.as_str(), s);
        assert_eq!(a.to_string(), s);
        assert_eq!(r.score, 1.0);
        assert_eq!(r.required_score, 0.0);
        assert!(r.symbols.is_empty() && r.add_headers.is_empty());
        assert_eq!(r.smtp_message, None);
    }
}

#[test]
fn refuses_malformed_json_replies() {
    for bad in [
        &b""[..],
        b"not json",
        b"[]",
        b"{}",
        b"{\"action\": 3}",
        b"{\"action\": \"discard\"}",
        b"{\"action\": \"reject\", \"score\": \"x\"}",
        b"{\"action\": \"reject\", \"symbols\": []}",
        b"{\"action\": \"reject\", \"symbols\": {\"A\": {\"score\": \"1\"}}}",
        b"{\"action\": \"reject\", \"messages\": 1}",
        b"{\"action\": \"reject\", \"messages\": {\"smtp_message\": 1}}",
        b"{\"action\": \"reject\", \"milter\": {\"add_headers\": {\"X\": 1}}}",
        b"{\"action\": \"reject\", \"milter\": {\"add_headers\": {\"X\": {\"order\": 1}}}}",
        b"{\"action\": \"reject\", \"milter\": {\"add_headers\": {\"X\\r\\nY\": \"v\"}}}",
        b"{\"action\": \"reject\", \"milter\": {\"add_headers\": {\"X:Y\": \"v\"}}}",
        b"{\"action\": \"reject\", \"milter\": {\"remove_headers\": []}}",
        b"{\"action\": \"reject\", \"milter\": {\"remove_headers\": {\"\": 1}}}",
        b"{\"error\": \"Message has been already processed\"}",
    ] {
        let e = parse_check(bad).unwrap_err();
        assert_eq!(e.kind(), ScanErrorKind::Protocol, "{}", bad.escape_ascii());
    }
    let e = parse_check(b"{\"action\": \"discard\"}").unwrap_err();
    assert_eq!(e.to_string(), "unknown action \"discard\"");
    let e = parse_check(b"{\"error\": \"bad request\"}").unwrap_err();
    assert_eq!(e.to_string(), "rspamd error: \"bad request\"");
    // Deep nesting stops at serde_json's recursion limit, without a stack overflow.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(parse_check(deep.as_bytes()).is_err());
}

#[test]
fn parses_responses_by_content_length() {
    let raw = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\nhello trailing";
    assert_eq!(parse_response(raw), Ok((200, b"hello".to_vec())));
    assert_eq!(
        parse_partial(raw, false),
        Ok(Some((200, b"hello".to_vec())))
    );
    // Bare LF line ends are tolerated.
    let raw = b"HTTP/1.0 503 Busy\nContent-Length: 2\n\nno";
    assert_eq!(parse_response(raw), Ok((503, b"no".to_vec())));
}

#[test]
fn parses_chunked_responses() {
    let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n5;ext=1\r\nhello\r\nA\r\n, world!!!\r\n0\r\nX-Trailer: t\r\n\r\n";
    assert_eq!(parse_response(raw), Ok((200, b"hello, world!!!".to_vec())));
    // Every proper prefix is incomplete, and an error at the end of the connection.
    for n in 0..raw.len() {
        assert_eq!(parse_partial(&raw[..n], false), Ok(None), "prefix {n}");
        assert!(parse_response(&raw[..n]).is_err(), "prefix {n}");
    }
}

#[test]
fn reads_to_the_end_without_length() {
    let raw = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{\"a\":1}";
    assert_eq!(parse_partial(raw, false), Ok(None));
    assert_eq!(parse_response(raw), Ok((200, b"{\"a\":1}".to_vec())));
}

#[test]
fn skips_interim_responses() {
    let raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    assert_eq!(parse_response(raw), Ok((200, b"ok".to_vec())));
    let raw = b"HTTP/1.1 204 No Content\r\n\r\n";
    assert_eq!(parse_partial(raw, false), Ok(Some((204, vec![]))));
    // rspamd's controller: a 204 with a body.
    let raw =
        b"HTTP/1.1 204 <undef> contains less tokens\r\nContent-Length: 11\r\n\r\n{\"error\":1}";
    assert_eq!(parse_response(raw), Ok((204, b"{\"error\":1}".to_vec())));
}

#[test]
fn refuses_malformed_responses() {
    for bad in [
        &b""[..],
        b"HTTP/1.1 200 OK\r\n",
        b"garbage\r\n\r\n",
        b"HTTP/2 200\r\n\r\n",
        b"HTTP/1.1 20 OK\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"HTTP/1.1 099 X\r\n\r\n",
        b"HTTP/1.1 600 X\r\n\r\n",
        b"HTTP/1.1 abc OK\r\n\r\n",
        b"HTTP/1.1 101 Switching\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n123456789\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n200000\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n",
    ] {
        let e = parse_response(bad).unwrap_err();
        assert_eq!(e.kind(), ScanErrorKind::Protocol, "{}", bad.escape_ascii());
    }
}

#[test]
fn bounds_heads_and_bodies() {
    let mut raw = b"HTTP/1.1 200 OK\r\n".to_vec();
    while raw.len() <= MAX_HEAD {
        raw.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    let e = parse_partial(&raw, false).unwrap_err();
    assert!(e.to_string().contains("headers longer"), "{e}");

    let mut raw = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
    raw.resize(raw.len() + MAX_BODY + 1, b'x');
    let e = parse_partial(&raw, false).unwrap_err();
    assert!(e.to_string().contains("body longer"), "{e}");

    // Many tiny chunks add up to more than the bound.
    let mut raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..(MAX_BODY / 0x8000 + 1) {
        raw.extend_from_slice(b"8000\r\n");
        raw.resize(raw.len() + 0x8000, b'y');
        raw.extend_from_slice(b"\r\n");
    }
    let e = parse_partial(&raw, false).unwrap_err();
    assert!(e.to_string().contains("body longer"), "{e}");

    let mut raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1".to_vec();
    raw.resize(raw.len() + 5000, b';');
    assert!(parse_partial(&raw, false).is_err());
}

#[test]
fn request_headers_cannot_be_injected() {
    let rcpts = vec!["a@x.test".to_string(), "b@x.test\r\nX-Evil: 1".to_string()];
    let req = CheckRequest {
        ip: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))),
        helo: Some("helo\r\nInjected: yes"),
        hostname: Some("mail.example.test"),
        from: "",
        rcpts: &rcpts,
        user: Some("alice"),
        queue_id: Some("Q1\n"),
    };
    let h = check_headers(&req);
    let h: Vec<(&str, &str)> = h.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let head = request_head("/checkv2", "127.0.0.1:11333", 42, &h);
    let head = String::from_utf8(head).unwrap();
    assert_eq!(
        head,
        "POST /checkv2 HTTP/1.1\r\n\
         Host: 127.0.0.1:11333\r\n\
         Content-Length: 42\r\n\
         IP: 192.0.2.1\r\n\
         Helo: heloInjected: yes\r\n\
         Hostname: mail.example.test\r\n\
         From: <>\r\n\
         Rcpt: a@x.test\r\n\
         Rcpt: b@x.testX-Evil: 1\r\n\
         User: alice\r\n\
         Queue-Id: Q1\r\n\
         Connection: close\r\n\r\n"
    );
}

fn rspamd(endpoint: Endpoint) -> Rspamd {
    Rspamd {
        timeout: Duration::from_secs(5),
        ..Rspamd::new(endpoint)
    }
}

/// A response with this status line and body (and its Content-Length).
fn response(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A server reading one request (head and Content-Length body) and answering `reply`.
async fn serve(
    reply: impl AsRef<[u8]> + Send + 'static,
) -> (Endpoint, tokio::sync::oneshot::Receiver<Vec<u8>>) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let ep = peer(move |mut s| async move {
        let req = read_request(&mut s).await;
        s.write_all(reply.as_ref()).await.unwrap();
        let _ = tx.send(req);
    })
    .await;
    (ep, rx)
}

async fn read_request(s: &mut tokio::net::TcpStream) -> Vec<u8> {
    let mut req = read_until(s, b"\r\n\r\n").await;
    let head_end = req.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let head = String::from_utf8_lossy(&req[..head_end]).to_string();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .unwrap()
        .parse()
        .unwrap();
    let have = req.len() - head_end;
    req.extend(read_exact(s, len - have).await);
    req
}

#[tokio::test]
async fn checks_a_message() {
    let (ep, rx) = serve(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n\
          10\r\n{\"action\":\"rejec\r\n\
          16\r\nt\",\"score\":20.5,\"symbo\r\n\
          1a\r\nls\":{\"GTUBE\":{\"score\":0}}}\r\n0\r\n\r\n",
    )
    .await;
    let rcpts = vec!["bob@x.test".to_string()];
    let req = CheckRequest {
        ip: Some("2001:db8::1".parse().unwrap()),
        from: "alice@y.test",
        rcpts: &rcpts,
        ..CheckRequest::default()
    };
    let r = rspamd(ep.clone())
        .check(&req, b"Subject: hi\r\n\r\nbody\r\n")
        .await
        .unwrap();
    assert_eq!(r.action, Action::Reject);
    assert_eq!(r.score, 20.5);
    assert_eq!(r.symbols, vec![("GTUBE".into(), 0.0)]);
    let got = String::from_utf8(rx.await.unwrap()).unwrap();
    assert_eq!(
        got,
        format!(
            "POST /checkv2 HTTP/1.1\r\nHost: {ep}\r\nContent-Length: 21\r\n\
             IP: 2001:db8::1\r\nFrom: alice@y.test\r\nRcpt: bob@x.test\r\n\
             Connection: close\r\n\r\nSubject: hi\r\n\r\nbody\r\n"
        )
    );
}

#[tokio::test]
async fn reply_until_close() {
    let (ep, _rx) = serve(b"HTTP/1.1 200 OK\r\n\r\n{\"action\":\"no action\",\"score\":-1}").await;
    let r = rspamd(ep)
        .check(&CheckRequest::default(), b"x")
        .await
        .unwrap();
    assert_eq!(r.action, Action::NoAction);
    assert_eq!(r.score, -1.0);
}

#[tokio::test]
async fn non_200_is_a_protocol_error_with_the_status() {
    let (ep, _rx) = serve(response(
        "500 Internal Server Error",
        r#"{"error":"cannot parse input\r\n"}"#,
    ))
    .await;
    let e = rspamd(ep.clone())
        .check(&CheckRequest::default(), b"x")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ScanErrorKind::Protocol);
    assert_eq!(
        e.to_string(),
        format!("rspamd at {ep}: HTTP status 500: \"cannot parse input\\r\\n\"")
    );
}

#[tokio::test]
async fn garbage_is_a_protocol_error() {
    let (ep, _rx) = serve(b"SPAMD/1.1 0 EX_OK\r\n\r\n").await;
    let e = rspamd(ep.clone())
        .check(&CheckRequest::default(), b"x")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ScanErrorKind::Protocol);
    assert!(
        e.to_string()
            .starts_with(&format!("rspamd at {ep}: not an HTTP response")),
        "{e}"
    );
}

#[tokio::test]
async fn closed_mid_body_is_a_protocol_error() {
    let (ep, _rx) = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"action\":").await;
    let e = rspamd(ep)
        .check(&CheckRequest::default(), b"x")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ScanErrorKind::Protocol);
    assert!(
        e.to_string()
            .ends_with("connection closed in the middle of the response body"),
        "{e}"
    );
}

#[tokio::test]
async fn closed_before_answering() {
    let ep = peer(|mut s| async move {
        let _ = read_until(&mut s, b"\r\n\r\n").await;
    })
    .await;
    let e = rspamd(ep)
        .check(&CheckRequest::default(), b"x")
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .ends_with("connection closed without a response"),
        "{e}"
    );
}

#[tokio::test]
async fn slow_server_times_out() {
    let ep = peer(|mut s| async move {
        let _ = read_request(&mut s).await;
        s.write_all(b"HTTP/1.1 200 OK\r\n").await.unwrap();
        tokio::time::sleep(Duration::from_secs(3)).await;
    })
    .await;
    let mut r = rspamd(ep.clone());
    r.timeout = Duration::from_millis(200);
    let e = r.check(&CheckRequest::default(), b"x").await.unwrap_err();
    assert_eq!(e.kind(), ScanErrorKind::Timeout);
    assert_eq!(
        e.to_string(),
        format!("rspamd at {ep}: timed out after 200ms waiting for the response")
    );
}

#[tokio::test]
async fn endless_response_is_bounded() {
    let ep = peer(|mut s| async move {
        let _ = read_request(&mut s).await;
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await;
        let junk = vec![b'j'; 64 * 1024];
        for _ in 0..40 {
            if s.write_all(&junk).await.is_err() {
                break;
            }
        }
    })
    .await;
    let e = rspamd(ep)
        .check(&CheckRequest::default(), b"x")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ScanErrorKind::Protocol);
    assert!(e.to_string().contains("body longer"), "{e}");
}

#[tokio::test]
async fn learns_with_the_password() {
    let (ctrl, rx) = serve(response("200 OK", r#"{"success":true}"#)).await;
    let mut r = rspamd(Endpoint::Tcp("127.0.0.1:1".into()));
    r.controller = Some(ctrl);
    r.password = Some("s3cret\r\nX: y".into());
    r.learn(true, b"spam").await.unwrap();
    let got = String::from_utf8(rx.await.unwrap()).unwrap();
    assert!(got.starts_with("POST /learnspam HTTP/1.1\r\n"), "{got}");
    assert!(got.contains("\r\nPassword: s3cretX: y\r\n"), "{got}");
    assert!(got.ends_with("\r\n\r\nspam"), "{got}");

    let (ctrl, rx) = serve(response(
        "208 Already Reported",
        r#"{"error":"<x@y> has been already learned as ham, ignore it"}"#,
    ))
    .await;
    r.controller = Some(ctrl);
    r.password = None;
    r.learn(false, b"ham").await.unwrap();
    let got = String::from_utf8(rx.await.unwrap()).unwrap();
    assert!(got.starts_with("POST /learnham HTTP/1.1\r\n"), "{got}");
    assert!(!got.contains("Password"), "{got}");
}

#[tokio::test]
async fn not_learned_is_an_error_with_rspamds_reason() {
    // What rspamd 3.4 answers when a message is too short to learn.
    let (ctrl, _rx) = serve(response(
        "204 <undef> contains less tokens than required for bayes classifier: 7 < 11",
        r#"{"error":"<undef> contains less tokens than required for bayes classifier: 7 < 11"}"#,
    ))
    .await;
    let mut r = rspamd(Endpoint::Tcp("127.0.0.1:1".into()));
    r.controller = Some(ctrl.clone());
    let e = r.learn(true, b"x").await.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "rspamd controller at {ctrl}: HTTP status 204: \"<undef> contains less tokens than required for bayes classifier: 7 < 11\""
        )
    );
}

#[tokio::test]
async fn learning_errors() {
    let (ctrl, _rx) = serve(response(
        "403 Forbidden",
        r#"{"error":"Unauthorized","x":1}"#,
    ))
    .await;
    let mut r = rspamd(Endpoint::Tcp("127.0.0.1:1".into()));
    let e = r.learn(true, b"x").await.unwrap_err();
    assert_eq!(e.kind(), ScanErrorKind::Unavailable);
    assert!(e.to_string().contains("no controller configured"), "{e}");
    r.controller = Some(ctrl.clone());
    let e = r.learn(true, b"x").await.unwrap_err();
    assert_eq!(e.kind(), ScanErrorKind::Protocol);
    assert_eq!(
        e.to_string(),
        format!("rspamd controller at {ctrl}: HTTP status 403: \"Unauthorized\"")
    );
}
