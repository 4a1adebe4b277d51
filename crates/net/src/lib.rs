//! Listeners, TLS (server and client), connection limits, LAN ranges, shutdown
