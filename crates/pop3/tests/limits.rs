//! Transcripts of the session's limits: PIPELINING with one flush per batch, malformed
//! and unknown commands, over-long lines, the error limit, the idle timeout (paused
//! time) and shutdown.

mod common;

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use common::{Client, Harness, TRUSTED, message, settings};
use pillarbox_config::{AuthSection, Seconds};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, BufReader, ReadBuf};

/// A stream that counts the flushes the server makes.
struct CountingStream {
    inner: tokio::io::DuplexStream,
    flushes: Arc<AtomicUsize>,
}

impl AsyncRead for CountingStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CountingStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.flushes.fetch_add(1, Ordering::SeqCst);
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[tokio::test]
async fn pipelined_commands_are_answered_in_order_with_one_flush() {
    let h = Harness::new().await;
    for i in 0..3 {
        h.deliver(&message(&format!("p{i}"), "body\r\n")).await;
    }
    let (client, server) = tokio::io::duplex(1 << 20);
    let flushes = Arc::new(AtomicUsize::new(0));
    let stream = CountingStream {
        inner: server,
        flushes: flushes.clone(),
    };
    let svc = h.svc.clone();
    let token = h.shutdown.clone();
    let task = tokio::spawn(async move {
        svc.run(Box::new(stream), TRUSTED.parse().unwrap(), None, token)
            .await
    });
    let mut c = Client {
        r: BufReader::new(client),
        task: Some(task),
    };
    assert!(c.line().await.starts_with("+OK"));
    c.send(&format!(
        "USER bob@example.test\r\nPASS {}\r\n",
        common::PASSWORD
    ))
    .await;
    assert!(c.line().await.starts_with("+OK"));
    assert!(c.line().await.starts_with("+OK maildrop locked"));
    let before = flushes.load(Ordering::SeqCst);
    c.send("STAT\r\nLIST\r\nUIDL 1\r\nRETR 1\r\nTOP 2 0\r\nDELE 3\r\nNOOP\r\nBOGUS\r\nRSET\r\nSTAT\r\n")
        .await;
    assert!(c.line().await.starts_with("+OK 3 "));
    assert!(c.line().await.starts_with("+OK 3 messages"));
    assert_eq!(c.body().await.split(|&b| b == b'\n').count(), 4);
    assert!(c.line().await.starts_with("+OK 1 "));
    assert!(c.line().await.ends_with(" octets"));
    assert!(
        String::from_utf8(c.body().await)
            .unwrap()
            .contains("Subject: p0")
    );
    assert_eq!(c.line().await, "+OK top of message follows");
    assert!(
        String::from_utf8(c.body().await)
            .unwrap()
            .ends_with("\r\n\r\n")
    );
    assert_eq!(c.line().await, "+OK message 3 deleted");
    assert_eq!(c.line().await, "+OK");
    assert_eq!(c.line().await, "-ERR unknown command");
    assert!(c.line().await.starts_with("+OK maildrop has 3 messages"));
    assert!(c.line().await.starts_with("+OK 3 "));
    assert_eq!(
        flushes.load(Ordering::SeqCst) - before,
        1,
        "one flush for the batch"
    );
}

#[tokio::test]
async fn malformed_and_unknown_commands_do_not_end_the_session() {
    let h = Harness::new().await;
    let mut c = h.connect(TRUSTED).await;
    assert_eq!(c.cmd("XYZZY").await, "-ERR unknown command");
    assert_eq!(c.cmd("").await, "-ERR empty command line");
    c.send_bytes(b"USER \xff\xfe\r\n").await;
    assert_eq!(c.line().await, "-ERR command line is not valid UTF-8");
    c.send_bytes(b"\0\x01\x02\r\n").await;
    assert_eq!(c.line().await, "-ERR unknown command");
    let long = format!("USER {}\r\n", "a".repeat(100_000));
    c.send(&long).await;
    assert_eq!(c.line().await, "-ERR command line too long");
    assert_eq!(c.cmd("USER bob@example.test").await, "+OK send PASS");
}

#[tokio::test]
async fn too_many_errors_close_the_session() {
    let mut s = settings();
    s.pop3.max_errors = 3;
    let h = Harness::with(s, AuthSection::default()).await;
    let mut c = h.connect(TRUSTED).await;
    assert_eq!(c.cmd("ONE").await, "-ERR unknown command");
    assert_eq!(c.cmd("TWO").await, "-ERR unknown command");
    assert_eq!(c.cmd("THRE").await, "-ERR unknown command");
    assert_eq!(
        c.line().await,
        "-ERR too many errors, closing the connection"
    );
    assert!(c.closed().await);
}

#[tokio::test]
async fn too_many_errors_in_transaction_delete_nothing() {
    let mut s = settings();
    s.pop3.max_errors = 2;
    let h = Harness::with(s, AuthSection::default()).await;
    let u = h.deliver(&message("x", "y\r\n")).await;
    let mut c = h.login().await;
    c.cmd("DELE 1").await;
    c.cmd("RETR 9").await;
    c.cmd("RETR 9").await;
    assert_eq!(
        c.line().await,
        "-ERR too many errors, closing the connection"
    );
    c.finished().await;
    assert_eq!(h.inbox_uids().await, vec![u]);
}

#[tokio::test(start_paused = true)]
async fn the_idle_timeout_closes_without_a_reply() {
    let mut s = settings();
    s.pop3.idle_timeout = Seconds::mins(10);
    let h = Harness::with(s, AuthSection::default()).await;
    let mut c = h.connect(TRUSTED).await;
    tokio::time::advance(Duration::from_secs(599)).await;
    assert_eq!(c.cmd("NOOP").await, "-ERR NOOP is only valid after login");
    let start = tokio::time::Instant::now();
    let mut rest = Vec::new();
    c.r.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty(), "no reply at autologout: {rest:?}");
    assert!(start.elapsed() >= Duration::from_secs(600));
}

#[tokio::test]
async fn shutdown_closes_politely_and_deletes_nothing() {
    let h = Harness::new().await;
    let u = h.deliver(&message("x", "y\r\n")).await;
    let mut c = h.login().await;
    c.cmd("DELE 1").await;
    h.shutdown.cancel();
    assert_eq!(
        c.line().await,
        "-ERR [SYS/TEMP] server shutting down, try again later"
    );
    assert!(c.closed().await);
    c.finished().await;
    assert_eq!(h.inbox_uids().await, vec![u]);
}
