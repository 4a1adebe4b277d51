//! Pure FETCH rendering: ENVELOPE (`envelope`), BODY and BODYSTRUCTURE
//! (`bodystructure`), the bytes of `BODY[section]` and `BINARY[part]` (`section`) and
//! PREVIEW (`preview`), all from the structure computed at delivery and the raw message. No I/O, no store.

pub(crate) mod bodystructure;
pub(crate) mod envelope;
pub(crate) mod preview;
pub(crate) mod section;
