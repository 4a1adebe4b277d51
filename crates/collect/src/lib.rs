//! Collection of users' mail from remote POP3/IMAP servers, connection test
