//! Secrets at rest. The credentials Pillarbox has to replay to other servers (an
//! account's smart-host password, a collection account's password, proxy password,
//! OAuth2 refresh token and client secret) are sealed with ChaCha20-Poly1305 before they
//! reach the database, under a 256-bit key kept outside it: `secrets.key` in the data
//! directory (mode 0600) unless `[store] secrets_key_file` puts it elsewhere. A copy of
//! the database or a dump of it reveals none of them; the key file is what to guard
//! (and to back up: without it the sealed secrets must be entered again).
//!
//! A sealed value is `sealed:1:` followed by the hex of a random 96-bit nonce and the
//! ciphertext with its tag; the column it belongs to is the associated data, so a value
//! copied into another column does not open. Values without the prefix are plaintext
//! from before sealing: they are read as they are and sealed when the store opens.

use std::io::Write;
use std::path::{Path, PathBuf};

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

use crate::error::{Result, StoreError};

const PREFIX: &str = "sealed:1:";
const KEY_LEN: usize = 32;

/// The columns that hold secrets; each is the associated data of its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Column {
    SmarthostPassword,
    RemoteSecret,
    CollectionSecrets,
    /// A secret setting (the generated certificate's private key). Not in [`Column::ALL`]:
    /// settings were sealed from the start, so there is no plaintext to seal at open.
    Setting,
    /// A webhook's signing key (likewise sealed from the start).
    WebhookSecret,
}

impl Column {
    pub(crate) const ALL: [Column; 3] = [
        Column::SmarthostPassword,
        Column::RemoteSecret,
        Column::CollectionSecrets,
    ];

    /// (table, column).
    pub(crate) fn location(self) -> (&'static str, &'static str) {
        match self {
            Column::SmarthostPassword => ("accounts", "smarthost_password"),
            Column::RemoteSecret => ("collection_accounts", "remote_secret"),
            Column::CollectionSecrets => ("collection_accounts", "secrets"),
            Column::Setting => ("settings", "value"),
            Column::WebhookSecret => ("webhooks", "secret"),
        }
    }

    fn aad(self) -> &'static str {
        match self {
            Column::SmarthostPassword => "accounts.smarthost_password",
            Column::RemoteSecret => "collection_accounts.remote_secret",
            Column::CollectionSecrets => "collection_accounts.secrets",
            Column::Setting => "settings.value",
            Column::WebhookSecret => "webhooks.secret",
        }
    }
}

/// Seals and opens secrets with the store's key.
pub(crate) struct Sealer {
    key: LessSafeKey,
    path: PathBuf,
    rng: SystemRandom,
    /// A digest of the key (not the key): lets the nodes of a cluster check that they
    /// all seal with the same one.
    fingerprint: String,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Sealer {
    /// Reads the key at `path`, creating it (random, mode 0600, fsync'd) when absent.
    /// Two processes starting at once agree on one key: it is written to a temporary
    /// file and linked into place only if nothing is there yet.
    pub(crate) fn load_or_create(path: &Path) -> Result<Sealer> {
        let rng = SystemRandom::new();
        if !path.exists() {
            create_key(path, &rng)?;
        }
        let text = std::fs::read_to_string(path).map_err(|e| {
            StoreError::Secret(format!(
                "cannot read the secrets key {}: {e}",
                path.display()
            ))
        })?;
        let bytes = hex::decode(text.trim())
            .ok()
            .filter(|b| b.len() == KEY_LEN)
            .ok_or_else(|| {
                StoreError::Secret(format!(
                    "{} is not a secrets key (expected {} hex digits)",
                    path.display(),
                    KEY_LEN * 2
                ))
            })?;
        let key = UnboundKey::new(&CHACHA20_POLY1305, &bytes)
            .map_err(|_| StoreError::Secret("cannot use the secrets key".into()))?;
        let fingerprint = {
            use sha2::Digest;
            let mut h = sha2::Sha256::new();
            h.update(b"pillarbox secrets key fingerprint\0");
            h.update(&bytes);
            hex::encode(&h.finalize()[..16])
        };
        Ok(Sealer {
            key: LessSafeKey::new(key),
            path: path.to_path_buf(),
            rng,
            fingerprint,
        })
    }

    /// A digest that names the key without revealing it.
    pub(crate) fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Where the key is kept.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// `plain` sealed for `column`.
    pub(crate) fn seal(&self, column: Column, plain: &str) -> Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .map_err(|_| StoreError::Secret("no randomness for a nonce".into()))?;
        let mut data = plain.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(column.aad().as_bytes()),
                &mut data,
            )
            .map_err(|_| StoreError::Secret("cannot seal a secret".into()))?;
        let mut out = String::with_capacity(PREFIX.len() + 2 * (NONCE_LEN + data.len()));
        out.push_str(PREFIX);
        out.push_str(&hex::encode(nonce));
        out.push_str(&hex::encode(&data));
        Ok(out)
    }

    /// The plaintext of a value stored in `column` (unsealed values pass through).
    pub(crate) fn open(&self, column: Column, stored: &str) -> Result<String> {
        let Some(body) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_string());
        };
        let (table, name) = column.location();
        let fail = || {
            StoreError::Secret(format!(
                "a secret in {table}.{name} does not open with the key in {} \
                 (was the key file replaced?); set the secret again",
                self.path.display()
            ))
        };
        let raw = hex::decode(body).map_err(|_| fail())?;
        if raw.len() < NONCE_LEN {
            return Err(fail());
        }
        let (nonce, rest) = raw.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| fail())?;
        let mut data = rest.to_vec();
        let plain = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(column.aad().as_bytes()),
                &mut data,
            )
            .map_err(|_| fail())?;
        String::from_utf8(plain.to_vec()).map_err(|_| fail())
    }

    pub(crate) fn seal_opt(&self, column: Column, plain: Option<&str>) -> Result<Option<String>> {
        plain.map(|p| self.seal(column, p)).transpose()
    }

    pub(crate) fn open_opt(&self, column: Column, stored: Option<&str>) -> Result<Option<String>> {
        stored.map(|s| self.open(column, s)).transpose()
    }
}

fn create_key(path: &Path, rng: &SystemRandom) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let io = |e: std::io::Error| {
        StoreError::Secret(format!(
            "cannot create the secrets key {}: {e}",
            path.display()
        ))
    };
    let mut key = [0u8; KEY_LEN];
    rng.fill(&mut key)
        .map_err(|_| StoreError::Secret("no randomness for the secrets key".into()))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    // A leftover of a crashed process that had the same id.
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io)?;
    let written = f
        .write_all(format!("{}\n", hex::encode(key)).as_bytes())
        .and_then(|()| f.sync_all());
    drop(f);
    let linked = written.and_then(|()| std::fs::hard_link(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {}
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io(e)),
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_opens_and_binds_the_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.key");
        let s = Sealer::load_or_create(&path).unwrap();
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);

        let sealed = s.seal(Column::RemoteSecret, "hunter2").unwrap();
        assert!(sealed.starts_with(PREFIX) && !sealed.contains("hunter2"));
        assert_ne!(sealed, s.seal(Column::RemoteSecret, "hunter2").unwrap());
        assert_eq!(s.open(Column::RemoteSecret, &sealed).unwrap(), "hunter2");
        assert_eq!(s.open(Column::RemoteSecret, "plain").unwrap(), "plain");
        assert!(s.open(Column::SmarthostPassword, &sealed).is_err());
        // Change the last hex digit to a different one (pushing a fixed digit
        // leaves the text unchanged when it already ends in that digit).
        let mut tampered = sealed.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == '0' { '1' } else { '0' });
        assert!(s.open(Column::RemoteSecret, &tampered).is_err());
        assert!(s.open(Column::RemoteSecret, "sealed:1:zz").is_err());
        assert!(s.open(Column::RemoteSecret, "sealed:1:00").is_err());

        // The same file gives the same key; another key does not open it.
        let again = Sealer::load_or_create(&path).unwrap();
        assert_eq!(
            again.open(Column::RemoteSecret, &sealed).unwrap(),
            "hunter2"
        );
        let other = Sealer::load_or_create(&dir.path().join("other.key")).unwrap();
        let err = other.open(Column::RemoteSecret, &sealed).unwrap_err();
        assert!(err.to_string().contains("other.key"), "{err}");

        std::fs::write(dir.path().join("bad.key"), "not hex\n").unwrap();
        let err = Sealer::load_or_create(&dir.path().join("bad.key")).unwrap_err();
        assert!(err.to_string().contains("bad.key"), "{err}");
    }
}
