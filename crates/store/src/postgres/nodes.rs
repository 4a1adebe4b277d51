//! What only a cluster needs, in SQL: node heartbeats, cluster-wide locks with a
//! lease (delivery slots per destination, POP3 maildrops), message pacing per route,
//! and the shared failed-login counts. Times are Unix seconds unless named `_ms`.

use super::Tx;
use crate::error::Result;

/// Records that `node` is alive now (and when it started, the first time).
pub(crate) fn heartbeat(c: &mut Tx<'_>, node: &str, now: i64, starting: bool) -> Result<()> {
    c.execute(
        "INSERT INTO nodes (name, started_at, last_seen) VALUES ($1, $2, $2) \
         ON CONFLICT (name) DO UPDATE SET last_seen = $2, \
         started_at = CASE WHEN $3 THEN $2 ELSE nodes.started_at END",
        &[&node, &now, &starting],
    )?;
    Ok(())
}

/// Every node with when it started and was last seen.
pub(crate) fn list(c: &mut Tx<'_>) -> Result<Vec<(String, i64, i64)>> {
    Ok(c.query(
        "SELECT name, started_at, last_seen FROM nodes ORDER BY name",
        &[],
    )?
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2)))
    .collect())
}

/// Takes one of the `limit` slots of lock `name` for `owner` until `until`: a slot
/// that is free or whose holder let it lapse. None when all are held.
pub(crate) fn lock_slot(
    c: &mut Tx<'_>,
    name: &str,
    limit: i64,
    owner: &str,
    now: i64,
    until: i64,
) -> Result<Option<i64>> {
    for _ in 0..limit {
        let free = c.query_opt(
            "SELECT s FROM generate_series(0, $2::BIGINT - 1) AS s WHERE NOT EXISTS \
             (SELECT 1 FROM cluster_locks l WHERE l.name = $1 AND l.slot = s AND l.until > $3) \
             ORDER BY s LIMIT 1",
            &[&name, &limit, &now],
        )?;
        let Some(free) = free else {
            return Ok(None);
        };
        let slot: i64 = free.get(0);
        let taken = c.query_opt(
            "INSERT INTO cluster_locks (name, slot, owner, until) VALUES ($1, $2, $3, $5) \
             ON CONFLICT (name, slot) DO UPDATE SET owner = EXCLUDED.owner, until = EXCLUDED.until \
             WHERE cluster_locks.until <= $4 RETURNING slot",
            &[&name, &slot, &owner, &now, &until],
        )?;
        if taken.is_some() {
            return Ok(Some(slot));
        }
    }
    Ok(None)
}

/// Gives a slot back.
pub(crate) fn unlock_slot(c: &mut Tx<'_>, name: &str, slot: i64, owner: &str) -> Result<()> {
    c.execute(
        "DELETE FROM cluster_locks WHERE name = $1 AND slot = $2 AND owner = $3",
        &[&name, &slot, &owner],
    )?;
    Ok(())
}

/// Extends every lock `owner` holds to `until`.
pub(crate) fn renew_locks(c: &mut Tx<'_>, owner: &str, until: i64) -> Result<u64> {
    c.execute(
        "UPDATE cluster_locks SET until = $2 WHERE owner = $1",
        &[&owner, &until],
    )
}

/// Drops every lock `owner` held (that node starting again).
pub(crate) fn clear_locks(c: &mut Tx<'_>, owner: &str) -> Result<u64> {
    c.execute("DELETE FROM cluster_locks WHERE owner = $1", &[&owner])
}

/// The start of the next slot of `name` for one message, `interval_ms` after the
/// previous one and never before `now_ms`; the caller waits until then.
pub(crate) fn pace(c: &mut Tx<'_>, name: &str, interval_ms: i64, now_ms: i64) -> Result<i64> {
    Ok(c
        .query_one(
            "INSERT INTO pacing (name, next_ms) VALUES ($1, $3::BIGINT + $2::BIGINT) \
             ON CONFLICT (name) DO UPDATE SET next_ms = GREATEST(pacing.next_ms, $3::BIGINT) + $2::BIGINT \
             RETURNING next_ms - $2::BIGINT",
            &[&name, &interval_ms, &now_ms],
        )?
        .get(0))
}

/// Until when `source` is locked out, if it is.
pub(crate) fn login_locked(c: &mut Tx<'_>, source: &str, now: i64) -> Result<Option<i64>> {
    Ok(c.query_opt(
        "SELECT locked_until FROM login_failures WHERE source = $1 AND locked_until > $2",
        &[&source, &now],
    )?
    .map(|r| r.get(0)))
}

/// Counts a failed login from `source` in the window that started at most `window`
/// seconds ago; at `max` failures the source is locked out for `lockout` seconds.
/// Returns true when this failure locked it out.
pub(crate) fn login_failed(
    c: &mut Tx<'_>,
    source: &str,
    now: i64,
    max: i64,
    window: i64,
    lockout: i64,
) -> Result<bool> {
    let failures: i64 = c
        .query_one(
            "INSERT INTO login_failures (source, failures, window_start) VALUES ($1, 1, $2) \
             ON CONFLICT (source) DO UPDATE SET \
               failures = CASE WHEN login_failures.window_start <= $2 - $3 THEN 1 \
                               ELSE login_failures.failures + 1 END, \
               window_start = CASE WHEN login_failures.window_start <= $2 - $3 THEN $2 \
                                   ELSE login_failures.window_start END \
             RETURNING failures",
            &[&source, &now, &window],
        )?
        .get(0);
    if failures >= max {
        c.execute(
            "UPDATE login_failures SET failures = 0, window_start = $2, locked_until = $3 \
             WHERE source = $1",
            &[&source, &now, &(now + lockout)],
        )?;
        return Ok(true);
    }
    Ok(false)
}

/// Forgets the failures of `source` (a successful login), and old entries.
pub(crate) fn login_succeeded(c: &mut Tx<'_>, source: &str) -> Result<()> {
    c.execute("DELETE FROM login_failures WHERE source = $1", &[&source])?;
    Ok(())
}
