//! Dates for the `date` and `currentdate` tests (RFC 5260 §4–§5): reading an
//! RFC 5322 §3.3 date with its zone (the obsolete forms of §4.3 included), and
//! rendering the date parts of RFC 5260 §4.2 in a chosen zone.
//!
//! Pure arithmetic on the proleptic Gregorian calendar; `None` rather than a guess
//! when a field is out of range. Never panics.

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAY_NAMES: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/// Named zones of RFC 5322 §4.3, minutes east of UTC.
const ZONES: [(&str, i32); 10] = [
    ("ut", 0),
    ("gmt", 0),
    ("est", -300),
    ("edt", -240),
    ("cst", -360),
    ("cdt", -300),
    ("mst", -420),
    ("mdt", -360),
    ("pst", -480),
    ("pdt", -420),
];

/// Days since 1970-01-01 of a civil date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn strip_comments(value: &str) -> String {
    let mut depth = 0usize;
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn zone_token(token: &str) -> Option<i32> {
    let bytes = token.as_bytes();
    if bytes.len() == 5 && (bytes[0] == b'+' || bytes[0] == b'-') {
        if !bytes[1..].iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n: i32 = token.get(1..)?.parse().ok()?;
        let minutes = (n / 100) * 60 + n % 100;
        if n % 100 >= 60 {
            return None;
        }
        return Some(if bytes[0] == b'-' { -minutes } else { minutes });
    }
    let lower = token.to_ascii_lowercase();
    if let Some((_, offset)) = ZONES.iter().find(|(name, _)| *name == lower) {
        return Some(*offset);
    }
    // Military zones are unreliable (RFC 5322 §4.3): read as UTC.
    (lower.len() == 1 && lower.as_bytes()[0].is_ascii_alphabetic()).then_some(0)
}

/// Reads an RFC 5322 date: seconds since the epoch (UTC) and the zone written,
/// in minutes east of UTC.
pub(crate) fn parse(value: &str) -> Option<(i64, i32)> {
    let text = strip_comments(value);
    let (mut day, mut month, mut year, mut time, mut zone) = (None, None, None, None, None);
    for token in text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
    {
        let lower = token.to_ascii_lowercase();
        if let Some(i) = MONTHS.iter().position(|m| lower.starts_with(m)) {
            month = month.or(Some(i as i64 + 1));
        } else if token.contains(':') {
            let parts: Vec<i64> = token
                .split(':')
                .map(|p| p.parse().ok())
                .collect::<Option<Vec<_>>>()?;
            time = match parts.as_slice() {
                [h, m] => Some((*h, *m, 0)),
                [h, m, s] => Some((*h, *m, *s)),
                _ => return None,
            };
        } else if token.bytes().all(|b| b.is_ascii_digit()) {
            let n: i64 = token.parse().ok()?;
            if day.is_none() && token.len() <= 2 && month.is_none() && year.is_none() {
                day = Some(n);
            } else if year.is_none() {
                year = Some(match token.len() {
                    1 | 2 if n < 50 => 2000 + n,
                    1 | 2 => 1900 + n,
                    3 => 1900 + n,
                    _ => n,
                });
            } else {
                return None;
            }
        } else if let Some(z) = zone_token(token) {
            zone = Some(z);
        }
    }
    let (day, month, year) = (day?, month?, year?);
    let (hour, minute, second) = time?;
    if !(1..=days_in_month(year, month)).contains(&day)
        || !(0..=23).contains(&hour)
        || !(0..=59).contains(&minute)
        || !(0..=60).contains(&second)
        || !(0..=9999).contains(&year)
    {
        return None;
    }
    let zone = zone.unwrap_or(0);
    let local = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    Some((local - i64::from(zone) * 60, zone))
}

fn zone_string(zone: i32, colon: bool) -> String {
    let sign = if zone < 0 { '-' } else { '+' };
    let abs = zone.unsigned_abs();
    if colon {
        format!("{sign}{:02}:{:02}", abs / 60, abs % 60)
    } else {
        format!("{sign}{:02}{:02}", abs / 60, abs % 60)
    }
}

/// A date part of RFC 5260 §4.2 for the instant `utc` seen in `zone`; `None` for an
/// unknown part name.
pub(crate) fn part(name: &str, utc: i64, zone: i32) -> Option<String> {
    let local = utc.checked_add(i64::from(zone) * 60)?;
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let (hour, minute, second) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let weekday = (days + 4).rem_euclid(7);
    Some(match name.to_ascii_lowercase().as_str() {
        "year" => format!("{year:04}"),
        "month" => format!("{month:02}"),
        "day" => format!("{day:02}"),
        "date" => format!("{year:04}-{month:02}-{day:02}"),
        // Modified Julian Day: days since 1858-11-17.
        "julian" => (days + 40_587).to_string(),
        "hour" => format!("{hour:02}"),
        "minute" => format!("{minute:02}"),
        "second" => format!("{second:02}"),
        "time" => format!("{hour:02}:{minute:02}:{second:02}"),
        "iso8601" => format!(
            "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{}",
            zone_string(zone, true)
        ),
        "std11" => format!(
            "{}, {day:02} {} {year:04} {hour:02}:{minute:02}:{second:02} {}",
            DAY_NAMES[usize::try_from(weekday).unwrap_or(0) % 7],
            capitalise(MONTHS[usize::try_from(month - 1).unwrap_or(0) % 12]),
            zone_string(zone, false)
        ),
        "zone" => zone_string(zone, false),
        "weekday" => weekday.to_string(),
        _ => return None,
    })
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_5322_dates_with_their_zone() {
        let (utc, zone) = parse("Tue, 1 Jul 2025 10:20:30 +0200").unwrap();
        assert_eq!(zone, 120);
        assert_eq!(utc, 1_751_358_030);
        assert_eq!(parse("1 Jul 25 10:20 EDT").unwrap().1, -240);
        assert_eq!(
            parse("Tue, 1 Jul 2025 10:20:30 +0200 (CEST)").unwrap().0,
            utc
        );
        assert!(parse("31 Feb 2025 10:00:00 +0000").is_none());
        assert!(parse("garbage").is_none());
        assert!(parse("1 Jul 2025 25:00:00 +0000").is_none());
    }

    #[test]
    fn date_parts_of_rfc_5260_section_4_2() {
        let (utc, zone) = parse("Tue, 1 Jul 2025 10:20:30 +0200").unwrap();
        let table = [
            ("year", "2025"),
            ("month", "07"),
            ("day", "01"),
            ("date", "2025-07-01"),
            ("julian", "60857"),
            ("hour", "10"),
            ("minute", "20"),
            ("second", "30"),
            ("time", "10:20:30"),
            ("iso8601", "2025-07-01T10:20:30+02:00"),
            ("std11", "Tue, 01 Jul 2025 10:20:30 +0200"),
            ("zone", "+0200"),
            ("weekday", "2"),
        ];
        for (name, expected) in table {
            assert_eq!(part(name, utc, zone).unwrap(), expected, "{name}");
        }
        assert_eq!(part("hour", utc, 0).unwrap(), "08");
        assert_eq!(part("date", utc, -600).unwrap(), "2025-06-30");
        assert!(part("bogus", utc, 0).is_none());
    }
}
