//! The binary's CLI and start-up: defaults, config check, domain/account/alias round
//! trips, errors as one line with a non-zero exit.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use support::{bin, cli, fails, ok};

#[test]
fn serve_with_no_config_creates_data_dir_database_certificate_and_logs_ports() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(bin())
        .args(["serve", "--log-format", "json"])
        .current_dir(dir.path())
        .env_remove("PILLARBOX_CONFIG")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut lines = Vec::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let done = line.contains("Pillarbox is running") || line.contains("\"ERROR\"");
            lines.push(line);
            if done {
                break;
            }
        }
        lines
    });
    let lines = reader.join().unwrap();
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    let text = lines.join("\n");
    assert!(text.contains("Pillarbox is running"), "{text}");
    for port in [2525, 2587, 2465, 2143, 2993, 2110, 2995, 8080] {
        assert!(
            text.contains(&format!("127.0.0.1:{port}")),
            "port {port} logged: {text}"
        );
    }
    let data = dir.path().join("pillarbox-data");
    assert!(data.join("pillarbox.db").is_file());
    assert!(data.join("tls/cert.pem").is_file());
    assert!(data.join("tls/key.pem").is_file());
    assert!(
        status.success(),
        "SIGTERM is a clean stop: {status:?}\n{text}"
    );
}

fn config_in(dir: &std::path::Path) -> std::path::PathBuf {
    let config = dir.join("p.toml");
    std::fs::write(
        &config,
        format!("[server]\ndata_dir = \"{}\"\n", dir.join("data").display()),
    )
    .unwrap();
    config
}

#[test]
fn config_check_reports_valid_and_invalid_files() {
    let dir = tempfile::tempdir().unwrap();
    let good = config_in(dir.path());
    let out = ok(cli(
        &good,
        &["config", "check", good.to_str().unwrap()],
        None,
    ));
    assert!(out.contains("configuration is valid"));

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[server]\n\n[network]\nlan = [\"10.0.0.0/99\"]\n").unwrap();
    let err = fails(cli(
        &good,
        &["config", "check", bad.to_str().unwrap()],
        None,
    ));
    assert!(err.contains("bad.toml:4: key `network.lan`"), "{err}");
}

#[test]
fn domain_account_alias_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let c = config_in(dir.path());
    let run = |args: &[&str]| ok(cli(&c, args, None));

    assert!(run(&["domain", "add", "Example.TEST"]).contains("domain example.test added"));
    assert_eq!(run(&["domain", "list"]), "example.test\n");

    let out = ok(cli(
        &c,
        &[
            "account",
            "add",
            "bob@example.test",
            "--password-stdin",
            "--quota",
            "1MiB",
        ],
        Some("pw1\n"),
    ));
    assert!(out.contains("account bob@example.test added"));
    assert_eq!(run(&["account", "list"]), "bob@example.test\n");

    run(&[
        "account",
        "set",
        "bob@example.test",
        "--pop",
        "off",
        "--imap-lan-only",
        "on",
        "--display-name",
        "Bob",
    ]);
    let show = run(&["account", "show", "bob@example.test"]);
    assert!(
        show.contains("pop:            off (LAN only: off)"),
        "{show}"
    );
    assert!(show.contains("imap:           on (LAN only: on)"), "{show}");
    assert!(show.contains("quota:          1048576 bytes"), "{show}");
    assert!(show.contains("display name:   Bob"), "{show}");
    let json: serde_json::Value =
        serde_json::from_str(&run(&["account", "show", "bob@example.test", "--json"])).unwrap();
    assert_eq!(json["services"]["pop"], false);
    assert!(json.get("password_hash").is_none(), "hashes never printed");

    ok(cli(
        &c,
        &["account", "passwd", "bob@example.test", "--password-stdin"],
        Some("pw2\n"),
    ));
    ok(cli(
        &c,
        &[
            "account",
            "set",
            "bob@example.test",
            "--smarthost-user",
            "bob-relay",
            "--smarthost-password-stdin",
        ],
        Some("relaypw\n"),
    ));
    assert!(run(&["account", "show", "bob@example.test"]).contains("bob-relay (password set)"));

    run(&["alias", "add", "sales@example.test", "bob@example.test"]);
    run(&["alias", "add", "*@example.test", "bob@example.test"]);
    let aliases = run(&["alias", "list"]);
    assert!(
        aliases.contains("sales@example.test -> bob@example.test"),
        "{aliases}"
    );
    assert!(
        aliases.contains("*@example.test -> bob@example.test"),
        "{aliases}"
    );
    run(&["alias", "remove", "sales@example.test"]);
    assert!(!run(&["alias", "list"]).contains("sales@"));

    // Domain with an account cannot go.
    let err = fails(cli(&c, &["domain", "remove", "example.test"], None));
    assert!(err.contains("still has 1 account"), "{err}");
    run(&["account", "remove", "bob@example.test"]);
    run(&["domain", "remove", "example.test"]);
    assert_eq!(run(&["domain", "list"]), "");
}

#[test]
fn passwords_are_verified_after_cli_changes() {
    // Uses the directory through the store the CLI wrote, as a login would.
    let dir = tempfile::tempdir().unwrap();
    let c = config_in(dir.path());
    ok(cli(&c, &["domain", "add", "example.test"], None));
    ok(cli(
        &c,
        &["account", "add", "amy@example.test", "--password-stdin"],
        Some("first\n"),
    ));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let check = |pw: &str| {
        rt.block_on(async {
            let store =
                pillarbox_store::Store::open(&dir.path().join("data"), pillarbox_store::Role::Tool)
                    .unwrap();
            let hash = store
                .account_get("amy@example.test")
                .await
                .unwrap()
                .unwrap()
                .password_hash;
            pillarbox_directory::password::verify(pw, &hash)
        })
    };
    assert!(check("first"));
    assert!(!check("second"));
    ok(cli(
        &c,
        &["account", "passwd", "amy@example.test", "--password-stdin"],
        Some("second\n"),
    ));
    assert!(check("second"));
    assert!(!check("first"));
}

#[test]
fn errors_are_one_line_with_nonzero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let c = config_in(dir.path());
    let err = fails(cli(
        &c,
        &["account", "add", "x@nowhere.test", "--password-stdin"],
        Some("pw\n"),
    ));
    assert!(err.contains("nowhere.test is not a local domain"), "{err}");
    let err = fails(cli(&c, &["account", "show", "ghost@example.test"], None));
    assert!(err.contains("no account ghost@example.test"), "{err}");
    ok(cli(&c, &["domain", "add", "example.test"], None));
    let err = fails(cli(
        &c,
        &[
            "account",
            "add",
            "y@example.test",
            "--password-stdin",
            "--imap",
            "off",
            "--connector",
            "on",
        ],
        Some("pw\n"),
    ));
    assert!(err.contains("requires IMAP"), "{err}");
    let err = fails(cli(
        &c,
        &["account", "add", "z@example.test", "--password-stdin"],
        Some("\n"),
    ));
    assert!(err.contains("password is empty"), "{err}");
    let missing = dir.path().join("missing.toml");
    let err = fails(cli(&missing, &["domain", "list"], None));
    assert!(err.contains("missing.toml: cannot read"), "{err}");
}

#[test]
fn cli_works_while_the_server_runs() {
    let server = support::TestServer::start(&support::listen_any("127.0.0.1"));
    ok(server.cli(&["domain", "add", "live.test"], None));
    assert!(ok(server.cli(&["domain", "list"], None)).contains("live.test"));
    let _ = Duration::from_secs(0);
}

/// A database that cannot be reached is a clear error at start, naming the URL with
/// its password hidden and the cause, from the CLI and from `serve` alike.
#[test]
fn an_unreachable_database_is_one_clear_line_without_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let closed = support::peers::free_port();
    let config = dir.path().join("pillarbox.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\ndata_dir = \"{}\"\n[store]\nengine = \"postgres\"\n\
             url = \"postgres://pillar:s3cret@127.0.0.1:{closed}/mail\"\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let line = fails(cli(&config, &["domain", "list"], None));
    assert!(
        line.contains(&format!("postgres://pillar:***@127.0.0.1:{closed}/mail"))
            && line.contains("refused")
            && !line.contains("s3cret"),
        "{line}"
    );
    let out = Command::new(bin())
        .args(["--config", config.to_str().unwrap(), "serve"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("***@127.0.0.1") && err.contains("refused") && !err.contains("s3cret"),
        "{err}"
    );
}

#[test]
fn names_are_checked_before_they_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let c = config_in(dir.path());
    for bad in [
        "",
        "Bad Domain",
        "x@y.com",
        "a..b",
        "has/slash",
        ".lead.com",
    ] {
        let err = fails(cli(&c, &["domain", "add", bad], None));
        assert!(!err.is_empty(), "{bad:?} refused with a reason");
    }
    let out = ok(cli(&c, &["domain", "add", "Bücher.Example"], None));
    assert!(
        out.contains("domain bücher.example added (stored as xn--bcher-kva.example)"),
        "{out}"
    );
    let err = fails(cli(
        &c,
        &[
            "account",
            "add",
            "a b@xn--bcher-kva.example",
            "--password-stdin",
        ],
        Some("pw\n"),
    ));
    assert!(err.contains("not allowed before @"), "{err}");
    let err = fails(cli(
        &c,
        &["alias", "add", "x@xn--bcher-kva.example", "not an address"],
        None,
    ));
    assert!(err.contains("alias target"), "{err}");
}

#[test]
fn a_tool_without_the_servers_configuration_does_not_make_an_empty_store() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .args(["account", "list"])
        .current_dir(dir.path())
        .env_remove("PILLARBOX_CONFIG")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no Pillarbox data in") && err.contains("--config"),
        "{err}"
    );
    assert!(
        !dir.path().join("pillarbox-data").exists(),
        "nothing created"
    );
    // ./pillarbox.toml is found when no --config is given.
    std::fs::write(
        dir.path().join("pillarbox.toml"),
        format!(
            "[server]\nhostname = \"shortname\"\ndata_dir = \"{}\"\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let out = Command::new(bin())
        .args(["config", "check", "pillarbox.toml"])
        .current_dir(dir.path())
        .env_remove("PILLARBOX_CONFIG")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a fully-qualified name"),
        "the short default host name is pointed out"
    );
}

#[test]
fn init_sets_up_a_server_in_one_command() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("etc/pillarbox.toml");
    let out = ok(cli(
        &config,
        &[
            "init",
            "--hostname",
            "mail.example.test",
            "--domain",
            "example.test",
            "--password-stdin",
        ],
        Some("s3cret\n"),
    ));
    assert!(
        out.contains("account postmaster@example.test added"),
        "{out}"
    );
    assert!(
        out.contains("MX") && out.contains("v=DKIM1"),
        "the records: {out}"
    );
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("hostname = \"mail.example.test\""), "{text}");
    assert!(
        dir.path().join("etc/pillarbox-data/pillarbox.db").is_file(),
        "the data directory beside the configuration"
    );
    let checked = ok(cli(
        &config,
        &["config", "check", config.to_str().unwrap()],
        None,
    ));
    assert!(checked.contains("configuration is valid"), "{checked}");
    assert_eq!(
        ok(cli(&config, &["account", "list"], None)),
        "postmaster@example.test\n"
    );
    // Not twice, and not with a short host name.
    let again = fails(cli(
        &config,
        &[
            "init",
            "--hostname",
            "mail.example.test",
            "--domain",
            "example.test",
            "--password-stdin",
        ],
        Some("s3cret\n"),
    ));
    assert!(again.contains("exists already"), "{again}");
    let other = dir.path().join("other.toml");
    let short = fails(cli(
        &other,
        &[
            "init",
            "--hostname",
            "vm",
            "--domain",
            "example.test",
            "--password-stdin",
        ],
        Some("s3cret\n"),
    ));
    assert!(short.contains("fully-qualified"), "{short}");
}

#[test]
fn completions_and_manual_pages_come_from_the_same_definitions() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .args(["completions", "bash"])
        .current_dir(dir.path())
        .env_remove("PILLARBOX_CONFIG")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("quarantine") && text.contains("--password-stdin"));
    let man = dir.path().join("man1");
    let out = Command::new(bin())
        .args(["man", man.to_str().unwrap()])
        .current_dir(dir.path())
        .env_remove("PILLARBOX_CONFIG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(man.join("pillarbox-import-maildir.1")).unwrap();
    assert!(page.contains(".TH") && page.contains("account"), "{page}");
    // `man` itself reads it.
    let shown = Command::new("man")
        .args(["-l", man.join("pillarbox.1").to_str().unwrap()])
        .env("MANPAGER", "cat")
        .output();
    if let Ok(shown) = shown
        && shown.status.success()
    {
        assert!(String::from_utf8_lossy(&shown.stdout).contains("pillarbox"));
    }
}
