//! The SMTP client against the scriptable test server: per-recipient outcomes,
//! pipelining (one read holds MAIL, every RCPT and DATA), STARTTLS policies, implicit
//! TLS, each AUTH mechanism, Optional auth with an empty password, refused greetings,
//! silent servers, several messages per connection with RSET after a failure, and the
//! checks made before MAIL (SMTPUTF8, SIZE, DSN parameters).

mod support;

use std::time::Duration;

use pillarbox_client::sasl::{Credentials, Mechanism, Secret};
use pillarbox_client::smtp::{
    AuthMode, Envelope, RcptSpec, SmtpClient, SmtpClientConfig, SmtpError, SmtpTimeouts, Stage,
    TlsPolicy,
};
use pillarbox_config::TlsVersion;
use pillarbox_net::dial::{DialError, Target};
use pillarbox_net::{ClientTls, ClientTlsMode};
use support::smtp_server::{Script, SmtpServer};

fn config(mode: ClientTlsMode) -> SmtpClientConfig {
    let mut c = SmtpClientConfig::new("client.test");
    c.dial.connect_timeout = Duration::from_secs(5);
    c.dial.sni = Some("localhost".into());
    c.dial.tls = ClientTls {
        mode,
        min_version: TlsVersion::Tls12,
        verify: false,
        extra_ca: None,
    };
    c.timeouts = SmtpTimeouts::uniform(Duration::from_secs(10));
    c
}

fn target(s: &SmtpServer) -> Target {
    Target::new("127.0.0.1", s.addr.port())
}

fn envelope(rcpts: &[&str]) -> Envelope {
    Envelope {
        from: "sender@client.test".into(),
        size: MESSAGE.len(),
        ret: None,
        envid: None,
        rcpts: rcpts.iter().map(|r| RcptSpec::new(*r)).collect(),
        smtputf8: false,
        eight_bit: false,
    }
}

const MESSAGE: &[u8] =
    b"Subject: test\r\n\r\n.leading dot\nbare LF line\r\n..two dots\r\nlast line";
const RECEIVED: &[u8] =
    b"Subject: test\r\n\r\n.leading dot\r\nbare LF line\r\n..two dots\r\nlast line\r\n";

fn with_credentials(mut c: SmtpClientConfig, secret: Secret) -> SmtpClientConfig {
    c.auth = AuthMode::Required;
    c.credentials = Some(Credentials {
        username: "alice".into(),
        secret,
    });
    c
}

#[tokio::test]
async fn pipelined_transaction_reports_each_recipient() {
    let mut script = Script::default();
    script.rcpt_replies.insert(
        "bad@dest.test".into(),
        "550 5.1.1 <bad@dest.test>: no such user".into(),
    );
    script
        .rcpt_replies
        .insert("later@dest.test".into(), "451 4.3.0 try again later".into());
    let server = SmtpServer::start(script).await;
    let mut client = SmtpClient::connect(&target(&server), &config(ClientTlsMode::None))
        .await
        .unwrap();
    assert!(client.capabilities().pipelining);
    let env = envelope(&["good@dest.test", "bad@dest.test", "later@dest.test"]);
    let out = client.send(&env, MESSAGE).await.unwrap();
    assert!(out.rcpts[0].is_ok());
    let bad = out.rcpts[1].as_ref().unwrap_err();
    assert_eq!(bad.code, 550);
    assert_eq!(bad.enhanced.unwrap().to_string(), "5.1.1");
    assert_eq!(out.rcpts[2].as_ref().unwrap_err().code, 451);
    assert!(out.delivered());
    client.quit().await.unwrap();

    let msgs = server.messages();
    assert_eq!(msgs.len(), 1);
    assert_eq!(
        msgs[0].data, RECEIVED,
        "dot-stuffing and CRLF normalisation undone exactly"
    );
    let record = server.record.lock().unwrap();
    let batch = record
        .reads
        .iter()
        .find(|r| r.iter().any(|l| l.starts_with("MAIL FROM")))
        .unwrap();
    assert_eq!(
        batch.len(),
        5,
        "MAIL, three RCPTs and DATA in one read: {batch:?}"
    );
    assert_eq!(batch[4], "DATA");
}

#[tokio::test]
async fn without_pipelining_each_command_waits_for_its_reply() {
    let script = Script {
        pipelining: false,
        ..Script::default()
    };
    let server = SmtpServer::start(script).await;
    let mut client = SmtpClient::connect(&target(&server), &config(ClientTlsMode::None))
        .await
        .unwrap();
    let out = client
        .send(&envelope(&["a@dest.test", "b@dest.test"]), MESSAGE)
        .await
        .unwrap();
    assert!(out.delivered() && out.rcpts.iter().all(Result::is_ok));
    client.quit().await.unwrap();
    let record = server.record.lock().unwrap();
    for read in &record.reads {
        let verbs = read
            .iter()
            .filter(|l| l.starts_with("MAIL") || l.starts_with("RCPT") || *l == "DATA");
        assert!(
            verbs.count() <= 1,
            "one command per read without PIPELINING: {read:?}"
        );
    }
}

#[tokio::test]
async fn required_starttls_then_auth_plain() {
    let script = Script {
        offer_starttls: true,
        require_tls: true,
        auth: vec!["PLAIN", "LOGIN"],
        require_auth: true,
        ..Script::default()
    };
    let server = SmtpServer::start(script).await;
    let dir = tempfile::tempdir().unwrap();
    let mut c = with_credentials(
        config(ClientTlsMode::StartTls),
        Secret::Password("s3cret".into()),
    );
    c.tls_policy = TlsPolicy::Required;
    c.dial.tls.verify = true;
    c.dial.tls.extra_ca = Some(server.cert.ca_file(dir.path()));
    let mut client = SmtpClient::connect(&target(&server), &c).await.unwrap();
    let info = client.info().clone();
    let tls = info.tls.expect("STARTTLS happened");
    assert_eq!(tls.verified, Ok(()));
    assert!(
        !info.capabilities.starttls,
        "capabilities are from the EHLO after TLS"
    );
    assert_eq!(info.authenticated, Some(Mechanism::Plain));
    let out = client
        .send(&envelope(&["x@dest.test"]), MESSAGE)
        .await
        .unwrap();
    assert!(out.delivered());
    client.quit().await.unwrap();
    let cmds = server.commands();
    let ehlos = cmds.iter().filter(|c| c.starts_with("EHLO")).count();
    assert_eq!(ehlos, 2, "EHLO again after STARTTLS: {cmds:?}");
    assert!(server.messages()[0].tls);
}

#[tokio::test]
async fn required_starttls_not_offered_is_an_error() {
    let server = SmtpServer::start(Script::default()).await;
    let mut c = config(ClientTlsMode::StartTls);
    c.tls_policy = TlsPolicy::Required;
    let err = SmtpClient::connect(&target(&server), &c).await.unwrap_err();
    assert!(matches!(err, SmtpError::StartTlsUnavailable), "{err:?}");
    assert_eq!(
        err.to_string(),
        "server does not offer STARTTLS and TLS is required"
    );
    assert!(!err.is_permanent());
}

#[tokio::test]
async fn opportunistic_starttls_falls_back_to_plaintext() {
    // Not offered: plaintext on the same connection.
    let server = SmtpServer::start(Script::default()).await;
    let c = config(ClientTlsMode::StartTls);
    let client = SmtpClient::connect(&target(&server), &c).await.unwrap();
    assert!(client.info().tls.is_none());
    assert!(
        client
            .info()
            .tls_skipped
            .as_deref()
            .unwrap()
            .contains("does not offer")
    );
    client.quit().await.unwrap();

    // Offered but the handshake fails (untrusted certificate with verification on):
    // a second connection without TLS.
    let script = Script {
        offer_starttls: true,
        ..Script::default()
    };
    let server = SmtpServer::start(script).await;
    let mut c = config(ClientTlsMode::StartTls);
    c.dial.tls.verify = true;
    let mut client = SmtpClient::connect(&target(&server), &c).await.unwrap();
    assert!(client.info().tls.is_none());
    let skipped = client.info().tls_skipped.clone().unwrap();
    assert!(skipped.contains("not trusted"), "{skipped}");
    assert!(
        client
            .send(&envelope(&["x@dest.test"]), MESSAGE)
            .await
            .unwrap()
            .delivered()
    );
    client.quit().await.unwrap();
    assert_eq!(server.record.lock().unwrap().connections, 2);
    assert!(!server.messages()[0].tls);

    // The same failure with TLS required is an error that says why.
    c.tls_policy = TlsPolicy::Required;
    let err = SmtpClient::connect(&target(&server), &c).await.unwrap_err();
    assert!(
        matches!(err, SmtpError::Dial(DialError::TlsUntrusted { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn implicit_tls() {
    let script = Script {
        implicit_tls: true,
        ..Script::default()
    };
    let server = SmtpServer::start(script).await;
    let mut client = SmtpClient::connect(&target(&server), &config(ClientTlsMode::Implicit))
        .await
        .unwrap();
    let tls = client.info().tls.clone().unwrap();
    assert!(
        tls.verified.is_err(),
        "self-signed, verification off: recorded, not fatal"
    );
    assert!(
        client
            .send(&envelope(&["x@dest.test"]), MESSAGE)
            .await
            .unwrap()
            .delivered()
    );
    client.quit().await.unwrap();
    assert!(server.messages()[0].tls);
}

#[tokio::test]
async fn every_auth_mechanism() {
    let cases = [
        (Mechanism::Plain, "PLAIN", Secret::Password("s3cret".into())),
        (Mechanism::Login, "LOGIN", Secret::Password("s3cret".into())),
        (
            Mechanism::CramMd5,
            "CRAM-MD5",
            Secret::Password("s3cret".into()),
        ),
        (
            Mechanism::XOAuth2,
            "XOAUTH2",
            Secret::BearerToken("ya29.token".into()),
        ),
        (
            Mechanism::OAuthBearer,
            "OAUTHBEARER",
            Secret::BearerToken("ya29.token".into()),
        ),
    ];
    for (mechanism, name, secret) in cases {
        let script = Script {
            auth: vec![name],
            require_auth: true,
            ..Script::default()
        };
        let server = SmtpServer::start(script).await;
        let c = with_credentials(config(ClientTlsMode::None), secret);
        let mut client = SmtpClient::connect(&target(&server), &c).await.unwrap();
        assert_eq!(client.info().authenticated, Some(mechanism));
        assert!(
            client
                .send(&envelope(&["x@dest.test"]), MESSAGE)
                .await
                .unwrap()
                .delivered()
        );
        client.quit().await.unwrap();
        assert_eq!(
            server.record.lock().unwrap().authenticated,
            vec![name.to_string()]
        );
    }
}

#[tokio::test]
async fn preference_order_picks_the_first_common_mechanism() {
    let script = Script {
        auth: vec!["LOGIN", "CRAM-MD5", "PLAIN"],
        ..Script::default()
    };
    let server = SmtpServer::start(script).await;
    let mut c = with_credentials(
        config(ClientTlsMode::None),
        Secret::Password("s3cret".into()),
    );
    c.mechanisms = vec![Mechanism::CramMd5, Mechanism::Plain];
    let client = SmtpClient::connect(&target(&server), &c).await.unwrap();
    assert_eq!(client.info().authenticated, Some(Mechanism::CramMd5));
    client.quit().await.unwrap();

    c.mechanisms = vec![Mechanism::XOAuth2];
    let err = SmtpClient::connect(&target(&server), &c).await.unwrap_err();
    assert!(matches!(err, SmtpError::AuthUnavailable { .. }), "{err}");
    assert!(err.to_string().contains("LOGIN CRAM-MD5 PLAIN"), "{err}");
}

#[tokio::test]
async fn refused_credentials_are_transient_and_quote_the_server() {
    let script = Script {
        auth: vec!["PLAIN", "XOAUTH2"],
        ..Script::default()
    };
    let server = SmtpServer::start(script).await;
    let c = with_credentials(
        config(ClientTlsMode::None),
        Secret::Password("wrong".into()),
    );
    let err = SmtpClient::connect(&target(&server), &c).await.unwrap_err();
    assert!(matches!(err, SmtpError::AuthFailed { .. }), "{err:?}");
    assert_eq!(err.reply().unwrap().code, 535);
    assert!(!err.is_permanent());
    assert!(!err.to_string().contains("wrong"), "no secret in messages");

    let c = with_credentials(
        config(ClientTlsMode::None),
        Secret::BearerToken("expired".into()),
    );
    let err = SmtpClient::connect(&target(&server), &c).await.unwrap_err();
    let SmtpError::AuthFailed { detail, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(detail.as_deref().unwrap().contains("401"), "{err}");
}

#[tokio::test]
async fn optional_auth_with_an_empty_password() {
    let script = Script {
        auth: vec!["PLAIN"],
        require_auth: true,
        password: String::new(),
        ..Script::default()
    };
    let server = SmtpServer::start(script).await;
    let mut c = with_credentials(config(ClientTlsMode::None), Secret::Password(String::new()));
    c.auth = AuthMode::Optional;
    let mut client = SmtpClient::connect(&target(&server), &c).await.unwrap();
    assert_eq!(client.info().authenticated, Some(Mechanism::Plain));
    assert!(
        client
            .send(&envelope(&["x@dest.test"]), MESSAGE)
            .await
            .unwrap()
            .delivered()
    );
    client.quit().await.unwrap();

    // Required refuses the empty password before talking to the server about it.
    c.auth = AuthMode::Required;
    let err = SmtpClient::connect(&target(&server), &c).await.unwrap_err();
    assert!(matches!(err, SmtpError::Config(_)), "{err:?}");

    // Optional against a server without AUTH: no AUTH at all.
    let plain = SmtpServer::start(Script::default()).await;
    c.auth = AuthMode::Optional;
    let client = SmtpClient::connect(&target(&plain), &c).await.unwrap();
    assert_eq!(client.info().authenticated, None);
    client.quit().await.unwrap();
}

#[tokio::test]
async fn greeting_554_is_a_permanent_refusal() {
    let script = Script {
        greeting: Some("554 5.7.1 no service for you".into()),
        ..Script::default()
    };
    let server = SmtpServer::start(script).await;
    let err = SmtpClient::connect(&target(&server), &config(ClientTlsMode::None))
        .await
        .unwrap_err();
    assert!(matches!(err, SmtpError::Greeting(_)), "{err:?}");
    assert!(err.is_permanent());
    assert_eq!(
        err.to_string(),
        "the server refused the session: 554 5.7.1 no service for you"
    );
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let script = Script {
        greeting: None,
        ..Script::default()
    };
    let server = SmtpServer::start(script).await;
    let mut c = config(ClientTlsMode::None);
    c.timeouts.greeting = Duration::from_millis(200);
    let err = SmtpClient::connect(&target(&server), &c).await.unwrap_err();
    assert!(
        matches!(
            err,
            SmtpError::Timeout {
                stage: Stage::Greeting,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.is_permanent());
}

#[tokio::test]
async fn several_messages_with_rset_after_a_failed_transaction() {
    let mut script = Script::default();
    script
        .rcpt_replies
        .insert("gone@dest.test".into(), "550 5.1.1 gone".into());
    let server = SmtpServer::start(script).await;
    let mut client = SmtpClient::connect(&target(&server), &config(ClientTlsMode::None))
        .await
        .unwrap();
    let out = client
        .send(&envelope(&["gone@dest.test"]), MESSAGE)
        .await
        .unwrap();
    assert_eq!(out.data, None, "no recipient accepted: no message");
    for _ in 0..2 {
        let out = client
            .send(&envelope(&["ok@dest.test"]), MESSAGE)
            .await
            .unwrap();
        assert!(out.delivered());
    }
    client.quit().await.unwrap();
    let cmds = server.commands();
    let rsets = cmds.iter().filter(|c| *c == "RSET").count();
    assert_eq!(rsets, 1, "RSET only after the failed transaction: {cmds:?}");
    assert_eq!(server.messages().len(), 2);
}

#[tokio::test]
async fn refused_mail_from_keeps_the_connection() {
    let script = Script {
        mail_reply: Some("553 5.7.1 sender rejected".into()),
        pipelining: false,
        ..Script::default()
    };
    let server = SmtpServer::start(script).await;
    let mut client = SmtpClient::connect(&target(&server), &config(ClientTlsMode::None))
        .await
        .unwrap();
    let err = client
        .send(&envelope(&["x@dest.test"]), MESSAGE)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            SmtpError::Rejected {
                stage: Stage::Mail,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_permanent());
    assert!(client.is_usable());
    client.quit().await.unwrap();
}

#[tokio::test]
async fn service_closing_on_rcpt_is_transient() {
    let mut script = Script::default();
    script
        .rcpt_replies
        .insert("x@dest.test".into(), "421 4.3.2 shutting down".into());
    script.pipelining = false;
    let server = SmtpServer::start(script).await;
    let mut client = SmtpClient::connect(&target(&server), &config(ClientTlsMode::None))
        .await
        .unwrap();
    let err = client
        .send(&envelope(&["x@dest.test"]), MESSAGE)
        .await
        .unwrap_err();
    assert!(matches!(err, SmtpError::ServiceClosing(_)), "{err:?}");
    assert!(!err.is_permanent());
    assert!(!client.is_usable());
    assert!(matches!(
        client.send(&envelope(&["y@dest.test"]), MESSAGE).await,
        Err(SmtpError::Broken)
    ));
}

#[tokio::test]
async fn checks_before_mail_smtputf8_and_size() {
    let script = Script {
        extensions: vec!["SIZE 100".into()],
        ..Script::default()
    };
    let server = SmtpServer::start(script).await;
    let mut client = SmtpClient::connect(&target(&server), &config(ClientTlsMode::None))
        .await
        .unwrap();
    let mut env = envelope(&["x@dest.test"]);
    env.smtputf8 = true;
    let err = client.send(&env, MESSAGE).await.unwrap_err();
    assert!(
        matches!(err, SmtpError::SmtputfUnsupported) && err.is_permanent(),
        "{err:?}"
    );
    let mut env = envelope(&["x@dest.test"]);
    env.size = 1000;
    let err = client.send(&env, MESSAGE).await.unwrap_err();
    assert!(matches!(err, SmtpError::MessageTooLarge { limit: 100, .. }) && err.is_permanent());
    let out = client
        .send(&envelope(&["x@dest.test"]), MESSAGE)
        .await
        .unwrap();
    assert!(out.delivered());
    client.quit().await.unwrap();
    assert!(!server.commands().iter().any(|c| c.contains("SMTPUTF8")));
    let mail = &server.messages()[0].mail;
    assert_eq!(
        mail,
        &format!("MAIL FROM:<sender@client.test> SIZE={}", MESSAGE.len())
    );
}

#[tokio::test]
async fn dsn_and_8bit_parameters_only_when_advertised() {
    let script = Script {
        extensions: vec!["DSN".into(), "8BITMIME".into(), "SMTPUTF8".into()],
        ..Script::default()
    };
    let server = SmtpServer::start(script).await;
    let mut client = SmtpClient::connect(&target(&server), &config(ClientTlsMode::None))
        .await
        .unwrap();
    let mut env = envelope(&[]);
    env.from = String::new();
    env.ret = Some("hdrs".into());
    env.envid = Some("id+1=2".into());
    env.eight_bit = true;
    env.smtputf8 = true;
    env.rcpts = vec![RcptSpec {
        address: "x@dest.test".into(),
        notify: Some("FAILURE,DELAY".into()),
        orcpt: Some("rfc822;x@dest.test".into()),
    }];
    assert!(client.send(&env, MESSAGE).await.unwrap().delivered());
    client.quit().await.unwrap();
    let m = &server.messages()[0];
    assert_eq!(
        m.mail,
        "MAIL FROM:<> BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=id+2B1+3D2"
    );
    assert_eq!(
        m.rcpts[0],
        "RCPT TO:<x@dest.test> NOTIFY=FAILURE,DELAY ORCPT=rfc822;x@dest.test"
    );

    let plain = SmtpServer::start(Script::default()).await;
    let mut client = SmtpClient::connect(&target(&plain), &config(ClientTlsMode::None))
        .await
        .unwrap();
    env.smtputf8 = false;
    assert!(client.send(&env, MESSAGE).await.unwrap().delivered());
    client.quit().await.unwrap();
    let m = &plain.messages()[0];
    assert_eq!(m.mail, "MAIL FROM:<>");
    assert_eq!(m.rcpts[0], "RCPT TO:<x@dest.test>");
}

#[tokio::test]
async fn helo_when_ehlo_is_refused() {
    let script = Script {
        ehlo_reply: Some("502 5.5.1 EHLO not supported".into()),
        ..Script::default()
    };
    let server = SmtpServer::start(script).await;
    let mut client = SmtpClient::connect(&target(&server), &config(ClientTlsMode::None))
        .await
        .unwrap();
    assert!(client.info().helo_only);
    assert!(!client.capabilities().pipelining);
    assert!(
        client
            .send(&envelope(&["x@dest.test"]), MESSAGE)
            .await
            .unwrap()
            .delivered()
    );
    client.quit().await.unwrap();
    assert!(server.commands().contains(&"HELO client.test".to_string()));
}

#[tokio::test]
async fn many_recipients_are_pipelined_in_groups() {
    let server = SmtpServer::start(Script::default()).await;
    let mut client = SmtpClient::connect(&target(&server), &config(ClientTlsMode::None))
        .await
        .unwrap();
    let rcpts: Vec<String> = (0..150).map(|i| format!("r{i}@dest.test")).collect();
    let refs: Vec<&str> = rcpts.iter().map(String::as_str).collect();
    let out = client.send(&envelope(&refs), MESSAGE).await.unwrap();
    assert_eq!(out.rcpts.len(), 150);
    assert!(out.rcpts.iter().all(Result::is_ok) && out.delivered());
    client.quit().await.unwrap();
    assert_eq!(server.messages()[0].rcpts.len(), 150);
    let record = server.record.lock().unwrap();
    let first = record
        .reads
        .iter()
        .position(|r| r.iter().any(|l| l.starts_with("MAIL FROM")))
        .unwrap();
    assert_eq!(
        record.reads[first].len(),
        101,
        "MAIL and the first hundred RCPTs"
    );
    assert_eq!(
        record.reads[first + 1].len(),
        51,
        "the other fifty and DATA"
    );
    assert_eq!(record.reads[first + 1][50], "DATA");
}

#[tokio::test]
async fn caller_mistakes_are_refused_before_the_wire() {
    let server = SmtpServer::start(Script::default()).await;
    let mut c = config(ClientTlsMode::None);
    c.ehlo_name = "bad name\r\nRSET".into();
    let err = SmtpClient::connect(&target(&server), &c).await.unwrap_err();
    assert!(matches!(err, SmtpError::Config(_)), "{err:?}");

    let mut client = SmtpClient::connect(&target(&server), &config(ClientTlsMode::None))
        .await
        .unwrap();
    let err = client.send(&envelope(&[]), MESSAGE).await.unwrap_err();
    assert!(matches!(err, SmtpError::Config(_)), "{err:?}");
    let err = client
        .send(&envelope(&["a@b>\r\nRSET"]), MESSAGE)
        .await
        .unwrap_err();
    assert!(
        matches!(err, SmtpError::InvalidAddress(_)) && err.is_permanent(),
        "{err:?}"
    );
    assert!(client.is_usable());
    assert!(
        client
            .send(&envelope(&["x@dest.test"]), MESSAGE)
            .await
            .unwrap()
            .delivered()
    );
    client.quit().await.unwrap();
}
