//! POP3 (placeholder)
