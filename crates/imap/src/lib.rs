//! IMAP4rev2/IMAP4rev1 server
