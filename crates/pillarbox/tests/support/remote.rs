//! Remote peers for the collection tests: a real Dovecot (Debian's dovecot-imapd and
//! dovecot-pop3d) configured here on loopback ports with its own passwd file and a
//! Maildir we fill directly; the proxies microsocks (SOCKS5), danted (SOCKS4) and
//! tinyproxy (HTTP CONNECT) with their own configuration files; a TCP relay that cuts
//! the connection after a number of bytes; a silent listener. Each stops on drop.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::peers::free_port;

/// The remote login every Dovecot here knows.
pub const USER: &str = "remote";
pub const PASSWORD: &str = "secret";

fn wait_listening(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A Dovecot serving IMAP and POP3 for `remote`/`secret`.
pub struct Dovecot {
    pub dir: tempfile::TempDir,
    pub imap: u16,
    pub pop3: u16,
    /// Implicit-TLS ports (0 without TLS).
    pub imaps: u16,
    pub pop3s: u16,
    pub tls: bool,
    conf: PathBuf,
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Dovecot {
    /// Starts Dovecot; with `tls` it offers STARTTLS/STLS and implicit-TLS ports (a
    /// self-signed certificate), without it no TLS at all.
    pub fn start(tls: bool) -> Dovecot {
        Dovecot::start_with(tls, None)
    }

    /// Starts Dovecot like [`Dovecot::start`], also accepting XOAUTH2 and OAUTHBEARER
    /// logins whose tokens `oauth` introspects (RFC 7662).
    pub fn start_oauth2(tls: bool, oauth: &OAuthServer) -> Dovecot {
        Dovecot::start_with(tls, Some(oauth))
    }

    fn start_with(tls: bool, oauth: Option<&OAuthServer>) -> Dovecot {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        std::fs::write(d.join("passwd"), format!("{USER}:{{PLAIN}}{PASSWORD}\n")).unwrap();
        let maildir = d.join("mail").join(USER).join("Maildir");
        for sub in ["new", "cur", "tmp"] {
            std::fs::create_dir_all(maildir.join(sub)).unwrap();
        }
        let (imap, pop3) = (free_port(), free_port());
        let (imaps, pop3s) = if tls {
            (free_port(), free_port())
        } else {
            (0, 0)
        };
        let ssl = if tls {
            super::self_signed(d, "localhost");
            format!(
                "ssl = yes\nssl_cert = <{0}/cert.pem\nssl_key = <{0}/key.pem\n",
                d.display()
            )
        } else {
            "ssl = no\n".to_string()
        };
        let (mechanisms, oauth_passdb) = match oauth {
            Some(o) => {
                let ext = d.join("oauth2.conf.ext");
                std::fs::write(
                    &ext,
                    format!(
                        "introspection_mode = post\nintrospection_url = http://127.0.0.1:{}/introspect\n\
                         username_attribute = username\nactive_attribute = active\nactive_value = true\n",
                        o.port
                    ),
                )
                .unwrap();
                (
                    "plain login xoauth2 oauthbearer",
                    format!(
                        "passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = {}\n}}\n",
                        ext.display()
                    ),
                )
            }
            None => ("plain login", String::new()),
        };
        let conf = d.join("dovecot.conf");
        std::fs::write(
            &conf,
            format!(
                r#"protocols = imap pop3
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/log
{ssl}disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
auth_failure_delay = 0
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
mail_location = maildir:{d}/mail/%u/Maildir
pop3_uidl_format = %08Xu%08Xv
{oauth_passdb}passdb {{
  driver = passwd-file
  args = {d}/passwd
}}
userdb {{
  driver = static
  args = uid=65534 gid=65534 home={d}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    port = {imap}
  }}
  inet_listener imaps {{
    port = {imaps}
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {pop3}
  }}
  inet_listener pop3s {{
    port = {pop3s}
  }}
}}
"#,
                d = d.display()
            ),
        )
        .unwrap();
        Dovecot::chown(d);
        let status = Command::new("dovecot")
            .arg("-c")
            .arg(&conf)
            .status()
            .expect("dovecot (dovecot-imapd, dovecot-pop3d) is installed");
        assert!(status.success(), "dovecot did not start");
        let dc = Dovecot {
            dir,
            imap,
            pop3,
            imaps,
            pop3s,
            tls,
            conf,
        };
        wait_listening(imap, "dovecot imap");
        wait_listening(pop3, "dovecot pop3");
        dc
    }

    fn chown(d: &Path) {
        let status = Command::new("chown")
            .args(["-R", "65534:65534"])
            .arg(d.join("mail"))
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn maildir(&self) -> PathBuf {
        self.dir.path().join("mail").join(USER).join("Maildir")
    }

    /// Puts a message into the remote INBOX.
    pub fn add(&self, name: &str, message: &[u8]) {
        let tmp = self.maildir().join("tmp").join(name);
        std::fs::write(&tmp, message).unwrap();
        std::fs::rename(&tmp, self.maildir().join("new").join(name)).unwrap();
        Dovecot::chown(self.dir.path());
    }

    /// Puts messages `from..from+count` (see [`message`]) into the remote INBOX.
    pub fn fill(&self, from: usize, count: usize) {
        for i in from..from + count {
            let name = format!("{i}.M{i}P1.remote");
            std::fs::write(self.maildir().join("tmp").join(&name), message(i)).unwrap();
            std::fs::rename(
                self.maildir().join("tmp").join(&name),
                self.maildir().join("new").join(&name),
            )
            .unwrap();
        }
        Dovecot::chown(self.dir.path());
    }

    /// Messages left in the remote INBOX.
    pub fn count(&self) -> usize {
        ["new", "cur"]
            .iter()
            .map(|s| std::fs::read_dir(self.maildir().join(s)).unwrap().count())
            .sum()
    }

    /// Messages flagged \Seen (`:2,...S...` in cur/).
    pub fn seen(&self) -> usize {
        std::fs::read_dir(self.maildir().join("cur"))
            .unwrap()
            .flatten()
            .filter(|e| {
                let n = e.file_name().to_string_lossy().to_string();
                n.rsplit_once(":2,").is_some_and(|(_, f)| f.contains('S'))
            })
            .count()
    }

    /// Stops Dovecot (every process, connections included).
    pub fn stop(&self) {
        let _ = Command::new("doveadm")
            .arg("-c")
            .arg(&self.conf)
            .arg("stop")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let pid = self.dir.path().join("run/master.pid");
        let deadline = Instant::now() + Duration::from_secs(5);
        while pid.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Test message `i`: unique Message-ID and subject, a dot-stuffed line, about 600 bytes.
pub fn message(i: usize) -> Vec<u8> {
    let mut m = format!(
        "Return-Path: <sender{i}@elsewhere.test>\r\nDelivered-To: remote@remote.test\r\n\
         From: Sender {i} <sender{i}@elsewhere.test>\r\nTo: remote@remote.test\r\n\
         Subject: message {i}\r\nMessage-ID: <{i}.collect@elsewhere.test>\r\n\
         Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\nBody of message {i}.\r\n.a line with a dot\r\n"
    );
    while m.len() < 600 {
        m.push_str("Some more text to make the message a little longer.\r\n");
    }
    m.into_bytes()
}

/// The OAuth2 authorization server of `oauth_server.py` (token and introspection
/// endpoints), killed on drop.
pub struct OAuthServer {
    child: Child,
    pub port: u16,
    pub refresh_token: &'static str,
    pub client_id: &'static str,
    dir: tempfile::TempDir,
}

impl Drop for OAuthServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl OAuthServer {
    /// Issues tokens for `remote` living `lifetime_secs`, against the refresh token
    /// `rt-collect` of client `cid`.
    pub fn start(lifetime_secs: u64) -> OAuthServer {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/oauth_server.py");
        let (refresh_token, client_id) = ("rt-collect", "cid");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(USER)
            .arg(refresh_token)
            .arg(client_id)
            .arg(lifetime_secs.to_string())
            .arg(dir.path().join("log"))
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 is installed");
        let mut ready = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut ready,
        )
        .unwrap();
        assert_eq!(ready.trim(), "READY", "oauth_server.py did not start");
        OAuthServer {
            child,
            port,
            refresh_token,
            client_id,
            dir,
        }
    }

    pub fn token_url(&self) -> String {
        format!("http://127.0.0.1:{}/token", self.port)
    }

    /// What it was asked, one line per request (see `oauth_server.py`).
    pub fn log(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

/// stunnel as an old server's TLS: TLS 1.0 only (security level 0), implicit TLS on
/// `port`, in front of the plaintext `target` port; a [`Proxy`] so it stops on drop.
pub fn legacy_tls_front(target: u16) -> Proxy {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    super::self_signed(d, "localhost");
    let port = free_port();
    let conf = d.join("stunnel.conf");
    std::fs::write(
        &conf,
        format!(
            "foreground = yes\npid =\noutput = {0}/stunnel.log\n[legacy]\naccept = 127.0.0.1:{port}\n\
             connect = 127.0.0.1:{target}\ncert = {0}/cert.pem\nkey = {0}/key.pem\n\
             sslVersionMin = TLSv1\nsslVersionMax = TLSv1\nciphers = DEFAULT:@SECLEVEL=0\nsecurityLevel = 0\n",
            d.display()
        ),
    )
    .unwrap();
    let child = Command::new("stunnel4")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("stunnel4 is installed");
    wait_listening(port, "stunnel");
    Proxy {
        child,
        port,
        _dir: dir,
    }
}

/// A proxy process, killed on drop.
pub struct Proxy {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proxy {
    /// microsocks: SOCKS5 with username/password.
    pub fn microsocks(user: &str, pass: &str) -> Proxy {
        let port = free_port();
        let child = Command::new("microsocks")
            .args([
                "-i",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-u",
                user,
                "-P",
                pass,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("microsocks is installed");
        wait_listening(port, "microsocks");
        Proxy {
            child,
            port,
            _dir: tempfile::tempdir().unwrap(),
        }
    }

    /// danted (Dante): SOCKS4 (and 5) without authentication, loopback only.
    pub fn danted() -> Proxy {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let conf = dir.path().join("danted.conf");
        std::fs::write(
            &conf,
            format!(
                "logoutput: {0}/danted.log\ninternal: 127.0.0.1 port = {port}\nexternal: 127.0.0.1\n\
                 socksmethod: none\nclientmethod: none\nuser.privileged: root\nuser.unprivileged: nobody\n\
                 client pass {{\n  from: 127.0.0.0/8 to: 0.0.0.0/0\n}}\n\
                 socks pass {{\n  from: 127.0.0.0/8 to: 0.0.0.0/0\n  protocol: tcp\n}}\n",
                dir.path().display()
            ),
        )
        .unwrap();
        let child = Command::new("danted")
            .arg("-f")
            .arg(&conf)
            .arg("-p")
            .arg(dir.path().join("danted.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("danted (dante-server) is installed");
        wait_listening(port, "danted");
        Proxy {
            child,
            port,
            _dir: dir,
        }
    }

    /// tinyproxy: HTTP CONNECT to `ports` only, with Basic credentials.
    pub fn tinyproxy(user: &str, pass: &str, ports: &[u16]) -> Proxy {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let conf = dir.path().join("tinyproxy.conf");
        let mut text = format!(
            "Port {port}\nListen 127.0.0.1\nTimeout 60\nMaxClients 50\nAllow 127.0.0.1\n\
             BasicAuth {user} {pass}\nUser nobody\nGroup nogroup\n"
        );
        for p in ports {
            text.push_str(&format!("ConnectPort {p}\n"));
        }
        std::fs::write(&conf, text).unwrap();
        let child = Command::new("tinyproxy")
            .arg("-d")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tinyproxy is installed");
        wait_listening(port, "tinyproxy");
        Proxy {
            child,
            port,
            _dir: dir,
        }
    }
}

/// A TCP relay to `target` that cuts each connection (both ways) once it has passed
/// `cut_after` bytes from the server to the client — while `armed`.
pub struct CuttingRelay {
    pub port: u16,
    pub armed: Arc<AtomicBool>,
}

impl CuttingRelay {
    pub fn start(target: u16, cut_after: usize) -> CuttingRelay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let armed = Arc::new(AtomicBool::new(true));
        let a = armed.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                let limit = if a.load(Ordering::SeqCst) {
                    cut_after
                } else {
                    usize::MAX
                };
                relay(client, server, limit);
            }
        });
        CuttingRelay { port, armed }
    }
}

fn relay(client: TcpStream, server: TcpStream, limit: usize) {
    let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    // Client → server: plain copy.
    std::thread::spawn(move || {
        let (mut from, mut to) = (c2, s2);
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(std::net::Shutdown::Both);
    });
    // Server → client: cut after `limit` bytes.
    std::thread::spawn(move || {
        let (mut from, mut to) = (server, client);
        let mut passed = 0usize;
        let mut buf = [0u8; 4096];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let n = n.min(limit - passed);
            if to.write_all(&buf[..n]).is_err() {
                break;
            }
            passed += n;
            if passed >= limit {
                break;
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Both);
        let _ = from.shutdown(std::net::Shutdown::Both);
    });
}

/// A listener that accepts and never says anything (for timeouts).
pub fn silent_listener() -> (SocketAddr, std::thread::JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let h = std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming().flatten() {
            held.push(s);
            if held.len() > 16 {
                break;
            }
        }
    });
    (addr, h)
}

/// A Pillarbox data directory and configuration used through the CLI (no server),
/// with the domain `example.test` and the account `alice@example.test`.
pub struct Local {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

impl Local {
    /// `extra` is appended to the configuration (it must not contain `[server]`).
    pub fn new(extra: &str) -> Local {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("pillarbox.toml");
        std::fs::write(
            &config,
            format!(
                "[server]\nhostname = \"pb.example.test\"\ndata_dir = \"{}\"\n\n{extra}\n",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let l = Local { dir, config };
        super::ok(l.cli(&["domain", "add", "example.test"], None));
        super::ok(l.cli(
            &["account", "add", "alice@example.test", "--password-stdin"],
            Some("pw\n"),
        ));
        l
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> std::process::Output {
        super::cli(&self.config, args, stdin)
    }

    /// `collect add NAME --owner alice@example.test --user remote --address
    /// remote@remote.test --password-stdin ARGS` with the right password.
    pub fn add(&self, name: &str, args: &[&str]) -> String {
        let mut all = vec!["--password-stdin"];
        all.extend_from_slice(args);
        self.add_with(name, &all, &format!("{PASSWORD}\n"))
    }

    /// `collect add NAME --owner alice@example.test --user remote --address
    /// remote@remote.test --tls-verify off ARGS`, with `stdin` (the secrets ARGS read).
    pub fn add_with(&self, name: &str, args: &[&str], stdin: &str) -> String {
        let mut all = vec![
            "collect",
            "add",
            name,
            "--owner",
            "alice@example.test",
            "--user",
            USER,
            "--address",
            "remote@remote.test",
            "--tls-verify",
            "off",
        ];
        all.extend_from_slice(args);
        super::ok(self.cli(&all, Some(stdin)))
    }

    /// `collect run NAME`, asserting success; returns stdout.
    pub fn run(&self, name: &str) -> String {
        super::ok(self.cli(&["collect", "run", name], None))
    }

    /// The messages in a folder of alice's mailbox.
    pub fn folder(&self, name: &str) -> Vec<Vec<u8>> {
        folder(&self.data_dir(), "alice@example.test", name)
    }
}

/// The messages in folder `name` of `address`, read through the store.
pub fn folder(data_dir: &Path, address: &str, name: &str) -> Vec<Vec<u8>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = pillarbox_store::Store::open(data_dir, pillarbox_store::Role::Tool).unwrap();
        let account = store.account_get(address).await.unwrap().expect("account");
        let Some(mb) = store.mailbox_get(account.id, name).await.unwrap() else {
            return Vec::new();
        };
        let entries = store.entries(mb.id).await.unwrap();
        let data = store
            .messages(entries.iter().map(|e| e.message).collect())
            .await
            .unwrap();
        let mut out = Vec::new();
        for d in data {
            out.push(store.blobs().read(&d.blob).await.unwrap());
        }
        out
    })
}

/// The Message-IDs of `messages`, sorted, asserting there are no duplicates.
pub fn unique_ids(messages: &[Vec<u8>]) -> Vec<String> {
    let mut ids: Vec<String> = messages
        .iter()
        .map(|m| {
            let text = String::from_utf8_lossy(m);
            text.lines()
                .find_map(|l| l.strip_prefix("Message-ID: ").map(str::to_string))
                .expect("a Message-ID")
        })
        .collect();
    ids.sort();
    let before = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), before, "duplicates among the collected messages");
    ids
}
