//! Repository hygiene that the architecture relies on: every source file opens with a
//! `//!` comment saying what it owns, no hand-written file grows past 1,500 lines, and
//! the crate graph keeps its shape (protocol crates never depend on each other; only
//! `store` links SQLite; only the binary reads configuration files).

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

fn sources() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for krate in std::fs::read_dir(workspace().join("crates"))
        .unwrap()
        .flatten()
    {
        let src = krate.path().join("src");
        if src.is_dir() {
            rust_files(&src, &mut files);
        }
    }
    files.sort();
    files
}

#[test]
fn every_source_file_says_what_it_owns() {
    let missing: Vec<String> = sources()
        .into_iter()
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            !text.trim_start().starts_with("//!")
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "files without a `//!` header: {missing:#?}"
    );
}

#[test]
fn no_source_file_over_1500_lines() {
    let big: Vec<String> = sources()
        .into_iter()
        .filter_map(|p| {
            let n = std::fs::read_to_string(&p).unwrap().lines().count();
            (n > 1500).then(|| format!("{} ({n} lines)", p.display()))
        })
        .collect();
    assert!(big.is_empty(), "split these files: {big:#?}");
}

/// The `pillarbox-*` dependencies (and selected external ones) of a crate.
fn deps(krate: &str) -> Vec<String> {
    let text =
        std::fs::read_to_string(workspace().join("crates").join(krate).join("Cargo.toml")).unwrap();
    let mut in_deps = false;
    let mut out = Vec::new();
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with('[') {
            in_deps = l == "[dependencies]";
            continue;
        }
        if in_deps
            && let Some(name) = l.split(['.', ' ', '=']).next()
            && !name.is_empty()
        {
            out.push(name.to_string());
        }
    }
    out
}

#[test]
fn protocol_crates_do_not_depend_on_each_other() {
    let protocols = ["pillarbox-smtp", "pillarbox-imap", "pillarbox-pop3"];
    for p in ["smtp", "imap", "pop3"] {
        let d = deps(p);
        for other in protocols {
            assert!(!d.contains(&other.to_string()), "{p} depends on {other}");
        }
    }
}

#[test]
fn only_store_links_sqlite_and_only_the_binary_parses_config_files() {
    for krate in std::fs::read_dir(workspace().join("crates"))
        .unwrap()
        .flatten()
    {
        let name = krate.file_name().to_string_lossy().to_string();
        let d = deps(&name);
        if name != "store" {
            assert!(
                !d.contains(&"rusqlite".to_string()),
                "{name} links rusqlite"
            );
        }
        if name != "config" && name != "pillarbox" {
            assert!(
                !d.contains(&"toml".to_string()),
                "{name} parses TOML itself"
            );
        }
    }
}

#[test]
fn nothing_below_the_binary_depends_on_it_and_store_stays_at_the_bottom() {
    let store = deps("store");
    for upper in [
        "pillarbox-directory",
        "pillarbox-delivery",
        "pillarbox-smtp",
        "pillarbox-imap",
        "pillarbox-pop3",
        "pillarbox-queue",
    ] {
        assert!(
            !store.contains(&upper.to_string()),
            "store depends on {upper}"
        );
    }
    for krate in std::fs::read_dir(workspace().join("crates"))
        .unwrap()
        .flatten()
    {
        let name = krate.file_name().to_string_lossy().to_string();
        assert!(
            !deps(&name).contains(&"pillarbox".to_string()),
            "{name} depends on the binary"
        );
    }
}

#[test]
fn sieve_is_pure_and_sits_on_mime_only() {
    let d = deps("sieve");
    for dep in &d {
        assert!(
            !dep.starts_with("pillarbox-") || dep == "pillarbox-mime",
            "sieve depends on {dep}: the engine is pure and uses only mime below it"
        );
    }
    for io in [
        "tokio",
        "pillarbox-store",
        "pillarbox-net",
        "pillarbox-config",
    ] {
        assert!(!d.contains(&io.to_string()), "sieve depends on {io}");
    }
}
