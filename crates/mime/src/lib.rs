//! Message structure computed once at delivery, and the pure decoding helpers that
//! search and collection need.
//!
//! [`parse`] walks a raw RFC 5322 / MIME message in one pass and returns a
//! [`MessageStructure`]: byte offsets of every part's header and body, the MIME
//! fields IMAP `BODYSTRUCTURE` reports, the `ENVELOPE` of the message and of every
//! embedded `message/rfc822`, and the keys `SORT` and `THREAD` need. The structure is
//! serialisable so the store keeps it next to the blob and the IMAP server never
//! re-parses on `FETCH`; it serves `BODY[...]` sections by slicing the raw blob.
//!
//! The other modules decode: RFC 2047 encoded words ([`decode_encoded_words`]),
//! transfer encodings ([`decode_transfer`]), charsets ([`decode_text`]), header
//! field selection ([`select_header_fields`]), searchable text ([`searchable_text`]),
//! and the rewrite of undeclared 8-bit mail that collection applies
//! ([`reencode_undeclared_8bit_headers`]).
//!
//! This crate does no I/O, spawns nothing, has no async and no global state, and never
//! panics on any input: every function takes bytes and returns values.

#![forbid(unsafe_code)]

mod address;
mod charset;
mod content_type;
mod date;
mod encoded_word;
mod envelope;
mod header;
mod lines;
mod msg_id;
mod parser;
mod reencode;
mod search_text;
mod sort_keys;
mod structure;
mod subject;
mod transfer;

pub use address::{Address, MISSING_DOMAIN, MISSING_MAILBOX, parse_address_list};
pub use charset::{decode_text, encoding_for_label};
pub use content_type::{
    ContentDisposition, ContentType, Parameter, parse_content_disposition, parse_content_type,
};
pub use date::{parse_date, parse_date_day};
pub use encoded_word::{decode_encoded_words, decode_encoded_words_with_fallback};
pub use envelope::Envelope;
pub use header::{
    FieldSelection, HeaderField, find_header, find_headers, header_end, header_fields,
    select_header_fields, unfold,
};
pub use msg_id::{parse_msg_id, parse_msg_id_list};
pub use parser::{MAX_DEPTH, MAX_PARTS, parse};
pub use reencode::{encode_unstructured, reencode_undeclared_8bit_headers};
pub use search_text::{CaseInsensitiveNeedle, SearchableText, fold_case, searchable_text};
pub use sort_keys::{SortAddress, SortKeys};
pub use structure::{BodyPart, EmbeddedMessage, MessageStructure, PartBody};
pub use subject::base_subject;
pub use transfer::{
    TransferEncoding, UnknownTransferEncoding, decode_base64, decode_quoted_printable,
    decode_transfer, decoded_size,
};
