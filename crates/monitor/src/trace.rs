//! Trace ids: given to a message at its first byte (SMTP DATA/BDAT, collection, the
//! send API), written into its `Received:` header and kept with every step recorded
//! about it. Sortable by time (milliseconds first) and unique across nodes (random
//! bits after), in the lower-case base-32 alphabet, 16 characters.

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// A new trace id: 45 bits of milliseconds, then 35 random bits, 5 bits a character.
pub fn new_trace_id() -> String {
    let ms = (crate::now_ms().max(0) as u128) & ((1 << 45) - 1);
    let bits = (ms << 35) | (u128::from(rand::random::<u64>()) & ((1 << 35) - 1));
    (0..16)
        .map(|i| ALPHABET[((bits >> (5 * (15 - i))) & 31) as usize] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_short_unique_and_in_time_order() {
        let a = new_trace_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_trace_id();
        assert_eq!(a.len(), 16);
        assert!(a < b, "{a} {b}");
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)));
        let many: std::collections::HashSet<String> = (0..1000).map(|_| new_trace_id()).collect();
        assert_eq!(many.len(), 1000);
    }
}
