//! One module per command family. Each handler names the RFC section it implements.

pub mod auth;
pub mod data;
pub mod hello;
pub mod mail;
pub mod misc;
pub mod rcpt;
pub mod starttls;
