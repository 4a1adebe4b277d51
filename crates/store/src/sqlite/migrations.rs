//! Versioned schema migrations. Each migration runs once, in order, inside a transaction
//! that also records its version; running on an up-to-date database does nothing.

use rusqlite::Connection;

use crate::error::{Result, StoreError};

/// The migrations, in order. Never edit one that has shipped: add a new one.
pub(crate) const MIGRATIONS: &[(u32, &str)] = &[
    (1, V1),
    (2, V2),
    (3, V3),
    (4, V4),
    (5, V5),
    (6, V6),
    (7, V7),
];

const V1: &str = r#"
-- Global counters, e.g. the last UIDVALIDITY handed out (kept increasing across
-- deletes so a recreated mailbox never reuses one).
CREATE TABLE counters (
    name        TEXT PRIMARY KEY,
    value       INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE domains (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE COLLATE NOCASE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE accounts (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    domain_id           INTEGER NOT NULL REFERENCES domains(id),
    local_part          TEXT NOT NULL COLLATE NOCASE,
    password_hash       TEXT NOT NULL,
    display_name        TEXT,
    quota_bytes         INTEGER NOT NULL DEFAULT 0,
    used_bytes          INTEGER NOT NULL DEFAULT 0,
    pop_enabled         INTEGER NOT NULL DEFAULT 1,
    pop_lan_only        INTEGER NOT NULL DEFAULT 0,
    imap_enabled        INTEGER NOT NULL DEFAULT 1,
    imap_lan_only       INTEGER NOT NULL DEFAULT 0,
    multipop_enabled    INTEGER NOT NULL DEFAULT 1,
    connector_enabled   INTEGER NOT NULL DEFAULT 0,
    smarthost_username  TEXT,
    smarthost_password  TEXT,
    disabled            INTEGER NOT NULL DEFAULT 0,
    created_at          INTEGER NOT NULL,
    UNIQUE (domain_id, local_part)
);

-- local_part '*' is the domain's catch-all.
CREATE TABLE aliases (
    id          INTEGER PRIMARY KEY,
    domain_id   INTEGER NOT NULL REFERENCES domains(id),
    local_part  TEXT NOT NULL COLLATE NOCASE,
    target      TEXT NOT NULL COLLATE NOCASE,
    UNIQUE (domain_id, local_part, target)
);

CREATE TABLE mailboxes (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id      INTEGER NOT NULL REFERENCES accounts(id),
    name            TEXT NOT NULL,
    uidvalidity     INTEGER NOT NULL,
    uidnext         INTEGER NOT NULL DEFAULT 1,
    highestmodseq   INTEGER NOT NULL DEFAULT 1,
    special_use     TEXT,
    first_recent_uid INTEGER NOT NULL DEFAULT 1,
    UNIQUE (account_id, name)
);

-- IMAP subscriptions are by name: a subscribed name may not exist (RFC 9051 §6.3.7).
CREATE TABLE subscriptions (
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    name        TEXT NOT NULL,
    PRIMARY KEY (account_id, name)
) WITHOUT ROWID;

-- Content-addressed blobs: small ones inline in `blob_data`, the others in the file
-- blobs/<hash[0..2]>/<hash>. refcount counts the messages and queue messages that use
-- the blob; zero_since says since when it is unused. The content lives in its own
-- table so reference-count updates never rewrite it.
CREATE TABLE blobs (
    hash        TEXT PRIMARY KEY,
    size        INTEGER NOT NULL,
    refcount    INTEGER NOT NULL,
    zero_since  INTEGER
) WITHOUT ROWID;
CREATE TABLE blob_data (
    hash        TEXT PRIMARY KEY,
    data        BLOB NOT NULL
);
CREATE INDEX blobs_unused ON blobs (zero_since) WHERE refcount = 0;

-- Ids are never reused (AUTOINCREMENT): sessions and caches may still hold the id of
-- something deleted. A stored message, shared by every mailbox entry that shows it. `structure` is the
-- parsed envelope and MIME structure, computed once at delivery.
CREATE TABLE messages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    blob_hash   TEXT NOT NULL REFERENCES blobs(hash),
    size        INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    structure   BLOB NOT NULL,
    refcount    INTEGER NOT NULL
);

-- A message as seen in one mailbox.
CREATE TABLE mailbox_entries (
    mailbox_id      INTEGER NOT NULL REFERENCES mailboxes(id),
    uid             INTEGER NOT NULL,
    message_id      INTEGER NOT NULL REFERENCES messages(id),
    flags           INTEGER NOT NULL DEFAULT 0,
    keywords        TEXT NOT NULL DEFAULT '',
    modseq          INTEGER NOT NULL,
    internal_date   INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
CREATE INDEX entries_modseq ON mailbox_entries (mailbox_id, modseq);
CREATE INDEX entries_message ON mailbox_entries (message_id);

-- Expunged UIDs with the modseq of their expunge, for QRESYNC's VANISHED.
CREATE TABLE expunged (
    mailbox_id  INTEGER NOT NULL REFERENCES mailboxes(id),
    uid         INTEGER NOT NULL,
    modseq      INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;

-- Changes made by processes other than the server (CLI, sendmail), which the server
-- polls and announces; the server's own changes are announced directly.
CREATE TABLE change_log (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER,
    mailbox_id  INTEGER,
    kind        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

-- The outbound queue: one row per message, one per recipient.
CREATE TABLE queue_messages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    blob_hash   TEXT NOT NULL REFERENCES blobs(hash),
    size        INTEGER NOT NULL,
    sender      TEXT NOT NULL,
    envid       TEXT,
    ret         TEXT,
    account_id  INTEGER,
    source      TEXT NOT NULL DEFAULT '',
    -- A route chosen by the producer (collection forwarding), overriding the rules.
    route       TEXT,
    held        INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);

CREATE TABLE queue_recipients (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    queue_id        INTEGER NOT NULL REFERENCES queue_messages(id),
    recipient       TEXT NOT NULL,
    domain          TEXT NOT NULL COLLATE NOCASE,
    orcpt           TEXT,
    notify          TEXT,
    status          TEXT NOT NULL DEFAULT 'queued',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt    INTEGER NOT NULL,
    last_attempt    INTEGER,
    last_error      TEXT,
    lease_until     INTEGER,
    delay_warned    INTEGER NOT NULL DEFAULT 0,
    finished_at     INTEGER
);
CREATE INDEX queue_due ON queue_recipients (next_attempt) WHERE status = 'queued';
CREATE INDEX queue_by_message ON queue_recipients (queue_id);

-- Collection (MultiPOP): remote accounts and what has been collected from them.
CREATE TABLE collection_accounts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    name        TEXT NOT NULL UNIQUE,
    -- The remote mailbox's address and login, kept as columns because the queue looks
    -- them up ("log on using sender's Internet Mail Account settings").
    remote_address  TEXT,
    remote_username TEXT,
    remote_secret   TEXT,
    -- Other secrets (proxy password, OAuth2 client secret and refresh token), JSON.
    secrets     TEXT,
    -- Everything else (protocol, server, TLS, proxy, schedule, destination), JSON.
    settings    TEXT NOT NULL,
    enabled     INTEGER NOT NULL DEFAULT 1,
    -- A run holds the account until then (one run at a time, across processes).
    lease_until INTEGER,
    last_run_at INTEGER,
    last_result TEXT,
    last_success_at INTEGER,
    created_at  INTEGER NOT NULL
);
CREATE INDEX collection_by_account ON collection_accounts (account_id);

-- What has been collected from each remote account, recorded in the transaction that
-- stored the message: POP3 `uidl:<id>`, IMAP `imap:<folder>:<uidvalidity>:<uid>`.
CREATE TABLE collection_seen (
    collection_id   INTEGER NOT NULL REFERENCES collection_accounts(id),
    remote_key      TEXT NOT NULL,
    collected_at    INTEGER NOT NULL,
    PRIMARY KEY (collection_id, remote_key)
) WITHOUT ROWID;
"#;

/// When POP3 first retrieved a message (RETR), for the EXPIRE policy (RFC 2449 §6.7).
/// Rows whose entry is gone are swept by the expiry pass.
const V2: &str = r#"
CREATE TABLE pop3_retrieved (
    mailbox_id      INTEGER NOT NULL,
    uid             INTEGER NOT NULL,
    retrieved_at    INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
CREATE INDEX pop3_retrieved_at ON pop3_retrieved (retrieved_at);
"#;

/// Leases name their holder (the node, or a tool process), so a server starting again
/// gives back only its own, as every node of a PostgreSQL cluster does; settings kept
/// in the store.
const V3: &str = r#"
ALTER TABLE queue_recipients ADD COLUMN lease_owner TEXT;
ALTER TABLE collection_accounts ADD COLUMN lease_owner TEXT;

CREATE TABLE settings (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
) WITHOUT ROWID;
"#;

/// Monitoring: the event log, message traces, statistics, live sessions (published by
/// each node) and requests to end them, alerts, webhooks and their outbox. Times are
/// milliseconds since the epoch (`_ms`) where order within a second matters.
const V4: &str = r#"
ALTER TABLE queue_messages ADD COLUMN trace TEXT;

CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    eid         TEXT NOT NULL,
    at_ms       INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    severity    TEXT NOT NULL,
    node        TEXT NOT NULL,
    account     TEXT,
    domain      TEXT,
    trace       TEXT,
    queue_id    INTEGER,
    session     TEXT,
    ip          TEXT,
    text        TEXT NOT NULL
);
CREATE INDEX events_at ON events (at_ms);
CREATE INDEX events_account ON events (account, at_ms) WHERE account IS NOT NULL;
CREATE INDEX events_ip ON events (ip, at_ms) WHERE ip IS NOT NULL;

CREATE TABLE trace_steps (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    trace       TEXT NOT NULL,
    at_ms       INTEGER NOT NULL,
    step        TEXT NOT NULL,
    node        TEXT NOT NULL,
    detail      TEXT NOT NULL
);
CREATE INDEX trace_steps_trace ON trace_steps (trace, id);
CREATE INDEX trace_steps_at ON trace_steps (at_ms);
-- What a trace can be found by: its Message-ID, addresses, queue id.
CREATE TABLE trace_keys (
    key         TEXT NOT NULL COLLATE NOCASE,
    trace       TEXT NOT NULL,
    at_ms       INTEGER NOT NULL,
    PRIMARY KEY (key, trace)
) WITHOUT ROWID;
CREATE INDEX trace_keys_at ON trace_keys (at_ms);

-- Counters per minute ('m'), hour ('h') and day ('d'); domain '' is the total.
CREATE TABLE stats (
    granularity TEXT NOT NULL,
    bucket      INTEGER NOT NULL,
    name        TEXT NOT NULL,
    domain      TEXT NOT NULL,
    value       INTEGER NOT NULL,
    PRIMARY KEY (granularity, bucket, name, domain)
) WITHOUT ROWID;

CREATE TABLE live_sessions (
    node        TEXT NOT NULL,
    id          INTEGER NOT NULL,
    protocol    TEXT NOT NULL,
    listener    TEXT NOT NULL,
    ip          TEXT NOT NULL,
    username    TEXT,
    tls         TEXT,
    started_ms  INTEGER NOT NULL,
    last_command TEXT NOT NULL,
    bytes_in    INTEGER NOT NULL,
    bytes_out   INTEGER NOT NULL,
    mailbox     TEXT,
    updated_ms  INTEGER NOT NULL,
    PRIMARY KEY (node, id)
) WITHOUT ROWID;
CREATE TABLE session_kills (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    target      TEXT NOT NULL,
    created_ms  INTEGER NOT NULL
);

CREATE TABLE alerts (
    name        TEXT PRIMARY KEY,
    active      INTEGER NOT NULL,
    detail      TEXT NOT NULL,
    raised_ms   INTEGER,
    cleared_ms  INTEGER,
    notified_ms INTEGER,
    acked       INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE webhooks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER,
    url         TEXT NOT NULL,
    secret      TEXT NOT NULL,
    events      TEXT NOT NULL,
    enabled     INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL
);
CREATE TABLE webhook_outbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id  INTEGER NOT NULL,
    event       TEXT NOT NULL,
    payload     TEXT NOT NULL,
    created_ms  INTEGER NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending',
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_ms     INTEGER NOT NULL,
    last_error  TEXT,
    done_ms     INTEGER,
    lease_until INTEGER,
    lease_owner TEXT
);
CREATE INDEX webhook_outbox_pending ON webhook_outbox (webhook_id, id) WHERE status = 'pending';
"#;

/// Sieve: each account's scripts (at most one active, RFC 5804 §1.2; the account's
/// `sieve_generation` says which, so delivery looks up nothing for an account
/// without one) and what its
/// scripts must remember between deliveries — whom vacation answered (RFC 5230 §4.2)
/// and the ids `duplicate` saw (RFC 7352) — each with its expiry.
const V5: &str = r#"
ALTER TABLE accounts ADD COLUMN sieve_generation INTEGER NOT NULL DEFAULT 0;

CREATE TABLE sieve_scripts (
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    name        TEXT NOT NULL,
    content     TEXT NOT NULL,
    active      INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (account_id, name)
) WITHOUT ROWID;
CREATE UNIQUE INDEX sieve_scripts_one_active ON sieve_scripts (account_id) WHERE active = 1;

CREATE TABLE sieve_memory (
    account_id  INTEGER NOT NULL,
    key         TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (account_id, key)
) WITHOUT ROWID;
CREATE INDEX sieve_memory_expiry ON sieve_memory (expires_at);
"#;

/// Brings the database to the newest schema version.
pub(crate) fn run(conn: &mut Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY,
            applied_at INTEGER NOT NULL
        )",
    )?;
    for (version, sql) in MIGRATIONS {
        let txn = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let done: bool = txn.query_row(
            "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?1)",
            [version],
            |r| r.get(0),
        )?;
        if done {
            continue;
        }
        txn.execute_batch(sql)
            .map_err(|e| StoreError::Corrupt(format!("migration {version} failed: {e}")))?;
        txn.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            rusqlite::params![version, super::now()],
        )?;
        txn.commit()?;
        tracing::info!(version, "store: applied migration");
    }
    let newest: u32 = conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?;
    let known = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
    if newest > known {
        return Err(StoreError::Corrupt(format!(
            "database schema version {newest} is newer than this Pillarbox knows ({known}); upgrade Pillarbox"
        )));
    }
    Ok(())
}

/// Content scanning: messages held in quarantine (each holds a reference to its blob)
/// and the greylist's memory (`t:` triplets and `w:` networks).
const V6: &str = r#"
CREATE TABLE quarantine (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    blob_hash   TEXT NOT NULL REFERENCES blobs(hash),
    size        INTEGER NOT NULL,
    sender      TEXT NOT NULL,
    recipients  TEXT NOT NULL,
    account_id  INTEGER,
    reason      TEXT NOT NULL,
    verdict     TEXT NOT NULL,
    source      TEXT NOT NULL
);
CREATE INDEX quarantine_expiry ON quarantine (expires_at);

CREATE TABLE greylist (
    key         TEXT PRIMARY KEY,
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    passes      INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX greylist_seen ON greylist (last_seen);
"#;

/// IMAP SAVEDATE and METADATA. `saved_at` is when the entry was saved into its mailbox
/// (RFC 8514), NULL for entries saved before this migration (not known). `metadata`
/// holds annotations (RFC 5464) of a mailbox (`mailbox_id`) or of the server
/// (`mailbox_id` NULL), by lowercased entry name (`/private/...` or `/shared/...`);
/// `account_id` NULL is a server entry every account reads (set by the administrator).
const V7: &str = r#"
ALTER TABLE mailbox_entries ADD COLUMN saved_at INTEGER;

CREATE TABLE metadata (
    account_id  INTEGER REFERENCES accounts(id),
    mailbox_id  INTEGER REFERENCES mailboxes(id),
    name        TEXT NOT NULL,
    value       BLOB NOT NULL
);
CREATE UNIQUE INDEX metadata_key ON metadata (COALESCE(account_id, 0), COALESCE(mailbox_id, 0), name);
CREATE INDEX metadata_mailbox ON metadata (mailbox_id);
"#;
