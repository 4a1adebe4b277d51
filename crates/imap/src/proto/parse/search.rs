//! SEARCH: every key of RFC 9051 §6.4.4 and RFC 3501 §6.4.4, MODSEQ (RFC 7162 §3.1.5),
//! OLDER/YOUNGER (RFC 5032), `$` (RFC 5182), EMAILID/THREADID (RFC 8474) and RETURN
//! options (RFC 4731).
//!
//! Shared with SORT and THREAD, which take the same criteria. Nesting (parentheses,
//! NOT, OR) is capped at [`MAX_DEPTH`] so no input can exhaust the stack. No I/O.

use crate::proto::command::Search;
use crate::proto::error::{ParseError, ParseErrorKind as K};
use crate::proto::lexer::{Lexer, Result};
use crate::proto::search_key::{EntryType, ModSeqEntry, PartialRange, SearchKey, SearchReturn};

/// Deepest nesting of parentheses, NOT and OR accepted.
pub(crate) const MAX_DEPTH: u32 = 64;

/// RFC 9051 §9 `search = "SEARCH" [search-return-opts] SP search-program`,
/// `search-program = ["CHARSET" SP charset SP] search-key *(SP search-key)`.
pub(super) fn search(lx: &mut Lexer<'_>, uid: bool) -> Result<Search> {
    lx.sp()?;
    let return_opts = if lx.eat_keyword(b"RETURN") {
        lx.sp()?;
        let opts = return_opts(lx)?;
        lx.sp()?;
        Some(opts)
    } else {
        None
    };
    let charset = if lx.eat_keyword(b"CHARSET") {
        lx.sp()?;
        let charset = lx.astring()?;
        lx.sp()?;
        Some(charset)
    } else {
        None
    };
    let criteria = search_keys(lx)?;
    Ok(Search {
        uid,
        charset,
        return_opts,
        criteria,
    })
}

/// RFC 4731 §3.1 `search-return-opts = SP "RETURN" SP "(" [search-return-opt
/// *(SP search-return-opt)] ")"`, `search-return-opt = "MIN" / "MAX" / "ALL" /
/// "COUNT"`; RFC 5182 §4 `"SAVE"`; RFC 9394 §4 `"PARTIAL" SP partial-range`. Starts at
/// the `(`.
pub(super) fn return_opts(lx: &mut Lexer<'_>) -> Result<Vec<SearchReturn>> {
    lx.paren_list(true, |lx| {
        let start = lx.pos();
        Ok(match lx.keyword()?.as_bytes() {
            b"MIN" => SearchReturn::Min,
            b"MAX" => SearchReturn::Max,
            b"ALL" => SearchReturn::All,
            b"COUNT" => SearchReturn::Count,
            b"SAVE" => SearchReturn::Save,
            b"PARTIAL" => {
                lx.sp()?;
                SearchReturn::Partial(partial_range(lx)?)
            }
            _ => {
                return Err(ParseError::new(
                    K::UnknownOption,
                    "unknown SEARCH RETURN option",
                    start,
                ));
            }
        })
    })
}

/// RFC 9394 §4 `partial-range = partial-range-first / partial-range-last`,
/// `partial-range-first = nz-number ":" nz-number`, `partial-range-last = MINUS
/// nz-number ":" MINUS nz-number`. Shared with the FETCH modifier.
pub(super) fn partial_range(lx: &mut Lexer<'_>) -> Result<PartialRange> {
    let start = lx.pos();
    let from_end = lx.eat(b'-');
    let first = lx.nz_number()?;
    lx.expect(b':', "expected ':' in a partial range")?;
    if lx.eat(b'-') != from_end {
        return Err(ParseError::new(
            K::Syntax,
            "both ends of a partial range have the same sign",
            start,
        ));
    }
    let last = lx.nz_number()?;
    Ok(PartialRange {
        first,
        last,
        from_end,
    })
}

/// RFC 9051 §9 `search-program` tail `search-key *(SP search-key)`; several keys
/// become one [`SearchKey::And`].
pub(super) fn search_keys(lx: &mut Lexer<'_>) -> Result<SearchKey> {
    let mut keys = vec![search_key(lx, 0)?];
    while lx.sp_then_more() {
        keys.push(search_key(lx, 0)?);
    }
    Ok(if keys.len() == 1 {
        keys.pop().unwrap_or(SearchKey::All)
    } else {
        SearchKey::And(keys)
    })
}

/// RFC 9051 §9 `search-key`, plus RFC 3501's NEW, OLD, RECENT, RFC 7162 §7 `search-modsequence`,
/// RFC 5032 §3 OLDER/YOUNGER.
fn search_key(lx: &mut Lexer<'_>, depth: u32) -> Result<SearchKey> {
    if depth > MAX_DEPTH {
        return Err(lx.err(K::TooDeep, "search criteria nested too deeply"));
    }
    match lx.peek() {
        Some(b'(') => {
            let mut keys = lx.paren_list(false, |lx| search_key(lx, depth + 1))?;
            return Ok(if keys.len() == 1 {
                keys.pop().unwrap_or(SearchKey::All)
            } else {
                SearchKey::And(keys)
            });
        }
        Some(b'0'..=b'9' | b'*' | b'$') => return Ok(SearchKey::SequenceSet(lx.sequence_set()?)),
        None => return Err(lx.expected("expected a search key")),
        Some(_) => {}
    }
    let start = lx.pos();
    let name = lx.keyword()?;
    use SearchKey as S;
    Ok(match name.as_bytes() {
        b"ALL" => S::All,
        b"ANSWERED" => S::Answered,
        b"DELETED" => S::Deleted,
        b"DRAFT" => S::Draft,
        b"FLAGGED" => S::Flagged,
        b"NEW" => S::New,
        b"OLD" => S::Old,
        b"RECENT" => S::Recent,
        b"SEEN" => S::Seen,
        b"UNANSWERED" => S::Unanswered,
        b"UNDELETED" => S::Undeleted,
        b"UNDRAFT" => S::Undraft,
        b"UNFLAGGED" => S::Unflagged,
        b"UNSEEN" => S::Unseen,
        b"BCC" => S::Bcc(string_arg(lx)?),
        b"BODY" => S::Body(string_arg(lx)?),
        b"CC" => S::Cc(string_arg(lx)?),
        b"FROM" => S::From(string_arg(lx)?),
        b"SUBJECT" => S::Subject(string_arg(lx)?),
        b"TEXT" => S::Text(string_arg(lx)?),
        b"TO" => S::To(string_arg(lx)?),
        b"HEADER" => {
            let field = string_arg(lx)?;
            S::Header(field, string_arg(lx)?)
        }
        b"KEYWORD" => S::Keyword(keyword_arg(lx)?),
        b"UNKEYWORD" => S::Unkeyword(keyword_arg(lx)?),
        b"BEFORE" => S::Before(date_arg(lx)?),
        b"ON" => S::On(date_arg(lx)?),
        b"SINCE" => S::Since(date_arg(lx)?),
        b"SENTBEFORE" => S::SentBefore(date_arg(lx)?),
        b"SENTON" => S::SentOn(date_arg(lx)?),
        b"SENTSINCE" => S::SentSince(date_arg(lx)?),
        b"SAVEDBEFORE" => S::SavedBefore(date_arg(lx)?),
        b"SAVEDON" => S::SavedOn(date_arg(lx)?),
        b"SAVEDSINCE" => S::SavedSince(date_arg(lx)?),
        b"SAVEDATESUPPORTED" => S::SaveDateSupported,
        b"LARGER" => S::Larger(number64_arg(lx)?),
        b"SMALLER" => S::Smaller(number64_arg(lx)?),
        b"OLDER" => S::Older(interval_arg(lx)?),
        b"YOUNGER" => S::Younger(interval_arg(lx)?),
        b"UID" => {
            lx.sp()?;
            S::Uid(lx.sequence_set()?)
        }
        b"MODSEQ" => modseq(lx)?,
        b"EMAILID" => S::EmailId(objectid_arg(lx)?),
        b"THREADID" => S::ThreadId(objectid_arg(lx)?),
        b"NOT" => {
            lx.sp()?;
            S::Not(Box::new(search_key(lx, depth + 1)?))
        }
        b"OR" => {
            lx.sp()?;
            let a = search_key(lx, depth + 1)?;
            lx.sp()?;
            let b = search_key(lx, depth + 1)?;
            S::Or(Box::new(a), Box::new(b))
        }
        _ => {
            return Err(ParseError::new(
                K::UnknownOption,
                "unknown search key",
                start,
            ));
        }
    })
}

/// `SP astring`: the argument of RFC 9051 §9 `search-key` BCC, BODY, CC, FROM, SUBJECT,
/// TEXT, TO and both of HEADER.
fn string_arg(lx: &mut Lexer<'_>) -> Result<bytes::Bytes> {
    lx.sp()?;
    lx.astring()
}

/// `SP flag-keyword` (RFC 9051 §9 `flag-keyword = ... / atom`).
fn keyword_arg(lx: &mut Lexer<'_>) -> Result<bytes::Bytes> {
    lx.sp()?;
    lx.atom_bytes()
}

/// RFC 8474 §7 `search-key =/ "EMAILID" SP objectid / "THREADID" SP objectid`,
/// `objectid = 1*255(ALPHA / DIGIT / "_" / "-")`.
fn objectid_arg(lx: &mut Lexer<'_>) -> Result<bytes::Bytes> {
    lx.sp()?;
    let start = lx.pos();
    let id = lx.atom_bytes()?;
    if !crate::proto::objectid::is_objectid(&id) {
        return Err(ParseError::new(K::Syntax, "expected an object id", start));
    }
    Ok(id)
}

/// `SP date` (RFC 9051 §9 `search-key` BEFORE, ON, SINCE, SENT*).
fn date_arg(lx: &mut Lexer<'_>) -> Result<crate::proto::datetime::Date> {
    lx.sp()?;
    lx.date()
}

/// `SP number64` (RFC 9051 §9 `search-key` LARGER, SMALLER).
fn number64_arg(lx: &mut Lexer<'_>) -> Result<u64> {
    lx.sp()?;
    lx.number64()
}

/// RFC 5032 §3 `search-key =/ ( "OLDER" / "YOUNGER" ) SP nz-number`.
fn interval_arg(lx: &mut Lexer<'_>) -> Result<u32> {
    lx.sp()?;
    lx.nz_number()
}

/// RFC 7162 §7 `search-modsequence = "MODSEQ" [search-modseq-ext] SP
/// mod-sequence-valzer`, `search-modseq-ext = SP entry-name SP entry-type-req`,
/// `entry-type-req = entry-type-resp / "all"`, `entry-type-resp = "priv" / "shared"`.
fn modseq(lx: &mut Lexer<'_>) -> Result<SearchKey> {
    lx.sp()?;
    let mut entry = None;
    if lx.peek() == Some(b'"') {
        let name = lx.quoted()?;
        lx.sp()?;
        let start = lx.pos();
        let entry_type = match lx.keyword()?.as_bytes() {
            b"PRIV" => EntryType::Private,
            b"SHARED" => EntryType::Shared,
            b"ALL" => EntryType::All,
            _ => {
                return Err(ParseError::new(
                    K::Syntax,
                    "expected priv, shared or all",
                    start,
                ));
            }
        };
        lx.sp()?;
        entry = Some(ModSeqEntry { name, entry_type });
    }
    let modseq = lx.number64()?;
    Ok(SearchKey::ModSeq { entry, modseq })
}
