//! The reply catalogue: every status response the server sends, with its response code
//! (RFC 9051 §7.1, RFC 5530) and human text, in one place. Handlers pick an entry; they
//! never write response text themselves. [`for_store_error`] sorts every store failure
//! into a client-visible answer.
//!
//! No I/O; no decisions beyond which code goes with which text.

use std::borrow::Cow;

use pillarbox_directory::AuthError;
use pillarbox_store::StoreError;

use crate::proto::{Code, Status, StatusResponse, Tag};

type Text = Cow<'static, str>;

fn tagged(tag: &Tag, status: Status, code: Option<Code>, text: impl Into<Text>) -> StatusResponse {
    StatusResponse {
        tag: Some(tag.clone()),
        status,
        code,
        text: text.into(),
    }
}

/// `tag OK text`.
pub(crate) fn ok(tag: &Tag, text: impl Into<Text>) -> StatusResponse {
    tagged(tag, Status::Ok, None, text)
}

/// `tag OK [code] text`.
pub(crate) fn ok_code(tag: &Tag, code: Code, text: impl Into<Text>) -> StatusResponse {
    tagged(tag, Status::Ok, Some(code), text)
}

/// `tag NO [code] text`.
pub(crate) fn no(tag: &Tag, code: Code, text: impl Into<Text>) -> StatusResponse {
    tagged(tag, Status::No, Some(code), text)
}

/// `tag BAD text` (or `* BAD` without a tag).
pub(crate) fn bad(tag: Option<&Tag>, text: impl Into<Text>) -> StatusResponse {
    StatusResponse::new(tag.cloned(), Status::Bad, text)
}

/// `tag BAD [code] text`.
pub(crate) fn bad_code(tag: Option<&Tag>, code: Code, text: impl Into<Text>) -> StatusResponse {
    StatusResponse {
        tag: tag.cloned(),
        status: Status::Bad,
        code: Some(code),
        text: text.into(),
    }
}

/// `* OK [code] text`.
pub(crate) fn untagged_ok(code: Option<Code>, text: impl Into<Text>) -> StatusResponse {
    StatusResponse {
        tag: None,
        status: Status::Ok,
        code,
        text: text.into(),
    }
}

/// `* BYE text`.
pub(crate) fn bye(text: impl Into<Text>) -> StatusResponse {
    StatusResponse::bye(text)
}

// Connection-level texts.
pub(crate) const GREETING: &str = "Pillarbox IMAP4rev2 server ready";
pub(crate) const LOGOUT: &str = "Logging out";
pub(crate) const SHUTTING_DOWN: &str = "Server shutting down";
pub(crate) const AUTOLOGOUT: &str = "Autologout; idle for too long";
pub(crate) const TOO_MANY_BAD: &str = "Too many invalid commands";
pub(crate) const STILL_HERE: &str = "Still here";
pub(crate) const IDLING: &str = "idling";
pub(crate) const LITERAL_READY: &str = "Ready for literal data";
pub(crate) const MAILBOX_GONE: &str = "The selected mailbox was deleted";

// Command outcomes.
pub(crate) const DONE: &str = "completed";
pub(crate) const CAPABILITY_DONE: &str = "CAPABILITY completed";
pub(crate) const NOOP_DONE: &str = "NOOP completed";
pub(crate) const LOGGED_IN: &str = "Logged in";
pub(crate) const BEGIN_TLS: &str = "Begin TLS negotiation now";
pub(crate) const DEFLATE_ACTIVE: &str = "DEFLATE active";
pub(crate) const UNAUTHENTICATED: &str = "Session reset; log in again";
pub(crate) const IDLE_DONE: &str = "IDLE terminated";
pub(crate) const SELECT_RW: &str = "SELECT completed";
pub(crate) const EXAMINE_RO: &str = "EXAMINE completed";
pub(crate) const CLOSED: &str = "Previous mailbox closed";
pub(crate) const FETCH_DONE: &str = "FETCH completed";
pub(crate) const STORE_DONE: &str = "STORE completed";
pub(crate) const SEARCH_DONE: &str = "SEARCH completed";
pub(crate) const SORT_DONE: &str = "SORT completed";
pub(crate) const THREAD_DONE: &str = "THREAD completed";
pub(crate) const EXPUNGE_DONE: &str = "EXPUNGE completed";
pub(crate) const COPY_DONE: &str = "COPY completed";
pub(crate) const MOVE_DONE: &str = "MOVE completed";
pub(crate) const APPEND_DONE: &str = "APPEND completed";
pub(crate) const LIMITED: &str =
    "Too many messages: only the lowest UIDs up to MESSAGELIMIT were processed";
pub(crate) const OVER_LIMIT: &str = "Too many messages for one command (see MESSAGELIMIT)";
pub(crate) const UID_REQUIRED: &str = "UIDONLY is enabled: name messages by UID";
pub(crate) const REPLACE_DONE: &str = "REPLACE completed";
pub(crate) const REPLACEMENT_READY: &str = "Replacement message ready";
pub(crate) const NO_SUCH_MESSAGE: &str = "No such message";
pub(crate) const LIST_DONE: &str = "LIST completed";

// Refusals.
pub(crate) const UNKNOWN_COMMAND: &str = "Unknown command";
pub(crate) const LOGIN_FIRST: &str = "Log in first";
pub(crate) const ALREADY_AUTHENTICATED: &str = "Already authenticated";
pub(crate) const NO_MAILBOX: &str = "No mailbox selected";
pub(crate) const NOT_IN_STATE: &str = "Command not valid in this state";
pub(crate) const PRIVACY_REQUIRED: &str = "Plaintext authentication is not allowed before STARTTLS";
pub(crate) const TLS_ACTIVE: &str = "TLS is already active";
pub(crate) const TLS_UNAVAILABLE: &str = "STARTTLS is not available";
pub(crate) const UNKNOWN_MECHANISM: &str = "Unsupported authentication mechanism";
pub(crate) const AUTH_CANCELLED: &str = "Authentication cancelled";
pub(crate) const BAD_SASL: &str = "Invalid BASE64 in the authentication exchange";
pub(crate) const LOGIN_FAILED: &str = "Invalid user name or password";
pub(crate) const NONEXISTENT: &str = "No such mailbox";
pub(crate) const ALREADY_EXISTS: &str = "Mailbox already exists";
pub(crate) const TRY_CREATE: &str = "Mailbox does not exist; create it first";
pub(crate) const INBOX_DELETE: &str = "INBOX cannot be deleted";
pub(crate) const RENAME_INTO_ITSELF: &str = "A mailbox cannot be moved into itself";
pub(crate) const BAD_NAME: &str = "Invalid mailbox name";
pub(crate) const READ_ONLY: &str = "Mailbox is read-only";
pub(crate) const BAD_SEQUENCE: &str = "Invalid message sequence number";
pub(crate) const EXPUNGE_ISSUED: &str = "Some of the requested messages no longer exist";
pub(crate) const TOO_BIG: &str = "Message exceeds the APPENDLIMIT";
pub(crate) const LITERAL_TOO_BIG: &str = "Literal too large";
pub(crate) const OVER_QUOTA: &str = "Quota exceeded";
pub(crate) const NO_SETQUOTA: &str = "Quotas are set by the administrator";
pub(crate) const NO_QUOTA_ROOT: &str = "No such quota root";
pub(crate) const METADATA_TOO_BIG: &str = "Annotation value too large";
pub(crate) const METADATA_TOO_MANY: &str = "Too many annotations";
pub(crate) const METADATA_SERVER_SHARED: &str =
    "Shared server annotations are set by the administrator";
pub(crate) const BAD_CHARSET: &str = "Unsupported charset";
pub(crate) const UNKNOWN_CTE: &str = "Unknown content-transfer-encoding";
pub(crate) const COMPRESSION_ACTIVE: &str = "Compression is already active";
pub(crate) const UNKNOWN_COMPRESSION: &str = "Unsupported compression mechanism";
pub(crate) const USE_ATTR: &str = "Unsupported special-use attribute";
pub(crate) const PARTIAL_TWICE: &str = "PARTIAL may be given once";
pub(crate) const PARTIAL_WITH_ALL: &str = "PARTIAL and ALL cannot be used together";
pub(crate) const SERVER_BUG: &str = "Internal server error; try again later";
pub(crate) const UNAVAILABLE: &str = "Temporary server failure; try again later";
pub(crate) const DISK_FULL: &str = "The server's disk is full; try again later";
pub(crate) const CORRUPTION: &str = "Stored data is damaged; contact the administrator";
pub(crate) const MODIFIED: &str = "Conditional STORE failed for some messages";

/// The answer to a failed login (RFC 9051 §6.2.3, RFC 5530 codes), with the policy's
/// reason shown to the user.
pub(crate) fn auth_failed(tag: &Tag, e: &AuthError) -> StatusResponse {
    match e {
        AuthError::InvalidCredentials => no(tag, Code::AuthenticationFailed, LOGIN_FAILED),
        AuthError::RateLimited(_) => no(tag, Code::Unavailable, e.to_string()),
        AuthError::Denied(d) => no(tag, Code::ContactAdmin, d.to_string()),
        AuthError::Temporary(err) => {
            tracing::error!(error = %err, "login failed on a store error");
            no(tag, Code::Unavailable, UNAVAILABLE)
        }
    }
}

/// The answer to a store failure: transient server trouble, quota, or missing data.
pub(crate) fn for_store_error(tag: &Tag, e: &StoreError) -> StatusResponse {
    match e {
        StoreError::NotFound(_) => no(tag, Code::Nonexistent, NONEXISTENT),
        StoreError::Conflict(msg) => no(tag, Code::Cannot, msg.clone()),
        StoreError::OverQuota => no(tag, Code::OverQuota, OVER_QUOTA),
        e if e.is_disk_full() => {
            tracing::error!(error = %e, "disk full");
            no(tag, Code::Unavailable, DISK_FULL)
        }
        StoreError::Corrupt(msg) => {
            tracing::error!(error = %msg, "corrupt stored data");
            no(tag, Code::Corruption, CORRUPTION)
        }
        StoreError::Closed | StoreError::Unavailable(_) => {
            tracing::warn!(error = %e, "store unavailable");
            no(tag, Code::Unavailable, UNAVAILABLE)
        }
        e => {
            tracing::error!(error = %e, "store failure");
            no(tag, Code::ServerBug, SERVER_BUG)
        }
    }
}
