//! The one pipeline into local mailboxes and the outbound queue
