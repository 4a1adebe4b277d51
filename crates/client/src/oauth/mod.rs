//! OAuth2 (placeholder)
