//! Real content scanners for the scanning tests: ClamAV's `clamd` (Debian package
//! clamav-daemon) and rspamd (Debian package rspamd, 3.4), each started from a temp
//! directory with our own configuration on free loopback ports, offline.
//!
//! * [`Clamd`]: a signature database made here that knows only the EICAR test file
//!   (an `.ndb` body signature on `EICAR-STANDARD-ANTIVIRUS-TEST-FILE`, so it matches
//!   EICAR as plain body text and inside a base64 MIME attachment, which clamd
//!   decodes). clamd reports it as [`EICAR_SIGNATURE`] (custom signatures get
//!   `.UNOFFICIAL` appended). Starts in well under a second.
//! * [`Rspamd`]: Debian's stock rules with our own top-level configuration: a normal
//!   worker, a controller (password [`RSPAMD_PASSWORD`]) and an `rspamd_proxy` in
//!   milter mode forwarding to the normal worker. Starts in about a second (see
//!   [`Rspamd::start_with`] for the choices that make that possible).
//!
//! `start()` gives a peer of one's own, stopped on drop (and by [`Clamd::stop`] /
//! [`Rspamd::stop`]); `shared()` gives one per test binary, started on first use and
//! stopped, with its directory removed, by a watchdog once the test binary exits (the
//! pattern of the shared PostgreSQL).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The standard 68-byte EICAR anti-virus test file.
pub const EICAR: &str = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

/// The name clamd reports for [`EICAR`] with our database (`<name> FOUND`).
pub const EICAR_SIGNATURE: &str = "Eicar-Test-Signature.UNOFFICIAL";

/// rspamd's GTUBE string: a message containing it gets the `reject` action at once.
pub const GTUBE: &str = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

/// The controller's password (both `password` and `enable_password`), sent as the
/// `Password` header; there is no `secure_ip`, so loopback needs it too.
pub const RSPAMD_PASSWORD: &str = "pillarbox-test";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The first of `candidates` that exists (a path) or runs (a name in PATH).
fn program(candidates: &[&str], package: &str) -> String {
    for c in candidates {
        if c.starts_with('/') {
            if Path::new(c).is_file() {
                return c.to_string();
            }
        } else if Command::new("sh")
            .args(["-c", &format!("command -v {c}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        {
            return c.to_string();
        }
    }
    panic!(
        "{} is not installed (Debian package {package}; scripts/test installs it)",
        candidates[0]
    );
}

/// A string unique in this machine's test runs (for Message-IDs and directories).
fn unique() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{}.{}.{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Sends `sig` (`TERM`, `KILL`) to `target` (a PID, or `-PGID` for a process group).
fn signal(sig: &str, target: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{sig}"), "--", target])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Stops `child` (and its process group if `group`): SIGTERM, then SIGKILL after
/// `grace`. rspamd needs the SIGTERM: its main process killed outright leaves the
/// workers running (and listening).
fn stop_child(child: &mut Child, group: bool, grace: Duration) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    let pid = child.id().to_string();
    signal("TERM", &pid);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if group {
        signal("KILL", &format!("-{pid}"));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// For a shared peer (never dropped): once this test process has exited, stops `pid`
/// (SIGTERM, then SIGKILL to its process group) and removes `dir`.
fn watchdog(pid: u32, dir: &Path) {
    let script = format!(
        "while kill -0 {me} 2>/dev/null; do sleep 0.5; done; \
         kill -TERM {pid} 2>/dev/null; i=0; \
         while [ $i -lt 10 ] && kill -0 {pid} 2>/dev/null; do sleep 0.5; i=$((i+1)); done; \
         kill -KILL -- -{pid} {pid} 2>/dev/null; rm -rf '{dir}'",
        me = std::process::id(),
        dir = dir.display(),
    );
    let started = Command::new("setsid")
        .args(["--fork", "sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("setsid and sh");
    assert!(started.success(), "the scanner watchdog did not start");
}

/// A directory for a shared peer (removed by its watchdog, not by a `TempDir`).
fn shared_dir(kind: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pillarbox-{kind}-{}", unique()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

// ---------------------------------------------------------------------------------
// clamd

/// A running clamd on `127.0.0.1:port`.
pub struct Clamd {
    pub port: u16,
    pub dir: PathBuf,
    child: Option<Child>,
    _tmp: Option<tempfile::TempDir>,
}

static CLAMD: OnceLock<Clamd> = OnceLock::new();

impl Drop for Clamd {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Clamd {
    /// A clamd of one's own (for a test that stops it); stopped on drop.
    pub fn start() -> Clamd {
        let tmp = tempfile::tempdir().unwrap();
        let mut c = Clamd {
            port: 0,
            dir: tmp.path().to_path_buf(),
            child: None,
            _tmp: Some(tmp),
        };
        c.launch_on_free_port();
        c
    }

    /// This test binary's clamd, started on first use. Don't stop it.
    pub fn shared() -> &'static Clamd {
        CLAMD.get_or_init(|| {
            let mut c = Clamd {
                port: 0,
                dir: shared_dir("clamd"),
                child: None,
                _tmp: None,
            };
            c.launch_on_free_port();
            watchdog(c.child.as_ref().unwrap().id(), &c.dir);
            c
        })
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Kills clamd (SIGKILL, by PID): afterwards its port refuses connections.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts clamd again on the same port after [`Clamd::stop`].
    pub fn restart(&mut self) {
        self.stop();
        assert!(self.launch(), "clamd did not start again: {}", self.log());
    }

    /// clamd's log file.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("clamd.log")).unwrap_or_default()
    }

    /// Whether clamd answers `zPING` with `PONG`.
    pub fn ping(&self) -> bool {
        clamd_command(self.addr(), b"zPING\0").is_ok_and(|r| r == "PONG")
    }

    /// Scans `data` with `zINSTREAM`; the reply without its NUL, such as
    /// `stream: OK` or `stream: Eicar-Test-Signature.UNOFFICIAL FOUND`.
    pub fn scan(&self, data: &[u8]) -> String {
        clamd_instream(self.addr(), data).expect("clamd INSTREAM")
    }

    fn launch_on_free_port(&mut self) {
        self.write_database();
        for _ in 0..5 {
            self.port = free_port();
            if self.launch() {
                return;
            }
            eprintln!(
                "clamd did not start on port {} (retrying): {}",
                self.port,
                self.log()
            );
        }
        panic!("clamd did not start: {}", self.log());
    }

    fn write_database(&self) {
        let db = self.dir.join("db");
        std::fs::create_dir_all(&db).unwrap();
        std::fs::create_dir_all(self.dir.join("tmp")).unwrap();
        // Target type 0 (any file), offset `*`: matches the text anywhere, also in
        // decoded MIME parts.
        let hex: String = "EICAR-STANDARD-ANTIVIRUS-TEST-FILE"
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect();
        let name = EICAR_SIGNATURE.trim_end_matches(".UNOFFICIAL");
        std::fs::write(db.join("pillarbox-test.ndb"), format!("{name}:0:*:{hex}\n")).unwrap();
    }

    /// Writes the config for `self.port` and starts clamd; true once it answers PING.
    fn launch(&mut self) -> bool {
        let d = &self.dir;
        // No `User`: clamd keeps running as whoever we are (root here).
        let conf = format!(
            "Foreground yes\nTCPSocket {port}\nTCPAddr 127.0.0.1\nDatabaseDirectory {db}\n\
             LogFile {log}\nPidFile {pid}\nTemporaryDirectory {tmp}\n",
            port = self.port,
            db = d.join("db").display(),
            log = d.join("clamd.log").display(),
            pid = d.join("clamd.pid").display(),
            tmp = d.join("tmp").display(),
        );
        let conf_path = d.join("clamd.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let mut child = Command::new(program(&["/usr/sbin/clamd", "clamd"], "clamav-daemon"))
            .arg(format!("--config-file={}", conf_path.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("clamd runs");
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if clamd_command(self.addr(), b"zPING\0").is_ok_and(|r| r == "PONG") {
                self.child = Some(child);
                return true;
            }
            if matches!(child.try_wait(), Ok(Some(_))) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }
}

/// Sends one clamd command (`z…\0` form) and reads the reply up to its NUL.
pub fn clamd_command(addr: SocketAddr, command: &[u8]) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    s.write_all(command)?;
    read_nul_reply(&mut s)
}

/// Scans `data` with `zINSTREAM` (chunks of `<u32 BE length><bytes>`, ended by a zero
/// length).
pub fn clamd_instream(addr: SocketAddr, data: &[u8]) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    s.write_all(b"zINSTREAM\0")?;
    for chunk in data.chunks(64 * 1024) {
        s.write_all(&(chunk.len() as u32).to_be_bytes())?;
        s.write_all(chunk)?;
    }
    s.write_all(&0u32.to_be_bytes())?;
    read_nul_reply(&mut s)
}

fn read_nul_reply(s: &mut TcpStream) -> std::io::Result<String> {
    let mut reply = Vec::new();
    BufReader::new(s).read_until(0, &mut reply)?;
    if reply.last() == Some(&0) {
        reply.pop();
    }
    Ok(String::from_utf8_lossy(&reply).into_owned())
}

// ---------------------------------------------------------------------------------
// rspamd

/// How to configure an rspamd.
#[derive(Clone, Debug)]
pub struct RspamdOptions {
    /// The DNS server rspamd asks (such as a `peers::Dns`'s address). `None`: a dead
    /// loopback address (`127.0.0.1:9`) with short timeouts, so nothing leaves the
    /// machine and DNS-based checks fail within a few hundred milliseconds.
    pub nameserver: Option<SocketAddr>,
    /// Learns of each class the Bayes classifier needs before it votes (BAYES_SPAM /
    /// BAYES_HAM). rspamd's default is 200.
    pub bayes_min_learns: u32,
}

impl Default for RspamdOptions {
    /// A dead nameserver, and Bayes voting once each class has one learn.
    fn default() -> Self {
        RspamdOptions {
            nameserver: None,
            bayes_min_learns: 1,
        }
    }
}

/// A running rspamd: `normal` is the scanning worker (`/checkv2`, `/ping`),
/// `controller` takes `/learnspam`, `/learnham`, `/stat` (with the `Password`
/// header), `proxy_milter` is the `rspamd_proxy` worker speaking the milter protocol.
pub struct Rspamd {
    pub normal: u16,
    pub controller: u16,
    pub proxy_milter: u16,
    pub dir: PathBuf,
    pub options: RspamdOptions,
    child: Option<Child>,
    _tmp: Option<tempfile::TempDir>,
}

static RSPAMD: OnceLock<Rspamd> = OnceLock::new();

impl Drop for Rspamd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Modules switched off (`local.d/<m>.conf`: `enabled = false;`): those that need the
/// network (RBLs, fuzzy storage, URL/phishing feeds, ASN, DCC, update checks), those
/// that need redis (reputation, neural, ratelimit, greylist, replies, history, BIMI,
/// URL redirector), and hfilter, whose HELO/hostname DNS checks give an ordinary
/// message from a non-loopback IP about +6 (the add-header action) when DNS is dead.
const RSPAMD_DISABLED: &[&str] = &[
    "rbl",
    "fuzzy_check",
    "surbl",
    "phishing",
    "asn",
    "emails",
    "url_redirector",
    "dcc",
    "rspamd_update",
    "reputation",
    "neural",
    "ratelimit",
    "greylist",
    "replies",
    "history_redis",
    "mx_check",
    "bimi",
    "hfilter",
];

impl Rspamd {
    /// An rspamd of one's own with [`RspamdOptions::default`]; stopped on drop.
    pub fn start() -> Rspamd {
        Self::start_with(RspamdOptions::default())
    }

    /// An rspamd of one's own; stopped on drop.
    ///
    /// Configuration (top-level file `rspamd.conf` in the temp dir, `LOCAL_CONFDIR` =
    /// the temp dir, Debian's `/etc/rspamd` as `CONFDIR`):
    /// * Debian's metrics, groups, composites, modules and settings; not its
    ///   `common.conf`/`statistic.conf`, so the classifier is ours;
    /// * `url_tld` = a five-line suffix file: with Debian's 9.6 k-suffix list startup
    ///   takes ~45 s, with this ~1 s (URLs under other TLDs are not recognised);
    /// * `dns.nameserver` in `override.d/options.inc` (it only takes at override
    ///   priority);
    /// * actions reject = 15, add_header = 6, greylist = 4;
    /// * Bayes with the **sqlite3** backend and learn cache (files in the DB dir; the
    ///   cache otherwise lives in the machine-wide /var/lib/rspamd): rspamd 3.4 still
    ///   has it, so no redis is needed; learning works and, after
    ///   `bayes_min_learns` learns per class, scores (BAYES_SPAM +5.1 at 99.99%);
    /// * run with `-f -i` (`--insecure`: as root it otherwise refuses to run workers
    ///   as root), in a process group of its own.
    pub fn start_with(options: RspamdOptions) -> Rspamd {
        let tmp = tempfile::tempdir().unwrap();
        let mut r = Rspamd {
            normal: 0,
            controller: 0,
            proxy_milter: 0,
            dir: tmp.path().to_path_buf(),
            options,
            child: None,
            _tmp: Some(tmp),
        };
        r.launch_on_free_ports();
        r
    }

    /// This test binary's rspamd, started on first use. Don't stop it. Its Bayes
    /// classifier learns (so `/learnspam` and `/learnham` work) but never votes
    /// (`bayes_min_learns` is huge), so tests sharing it can't change one another's
    /// scores by learning.
    pub fn shared() -> &'static Rspamd {
        RSPAMD.get_or_init(|| {
            let mut r = Rspamd {
                normal: 0,
                controller: 0,
                proxy_milter: 0,
                dir: shared_dir("rspamd"),
                options: RspamdOptions {
                    nameserver: None,
                    bayes_min_learns: 1_000_000,
                },
                child: None,
                _tmp: None,
            };
            r.launch_on_free_ports();
            watchdog(r.child.as_ref().unwrap().id(), &r.dir);
            r
        })
    }

    pub fn normal_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.normal))
    }

    pub fn controller_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.controller))
    }

    pub fn milter_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.proxy_milter))
    }

    /// Stops rspamd (SIGTERM to the main process, which stops its workers; SIGKILL to
    /// the process group after 5 s).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop_child(&mut child, true, Duration::from_secs(5));
        }
    }

    /// rspamd's log file.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log/rspamd.log")).unwrap_or_default()
    }

    /// `POST /checkv2` on the normal worker with extra request headers (such as
    /// `("IP", "127.0.0.1")`, `("From", …)`, `("Rcpt", …)`, `("Helo", …)`); the JSON
    /// reply (`action`, `score`, `symbols`, …).
    pub fn check(&self, message: &[u8], headers: &[(&str, &str)]) -> serde_json::Value {
        let (status, body) = http_request(self.normal_addr(), "POST", "/checkv2", headers, message)
            .expect("rspamd /checkv2");
        assert_eq!(status, 200, "/checkv2: {}", String::from_utf8_lossy(&body));
        serde_json::from_slice(&body).expect("/checkv2 JSON")
    }

    /// `POST /learnspam` on the controller (with the password): the status and body.
    /// 200 `{"success":true}` when learned; the same text learned again (the learn
    /// cache keys on the words, not the Message-ID) gets 404 `<message-id> has been
    /// already learned as spam, ignore it`; 401 for a wrong password.
    pub fn learn_spam(&self, message: &[u8]) -> (u16, String) {
        self.controller_post("/learnspam", message)
    }

    /// `POST /learnham` on the controller (with the password).
    pub fn learn_ham(&self, message: &[u8]) -> (u16, String) {
        self.controller_post("/learnham", message)
    }

    /// `GET /stat` on the controller: learn counts and statfiles.
    pub fn stat(&self) -> serde_json::Value {
        let (status, body) = http_request(
            self.controller_addr(),
            "GET",
            "/stat",
            &[("Password", RSPAMD_PASSWORD)],
            b"",
        )
        .expect("rspamd /stat");
        assert_eq!(status, 200, "/stat: {}", String::from_utf8_lossy(&body));
        serde_json::from_slice(&body).expect("/stat JSON")
    }

    fn controller_post(&self, path: &str, message: &[u8]) -> (u16, String) {
        let (status, body) = http_request(
            self.controller_addr(),
            "POST",
            path,
            &[("Password", RSPAMD_PASSWORD)],
            message,
        )
        .unwrap_or_else(|e| panic!("rspamd {path}: {e}"));
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    fn launch_on_free_ports(&mut self) {
        self.write_config_files();
        for _ in 0..5 {
            self.normal = free_port();
            self.controller = free_port();
            self.proxy_milter = free_port();
            if self.launch() {
                return;
            }
            eprintln!("rspamd did not start (retrying): {}", tail(&self.log(), 40));
        }
        panic!("rspamd did not start: {}", tail(&self.log(), 80));
    }

    /// Everything but the port-dependent top-level file.
    fn write_config_files(&self) {
        let d = &self.dir;
        for sub in ["local.d", "override.d", "db", "run", "log"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        std::fs::write(d.join("tld.dat"), "test\nexample\ncom\norg\nnet\n").unwrap();
        let dns = match self.options.nameserver {
            Some(ns) => {
                format!("  nameserver = [\"{ns}\"];\n  timeout = 1s;\n  retransmits = 2;\n")
            }
            None => "  nameserver = [\"127.0.0.1:9\"];\n  timeout = 0.2s;\n  retransmits = 1;\n"
                .to_string(),
        };
        std::fs::write(
            d.join("override.d/options.inc"),
            format!(
                "url_tld = \"{}\";\ndns {{\n{dns}}}\n",
                d.join("tld.dat").display()
            ),
        )
        .unwrap();
        for m in RSPAMD_DISABLED {
            std::fs::write(d.join(format!("local.d/{m}.conf")), "enabled = false;\n").unwrap();
        }
    }

    fn write_top_config(&self) -> PathBuf {
        let conf = format!(
            r#"# Pillarbox test rspamd: Debian's rules, our workers and statistics.
lua = "$RULESDIR/rspamd.lua"
.include "$CONFDIR/metrics.conf"
.include "$CONFDIR/groups.conf"
.include "$CONFDIR/composites.conf"
.include "$CONFDIR/modules.conf"
.include "$CONFDIR/settings.conf"
modules {{
  path = "${{PLUGINSDIR}}";
  fallback_path = "${{SHAREDIR}}/lua";
}}
actions {{
  reject = 15;
  add_header = 6;
  greylist = 4;
}}
options {{
  pidfile = "$RUNDIR/rspamd.pid";
  .include "$CONFDIR/options.inc"
  .include(priority=10) "$LOCAL_CONFDIR/override.d/options.inc"
}}
logging {{
  type = "file";
  filename = "$LOGDIR/rspamd.log";
  level = "info";
}}
classifier "bayes" {{
  tokenizer {{ name = "osb"; }}
  backend = "sqlite3";
  # The learn cache ("already learned" check) defaults to the compiled-in
  # /var/lib/rspamd/learn_cache.sqlite, shared by every instance and run.
  cache {{ path = "$DBDIR/learn_cache.sqlite"; }}
  min_tokens = 11;
  min_learns = {min_learns};
  statfile {{ symbol = "BAYES_HAM"; spam = false; path = "$DBDIR/bayes.ham.sqlite"; }}
  statfile {{ symbol = "BAYES_SPAM"; spam = true; path = "$DBDIR/bayes.spam.sqlite"; }}
}}
worker "normal" {{
  bind_socket = "127.0.0.1:{normal}";
  count = 1;
  mime = true;
}}
worker "controller" {{
  bind_socket = "127.0.0.1:{controller}";
  count = 1;
  password = "{pw}";
  enable_password = "{pw}";
  static_dir = "${{WWWDIR}}";
}}
worker "rspamd_proxy" {{
  bind_socket = "127.0.0.1:{proxy}";
  count = 1;
  milter = yes;
  timeout = 120s;
  upstream "local" {{
    default = yes;
    self_scan = no;
    hosts = "127.0.0.1:{normal}";
  }}
  spam_header = "X-Spam";
  reject_message = "Spam message rejected";
}}
"#,
            min_learns = self.options.bayes_min_learns,
            normal = self.normal,
            controller = self.controller,
            proxy = self.proxy_milter,
            pw = RSPAMD_PASSWORD,
        );
        let path = self.dir.join("rspamd.conf");
        std::fs::write(&path, conf).unwrap();
        path
    }

    /// Starts rspamd on the current ports; true once all three workers answer and
    /// both the normal worker and the controller opened the Bayes databases.
    fn launch(&mut self) -> bool {
        let conf = self.write_top_config();
        let d = &self.dir;
        // A fresh log, so that `stats_failed` sees this start only.
        let _ = std::fs::remove_file(d.join("log/rspamd.log"));
        let mut cmd = Command::new(program(&["/usr/bin/rspamd", "rspamd"], "rspamd"));
        cmd.arg("-f").arg("-c").arg(&conf);
        if is_root() {
            cmd.arg("-i");
        }
        cmd.arg("--var=CONFDIR=/etc/rspamd")
            .arg(format!("--var=LOCAL_CONFDIR={}", d.display()))
            .arg(format!("--var=RUNDIR={}", d.join("run").display()))
            .arg(format!("--var=DBDIR={}", d.join("db").display()))
            .arg(format!("--var=LOGDIR={}", d.join("log").display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        let mut child = cmd.spawn().expect("rspamd runs");
        let deadline = Instant::now() + Duration::from_secs(90);
        while Instant::now() < deadline {
            if self.ready() {
                if self.stats_failed() {
                    stop_child(&mut child, true, Duration::from_secs(5));
                    return false;
                }
                self.child = Some(child);
                return true;
            }
            if matches!(child.try_wait(), Ok(Some(_))) {
                // Workers that did start (one port taken by someone else) go too.
                signal("KILL", &format!("-{}", child.id()));
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        stop_child(&mut child, true, Duration::from_secs(2));
        false
    }

    /// Whether a worker failed to open a statistics database. The normal worker and
    /// the controller both create the sqlite files on first start, under `BEGIN
    /// EXCLUSIVE`; on a loaded machine one of them can run out of retries ("database
    /// is locked") and then has no Bayes backend for its lifetime (learning answers
    /// 404 "cannot find statfile backend to learn spam"). Started again, both find
    /// the files made. Workers open them before they serve, so the log has the lines
    /// by the time `ready` holds.
    fn stats_failed(&self) -> bool {
        self.log().lines().any(|l| {
            l.contains("cannot init backend") || (l.contains("sqlite") && l.contains("cannot open"))
        })
    }

    fn ready(&self) -> bool {
        let ping = |addr| {
            http_request(addr, "GET", "/ping", &[], b"")
                .is_ok_and(|(s, b)| s == 200 && b.starts_with(b"pong"))
        };
        ping(self.normal_addr())
            && ping(self.controller_addr())
            && TcpStream::connect_timeout(&self.milter_addr(), Duration::from_secs(1)).is_ok()
    }
}

fn tail(s: &str, lines: usize) -> String {
    let v: Vec<&str> = s.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

/// A minimal HTTP/1.1 client (one request per connection): the status and body.
pub fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    s.write_all(body)?;
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line)?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
    let mut length = None;
    let mut chunked = false;
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            if k == "content-length" {
                length = v.parse::<usize>().ok();
            } else if k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked") {
                chunked = true;
            }
        }
    }
    let mut out = Vec::new();
    if chunked {
        loop {
            line.clear();
            r.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| std::io::Error::other(format!("bad chunk size {line:?}")))?;
            if size == 0 {
                break;
            }
            let start = out.len();
            out.resize(start + size, 0);
            r.read_exact(&mut out[start..])?;
            line.clear();
            r.read_line(&mut line)?;
        }
    } else if let Some(n) = length {
        out.resize(n, 0);
        r.read_exact(&mut out)?;
    } else {
        r.read_to_end(&mut out)?;
    }
    Ok((status, out))
}

// ---------------------------------------------------------------------------------
// Test messages (CRLF line ends, a current Date and a unique Message-ID each time, so
// rspamd's "already learned" check never sees the same message twice).

/// `Thu, 03 Dec 2026 18:00:00 +0000` for now.
fn rfc2822_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let wday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][days.rem_euclid(7) as usize];
    let mon = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(month - 1) as usize];
    format!(
        "{wday}, {day:02} {mon} {year} {:02}:{:02}:{:02} +0000",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// A plain-text message from alice@example.test to bob@example.test with `body`.
pub fn text_message(subject: &str, body: &str) -> String {
    format!(
        "From: Alice <alice@example.test>\r\nTo: Bob <bob@example.test>\r\n\
         Subject: {subject}\r\nDate: {date}\r\nMessage-ID: <{id}@example.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 7bit\r\n\r\n{body}\r\n",
        date = rfc2822_now(),
        id = unique(),
    )
}

/// An ordinary message that rspamd scores below 4 (about -0.1 with `IP: 127.0.0.1`)
/// and clamd finds clean.
pub fn clean_message() -> String {
    text_message(
        "Lunch on Friday",
        "Hi Bob,\r\n\r\nshall we have lunch on Friday at the usual place near the \
         station? I can book a table for noon if that suits you, and we could go over \
         the quarterly report afterwards.\r\n\r\nBest regards,\r\nAlice",
    )
}

/// A message whose body holds [`GTUBE`] (rspamd: action `reject`).
pub fn gtube_message() -> String {
    text_message(
        "GTUBE test",
        &format!("This is a spam test.\r\n\r\n{GTUBE}"),
    )
}

/// A message whose plain-text body holds [`EICAR`].
pub fn eicar_message() -> String {
    text_message(
        "EICAR test",
        &format!("The test file follows.\r\n\r\n{EICAR}"),
    )
}

/// A multipart message with [`EICAR`] as a base64 attachment (`eicar.com`).
pub fn eicar_attachment_message() -> String {
    format!(
        "From: Alice <alice@example.test>\r\nTo: Bob <bob@example.test>\r\n\
         Subject: Attachment\r\nDate: {date}\r\nMessage-ID: <{id}@example.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee the attachment.\r\n\
         --b1\r\nContent-Type: application/octet-stream; name=\"eicar.com\"\r\n\
         Content-Disposition: attachment; filename=\"eicar.com\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--b1--\r\n",
        date = rfc2822_now(),
        id = unique(),
        b64 = base64(EICAR.as_bytes()),
    )
}

/// Standard base64 with `=` padding and CRLF every 76 characters.
pub fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for (i, c) in data.chunks(3).enumerate() {
        if i > 0 && i % 19 == 0 {
            out.push_str("\r\n");
        }
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..4 {
            if k <= c.len() {
                out.push(A[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
