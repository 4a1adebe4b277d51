//! Typed Pillarbox configuration (TOML): defaults, validation, errors naming file, line and key
