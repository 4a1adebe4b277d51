//! The conformance suite's harness: every test that states how the store behaves runs
//! against both engines, SQLite in a temp directory and a fresh database on a real
//! PostgreSQL (see `postgres.rs`). `conformance!(name)` turns `async fn name(e: Env)`
//! into the tests `name::sqlite` and `name::postgres`.
#![allow(dead_code)]

pub mod postgres;

use pillarbox_store::{EngineOptions, Role, Store, StoreOptions};

/// Which engine a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// Where one test keeps its store: a temp directory (SQLite's data and every
/// engine's secrets key) and, for PostgreSQL, a database of its own.
pub struct Env {
    pub engine: Engine,
    pub dir: tempfile::TempDir,
    pub url: Option<String>,
}

impl Env {
    pub fn new(engine: Engine) -> Env {
        let url = match engine {
            Engine::Sqlite => None,
            Engine::Postgres => Some(postgres::server().fresh_database()),
        };
        Env {
            engine,
            dir: tempfile::tempdir().unwrap(),
            url,
        }
    }

    /// Options for this test's store (node `node` on PostgreSQL).
    pub fn options(&self, node: &str) -> StoreOptions {
        StoreOptions {
            engine: match &self.url {
                None => EngineOptions::Sqlite,
                Some(url) => EngineOptions::Postgres {
                    url: url.clone(),
                    pool_size: 8,
                    tls_ca_file: None,
                    tls_verify: true,
                },
            },
            node_name: Some(node.to_string()),
            ..StoreOptions::default()
        }
    }

    /// Opens the store as `role`.
    pub fn open(&self, role: Role) -> Store {
        self.open_with(role, self.options("node-a"))
    }

    /// Opens the store as `role` with `options`.
    pub fn open_with(&self, role: Role, options: StoreOptions) -> Store {
        Store::open_with(self.dir.path(), role, options).unwrap()
    }

    /// Opens the store as a server with blobs inline up to `inline_blob_max`.
    pub fn open_inline(&self, inline_blob_max: usize) -> Store {
        self.open_with(
            Role::Server,
            StoreOptions {
                inline_blob_max,
                ..self.options("node-a")
            },
        )
    }
}

/// Runs `async fn $name(Env)` on both engines.
#[macro_export]
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(super::common::Env::new(super::common::Engine::Sqlite)).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name(super::common::Env::new(super::common::Engine::Postgres)).await
                }
            }
        )*
    };
}
