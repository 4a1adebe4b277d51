//! IMAP dates (`1-Feb-1994`) and date-times (`"17-Jul-1996 02:44:25 -0700"`):
//! RFC 9051 §9 `date`, `date-text`, `date-time`.
//!
//! Owns parsing from a token, the wire form for INTERNALDATE, and the conversion to and
//! from Unix time that SEARCH and APPEND need. Knows no clock and does no I/O.

use super::encode::push_num;

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// A calendar date as used by SEARCH (BEFORE, ON, SINCE, SENT*).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Four-digit year.
    pub year: u16,
    /// 1 to 12.
    pub month: u8,
    /// 1 to the length of the month.
    pub day: u8,
}

/// A date-time with its zone, as in APPEND and INTERNALDATE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateTime {
    /// The local date.
    pub date: Date,
    /// 0 to 23.
    pub hour: u8,
    /// 0 to 59.
    pub minute: u8,
    /// 0 to 60 (leap second).
    pub second: u8,
    /// Offset from UTC in minutes, `-0700` being -420.
    pub zone_minutes: i16,
}

impl Date {
    /// Checks ranges, including the month's length and leap years.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        let ok = (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
        ok.then_some(Date { year, month, day })
    }

    /// RFC 9051 §9 `date-text = date-day "-" date-month "-" date-year` (no quotes).
    pub fn parse(s: &[u8]) -> Option<Date> {
        let mut parts = s.split(|&b| b == b'-');
        let day = parts.next()?;
        let month = parts.next()?;
        let year = parts.next()?;
        if parts.next().is_some() || day.is_empty() || day.len() > 2 || year.len() != 4 {
            return None;
        }
        let day = digits(day)?;
        let year = digits(year)?;
        let month = parse_month(month)?;
        Date::new(u16::try_from(year).ok()?, month, u8::try_from(day).ok()?)
    }

    /// Days since 1970-01-01 (negative before).
    pub fn days_since_epoch(&self) -> i64 {
        days_from_civil(
            i64::from(self.year),
            i64::from(self.month),
            i64::from(self.day),
        )
    }

    /// Appends `d-Mon-yyyy` to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        push_num(out, u64::from(self.day));
        out.push(b'-');
        out.extend_from_slice(month_name(self.month));
        out.push(b'-');
        push_padded(out, u32::from(self.year), 4);
    }
}

impl DateTime {
    /// RFC 9051 §9 `date-time` without the surrounding quotes:
    /// `date-day-fixed "-" date-month "-" date-year SP time SP zone`. A day written
    /// with one digit and no padding space is accepted too.
    pub fn parse(s: &[u8]) -> Option<DateTime> {
        let s = s.strip_prefix(b" ").unwrap_or(s);
        let mut parts = s.split(|&b| b == b' ');
        let date = Date::parse(parts.next()?)?;
        let time = parts.next()?;
        let zone = parts.next()?;
        if parts.next().is_some() {
            return None;
        }
        let [h1, h2, b':', m1, m2, b':', s1, s2] = *time else {
            return None;
        };
        let hour = two_digits(h1, h2)?;
        let minute = two_digits(m1, m2)?;
        let second = two_digits(s1, s2)?;
        let [sign, z1, z2, z3, z4] = *zone else {
            return None;
        };
        let zh = i16::from(two_digits(z1, z2)?);
        let zm = i16::from(two_digits(z3, z4)?);
        let sign = match sign {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        if hour > 23 || minute > 59 || second > 60 || zm > 59 {
            return None;
        }
        Some(DateTime {
            date,
            hour,
            minute,
            second,
            zone_minutes: sign * (zh * 60 + zm),
        })
    }

    /// Seconds since the Unix epoch.
    pub fn unix_timestamp(&self) -> i64 {
        self.date.days_since_epoch() * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
            - i64::from(self.zone_minutes) * 60
    }

    /// The date-time at `timestamp` seen from a zone `zone_minutes` east of UTC.
    /// `None` outside the years 0 to 9999.
    pub fn from_unix(timestamp: i64, zone_minutes: i16) -> Option<DateTime> {
        let local = timestamp.checked_add(i64::from(zone_minutes) * 60)?;
        let days = local.div_euclid(86_400);
        let secs = local.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        let date = Date::new(u16::try_from(year).ok()?, month, day)?;
        if year > 9999 {
            return None;
        }
        Some(DateTime {
            date,
            hour: u8::try_from(secs / 3600).ok()?,
            minute: u8::try_from(secs % 3600 / 60).ok()?,
            second: u8::try_from(secs % 60).ok()?,
            zone_minutes,
        })
    }

    /// Appends the quoted wire form `"dd-Mon-yyyy hh:mm:ss +zzzz"` (day padded with a
    /// space, as `date-day-fixed` requires).
    pub fn write(&self, out: &mut Vec<u8>) {
        out.push(b'"');
        if self.date.day < 10 {
            out.push(b' ');
        }
        self.date.write(out);
        out.push(b' ');
        push_padded(out, u32::from(self.hour), 2);
        out.push(b':');
        push_padded(out, u32::from(self.minute), 2);
        out.push(b':');
        push_padded(out, u32::from(self.second), 2);
        out.push(b' ');
        out.push(if self.zone_minutes < 0 { b'-' } else { b'+' });
        let z = self.zone_minutes.unsigned_abs();
        push_padded(out, u32::from(z / 60), 2);
        push_padded(out, u32::from(z % 60), 2);
        out.push(b'"');
    }
}

fn month_name(month: u8) -> &'static [u8] {
    MONTHS
        .get(usize::from(month).wrapping_sub(1))
        .map_or(b"???", |m| &m[..])
}

fn parse_month(s: &[u8]) -> Option<u8> {
    let i = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(s))?;
    u8::try_from(i + 1).ok()
}

fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 9 {
        return None;
    }
    s.iter().try_fold(0u32, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
    })
}

fn two_digits(a: u8, b: u8) -> Option<u8> {
    (a.is_ascii_digit() && b.is_ascii_digit()).then(|| (a - b'0') * 10 + (b - b'0'))
}

fn push_padded(out: &mut Vec<u8>, n: u32, width: usize) {
    let mut digits = [b'0'; 10];
    let mut i = digits.len();
    let mut v = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let len = digits.len() - i;
    for _ in len..width {
        out.push(b'0');
    }
    out.extend_from_slice(&digits[i..]);
}

fn is_leap(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, u8, u8) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m as u8, d as u8)
}
