//! Transcripts of the AUTHORIZATION state: CAPA per state and network, USER/PASS, SASL
//! AUTH (PLAIN, LOGIN, initial response, cancel), APOP refused, plaintext refused
//! before TLS from untrusted networks, rate limiting, service policy, maildrop lock.

mod common;

use base64::Engine as _;
use common::{Harness, OUTSIDE, PASSWORD, TRUSTED, settings};
use pillarbox_config::{AuthSection, Seconds};
use pillarbox_store::{AccountUpdate, ServiceFlags};

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

#[tokio::test]
async fn capa_from_a_trusted_network_lists_user_and_sasl() {
    let h = Harness::new().await;
    let mut c = h.connect(TRUSTED).await;
    let (status, caps) = c.multi("CAPA").await;
    assert_eq!(status, "+OK capability list follows");
    assert_eq!(
        caps,
        [
            "TOP",
            "UIDL",
            "RESP-CODES",
            "AUTH-RESP-CODE",
            "PIPELINING",
            "EXPIRE NEVER",
            "USER",
            "SASL PLAIN LOGIN",
            "STLS",
            "IMPLEMENTATION Pillarbox",
        ]
    );
    assert_eq!(c.cmd("QUIT").await, "+OK Pillarbox POP3 server signing off");
    assert!(c.closed().await);
}

#[tokio::test]
async fn capa_outside_before_tls_hides_plaintext_login_and_refuses_it() {
    let h = Harness::new().await;
    let mut c = h.connect(OUTSIDE).await;
    let (_, caps) = c.multi("CAPA").await;
    assert!(caps.contains(&"STLS".to_string()));
    assert!(
        !caps.iter().any(|l| l == "USER" || l.starts_with("SASL")),
        "{caps:?}"
    );
    let refused = "-ERR [AUTH] plaintext authentication is not allowed without TLS; use STLS first";
    assert_eq!(c.cmd("USER bob@example.test").await, refused);
    assert_eq!(c.cmd(&format!("PASS {PASSWORD}")).await, refused);
    assert_eq!(c.cmd("AUTH PLAIN").await, refused);
    // Bare AUTH lists nothing usable yet.
    let (status, mechs) = c.multi("AUTH").await;
    assert!(status.starts_with("+OK"));
    assert!(mechs.is_empty());
}

#[tokio::test]
async fn capa_over_implicit_tls_offers_login_but_not_stls() {
    let h = Harness::new().await;
    let mut c = h.connect_tls_active(OUTSIDE).await;
    let (_, caps) = c.multi("CAPA").await;
    assert!(caps.contains(&"USER".to_string()));
    assert!(caps.contains(&"SASL PLAIN LOGIN".to_string()));
    assert!(!caps.contains(&"STLS".to_string()));
    assert_eq!(c.cmd("STLS").await, "-ERR TLS is already active");
    c.cmd("USER bob@example.test").await;
    assert!(c.cmd(&format!("PASS {PASSWORD}")).await.starts_with("+OK"));
}

#[tokio::test]
async fn capa_reports_configured_expire_and_login_delay_and_shrinks_after_login() {
    let mut s = settings();
    s.pop3.expire_days = Some(30);
    s.pop3.login_delay = Some(Seconds::secs(60));
    let h = Harness::with(s, AuthSection::default()).await;
    let mut c = h.connect(TRUSTED).await;
    let (_, caps) = c.multi("CAPA").await;
    assert!(caps.contains(&"EXPIRE 30".to_string()), "{caps:?}");
    assert!(caps.contains(&"LOGIN-DELAY 60".to_string()), "{caps:?}");
    c.cmd("USER bob@example.test").await;
    c.cmd(&format!("PASS {PASSWORD}")).await;
    let (_, caps) = c.multi("CAPA").await;
    assert!(
        !caps
            .iter()
            .any(|l| l == "USER" || l == "STLS" || l.starts_with("SASL")),
        "{caps:?}"
    );
    assert!(caps.contains(&"TOP".to_string()));
    c.cmd("QUIT").await;
    c.finished().await;
    // LOGIN-DELAY is enforced: logging in again at once is refused with the code.
    let mut c = h.connect(TRUSTED).await;
    c.cmd("USER bob@example.test").await;
    let r = c.cmd(&format!("PASS {PASSWORD}")).await;
    assert!(
        r.starts_with("-ERR [LOGIN-DELAY] logins are allowed every 60 seconds"),
        "{r}"
    );
}

#[tokio::test]
async fn user_pass_wrong_then_right_in_the_same_session() {
    let h = Harness::new().await;
    h.deliver(&common::message("one", "hello\r\n")).await;
    let mut c = h.connect(TRUSTED).await;
    assert_eq!(c.cmd("PASS x").await, "-ERR send USER first");
    assert_eq!(c.cmd("USER bob@example.test").await, "+OK send PASS");
    assert_eq!(
        c.cmd("PASS wrong").await,
        "-ERR [AUTH] invalid user name or password"
    );
    // The failed PASS forgot the USER.
    assert_eq!(
        c.cmd(&format!("PASS {PASSWORD}")).await,
        "-ERR send USER first"
    );
    c.cmd("USER nobody@example.test").await;
    assert_eq!(
        c.cmd(&format!("PASS {PASSWORD}")).await,
        "-ERR [AUTH] invalid user name or password"
    );
    c.cmd("USER bob@example.test").await;
    let r = c.cmd(&format!("PASS {PASSWORD}")).await;
    assert!(
        r.starts_with("+OK maildrop locked and ready, 1 messages ("),
        "{r}"
    );
}

#[tokio::test]
async fn apop_is_refused_with_a_reason() {
    let h = Harness::new().await;
    let mut c = h.connect(TRUSTED).await;
    let r = c
        .cmd("APOP bob@example.test c4c9334bac560ecc979e58001b3e22fb")
        .await;
    assert!(r.starts_with("-ERR [AUTH] APOP is not available"), "{r}");
}

#[tokio::test]
async fn auth_plain_with_and_without_initial_response() {
    let h = Harness::new().await;
    let creds = b64(format!("\0bob@example.test\0{PASSWORD}").as_bytes());
    let mut c = h.connect(TRUSTED).await;
    let r = c.cmd(&format!("AUTH PLAIN {creds}")).await;
    assert!(r.starts_with("+OK maildrop locked"), "{r}");
    c.cmd("QUIT").await;
    c.finished().await;

    let mut c = h.connect(TRUSTED).await;
    assert_eq!(c.cmd("AUTH PLAIN").await, "+ ");
    let r = c.cmd(&creds).await;
    assert!(r.starts_with("+OK maildrop locked"), "{r}");
}

#[tokio::test]
async fn auth_login_challenges_cancel_and_errors() {
    let h = Harness::new().await;
    let mut c = h.connect(TRUSTED).await;
    let (status, mechs) = c.multi("AUTH").await;
    assert!(status.starts_with("+OK"));
    assert_eq!(mechs, ["PLAIN", "LOGIN"]);
    assert_eq!(
        c.cmd("AUTH CRAM-MD5").await,
        "-ERR unsupported SASL mechanism; AUTH lists the supported ones"
    );
    // `*` cancels (RFC 5034 §4).
    assert_eq!(
        c.cmd("AUTH LOGIN").await,
        format!("+ {}", b64(b"Username:"))
    );
    assert_eq!(c.cmd("*").await, "-ERR authentication cancelled");
    // Not base64.
    assert_eq!(c.cmd("AUTH PLAIN").await, "+ ");
    assert_eq!(
        c.cmd("%%%").await,
        "-ERR invalid base64 in the SASL response"
    );
    // Proxy authorization is refused.
    let r = c
        .cmd(&format!(
            "AUTH PLAIN {}",
            b64(b"admin\0bob@example.test\0x")
        ))
        .await;
    assert!(
        r.starts_with("-ERR [AUTH] authorization identity differs"),
        "{r}"
    );
    // LOGIN all the way.
    assert_eq!(
        c.cmd("AUTH LOGIN").await,
        format!("+ {}", b64(b"Username:"))
    );
    assert_eq!(
        c.cmd(&b64(b"bob@example.test")).await,
        format!("+ {}", b64(b"Password:"))
    );
    let r = c.cmd(&b64(PASSWORD.as_bytes())).await;
    assert!(r.starts_with("+OK maildrop locked"), "{r}");
}

#[tokio::test]
async fn auth_with_empty_initial_response_and_login_with_the_user_name() {
    let h = Harness::new().await;
    let mut c = h.connect(TRUSTED).await;
    // `=` is an empty initial response: PLAIN fails on it.
    let r = c.cmd("AUTH PLAIN =").await;
    assert_eq!(r, "-ERR [AUTH] malformed SASL response");
    let r = c
        .cmd(&format!("AUTH LOGIN {}", b64(b"bob@example.test")))
        .await;
    assert_eq!(r, format!("+ {}", b64(b"Password:")));
    let r = c.cmd(&b64(PASSWORD.as_bytes())).await;
    assert!(r.starts_with("+OK maildrop locked"), "{r}");
}

#[tokio::test]
async fn failed_logins_are_rate_limited_per_address_and_the_session_goes_on() {
    let h = Harness::with(settings(), Harness::lockout_auth(2)).await;
    let mut c = h.connect(TRUSTED).await;
    for _ in 0..2 {
        c.cmd("USER bob@example.test").await;
        assert!(c.cmd("PASS nope").await.starts_with("-ERR [AUTH] invalid"));
    }
    c.cmd("USER bob@example.test").await;
    let r = c.cmd(&format!("PASS {PASSWORD}")).await;
    assert!(
        r.starts_with("-ERR [AUTH] too many failed logins from this address"),
        "{r}"
    );
    assert_eq!(c.cmd("NOOP").await, "-ERR NOOP is only valid after login");
}

#[tokio::test]
async fn service_policy_refusals_carry_the_reason() {
    let h = Harness::new().await;
    let off = ServiceFlags {
        pop: false,
        ..ServiceFlags::default()
    };
    h.store
        .account_update(
            h.bob.id,
            AccountUpdate {
                services: Some(off),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut c = h.connect(TRUSTED).await;
    c.cmd("USER bob@example.test").await;
    assert_eq!(
        c.cmd(&format!("PASS {PASSWORD}")).await,
        "-ERR [AUTH] POP3 access is disabled for this account"
    );

    let lan_only = ServiceFlags {
        pop_lan_only: true,
        ..ServiceFlags::default()
    };
    h.store
        .account_update(
            h.bob.id,
            AccountUpdate {
                services: Some(lan_only),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut c = h.connect_tls_active(OUTSIDE).await;
    c.cmd("USER bob@example.test").await;
    assert_eq!(
        c.cmd(&format!("PASS {PASSWORD}")).await,
        "-ERR [AUTH] POP3 access is allowed for this account only from the local network, and 203.0.113.5 is outside it"
    );
    // From the LAN it works.
    let mut c = h.connect(TRUSTED).await;
    c.cmd("USER bob@example.test").await;
    assert!(c.cmd(&format!("PASS {PASSWORD}")).await.starts_with("+OK"));
}

#[tokio::test]
async fn a_second_session_gets_in_use_until_the_first_ends() {
    let h = Harness::new().await;
    let first = h.login().await;
    let mut second = h.connect(TRUSTED).await;
    second.cmd("USER bob@example.test").await;
    assert_eq!(
        second.cmd(&format!("PASS {PASSWORD}")).await,
        "-ERR [IN-USE] the maildrop is already locked by another POP3 session"
    );
    // Still in AUTHORIZATION: it may try again once the first session is gone.
    first.hang_up().await;
    second.cmd("USER bob@example.test").await;
    assert!(
        second
            .cmd(&format!("PASS {PASSWORD}"))
            .await
            .starts_with("+OK")
    );
}

#[tokio::test]
async fn commands_in_the_wrong_state() {
    let h = Harness::new().await;
    let mut c = h.connect(TRUSTED).await;
    for (cmd, kw) in [
        ("STAT", "STAT"),
        ("LIST", "LIST"),
        ("RETR 1", "RETR"),
        ("DELE 1", "DELE"),
        ("RSET", "RSET"),
        ("TOP 1 1", "TOP"),
        ("UIDL", "UIDL"),
    ] {
        assert_eq!(
            c.cmd(cmd).await,
            format!("-ERR {kw} is only valid after login")
        );
    }
    let h = Harness::new().await;
    let mut c = h.login().await;
    for (cmd, kw) in [
        ("USER x", "USER"),
        ("PASS x", "PASS"),
        ("AUTH PLAIN", "AUTH"),
        ("APOP a b", "APOP"),
        ("STLS", "STLS"),
    ] {
        assert_eq!(
            c.cmd(cmd).await,
            format!("-ERR {kw} is not valid after login")
        );
    }
}
