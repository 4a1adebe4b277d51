//! DKIM signing end to end: keys generated with `pillarbox domain dkim`, their records
//! served by a real DNS server (dnsmasq), mail submitted (SMTP AUTH and `sendmail`)
//! and caught by a real receiving SMTP peer, then verified by an independent verifier
//! (Python's dkimpy, RSA and Ed25519). Mail arriving on the MX is not signed; a
//! rotation keeps signing with the old keys until the new ones are activated.

mod support;

use std::time::Duration;

use support::peers::{Dns, SmtpPeer, free_port};
use support::{TestServer, accounts, fails, listen_any, ok, python_ok};

const NETWORK: &str = "[network]\ntrusted = [\"127.0.0.0/8\"]\nrelay = []\n";

fn server(peer_port: u16) -> TestServer {
    TestServer::start(&format!(
        "{}\n{NETWORK}\n[smtp]\nsubmission_sender_must_match = false\n\n[[queue.route]]\nname = \"default\"\n\
         kind = \"smarthost\"\nhost = \"127.0.0.1\"\nport = {peer_port}\ntls = \"none\"\n",
        listen_any("127.0.0.1")
    ))
}

/// The DKIM records `domain dkim show --json` lists: (name, TXT value).
fn records(s: &TestServer, domain: &str) -> Vec<(String, String, String)> {
    let v: serde_json::Value = serde_json::from_str(&ok(
        s.cli(&["domain", "dkim", "show", domain, "--json"], None)
    ))
    .unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["name"].as_str().unwrap().to_string(),
                k["txt"].as_str().unwrap().to_string(),
                k["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// dnsmasq serving those TXT records (split in strings of at most 255 octets; the
/// values hold no comma).
fn dns_for(records: &[(String, String, String)]) -> Dns {
    let opts: Vec<String> = records
        .iter()
        .map(|(name, txt, _)| {
            let parts: Vec<String> = txt
                .as_bytes()
                .chunks(255)
                .map(|c| String::from_utf8_lossy(c).to_string())
                .collect();
            // No shell: dnsmasq takes the strings as they are, separated by commas.
            format!("--txt-record={name},{}", parts.join(","))
        })
        .collect();
    Dns::start(&opts)
}

/// Verifies every DKIM-Signature of `message` with dkimpy, reading keys from `dns`;
/// prints one line per signature: "selector algorithm ok|fail".
fn dkimpy(dns: &Dns, message: &str) -> String {
    let message = message.replace("\r\n", "\n").replace('\n', "\r\n");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.eml");
    std::fs::write(&path, message).unwrap();
    let script = format!(
        r#"
import sys, dkim, dns.resolver
r = dns.resolver.Resolver(configure=False)
r.nameservers = ["127.0.0.1"]
r.port = {port}
def dnsfunc(name, timeout=5):
    name = name.decode() if isinstance(name, bytes) else name
    try:
        a = r.resolve(name.rstrip("."), "TXT")
    except Exception:
        return None
    return b"".join(b"".join(x.strings) for x in a)
msg = open(sys.argv[1], "rb").read()
d = dkim.DKIM(msg)
n = sum(1 for l in msg.split(b"\r\n\r\n")[0].split(b"\r\n") if l.lower().startswith(b"dkim-signature:"))
for i in range(n):
    ok = d.verify(idx=i, dnsfunc=dnsfunc)
    print(d.selector.decode(), d.signature_fields[b"a"].decode(), "ok" if ok else "fail")
"#,
        port = dns.addr.port()
    );
    // Debian's Python, where python3-dkim, python3-dnspython and python3-nacl live.
    let out = std::process::Command::new("/usr/bin/python3")
        .args(["-c", &script, path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "dkimpy: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn submitted_mail_carries_rsa_and_ed25519_signatures_that_dkimpy_accepts() {
    let peer = SmtpPeer::start("127.0.0.1", free_port(), serde_json::json!({}));
    let s = server(peer.addr.port());
    accounts(&s, &["bob"]);
    // Keys only for local domains.
    let err = fails(s.cli(&["domain", "dkim", "generate", "elsewhere.test"], None));
    assert!(err.contains("no local domain"), "{err}");
    let out = ok(s.cli(&["domain", "dkim", "generate", "example.test"], None));
    assert!(
        out.contains("._domainkey.example.test. 3600 IN TXT \"v=DKIM1; k=rsa; p="),
        "{out}"
    );
    let again = fails(s.cli(&["domain", "dkim", "generate", "example.test"], None));
    assert!(again.contains("rotate"), "{again}");
    let recs = records(&s, "example.test");
    assert_eq!(recs.len(), 2);
    let dns = dns_for(&recs);
    // The zone a domain needs names every record.
    let zone = ok(s.cli(&["domain", "dns", "example.test"], None));
    for needle in [
        "example.test. 3600 IN MX 10 mx.example.test.",
        "\"v=spf1 mx -all\"",
        "_dmarc.example.test. 3600 IN TXT \"v=DMARC1; p=none;",
        &recs[0].0,
        &recs[1].0,
        "_submissions._tcp.example.test.",
    ] {
        assert!(zone.contains(needle), "{needle} missing from\n{zone}");
    }

    // Submission with SMTP AUTH, and sendmail.
    python_ok(
        &format!(
            "import smtplib\nc = smtplib.SMTP('127.0.0.1', {})\nc.login('bob@example.test', 'pw')\n\
             c.sendmail('bob@example.test', ['far@remote.test'], b'From: Bob <bob@example.test>\\r\\nTo: far@remote.test\\r\\n\
             Subject: signed\\r\\nMessage-ID: <s1@example.test>\\r\\n\\r\\nHello,  world \\r\\n\\r\\n')\nc.quit()\n",
            s.addr("submission").port()
        ),
        &[],
    );
    ok(s.cli(
        &["sendmail", "-f", "bob@example.test", "far@remote.test"],
        Some("From: bob@example.test\nTo: far@remote.test\nSubject: by sendmail\n\nbody\n"),
    ));
    let got = peer.wait_for(2, Duration::from_secs(30));
    for m in &got {
        let verdicts = dkimpy(&dns, &m.data);
        let lines: Vec<&str> = verdicts.lines().collect();
        assert_eq!(lines.len(), 2, "two signatures: {verdicts}\n{}", m.data);
        assert!(
            lines.iter().any(|l| l.ends_with("rsa-sha256 ok"))
                && lines.iter().any(|l| l.ends_with("ed25519-sha256 ok")),
            "{verdicts}\n{}",
            m.data
        );
        assert!(m.data.contains("c=relaxed/relaxed"), "{}", m.data);
        // A message changed on the way fails.
        let tampered = m.data.replacen("Subject: ", "Subject: changed ", 1);
        assert!(
            dkimpy(&dns, &tampered).lines().all(|l| l.ends_with("fail")),
            "a changed Subject must break the signatures"
        );
    }

    // Mail received on the MX for a local user is not signed by us.
    python_ok(
        &format!(
            "import smtplib\nc = smtplib.SMTP('127.0.0.1', {})\n\
             c.sendmail('someone@remote.test', ['bob@example.test'], b'From: bob@example.test\\r\\nSubject: inbound\\r\\n\\r\\nx\\r\\n')\nc.quit()\n",
            s.addr("smtp").port()
        ),
        &[],
    );
    let inbox = support::inbox(&s.data_dir(), "bob@example.test");
    assert_eq!(inbox.len(), 1);
    assert!(
        !String::from_utf8_lossy(&inbox[0]).contains("DKIM-Signature"),
        "MX mail is not signed"
    );
}

#[test]
fn rotation_signs_with_the_old_keys_until_the_new_ones_are_activated() {
    let peer = SmtpPeer::start("127.0.0.1", free_port(), serde_json::json!({}));
    let s = server(peer.addr.port());
    accounts(&s, &["bob"]);
    let err = fails(s.cli(&["domain", "dkim", "rotate", "example.test"], None));
    assert!(err.contains("no DKIM keys"), "{err}");
    ok(s.cli(&["domain", "dkim", "generate", "example.test"], None));
    let first = records(&s, "example.test");
    let out = ok(s.cli(&["domain", "dkim", "rotate", "example.test"], None));
    assert!(out.contains("activate"), "{out}");
    let all = records(&s, "example.test");
    assert_eq!(all.len(), 4);
    assert_eq!(
        all.iter().filter(|r| r.2 == "pending").count(),
        2,
        "{all:?}"
    );
    let dns = dns_for(&all);
    let send = |subject: &str| {
        ok(s.cli(
            &["sendmail", "-f", "bob@example.test", "far@remote.test"],
            Some(&format!(
                "From: bob@example.test\nTo: far@remote.test\nSubject: {subject}\n\nbody\n"
            )),
        ));
    };
    send("before");
    let got = peer.wait_for(1, Duration::from_secs(30));
    let verdicts = dkimpy(&dns, &got[0].data);
    for (name, _, _) in &first {
        let selector = name.split('.').next().unwrap();
        assert!(
            verdicts.contains(&format!("{selector} ")),
            "signed with the active keys: {verdicts}"
        );
    }
    ok(s.cli(&["domain", "dkim", "activate", "example.test"], None));
    let after = records(&s, "example.test");
    assert_eq!(after.iter().filter(|r| r.2 == "active").count(), 2);
    assert_eq!(after.iter().filter(|r| r.2 == "retired").count(), 2);
    // The server reads a domain's keys again within 30 seconds.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let new_selector = after
        .iter()
        .find(|r| r.2 == "active")
        .map(|r| r.0.split('.').next().unwrap().to_string())
        .unwrap();
    let mut n = 1;
    loop {
        send("after");
        n += 1;
        let got = peer.wait_for(n, Duration::from_secs(30));
        let last = got
            .iter()
            .rev()
            .find(|m| m.data.contains("Subject: after"))
            .unwrap();
        let verdicts = dkimpy(&dns, &last.data);
        if verdicts.contains(&format!("{new_selector} ")) {
            assert!(verdicts.lines().all(|l| l.ends_with(" ok")), "{verdicts}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still signing with the old keys: {verdicts}"
        );
        std::thread::sleep(Duration::from_secs(2));
    }
    ok(s.cli(
        &["domain", "dkim", "remove", "example.test", "--retired"],
        None,
    ));
    assert_eq!(records(&s, "example.test").len(), 2);
}

/// Keys that do not open: the message waits by default (`sendmail` says it was not
/// sent), or goes out unsigned with `[dkim] on_key_error = "send_unsigned"`.
#[test]
fn keys_that_do_not_open_defer_the_mail_unless_told_to_send_unsigned() {
    let peer = SmtpPeer::start("127.0.0.1", free_port(), serde_json::json!({}));
    for unsigned in [false, true] {
        let s = TestServer::start(&format!(
            "{}\n{NETWORK}\n[dkim]\non_key_error = \"{}\"\n\n[[queue.route]]\nname = \"default\"\n\
             kind = \"smarthost\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n",
            listen_any("127.0.0.1"),
            if unsigned { "send_unsigned" } else { "defer" },
            peer.addr.port()
        ));
        accounts(&s, &["bob"]);
        ok(s.cli(&["domain", "dkim", "generate", "example.test"], None));
        // Damage the stored keys, as a bad restore would.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let store =
                pillarbox_store::Store::open(&s.data_dir(), pillarbox_store::Role::Tool).unwrap();
            store
                .secret_setting_put("dkim:example.test", "{\"keys\": [{\"selector\": 1}]}")
                .await
                .unwrap();
        });
        let out = s.cli(
            &["sendmail", "-f", "bob@example.test", "far@remote.test"],
            Some("From: bob@example.test\nTo: far@remote.test\nSubject: damaged\n\nbody\n"),
        );
        if unsigned {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let got = peer.wait_for(1, Duration::from_secs(30));
            assert!(got[0].data.contains("Subject: damaged"));
            assert!(!got[0].data.contains("DKIM-Signature"), "sent unsigned");
        } else {
            let err = fails(out);
            assert!(
                err.contains("temporary failure") && err.contains("example.test"),
                "{err}"
            );
        }
    }
}

/// `domain dns check` looks the domain's records up on a real DNS server and says,
/// record by record, what is published, missing or wrong (and fails when something
/// is); after a rotation it says whether the pending keys are live yet.
#[test]
fn dns_check_says_what_is_published_missing_or_wrong() {
    let s = TestServer::start(&format!("{}\n{NETWORK}", listen_any("127.0.0.1")));
    accounts(&s, &[]);
    ok(s.cli(&["domain", "dkim", "generate", "example.test"], None));
    let keys = records(&s, "example.test");
    let mut opts: Vec<String> = vec![
        "--mx-host=example.test,mx.example.test,10".to_string(),
        "--txt-record=example.test,v=spf1 mx -all".to_string(),
    ];
    // The RSA key published, the Ed25519 one published wrong (another key's value).
    let rsa = keys.iter().find(|k| k.1.contains("k=rsa")).unwrap();
    let ed = keys.iter().find(|k| k.1.contains("k=ed25519")).unwrap();
    let rsa_parts: Vec<String> = rsa
        .1
        .as_bytes()
        .chunks(255)
        .map(|c| String::from_utf8_lossy(c).to_string())
        .collect();
    opts.push(format!("--txt-record={},{}", rsa.0, rsa_parts.join(",")));
    opts.push(format!(
        "--txt-record={},v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
        ed.0
    ));
    let dns = Dns::start(&opts);
    // A config for the tool that asks that DNS server.
    let config = s.data_dir().parent().unwrap().join("check.toml");
    let text =
        std::fs::read_to_string(s.data_dir().parent().unwrap().join("pillarbox.toml")).unwrap();
    std::fs::write(
        &config,
        format!("{text}\n[queue]\nresolver = [\"{}\"]\n", dns.addr),
    )
    .unwrap();
    let out = support::cli(&config, &["domain", "dns", "check", "example.test"], None);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "{stdout}{stderr}");
    let line = |what: &str| {
        stdout
            .lines()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no line for {what}: {stdout}"))
            .to_string()
    };
    assert!(line("MX example.test").starts_with("ok"), "{stdout}");
    assert!(line("SPF example.test").starts_with("ok"), "{stdout}");
    assert!(
        line(&format!("DKIM {}", rsa.0)).starts_with("ok"),
        "{stdout}"
    );
    assert!(
        line(&format!("DKIM {}", ed.0)).starts_with("WRONG"),
        "{stdout}"
    );
    assert!(
        line("DMARC _dmarc.example.test").starts_with("MISSING"),
        "{stdout}"
    );
    assert!(
        stderr.contains("2 record(s) of example.test missing or wrong"),
        "{stderr}"
    );
}
