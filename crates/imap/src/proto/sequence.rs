//! Sequence sets: `1:5,7,9:*` and the saved result `$` (RFC 9051 §9 `sequence-set`,
//! RFC 5182 §2.1 `seq-last-command`).
//!
//! Owns the type, its parser from a token, membership and resolution against a mailbox
//! size, and compression of number lists into the shortest set for responses. It knows
//! nothing about mailboxes beyond the "largest number" it is given and does no I/O.

use std::fmt;

use super::encode::push_num;

/// One end of a range: a non-zero number or `*` (the largest number in use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeqNum {
    /// A message sequence number or UID, never zero.
    Value(u32),
    /// `*`: the largest number in use in the mailbox.
    Star,
}

impl SeqNum {
    /// The number this stands for, `*` being `largest`.
    pub fn resolve(self, largest: u32) -> u32 {
        match self {
            SeqNum::Value(n) => n,
            SeqNum::Star => largest,
        }
    }
}

/// `a:b` in either order, or a single number (`first == last`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SeqRange {
    /// The number written first.
    pub first: SeqNum,
    /// The number written last (the same as `first` for a single number).
    pub last: SeqNum,
}

impl SeqRange {
    /// A single number.
    pub fn single(n: SeqNum) -> SeqRange {
        SeqRange { first: n, last: n }
    }

    /// `(low, high)` with `*` resolved to `largest`.
    pub fn bounds(&self, largest: u32) -> (u32, u32) {
        let a = self.first.resolve(largest);
        let b = self.last.resolve(largest);
        if a <= b { (a, b) } else { (b, a) }
    }
}

/// A sequence set as a client wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SequenceSet {
    /// Comma-separated numbers and ranges, never empty.
    Ranges(Vec<SeqRange>),
    /// `$`: the result saved by the last `SEARCH RETURN (SAVE)` (RFC 5182 §2.1).
    Saved,
}

/// Why a token is not a sequence set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SequenceError {
    /// Nothing where a sequence set was expected.
    #[error("empty sequence set")]
    Empty,
    /// `0` is not a message number.
    #[error("0 is not a valid message number")]
    Zero,
    /// A number does not fit in 32 bits.
    #[error("message number out of range")]
    Overflow,
    /// Any other malformation (`1::2`, `1,`, `$,1`, stray characters).
    #[error("malformed sequence set")]
    Syntax,
}

impl SequenceSet {
    /// One number.
    pub fn single(n: u32) -> SequenceSet {
        SequenceSet::Ranges(vec![SeqRange::single(SeqNum::Value(n))])
    }

    /// `first:last`.
    pub fn range(first: SeqNum, last: SeqNum) -> SequenceSet {
        SequenceSet::Ranges(vec![SeqRange { first, last }])
    }

    /// RFC 9051 §9 `sequence-set` and RFC 5182 §2.1 `"$"`, from a whole token.
    pub fn parse(token: &[u8]) -> Result<SequenceSet, SequenceError> {
        if token.is_empty() {
            return Err(SequenceError::Empty);
        }
        if token == b"$" {
            return Ok(SequenceSet::Saved);
        }
        // Most sets are one element; counting commas sizes the vector exactly.
        let elements = token.iter().filter(|&&b| b == b',').count() + 1;
        let mut ranges = Vec::with_capacity(elements);
        for part in token.split(|&b| b == b',') {
            let mut ends = part.splitn(2, |&b| b == b':');
            let first = parse_seq_number(ends.next().unwrap_or_default())?;
            let last = match ends.next() {
                Some(end) => parse_seq_number(end)?,
                None => first,
            };
            ranges.push(SeqRange { first, last });
        }
        Ok(SequenceSet::Ranges(ranges))
    }

    /// Whether this is `$`.
    pub fn is_saved(&self) -> bool {
        matches!(self, SequenceSet::Saved)
    }

    /// Whether any element uses `*`.
    pub fn has_star(&self) -> bool {
        match self {
            SequenceSet::Saved => false,
            SequenceSet::Ranges(r) => r
                .iter()
                .any(|r| r.first == SeqNum::Star || r.last == SeqNum::Star),
        }
    }

    /// The ranges as `(low, high)` pairs with `*` resolved to `largest`, in the order
    /// written (possibly overlapping). `$` yields nothing: the session resolves it first.
    pub fn bounds(&self, largest: u32) -> impl Iterator<Item = (u32, u32)> + '_ {
        let ranges: &[SeqRange] = match self {
            SequenceSet::Ranges(r) => r,
            SequenceSet::Saved => &[],
        };
        ranges.iter().map(move |r| r.bounds(largest))
    }

    /// Whether `n` is in the set, `*` being `largest`. Always false for `$`.
    pub fn contains(&self, n: u32, largest: u32) -> bool {
        self.bounds(largest).any(|(lo, hi)| lo <= n && n <= hi)
    }

    /// The shortest set holding exactly `numbers`, which must be ascending (duplicates
    /// are tolerated). Returns `None` for no numbers, which IMAP cannot express.
    pub fn compress(numbers: impl IntoIterator<Item = u32>) -> Option<SequenceSet> {
        let mut ranges: Vec<SeqRange> = Vec::new();
        let mut run: Option<(u32, u32)> = None;
        for n in numbers {
            run = match run {
                Some((lo, hi)) if n == hi || Some(n) == hi.checked_add(1) => Some((lo, n)),
                Some((lo, hi)) => {
                    ranges.push(range_of(lo, hi));
                    Some((n, n))
                }
                None => Some((n, n)),
            };
        }
        let (lo, hi) = run?;
        ranges.push(range_of(lo, hi));
        Some(SequenceSet::Ranges(ranges))
    }

    /// Sorts and deduplicates `numbers`, then [`compress`](Self::compress)es them.
    pub fn from_unsorted(mut numbers: Vec<u32>) -> Option<SequenceSet> {
        numbers.sort_unstable();
        numbers.dedup();
        SequenceSet::compress(numbers)
    }

    /// Appends the wire form (`1:5,7`, `$`) to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            SequenceSet::Saved => out.push(b'$'),
            SequenceSet::Ranges(ranges) => {
                for (i, r) in ranges.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_seq_number(out, r.first);
                    if r.first != r.last {
                        out.push(b':');
                        write_seq_number(out, r.last);
                    }
                }
            }
        }
    }
}

impl fmt::Display for SequenceSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Vec::new();
        self.write(&mut out);
        f.write_str(&String::from_utf8_lossy(&out))
    }
}

fn range_of(lo: u32, hi: u32) -> SeqRange {
    SeqRange {
        first: SeqNum::Value(lo),
        last: SeqNum::Value(hi),
    }
}

fn write_seq_number(out: &mut Vec<u8>, n: SeqNum) {
    match n {
        SeqNum::Value(v) => push_num(out, u64::from(v)),
        SeqNum::Star => out.push(b'*'),
    }
}

/// RFC 9051 §9 `seq-number = nz-number / "*"`.
fn parse_seq_number(s: &[u8]) -> Result<SeqNum, SequenceError> {
    match s {
        [] => Err(SequenceError::Syntax),
        b"*" => Ok(SeqNum::Star),
        [b'0', ..] => {
            if s.iter().all(u8::is_ascii_digit) {
                Err(SequenceError::Zero)
            } else {
                Err(SequenceError::Syntax)
            }
        }
        _ => {
            let mut n: u32 = 0;
            for &b in s {
                if !b.is_ascii_digit() {
                    return Err(SequenceError::Syntax);
                }
                n = n
                    .checked_mul(10)
                    .and_then(|n| n.checked_add(u32::from(b - b'0')))
                    .ok_or(SequenceError::Overflow)?;
            }
            Ok(SeqNum::Value(n))
        }
    }
}
