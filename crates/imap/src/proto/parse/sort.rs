//! SORT and THREAD (RFC 5256; RFC 5267 ESORT RETURN options; RFC 5957 DISPLAYFROM and
//! DISPLAYTO). Search criteria come from the SEARCH parser. No I/O.

use super::search::{return_opts, search_keys};
use crate::proto::command::{Sort, SortCriterion, SortKey, Thread, ThreadAlgorithm};
use crate::proto::error::{ParseError, ParseErrorKind as K};
use crate::proto::lexer::{Lexer, Result};

/// RFC 5256 §5 `sort = ["UID" SP] "SORT" SP sort-criteria SP search-criteria`,
/// `search-criteria = charset 1*(SP search-key)`; RFC 5267 §3.2 `[search-return-opts]`.
pub(super) fn sort(lx: &mut Lexer<'_>, uid: bool) -> Result<Sort> {
    lx.sp()?;
    let mut opts = None;
    if lx.eat_keyword(b"RETURN") {
        lx.sp()?;
        opts = Some(return_opts(lx)?);
        lx.sp()?;
    }
    let criteria = lx.paren_list(false, sort_criterion)?;
    lx.sp()?;
    let charset = lx.astring()?;
    lx.sp()?;
    let search = search_keys(lx)?;
    Ok(Sort {
        uid,
        return_opts: opts,
        criteria,
        charset,
        search,
    })
}

/// RFC 5256 §5 `sort-criterion = ["REVERSE" SP] sort-key`, `sort-key = "ARRIVAL" /
/// "CC" / "DATE" / "FROM" / "SIZE" / "SUBJECT" / "TO"`; RFC 5957 §4 `"DISPLAYFROM" /
/// "DISPLAYTO"`.
fn sort_criterion(lx: &mut Lexer<'_>) -> Result<SortCriterion> {
    let reverse = lx.eat_keyword(b"REVERSE");
    if reverse {
        lx.sp()?;
    }
    let start = lx.pos();
    let key = match lx.keyword()?.as_bytes() {
        b"ARRIVAL" => SortKey::Arrival,
        b"CC" => SortKey::Cc,
        b"DATE" => SortKey::Date,
        b"FROM" => SortKey::From,
        b"SIZE" => SortKey::Size,
        b"SUBJECT" => SortKey::Subject,
        b"TO" => SortKey::To,
        b"DISPLAYFROM" => SortKey::DisplayFrom,
        b"DISPLAYTO" => SortKey::DisplayTo,
        _ => return Err(ParseError::new(K::UnknownOption, "unknown sort key", start)),
    };
    Ok(SortCriterion { reverse, key })
}

/// RFC 5256 §5 `thread = ["UID" SP] "THREAD" SP thread-alg SP search-criteria`,
/// `thread-alg = "ORDEREDSUBJECT" / "REFERENCES" / thread-alg-ext`.
pub(super) fn thread(lx: &mut Lexer<'_>, uid: bool) -> Result<Thread> {
    lx.sp()?;
    let start = lx.pos();
    let algorithm = match lx.keyword()?.as_bytes() {
        b"ORDEREDSUBJECT" => ThreadAlgorithm::OrderedSubject,
        b"REFERENCES" => ThreadAlgorithm::References,
        _ => {
            return Err(ParseError::new(
                K::UnknownOption,
                "unknown THREAD algorithm",
                start,
            ));
        }
    };
    lx.sp()?;
    let charset = lx.astring()?;
    lx.sp()?;
    let search = search_keys(lx)?;
    Ok(Thread {
        uid,
        algorithm,
        charset,
        search,
    })
}
