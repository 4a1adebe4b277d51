//! Transcript test support: a real store and directory in a temp directory, the POP3
//! service run over an in-memory duplex per connection, and a small client that sends
//! lines and reads single- and multi-line responses (plain or after STLS).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use pillarbox_config::{AuthSection, IpRanges, Pop3Section, Seconds, TlsSection};
use pillarbox_directory::Directory;
use pillarbox_net::{ServerTls, TlsInfo};
use pillarbox_pop3::{Pop3Service, Pop3Settings};
use pillarbox_store::{Account, LocalTarget, NewMessage, Role, ServiceFlags, Store};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio_util::sync::CancellationToken;

pub const TRUSTED: &str = "127.0.0.1:40000";
pub const OUTSIDE: &str = "203.0.113.5:40000";
pub const PASSWORD: &str = "pw one";

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub store: Store,
    pub directory: Directory,
    pub svc: Pop3Service,
    pub bob: Account,
    pub shutdown: CancellationToken,
    pub tls: ServerTls,
}

pub fn settings() -> Pop3Settings {
    Pop3Settings {
        pop3: Pop3Section::default(),
        trusted: IpRanges::from_static(&["127.0.0.0/8"]),
        tls_handshake_timeout: Duration::from_secs(10),
    }
}

impl Harness {
    pub async fn new() -> Harness {
        Self::with(settings(), AuthSection::default()).await
    }

    pub async fn with(settings: Pop3Settings, auth: AuthSection) -> Harness {
        pillarbox_net::install_crypto_provider();
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), Role::Server).unwrap();
        store.domain_create("example.test").await.unwrap();
        let directory = Directory::new(
            store.clone(),
            IpRanges::from_static(&["127.0.0.0/8"]),
            &auth,
        );
        let bob = directory
            .add_account("bob@example.test", PASSWORD, ServiceFlags::default())
            .await
            .unwrap();
        let tls = ServerTls::load(&TlsSection::default(), dir.path(), "localhost").unwrap();
        let svc = Pop3Service::new(settings, directory.clone(), Some(tls.clone()));
        Harness {
            dir,
            store,
            directory,
            svc,
            bob,
            shutdown: CancellationToken::new(),
            tls,
        }
    }

    pub fn lockout_auth(max_failures: u32) -> AuthSection {
        AuthSection {
            max_failures,
            failure_window: Seconds::secs(600),
            lockout: Seconds::secs(600),
            ..AuthSection::default()
        }
    }

    /// Stores `raw` in `account`'s INBOX; returns its UID.
    pub async fn deliver_to(&self, account: &Account, raw: &[u8]) -> u32 {
        let blob = self.store.blobs().put(raw.to_vec()).await.unwrap();
        let out = self
            .store
            .deliver(
                NewMessage {
                    blob,
                    structure: b"{}".to_vec(),
                    received_at: 1_700_000_000,
                },
                vec![LocalTarget {
                    account: account.id,
                    mailbox: None,
                    flags: 0,
                    keywords: String::new(),
                    enforce_quota: false,
                }],
                None,
            )
            .await
            .unwrap();
        out.local[0].as_ref().unwrap().uid
    }

    pub async fn deliver(&self, raw: &[u8]) -> u32 {
        self.deliver_to(&self.bob, raw).await
    }

    /// UIDs in bob's INBOX.
    pub async fn inbox_uids(&self) -> Vec<u32> {
        let mb = self
            .store
            .mailbox_get(self.bob.id, "INBOX")
            .await
            .unwrap()
            .unwrap();
        self.store
            .entries(mb.id)
            .await
            .unwrap()
            .iter()
            .map(|e| e.uid)
            .collect()
    }

    pub async fn uidvalidity(&self) -> u32 {
        self.store
            .mailbox_get(self.bob.id, "INBOX")
            .await
            .unwrap()
            .unwrap()
            .uidvalidity
    }

    /// A plain connection from `peer`; the greeting is consumed.
    pub async fn connect(&self, peer: &str) -> Client<tokio::io::DuplexStream> {
        self.connect_with(peer, None).await
    }

    /// A connection as if over implicit TLS (the session is told TLS is active).
    pub async fn connect_tls_active(&self, peer: &str) -> Client<tokio::io::DuplexStream> {
        let info = TlsInfo {
            version: "TLSv1.3".into(),
            cipher: "TEST".into(),
        };
        self.connect_with(peer, Some(info)).await
    }

    async fn connect_with(
        &self,
        peer: &str,
        tls: Option<TlsInfo>,
    ) -> Client<tokio::io::DuplexStream> {
        let (client, server) = tokio::io::duplex(256 * 1024);
        let svc = self.svc.clone();
        let peer: SocketAddr = peer.parse().unwrap();
        let token = self.shutdown.clone();
        let task = tokio::spawn(async move { svc.run(Box::new(server), peer, tls, token).await });
        let mut c = Client {
            r: BufReader::new(client),
            task: Some(task),
        };
        let greeting = c.line().await;
        assert!(greeting.starts_with("+OK "), "{greeting}");
        c
    }

    /// Logs bob in over a trusted plain connection.
    pub async fn login(&self) -> Client<tokio::io::DuplexStream> {
        let mut c = self.connect(TRUSTED).await;
        assert!(c.cmd("USER bob@example.test").await.starts_with("+OK"));
        let r = c.cmd(&format!("PASS {PASSWORD}")).await;
        assert!(r.starts_with("+OK maildrop locked"), "{r}");
        c
    }

    /// A rustls client trusting the harness certificate.
    pub fn tls_connector(&self) -> tokio_rustls::TlsConnector {
        use rustls_pki_types::pem::PemObject;
        let pem = std::fs::read(self.tls.certificate_path()).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        for c in rustls_pki_types::CertificateDer::pem_slice_iter(&pem) {
            roots.add(c.unwrap()).unwrap();
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        tokio_rustls::TlsConnector::from(Arc::new(config))
    }
}

/// The client side of one session.
pub struct Client<S> {
    pub r: BufReader<S>,
    pub task: Option<tokio::task::JoinHandle<()>>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    pub async fn send(&mut self, raw: &str) {
        self.r.get_mut().write_all(raw.as_bytes()).await.unwrap();
    }

    pub async fn send_bytes(&mut self, raw: &[u8]) {
        self.r.get_mut().write_all(raw).await.unwrap();
    }

    /// One response line, CRLF stripped. Panics on EOF.
    pub async fn line(&mut self) -> String {
        let mut buf = Vec::new();
        let n = tokio::time::timeout(Duration::from_secs(20), self.r.read_until(b'\n', &mut buf))
            .await
            .expect("response in time")
            .unwrap();
        assert!(n > 0, "unexpected end of stream");
        assert!(buf.ends_with(b"\r\n"), "CRLF-terminated: {buf:?}");
        buf.truncate(buf.len() - 2);
        String::from_utf8(buf).unwrap()
    }

    /// Sends a command and reads its status line.
    pub async fn cmd(&mut self, line: &str) -> String {
        self.send(&format!("{line}\r\n")).await;
        self.line().await
    }

    /// Reads the lines of a multi-line response up to the terminator (raw, still
    /// dot-stuffed, CRLF kept).
    pub async fn body(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let mut line = Vec::new();
            let n = self.r.read_until(b'\n', &mut line).await.unwrap();
            assert!(n > 0, "end of stream inside a multi-line response");
            if line == b".\r\n" {
                return out;
            }
            out.extend_from_slice(&line);
        }
    }

    /// Sends a command whose answer is multi-line; returns the status and the lines.
    pub async fn multi(&mut self, line: &str) -> (String, Vec<String>) {
        let status = self.cmd(line).await;
        if !status.starts_with("+OK") {
            return (status, Vec::new());
        }
        let body = self.body().await;
        let text = String::from_utf8(body).unwrap();
        let lines = text.split_terminator("\r\n").map(str::to_string).collect();
        (status, lines)
    }

    /// True when the server has closed the connection (reads EOF).
    pub async fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        let r = tokio::time::timeout(Duration::from_secs(20), self.r.read_to_end(&mut rest)).await;
        matches!(r, Ok(Ok(_))) && rest.is_empty()
    }

    /// Drops the connection without QUIT and waits for the server side to end.
    pub async fn hang_up(mut self) {
        let task = self.task.take();
        drop(self);
        if let Some(t) = task {
            tokio::time::timeout(Duration::from_secs(20), t)
                .await
                .expect("session ends")
                .unwrap();
        }
    }

    /// Waits for the server task to end.
    pub async fn finished(&mut self) {
        if let Some(t) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(20), t)
                .await
                .expect("session ends")
                .unwrap();
        }
    }
}

/// A message of `n` bytes-ish with a subject, CRLF lines.
pub fn message(subject: &str, body: &str) -> Vec<u8> {
    format!("From: alice@example.test\r\nTo: bob@example.test\r\nSubject: {subject}\r\n\r\n{body}")
        .into_bytes()
}
