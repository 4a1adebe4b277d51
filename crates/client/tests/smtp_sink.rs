//! The SMTP client against a real server: Postfix's `smtp-sink` (installed by
//! `scripts/test`), accepting everything or told to refuse chosen commands, with its
//! dump file showing what arrived.

mod support;

use std::path::PathBuf;
use std::time::Duration;

use pillarbox_client::sasl::{Credentials, Mechanism, Secret};
use pillarbox_client::smtp::{
    AuthMode, Envelope, RcptSpec, SmtpClient, SmtpClientConfig, SmtpError, SmtpTimeouts, Stage,
};
use pillarbox_net::dial::Target;

/// A running `smtp-sink`, killed on drop.
struct Sink {
    child: tokio::process::Child,
    port: u16,
    dump: PathBuf,
    _dir: tempfile::TempDir,
}

impl Sink {
    async fn start(extra: &[&str]) -> Sink {
        let dir = tempfile::tempdir().unwrap();
        // smtp-sink drops privileges to `nobody` when run as root; the dump directory
        // must be writable for it.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let dump = dir.path().join("dump");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = tokio::process::Command::new("/usr/sbin/smtp-sink");
        if is_root() {
            cmd.args(["-u", "nobody"]);
        }
        cmd.arg("-D").arg(&dump).args(extra);
        cmd.arg(format!("127.0.0.1:{port}")).arg("100");
        let child = cmd
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("smtp-sink is installed (postfix; scripts/test installs it)");
        support::wait_until(async || {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        })
        .await;
        Sink {
            child,
            port,
            dump,
            _dir: dir,
        }
    }

    async fn dump_containing(&self, needle: &str) -> String {
        let mut text = String::new();
        support::wait_until(async || {
            text = std::fs::read_to_string(&self.dump).unwrap_or_default();
            text.contains(needle)
        })
        .await;
        text
    }
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn config() -> SmtpClientConfig {
    let mut c = SmtpClientConfig::new("client.test");
    c.dial.connect_timeout = Duration::from_secs(5);
    c.timeouts = SmtpTimeouts::uniform(Duration::from_secs(10));
    c
}

fn envelope(rcpt: &str, size: usize) -> Envelope {
    Envelope {
        from: "sender@client.test".into(),
        size,
        ret: None,
        envid: None,
        rcpts: vec![RcptSpec::new(rcpt)],
        smtputf8: false,
        eight_bit: false,
    }
}

#[tokio::test]
async fn two_messages_over_one_pipelined_authenticated_connection() {
    let mut sink = Sink::start(&[]).await;
    let mut c = config();
    c.auth = AuthMode::Required;
    c.credentials = Some(Credentials {
        username: "alice".into(),
        secret: Secret::Password("s3cret".into()),
    });
    c.mechanisms = vec![Mechanism::Plain];
    let target = Target::new("127.0.0.1", sink.port);
    let mut client = SmtpClient::connect(&target, &c).await.unwrap();
    let caps = client.capabilities().clone();
    assert!(
        caps.pipelining && caps.dsn && caps.eight_bit_mime,
        "{caps:?}"
    );
    assert_eq!(client.info().authenticated, Some(Mechanism::Plain));

    let first = b"Subject: one\r\n\r\n.hidden dot\r\nsecond line\r\n";
    let mut env = envelope("rcpt1@dest.test", first.len());
    env.eight_bit = true;
    env.ret = Some("FULL".into());
    env.envid = Some("queue-1".into());
    env.rcpts[0].notify = Some("FAILURE".into());
    let out = client.send(&env, first).await.unwrap();
    assert!(out.delivered(), "{out:?}");
    let second = "Subject: two\n\ncaf\u{e9} in 8 bits\n".as_bytes();
    let out = client
        .send(&envelope("rcpt2@dest.test", second.len()), second)
        .await
        .unwrap();
    assert!(out.delivered(), "{out:?}");
    client.quit().await.unwrap();

    let dump = sink.dump_containing("Subject: two").await;
    assert!(
        dump.contains("X-Mail-Args: <sender@client.test> BODY=8BITMIME RET=FULL ENVID=queue-1"),
        "{dump}"
    );
    assert!(
        dump.contains("X-Rcpt-Args: <rcpt1@dest.test> NOTIFY=FAILURE"),
        "{dump}"
    );
    assert!(
        dump.contains("\n.hidden dot\nsecond line\n"),
        "dot-stuffing undone by Postfix: {dump}"
    );
    assert!(dump.contains("caf\u{e9} in 8 bits"), "{dump}");
    sink.child.kill().await.unwrap();
}

#[tokio::test]
async fn soft_rejected_recipients_leave_no_message() {
    let sink = Sink::start(&["-r", "RCPT"]).await;
    let target = Target::new("127.0.0.1", sink.port);
    let mut client = SmtpClient::connect(&target, &config()).await.unwrap();
    for _ in 0..2 {
        let out = client
            .send(&envelope("x@dest.test", 10), b"Subject: x\r\n\r\nx\r\n")
            .await
            .unwrap();
        let refused = out.rcpts[0].as_ref().unwrap_err();
        assert_eq!(refused.code, 450);
        assert!(!refused.is_permanent());
        assert_eq!(out.data, None);
    }
    client.quit().await.unwrap();
}

#[tokio::test]
async fn hard_rejected_mail_and_data() {
    let sink = Sink::start(&["-f", "MAIL"]).await;
    let target = Target::new("127.0.0.1", sink.port);
    let mut client = SmtpClient::connect(&target, &config()).await.unwrap();
    let err = client
        .send(&envelope("x@dest.test", 10), b"x\r\n")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            SmtpError::Rejected {
                stage: Stage::Mail,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_permanent());
    assert!(
        err.to_string().starts_with("MAIL FROM refused: 500 5.3.0"),
        "{err}"
    );
    client.quit().await.unwrap();

    let sink = Sink::start(&["-f", "DATA"]).await;
    let target = Target::new("127.0.0.1", sink.port);
    let mut client = SmtpClient::connect(&target, &config()).await.unwrap();
    let out = client
        .send(&envelope("x@dest.test", 10), b"x\r\n")
        .await
        .unwrap();
    assert!(out.rcpts[0].is_ok());
    assert_eq!(out.data.unwrap().unwrap_err().code, 500);
    // The transaction stayed open; the next one starts with RSET and works the same.
    let out = client
        .send(&envelope("y@dest.test", 10), b"x\r\n")
        .await
        .unwrap();
    assert!(out.rcpts[0].is_ok());
    client.quit().await.unwrap();
}

#[tokio::test]
async fn disconnect_after_data_is_transient() {
    let sink = Sink::start(&["-q", "DATA"]).await;
    let target = Target::new("127.0.0.1", sink.port);
    let mut client = SmtpClient::connect(&target, &config()).await.unwrap();
    let err = client
        .send(&envelope("x@dest.test", 10), b"x\r\n")
        .await
        .unwrap_err();
    assert!(
        matches!(err, SmtpError::Closed { .. } | SmtpError::Io { .. }),
        "{err:?}"
    );
    assert!(!err.is_permanent());
    assert!(!client.is_usable());
}
