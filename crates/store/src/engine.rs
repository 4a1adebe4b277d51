//! Which engine a store runs on, and the two macros every public method goes through
//! so that it is written once for both: `db_read!` runs a job on the engine's read path
//! and `db_write!` on its write path, with the job's body naming the engine's SQL module
//! tree through an alias (`sqlite` or `postgres`: the same module and function names
//! in both). `db_write!` also announces the changes a job made: after COMMIT on SQLite
//! (the one server publishes them, a tool writes them to the change log), and on
//! PostgreSQL inside the transaction with NOTIFY, so other nodes learn of exactly the
//! commits that happened, then on this node's feed at once.

use crate::postgres;
use crate::sqlite;

/// The engine behind a [`crate::Store`].
pub(crate) enum Engine {
    /// Embedded: one writer thread with group commit, a pool of readers.
    Sqlite {
        writer: sqlite::Writer,
        readers: sqlite::Readers,
    },
    /// Shared by the nodes of a cluster.
    Postgres { db: postgres::Db },
}

/// Runs `$body` as a read job (`db_read!`); `$sql` is the engine's SQL module inside it.
macro_rules! db_read {
    ($store:expr, |$c:ident, $sql:ident| $body:expr) => {
        match &$store.inner.engine {
            $crate::engine::Engine::Sqlite { readers, .. } => {
                readers
                    .read(move |$c| {
                        use $crate::sqlite as $sql;
                        $body
                    })
                    .await
            }
            $crate::engine::Engine::Postgres { db } => {
                db.read(move |$c| {
                    use $crate::postgres as $sql;
                    $body
                })
                .await
            }
        }
    };
}

/// Runs `$body` as a write job and returns once it has committed; the optional
/// `|$r| $changes` says which changes the result `$r` announces.
macro_rules! db_write {
    ($store:expr, |$t:ident, $sql:ident| $body:expr) => {
        db_write!($store, |$t, $sql| $body, |_r| ::std::vec::Vec::new())
    };
    ($store:expr, |$t:ident, $sql:ident| $body:expr, |$r:ident| $changes:expr) => {{
        match &$store.inner.engine {
            $crate::engine::Engine::Sqlite { writer, .. } => {
                let v = writer
                    .write(move |$t| {
                        use $crate::sqlite as $sql;
                        $body
                    })
                    .await?;
                let changes: ::std::vec::Vec<$crate::Change> = {
                    let $r = &v;
                    $changes
                };
                $store.announce(changes).await?;
                ::std::result::Result::<_, $crate::StoreError>::Ok(v)
            }
            $crate::engine::Engine::Postgres { db } => {
                let incarnation = $store.inner.incarnation;
                let (v, changes) = db
                    .write(move |$t| {
                        use $crate::postgres as $sql;
                        let v = $body?;
                        let changes: ::std::vec::Vec<$crate::Change> = {
                            let $r = &v;
                            $changes
                        };
                        if !changes.is_empty() {
                            $crate::postgres::listen::notify($t, incarnation, &changes)?;
                        }
                        Ok((v, changes))
                    })
                    .await?;
                $store.publish(changes);
                ::std::result::Result::<_, $crate::StoreError>::Ok(v)
            }
        }
    }};
}
