//! No panic is reachable from the network: thousands of random commands (real command
//! names with random, often malformed arguments: sequence sets, strings, literals,
//! parentheses, 8-bit and NUL bytes) are thrown at logged-in sessions with a mailbox
//! selected; every session must keep answering or close cleanly, and no session task
//! may panic. Deterministic (seeded), so a failure replays.

mod harness;

use std::time::Duration;

use harness::Harness;
use tokio::io::AsyncWriteExt;

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const COMMANDS: &[&str] = &[
    "FETCH",
    "UID FETCH",
    "STORE",
    "UID STORE",
    "SEARCH",
    "UID SEARCH",
    "SORT",
    "UID SORT",
    "THREAD",
    "UID THREAD",
    "COPY",
    "UID COPY",
    "MOVE",
    "UID MOVE",
    "EXPUNGE",
    "UID EXPUNGE",
    "SELECT",
    "EXAMINE",
    "CREATE",
    "DELETE",
    "RENAME",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "LIST",
    "LSUB",
    "STATUS",
    "APPEND",
    "NOOP",
    "CHECK",
    "CAPABILITY",
    "ENABLE",
    "ID",
    "NAMESPACE",
    "GETQUOTA",
    "GETQUOTAROOT",
    "SETQUOTA",
    "UNSELECT",
    "CLOSE",
    "IDLE",
    "COMPRESS",
    "AUTHENTICATE",
    "LOGIN",
    "STARTTLS",
    "XYZZY",
];

const PIECES: &[&str] = &[
    "1",
    "1:*",
    "*",
    "$",
    "0",
    "4294967295",
    "4294967296",
    "2,4:7",
    "1:",
    ":",
    "*:1",
    "INBOX",
    "\"INBOX\"",
    "Sent",
    "a/b",
    "\"\"",
    "\"unterminated",
    "\"esc\\\"aped\"",
    "NIL",
    "(",
    ")",
    "()",
    "(FLAGS)",
    "(UID FLAGS BODY[])",
    "BODY[1.2.3.HEADER]",
    "BODY.PEEK[]<0.5>",
    "BINARY[1]",
    "BINARY.SIZE[2]",
    "BODY[HEADER.FIELDS (FROM TO)]",
    "BODY[TEXT]<9999999999.1>",
    "ENVELOPE",
    "BODYSTRUCTURE",
    "ALL",
    "FAST",
    "FULL",
    "+FLAGS",
    "-FLAGS.SILENT",
    "FLAGS",
    "(\\Seen \\Deleted $Kw)",
    "(\\Recent)",
    "\\Bogus",
    "(UNCHANGEDSINCE 1)",
    "(CHANGEDSINCE 0)",
    "(CHANGEDSINCE 1 VANISHED)",
    "RETURN",
    "(MIN MAX COUNT ALL SAVE)",
    "CHARSET",
    "UTF-8",
    "X-UNKNOWN",
    "OR",
    "NOT",
    "SUBJECT",
    "BODY",
    "TEXT",
    "HEADER",
    "SINCE",
    "1-Jan-2020",
    "32-Foo-99",
    "LARGER",
    "MODSEQ",
    "OLDER",
    "YOUNGER",
    "(REVERSE DATE)",
    "(SUBJECT ARRIVAL)",
    "REFERENCES",
    "ORDEREDSUBJECT",
    "(CONDSTORE)",
    "(QRESYNC (1 2 1:3 (1 1)))",
    "DEFLATE",
    "CONDSTORE",
    "QRESYNC",
    "IMAP4rev2",
    "UTF8=ACCEPT",
    "(MESSAGES UIDNEXT SIZE)",
    "{3}",
    "{0}",
    "{5+}",
    "~{4}",
    "{99999999999}",
    "(USE (\\Drafts))",
    "(SUBSCRIBED RECURSIVEMATCH)",
    "RETURN (STATUS (MESSAGES) CHILDREN)",
    "\"14-Jul-2020 08:30:00 +0200\"",
    "\u{e9}t\u{e9}",
    "\u{0}",
    "%",
    "&AOk-",
    "&Jjo",
    "PLAIN",
    "=",
    "AGJvYgBwdw==",
];

fn command(rng: &mut Rng, tag: &str) -> Vec<u8> {
    let mut out = format!("{tag} {}", rng.pick(COMMANDS)).into_bytes();
    for _ in 0..rng.below(7) {
        out.push(b' ');
        let piece = rng.pick(PIECES);
        out.extend_from_slice(piece.as_bytes());
        if piece.ends_with('}') && rng.below(2) == 0 {
            // Sometimes follow a literal announcement with data right away.
            out.extend_from_slice(b"\r\nabc");
        }
    }
    if rng.below(20) == 0 {
        out.extend((0..rng.below(40)).map(|_| rng.below(256) as u8));
    }
    out
}

#[tokio::test]
async fn random_commands_never_crash_a_session() {
    let h = Harness::new().await;
    for n in 0..5 {
        h.deliver(format!("Subject: m{n}\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\npart\r\n--b--\r\n").as_bytes())
            .await;
    }
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut c = h.login().await;
    c.cmd("s SELECT INBOX").await;
    let mut sent = 0;
    while sent < 1000 {
        sent += 1;
        let tag = format!("c{sent}");
        let mut line = command(&mut rng, &tag);
        line.extend_from_slice(format!("\r\nz{sent} NOOP\r\n").as_bytes());
        let wrote = c.r.get_mut().write_all(&line).await;
        let sentinel = format!("z{sent} ");
        let mut alive = wrote.is_ok();
        while alive {
            let mut buf = Vec::new();
            let read = tokio::time::timeout(
                Duration::from_millis(300),
                tokio::io::AsyncBufReadExt::read_until(&mut c.r, b'\n', &mut buf),
            )
            .await;
            match read {
                Ok(Ok(0)) | Ok(Err(_)) | Err(_) => alive = false,
                Ok(Ok(_)) if buf.starts_with(sentinel.as_bytes()) => break,
                Ok(Ok(_)) => {}
            }
        }
        if !alive {
            // The session ended (BYE, LOGOUT) or waits for literal data that will never
            // come: it must not have panicked. Start a fresh one.
            drop(c.r);
            if let Some(task) = c.task.take() {
                let ended = tokio::time::timeout(Duration::from_secs(5), task).await;
                if let Ok(result) = ended {
                    assert!(result.is_ok(), "session task panicked after command {sent}");
                }
            }
            c = h.login().await;
            c.cmd("s SELECT INBOX").await;
        }
    }
    let r = c.cmd("q LOGOUT").await;
    assert!(r.last().unwrap().starts_with("q OK"), "{r:?}");
    if let Some(task) = c.task.take() {
        assert!(task.await.is_ok());
    }
}
