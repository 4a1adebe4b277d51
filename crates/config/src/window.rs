//! Send windows ("Schedule"): `Mon-Fri 08:00-18:00`, `Sat,Sun 10:00-12:00`,
//! `daily 22:00-06:00` (crossing midnight), in a fixed UTC offset. Parsed here so the
//! configuration check can point at a bad one; evaluated by the queue. Pure.

/// One window: the weekdays it applies to and its minutes of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendWindow {
    /// Monday = 0 … Sunday = 6.
    pub days: [bool; 7],
    /// Start, minutes after midnight.
    pub start: u16,
    /// End, minutes after midnight; earlier than `start` means it ends the next day.
    pub end: u16,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn day(s: &str) -> Result<usize, String> {
    let l = s.trim().to_ascii_lowercase();
    DAYS.iter()
        .position(|d| l.starts_with(d))
        .ok_or_else(|| format!("unknown day {s:?}: expected Mon, Tue, Wed, Thu, Fri, Sat or Sun"))
}

fn minutes(s: &str) -> Result<u16, String> {
    let (h, m) = s
        .split_once(':')
        .ok_or_else(|| format!("invalid time {s:?}: expected HH:MM"))?;
    let (h, m): (u16, u16) = (
        h.trim()
            .parse()
            .map_err(|_| format!("invalid hour in {s:?}"))?,
        m.trim()
            .parse()
            .map_err(|_| format!("invalid minute in {s:?}"))?,
    );
    if h > 24 || m > 59 || (h == 24 && m != 0) {
        return Err(format!("invalid time {s:?}"));
    }
    Ok(h * 60 + m)
}

impl SendWindow {
    /// Parses `DAYS HH:MM-HH:MM` where DAYS is `daily`, a day, a range `Mon-Fri`, or a
    /// comma list of those.
    pub fn parse(text: &str) -> Result<SendWindow, String> {
        let bad = || format!("invalid send window {text:?}: expected e.g. \"Mon-Fri 08:00-18:00\"");
        let (days_part, times) = text.trim().rsplit_once(' ').ok_or_else(bad)?;
        let (a, b) = times.split_once('-').ok_or_else(bad)?;
        let (start, end) = (minutes(a)?, minutes(b)?);
        let mut days = [false; 7];
        for item in days_part.split(',') {
            let item = item.trim();
            if item.eq_ignore_ascii_case("daily") || item == "*" {
                days = [true; 7];
            } else if let Some((x, y)) = item.split_once('-') {
                let (x, y) = (day(x)?, day(y)?);
                let mut d = x;
                loop {
                    days[d] = true;
                    if d == y {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            } else {
                days[day(item)?] = true;
            }
        }
        Ok(SendWindow { days, start, end })
    }

    /// True when `weekday` (Mon = 0) at `minute` of the day lies in the window. A window
    /// crossing midnight counts its early-morning part for the day after a listed day.
    pub fn contains(&self, weekday: usize, minute: u16) -> bool {
        let yesterday = (weekday + 6) % 7;
        if self.start <= self.end {
            self.days[weekday % 7] && minute >= self.start && minute < self.end
        } else {
            (self.days[weekday % 7] && minute >= self.start)
                || (self.days[yesterday] && minute < self.end)
        }
    }
}

/// Parses a fixed UTC offset `+HH:MM` / `-HH:MM` / `Z` into seconds.
pub fn parse_offset(s: &str) -> Result<i32, String> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("z") || t.eq_ignore_ascii_case("utc") {
        return Ok(0);
    }
    let bad = || format!("invalid timezone {s:?}: expected an offset such as \"+01:00\"");
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'+') => (1, &t[1..]),
        Some(b'-') => (-1, &t[1..]),
        _ => return Err(bad()),
    };
    let m = minutes(rest).map_err(|_| bad())? as i32;
    if m > 14 * 60 {
        return Err(bad());
    }
    Ok(sign * m * 60)
}

/// True when `unix` (seconds) falls in any window, in the given UTC offset.
pub fn is_open(windows: &[SendWindow], offset: i32, unix: i64) -> bool {
    let local = unix + offset as i64;
    let days = local.div_euclid(86_400);
    // 1970-01-01 was a Thursday (Mon = 0 → Thu = 3).
    let weekday = ((days + 3).rem_euclid(7)) as usize;
    let minute = (local.rem_euclid(86_400) / 60) as u16;
    windows.iter().any(|w| w.contains(weekday, minute))
}

/// The first minute boundary at or after `unix` when a window is open (within a week),
/// or None when no window ever opens.
pub fn next_open(windows: &[SendWindow], offset: i32, unix: i64) -> Option<i64> {
    if is_open(windows, offset, unix) {
        return Some(unix);
    }
    let mut t = unix - unix.rem_euclid(60) + 60;
    for _ in 0..(8 * 24 * 60) {
        if is_open(windows, offset, t) {
            return Some(t);
        }
        t += 60;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_windows() {
        let w = SendWindow::parse("Mon-Fri 08:00-18:00").unwrap();
        assert_eq!(w.days, [true, true, true, true, true, false, false]);
        assert_eq!((w.start, w.end), (480, 1080));
        let w = SendWindow::parse("Sat,sun 10:00-12:30").unwrap();
        assert_eq!(w.days, [false, false, false, false, false, true, true]);
        let w = SendWindow::parse("Fri-Mon 00:00-24:00").unwrap();
        assert_eq!(w.days, [true, false, false, false, true, true, true]);
        assert!(SendWindow::parse("Mon 8-18").is_err());
        assert!(SendWindow::parse("Funday 08:00-09:00").is_err());
        assert!(SendWindow::parse("Mon 25:00-26:00").is_err());
    }

    #[test]
    fn evaluates_windows_with_offsets_and_midnight() {
        let office = [SendWindow::parse("Mon-Fri 08:00-18:00").unwrap()];
        // 2024-01-01 was a Monday. 09:00 UTC = 1704099600.
        let mon_9 = 1_704_099_600;
        assert!(is_open(&office, 0, mon_9));
        assert!(!is_open(&office, 10 * 3600, mon_9), "19:00 in UTC+10");
        let sat_9 = mon_9 + 5 * 86_400;
        assert!(!is_open(&office, 0, sat_9));
        assert_eq!(
            next_open(&office, 0, sat_9),
            Some(mon_9 + 7 * 86_400 - 3600)
        );
        let night = [SendWindow::parse("Mon 22:00-06:00").unwrap()];
        assert!(is_open(&night, 0, mon_9 + 13 * 3600 + 1800), "Mon 22:30");
        assert!(is_open(&night, 0, mon_9 + 86_400 - 4 * 3600), "Tue 05:00");
        assert!(!is_open(&night, 0, mon_9 + 86_400), "Tue 09:00");
        assert_eq!(parse_offset("+01:30"), Ok(5400));
        assert_eq!(parse_offset("-05:00"), Ok(-18000));
        assert!(parse_offset("CET").is_err());
    }
}
