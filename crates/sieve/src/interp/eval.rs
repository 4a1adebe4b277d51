//! Evaluation of tests: what values each test extracts from the message, envelope,
//! variables or caller (RFC 5228 §5 and the extensions' tests), and the comparison of
//! those values with the keys (RFC 5228 §2.7, RFC 5231).
//!
//! Every comparison is charged to the run's step budget. Never panics.

use crate::error::RuntimeError;
use crate::mailto;
use crate::script::{
    AddressPart, BodyTransform, DuplicateSource, DuplicateTest, MatchKind, MatchSpec, Str, Test,
    TestKind, ZoneSpec,
};

use super::body::{self, Selection};
use super::matching::{self, MatchResult};
use super::message::{address_part, addresses, select, split_address};
use super::{Frame, Run, datetime};

impl Run<'_, '_> {
    /// Evaluates one test.
    pub(crate) fn test(&mut self, frame: &mut Frame, test: &Test) -> Result<bool, RuntimeError> {
        self.step(test.line)?;
        match &test.kind {
            TestKind::True => Ok(true),
            TestKind::False => Ok(false),
            TestKind::Not(inner) => Ok(!self.test(frame, inner)?),
            TestKind::AllOf(tests) => {
                for t in tests {
                    if !self.test(frame, t)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            TestKind::AnyOf(tests) => {
                for t in tests {
                    if self.test(frame, t)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            TestKind::Exists(names) => Ok(self
                .expand_all(frame, names)
                .iter()
                .all(|name| self.msg.exists(name))),
            TestKind::Size { over, limit } => {
                let size = u64::try_from(self.msg.size()).unwrap_or(u64::MAX);
                Ok(if *over { size > *limit } else { size < *limit })
            }
            TestKind::MailboxExists(names) => {
                for name in self.expand_all(frame, names) {
                    if !self.host.mailbox_exists(&name) {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            TestKind::Duplicate(dup) => self.duplicate(frame, dup),
            TestKind::ValidNotifyMethod(uris) => Ok(self
                .expand_all(frame, uris)
                .iter()
                .all(|uri| mailto::check_method(uri).is_ok())),
            TestKind::Address { .. }
            | TestKind::Header { .. }
            | TestKind::Envelope { .. }
            | TestKind::Body { .. }
            | TestKind::Date { .. }
            | TestKind::CurrentDate { .. } => self.message_test(frame, test),
            _ => self.other_test(frame, test),
        }
    }

    /// Tests that compare parts of the message or envelope (RFC 5228 §5.1, §5.4,
    /// §5.7, RFC 5173, RFC 5260).
    fn message_test(&mut self, frame: &mut Frame, test: &Test) -> Result<bool, RuntimeError> {
        let line = test.line;
        match &test.kind {
            TestKind::Address {
                spec,
                part,
                index,
                headers,
                keys,
            } => {
                let mut values = Vec::new();
                for name in self.expand_all(frame, headers) {
                    for field in select(&self.msg.fields, &name, *index) {
                        let found = addresses(field);
                        // RFC 5228 §2.7.4: a value that holds no valid address is
                        // matched as it is by :all, and never by the other parts.
                        if found.is_empty() && *part == AddressPart::All {
                            let raw = field.decoded().trim().to_string();
                            if !raw.is_empty() {
                                values.push(raw);
                            }
                        }
                        for (local, domain) in found {
                            values.extend(address_part(&local, domain.as_deref(), *part));
                        }
                    }
                }
                self.compare(frame, line, *spec, &values, keys)
            }
            TestKind::Header {
                spec,
                index,
                headers,
                keys,
            } => {
                let mut values = Vec::new();
                for name in self.expand_all(frame, headers) {
                    values.extend(self.msg.values(&name, *index));
                }
                self.compare(frame, line, *spec, &values, keys)
            }
            TestKind::Envelope {
                spec,
                part,
                parts,
                keys,
            } => {
                let values = self.envelope_values(frame, *part, parts);
                self.compare(frame, line, *spec, &values, keys)
            }
            TestKind::Body {
                spec,
                transform,
                keys,
            } => {
                let types;
                let selection = match transform {
                    BodyTransform::Raw => Selection::Raw,
                    BodyTransform::Text => Selection::Text,
                    BodyTransform::Content(list) => {
                        types = self.expand_all(frame, list);
                        Selection::Content(&types)
                    }
                };
                let structure = self
                    .structure
                    .get_or_insert_with(|| pillarbox_mime::parse(self.input.message));
                let values = body::texts(
                    self.input.message,
                    structure,
                    self.msg.body_start,
                    selection,
                );
                let cost = values.iter().map(String::len).sum::<usize>() / 1024;
                for _ in 0..cost {
                    self.step(line)?;
                }
                self.compare(frame, line, *spec, &values, keys)
            }
            TestKind::Date {
                spec,
                index,
                zone,
                header,
                part,
                keys,
            } => {
                let header = self.expand(frame, header);
                let part = self.expand(frame, part);
                let zone_minutes = self.zone(frame, zone);
                let mut values = Vec::new();
                for field in select(&self.msg.fields, &header, *index) {
                    let text = field.decoded();
                    // A Received field's date follows its last ';' (RFC 5321 §4.4).
                    let text = if header.eq_ignore_ascii_case("received") {
                        text.rsplit(';').next().unwrap_or_default().to_string()
                    } else {
                        text
                    };
                    if let Some((utc, original)) = datetime::parse(&text) {
                        let shown = zone_minutes.unwrap_or(original);
                        values.extend(datetime::part(&part, utc, shown));
                    }
                }
                self.compare(frame, line, *spec, &values, keys)
            }
            TestKind::CurrentDate {
                spec,
                zone,
                part,
                keys,
            } => {
                let part = self.expand(frame, part);
                let zone = self
                    .zone(frame, zone)
                    .unwrap_or(self.input.zone_offset_minutes);
                let values: Vec<String> = datetime::part(&part, self.input.now, zone)
                    .into_iter()
                    .collect();
                self.compare(frame, line, *spec, &values, keys)
            }
            _ => Ok(false),
        }
    }

    /// Tests over variables, flags, notification methods, scores and the
    /// environment (RFC 5229 §5, RFC 5232 §4, RFC 5435 §5, RFC 5235, RFC 5183).
    fn other_test(&mut self, frame: &mut Frame, test: &Test) -> Result<bool, RuntimeError> {
        let line = test.line;
        match &test.kind {
            TestKind::String {
                spec,
                sources,
                keys,
            } => {
                let mut values = self.expand_all(frame, sources);
                // RFC 5229 §5: :count counts only the non-empty strings.
                if matches!(spec.kind, MatchKind::Count(_)) {
                    values.retain(|v| !v.is_empty());
                }
                self.compare(frame, line, *spec, &values, keys)
            }
            TestKind::HasFlag {
                spec,
                variables,
                flags,
            } => {
                let values = match variables {
                    None => self.flags.clone(),
                    Some(vars) => {
                        let mut all = Vec::new();
                        for var in vars {
                            all.extend(self.flags_of(frame, Some(var)));
                        }
                        all
                    }
                };
                let keys: Vec<Str> = if matches!(spec.kind, MatchKind::Count(_)) {
                    flags.clone()
                } else {
                    self.expand_all(frame, flags)
                        .iter()
                        .flat_map(|k| k.split_whitespace())
                        .map(|k| Str::Lit(k.to_string()))
                        .collect()
                };
                self.compare(frame, line, *spec, &values, &keys)
            }
            TestKind::NotifyMethodCapability {
                spec,
                uri,
                capability,
                keys,
            } => {
                let uri = self.expand(frame, uri);
                let capability = self.expand(frame, capability);
                let values: Vec<String> = mailto::capability(&uri, &capability)
                    .map(str::to_string)
                    .into_iter()
                    .collect();
                self.compare(frame, line, *spec, &values, keys)
            }
            TestKind::SpamTest {
                spec,
                percent,
                value,
            } => {
                let score = match (self.input.spam, percent) {
                    (None, _) => 0,
                    (Some(s), false) => s.score.min(10),
                    (Some(s), true) => s.percent.min(100),
                };
                self.compare(
                    frame,
                    line,
                    *spec,
                    &[score.to_string()],
                    std::slice::from_ref(value),
                )
            }
            TestKind::VirusTest { spec, value } => {
                let score = self.input.virus.map_or(0, |v| v.min(5));
                self.compare(
                    frame,
                    line,
                    *spec,
                    &[score.to_string()],
                    std::slice::from_ref(value),
                )
            }
            TestKind::Environment { spec, name, keys } => {
                let name = self.expand(frame, name);
                let values: Vec<String> = self.environment(&name).into_iter().collect();
                self.compare(frame, line, *spec, &values, keys)
            }
            _ => Ok(false),
        }
    }

    /// The zone to show a date in: `None` for the header's own zone. A `:zone`
    /// computed at run time that is not `+hhmm`/`-hhmm` is ignored (the local zone is
    /// used, as Pigeonhole does; a constant bad zone is refused at compile time).
    fn zone(&self, frame: &Frame, zone: &ZoneSpec) -> Option<i32> {
        let local = self.input.zone_offset_minutes;
        match zone {
            ZoneSpec::Original => None,
            ZoneSpec::Local => Some(local),
            ZoneSpec::Fixed(s) => {
                Some(crate::check::parse_zone(&self.expand(frame, s)).unwrap_or(local))
            }
        }
    }

    /// The addresses of the envelope parts (RFC 5228 §5.4): the null reverse-path
    /// is the empty string whatever the address part.
    fn envelope_values(&self, frame: &Frame, part: AddressPart, parts: &[Str]) -> Vec<String> {
        let envelope = &self.input.envelope;
        let mut values = Vec::new();
        for name in self.expand_all(frame, parts) {
            let address = match name.to_ascii_lowercase().as_str() {
                "from" => Some(envelope.from.as_str()),
                "to" => Some(envelope.to.as_str()),
                "auth" => envelope.auth.as_deref(),
                _ => None,
            };
            match address {
                Some("") => values.push(String::new()),
                Some(address) => {
                    let (local, domain) = split_address(address);
                    values.extend(address_part(&local, domain.as_deref(), part));
                }
                None => {}
            }
        }
        values
    }

    /// An environment item (RFC 5183 §4), with the engine's defaults.
    fn environment(&self, name: &str) -> Option<String> {
        if let Some((_, value)) = self
            .input
            .environment
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            return Some(value.clone());
        }
        Some(
            match name.to_ascii_lowercase().as_str() {
                "name" => "Pillarbox",
                "version" => env!("CARGO_PKG_VERSION"),
                "phase" => "during",
                "location" => "MDA",
                _ => return None,
            }
            .to_string(),
        )
    }

    /// `duplicate` (RFC 7352 §3): asks the caller whether the id was seen and
    /// records it for the caller to store after delivery.
    fn duplicate(&mut self, frame: &Frame, dup: &DuplicateTest) -> Result<bool, RuntimeError> {
        let id = match &dup.source {
            DuplicateSource::MessageId => self.msg.first("message-id"),
            DuplicateSource::Header(name) => {
                let name = self.expand(frame, name);
                self.msg.first(&name)
            }
            DuplicateSource::UniqueId(value) => Some(self.expand(frame, value)),
        };
        let Some(id) = id.map(|i| i.trim().to_string()).filter(|i| !i.is_empty()) else {
            return Ok(false);
        };
        let handle = dup
            .handle
            .as_ref()
            .map(|h| self.expand(frame, h))
            .unwrap_or_default();
        let seen = self.host.duplicate_seen(&handle, &id);
        if !self
            .duplicates
            .iter()
            .any(|d| d.handle == handle && d.id == id)
        {
            self.duplicates.push(crate::action::DuplicateRecord {
                handle,
                id,
                seconds: dup.seconds,
                last: dup.last,
            });
        }
        Ok(seen)
    }

    /// Compares values with keys (RFC 5228 §2.7.1): true when any value matches any
    /// key; `:count` compares the number of values (RFC 5231 §4.2).
    pub(crate) fn compare(
        &mut self,
        frame: &Frame,
        line: u32,
        spec: MatchSpec,
        values: &[String],
        keys: &[Str],
    ) -> Result<bool, RuntimeError> {
        let keys = self.expand_all(frame, keys);
        if let MatchKind::Count(relation) = spec.kind {
            return Ok(keys
                .iter()
                .any(|k| matching::count_matches(relation, spec.comparator, values.len(), k)));
        }
        let mut regexes = Vec::new();
        if spec.kind == MatchKind::Regex {
            for key in &keys {
                regexes.push(Some(self.regex(line, key, spec)?));
            }
        } else {
            regexes.resize(keys.len(), None);
        }
        for value in values {
            for (key, regex) in keys.iter().zip(&regexes) {
                let result = matching::match_one(
                    spec.kind,
                    spec.comparator,
                    value,
                    key,
                    regex.as_ref(),
                    &mut self.budget,
                )
                .map_err(|_| self.out_of_steps(line))?;
                match result {
                    MatchResult::No => {}
                    MatchResult::Yes => return Ok(true),
                    MatchResult::WithCaptures(captures) => {
                        self.set_matches(captures);
                        return Ok(true);
                    }
                }
            }
        }
        Ok(false)
    }

    fn regex(
        &mut self,
        line: u32,
        key: &str,
        spec: MatchSpec,
    ) -> Result<regex::Regex, RuntimeError> {
        let cache_key = (
            key.to_string(),
            spec.comparator == crate::script::Comparator::AsciiCasemap,
        );
        if let Some(regex) = self.regexes.get(&cache_key) {
            return Ok(regex.clone());
        }
        let max = self.options.limits.max_regexes;
        if self.regexes.len() >= max {
            return Err(RuntimeError::limit(
                line,
                format!("the script built more than {max} different regular expressions"),
            ));
        }
        let shared = self
            .shared_regexes
            .0
            .lock()
            .ok()
            .and_then(|m| m.get(&cache_key).cloned());
        let regex = match shared {
            Some(r) => r,
            None => {
                let r =
                    matching::build_regex(key, spec.comparator, self.options.limits.max_regex_size)
                        .map_err(|m| RuntimeError::new(line, m))?;
                if let Ok(mut m) = self.shared_regexes.0.lock()
                    && m.len() < crate::script::REGEX_CACHE_MAX
                {
                    m.insert(cache_key.clone(), r.clone());
                }
                r
            }
        };
        self.regexes.insert(cache_key, regex.clone());
        Ok(regex)
    }
}
