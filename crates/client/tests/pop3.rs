//! The POP3 login client against a POP3 server written here: USER/PASS, SASL PLAIN and
//! XOAUTH2, STLS (required, missing), implicit TLS, a server without CAPA, refused
//! logins with RFC 2449 codes, and an -ERR greeting.

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use pillarbox_client::TlsPolicy;
use pillarbox_client::pop3::{LoginMethod, Pop3Client, Pop3ClientConfig, Pop3Error};
use pillarbox_client::sasl::{Credentials, Mechanism, Secret};
use pillarbox_config::TlsVersion;
use pillarbox_net::dial::Target;
use pillarbox_net::{BoxedStream, ClientTls, ClientTlsMode};
use support::TestCert;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Clone)]
struct Pop3Script {
    greeting: &'static str,
    implicit_tls: bool,
    stls: bool,
    capa: bool,
    sasl: Vec<&'static str>,
    /// The reply to a wrong password.
    refusal: &'static str,
}

impl Default for Pop3Script {
    fn default() -> Self {
        Pop3Script {
            greeting: "+OK POP3 ready <1896.697170952@test.example>",
            implicit_tls: false,
            stls: false,
            capa: true,
            sasl: Vec::new(),
            refusal: "-ERR [AUTH] invalid credentials",
        }
    }
}

struct Pop3Server {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Pop3Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Pop3Server {
    async fn start(script: Pop3Script) -> Pop3Server {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let cert = Arc::new(TestCert::new());
        let l2 = log.clone();
        let task = tokio::spawn(async move {
            let mut sessions = tokio::task::JoinSet::new();
            while let Ok((s, _)) = l.accept().await {
                sessions.spawn(session(
                    Box::new(s),
                    script.clone(),
                    cert.clone(),
                    l2.clone(),
                ));
            }
        });
        Pop3Server { addr, log, task }
    }

    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

async fn session(
    mut s: BoxedStream,
    script: Pop3Script,
    cert: Arc<TestCert>,
    log: Arc<Mutex<Vec<String>>>,
) {
    let mut tls = false;
    if script.implicit_tls {
        let Ok(t) = cert.acceptor.accept(s).await else {
            return;
        };
        s = Box::new(t);
        tls = true;
    }
    let mut io = BufReader::new(s);
    let send = async |io: &mut BufReader<BoxedStream>, line: &str| {
        io.get_mut()
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .unwrap();
    };
    send(&mut io, script.greeting).await;
    if !script.greeting.starts_with("+OK") {
        return;
    }
    let mut user = String::new();
    loop {
        let mut line = String::new();
        if io.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end().to_string();
        log.lock()
            .unwrap()
            .push(format!("{}{line}", if tls { "[tls] " } else { "" }));
        let (verb, arg) = line.split_once(' ').unwrap_or((&line, ""));
        match verb.to_ascii_uppercase().as_str() {
            "CAPA" if script.capa => {
                let mut caps = vec!["+OK capabilities follow", "USER", "RESP-CODES"];
                if script.stls && !tls {
                    caps.push("STLS");
                }
                let sasl = format!("SASL {}", script.sasl.join(" "));
                if !script.sasl.is_empty() {
                    caps.push(&sasl);
                }
                caps.push(".");
                send(&mut io, &caps.join("\r\n")).await;
            }
            "STLS" if script.stls && !tls => {
                send(&mut io, "+OK begin TLS").await;
                let plain = io.into_inner();
                let Ok(t) = cert.acceptor.accept(plain).await else {
                    return;
                };
                io = BufReader::new(Box::new(t));
                tls = true;
            }
            "USER" => {
                user = arg.to_string();
                send(&mut io, "+OK").await;
            }
            "PASS" => {
                let ok = user == "alice" && arg == "s3cret";
                send(
                    &mut io,
                    if ok {
                        "+OK maildrop locked"
                    } else {
                        script.refusal
                    },
                )
                .await;
            }
            "AUTH" => {
                let (mech, initial) = arg.split_once(' ').unwrap_or((arg, ""));
                let decoded = B64.decode(initial).unwrap_or_default();
                let ok = match mech {
                    "PLAIN" => decoded == b"\0alice\0s3cret",
                    "XOAUTH2" => {
                        let ok = decoded == b"user=alice\x01auth=Bearer tok\x01\x01";
                        if !ok {
                            send(&mut io, &format!("+ {}", B64.encode(r#"{"status":"401"}"#)))
                                .await;
                            let mut empty = String::new();
                            io.read_line(&mut empty).await.unwrap();
                            assert_eq!(empty.trim_end(), "");
                        }
                        ok
                    }
                    _ => false,
                };
                send(
                    &mut io,
                    if ok {
                        "+OK authenticated"
                    } else {
                        script.refusal
                    },
                )
                .await;
            }
            "QUIT" => {
                send(&mut io, "+OK bye").await;
                return;
            }
            _ => send(&mut io, "-ERR unknown command").await,
        }
    }
}

fn config(mode: ClientTlsMode, policy: TlsPolicy) -> Pop3ClientConfig {
    let mut c = Pop3ClientConfig::default();
    c.dial.connect_timeout = Duration::from_secs(5);
    c.dial.sni = Some("localhost".into());
    c.dial.tls = ClientTls {
        mode,
        min_version: TlsVersion::Tls12,
        verify: false,
        extra_ca: None,
    };
    c.tls_policy = policy;
    c.timeout = Duration::from_secs(10);
    c
}

fn target(s: &Pop3Server) -> Target {
    Target::new("127.0.0.1", s.addr.port())
}

fn password(p: &str) -> Credentials {
    Credentials {
        username: "alice".into(),
        secret: Secret::Password(p.into()),
    }
}

#[tokio::test]
async fn user_pass_login_and_quit() {
    let server = Pop3Server::start(Pop3Script::default()).await;
    let mut client = Pop3Client::connect(
        &target(&server),
        &config(ClientTlsMode::None, TlsPolicy::None),
    )
    .await
    .unwrap();
    client.login(&password("s3cret")).await.unwrap();
    assert_eq!(client.info().login, Some(LoginMethod::UserPass));
    assert!(client.info().capabilities.as_ref().unwrap().user);
    client.quit().await.unwrap();
    assert_eq!(
        server.log(),
        vec!["CAPA", "USER alice", "PASS s3cret", "QUIT"]
    );
}

#[tokio::test]
async fn pop_before_smtp_login_and_quit() {
    let server = Pop3Server::start(Pop3Script::default()).await;
    let cfg = config(ClientTlsMode::None, TlsPolicy::None);
    let info = Pop3Client::login_and_quit(&target(&server), &cfg, &password("s3cret"))
        .await
        .unwrap();
    assert_eq!(info.login, Some(LoginMethod::UserPass));
    assert_eq!(server.log().last().map(String::as_str), Some("QUIT"));
    let err = Pop3Client::login_and_quit(&target(&server), &cfg, &password("bad"))
        .await
        .unwrap_err();
    assert!(err.is_auth_failure());
}

#[tokio::test]
async fn sasl_plain_when_offered() {
    let script = Pop3Script {
        sasl: vec!["PLAIN", "LOGIN"],
        ..Pop3Script::default()
    };
    let server = Pop3Server::start(script).await;
    let mut client = Pop3Client::connect(
        &target(&server),
        &config(ClientTlsMode::None, TlsPolicy::None),
    )
    .await
    .unwrap();
    client.login(&password("s3cret")).await.unwrap();
    assert_eq!(
        client.info().login,
        Some(LoginMethod::Sasl(Mechanism::Plain))
    );
    client.quit().await.unwrap();
}

#[tokio::test]
async fn xoauth2_token_and_its_error_continuation() {
    let script = Pop3Script {
        sasl: vec!["XOAUTH2"],
        ..Pop3Script::default()
    };
    let server = Pop3Server::start(script).await;
    let cfg = config(ClientTlsMode::None, TlsPolicy::None);
    let token = |t: &str| Credentials {
        username: "alice".into(),
        secret: Secret::BearerToken(t.into()),
    };
    let mut client = Pop3Client::connect(&target(&server), &cfg).await.unwrap();
    client.login(&token("tok")).await.unwrap();
    assert_eq!(
        client.info().login,
        Some(LoginMethod::Sasl(Mechanism::XOAuth2))
    );
    client.quit().await.unwrap();

    let mut client = Pop3Client::connect(&target(&server), &cfg).await.unwrap();
    let err = client.login(&token("stale")).await.unwrap_err();
    let Pop3Error::LoginFailed { detail, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(detail.as_deref().unwrap().contains("401"));
    assert!(err.is_auth_failure());
}

#[tokio::test]
async fn stls_required_upgrades_and_rereads_capabilities() {
    let script = Pop3Script {
        stls: true,
        ..Pop3Script::default()
    };
    let server = Pop3Server::start(script).await;
    let mut client = Pop3Client::connect(
        &target(&server),
        &config(ClientTlsMode::StartTls, TlsPolicy::Required),
    )
    .await
    .unwrap();
    assert!(client.info().tls.is_some());
    assert!(
        !client.info().capabilities.as_ref().unwrap().stls,
        "CAPA re-read after TLS"
    );
    client.login(&password("s3cret")).await.unwrap();
    client.quit().await.unwrap();
    assert_eq!(
        server.log(),
        vec![
            "CAPA",
            "STLS",
            "[tls] CAPA",
            "[tls] USER alice",
            "[tls] PASS s3cret",
            "[tls] QUIT"
        ]
    );
}

#[tokio::test]
async fn stls_required_but_missing_and_opportunistic() {
    let server = Pop3Server::start(Pop3Script::default()).await;
    let err = Pop3Client::connect(
        &target(&server),
        &config(ClientTlsMode::StartTls, TlsPolicy::Required),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Pop3Error::StlsUnavailable), "{err:?}");
    let client = Pop3Client::connect(
        &target(&server),
        &config(ClientTlsMode::StartTls, TlsPolicy::Opportunistic),
    )
    .await
    .unwrap();
    assert!(client.info().tls.is_none() && client.info().tls_skipped.is_some());
}

#[tokio::test]
async fn implicit_tls_pop3s() {
    let script = Pop3Script {
        implicit_tls: true,
        ..Pop3Script::default()
    };
    let server = Pop3Server::start(script).await;
    let mut client = Pop3Client::connect(
        &target(&server),
        &config(ClientTlsMode::Implicit, TlsPolicy::None),
    )
    .await
    .unwrap();
    assert!(client.info().tls.is_some());
    client.login(&password("s3cret")).await.unwrap();
    client.quit().await.unwrap();
}

#[tokio::test]
async fn server_without_capa_gets_user_pass() {
    let script = Pop3Script {
        capa: false,
        ..Pop3Script::default()
    };
    let server = Pop3Server::start(script).await;
    let mut client = Pop3Client::connect(
        &target(&server),
        &config(ClientTlsMode::None, TlsPolicy::None),
    )
    .await
    .unwrap();
    client.login(&password("s3cret")).await.unwrap();
    assert_eq!(client.info().login, Some(LoginMethod::UserPass));
    client.quit().await.unwrap();
}

#[tokio::test]
async fn refused_logins_carry_the_response_code() {
    let server = Pop3Server::start(Pop3Script::default()).await;
    let cfg = config(ClientTlsMode::None, TlsPolicy::None);
    let mut client = Pop3Client::connect(&target(&server), &cfg).await.unwrap();
    let err = client.login(&password("wrong")).await.unwrap_err();
    assert!(err.is_auth_failure(), "{err:?}");
    assert_eq!(
        err.to_string(),
        "login failed (USER/PASS): -ERR [AUTH] invalid credentials"
    );

    let script = Pop3Script {
        refusal: "-ERR [IN-USE] maildrop locked",
        ..Pop3Script::default()
    };
    let server = Pop3Server::start(script).await;
    let mut client = Pop3Client::connect(&target(&server), &cfg).await.unwrap();
    let err = client.login(&password("wrong")).await.unwrap_err();
    assert!(!err.is_auth_failure());
    assert_eq!(err.response().unwrap().code.as_deref(), Some("IN-USE"));
}

#[tokio::test]
async fn err_greeting() {
    let script = Pop3Script {
        greeting: "-ERR [SYS/TEMP] too busy",
        ..Pop3Script::default()
    };
    let server = Pop3Server::start(script).await;
    let err = Pop3Client::connect(
        &target(&server),
        &config(ClientTlsMode::None, TlsPolicy::None),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Pop3Error::Greeting(_)), "{err:?}");
    assert!(err.to_string().contains("too busy"));
}
