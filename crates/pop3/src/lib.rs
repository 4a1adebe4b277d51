//! POP3 server
