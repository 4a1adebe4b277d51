//! Password hashes: new ones are argon2id (PHC string); imported ones as Dovecot writes
//! them (`{SHA512-CRYPT}`, `{SHA256-CRYPT}`, `{BLF-CRYPT}`, `{ARGON2ID}`, and the bare
//! `$6$`/`$5$`/`$2y$` crypt forms) are verified and flagged for rehashing. Comparisons are
//! constant-time (done by the hash crates). CPU-heavy: call from a blocking thread.

use std::cell::RefCell;

use argon2::password_hash::phc::{Output, PasswordHash};
use argon2::{Algorithm, Argon2, Block, Params, PasswordHasher, PasswordVerifier, Version};
use sha_crypt::ShaCrypt;

/// The scheme a stored hash uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Argon2,
    Sha512Crypt,
    Sha256Crypt,
    Bcrypt,
}

/// Hashes `password` with argon2id and returns the PHC string.
pub fn hash(password: &str) -> String {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        // Hashing with default parameters and a fresh salt cannot fail; keep a value that
        // can never verify if the impossible happens.
        .unwrap_or_else(|_| "!".to_string())
}

/// Splits an optional `{SCHEME}` prefix off a stored hash and identifies the scheme.
pub fn scheme_of(stored: &str) -> Option<(Scheme, &str)> {
    let (prefix, rest) = match stored.strip_prefix('{').and_then(|s| s.split_once('}')) {
        Some((p, r)) => (Some(p.to_ascii_uppercase()), r),
        None => (None, stored),
    };
    let by_shape = if rest.starts_with("$argon2") {
        Some(Scheme::Argon2)
    } else if rest.starts_with("$6$") {
        Some(Scheme::Sha512Crypt)
    } else if rest.starts_with("$5$") {
        Some(Scheme::Sha256Crypt)
    } else if rest.starts_with("$2") {
        Some(Scheme::Bcrypt)
    } else {
        None
    };
    let scheme = match prefix.as_deref() {
        None | Some("CRYPT") => by_shape?,
        Some("ARGON2ID") | Some("ARGON2I") | Some("ARGON2") => Scheme::Argon2,
        Some("SHA512-CRYPT") => Scheme::Sha512Crypt,
        Some("SHA256-CRYPT") => Scheme::Sha256Crypt,
        Some("BLF-CRYPT") => Scheme::Bcrypt,
        Some(_) => return None,
    };
    (Some(scheme) == by_shape).then_some((scheme, rest))
}

/// True when `password` matches `stored`. Unknown or malformed hashes never match.
pub fn verify(password: &str, stored: &str) -> bool {
    let Some((scheme, hash)) = scheme_of(stored) else {
        return false;
    };
    let pw = password.as_bytes();
    match scheme {
        Scheme::Argon2 => verify_argon2(pw, hash),
        Scheme::Sha512Crypt | Scheme::Sha256Crypt => {
            ShaCrypt::default().verify_password(pw, hash).is_ok()
        }
        Scheme::Bcrypt => bcrypt::verify(pw, hash).unwrap_or(false),
    }
}

/// Verifies an argon2 PHC string, computing in this thread's reusable memory (see
/// [`with_blocks`]). The comparison of the outputs is constant-time (`Output`'s `==`).
fn verify_argon2(password: &[u8], hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let blocks = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let mut out = vec![0u8; expected.len()];
    let computed = with_blocks(blocks, |memory| {
        argon2
            .hash_password_into_with_memory(password, salt.as_ref(), &mut out, memory)
            .is_ok()
    });
    computed && Output::new(&out).is_ok_and(|o| o == *expected)
}

/// Runs `f` over `count` argon2 memory blocks. Up to the default cost (19 MiB) they are
/// this thread's own, kept between calls: a login allocates nothing large, so the
/// allocator never has 19 MiB buffers to scatter over its arenas (measured: 384 KiB of
/// RSS per idle IMAP session with a fresh buffer per login, 44 KiB with reuse), and no
/// page faults are paid per login. Larger imported costs get a buffer of their own.
/// Argon2 writes every block before reading it, so stale contents do not matter.
fn with_blocks<T>(count: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
    thread_local! {
        static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
    }
    if count > Params::default().block_count() {
        return f(&mut vec![Block::default(); count]);
    }
    BLOCKS.with(|cell| match cell.try_borrow_mut() {
        Ok(mut blocks) => {
            if blocks.len() < count {
                blocks.resize(count, Block::default());
            }
            f(&mut blocks[..count])
        }
        Err(_) => f(&mut vec![Block::default(); count]),
    })
}

/// True when a stored hash should be replaced by a fresh argon2id hash after a
/// successful login (imported schemes).
pub fn needs_rehash(stored: &str) -> bool {
    !matches!(scheme_of(stored), Some((Scheme::Argon2, h)) if h.starts_with("$argon2id$") && !stored.starts_with('{'))
}

/// A hash of a random password, verified against when the user does not exist so an
/// unknown user costs the same time as a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash(&format!("{:032x}", rand::random::<u128>())))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Generated with `doveadm pw -s SCHEME -p 'correct horse'`.
    const DOVECOT: &[(&str, Scheme)] = &[
        (
            "{SHA512-CRYPT}$6$geayLIt13qNvQphO$QrrOXP.5nhTdg/4EfZdlaJ8uHIaywulOob18XDWeQwoDusUgX1vZplDq9ZFuLNMNImf4oBGwRb5kaDOmhAImx1",
            Scheme::Sha512Crypt,
        ),
        (
            "{SHA256-CRYPT}$5$onK0ffauYrkur/jK$E3TXg4UW1SpthzD8uHNHxWmLLrgRdYO2pSI23Qe9SVA",
            Scheme::Sha256Crypt,
        ),
        (
            "{BLF-CRYPT}$2y$05$/.c9dvYv4HXJmn6jcui6s.0EtYC.ahOgKZazFCrG6F67a1DI3cYja",
            Scheme::Bcrypt,
        ),
        (
            "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$jochtMEuzKgz7EYfXPDpXg$2yq/rbfKpQ5iOuIpUfuRRb2nx2V3tPoETTQUkjWEmak",
            Scheme::Argon2,
        ),
    ];

    #[test]
    fn argon2id_round_trip() {
        let h = hash("s3cret");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("s3cret", &h));
        assert!(!verify("s3cret!", &h));
        assert!(!verify("", &h));
        assert!(!needs_rehash(&h));
    }

    #[test]
    fn reused_argon2_memory_gives_the_same_answers_across_costs_and_variants() {
        // Small costs, then the default, then small again on the same thread's buffer,
        // against hashes made by the argon2 crate's own allocating path.
        let make = |alg: Algorithm, m: u32, t: u32| {
            let params = Params::new(m, t, 1, None).unwrap();
            Argon2::new(alg, Version::V0x13, params)
                .hash_password(b"pw")
                .unwrap()
                .to_string()
        };
        let hashes = [
            make(Algorithm::Argon2id, 64, 1),
            make(Algorithm::Argon2i, 256, 2),
            make(Algorithm::Argon2d, 128, 3),
            hash("pw"),
            make(Algorithm::Argon2id, 64, 1),
        ];
        for _ in 0..2 {
            for h in &hashes {
                assert!(verify("pw", h), "{h}");
                assert!(!verify("pW", h), "{h}");
            }
        }
        // A damaged output or salt never verifies.
        let h = &hashes[0];
        let at = h.rfind('$').unwrap() + 5;
        let flipped = if &h[at..=at] == "A" { "B" } else { "A" };
        let damaged = format!("{}{flipped}{}", &h[..at], &h[at + 1..]);
        assert!(!verify("pw", &damaged), "{damaged}");
        assert!(!verify("pw", &h.replace("$argon2id$", "$argon2x$")));
    }

    #[test]
    fn imported_dovecot_hashes_verify_right_and_wrong() {
        for (stored, scheme) in DOVECOT {
            assert_eq!(scheme_of(stored).map(|s| s.0), Some(*scheme), "{stored}");
            assert!(verify("correct horse", stored), "right password, {stored}");
            assert!(
                !verify("correct horse battery", stored),
                "wrong password, {stored}"
            );
            assert!(!verify("", stored), "empty password, {stored}");
            assert!(needs_rehash(stored), "{stored}");
            // Without the {SCHEME} prefix the crypt form is recognised by its shape.
            let bare = stored.split_once('}').unwrap().1;
            assert!(verify("correct horse", bare), "{bare}");
        }
    }

    #[test]
    fn mismatched_or_unknown_schemes_never_verify() {
        let sha512 = DOVECOT[0].0.split_once('}').unwrap().1;
        assert!(!verify(
            "correct horse",
            &format!("{{SHA256-CRYPT}}{sha512}")
        ));
        assert!(!verify("correct horse", "{PLAIN}correct horse"));
        assert!(!verify("correct horse", "correct horse"));
        assert!(!verify("x", ""));
        assert!(!verify("x", "{SHA512-CRYPT}$6$broken"));
    }
}
