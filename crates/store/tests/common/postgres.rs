//! A real PostgreSQL for tests (Debian's `postgresql` package): one server per test
//! binary, on a free loopback port, with a fresh database per test. The cluster is
//! made once per machine by `initdb` into a template directory and copied for each
//! binary (a copy takes a fraction of a second, initdb several). PostgreSQL refuses to
//! run as root, so as root everything runs as the `postgres` user. A watchdog stops
//! the server (by its PID file) and removes its directory when the test binary exits.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// The server of this test binary.
pub struct Postgres {
    pub port: u16,
    pub dir: PathBuf,
}

static SERVER: OnceLock<Postgres> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

/// The directory holding PostgreSQL's programs (`initdb`, `pg_ctl`, `postgres`).
fn bindir() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed (Debian package postgresql; scripts/test installs it)")
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").is_file())
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("a PostgreSQL server under /usr/lib/postgresql/*/bin")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Runs a PostgreSQL program, as `postgres` when we are root.
fn pg(program: &str) -> Command {
    let path = bindir().join(program);
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(path);
        c
    } else {
        Command::new(path)
    }
}

fn chown_to_postgres(path: &Path) {
    if is_root() {
        let ok = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(path)
            .status()
            .unwrap()
            .success();
        assert!(ok, "chown {}", path.display());
    }
}

/// The template cluster, made by initdb once per machine (under a lock, so test
/// binaries starting together make it once).
fn template() -> PathBuf {
    let base = std::env::temp_dir().join("pillarbox-pg-template");
    let done = base.join("cluster/PG_VERSION");
    if done.is_file() {
        return base.join("cluster");
    }
    std::fs::create_dir_all(&base).unwrap();
    let lock = std::fs::File::create(base.join("lock")).unwrap();
    lock.lock().unwrap();
    if !done.is_file() {
        let work = base.join(format!("work-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(&work).unwrap();
        chown_to_postgres(&base);
        let out = pg("initdb")
            .arg("-D")
            .arg(&work)
            .args([
                "-A",
                "trust",
                "-U",
                "pillar",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::rename(&work, base.join("cluster")).unwrap();
    }
    base.join("cluster")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// This test binary's server, started on first use.
pub fn server() -> &'static Postgres {
    SERVER.get_or_init(start)
}

/// A server of its own, for a test that stops and starts it (the database lost while
/// the nodes run); stopped with the test binary like the shared one.
pub fn dedicated() -> Postgres {
    start()
}

fn start() -> Postgres {
    let template = template();
    for _ in 0..5 {
        let dir = std::env::temp_dir().join(format!(
            "pillarbox-pg-{}-{}",
            std::process::id(),
            free_port()
        ));
        let ok = Command::new("cp")
            .arg("-a")
            .arg(&template)
            .arg(&dir)
            .status()
            .unwrap()
            .success();
        assert!(ok, "copying the template cluster");
        chown_to_postgres(&dir);
        let server = Postgres {
            port: free_port(),
            dir: dir.clone(),
        };
        if server.pg_ctl_start() {
            watchdog(&dir);
            return server;
        }
        let port = server.port;
        let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
        eprintln!("postgres did not start on port {port} (retrying): {log}");
        let _ = std::fs::remove_dir_all(&dir);
    }
    panic!("PostgreSQL did not start");
}

/// Stops the server and removes its directory once this test process has exited.
fn watchdog(dir: &Path) {
    let pg_ctl = bindir().join("pg_ctl");
    let runas = if is_root() {
        "runuser -u postgres -- "
    } else {
        ""
    };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; \
         {runas}{pg_ctl} -D '{dir}' stop -m immediate >/dev/null 2>&1; rm -rf '{dir}'",
        pid = std::process::id(),
        pg_ctl = pg_ctl.display(),
        dir = dir.display(),
    );
    // `setsid --fork` returns at once, leaving the watchdog in a session of its own.
    let started = Command::new("setsid")
        .args(["--fork", "sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("setsid and sh");
    assert!(started.success(), "the PostgreSQL watchdog did not start");
}

impl Postgres {
    fn pg_ctl_start(&self) -> bool {
        pg("pg_ctl")
            .arg("-D")
            .arg(&self.dir)
            .args(["-w", "-t", "30", "-l"])
            .arg(self.dir.join("log"))
            .arg("-o")
            .arg(format!(
                "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off \
                 -c synchronous_commit=off -c full_page_writes=off -c max_connections=300",
                self.port,
                self.dir.display()
            ))
            .arg("start")
            .stdout(Stdio::null())
            .output()
            .unwrap()
            .status
            .success()
    }

    /// Stops the server (fast shutdown: every connection is cut).
    pub fn stop(&self) {
        let ok = pg("pg_ctl")
            .arg("-D")
            .arg(&self.dir)
            .args(["-w", "-m", "fast", "stop"])
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok, "pg_ctl stop");
    }

    /// Starts the server again on its port.
    pub fn restart(&self) {
        assert!(self.pg_ctl_start(), "pg_ctl start");
    }

    /// The URL of database `name` on this server.
    pub fn url(&self, name: &str) -> String {
        format!(
            "postgres://pillar@127.0.0.1:{}/{name}?sslmode=disable",
            self.port
        )
    }

    /// Runs SQL with psql against database `db`.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = Command::new("psql")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args([
                "-U",
                "pillar",
                "-d",
                db,
                "-v",
                "ON_ERROR_STOP=1",
                "-tAq",
                "-c",
                sql,
            ])
            .output()
            .expect("psql (postgresql-client) is installed");
        assert!(
            out.status.success(),
            "psql {sql:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// A new, empty database; returns its URL.
    pub fn fresh_database(&self) -> String {
        let name = format!(
            "t{}_{}",
            std::process::id(),
            NEXT_DB.fetch_add(1, Ordering::Relaxed)
        );
        self.psql("postgres", &format!("CREATE DATABASE {name}"));
        self.url(&name)
    }
}
