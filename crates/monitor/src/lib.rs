//! Event and message logs, live sessions, statistics
