//! Client provisioning end to end against the real binary (MDaemon's "OC Client
//! Settings"): the `[clients]` profile served over the http and https listeners as
//! Thunderbird autoconfig (by address and by `autoconfig.DOMAIN` host name), Outlook
//! autodiscover (POX) and an Apple configuration profile, read back with Python's XML
//! and plist parsers and with curl; ETag revalidation (`304` until a setting changes);
//! per-domain overrides; unknown domains, bad requests and oversized bodies refused
//! with the right status while the connection stays usable; the CLI's view of the same
//! profile and its DNS records; configuration errors naming file, line and key.

mod support;

use std::process::Command;

use support::{TestServer, cli, fails, listen_any, ok, python_ok};

const CLIENTS: &str = r#"
[clients]
display_name = "Example Mail"

[[clients.domain]]
name = "other.test"
imap_host = "imap.other.test"
imap_security = "starttls"
imap_port = 143
smtp_security = "starttls"
smtp_same_credentials = false
smtp_username = "relay@other.test"
pop3 = true

[[clients.domain]]
name = "quiet.test"
enabled = false
"#;

/// A server with every listener on a port the system picks (the profiles publish the
/// ports actually bound), or, with `fixed`, on ports written in the configuration, so
/// the CLI (which reads only the configuration) sees them too.
fn start_with(fixed: bool) -> TestServer {
    let mut listen = listen_any("127.0.0.1").replace(
        "http = [\"127.0.0.1:0\"]",
        "http = [\"127.0.0.1:0\"]\nhttps = [\"127.0.0.1:0\"]",
    );
    if fixed {
        for svc in ["imaps", "submissions", "https"] {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            listen = listen.replace(
                &format!("{svc} = [\"127.0.0.1:0\"]"),
                &format!("{svc} = [\"127.0.0.1:{port}\"]"),
            );
        }
    }
    let s = TestServer::start(&format!("{listen}\n{CLIENTS}"));
    for d in ["example.test", "other.test", "quiet.test"] {
        ok(s.cli(&["domain", "add", d], None));
    }
    s
}

fn start() -> TestServer {
    start_with(false)
}

const HELPERS: &str = r#"
import sys, ssl, socket, urllib.request, urllib.error, plistlib
import xml.etree.ElementTree as ET
HTTP, HTTPS = sys.argv[1], sys.argv[2]
PORTS = dict(p.split("=") for p in sys.argv[3].split(","))
CTX = ssl.create_default_context()
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE

def get(url, headers={}, data=None):
    req = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(req, context=CTX if url.startswith("https") else None) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()

def find(el, path):
    v = el.find(path)
    assert v is not None, (path, ET.tostring(el))
    return v.text
"#;

fn py(s: &TestServer, body: &str) -> String {
    let ports = [
        "imaps",
        "imap",
        "submissions",
        "submission",
        "pop3",
        "pop3s",
    ]
    .iter()
    .map(|k| format!("{k}={}", s.addr(k).port()))
    .collect::<Vec<_>>()
    .join(",");
    python_ok(
        &format!("{HELPERS}\n{body}"),
        &[
            &format!("http://{}", s.addr("http")),
            &format!("https://{}", s.addr("https")),
            &ports,
        ],
    )
}

#[test]
fn thunderbird_autoconfig_with_etag_revalidation() {
    let s = start();
    py(
        &s,
        r#"
url = HTTP + "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=bob%40Example.test"
status, headers, body = get(url)
assert status == 200, (status, body)
assert headers["content-type"].startswith("application/xml"), headers
root = ET.fromstring(body)
assert root.tag == "clientConfig" and root.get("version") == "1.1"
p = root.find("emailProvider")
assert p.get("id") == "example.test"
assert find(p, "domain") == "example.test" and find(p, "displayName") == "Example Mail"
inc = p.findall("incomingServer")
assert len(inc) == 1 and inc[0].get("type") == "imap", inc
assert find(inc[0], "hostname") == "mx.example.test"
assert find(inc[0], "port") == PORTS["imaps"] and find(inc[0], "socketType") == "SSL"
assert find(inc[0], "username") == "%EMAILADDRESS%"
assert find(inc[0], "authentication") == "password-cleartext"
out = p.find("outgoingServer")
assert out.get("type") == "smtp"
assert find(out, "port") == PORTS["submissions"] and find(out, "socketType") == "SSL"
assert find(out, "username") == "%EMAILADDRESS%"

# Asked again with its ETag: not modified, no body.
etag = headers["etag"]
status, headers2, body2 = get(url, {"If-None-Match": etag})
assert status == 304 and body2 == b"" and headers2["etag"] == etag, (status, headers2)
status, _, body3 = get(url, {"If-None-Match": '"something-else"'})
assert status == 200 and body3 == body

# autoconfig.DOMAIN/mail/config-v1.1.xml without an address: the domain is the host's.
status, _, by_host = get(HTTP + "/mail/config-v1.1.xml", {"Host": "autoconfig.example.test"})
assert status == 200 and by_host == body, by_host
# Over HTTPS too.
status, _, tls_body = get(HTTPS + "/mail/config-v1.1.xml?emailaddress=amy@example.test")
assert status == 200 and tls_body == body

# A domain's overrides: STARTTLS IMAP on another host, POP3 offered, SMTP with its own login.
status, _, other = get(HTTP + "/mail/config-v1.1.xml?emailaddress=carl@other.test")
assert status == 200, other
p = ET.fromstring(other).find("emailProvider")
imap, pop = p.findall("incomingServer")
assert (imap.get("type"), find(imap, "hostname"), find(imap, "port"), find(imap, "socketType")) == ("imap", "imap.other.test", "143", "STARTTLS")
assert (pop.get("type"), find(pop, "port"), find(pop, "socketType")) == ("pop3", PORTS["pop3s"], "SSL")
out = p.find("outgoingServer")
assert find(out, "port") == PORTS["submission"] and find(out, "socketType") == "STARTTLS"
assert find(out, "username") == "relay@other.test"
assert etag != get(HTTP + "/mail/config-v1.1.xml?emailaddress=carl@other.test")[1]["etag"]

# Refusals: not a local domain, switched off, not an address, unknown path.
for url, code in [
    ("/mail/config-v1.1.xml?emailaddress=bob@elsewhere.test", 404),
    ("/mail/config-v1.1.xml?emailaddress=bob@quiet.test", 404),
    ("/mail/config-v1.1.xml?emailaddress=no-at-sign", 400),
    ("/mail/nothing.xml", 404),
]:
    status, _, _ = get(HTTP + url)
    assert status == code, (url, status)
print("ok")
"#,
    );
}

#[test]
fn outlook_autodiscover_and_apple_profile() {
    let s = start();
    py(
        &s,
        r#"
NS = "{http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a}"
def request(address, schema="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"):
    return ('<?xml version="1.0" encoding="utf-8"?>'
        '<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">'
        '<Request><EMailAddress>%s</EMailAddress>'
        '<AcceptableResponseSchema>%s</AcceptableResponseSchema></Request></Autodiscover>' % (address, schema)).encode()

def protocols(body):
    root = ET.fromstring(body)
    acct = root.find(NS + "Response/" + NS + "Account")
    assert acct is not None, body
    assert acct.find(NS + "AccountType").text == "email"
    return {p.find(NS + "Type").text: {c.tag[len(NS):]: c.text for c in p} for p in acct.findall(NS + "Protocol")}

for path in ["/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml"]:
    status, headers, body = get(HTTPS + path, {"Content-Type": "text/xml"}, request("bob@example.test"))
    assert status == 200, (status, body)
    p = protocols(body)
    assert set(p) == {"IMAP", "SMTP"}, p
    assert (p["IMAP"]["Server"], p["IMAP"]["Port"], p["IMAP"]["SSL"], p["IMAP"]["Encryption"]) == ("mx.example.test", PORTS["imaps"], "on", "SSL")
    assert p["IMAP"]["LoginName"] == "bob@example.test" and p["IMAP"]["AuthRequired"] == "on"
    assert (p["SMTP"]["Port"], p["SMTP"]["UsePOPAuth"], p["SMTP"]["AuthRequired"]) == (PORTS["submissions"], "on", "on")

status, _, body = get(HTTP + "/autodiscover/autodiscover.xml", {}, request("carl@other.test"))
p = protocols(body)
assert set(p) == {"IMAP", "POP3", "SMTP"}, p
assert (p["IMAP"]["Encryption"], p["SMTP"]["Encryption"]) == ("TLS", "TLS")
assert (p["SMTP"]["UsePOPAuth"], p["SMTP"]["LoginName"]) == ("off", "relay@other.test")

def error_code(body):
    root = ET.fromstring(body)
    return root.find(".//{http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006}ErrorCode").text

status, _, body = get(HTTP + "/autodiscover/autodiscover.xml", {}, request("bob@elsewhere.test"))
assert status == 200 and error_code(body) == "603", body
status, _, body = get(HTTP + "/autodiscover/autodiscover.xml", {}, request("bob@example.test", "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006"))
assert error_code(body) == "601", body
status, _, body = get(HTTP + "/autodiscover/autodiscover.xml", {}, b"<not-a-request/>")
assert status == 400 and error_code(body) == "600", body
status, _, _ = get(HTTP + "/autodiscover/autodiscover.xml", {}, b"x" * (64 * 1024))
assert status == 413, status
status, _, _ = get(HTTP + "/autodiscover/autodiscover.xml")
assert status == 405, status

# The Apple profile, read by plistlib.
status, headers, body = get(HTTPS + "/.well-known/mobileconfig?emailaddress=bob@example.test")
assert status == 200, (status, body)
assert headers["content-type"] == "application/x-apple-aspen-config", headers
assert headers["content-disposition"] == 'attachment; filename="example.test.mobileconfig"'
prof = plistlib.loads(body)
assert prof["PayloadType"] == "Configuration" and prof["PayloadVersion"] == 1
mail = prof["PayloadContent"][0]
assert mail["PayloadType"] == "com.apple.mail.managed"
assert (mail["EmailAccountType"], mail["EmailAddress"]) == ("EmailTypeIMAP", "bob@example.test")
assert (mail["IncomingMailServerHostName"], mail["IncomingMailServerPortNumber"], mail["IncomingMailServerUseSSL"]) == ("mx.example.test", int(PORTS["imaps"]), True)
assert (mail["OutgoingMailServerPortNumber"], mail["OutgoingPasswordSameAsIncomingPassword"]) == (int(PORTS["submissions"]), True)
assert mail["OutgoingMailServerAuthentication"] == "EmailAuthPassword"
assert get(HTTPS + "/.well-known/mobileconfig?emailaddress=bob@example.test")[2] == body, "stable"
assert get(HTTP + "/.well-known/mobileconfig")[0] == 400
mail = plistlib.loads(get(HTTP + "/.well-known/mobileconfig?emailaddress=carl@other.test")[2])["PayloadContent"][0]
assert (mail["OutgoingPasswordSameAsIncomingPassword"], mail["OutgoingMailServerUsername"]) == (False, "relay@other.test")

# Garbage on a connection gets 400; a fresh connection is served.
host, port = HTTP[len("http://"):].split(":")
with socket.create_connection((host, int(port))) as c:
    c.sendall(b"NONSENSE\r\n\r\n")
    assert c.recv(100).startswith(b"HTTP/1.1 400"), "bad request"
assert get(HTTP + "/mail/config-v1.1.xml?emailaddress=bob@example.test")[0] == 200
print("ok")
"#,
    );
    // curl, as a browser would fetch the profile.
    let out = Command::new("curl")
        .args([
            "-sSk",
            "-D",
            "-",
            &format!(
                "https://{}/.well-known/mobileconfig?emailaddress=bob@example.test",
                s.addr("https")
            ),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("HTTP/1.1 200"), "{text}");
    assert!(
        text.contains("<string>com.apple.mail.managed</string>"),
        "{text}"
    );
}

#[test]
fn the_cli_shows_the_same_profile_and_its_dns_records() {
    let s = start_with(true);
    let imaps = s.addr("imaps").port();
    let out = ok(s.cli(&["domain", "clients", "example.test"], None));
    assert!(
        out.contains(&format!("IMAP  mx.example.test:{imaps} implicit TLS (SSL)")),
        "{out}"
    );
    let out = ok(s.cli(&["domain", "clients", "other.test"], None));
    assert!(out.contains("login: relay@other.test"), "{out}");
    let dns = ok(s.cli(
        &[
            "domain",
            "clients",
            "example.test",
            "--format",
            "dns",
            "--http-host",
            "www.example.test",
        ],
        None,
    ));
    assert!(
        dns.contains(&format!(
            "_imaps._tcp.example.test. 3600 IN SRV 0 1 {imaps} mx.example.test."
        )),
        "{dns}"
    );
    assert!(
        dns.contains("_pop3s._tcp.example.test. 3600 IN SRV 0 0 0 ."),
        "{dns}"
    );
    assert!(
        dns.contains("autoconfig.example.test. 3600 IN CNAME www.example.test."),
        "{dns}"
    );
    let https = s.addr("https").port();
    assert!(
        dns.contains(&format!(
            "_autodiscover._tcp.example.test. 3600 IN SRV 0 1 {https} www.example.test."
        )),
        "{dns}"
    );
    // The CLI's autoconfig is the very document the server serves.
    let cli_doc = ok(s.cli(
        &[
            "domain",
            "clients",
            "example.test",
            "--format",
            "autoconfig",
        ],
        None,
    ));
    let out = Command::new("curl")
        .args([
            "-sS",
            &format!(
                "http://{}/mail/config-v1.1.xml?emailaddress=bob@example.test",
                s.addr("http")
            ),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), cli_doc);
    // Security headers on every answer (HSTS only over TLS).
    let out = Command::new("curl")
        .args([
            "-sS",
            "-D",
            "-",
            "-o",
            "/dev/null",
            &format!("http://{}/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=bob@example.test", s.addr("http")),
        ])
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
    assert!(
        head.contains("x-content-type-options: nosniff")
            && head.contains("x-frame-options: deny")
            && head.contains("content-security-policy: default-src 'none'")
            && !head.contains("strict-transport-security"),
        "{head}"
    );
    let out = Command::new("curl")
        .args([
            "-sSk",
            "-D",
            "-",
            "-o",
            "/dev/null",
            &format!("https://{}/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=bob@example.test", s.addr("https")),
        ])
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
    assert!(
        head.contains("strict-transport-security: max-age=31536000"),
        "{head}"
    );
    let err = fails(s.cli(&["domain", "clients", "quiet.test"], None));
    assert!(err.contains("switched off"), "{err}");
    let err = fails(s.cli(&["domain", "clients", "elsewhere.test"], None));
    assert!(err.contains("no local domain elsewhere.test"), "{err}");
}

#[test]
fn bad_client_settings_name_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let check = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        fails(cli(
            &path,
            &["config", "check", path.to_str().unwrap()],
            None,
        ))
    };
    let err = check(
        "security.toml",
        "[server]\n\n[clients]\nimap_security = \"tls\"\n",
    );
    assert!(
        err.contains("security.toml:4: key `clients.imap_security`"),
        "{err}"
    );
    assert!(err.contains("starttls"), "{err}");
    let err = check(
        "twice.toml",
        "[clients]\n[[clients.domain]]\nname = \"a.test\"\n[[clients.domain]]\nname = \"A.test\"\n",
    );
    assert!(
        err.contains("twice.toml:5: key `clients.domain.1.name`"),
        "{err}"
    );
    let err = check("unknown.toml", "[clients]\nimap_hots = \"x\"\n");
    assert!(err.contains("unknown.toml:2"), "{err}");
}
