//! What a run produces and what the caller gives it: [`Input`] (message, envelope,
//! time, scores, environment), the [`Host`] callbacks, and the [`Outcome`] with its
//! list of [`Action`]s, header edits and duplicate records.
//!
//! Plain data and one trait. The engine never performs an action: delivery, sending
//! and storage are the caller's.

use std::sync::Arc;

use crate::script::IncludeLocation;

/// The SMTP envelope of the message being filtered (RFC 5228 §5.4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    /// The reverse-path (`MAIL FROM`), without angle brackets; empty for the null
    /// sender `<>`.
    pub from: String,
    /// The recipient this run filters for (`RCPT TO`), without angle brackets.
    pub to: String,
    /// The authenticated user who submitted the message, if any (envelope part
    /// `auth`).
    pub auth: Option<String>,
}

/// The spam verdict of a scanner, as RFC 5235 §3 scales it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpamScore {
    /// 1 (certainly not spam) to 10 (certainly spam); 0 means not tested.
    pub score: u8,
    /// 0 to 100 for `spamtest :percent` (RFC 5235 §3.3).
    pub percent: u8,
}

/// Everything the interpreter reads about one delivery.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    /// The raw message (RFC 5322), as received.
    pub message: &'a [u8],
    /// The envelope.
    pub envelope: Envelope,
    /// The current time, seconds since the Unix epoch (UTC).
    pub now: i64,
    /// The local time zone, minutes east of UTC (`date` and `currentdate` without
    /// `:zone` use it, RFC 5260 §4.1).
    pub zone_offset_minutes: i32,
    /// The spam verdict; `None` when no scanner ran (spamtest returns "0").
    pub spam: Option<SpamScore>,
    /// The virus verdict, 1 (clean) to 5 (infected, RFC 5235 §3.4); `None` when no
    /// scanner ran (virustest returns "0").
    pub virus: Option<u8>,
    /// Environment items (RFC 5183 §4): `domain`, `host`, `remote-host`,
    /// `remote-ip`… Names are matched case-insensitively. `name`, `version`,
    /// `phase` and `location` have defaults.
    pub environment: Vec<(String, String)>,
}

impl<'a> Input<'a> {
    /// An input with the envelope given and everything else empty: time 0 in UTC,
    /// no scores, no environment.
    pub fn new(message: &'a [u8], from: &str, to: &str) -> Self {
        Input {
            message,
            envelope: Envelope {
                from: from.to_string(),
                to: to.to_string(),
                auth: None,
            },
            now: 0,
            zone_offset_minutes: 0,
            spam: None,
            virus: None,
            environment: Vec::new(),
        }
    }
}

/// What the interpreter asks the caller during a run. Every method has a harmless
/// default.
pub trait Host {
    /// Whether a message with this duplicate id was already recorded under this
    /// handle (RFC 7352 §3). Recording is the caller's, from
    /// [`Outcome::duplicates`], once the run's actions are carried out.
    fn duplicate_seen(&mut self, handle: &str, id: &str) -> bool {
        let _ = (handle, id);
        false
    }

    /// Whether the user's mailbox `name` exists (RFC 5490 §3.1).
    fn mailbox_exists(&mut self, name: &str) -> bool {
        let _ = name;
        false
    }

    /// The source of the script `name` at `location` for `include` (RFC 6609 §3.2),
    /// or `None` when there is no such script.
    fn include(&mut self, name: &str, location: IncludeLocation) -> Option<String> {
        let _ = (name, location);
        None
    }
}

/// A [`Host`] that knows no mailboxes, scripts or duplicates.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoHost;

impl Host for NoHost {}

/// One thing the caller must do with the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// File into the default mailbox (RFC 5228 §4.3); `implicit` when it is the
    /// implicit keep (§2.10.2).
    Keep {
        /// IMAP flags to set on the stored message (RFC 5232 §5).
        flags: Vec<String>,
        /// Whether no action cancelled the implicit keep.
        implicit: bool,
        /// The message as edited by `editheader` when the action ran; `None` when
        /// unchanged.
        message: Option<Arc<[u8]>>,
    },
    /// File into a mailbox (RFC 5228 §4.1).
    FileInto {
        /// The mailbox name, UTF-8 as written in the script.
        mailbox: String,
        /// IMAP flags to set.
        flags: Vec<String>,
        /// `:copy` (RFC 3894): this did not cancel the implicit keep.
        copy: bool,
        /// `:create` (RFC 5490 §3.2): create the mailbox if missing.
        create: bool,
        /// The edited message, `None` when unchanged.
        message: Option<Arc<[u8]>>,
    },
    /// Forward to another address (RFC 5228 §4.2).
    Redirect {
        /// The address, an addr-spec.
        address: String,
        /// `:copy`.
        copy: bool,
        /// The edited message, `None` when unchanged.
        message: Option<Arc<[u8]>>,
    },
    /// Refuse the message (RFC 5429): `extended` for `ereject`, which asks for a
    /// protocol-level refusal when possible.
    Reject {
        /// The text for the sender.
        reason: String,
        /// Whether this is `ereject`.
        extended: bool,
    },
    /// `discard` (RFC 5228 §4.4): cancels the implicit keep, does nothing else.
    Discard,
    /// Send an auto-reply, unless the caller's records say it was sent within the
    /// period (RFC 5230 §4.2).
    Vacation(Box<VacationReply>),
    /// Send a notification (RFC 5435 §3, mailto per RFC 5436).
    Notify(Box<Notification>),
}

/// Why the engine advises not to send a vacation reply (RFC 5230 §4.5, §4.6,
/// RFC 3834 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VacationSuppression {
    /// The envelope sender is null.
    NullSender,
    /// The sender is a mailer daemon, list server or `owner-`/`-request` address.
    SystemSender,
    /// The sender is the user (one of the user's addresses).
    OwnAddress,
    /// The message is `Auto-Submitted` (other than `no`).
    AutoSubmitted,
    /// The message comes from a mailing list (`List-Id`, `List-*`, `Precedence:
    /// bulk|list|junk`).
    MailingList,
    /// None of the user's addresses is in `To`, `Cc`, `Bcc` or their `Resent-`
    /// forms.
    NotAddressed,
}

/// A vacation reply with every parameter resolved (RFC 5230, RFC 6131).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VacationReply {
    /// Whom to reply to: the envelope sender (RFC 5230 §4.5).
    pub recipient: String,
    /// The reply's From: `:from` if given, else the envelope recipient.
    pub from: String,
    /// The reply's Subject: `:subject`, else "Auto: " and the original subject
    /// (RFC 5230 §4.4).
    pub subject: String,
    /// Whether `:subject` was given (the default subject is the engine's choice).
    pub subject_given: bool,
    /// The reply text, or a MIME entity when `mime` is set.
    pub reason: String,
    /// `:mime`: `reason` is a MIME entity with its own header.
    pub mime: bool,
    /// The handle under which the caller records whom it replied to.
    pub handle: String,
    /// Minimum time between two replies to the same sender, in seconds.
    pub period: u64,
    /// The user's addresses: `:addresses` plus the envelope recipient.
    pub addresses: Vec<String>,
    /// The original Message-ID, for In-Reply-To and References.
    pub in_reply_to: Option<String>,
    /// The original References, to extend.
    pub references: Option<String>,
    /// Set when the reply should not be sent at all.
    pub suppressed: Option<VacationSuppression>,
}

/// A notification to send (RFC 5435 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The method URI as given (`mailto:…`).
    pub method: String,
    /// Recipients parsed from the URI.
    pub recipients: Vec<String>,
    /// Header fields from the URI (`subject`, `cc`, `body`, …).
    pub uri_headers: Vec<(String, String)>,
    /// `:from`, if given.
    pub from: Option<String>,
    /// 1 (high), 2 (normal) or 3 (low).
    pub importance: u8,
    /// `:options`.
    pub options: Vec<String>,
    /// `:message`, or the default: the sender and subject of the message.
    pub message: String,
}

/// One `editheader` change (RFC 5293), in the order they happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderEdit {
    /// `addheader`: the field as inserted (value encoded per RFC 2047 when needed).
    Added {
        /// Field name.
        name: String,
        /// Field value as written into the message.
        value: String,
        /// Appended at the end (`:last`) rather than inserted at the top.
        last: bool,
    },
    /// `deleteheader`: how many fields of that name were removed.
    Deleted {
        /// Field name.
        name: String,
        /// Number of fields removed.
        count: usize,
    },
}

/// A duplicate id to record once the actions are carried out (RFC 7352 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateRecord {
    /// The `:handle` (empty when none).
    pub handle: String,
    /// The id: the Message-ID, the `:header` value or the `:uniqueid`.
    pub id: String,
    /// How long to remember it, in seconds (`:seconds`, else the caller's default).
    pub seconds: Option<u64>,
    /// `:last`: refresh the expiry even when the id was already known.
    pub last: bool,
}

/// The result of a successful run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    /// The actions, in the order they were executed, the implicit keep last.
    pub actions: Vec<Action>,
    /// Every header edit, in order.
    pub header_edits: Vec<HeaderEdit>,
    /// The message after every edit, when there were any.
    pub edited_message: Option<Arc<[u8]>>,
    /// Duplicate ids to record.
    pub duplicates: Vec<DuplicateRecord>,
}

impl Outcome {
    /// Whether the outcome ends in the implicit keep.
    pub fn implicit_keep(&self) -> bool {
        self.actions
            .iter()
            .any(|a| matches!(a, Action::Keep { implicit: true, .. }))
    }
}
