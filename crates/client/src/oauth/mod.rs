//! OAuth2 for mail: `token` is the cached token source (refresh-token and
//! client-credentials grants, rotation, invalidation), `http` its reqwest client on
//! ring-backed rustls, `clock` the injectable time it measures expiry with, and
//! `presets` the Microsoft 365 and Gmail endpoints, scopes and hosts.
//!
//! Never persists anything: a rotated refresh token is handed to the caller.

pub mod clock;
mod http;
pub mod presets;
pub mod token;

pub use clock::{Clock, ManualClock, SystemClock};
pub use presets::{Endpoint, GMAIL, MICROSOFT_365, PRESETS, ProviderPreset, preset};
pub use token::{AccessToken, ClientAuth, Grant, OAuthConfig, OAuthError, TokenSource};
