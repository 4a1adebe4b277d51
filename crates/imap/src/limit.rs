//! MESSAGELIMIT (RFC 9738): the most messages one FETCH, STORE, COPY, MOVE (or their
//! UID forms), UID EXPUNGE or APPEND processes, advertised as `MESSAGELIMIT=N`.
//!
//! A command naming messages by UID over more than N messages processes the N with the
//! lowest UIDs and ends `OK [LIMIT]`, so the client goes on from the last UID it was
//! answered about; one naming them by sequence number (which the client cannot page
//! as safely) is refused whole with `NO [LIMIT]`, and so is an APPEND of more than N
//! messages. SEARCH, SORT and THREAD are not limited: they decide flags and numbers in
//! memory and load message text in bounded batches (announcing a limit does not oblige
//! the server to enforce it).
//!
//! Pure; the limit itself comes from the service.

/// The default limit. Large enough that a client that does not know MESSAGELIMIT (and
/// would take a partial answer to `UID FETCH 1:* (FLAGS)` for the whole mailbox) meets
/// it only in mailboxes far beyond the usual; clients that know it page below it.
pub(crate) const DEFAULT_MESSAGE_LIMIT: u32 = 100_000;

/// What a command may do with its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limited {
    /// Within the limit: all of them.
    No,
    /// Over the limit by UID: only the first `limit` were kept (`OK [LIMIT]`).
    Truncated,
}

/// Over the limit by sequence number: refuse (`NO [LIMIT]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refused;

/// Applies the limit to `items`, which are in ascending UID order.
pub(crate) fn apply<T>(items: &mut Vec<T>, limit: u32, uid: bool) -> Result<Limited, Refused> {
    let limit = usize::try_from(limit.max(1)).unwrap_or(usize::MAX);
    if items.len() <= limit {
        return Ok(Limited::No);
    }
    if !uid {
        return Err(Refused);
    }
    items.truncate(limit);
    Ok(Limited::Truncated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_uid_truncates_by_number_refuses() {
        let mut v = vec![1, 2, 3];
        assert_eq!(apply(&mut v, 3, false), Ok(Limited::No));
        assert_eq!(apply(&mut v, 2, true), Ok(Limited::Truncated));
        assert_eq!(v, [1, 2]);
        let mut v = vec![1, 2, 3];
        assert_eq!(apply(&mut v, 2, false), Err(Refused));
        assert_eq!(v.len(), 3);
    }
}
