//! FETCH with every data item, section, partial and modifier (RFC 9051 §6.4.5,
//! RFC 3516 BINARY, RFC 7162 §3.1.4 CHANGEDSINCE and §3.2.6 VANISHED, RFC 9394 PARTIAL).
//!
//! This is the hottest parser: it allocates only the item list, part numbers and header
//! field lists. No I/O.

use crate::proto::command::Fetch;
use crate::proto::error::{ParseError, ParseErrorKind as K};
use crate::proto::fetch_attr::{FetchAttr, FetchAttrs, Partial, Section, SectionText};
use crate::proto::lexer::{Lexer, Result};

/// RFC 9051 §9 `fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" /
/// fetch-att / "(" fetch-att *(SP fetch-att) ")")`, RFC 7162 §7 `[fetch-modifiers]`.
pub(super) fn fetch(lx: &mut Lexer<'_>, uid: bool) -> Result<Fetch> {
    lx.sp()?;
    let set = lx.sequence_set()?;
    lx.sp()?;
    let attrs = if lx.peek() == Some(b'(') {
        FetchAttrs::List(lx.paren_list(false, fetch_att)?)
    } else {
        let m = lx.mark();
        match lx.keyword()?.as_bytes() {
            b"ALL" => FetchAttrs::All,
            b"FAST" => FetchAttrs::Fast,
            b"FULL" => FetchAttrs::Full,
            _ => {
                lx.reset(m);
                FetchAttrs::List(vec![fetch_att(lx)?])
            }
        }
    };
    let mut fetch = Fetch {
        uid,
        set,
        attrs,
        changed_since: None,
        vanished: false,
        partial: None,
    };
    if lx.sp_then_more() {
        let start = lx.pos();
        lx.paren_list(false, |lx| fetch_modifier(lx, &mut fetch))?;
        if fetch.vanished && !(uid && fetch.changed_since.is_some()) {
            return Err(ParseError::new(
                K::InvalidCombination,
                "VANISHED needs UID FETCH and CHANGEDSINCE",
                start,
            ));
        }
    }
    Ok(fetch)
}

/// RFC 7162 §7 `fetch-modifier =/ chgsince-fetch-mod / "VANISHED"`,
/// `chgsince-fetch-mod = "CHANGEDSINCE" SP mod-sequence-value` (0 tolerated); RFC 9394
/// §4 `fetch-modifier =/ "PARTIAL" SP partial-range`.
fn fetch_modifier(lx: &mut Lexer<'_>, fetch: &mut Fetch) -> Result<()> {
    let start = lx.pos();
    match lx.keyword()?.as_bytes() {
        b"CHANGEDSINCE" => {
            lx.sp()?;
            fetch.changed_since = Some(lx.number64()?);
        }
        b"VANISHED" => fetch.vanished = true,
        b"PARTIAL" => {
            lx.sp()?;
            fetch.partial = Some(super::search::partial_range(lx)?);
        }
        _ => {
            return Err(ParseError::new(
                K::UnknownOption,
                "unknown FETCH modifier",
                start,
            ));
        }
    }
    Ok(())
}

/// RFC 8970 §6 `fetch-att =/ "PREVIEW" [SP "(" preview-mod *(SP preview-mod) ")"]`,
/// `preview-mod = "LAZY"`: whether LAZY was given. A parenthesised list after PREVIEW
/// that is not made of preview modifiers is left alone: it is the FETCH modifiers of a
/// single-item FETCH (`FETCH 1 PREVIEW (CHANGEDSINCE 5)`).
fn preview_modifiers(lx: &mut Lexer<'_>) -> Result<bool> {
    let m = lx.mark();
    if !(lx.eat(b' ') && lx.peek() == Some(b'(')) {
        lx.reset(m);
        return Ok(false);
    }
    let mods = lx.paren_list(false, |lx| {
        let start = lx.pos();
        match lx.keyword()?.as_bytes() {
            b"LAZY" => Ok(()),
            _ => Err(ParseError::new(
                K::UnknownOption,
                "unknown PREVIEW modifier",
                start,
            )),
        }
    });
    match mods {
        Ok(mods) => Ok(!mods.is_empty()),
        Err(_) => {
            lx.reset(m);
            Ok(false)
        }
    }
}

/// RFC 9051 §9 `fetch-att`, RFC 7162 §7 `fetch-att =/ "MODSEQ"`, RFC 8474 §7
/// `fetch-att =/ "EMAILID" / "THREADID"`, RFC 8970 `PREVIEW`.
fn fetch_att(lx: &mut Lexer<'_>) -> Result<FetchAttr> {
    let start = lx.pos();
    let name = lx.keyword()?;
    Ok(match name.as_bytes() {
        b"ENVELOPE" => FetchAttr::Envelope,
        b"FLAGS" => FetchAttr::Flags,
        b"INTERNALDATE" => FetchAttr::InternalDate,
        b"RFC822" => FetchAttr::Rfc822,
        b"RFC822.HEADER" => FetchAttr::Rfc822Header,
        b"RFC822.SIZE" => FetchAttr::Rfc822Size,
        b"RFC822.TEXT" => FetchAttr::Rfc822Text,
        b"BODYSTRUCTURE" => FetchAttr::BodyStructure,
        b"UID" => FetchAttr::Uid,
        b"MODSEQ" => FetchAttr::ModSeq,
        b"BODY" if lx.peek() != Some(b'[') => FetchAttr::Body,
        b"BODY" | b"BODY.PEEK" => FetchAttr::BodySection {
            peek: name.as_bytes() == b"BODY.PEEK",
            section: section(lx)?,
            partial: partial(lx)?,
        },
        b"BINARY" | b"BINARY.PEEK" => FetchAttr::Binary {
            peek: name.as_bytes() == b"BINARY.PEEK",
            part: section_binary(lx)?,
            partial: partial(lx)?,
        },
        b"BINARY.SIZE" => FetchAttr::BinarySize {
            part: section_binary(lx)?,
        },
        b"EMAILID" => FetchAttr::EmailId,
        b"THREADID" => FetchAttr::ThreadId,
        b"SAVEDATE" => FetchAttr::SaveDate,
        b"PREVIEW" => FetchAttr::Preview {
            lazy: preview_modifiers(lx)?,
        },
        _ => {
            return Err(ParseError::new(
                K::UnknownOption,
                "unknown FETCH item",
                start,
            ));
        }
    })
}

/// RFC 9051 §9 `section = "[" [section-spec] "]"`,
/// `section-spec = section-msgtext / (section-part ["." section-text])`.
/// Spaces after `[` and before `]` are tolerated.
fn section(lx: &mut Lexer<'_>) -> Result<Section> {
    lx.expect(b'[', "expected '['")?;
    lx.skip_spaces();
    let mut section = Section::default();
    if lx.eat(b']') {
        return Ok(section);
    }
    if lx.peek().is_some_and(|b| b.is_ascii_digit()) {
        section.part = section_part(lx)?;
        if lx.eat(b'.') {
            section.text = Some(section_text(lx, true)?);
        }
    } else {
        section.text = Some(section_text(lx, false)?);
    }
    lx.skip_spaces();
    lx.expect(b']', "expected ']'")?;
    Ok(section)
}

/// RFC 9051 §9 `section-part = nz-number *("." nz-number)`; stops before a `.` that
/// introduces `section-text`.
fn section_part(lx: &mut Lexer<'_>) -> Result<Vec<u32>> {
    let mut part = vec![lx.nz_number()?];
    while lx.peek() == Some(b'.') && lx.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
        lx.eat(b'.');
        part.push(lx.nz_number()?);
    }
    Ok(part)
}

/// RFC 9051 §9 `section-text = section-msgtext / "MIME"`,
/// `section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"`.
/// The space before the header list may be missing (seen in the wild).
fn section_text(lx: &mut Lexer<'_>, after_part: bool) -> Result<SectionText> {
    let start = lx.pos();
    let name = lx.keyword()?;
    Ok(match name.as_bytes() {
        b"HEADER" => SectionText::Header,
        b"TEXT" => SectionText::Text,
        b"MIME" if after_part => SectionText::Mime,
        b"HEADER.FIELDS" => SectionText::HeaderFields(header_list(lx)?),
        b"HEADER.FIELDS.NOT" => SectionText::HeaderFieldsNot(header_list(lx)?),
        _ => return Err(ParseError::new(K::Syntax, "invalid section", start)),
    })
}

/// RFC 9051 §9 `header-list = "(" header-fld-name *(SP header-fld-name) ")"`,
/// `header-fld-name = astring`.
fn header_list(lx: &mut Lexer<'_>) -> Result<Vec<bytes::Bytes>> {
    lx.skip_spaces();
    lx.paren_list(false, |lx| lx.astring())
}

/// RFC 3516 §6 `section-binary = "[" [section-part] "]"`.
fn section_binary(lx: &mut Lexer<'_>) -> Result<Vec<u32>> {
    lx.expect(b'[', "expected '['")?;
    lx.skip_spaces();
    let part = if lx.peek() == Some(b']') {
        Vec::new()
    } else {
        section_part(lx)?
    };
    lx.skip_spaces();
    lx.expect(b']', "expected ']'")?;
    Ok(part)
}

/// RFC 9051 §9 `partial = "<" number64 "." nz-number64 ">"`.
fn partial(lx: &mut Lexer<'_>) -> Result<Option<Partial>> {
    if !lx.eat(b'<') {
        return Ok(None);
    }
    let offset = lx.number64()?;
    lx.expect(b'.', "expected '.' in partial")?;
    let length = lx.nz_number64()?;
    lx.expect(b'>', "expected '>'")?;
    Ok(Some(Partial { offset, length }))
}
