//! The POP3 wire format, pure: the command parser ([`command`]), the reply catalogue
//! with RFC 2449 response codes ([`reply`]), and the message encoding of RETR and TOP
//! with the octet counts LIST reports ([`body`]). Nothing here does I/O, knows about
//! sessions, or touches the store.

pub mod body;
pub mod command;
pub mod reply;

pub use body::{BodyEncoder, WireSize};
pub use command::{
    AuthStart, Command, MAX_LINE, ParseError, keyword_of, parse, parse_sasl_response,
};
pub use reply::{Reply, RespCode, Status, TERMINATOR, catalogue};
