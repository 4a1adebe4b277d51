//! One file per command family, each handler working on the data of the state the
//! session's dispatch table found it legal in. Handlers build replies only from
//! `proto::catalogue` and never parse input themselves.

pub(crate) mod auth;
pub(crate) mod capa;
pub(crate) mod listing;
pub(crate) mod mark;
pub(crate) mod quit;
pub(crate) mod retrieve;
pub(crate) mod stls;
