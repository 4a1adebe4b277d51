//! Session transcript support: a real store and directory in a temp directory, the
//! IMAP service run over an in-memory duplex per connection, and a client that sends
//! raw lines and reads responses up to a tagged completion.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use pillarbox_config::{AuthSection, ByteSize, ImapSection, IpRanges};
use pillarbox_directory::Directory;
use pillarbox_imap::{ImapService, ImapSettings};
use pillarbox_store::{Account, LocalTarget, NewMessage, Role, ServiceFlags, Store};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream};
use tokio_util::sync::CancellationToken;

pub const TRUSTED: &str = "127.0.0.1:40000";
pub const OUTSIDE: &str = "203.0.113.5:40000";

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub store: Store,
    pub svc: ImapService,
    pub bob: Account,
    pub shutdown: CancellationToken,
}

pub fn settings() -> ImapSettings {
    ImapSettings {
        imap: ImapSection {
            append_limit: ByteSize(10_000),
            ..ImapSection::default()
        },
        trusted: IpRanges::from_static(&["127.0.0.0/8"]),
        tls_handshake_timeout: Duration::from_secs(10),
        scanners: None,
    }
}

impl Harness {
    pub async fn new() -> Harness {
        Self::with(settings()).await
    }

    pub async fn with(settings: ImapSettings) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), Role::Server).unwrap();
        store.domain_create("example.test").await.unwrap();
        let directory = Directory::new(
            store.clone(),
            IpRanges::from_static(&["127.0.0.0/8"]),
            &AuthSection::default(),
        );
        let bob = directory
            .add_account("bob@example.test", "pw", ServiceFlags::default())
            .await
            .unwrap();
        let svc = ImapService::new(settings, directory, None);
        Harness {
            dir,
            store,
            svc,
            bob,
            shutdown: CancellationToken::new(),
        }
    }

    /// A harness whose service has MESSAGELIMIT `limit` (RFC 9738).
    pub async fn with_message_limit(limit: u32) -> Harness {
        let Harness {
            dir,
            store,
            svc,
            bob,
            shutdown,
        } = Self::new().await;
        Harness {
            dir,
            store,
            svc: svc.with_message_limit(limit),
            bob,
            shutdown,
        }
    }

    /// Delivers `raw` to bob's INBOX through the store (as the delivery pipeline would).
    pub async fn deliver(&self, raw: &[u8]) -> u32 {
        let blob = self.store.blobs().put(raw.to_vec()).await.unwrap();
        let structure = serde_json::to_vec(&pillarbox_mime::parse(raw)).unwrap();
        let out = self
            .store
            .deliver(
                NewMessage {
                    blob,
                    structure,
                    received_at: 1_700_000_000,
                },
                vec![LocalTarget {
                    account: self.bob.id,
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

    /// A connection from `peer`; the greeting is returned.
    pub async fn connect(&self, peer: &str) -> (Client, String) {
        let (client, server) = tokio::io::duplex(256 * 1024);
        let svc = self.svc.clone();
        let peer: SocketAddr = peer.parse().unwrap();
        let token = self.shutdown.clone();
        let task = tokio::spawn(async move { svc.run(Box::new(server), peer, None, token).await });
        let mut c = Client {
            r: BufReader::new(client),
            task: Some(task),
        };
        let greeting = c.line().await;
        (c, greeting)
    }

    /// Bob, logged in from a trusted address.
    pub async fn login(&self) -> Client {
        let (mut c, _) = self.connect(TRUSTED).await;
        let r = c.cmd("l LOGIN bob@example.test pw").await;
        assert!(r.last().unwrap().starts_with("l OK"), "{r:?}");
        c
    }
}

/// The client side of one session.
pub struct Client {
    pub r: BufReader<DuplexStream>,
    /// The session's task: it must end without panicking.
    pub task: Option<tokio::task::JoinHandle<()>>,
}

impl Client {
    pub async fn send(&mut self, raw: &str) {
        self.r.get_mut().write_all(raw.as_bytes()).await.unwrap();
    }

    /// One response line, CRLF stripped.
    pub async fn line(&mut self) -> String {
        let mut buf = Vec::new();
        let n = tokio::time::timeout(Duration::from_secs(20), self.r.read_until(b'\n', &mut buf))
            .await
            .expect("response in time")
            .unwrap();
        assert!(n > 0, "unexpected end of stream");
        assert!(buf.ends_with(b"\r\n"), "CRLF-terminated: {buf:?}");
        buf.truncate(buf.len() - 2);
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// Lines up to and including the one starting with `tag `.
    pub async fn until(&mut self, tag: &str) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            let l = self.line().await;
            let done = l.starts_with(&format!("{tag} "));
            out.push(l);
            if done {
                return out;
            }
        }
    }

    /// Sends `line` and returns every octet of the answer up to and including its
    /// tagged completion line, literals untouched.
    pub async fn raw_cmd(&mut self, line: &str) -> Vec<u8> {
        self.send(&format!("{line}\r\n")).await;
        let tag = format!("{} ", line.split(' ').next().unwrap());
        let mut out = Vec::new();
        loop {
            let start = out.len();
            let n =
                tokio::time::timeout(Duration::from_secs(20), self.r.read_until(b'\n', &mut out))
                    .await
                    .expect("response in time")
                    .unwrap();
            assert!(n > 0, "unexpected end of stream");
            if out[start..].starts_with(tag.as_bytes()) {
                return out;
            }
        }
    }

    /// Sends `line` (its first word is the tag) and reads up to its completion.
    pub async fn cmd(&mut self, line: &str) -> Vec<String> {
        self.send(&format!("{line}\r\n")).await;
        let tag = line.split(' ').next().unwrap().to_string();
        self.until(&tag).await
    }

    /// True when the server has closed the connection.
    pub async fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        let r = tokio::time::timeout(Duration::from_secs(20), self.r.read_to_end(&mut rest)).await;
        matches!(r, Ok(Ok(_)))
    }
}
