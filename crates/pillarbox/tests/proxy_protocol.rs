//! The PROXY protocol end to end: the real binary behind Debian's HAProxy in TCP mode
//! (`send-proxy` for some routes, `send-proxy-v2` for others), with real clients
//! (Python's imaplib, poplib and smtplib, curl) bound to chosen loopback sources. Only
//! 127.0.0.1 (HAProxy) is a trusted proxy; the LAN is 127.0.0.2/32. What Pillarbox
//! believes about the client is proved by behaviour: LAN-only IMAP and POP3 let in
//! 127.0.0.2 and refuse 127.0.0.3 through the same balancer, the `Received:` header
//! names the client, and the connection span in the log carries the client and the
//! balancer. Direct connections show the other side: an untrusted client's PROXY line
//! is an ordinary protocol error, and a trusted peer that sends no header is closed
//! while the server goes on serving.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use support::peers::{HaProxy, SendProxy};
use support::{TestServer, accounts, inbox, listen_any, ok, python_ok};

/// HAProxy (on 127.0.0.1) is the one trusted proxy; the LAN is 127.0.0.2 alone; all of
/// loopback may log in with a plaintext password. Connection logs are on (debug) so the
/// connection span can be read.
const CONFIG: &str = "[network]\nlan = [\"127.0.0.2/32\"]\ntrusted = [\"127.0.0.0/8\"]\nproxy_trusted = [\"127.0.0.1/32\"]\n\n[log]\nlevel = \"info,pillarbox_net=debug\"\n";

struct Setup {
    s: TestServer,
    haproxy: HaProxy,
}

impl Setup {
    /// Pillarbox on 127.0.0.1, HAProxy in front of every listener, and bob (IMAP and
    /// POP3 from the LAN only) and carol.
    fn start() -> Setup {
        let s = TestServer::start(&format!("{}\n{CONFIG}", listen_any("127.0.0.1")));
        accounts(&s, &["bob", "carol"]);
        ok(s.cli(
            &[
                "account",
                "set",
                "bob@example.test",
                "--imap-lan-only",
                "on",
                "--pop-lan-only",
                "on",
            ],
            None,
        ));
        let haproxy = HaProxy::start(&[
            ("smtp_v1", s.addr("smtp"), SendProxy::V1),
            ("submissions_v2", s.addr("submissions"), SendProxy::V2),
            ("imap_v1", s.addr("imap"), SendProxy::V1),
            ("imaps_v2", s.addr("imaps"), SendProxy::V2),
            ("pop3_v2", s.addr("pop3"), SendProxy::V2Checked),
            ("http_v1", s.addr("http"), SendProxy::V1),
        ]);
        Setup { s, haproxy }
    }

    fn cert(&self) -> PathBuf {
        self.s.data_dir().join("tls/cert.pem")
    }

    /// Runs one client step of [`CLIENT`]: `what` through `addr`, from `source`.
    fn client(&self, what: &str, addr: SocketAddr, source: &str, extra: &[&str]) -> String {
        let cert = self.cert();
        let mut args = vec![
            what.to_string(),
            addr.ip().to_string(),
            addr.port().to_string(),
            source.to_string(),
            cert.display().to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        python_ok(CLIENT, &args).trim().to_string()
    }

    fn via(&self, route: &str) -> SocketAddr {
        self.haproxy.addr(route)
    }
}

/// Real protocol clients connecting from a chosen source address:
/// `imap|imaps|pop3 HOST PORT SOURCE CAFILE USER` logs in with password `pw` and prints
/// the outcome; `smtp|smtps HOST PORT SOURCE CAFILE FROM TO [USER]` sends one message
/// (authenticating as USER over TLS when given) and prints the reply.
const CLIENT: &str = r#"
import imaplib, poplib, smtplib, socket, ssl, sys

what, host, port, source, cafile = sys.argv[1:6]
port = int(port)
rest = sys.argv[6:]

def tls():
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False  # the certificate names mx.example.test; it is verified
    return ctx

def sock(timeout):
    return socket.create_connection((host, port), timeout, source_address=(source, 0))

class IMAP(imaplib.IMAP4):
    def _create_socket(self, timeout):
        return sock(timeout)

class IMAPS(imaplib.IMAP4_SSL):
    def _create_socket(self, timeout):
        return self.ssl_context.wrap_socket(sock(timeout), server_hostname=self.host)

class POP3(poplib.POP3):
    def _create_socket(self, timeout):
        return sock(timeout)

if what in ("imap", "imaps"):
    m = IMAP(host, port, timeout=30) if what == "imap" else IMAPS(host, port, ssl_context=tls(), timeout=30)
    try:
        typ, _ = m.login(rest[0], "pw")
        print(typ)
        m.logout()
    except imaplib.IMAP4.error as e:
        print("NO", e)
elif what == "pop3":
    p = POP3(host, port, timeout=30)
    p.user(rest[0])
    try:
        print(p.pass_("pw").decode())
        p.quit()
    except poplib.error_proto as e:
        print(e.args[0].decode())
elif what in ("smtp", "smtps"):
    if what == "smtp":
        s = smtplib.SMTP(host, port, timeout=30, source_address=(source, 0))
    else:
        s = smtplib.SMTP_SSL(host, port, timeout=30, source_address=(source, 0), context=tls())
    s.ehlo("client.example")
    if len(rest) > 2:
        s.login(rest[2], "pw")
    msg = "From: %s\r\nTo: %s\r\nSubject: proxied\r\n\r\nthrough the balancer\r\n" % (rest[0], rest[1])
    s.sendmail(rest[0], [rest[1]], msg)
    print("sent")
    s.quit()
"#;

#[test]
fn lan_only_imap_and_pop3_see_the_client_through_haproxy_v1_and_v2() {
    let t = Setup::start();
    let bob = "bob@example.test";
    let refused = |service: &str, ip: &str| {
        format!(
            "{service} access is allowed for this account only from the local network, and {ip} is outside it"
        )
    };
    // IMAP through `send-proxy` (v1): the LAN client is let in, the other refused with
    // its own address named.
    let imap = t.via("imap_v1");
    assert_eq!(t.client("imap", imap, "127.0.0.2", &[bob]), "OK");
    let outside = t.client("imap", imap, "127.0.0.3", &[bob]);
    assert!(outside.starts_with("NO "), "{outside}");
    assert!(outside.contains(&refused("IMAP", "127.0.0.3")), "{outside}");
    // IMAP over implicit TLS through `send-proxy-v2`: the header comes before the
    // handshake.
    let imaps = t.via("imaps_v2");
    assert_eq!(t.client("imaps", imaps, "127.0.0.2", &[bob]), "OK");
    let outside = t.client("imaps", imaps, "127.0.0.3", &[bob]);
    assert!(outside.contains(&refused("IMAP", "127.0.0.3")), "{outside}");
    // POP3 through `send-proxy-v2`, with HAProxy's health checks (v2 LOCAL) running.
    let pop3 = t.via("pop3_v2");
    assert_eq!(
        t.client("pop3", pop3, "127.0.0.2", &[bob]),
        "+OK maildrop locked and ready, 0 messages (0 octets)"
    );
    assert_eq!(
        t.client("pop3", pop3, "127.0.0.3", &[bob]),
        format!("-ERR [AUTH] {}", refused("POP3", "127.0.0.3"))
    );
    // A health check is a LOCAL header: accepted, with HAProxy's own address as peer.
    let check = std::iter::from_fn(|| {
        t.s.wait_log("PROXY protocol header", Duration::from_secs(60))
    })
    .take(500)
    .find(|l| l.contains("Local"))
    .expect("a health check's LOCAL header is logged");
    let v: serde_json::Value = serde_json::from_str(&check).unwrap();
    assert_eq!(v["span"]["service"], "pop3", "{check}");
    assert!(
        v["span"]["peer"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:"),
        "{check}"
    );
}

/// The `Received:` header's client address (`from … ([IP])`).
fn received_from(message: &[u8]) -> String {
    let text = String::from_utf8_lossy(message);
    let first = text.lines().next().unwrap_or_default().to_string();
    assert!(first.starts_with("Received: from "), "{text}");
    first
}

#[test]
fn smtp_received_header_names_the_client_through_haproxy() {
    let t = Setup::start();
    // MX through `send-proxy` (v1), from 127.0.0.2.
    let mx = t.via("smtp_v1");
    assert_eq!(
        t.client(
            "smtp",
            mx,
            "127.0.0.2",
            &["alice@remote.test", "bob@example.test"]
        ),
        "sent"
    );
    let got = inbox(&t.s.data_dir(), "bob@example.test");
    assert_eq!(got.len(), 1);
    let line = received_from(&got[0]);
    assert!(
        line.starts_with("Received: from client.example ([127.0.0.2])"),
        "{line}"
    );
    // Submission over implicit TLS (465) through `send-proxy-v2`, from 127.0.0.3, with
    // AUTH.
    let submissions = t.via("submissions_v2");
    assert_eq!(
        t.client(
            "smtps",
            submissions,
            "127.0.0.3",
            &[
                "carol@example.test",
                "bob@example.test",
                "carol@example.test"
            ]
        ),
        "sent"
    );
    let got = inbox(&t.s.data_dir(), "bob@example.test");
    assert_eq!(got.len(), 2);
    let line = received_from(&got[1]);
    assert!(
        line.starts_with("Received: from client.example ([127.0.0.3])"),
        "{line}"
    );
}

#[test]
fn http_connection_span_names_the_client_and_the_balancer() {
    let t = Setup::start();
    let http = t.via("http_v1");
    let out = std::process::Command::new("curl")
        .args(["-s", "-S", "--max-time", "30", "--interface", "127.0.0.2"])
        .args(["-o", "/dev/null", "-w", "%{http_code}"])
        .arg(format!(
            "http://{http}/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=bob%40example.test"
        ))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200", "{out:?}");
    // HAProxy's readiness probes came from 127.0.0.1; curl's connection is the one
    // from 127.0.0.2.
    let line =
        t.s.wait_log("\"peer\":\"127.0.0.2:", Duration::from_secs(30))
            .expect("the HTTP connection is logged");
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    let span = &v["span"];
    assert_eq!(span["service"], "http", "{line}");
    assert!(
        span["peer"].as_str().unwrap().starts_with("127.0.0.2:"),
        "{line}"
    );
    assert!(
        span["proxy"].as_str().unwrap().starts_with("127.0.0.1:"),
        "{line}"
    );
}

/// Reads one line (a reply) from `r`.
fn reply(r: &mut BufReader<TcpStream>) -> String {
    let mut l = String::new();
    r.read_line(&mut l).unwrap();
    l
}

/// A direct connection to `addr` from `source` (not through HAProxy).
fn direct(source: &str, addr: SocketAddr) -> BufReader<TcpStream> {
    let socket = connect_from(source, addr);
    // A safety net against a hang, not a timing assertion.
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    BufReader::new(socket)
}

/// Connects from `source` with a bound socket (std has no bind-before-connect).
fn connect_from(source: &str, addr: SocketAddr) -> TcpStream {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let s = tokio::net::TcpSocket::new_v4().unwrap();
        s.bind(format!("{source}:0").parse().unwrap()).unwrap();
        let std = s.connect(addr).await.unwrap().into_std().unwrap();
        std.set_nonblocking(false).unwrap();
        std
    })
}

#[test]
fn untrusted_proxy_lines_are_protocol_errors_and_trusted_garbage_is_closed() {
    let t = Setup::start();
    let smtp = t.s.addr("smtp");
    // 127.0.0.3 is not a trusted proxy: its PROXY line is an unknown SMTP command, and
    // the session goes on with its own address in the `Received:` header.
    let mut c = direct("127.0.0.3", smtp);
    assert!(reply(&mut c).starts_with("220 "));
    c.get_mut()
        .write_all(b"PROXY TCP4 127.0.0.2 127.0.0.1 40000 25\r\n")
        .unwrap();
    let error = reply(&mut c);
    assert!(error.starts_with("500 "), "{error}");
    for (cmd, code) in [
        ("EHLO client.example\r\n", "250 "),
        ("MAIL FROM:<alice@remote.test>\r\n", "250 "),
        ("RCPT TO:<bob@example.test>\r\n", "250 "),
        ("DATA\r\n", "354 "),
        ("Subject: direct\r\n\r\nhello\r\n.\r\n", "250 "),
    ] {
        c.get_mut().write_all(cmd.as_bytes()).unwrap();
        let mut r = reply(&mut c);
        while r.as_bytes().get(3) == Some(&b'-') {
            r = reply(&mut c);
        }
        assert!(r.starts_with(code), "{cmd}: {r}");
    }
    let got = inbox(&t.s.data_dir(), "bob@example.test");
    let line = received_from(&got[0]);
    assert!(line.contains("([127.0.0.3])"), "{line}");
    // The same for IMAP: the PROXY line is a command with tag "PROXY", answered BAD.
    let mut c = direct("127.0.0.3", t.s.addr("imap"));
    assert!(reply(&mut c).starts_with("* OK"));
    c.get_mut()
        .write_all(b"PROXY TCP4 127.0.0.2 127.0.0.1 40000 143\r\n")
        .unwrap();
    let error = reply(&mut c);
    assert!(error.starts_with("PROXY BAD "), "{error}");
    // 127.0.0.1 is a trusted proxy: a connection from it that starts with anything but
    // a header is closed before any greeting, and logged.
    let mut c = direct("127.0.0.1", smtp);
    c.get_mut().write_all(b"EHLO client.example\r\n").unwrap();
    let mut rest = Vec::new();
    c.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest));
    let logged =
        t.s.wait_log(
            "the connection begins with neither",
            Duration::from_secs(30),
        )
        .expect("the refusal is logged");
    assert!(
        logged.contains("no valid PROXY protocol header"),
        "{logged}"
    );
    // The server goes on serving, through the balancer as directly.
    assert_eq!(
        t.client(
            "smtp",
            t.via("smtp_v1"),
            "127.0.0.2",
            &["alice@remote.test", "bob@example.test"]
        ),
        "sent"
    );
    let mut c = direct("127.0.0.3", smtp);
    assert!(reply(&mut c).starts_with("220 "));
}
