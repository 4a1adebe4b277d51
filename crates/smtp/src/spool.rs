//! The message being received: the trace header first, then the client's octets, into a
//! blob. The header block is held back until it is complete so submission can add
//! `Date:` and `Message-ID:` when the client left them out (RFC 6409 §8). Size is
//! enforced as octets arrive; over the limit, the rest is discarded.

use pillarbox_store::{BlobStore, BlobWriter, StoreError, StoredBlob};

/// Header octets held back before giving up on finding the end of the header block.
const MAX_HEADER_HOLD: usize = 256 * 1024;

/// A message being spooled.
pub struct Spool {
    writer: Option<BlobWriter>,
    trace: Vec<u8>,
    header: Vec<u8>,
    header_done: bool,
    add_missing: Option<String>,
    size: u64,
    limit: u64,
    too_big: bool,
}

impl Spool {
    /// Starts a spool with `trace` (the `Received:` header) in front. With
    /// `add_missing_for` (the host name), Date and Message-ID are added when absent.
    pub fn new(
        blobs: &BlobStore,
        trace: Vec<u8>,
        limit: u64,
        add_missing_for: Option<String>,
    ) -> Spool {
        Spool {
            writer: Some(blobs.writer()),
            trace,
            header: Vec::new(),
            header_done: false,
            add_missing: add_missing_for,
            size: 0,
            limit,
            too_big: false,
        }
    }

    /// Octets received from the client so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// True once the message went over the size limit.
    pub fn too_big(&self) -> bool {
        self.too_big
    }

    /// Appends client octets.
    pub async fn push(&mut self, data: &[u8]) -> Result<(), StoreError> {
        self.size += data.len() as u64;
        if self.too_big || self.size > self.limit {
            if !self.too_big {
                self.too_big = true;
                if let Some(w) = self.writer.take() {
                    w.discard();
                }
                self.header = Vec::new();
            }
            return Ok(());
        }
        if self.header_done {
            return self.write(data).await;
        }
        self.header.extend_from_slice(data);
        if let Some(end) = header_end(&self.header) {
            let body = self.header.split_off(end);
            self.release_header().await?;
            self.write(&body).await?;
        } else if self.header.len() > MAX_HEADER_HOLD {
            self.release_header().await?;
        }
        Ok(())
    }

    async fn write(&mut self, data: &[u8]) -> Result<(), StoreError> {
        match self.writer.as_mut() {
            Some(w) => w.write(data).await,
            None => Ok(()),
        }
    }

    async fn release_header(&mut self) -> Result<(), StoreError> {
        self.header_done = true;
        let mut head = std::mem::take(&mut self.trace);
        if let Some(host) = self.add_missing.take() {
            if find_field(&self.header, b"date").is_none() {
                head.extend_from_slice(
                    format!("Date: {}\r\n", crate::received::rfc5322_now()).as_bytes(),
                );
            }
            if find_field(&self.header, b"message-id").is_none() {
                let id: u128 = rand::random();
                head.extend_from_slice(format!("Message-ID: <{id:032x}@{host}>\r\n").as_bytes());
            }
        }
        head.extend_from_slice(&std::mem::take(&mut self.header));
        self.write(&head).await
    }

    /// Makes the blob durable. Returns it with its content when held in memory.
    pub async fn finish(mut self) -> Result<(StoredBlob, Option<Vec<u8>>), StoreError> {
        if !self.header_done {
            self.release_header().await?;
        }
        let writer = self.writer.take().ok_or(StoreError::Closed)?;
        let content = writer.in_memory().map(<[u8]>::to_vec);
        Ok((writer.finish().await?, content))
    }
}

/// Offset just past the blank line ending the header block, if present.
fn header_end(h: &[u8]) -> Option<usize> {
    if h.starts_with(b"\r\n") {
        return Some(2);
    }
    h.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Finds a header field by lower-case name at the start of a line.
fn find_field(header: &[u8], name: &[u8]) -> Option<usize> {
    let mut start = 0;
    while start < header.len() {
        let line_end = header[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|i| start + i + 1)
            .unwrap_or(header.len());
        let line = &header[start..line_end];
        if line.len() > name.len()
            && line[..name.len()].eq_ignore_ascii_case(name)
            && line[name.len()] == b':'
        {
            return Some(start);
        }
        start = line_end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_field_lookup() {
        let h = b"Subject: x\r\nDATE: now\r\nX-Message-ID: no\r\n\r\n";
        assert!(find_field(h, b"date").is_some());
        assert!(find_field(h, b"message-id").is_none());
        assert_eq!(header_end(h), Some(h.len()));
        assert_eq!(header_end(b"\r\nbody"), Some(2));
    }

    #[tokio::test]
    async fn submission_adds_date_and_message_id_once() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::open(dir.path()).unwrap();
        let mut s = Spool::new(
            &blobs,
            b"Received: x\r\n".to_vec(),
            1 << 20,
            Some("mx.example".into()),
        );
        s.push(b"Subject: hi\r\n").await.unwrap();
        s.push(b"\r\nbody\r\n").await.unwrap();
        let (blob, content) = s.finish().await.unwrap();
        let text = String::from_utf8(content.unwrap()).unwrap();
        assert!(text.starts_with("Received: x\r\nDate: "), "{text}");
        assert!(
            text.contains("Message-ID: <")
                && text.contains("@mx.example>\r\nSubject: hi\r\n\r\nbody\r\n")
        );
        assert_eq!(blob.size as usize, text.len());

        let mut s = Spool::new(&blobs, Vec::new(), 1 << 20, Some("mx".into()));
        s.push(b"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-Id: <a@b>\r\n\r\nx\r\n")
            .await
            .unwrap();
        let (_, content) = s.finish().await.unwrap();
        assert!(content.unwrap().starts_with(b"Date: Mon"));
    }

    #[tokio::test]
    async fn over_the_limit_is_flagged_and_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::open(dir.path()).unwrap();
        let mut s = Spool::new(&blobs, Vec::new(), 10, None);
        s.push(b"0123456789").await.unwrap();
        assert!(!s.too_big());
        s.push(b"x").await.unwrap();
        assert!(s.too_big());
        assert_eq!(s.size(), 11);
    }
}
