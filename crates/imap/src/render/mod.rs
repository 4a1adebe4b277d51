//! Pure FETCH rendering: ENVELOPE (`envelope`), BODY and BODYSTRUCTURE
//! (`bodystructure`), and the bytes of `BODY[section]` and `BINARY[part]` (`section`),
//! all from the structure computed at delivery and the raw message. No I/O, no store.

pub(crate) mod bodystructure;
pub(crate) mod envelope;
pub(crate) mod section;
