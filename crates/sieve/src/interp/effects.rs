//! Adding actions to the result: merging duplicates (RFC 5228 §2.10.3, §4.1–§4.2),
//! cancelling the implicit keep (§2.10.2, RFC 3894 §3), the conflicts of reject and
//! vacation (RFC 5429 §2.1–§2.2, RFC 5230 §4.7), the redirect and action limits, the
//! vacation reply with its decision inputs (RFC 5230 §4, RFC 3834 §2), notifications
//! (RFC 5435 §3), and header edits (RFC 5293).
//!
//! Only builds values; sends and stores nothing.

use crate::action::{Action, HeaderEdit, Notification, VacationReply, VacationSuppression};
use crate::check::strings::{is_addr_spec, is_header_name};
use crate::error::RuntimeError;
use crate::mailto;
use crate::script::{Index, MatchSpec, NotifyCmd, Period, Str, VacationCmd};

use super::message::{addresses, select, select_indices, split_address};
use super::{Frame, Run};

/// Header fields that editheader may not delete (RFC 5293 §6: trace and
/// loop-prevention fields).
const PROTECTED: [&str; 2] = ["received", "auto-submitted"];

fn same_mailbox(a: Option<&str>, b: Option<&str>) -> bool {
    let a = a.unwrap_or("INBOX");
    let b = b.unwrap_or("INBOX");
    a == b || (a.eq_ignore_ascii_case("INBOX") && b.eq_ignore_ascii_case("INBOX"))
}

fn bare(address: &str) -> String {
    address
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}

impl Run<'_, '_> {
    fn push(&mut self, line: u32, action: Action) -> Result<(), RuntimeError> {
        if self.actions.len() >= self.options.limits.max_actions {
            return Err(RuntimeError::limit(
                line,
                format!(
                    "the script produced more than {} actions",
                    self.options.limits.max_actions
                ),
            ));
        }
        self.actions.push(action);
        Ok(())
    }

    /// RFC 5429 §2.2: a rejected message is neither delivered nor answered twice.
    fn check_no_reject(&self, line: u32, what: &str) -> Result<(), RuntimeError> {
        match self.reject_line {
            Some(at) => Err(RuntimeError::new(
                line,
                format!(
                    "{what} conflicts with the reject on line {at}: a rejected message cannot also be {} (RFC 5429 §2.2)",
                    if what == "vacation" {
                        "answered with a vacation reply"
                    } else {
                        "delivered"
                    }
                ),
            )),
            None => Ok(()),
        }
    }

    /// `keep` (mailbox `None`) or `fileinto`. Storing twice into one mailbox stores
    /// once, with the later flags (RFC 5228 §4.1).
    pub(crate) fn store(
        &mut self,
        line: u32,
        mailbox: Option<String>,
        flags: Vec<String>,
        copy: bool,
        create: bool,
    ) -> Result<(), RuntimeError> {
        let what = if mailbox.is_some() {
            "fileinto"
        } else {
            "keep"
        };
        self.check_no_reject(line, what)?;
        self.delivery_line.get_or_insert((line, what));
        if mailbox.is_none() || !copy {
            self.keep_cancelled = true;
        }
        let message = self.msg.current();
        for action in &mut self.actions {
            match action {
                Action::Keep {
                    flags: f,
                    message: m,
                    ..
                } if same_mailbox(None, mailbox.as_deref()) => {
                    *f = flags;
                    *m = message;
                    return Ok(());
                }
                Action::FileInto {
                    mailbox: existing,
                    flags: f,
                    copy: c,
                    create: cr,
                    message: m,
                } if same_mailbox(Some(existing), mailbox.as_deref()) => {
                    *f = flags;
                    *c &= copy;
                    *cr |= create;
                    *m = message;
                    return Ok(());
                }
                _ => {}
            }
        }
        let action = match mailbox {
            None => Action::Keep {
                flags,
                implicit: false,
                message,
            },
            Some(mailbox) => Action::FileInto {
                mailbox,
                flags,
                copy,
                create,
                message,
            },
        };
        self.push(line, action)
    }

    /// `discard` (RFC 5228 §4.4).
    pub(crate) fn discard(&mut self, line: u32) -> Result<(), RuntimeError> {
        self.keep_cancelled = true;
        if !self.actions.iter().any(|a| matches!(a, Action::Discard)) {
            self.push(line, Action::Discard)?;
        }
        Ok(())
    }

    /// `redirect` (RFC 5228 §4.2): once per address, at most `max_redirects`.
    pub(crate) fn redirect(
        &mut self,
        line: u32,
        address: String,
        copy: bool,
    ) -> Result<(), RuntimeError> {
        if !is_addr_spec(&address) {
            return Err(RuntimeError::new(
                line,
                format!("redirect: '{address}' is not a valid e-mail address"),
            ));
        }
        self.check_no_reject(line, "redirect")?;
        self.delivery_line.get_or_insert((line, "redirect"));
        if !copy {
            self.keep_cancelled = true;
        }
        let address = bare(&address);
        let message = self.msg.current();
        for action in &mut self.actions {
            if let Action::Redirect {
                address: existing,
                copy: c,
                message: m,
            } = action
                && existing.eq_ignore_ascii_case(&address)
            {
                *c &= copy;
                *m = message;
                return Ok(());
            }
        }
        self.redirects += 1;
        if self.redirects > self.options.limits.max_redirects {
            return Err(RuntimeError::limit(
                line,
                format!(
                    "the script redirects to more than {} addresses",
                    self.options.limits.max_redirects
                ),
            ));
        }
        self.push(
            line,
            Action::Redirect {
                address,
                copy,
                message,
            },
        )
    }

    /// `reject` and `ereject` (RFC 5429 §2.1–§2.2).
    pub(crate) fn reject(
        &mut self,
        line: u32,
        reason: String,
        extended: bool,
    ) -> Result<(), RuntimeError> {
        if let Some(at) = self.reject_line {
            return Err(RuntimeError::new(
                line,
                format!("a message can be rejected only once (already rejected on line {at})"),
            ));
        }
        if let Some((at, what)) = self.delivery_line {
            return Err(RuntimeError::new(
                line,
                format!(
                    "reject conflicts with the {what} on line {at}: a delivered message cannot also be rejected (RFC 5429 §2.2)"
                ),
            ));
        }
        if let Some(at) = self.vacation_line {
            return Err(RuntimeError::new(
                line,
                format!(
                    "reject conflicts with the vacation on line {at}: the sender would get two answers (RFC 5429 §2.2)"
                ),
            ));
        }
        self.reject_line = Some(line);
        self.keep_cancelled = true;
        self.push(line, Action::Reject { reason, extended })
    }

    /// `vacation` (RFC 5230 §4, RFC 6131 §2): resolves every parameter and the
    /// reasons not to answer that the message itself shows.
    pub(crate) fn vacation(
        &mut self,
        frame: &Frame,
        line: u32,
        cmd: &VacationCmd,
    ) -> Result<(), RuntimeError> {
        if let Some(at) = self.vacation_line {
            return Err(RuntimeError::new(
                line,
                format!(
                    "only one vacation action per message is allowed (the first was on line {at})"
                ),
            ));
        }
        self.check_no_reject(line, "vacation")?;
        self.vacation_line = Some(line);
        let expand = |s: &Option<Str>| s.as_ref().map(|s| self.expand(frame, s));
        let reason = self.expand(frame, &cmd.reason);
        let subject_given = expand(&cmd.subject);
        let from_given = expand(&cmd.from);
        let handle_given = expand(&cmd.handle);
        let envelope = &self.input.envelope;
        let mut user_addresses = vec![envelope.to.clone()];
        for address in self.expand_all(frame, &cmd.addresses) {
            user_addresses.push(bare(&address));
        }
        if let Some(from) = &from_given {
            user_addresses.push(bare(from));
        }
        let limits = &self.options.limits;
        let period = match cmd.period {
            Period::Default => 7 * 86_400,
            Period::Days(days) => days.saturating_mul(86_400),
            Period::Seconds(seconds) => seconds,
        }
        .clamp(
            limits.vacation_min_period,
            limits.vacation_max_period.max(limits.vacation_min_period),
        );
        let handle = handle_given.unwrap_or_else(|| {
            format!(
                "{reason}{}{}{}",
                subject_given.as_deref().unwrap_or("<default-subject>"),
                from_given.as_deref().unwrap_or("<default-from>"),
                if cmd.mime { "<MIME>" } else { "<NO-MIME>" }
            )
        });
        let original_subject = self.msg.first("subject").unwrap_or_default();
        let reply = VacationReply {
            recipient: envelope.from.clone(),
            from: from_given.unwrap_or_else(|| envelope.to.clone()),
            subject: subject_given
                .clone()
                .unwrap_or_else(|| format!("Auto: {original_subject}").trim_end().to_string()),
            subject_given: subject_given.is_some(),
            reason,
            mime: cmd.mime,
            handle,
            period,
            suppressed: self.vacation_suppression(&user_addresses),
            addresses: user_addresses,
            in_reply_to: self.msg.first("message-id").map(|s| s.trim().to_string()),
            references: self.msg.first("references"),
        };
        self.push(line, Action::Vacation(Box::new(reply)))
    }

    /// Why not to answer (RFC 5230 §4.5–§4.6, RFC 3834 §2), or `None`.
    fn vacation_suppression(&self, user_addresses: &[String]) -> Option<VacationSuppression> {
        let sender = &self.input.envelope.from;
        if sender.is_empty() {
            return Some(VacationSuppression::NullSender);
        }
        let (local, _) = split_address(sender);
        let local = local.to_ascii_lowercase();
        if ["mailer-daemon", "listserv", "majordomo"].contains(&local.as_str())
            || local.starts_with("owner-")
            || local.ends_with("-request")
        {
            return Some(VacationSuppression::SystemSender);
        }
        if user_addresses
            .iter()
            .any(|a| a.eq_ignore_ascii_case(sender))
        {
            return Some(VacationSuppression::OwnAddress);
        }
        if let Some(auto) = self.msg.first("auto-submitted") {
            let kind = auto
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            if kind != "no" {
                return Some(VacationSuppression::AutoSubmitted);
            }
        }
        let precedence = self
            .msg
            .first("precedence")
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if ["bulk", "list", "junk"].contains(&precedence.as_str())
            || self.msg.fields.iter().any(|f| {
                f.name
                    .get(..5)
                    .is_some_and(|p| p.eq_ignore_ascii_case("list-"))
                    && f.name.len() > 5
            })
        {
            return Some(VacationSuppression::MailingList);
        }
        let addressed = ["to", "cc", "bcc", "resent-to", "resent-cc", "resent-bcc"]
            .iter()
            .flat_map(|name| select(&self.msg.fields, name, None))
            .flat_map(addresses)
            .any(|(local, domain)| {
                let full = match domain {
                    Some(d) => format!("{local}@{d}"),
                    None => local,
                };
                user_addresses.iter().any(|a| a.eq_ignore_ascii_case(&full))
            });
        (!addressed).then_some(VacationSuppression::NotAddressed)
    }

    /// `notify` (RFC 5435 §3, RFC 5436): one notification per method URI.
    pub(crate) fn notify(
        &mut self,
        frame: &Frame,
        line: u32,
        cmd: &NotifyCmd,
    ) -> Result<(), RuntimeError> {
        let method = self.expand(frame, &cmd.method);
        mailto::check_method(&method)
            .map_err(|m| RuntimeError::new(line, format!("notify: {m}")))?;
        let uri = mailto::parse_mailto(&method)
            .map_err(|m| RuntimeError::new(line, format!("notify: {m}")))?;
        let importance = match cmd.importance.as_ref().map(|s| self.expand(frame, s)) {
            None => 2,
            Some(value) => match value.as_str() {
                "1" => 1,
                "2" => 2,
                "3" => 3,
                other => {
                    return Err(RuntimeError::new(
                        line,
                        format!("notify: importance must be 1, 2 or 3, not '{other}'"),
                    ));
                }
            },
        };
        let message = match &cmd.message {
            Some(m) => self.expand(frame, m),
            None => format!(
                "{}: {}",
                self.msg.first("from").unwrap_or_default(),
                self.msg.first("subject").unwrap_or_default()
            ),
        };
        let notification = Notification {
            recipients: uri.to,
            uri_headers: uri.headers,
            from: cmd.from.as_ref().map(|s| self.expand(frame, s)),
            importance,
            options: self.expand_all(frame, &cmd.options),
            message,
            method,
        };
        if self
            .actions
            .iter()
            .any(|a| matches!(a, Action::Notify(n) if n.method == notification.method))
        {
            return Ok(());
        }
        self.push(line, Action::Notify(Box::new(notification)))
    }

    fn count_edit(&mut self, line: u32, edit: HeaderEdit) -> Result<(), RuntimeError> {
        if self.edits.len() >= self.options.limits.max_header_edits {
            return Err(RuntimeError::limit(
                line,
                format!(
                    "the script edited the header more than {} times",
                    self.options.limits.max_header_edits
                ),
            ));
        }
        self.edits.push(edit);
        Ok(())
    }

    /// `addheader` (RFC 5293 §4).
    pub(crate) fn add_header(
        &mut self,
        line: u32,
        name: &str,
        value: &str,
        last: bool,
    ) -> Result<(), RuntimeError> {
        if !is_header_name(name) {
            return Err(RuntimeError::new(
                line,
                format!("addheader: '{name}' is not a valid header field name"),
            ));
        }
        let written = self.msg.add(name, value, last);
        self.count_edit(
            line,
            HeaderEdit::Added {
                name: name.to_string(),
                value: written,
                last,
            },
        )
    }

    /// `deleteheader` (RFC 5293 §5): the indexed occurrence, or every occurrence
    /// whose value matches a pattern, or all of them.
    pub(crate) fn delete_header(
        &mut self,
        frame: &Frame,
        line: u32,
        index: Option<Index>,
        spec: MatchSpec,
        name: &Str,
        patterns: Option<&[Str]>,
    ) -> Result<(), RuntimeError> {
        let name = self.expand(frame, name);
        if !is_header_name(&name) {
            return Err(RuntimeError::new(
                line,
                format!("deleteheader: '{name}' is not a valid header field name"),
            ));
        }
        if PROTECTED.iter().any(|p| p.eq_ignore_ascii_case(&name)) {
            return Ok(());
        }
        let chosen = select_indices(&self.msg.fields, &name, index);
        let mut remove = vec![false; self.msg.fields.len()];
        for i in chosen {
            let hit = match patterns {
                None => true,
                Some(patterns) => {
                    let value = self
                        .msg
                        .fields
                        .get(i)
                        .map(|f| f.decoded())
                        .unwrap_or_default();
                    self.compare(frame, line, spec, std::slice::from_ref(&value), patterns)?
                }
            };
            if let Some(slot) = remove.get_mut(i) {
                *slot = hit;
            }
        }
        let count = self.msg.delete(&remove);
        if count > 0 {
            self.count_edit(line, HeaderEdit::Deleted { name, count })?;
        }
        Ok(())
    }
}
