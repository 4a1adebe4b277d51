//! The Date header (RFC 5322 §3.3 and the obsolete forms of §4.3) parsed to a UTC
//! Unix timestamp for IMAP `SORT DATE` and THREAD, and to the day it names as written
//! for `SEARCH SENTBEFORE` and friends.
//!
//! Tolerant: day names optional, comments ignored, two- and three-digit years,
//! zone names and military zones, missing seconds, asctime order, ISO dates.
//! Returns `None` rather than guess when a field is out of range. Does no I/O.

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Named zones (RFC 5322 §4.3 plus common abbreviations), offsets in minutes.
const ZONES: &[(&str, i64)] = &[
    ("ut", 0),
    ("utc", 0),
    ("gmt", 0),
    ("z", 0),
    ("est", -300),
    ("edt", -240),
    ("cst", -360),
    ("cdt", -300),
    ("mst", -420),
    ("mdt", -360),
    ("pst", -480),
    ("pdt", -420),
    ("bst", 60),
    ("cet", 60),
    ("met", 60),
    ("cest", 120),
    ("mest", 120),
    ("eet", 120),
    ("eest", 180),
    ("jst", 540),
    ("kst", 540),
];

#[derive(Default)]
struct DateFields {
    day: Option<i64>,
    month: Option<i64>,
    year: Option<i64>,
    time: Option<(i64, i64, i64)>,
    zone_minutes: Option<i64>,
}

/// Parses a Date header value to seconds since the Unix epoch (UTC); `None` when no
/// date can be read.
pub fn parse_date(value: &[u8]) -> Option<i64> {
    let d = parse_written(value)?;
    let offset = d.zone_minutes * 60;
    Some(d.days * 86_400 + d.hour * 3_600 + d.minute * 60 + d.second - offset)
}

/// The day a Date header value names, as written: days since 1970-01-01 of its
/// date part, its time and zone disregarded (`SENTBEFORE`, `SENTON` and `SENTSINCE`
/// compare this, RFC 9051 §6.4.4). `Sat, 2 Jan 2021 01:00 +0200` is 2 January even
/// though it is 1 January in UTC. `None` when no date can be read.
pub fn parse_date_day(value: &[u8]) -> Option<i64> {
    parse_written(value).map(|d| d.days)
}

/// A Date value as written, validated.
struct Written {
    /// Days since 1970-01-01 of the date part.
    days: i64,
    hour: i64,
    minute: i64,
    second: i64,
    zone_minutes: i64,
}

fn parse_written(value: &[u8]) -> Option<Written> {
    let text = strip_comments(value);
    let mut fields = DateFields::default();
    for token in text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
    {
        read_token(token, &mut fields);
    }
    let year = fields.year?;
    let month = fields.month?;
    let day = fields.day?;
    if !(1..=9999).contains(&year) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let (hour, minute, second) = fields.time.unwrap_or((0, 0, 0));
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    Some(Written {
        days: days_from_civil(year, month, day),
        hour,
        minute,
        second: second.min(59),
        zone_minutes: fields.zone_minutes.unwrap_or(0),
    })
}

fn strip_comments(value: &[u8]) -> String {
    let mut out = String::with_capacity(value.len());
    let mut depth = 0usize;
    for &byte in value {
        match byte {
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            _ if depth > 0 => {}
            _ if byte.is_ascii() => out.push(byte as char),
            _ => out.push(' '),
        }
    }
    out
}

fn read_token(token: &str, fields: &mut DateFields) {
    let lower = token.to_ascii_lowercase();
    if token.contains(':') && token.starts_with(|c: char| c.is_ascii_digit()) {
        if fields.time.is_none() {
            fields.time = parse_time(token);
        }
    } else if let Some(zone) = parse_numeric_zone(token) {
        fields.zone_minutes.get_or_insert(zone);
    } else if let Some((year, month, day)) = parse_iso_date(token) {
        fields.year = Some(year);
        fields.month = Some(month);
        fields.day = Some(day);
    } else if token.bytes().all(|b| b.is_ascii_digit()) {
        let number: i64 = token
            .get(..token.len().min(6))
            .and_then(|digits| digits.parse().ok())
            .unwrap_or(-1);
        if token.len() <= 2 && fields.day.is_none() {
            fields.day = Some(number);
        } else if fields.year.is_none() {
            fields.year = Some(number);
            fields.year_digits(token.len());
        }
    } else if token.bytes().all(|b| b.is_ascii_alphabetic() || b == b'.') {
        read_word(lower.trim_end_matches('.'), fields);
    }
}

impl DateFields {
    /// Records how many digits the year had (RFC 5322 §4.3 interprets 2 and 3).
    fn year_digits(&mut self, digits: usize) {
        if let Some(year) = self.year.as_mut() {
            if digits == 3 {
                *year += 1900;
            } else if digits == 2 {
                *year += if *year < 50 { 2000 } else { 1900 };
            }
        }
    }
}

fn read_word(word: &str, fields: &mut DateFields) {
    if word.len() >= 3 {
        if let Some(index) = MONTHS.iter().position(|m| word.starts_with(m)) {
            fields.month.get_or_insert(index as i64 + 1);
            return;
        }
        if DAYS.iter().any(|d| word.starts_with(d)) {
            return;
        }
    }
    if let Some((_, minutes)) = ZONES.iter().find(|(name, _)| *name == word) {
        fields.zone_minutes.get_or_insert(*minutes);
    } else if word.len() == 1 {
        // Military zones: RFC 5322 §4.3 says to treat them as -0000.
        fields.zone_minutes.get_or_insert(0);
    }
}

fn parse_time(token: &str) -> Option<(i64, i64, i64)> {
    let mut parts = token.split(':');
    let hour = parts.next()?.parse().ok()?;
    let minute = parts.next()?.get(..2)?.parse().ok()?;
    let second = match parts.next() {
        Some(s) => s.get(..2.min(s.len()))?.parse().ok()?,
        None => 0,
    };
    Some((hour, minute, second))
}

fn parse_numeric_zone(token: &str) -> Option<i64> {
    let sign = match token.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = token[1..].chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i64 = digits[..2].parse().ok()?;
    let minutes: i64 = digits[2..].parse().ok()?;
    if minutes > 59 {
        return None;
    }
    Some(sign * (hours * 60 + minutes))
}

fn parse_iso_date(token: &str) -> Option<(i64, i64, i64)> {
    let mut parts = token.splitn(3, '-');
    let year = parts.next()?;
    let month = parts.next()?;
    let day = parts.next()?;
    if year.len() != 4 {
        return None;
    }
    Some((
        year.parse().ok()?,
        month.parse().ok()?,
        day.get(..2)?.parse().ok()?,
    ))
}

fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_table() {
        let table: &[(&str, Option<i64>)] = &[
            // RFC 5322 Appendix A.1.1
            ("Fri, 21 Nov 1997 09:55:06 -0600", Some(880_127_706)),
            ("Tue, 1 Jul 2003 10:52:37 +0200", Some(1_057_049_557)),
            ("Thu, 13 Feb 1969 23:32:54 -0330", Some(-27_723_426)),
            // RFC 5322 Appendix A.6.3 (obsolete, with comments and folding)
            (
                "Thu,\r\n      13\r\n        Feb\r\n          1969\r\n      23:32\r\n               -0330 (Newfoundland Time)",
                Some(-27_723_480),
            ),
            ("21 Nov 97 09:55:06 GMT", Some(880_106_106)),
            ("Fri, 21 Nov 1997 09:55:06 EST", Some(880_124_106)),
            ("Fri, 21 Nov 1997 09:55:06 PDT", Some(880_131_306)),
            ("Fri, 21 Nov 1997 09:55:06 Z", Some(880_106_106)),
            ("Fri, 21 Nov 1997 09:55:06 A", Some(880_106_106)),
            ("21 Nov 097 09:55:06 +0000", Some(880_106_106)),
            ("1 Jan 2000 00:00:00 +0000", Some(946_684_800)),
            ("1 Jan 49 00:00:00 +0000", Some(2_493_072_000)),
            ("1 Jan 50 00:00:00 +0000", Some(-631_152_000)),
            ("Sat, 01 January 2000 00:00 +0000 (UTC)", Some(946_684_800)),
            ("Mon Jan  3 04:05:06 2000", Some(946_872_306)),
            ("2000-01-03 04:05:06 +01:00", Some(946_868_706)),
            ("Mon, 29 Feb 2016 12:00:00 +0000", Some(1_456_747_200)),
            ("31 Dec 1999 23:59:60 +0000", Some(946_684_799)),
            ("Tue, 29 Feb 2015 12:00:00 +0000", None),
            ("1 Foo 2000 00:00 +0000", None),
            ("25:00 1 Jan 2000", None),
            ("", None),
            ("garbage", None),
            ("99999999999999 Jan 1", None),
        ];
        for (value, expected) in table {
            assert_eq!(parse_date(value.as_bytes()), *expected, "{value}");
        }
    }

    #[test]
    fn written_day_ignores_time_and_zone() {
        let day = |s: &str| parse_date_day(s.as_bytes());
        let jan2 = days_from_civil(2021, 1, 2);
        // RFC 9051 §6.4.4: the date part as written; converting to UTC first would
        // move each of these to a neighbouring day.
        assert_eq!(day("Sat, 2 Jan 2021 01:00:00 +0200"), Some(jan2));
        assert_eq!(day("Sat, 2 Jan 2021 23:30:00 -0500"), Some(jan2));
        assert_eq!(day("2 Jan 2021 23:59:59 PST"), Some(jan2));
        assert_eq!(day("2021-01-02 00:30 +14:00"), Some(jan2));
        assert_eq!(
            parse_date(b"Sat, 2 Jan 2021 01:00:00 +0200"),
            Some(1_609_542_000)
        );
        assert_eq!(day("garbage"), None);
        assert_eq!(day("Tue, 29 Feb 2015 12:00:00 +0000"), None);
    }

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
    }
}
