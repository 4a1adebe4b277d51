//! ENABLE (RFC 5161 §3.1; CONDSTORE and QRESYNC per RFC 7162 §3.1, §3.2.3,
//! UTF8=ACCEPT per RFC 6855 §3, IMAP4rev2 per RFC 9051 §6.3.1) and ID (RFC 2971 §3.1).
//!
//! ENABLE only switches session behaviour; it never touches the store.

use bytes::Bytes;

use super::Outcome;
use crate::caps::Extension;
use crate::catalogue as cat;
use crate::proto::{Code, Data, IdParams, Tag};
use crate::session::{Selected, Session};

/// RFC 5161 §3.1: `* ENABLED` lists the extensions this command switched on; unknown
/// names are ignored.
pub(crate) fn enable(
    s: &mut Session,
    selected: Option<&mut Selected>,
    tag: &Tag,
    names: Vec<Bytes>,
) -> Outcome {
    let had_condstore = s.enabled.condstore;
    let mut enabled = Vec::new();
    for name in &names {
        if let Some(ext) = Extension::from_name(name)
            && s.enabled.enable(ext)
        {
            enabled.push(Bytes::from_static(ext.name().as_bytes()));
        }
    }
    if !had_condstore
        && s.enabled.condstore
        && let Some(sel) = selected
    {
        announce_highest_modseq(s, sel);
    }
    s.data_owned(Data::Enabled(enabled));
    Outcome::reply(cat::ok(tag, cat::DONE))
}

/// RFC 2971 §3.1: the server's identification; the client's is logged.
pub(crate) fn id(s: &mut Session, tag: &Tag, params: Option<IdParams>) -> Outcome {
    if let Some(p) = &params {
        let fields: Vec<String> = p
            .iter()
            .take(30)
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    String::from_utf8_lossy(k),
                    v.as_deref()
                        .map(String::from_utf8_lossy)
                        .unwrap_or_default()
                )
            })
            .collect();
        tracing::info!(client = %fields.join(" "), "client ID");
        // A webmail on a trusted host names the client it speaks for (as Dovecot
        // takes it): login limits then count that client, not the webmail.
        if let Some(claimed) = p.iter().find_map(|(k, v)| {
            k.eq_ignore_ascii_case(b"x-originating-ip")
                .then(|| v.as_deref().map(String::from_utf8_lossy))
                .flatten()
        }) && let Some(ip) = s.svc.directory.originating_peer(s.peer.ip(), &claimed)
        {
            tracing::info!(client = %ip, "speaking for another client (ID x-originating-ip)");
            s.client_ip = Some(ip);
        }
    }
    let ours: IdParams = vec![
        (
            Bytes::from_static(b"name"),
            Some(Bytes::from_static(b"Pillarbox")),
        ),
        (
            Bytes::from_static(b"version"),
            Some(Bytes::from_static(env!("CARGO_PKG_VERSION").as_bytes())),
        ),
    ];
    s.data_owned(Data::Id(Some(ours)));
    Outcome::reply(cat::ok(tag, cat::DONE))
}

/// RFC 7162 §3.1: a CONDSTORE enabling command issued while a mailbox is selected is
/// followed by `* OK [HIGHESTMODSEQ n]`, the point the client is in sync with.
pub(crate) fn announce_highest_modseq(s: &mut Session, sel: &Selected) {
    let code = Code::HighestModSeq(sel.view.highest_modseq);
    s.reply(&cat::untagged_ok(Some(code), cat::DONE));
}

/// Switches CONDSTORE on for a CONDSTORE enabling command (RFC 7162 §3.1: FETCH MODSEQ
/// or CHANGEDSINCE, STORE UNCHANGEDSINCE, SEARCH MODSEQ, STATUS HIGHESTMODSEQ).
pub(crate) fn condstore_used(s: &mut Session, selected: Option<&Selected>) {
    if s.enabled.enable(Extension::CondStore)
        && let Some(sel) = selected
    {
        announce_highest_modseq(s, sel);
    }
}
