//! Live sessions: every open SMTP, IMAP, POP3 and HTTP connection, registered by the
//! accept loop and described by its protocol as it goes (user, TLS, last command,
//! selected mailbox; bytes counted by the stream). Each node publishes its own to the
//! store every few seconds, so the list covers the cluster; requests to end sessions
//! (`sessions kill`) come back through the store and cancel the matching ones, which
//! closes their connections.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pillarbox_store::{SessionInfo, Store};
use tokio_util::sync::CancellationToken;

/// The sessions open on this node. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Sessions {
    open: Arc<Mutex<HashMap<u64, SessionHandle>>>,
    changed: Arc<AtomicBool>,
}

/// One open session, as its protocol describes it. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SessionHandle {
    state: Arc<State>,
}

#[derive(Debug)]
struct State {
    id: u64,
    protocol: &'static str,
    listener: &'static str,
    ip: IpAddr,
    started_ms: i64,
    detail: Mutex<Detail>,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    kill: CancellationToken,
}

#[derive(Debug, Default, Clone)]
struct Detail {
    user: Option<String>,
    tls: Option<String>,
    last_command: String,
    mailbox: Option<String>,
}

/// Removes its session from the registry when dropped (the connection ended).
#[derive(Debug)]
pub struct SessionGuard {
    sessions: Sessions,
    handle: SessionHandle,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        if let Ok(mut m) = self.sessions.open.lock() {
            m.remove(&self.handle.state.id);
        }
        self.sessions.changed.store(true, Ordering::Relaxed);
    }
}

impl SessionGuard {
    pub fn handle(&self) -> &SessionHandle {
        &self.handle
    }
}

impl Sessions {
    /// Registers connection `id` of `protocol` on `listener` from `ip`.
    pub fn open(
        &self,
        id: u64,
        protocol: &'static str,
        listener: &'static str,
        ip: IpAddr,
    ) -> SessionGuard {
        let handle = SessionHandle {
            state: Arc::new(State {
                id,
                protocol,
                listener,
                ip,
                started_ms: crate::now_ms(),
                detail: Mutex::new(Detail::default()),
                bytes_in: AtomicU64::new(0),
                bytes_out: AtomicU64::new(0),
                kill: CancellationToken::new(),
            }),
        };
        if let Ok(mut m) = self.open.lock() {
            m.insert(id, handle.clone());
        }
        self.changed.store(true, Ordering::Relaxed);
        SessionGuard {
            sessions: self.clone(),
            handle,
        }
    }

    /// The handle of open connection `id`.
    pub fn get(&self, id: u64) -> Option<SessionHandle> {
        self.open.lock().ok().and_then(|m| m.get(&id).cloned())
    }

    /// How many sessions of each protocol are open.
    pub fn counts(&self) -> Vec<(&'static str, u64)> {
        let mut by: HashMap<&'static str, u64> = HashMap::new();
        if let Ok(m) = self.open.lock() {
            for h in m.values() {
                *by.entry(h.state.protocol).or_default() += 1;
            }
        }
        let mut v: Vec<_> = by.into_iter().collect();
        v.sort();
        v
    }

    /// Every open session, described for `node`.
    pub fn snapshot(&self, node: &str) -> Vec<SessionInfo> {
        let handles: Vec<SessionHandle> = self
            .open
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        let mut out: Vec<SessionInfo> = handles.iter().map(|h| h.info(node)).collect();
        out.sort_by_key(|s| s.id);
        out
    }

    /// Ends the sessions `target` names: `id:N` (or `NODE:N`), `user:ADDRESS`,
    /// `ip:ADDRESS`. Returns how many.
    pub fn kill(&self, node: &str, target: &str) -> usize {
        let handles: Vec<SessionHandle> = self
            .open
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        let matches = |h: &SessionHandle| -> bool {
            let (kind, value) = target.split_once(':').unwrap_or(("", target));
            match kind {
                "id" => value.parse() == Ok(h.state.id),
                "user" => h
                    .detail()
                    .user
                    .is_some_and(|u| u.eq_ignore_ascii_case(value)),
                "ip" => value.parse() == Ok(h.state.ip),
                n if n == node => value.parse() == Ok(h.state.id),
                _ => false,
            }
        };
        let mut n = 0;
        for h in handles.iter().filter(|h| matches(h)) {
            h.state.kill.cancel();
            n += 1;
        }
        n
    }

    /// Publishes this node's sessions every `every` (when they changed, and at least
    /// every ten rounds so others see the node alive) and carries out the requests to
    /// end sessions that any node's tool made. Runs until the process ends.
    pub async fn run(
        self,
        store: Store,
        node: String,
        every: Duration,
        on_kill: impl Fn(&str, usize) + Send,
    ) {
        let mut last_kill = match store.session_kills_since(0).await {
            Ok(k) => k.last().map_or(0, |k| k.0),
            Err(_) => 0,
        };
        let mut tick = tokio::time::interval(every);
        let mut round = 0u32;
        loop {
            tick.tick().await;
            round = round.wrapping_add(1);
            if self.changed.swap(false, Ordering::Relaxed) || round.is_multiple_of(10) {
                let snapshot = self.snapshot(&node);
                if let Err(e) = store.sessions_publish(&node, snapshot).await {
                    self.changed.store(true, Ordering::Relaxed);
                    tracing::warn!(error = %e, "monitor: cannot publish sessions");
                }
            }
            match store.session_kills_since(last_kill).await {
                Ok(kills) => {
                    for (id, target) in kills {
                        last_kill = last_kill.max(id);
                        let n = self.kill(&node, &target);
                        on_kill(&target, n);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "monitor: cannot read session kills"),
            }
        }
    }
}

impl SessionHandle {
    fn detail(&self) -> Detail {
        self.state
            .detail
            .lock()
            .map(|d| d.clone())
            .unwrap_or_default()
    }

    fn update(&self, f: impl FnOnce(&mut Detail)) {
        if let Ok(mut d) = self.state.detail.lock() {
            f(&mut d);
        }
    }

    /// The user it authenticated as.
    pub fn set_user(&self, user: &str) {
        self.update(|d| d.user = Some(user.to_string()));
    }

    /// The TLS version it runs over.
    pub fn set_tls(&self, version: &str) {
        self.update(|d| d.tls = Some(version.to_string()));
    }

    /// The command it runs now (its verb: never arguments, which may hold secrets).
    pub fn set_command(&self, verb: &str) {
        self.update(|d| {
            if d.last_command != verb {
                d.last_command.clear();
                d.last_command.extend(verb.chars().take(24));
            }
        });
    }

    /// The mailbox it has selected.
    pub fn set_mailbox(&self, mailbox: Option<&str>) {
        self.update(|d| d.mailbox = mailbox.map(str::to_string));
    }

    /// Counts octets read from and written to the connection.
    pub fn add_bytes(&self, read: u64, written: u64) {
        self.state.bytes_in.fetch_add(read, Ordering::Relaxed);
        self.state.bytes_out.fetch_add(written, Ordering::Relaxed);
    }

    /// Cancelled when an administrator ends the session.
    pub fn killed(&self) -> CancellationToken {
        self.state.kill.clone()
    }

    fn info(&self, node: &str) -> SessionInfo {
        let d = self.detail();
        SessionInfo {
            node: node.to_string(),
            id: self.state.id as i64,
            protocol: self.state.protocol.to_string(),
            listener: self.state.listener.to_string(),
            ip: self.state.ip.to_string(),
            user: d.user,
            tls: d.tls,
            started_ms: self.state.started_ms,
            last_command: d.last_command,
            bytes_in: self.state.bytes_in.load(Ordering::Relaxed) as i64,
            bytes_out: self.state.bytes_out.load(Ordering::Relaxed) as i64,
            mailbox: d.mailbox,
        }
    }
}

/// A connection's stream that counts the octets read and written into its session.
#[derive(Debug)]
pub struct Counted<S> {
    inner: S,
    handle: SessionHandle,
}

impl<S> Counted<S> {
    pub fn new(inner: S, handle: SessionHandle) -> Counted<S> {
        Counted { inner, handle }
    }
}

impl<S: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Counted<S> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len().saturating_sub(before) as u64;
        if n > 0 {
            self.handle.add_bytes(n, 0);
        }
        r
    }
}

impl<S: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for Counted<S> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let r = std::pin::Pin::new(&mut self.inner).poll_write(cx, buf);
        if let std::task::Poll::Ready(Ok(n)) = &r {
            self.handle.add_bytes(0, *n as u64);
        }
        r
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_listed_until_dropped_and_killed_by_id_user_or_ip() {
        let s = Sessions::default();
        let a = s.open(1, "imap", "imap", "192.0.2.1".parse().unwrap());
        let b = s.open(2, "smtp", "smtp", "192.0.2.2".parse().unwrap());
        a.handle().set_user("bob@example.test");
        a.handle().set_command("SELECT");
        a.handle().set_mailbox(Some("INBOX"));
        assert_eq!(s.snapshot("n").len(), 2);
        assert_eq!(s.snapshot("n")[0].mailbox.as_deref(), Some("INBOX"));
        assert_eq!(s.kill("n", "user:BOB@example.test"), 1);
        assert!(a.handle().killed().is_cancelled());
        assert!(!b.handle().killed().is_cancelled());
        assert_eq!(s.kill("n", "ip:192.0.2.2"), 1);
        assert_eq!(s.kill("n", "n:2"), 1);
        assert_eq!(s.kill("other", "n:1"), 0);
        drop(a);
        assert_eq!(s.snapshot("n").len(), 1);
        assert_eq!(s.counts(), vec![("smtp", 1)]);
    }
}
