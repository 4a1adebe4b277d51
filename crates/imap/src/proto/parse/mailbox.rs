//! Mailbox commands: SELECT/EXAMINE with CONDSTORE/QRESYNC parameters, CREATE with USE,
//! DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, STATUS, GETQUOTAROOT (RFC 9051 §6.3,
//! RFC 7162, RFC 6154, RFC 8438). No I/O.

use crate::proto::command::{Create, QResync, Select, SpecialUse, StatusItem};
use crate::proto::error::{ParseError, ParseErrorKind as K};
use crate::proto::lexer::{Lexer, Result};
use crate::proto::mailbox::Mailbox;
use crate::proto::sequence::SequenceSet;

/// `SP mailbox`, the one argument of DELETE, SUBSCRIBE, UNSUBSCRIBE, GETQUOTAROOT
/// (RFC 9051 §9 `delete`, `subscribe`, `unsubscribe`; RFC 9208 §7 `getquotaroot`).
pub(super) fn mailbox_arg(lx: &mut Lexer<'_>) -> Result<Mailbox> {
    lx.sp()?;
    lx.mailbox()
}

/// RFC 9051 §9 `select = "SELECT" SP mailbox [select-params]` (also `examine`),
/// RFC 4466 §2.1 `select-params = SP "(" select-param *(SP select-param) ")"`,
/// RFC 7162 §7 `condstore-param` and `qresync-param`.
pub(super) fn select(lx: &mut Lexer<'_>) -> Result<Select> {
    lx.sp()?;
    let mailbox = lx.mailbox()?;
    let mut select = Select {
        mailbox,
        condstore: false,
        qresync: None,
    };
    if lx.sp_then_more() {
        lx.paren_list(true, |lx| {
            let start = lx.pos();
            let name = lx.keyword()?;
            match name.as_bytes() {
                b"CONDSTORE" => select.condstore = true,
                b"QRESYNC" => {
                    lx.sp()?;
                    select.qresync = Some(qresync(lx)?);
                }
                _ => {
                    return Err(ParseError::new(
                        K::UnknownOption,
                        "unknown SELECT parameter",
                        start,
                    ));
                }
            }
            Ok(())
        })?;
    }
    Ok(select)
}

/// RFC 7162 §7 `"QRESYNC" SP "(" uidvalidity SP mod-sequence-value [SP known-uids]
/// [SP seq-match-data] ")"`, `seq-match-data = "(" known-sequence-set SP known-uid-set
/// ")"`.
fn qresync(lx: &mut Lexer<'_>) -> Result<QResync> {
    lx.expect(b'(', "expected '('")?;
    lx.skip_spaces();
    let uid_validity = lx.nz_number()?;
    lx.sp()?;
    let modseq = lx.number64()?;
    let mut known_uids = None;
    let mut seq_match = None;
    lx.skip_spaces();
    if !lx.eat(b')') {
        if lx.peek() != Some(b'(') {
            known_uids = Some(explicit_set(lx)?);
            lx.skip_spaces();
        }
        if lx.eat(b'(') {
            lx.skip_spaces();
            let seqs = explicit_set(lx)?;
            lx.sp()?;
            let uids = explicit_set(lx)?;
            lx.skip_spaces();
            lx.expect(b')', "expected ')'")?;
            seq_match = Some((seqs, uids));
            lx.skip_spaces();
        }
        lx.expect(b')', "expected ')'")?;
    }
    Ok(QResync {
        uid_validity,
        modseq,
        known_uids,
        seq_match,
    })
}

/// A sequence set without `*` or `$` (RFC 7162 §7 `known-uids`).
fn explicit_set(lx: &mut Lexer<'_>) -> Result<SequenceSet> {
    let start = lx.pos();
    let set = lx.sequence_set()?;
    if set.has_star() || set.is_saved() {
        return Err(ParseError::new(
            K::SequenceSet,
            "'*' and '$' are not allowed here",
            start,
        ));
    }
    Ok(set)
}

/// RFC 9051 §9 `create = "CREATE" SP mailbox [create-params]`, RFC 4466 §2.2
/// `create-params`, RFC 6154 §6 `create-param =/ "USE" SP "(" [use-attr *(SP
/// use-attr)] ")"`.
pub(super) fn create(lx: &mut Lexer<'_>) -> Result<Create> {
    lx.sp()?;
    let mailbox = lx.mailbox()?;
    let mut special_use = Vec::new();
    if lx.sp_then_more() {
        lx.paren_list(false, |lx| {
            let start = lx.pos();
            if !lx.eat_keyword(b"USE") {
                return Err(ParseError::new(
                    K::UnknownOption,
                    "unknown CREATE parameter",
                    start,
                ));
            }
            lx.sp()?;
            special_use.extend(lx.paren_list(true, use_attr)?);
            Ok(())
        })?;
    }
    Ok(Create {
        mailbox,
        special_use,
    })
}

/// RFC 6154 §6 `use-attr = "\All" / "\Archive" / "\Drafts" / "\Flagged" / "\Junk" /
/// "\Sent" / "\Trash" / use-attr-ext`; RFC 8457 `\Important`.
fn use_attr(lx: &mut Lexer<'_>) -> Result<SpecialUse> {
    lx.expect(b'\\', "expected a special-use attribute")?;
    let name = lx.atom_bytes()?;
    let known = [
        (&b"All"[..], SpecialUse::All),
        (b"Archive", SpecialUse::Archive),
        (b"Drafts", SpecialUse::Drafts),
        (b"Flagged", SpecialUse::Flagged),
        (b"Junk", SpecialUse::Junk),
        (b"Sent", SpecialUse::Sent),
        (b"Trash", SpecialUse::Trash),
        (b"Important", SpecialUse::Important),
    ];
    let attr = known
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(&name))
        .map_or(SpecialUse::Other(name), |(_, u)| u.clone());
    Ok(attr)
}

/// RFC 9051 §9 `rename = "RENAME" SP mailbox SP mailbox`.
pub(super) fn rename(lx: &mut Lexer<'_>) -> Result<(Mailbox, Mailbox)> {
    lx.sp()?;
    let from = lx.mailbox()?;
    lx.sp()?;
    let to = lx.mailbox()?;
    Ok((from, to))
}

/// RFC 9051 §9 `status = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")"`.
pub(super) fn status(lx: &mut Lexer<'_>) -> Result<(Mailbox, Vec<StatusItem>)> {
    lx.sp()?;
    let mailbox = lx.mailbox()?;
    lx.sp()?;
    let items = status_items(lx)?;
    Ok((mailbox, items))
}

/// `"(" status-att *(SP status-att) ")"`, shared with LIST RETURN (STATUS ...)
/// (RFC 5819 §2).
pub(super) fn status_items(lx: &mut Lexer<'_>) -> Result<Vec<StatusItem>> {
    lx.paren_list(false, status_att)
}

/// RFC 9051 §9 `status-att = "MESSAGES" / "UIDNEXT" / "UIDVALIDITY" / "UNSEEN" /
/// "DELETED" / "SIZE"`, RFC 3501 `"RECENT"`, RFC 7162 `"HIGHESTMODSEQ"`,
/// RFC 7889 `"APPENDLIMIT"`, RFC 8474 §7 `status-att =/ "MAILBOXID"`, RFC 9208 §7
/// `status-att =/ "DELETED-STORAGE"`.
fn status_att(lx: &mut Lexer<'_>) -> Result<StatusItem> {
    let start = lx.pos();
    let name = lx.keyword()?;
    Ok(match name.as_bytes() {
        b"MESSAGES" => StatusItem::Messages,
        b"UIDNEXT" => StatusItem::UidNext,
        b"UIDVALIDITY" => StatusItem::UidValidity,
        b"UNSEEN" => StatusItem::Unseen,
        b"DELETED" => StatusItem::Deleted,
        b"DELETED-STORAGE" => StatusItem::DeletedStorage,
        b"SIZE" => StatusItem::Size,
        b"RECENT" => StatusItem::Recent,
        b"HIGHESTMODSEQ" => StatusItem::HighestModSeq,
        b"APPENDLIMIT" => StatusItem::AppendLimit,
        b"MAILBOXID" => StatusItem::MailboxId,
        _ => {
            return Err(ParseError::new(
                K::UnknownOption,
                "unknown STATUS item",
                start,
            ));
        }
    })
}
