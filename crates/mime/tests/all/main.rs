//! Integration tests of `pillarbox-mime` through its public API: structure and
//! offsets, header selection, searchable text, the 8-bit rewrite, and properties.

mod fixtures;
mod headers;
mod properties;
mod reencode;
mod search;
mod structure;
