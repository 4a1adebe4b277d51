//! Transcripts of RFC 2595 STLS: the upgrade, the capability change it brings, input
//! pipelined before the handshake thrown away, and STLS refused once TLS is active or
//! after login.

mod common;

use common::{Client, Harness, OUTSIDE, PASSWORD, TRUSTED};
use rustls_pki_types::ServerName;
use tokio::io::BufReader;

async fn upgrade(
    h: &Harness,
    c: Client<tokio::io::DuplexStream>,
) -> Client<tokio_rustls::client::TlsStream<tokio::io::DuplexStream>> {
    assert!(
        c.r.buffer().is_empty(),
        "nothing may follow the STLS reply in clear"
    );
    let Client { r, task } = c;
    let name = ServerName::try_from("localhost").unwrap();
    let tls = h
        .tls_connector()
        .connect(name, r.into_inner())
        .await
        .unwrap();
    Client {
        r: BufReader::new(tls),
        task,
    }
}

#[tokio::test]
async fn stls_then_login_from_outside() {
    let h = Harness::new().await;
    h.deliver(&common::message("s", "secret body\r\n")).await;
    let mut c = h.connect(OUTSIDE).await;
    assert_eq!(c.cmd("STLS").await, "+OK begin TLS negotiation");
    let mut c = upgrade(&h, c).await;
    let (_, caps) = c.multi("CAPA").await;
    assert!(caps.contains(&"USER".to_string()), "{caps:?}");
    assert!(caps.contains(&"SASL PLAIN LOGIN".to_string()));
    assert!(!caps.contains(&"STLS".to_string()));
    assert_eq!(c.cmd("STLS").await, "-ERR TLS is already active");
    assert_eq!(c.cmd("USER bob@example.test").await, "+OK send PASS");
    assert!(
        c.cmd(&format!("PASS {PASSWORD}"))
            .await
            .starts_with("+OK maildrop locked")
    );
    assert_eq!(c.cmd("STLS").await, "-ERR STLS is not valid after login");
    assert!(c.cmd("RETR 1").await.starts_with("+OK"));
    assert!(
        String::from_utf8(c.body().await)
            .unwrap()
            .contains("secret body")
    );
    assert!(c.cmd("QUIT").await.starts_with("+OK"));
}

#[tokio::test]
async fn commands_pipelined_after_stls_are_discarded() {
    let h = Harness::new().await;
    let mut c = h.connect(TRUSTED).await;
    c.send("STLS\r\nUSER bob@example.test\r\n").await;
    assert_eq!(c.line().await, "+OK begin TLS negotiation");
    let mut c = upgrade(&h, c).await;
    // The USER sent in clear never ran, so PASS has nothing to pair with.
    assert_eq!(
        c.cmd(&format!("PASS {PASSWORD}")).await,
        "-ERR send USER first"
    );
}

#[tokio::test]
async fn stls_forgets_a_user_given_before_it() {
    let h = Harness::new().await;
    let mut c = h.connect(TRUSTED).await;
    assert_eq!(c.cmd("USER bob@example.test").await, "+OK send PASS");
    assert_eq!(c.cmd("STLS").await, "+OK begin TLS negotiation");
    let mut c = upgrade(&h, c).await;
    assert_eq!(
        c.cmd(&format!("PASS {PASSWORD}")).await,
        "-ERR send USER first"
    );
}

#[tokio::test]
async fn a_failed_handshake_closes_the_connection() {
    let h = Harness::new().await;
    let mut c = h.connect(OUTSIDE).await;
    assert_eq!(c.cmd("STLS").await, "+OK begin TLS negotiation");
    c.send("this is not a TLS client hello\r\n").await;
    // The server answers with a TLS alert at most, then closes.
    let mut rest = Vec::new();
    use tokio::io::AsyncReadExt;
    let _ = c.r.read_to_end(&mut rest).await;
    c.finished().await;
}
