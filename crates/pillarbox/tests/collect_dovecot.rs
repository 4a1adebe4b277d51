//! Collection against a real Dovecot on loopback, through the CLI (`collect add`,
//! `collect run`): 500 messages over POP3 and over IMAP, with and without TLS
//! (none, STLS/STARTTLS, implicit), each collected exactly once across three runs with
//! new mail arriving in between; leave-on-server and delete modes; IMAP \Seen marking;
//! delivery into a folder; a connection cut in the middle of a run; the code page;
//! delete-after-days; OAuth2 logins (XOAUTH2) checked by Dovecot's oauth2 passdb against
//! the token and introspection endpoints of `support/oauth_server.py`.

mod support;

use support::remote::{Dovecot, Local, OAuthServer, USER, legacy_tls_front, unique_ids};
use support::{fails, ok};

fn port(p: u16) -> String {
    p.to_string()
}

/// Runs `name` three times, with 20 new messages arriving after the first run.
fn three_runs(l: &Local, dc: &Dovecot, name: &str) {
    let out = l.run(name);
    assert!(
        out.contains("500 new of 500 on the server, 500 collected"),
        "{out}"
    );
    dc.fill(500, 20);
    let out = l.run(name);
    assert!(out.contains("20 collected"), "{out}");
    let out = l.run(name);
    assert!(out.contains(" 0 collected"), "{out}");
}

/// The message body survived (dot-stuffing undone, trace header added once).
fn check_content(messages: &[Vec<u8>]) {
    let text = String::from_utf8_lossy(&messages[0]);
    assert!(
        text.starts_with("Received: from 127.0.0.1 by pb.example.test with "),
        "{text}"
    );
    assert_eq!(text.matches("Received: ").count(), 1);
    assert!(text.contains("\r\n.a line with a dot\r\n"), "{text}");
}

#[test]
fn pop3_without_tls_leaves_mail_on_the_server_and_collects_each_message_once() {
    let dc = Dovecot::start(false);
    dc.fill(0, 500);
    let l = Local::new("");
    l.add(
        "pop",
        &[
            "--protocol",
            "pop3",
            "--host",
            "127.0.0.1",
            "--port",
            &port(dc.pop3),
            "--tls",
            "none",
        ],
    );
    three_runs(&l, &dc, "pop");
    let inbox = l.folder("INBOX");
    assert_eq!(unique_ids(&inbox).len(), 520);
    check_content(&inbox);
    assert_eq!(dc.count(), 520, "leave on server keeps everything");
    let shown = ok(l.cli(&["collect", "show", "pop", "--json"], None));
    assert!(
        shown.contains("\"ok\": true") && !shown.contains("secret"),
        "{shown}"
    );
}

#[test]
fn pop3_over_implicit_tls_deletes_what_it_collected() {
    let dc = Dovecot::start(true);
    dc.fill(0, 500);
    let l = Local::new("");
    l.add(
        "pop",
        &[
            "--protocol",
            "pop3",
            "--host",
            "127.0.0.1",
            "--port",
            &port(dc.pop3s),
            "--tls",
            "implicit",
            "--leave-on-server",
            "off",
        ],
    );
    three_runs(&l, &dc, "pop");
    assert_eq!(unique_ids(&l.folder("INBOX")).len(), 520);
    assert_eq!(dc.count(), 0, "delete mode removes what was stored");
}

#[test]
fn pop3_over_stls_into_a_folder() {
    let dc = Dovecot::start(true);
    dc.fill(0, 500);
    let l = Local::new("");
    l.add(
        "pop",
        &[
            "--protocol",
            "pop3",
            "--host",
            "127.0.0.1",
            "--port",
            &port(dc.pop3),
            "--tls",
            "starttls",
            "--deliver-to",
            "Remote",
        ],
    );
    three_runs(&l, &dc, "pop");
    assert_eq!(unique_ids(&l.folder("Remote")).len(), 520);
    assert!(l.folder("INBOX").is_empty());
}

#[test]
fn imap_over_starttls_leaves_mail_marks_it_seen_and_collects_each_message_once() {
    let dc = Dovecot::start(true);
    dc.fill(0, 500);
    let l = Local::new("");
    l.add(
        "imap",
        &[
            "--protocol",
            "imap",
            "--host",
            "127.0.0.1",
            "--port",
            &port(dc.imap),
            "--tls",
            "starttls",
            "--mark-seen",
            "on",
        ],
    );
    three_runs(&l, &dc, "imap");
    let inbox = l.folder("INBOX");
    assert_eq!(unique_ids(&inbox).len(), 520);
    check_content(&inbox);
    assert_eq!(dc.count(), 520);
    assert_eq!(dc.seen(), 520, "every collected message flagged \\Seen");
}

#[test]
fn imap_over_implicit_tls_deletes_what_it_collected() {
    let dc = Dovecot::start(true);
    dc.fill(0, 500);
    let l = Local::new("[collect]\nfetch_batch = 64\n");
    l.add(
        "imap",
        &[
            "--protocol",
            "imap",
            "--host",
            "127.0.0.1",
            "--port",
            &port(dc.imaps),
            "--tls",
            "implicit",
            "--leave-on-server",
            "off",
        ],
    );
    three_runs(&l, &dc, "imap");
    assert_eq!(unique_ids(&l.folder("INBOX")).len(), 520);
    assert_eq!(dc.count(), 0);
}

#[test]
fn imap_without_tls_leaves_mail_on_the_server() {
    let dc = Dovecot::start(false);
    dc.fill(0, 500);
    let l = Local::new("");
    l.add(
        "imap",
        &[
            "--protocol",
            "imap",
            "--host",
            "127.0.0.1",
            "--port",
            &port(dc.imap),
            "--tls",
            "none",
        ],
    );
    three_runs(&l, &dc, "imap");
    assert_eq!(unique_ids(&l.folder("INBOX")).len(), 520);
    assert_eq!((dc.count(), dc.seen()), (520, 0), "EXAMINE changes nothing");
}

#[test]
fn a_connection_cut_in_the_middle_of_a_run_loses_and_duplicates_nothing() {
    let dc = Dovecot::start(false);
    dc.fill(0, 300);
    for (protocol, remote_port, delete) in [("pop3", dc.pop3, "off"), ("imap", dc.imap, "on")] {
        // Cut each connection after ~60 KB from the server: about 100 messages in.
        let relay = support::remote::CuttingRelay::start(remote_port, 60_000);
        let l = Local::new("[collect]\nfetch_batch = 20\ndeliveries_in_flight = 8\n");
        l.add(
            protocol,
            &[
                "--protocol",
                protocol,
                "--host",
                "127.0.0.1",
                "--port",
                &port(relay.port),
                "--tls",
                "none",
                "--leave-on-server",
                delete,
            ],
        );
        let err = fails(l.cli(&["collect", "run", protocol], None));
        assert!(err.contains("collection run(s) failed"), "{err}");
        let partial = l.folder("INBOX").len();
        assert!(
            partial > 0 && partial < 300,
            "{protocol}: {partial} stored before the cut"
        );
        assert_eq!(
            dc.count(),
            300,
            "{protocol}: nothing deleted by the cut run"
        );
        relay
            .armed
            .store(false, std::sync::atomic::Ordering::SeqCst);
        let out = l.run(protocol);
        assert!(
            out.contains(&format!("{} collected", 300 - partial)),
            "{out}"
        );
        assert_eq!(unique_ids(&l.folder("INBOX")).len(), 300, "{protocol}");
        let out = l.run(protocol);
        assert!(out.contains(" 0 collected"), "{out}");
        if protocol == "pop3" {
            // The POP3 account deletes: the remote is empty now; refill for IMAP.
            assert_eq!(dc.count(), 0);
            dc.fill(0, 300);
        }
    }
}

#[test]
fn undeclared_windows_1252_headers_are_stored_readable() {
    let dc = Dovecot::start(false);
    dc.add(
        "cp1252.M1P1.remote",
        b"From: Ren\xe9 <rene@elsewhere.test>\r\nTo: remote@remote.test\r\n\
          Subject: Caf\xe9 \x80 cr\xe8me\r\nMessage-ID: <cp@elsewhere.test>\r\n\r\nPrix: 5 \x80\r\n",
    );
    let l = Local::new("");
    l.add(
        "cp",
        &[
            "--protocol",
            "imap",
            "--host",
            "127.0.0.1",
            "--port",
            &port(dc.imap),
            "--tls",
            "none",
            "--code-page",
            "windows-1252",
        ],
    );
    l.run("cp");
    let stored = l.folder("INBOX");
    assert_eq!(stored.len(), 1);
    let end = pillarbox_mime::header_end(&stored[0]);
    let header = std::str::from_utf8(&stored[0][..end]).expect("the header is UTF-8 now");
    // The body keeps its bytes and now declares the code page.
    let text = String::from_utf8_lossy(&stored[0]);
    assert!(header.contains("=?UTF-8?"), "{header}");
    let parsed = pillarbox_mime::parse(&stored[0]);
    let subject = pillarbox_mime::decode_encoded_words(
        parsed
            .envelope
            .subject
            .clone()
            .unwrap_or_default()
            .as_bytes(),
    );
    assert_eq!(subject, "Café € crème", "{text}");
    assert!(
        text.contains("charset=windows-1252") || text.contains("charset=\"windows-1252\""),
        "{text}"
    );
}

#[test]
fn multipop_must_be_enabled_for_the_owner() {
    let dc = Dovecot::start(false);
    dc.fill(0, 3);
    let l = Local::new("");
    ok(l.cli(
        &["account", "set", "alice@example.test", "--multipop", "off"],
        None,
    ));
    let err = fails(l.cli(
        &[
            "collect",
            "add",
            "x",
            "--owner",
            "alice@example.test",
            "--protocol",
            "pop3",
            "--host",
            "127.0.0.1",
            "--port",
            &port(dc.pop3),
            "--tls",
            "none",
            "--user",
            "remote",
            "--address",
            "remote@remote.test",
            "--password-stdin",
        ],
        Some("secret\n"),
    ));
    assert!(
        err.contains("MultiPOP") || err.contains("collection"),
        "{err}"
    );
    // Turned off after the account was added: the run refuses and changes nothing.
    ok(l.cli(
        &["account", "set", "alice@example.test", "--multipop", "on"],
        None,
    ));
    l.add(
        "x",
        &[
            "--protocol",
            "pop3",
            "--host",
            "127.0.0.1",
            "--port",
            &port(dc.pop3),
            "--tls",
            "none",
        ],
    );
    ok(l.cli(
        &["account", "set", "alice@example.test", "--multipop", "off"],
        None,
    ));
    let err = fails(l.cli(&["collect", "run", "x"], None));
    assert!(err.contains("failed"), "{err}");
    let shown = ok(l.cli(&["collect", "show", "x"], None));
    assert!(shown.contains("not allowed"), "{shown}");
    assert!(l.folder("INBOX").is_empty());
}

/// Moves every "collected at" of `name` back by `days` days, as if that much time had
/// passed since the messages were collected (the only way to let days pass in a test).
fn age_collected(l: &Local, days: i64) {
    let db = l.data_dir().join("pillarbox.db");
    let script = format!(
        "import sqlite3, sys\n\
         c = sqlite3.connect(sys.argv[1])\n\
         c.execute('UPDATE collection_seen SET collected_at = collected_at - {}')\n\
         c.commit()\n",
        days * 86_400
    );
    let status = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&db)
        .status()
        .expect("python3 is installed");
    assert!(status.success());
}

/// Leave on server with delete-after-days, over POP3 and over IMAP: nothing is deleted
/// before the days have passed, then exactly what was collected that long ago is, and
/// messages collected since stay.
#[test]
fn delete_after_days_removes_only_what_was_collected_that_long_ago() {
    for protocol in ["pop3", "imap"] {
        let dc = Dovecot::start(false);
        dc.fill(0, 50);
        let l = Local::new("");
        let p = if protocol == "pop3" { dc.pop3 } else { dc.imap };
        l.add(
            "old",
            &[
                "--protocol",
                protocol,
                "--host",
                "127.0.0.1",
                "--port",
                &port(p),
                "--tls",
                "none",
                "--delete-after-days",
                "3",
            ],
        );
        let out = l.run("old");
        assert!(
            out.contains("50 collected") && out.contains(" 0 deleted"),
            "{protocol}: {out}"
        );
        age_collected(&l, 2);
        let out = l.run("old");
        assert!(out.contains(" 0 deleted"), "{protocol}, 2 days: {out}");
        assert_eq!(dc.count(), 50, "{protocol}: kept before the third day");

        age_collected(&l, 1);
        dc.fill(50, 10);
        let out = l.run("old");
        assert!(
            out.contains("10 collected") && out.contains("50 deleted"),
            "{protocol}, 3 days: {out}"
        );
        assert_eq!(dc.count(), 10, "{protocol}: the 10 new ones stay");
        let out = l.run("old");
        assert!(
            out.contains(" 0 collected") && out.contains(" 0 deleted"),
            "{protocol}: {out}"
        );
        assert_eq!(dc.count(), 10);
        assert_eq!(unique_ids(&l.folder("INBOX")).len(), 60, "{protocol}");
    }
}

/// `collect add NAME` logging in with OAuth2 (a refresh token from `oauth`) instead of
/// a password.
fn add_oauth2(l: &Local, oauth: &OAuthServer, name: &str, args: &[&str]) {
    let url = oauth.token_url();
    let mut all = vec![
        "--oauth-client-id",
        oauth.client_id,
        "--oauth-token-url",
        &url,
        "--oauth-refresh-token-stdin",
    ];
    all.extend_from_slice(args);
    l.add_with(name, &all, &format!("{}\n", oauth.refresh_token));
}

/// OAuth2 collection end to end: the refresh token is exchanged at the token endpoint
/// (RFC 6749 §6), the access token logs in to a real Dovecot over IMAP and over POP3
/// (SASL XOAUTH2), Dovecot checks it at the introspection endpoint (RFC 7662), and the
/// mail arrives; a revoked refresh token is a clear error that changes nothing.
#[test]
fn oauth2_logins_collect_over_imap_and_pop3_and_a_revoked_grant_changes_nothing() {
    let oauth = OAuthServer::start(3600);
    let dc = Dovecot::start_oauth2(true, &oauth);
    dc.fill(0, 30);
    let l = Local::new("");
    add_oauth2(
        &l,
        &oauth,
        "imap",
        &[
            "--protocol",
            "imap",
            "--host",
            "127.0.0.1",
            "--port",
            &port(dc.imap),
            "--tls",
            "starttls",
        ],
    );
    add_oauth2(
        &l,
        &oauth,
        "pop",
        &[
            "--protocol",
            "pop3",
            "--host",
            "127.0.0.1",
            "--port",
            &port(dc.pop3s),
            "--tls",
            "implicit",
            "--deliver-to",
            "ViaPop",
        ],
    );
    let out = l.run("imap");
    assert!(
        out.contains("30 new of 30 on the server, 30 collected"),
        "{out}"
    );
    let out = l.run("pop");
    assert!(
        out.contains("30 new of 30 on the server, 30 collected"),
        "{out}"
    );
    assert_eq!(unique_ids(&l.folder("INBOX")).len(), 30);
    assert_eq!(unique_ids(&l.folder("ViaPop")).len(), 30);
    let log = oauth.log();
    // Each `collect run` is a process of its own: one token each, each introspected
    // by Dovecot (a login it accepted).
    for token in ["tok-1", "tok-2"] {
        assert!(log.contains(&format!("token {token}")), "{log:?}");
        assert!(
            log.contains(&format!("introspect {token} active")),
            "{log:?}"
        );
    }
    let test = ok(l.cli(&["collect", "test", "imap"], None));
    assert!(
        test.lines().any(|l| l.trim_start().starts_with("Auth")
            && l.contains(" ok ")
            && l.ends_with("logged in as remote (AUTHENTICATE XOAUTH2)")),
        "{test}"
    );

    // The grant is revoked: the run fails saying so, and nothing changes.
    dc.fill(30, 5);
    ok(l.cli(
        &["collect", "set", "imap", "--oauth-refresh-token-stdin"],
        Some("rt-revoked\n"),
    ));
    let run = l.cli(&["collect", "run", "imap"], None);
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(!run.status.success(), "{out}");
    assert!(
        out.contains("invalid_grant") && out.contains("authorise the account again"),
        "{out}"
    );
    assert!(oauth.log().contains(&"token refused".to_string()));
    assert_eq!(unique_ids(&l.folder("INBOX")).len(), 30);
    assert_eq!(dc.count(), 35);
}

/// An old server that speaks only TLS 1.0 (stunnel in front of Dovecot's POP3): refused
/// by default with a verdict that says how to allow it, collected once TLS 1.0 is
/// allowed for that account.
#[test]
fn a_server_speaking_only_tls_1_0_is_collected_once_allowed() {
    let dc = Dovecot::start(false);
    dc.fill(0, 10);
    let old = legacy_tls_front(dc.pop3);
    let target = format!("127.0.0.1:{}", old.port);
    let probe = |versions: &str| {
        let l = Local::new("");
        l.cli(
            &[
                "test-connection",
                "pop3",
                &target,
                "--tls",
                "implicit",
                "--tls-versions",
                versions,
                "--no-verify",
                "--user",
                USER,
                "--password-stdin",
            ],
            Some("secret\n"),
        )
    };
    let refused = probe("1.2,1.3");
    let text = String::from_utf8_lossy(&refused.stdout);
    assert!(!refused.status.success(), "{text}");
    assert!(text.contains("--tls-versions 1.0"), "{text}");
    let allowed = probe("1.0,1.1,1.2,1.3");
    let text = String::from_utf8_lossy(&allowed.stdout);
    assert!(allowed.status.success(), "{text}");
    assert!(text.contains("TLSv1.0"), "{text}");

    let l = Local::new("");
    l.add(
        "old",
        &[
            "--protocol",
            "pop3",
            "--host",
            "127.0.0.1",
            "--port",
            &port(old.port),
            "--tls",
            "implicit",
            "--tls-versions",
            "1.0,1.1,1.2,1.3",
        ],
    );
    let out = l.run("old");
    assert!(
        out.contains("10 new of 10 on the server, 10 collected"),
        "{out}"
    );
    assert_eq!(unique_ids(&l.folder("INBOX")).len(), 10);
}

/// Collected mail goes through the owner's Sieve script like mail from SMTP: messages
/// filed, discarded and refused by it are all collected once and never again.
#[test]
fn collected_mail_is_filtered_by_the_owners_sieve_script() {
    let dc = Dovecot::start(false);
    dc.fill(0, 30);
    let l = Local::new("");
    let script = l.dir.path().join("filter.sieve");
    std::fs::write(
        &script,
        "require [\"fileinto\", \"reject\", \"mailbox\"];\n\
         if header :matches \"subject\" \"message 1?\" { fileinto :create \"Teens\"; stop; }\n\
         if header :is \"subject\" \"message 2\" { discard; stop; }\n\
         if header :is \"subject\" \"message 3\" { reject \"not wanted\"; stop; }\n",
    )
    .unwrap();
    ok(l.cli(
        &[
            "sieve",
            "put",
            "alice@example.test",
            "main",
            script.to_str().unwrap(),
            "--activate",
        ],
        None,
    ));
    l.add(
        "pop",
        &[
            "--protocol",
            "pop3",
            "--host",
            "127.0.0.1",
            "--port",
            &port(dc.pop3),
            "--tls",
            "none",
        ],
    );
    let out = l.run("pop");
    assert!(out.contains("30 collected"), "{out}");
    // message 10..19 filed; 2 discarded, 3 refused; the other 18 in the INBOX.
    assert_eq!(l.folder("Teens").len(), 10);
    assert_eq!(l.folder("INBOX").len(), 18);
    let out = l.run("pop");
    assert!(out.contains(" 0 collected"), "{out}");
}
