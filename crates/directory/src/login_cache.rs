//! The verified-logins cache: a login whose password was verified a moment ago is not
//! hashed again (argon2id costs tens of milliseconds and ~19 MiB per verification;
//! clients that open several connections at once, or poll, would pay it every time),
//! the way Dovecot's auth cache spares its password checks.
//!
//! What it must never do: hold a password, or answer for a password other than the one
//! verified. Entries are keyed by HMAC-SHA256 under a random key made when the process
//! starts (so the keys are useless outside it and cannot be precomputed) over the login
//! name and the password; the value is the account and the stored password *hash* the
//! password was verified against. A hit counts only while that hash is still the
//! account's current one, so a password changed anywhere (another session, the CLI in
//! another process) turns every older entry into a miss at once. Entries also expire
//! after a short TTL, are purged on a password change made through the directory and
//! on a failed login for the account, and their number is capped.
//!
//! Pure bookkeeping over an explicit `now`: no I/O, no clock of its own.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use pillarbox_store::AccountId;
use sha2::Sha256;

/// Most entries kept; beyond it expired entries go first, then arbitrary ones.
const MAX_ENTRIES: usize = 10_000;

/// The key of one (login name, password) pair.
type Key = [u8; 32];

#[derive(Debug)]
struct Entry {
    account: AccountId,
    /// The stored password hash the password was verified against.
    verified_hash: String,
    expires: Instant,
}

/// Recently verified logins.
pub(crate) struct LoginCache {
    ttl: Duration,
    hmac_key: [u8; 32],
    entries: Mutex<HashMap<Key, Entry>>,
}

impl std::fmt::Debug for LoginCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginCache")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl LoginCache {
    /// A cache whose entries live `ttl` (zero disables it), keyed under a fresh random
    /// key.
    pub fn new(ttl: Duration) -> LoginCache {
        LoginCache {
            ttl,
            hmac_key: rand::random(),
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// HMAC-SHA256(process key, length-prefixed login name ‖ password): the login name
    /// is case-folded and trimmed as the store looks it up.
    fn key(&self, username: &str, password: &str) -> Key {
        let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(&self.hmac_key) {
            Ok(m) => m,
            Err(_) => return [0; 32], // unreachable: HMAC takes keys of any length
        };
        let user = username.trim().to_lowercase();
        mac.update(&(user.len() as u64).to_be_bytes());
        mac.update(user.as_bytes());
        mac.update(password.as_bytes());
        mac.finalize().into_bytes().into()
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        // A panic while holding the lock cannot leave an entry half-written that would
        // matter: at worst a login is verified again.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `password` was verified for `username` within the TTL, against
    /// `current_hash` (the account's password hash now) for `account`.
    pub fn hit(
        &self,
        username: &str,
        password: &str,
        account: AccountId,
        current_hash: &str,
        now: Instant,
    ) -> bool {
        if !self.enabled() {
            return false;
        }
        let key = self.key(username, password);
        let mut entries = self.entries();
        match entries.get(&key) {
            Some(e) if e.expires > now && e.account == account => {
                if e.verified_hash == current_hash {
                    return true;
                }
                entries.remove(&key);
                false
            }
            Some(_) => {
                entries.remove(&key);
                false
            }
            None => false,
        }
    }

    /// Records that `password` was just verified for `username` against `hash`.
    pub fn insert(
        &self,
        username: &str,
        password: &str,
        account: AccountId,
        hash: &str,
        now: Instant,
    ) {
        if !self.enabled() {
            return;
        }
        let key = self.key(username, password);
        let mut entries = self.entries();
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&key) {
            entries.retain(|_, e| e.expires > now);
            if entries.len() >= MAX_ENTRIES
                && let Some(k) = entries.keys().next().copied()
            {
                entries.remove(&k);
            }
        }
        entries.insert(
            key,
            Entry {
                account,
                verified_hash: hash.to_string(),
                expires: now + self.ttl,
            },
        );
    }

    /// Forgets every entry of `account` (its password changed, or a login failed).
    pub fn purge_account(&self, account: AccountId) {
        if self.enabled() {
            self.entries().retain(|_, e| e.account != account);
        }
    }

    /// Number of entries (tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: AccountId = AccountId(1);
    const B: AccountId = AccountId(2);

    #[test]
    fn hits_only_for_the_same_password_hash_and_account_within_the_ttl() {
        let c = LoginCache::new(Duration::from_secs(60));
        let t0 = Instant::now();
        c.insert("Bob@x.test ", "pw", A, "$argon2id$h1", t0);
        let later = t0 + Duration::from_secs(30);
        assert!(c.hit("bob@x.test", "pw", A, "$argon2id$h1", later));
        assert!(!c.hit("bob@x.test", "pw2", A, "$argon2id$h1", later));
        assert!(!c.hit("eve@x.test", "pw", A, "$argon2id$h1", later));
        assert!(!c.hit("bob@x.test", "pw", B, "$argon2id$h1", later));
        // The password hash changed (anywhere): a miss, and the entry is gone.
        assert!(!c.hit("bob@x.test", "pw", A, "$argon2id$h2", later));
        assert!(!c.hit("bob@x.test", "pw", A, "$argon2id$h1", later));
        // Expiry.
        c.insert("bob@x.test", "pw", A, "$argon2id$h1", t0);
        assert!(!c.hit(
            "bob@x.test",
            "pw",
            A,
            "$argon2id$h1",
            t0 + Duration::from_secs(60)
        ));
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn purge_forgets_one_account() {
        let c = LoginCache::new(Duration::from_secs(60));
        let now = Instant::now();
        c.insert("a@x.test", "1", A, "h", now);
        c.insert("a@x.test", "2", A, "h", now);
        c.insert("b@x.test", "1", B, "h", now);
        c.purge_account(A);
        assert!(!c.hit("a@x.test", "1", A, "h", now));
        assert!(c.hit("b@x.test", "1", B, "h", now));
    }

    #[test]
    fn zero_ttl_disables_and_keys_depend_on_the_process_key() {
        let off = LoginCache::new(Duration::ZERO);
        let now = Instant::now();
        off.insert("a@x.test", "pw", A, "h", now);
        assert!(!off.hit("a@x.test", "pw", A, "h", now));
        let c = LoginCache::new(Duration::from_secs(1));
        let k = c.key("a@x.test", "pw");
        // Another process (another random key) derives another key.
        assert_ne!(
            LoginCache::new(Duration::from_secs(1)).key("a@x.test", "pw"),
            k
        );
        // The name/password boundary is unambiguous.
        assert_ne!(c.key("ab", "c"), c.key("a", "bc"));
    }

    #[test]
    fn size_is_capped() {
        let c = LoginCache::new(Duration::from_secs(60));
        let now = Instant::now();
        for i in 0..MAX_ENTRIES + 5 {
            c.insert("a@x.test", &i.to_string(), A, "h", now);
        }
        assert_eq!(c.len(), MAX_ENTRIES);
    }
}
