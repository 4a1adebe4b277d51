//! Metadata and blob storage: the only crate with SQL; SQLite engine with group commit
