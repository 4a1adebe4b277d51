//! Line scanning over raw message bytes: finding line feeds fast and splitting a
//! buffer into lines with their terminators.
//!
//! Owns only byte searching; knows nothing about headers or MIME. Does no I/O and
//! never allocates.

const LF_REPEATED: u64 = 0x0a0a_0a0a_0a0a_0a0a;
const LOW_BITS: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// Position of the first `\n` in `bytes`, eight bytes at a time.
pub(crate) fn find_lf(bytes: &[u8]) -> Option<usize> {
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ LF_REPEATED;
        let found = x.wrapping_sub(LOW_BITS) & !x & HIGH_BITS;
        if found != 0 {
            return Some(offset + (found.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| offset + i)
}

/// One line of a buffer: `start..content_end` is the text without its terminator,
/// `next` is where the following line starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Line {
    pub start: usize,
    pub content_end: usize,
    pub next: usize,
}

impl Line {
    /// Whether the line ends with a line feed (false only for the last line).
    pub fn has_lf(&self) -> bool {
        self.next > self.content_end
    }
}

/// The line starting at `start` (which must be `<= bytes.len()`), or `None` at the end.
/// A `\r` before the `\n` is part of the terminator.
pub(crate) fn line_at(bytes: &[u8], start: usize) -> Option<Line> {
    let rest = bytes.get(start..)?;
    if rest.is_empty() {
        return None;
    }
    match find_lf(rest) {
        Some(i) => {
            let lf = start + i;
            let content_end = if lf > start && bytes.get(lf - 1) == Some(&b'\r') {
                lf - 1
            } else {
                lf
            };
            Some(Line {
                start,
                content_end,
                next: lf + 1,
            })
        }
        None => Some(Line {
            start,
            content_end: bytes.len(),
            next: bytes.len(),
        }),
    }
}

/// Iterator over the lines of a buffer.
pub(crate) struct Lines<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Lines<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Lines { bytes, pos: 0 }
    }
}

impl Iterator for Lines<'_> {
    type Item = Line;
    fn next(&mut self) -> Option<Line> {
        let line = line_at(self.bytes, self.pos)?;
        self.pos = line.next;
        Some(line)
    }
}

/// Length of the line terminator that ends just before `pos` (2 for CRLF, 1 for LF,
/// 0 when `pos` does not follow a line feed).
pub(crate) fn terminator_before(bytes: &[u8], pos: usize) -> usize {
    if pos == 0 || bytes.get(pos - 1) != Some(&b'\n') {
        0
    } else if pos >= 2 && bytes.get(pos - 2) == Some(&b'\r') {
        2
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_lf_matches_naive_search() {
        let cases: &[&[u8]] = &[
            b"",
            b"\n",
            b"abc",
            b"abcdefgh\n",
            b"abcdefghijklmnop\nq",
            b"\x8a\x0b\x09\xff\xffabcdefghijk\n",
            b"0123456\n",
            b"01234567",
        ];
        for case in cases {
            assert_eq!(
                find_lf(case),
                case.iter().position(|&b| b == b'\n'),
                "{case:?}"
            );
        }
    }

    #[test]
    fn lines_split_crlf_and_lf() {
        let lines: Vec<Line> = Lines::new(b"a\r\nb\nc").collect();
        assert_eq!(
            lines,
            vec![
                Line {
                    start: 0,
                    content_end: 1,
                    next: 3
                },
                Line {
                    start: 3,
                    content_end: 4,
                    next: 5
                },
                Line {
                    start: 5,
                    content_end: 6,
                    next: 6
                },
            ]
        );
        assert!(lines[0].has_lf());
        assert!(!lines[2].has_lf());
    }

    #[test]
    fn terminator_lengths() {
        let bytes = b"a\r\nb\nc";
        assert_eq!(terminator_before(bytes, 3), 2);
        assert_eq!(terminator_before(bytes, 5), 1);
        assert_eq!(terminator_before(bytes, 6), 0);
        assert_eq!(terminator_before(bytes, 0), 0);
    }
}
