//! A minimal IMAP client for load: tagged commands, responses read from one buffered
//! socket with their literals skipped (only counted), untagged lines kept when a caller
//! wants them (SEARCH, EXISTS, APPENDUID). It checks the tagged status and nothing more,
//! so it costs far less than the servers it drives.

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// What one command got back.
#[derive(Debug, Default)]
pub struct Reply {
    /// Untagged lines (literal contents left out).
    pub untagged: Vec<String>,
    /// The tagged completion line.
    pub tagged: String,
    /// Octets of literal data received.
    pub literal_octets: u64,
}

impl Reply {
    /// The number after `[CODE ` in the tagged line's response code, e.g. the last
    /// field of `APPENDUID v uid`.
    pub fn code_field(&self, code: &str) -> Option<u32> {
        let start = self.tagged.find(&format!("[{code} "))?;
        let inner = &self.tagged[start + code.len() + 2..];
        let end = inner.find(']')?;
        inner[..end].split(' ').next_back()?.parse().ok()
    }
}

pub struct Client {
    io: BufReader<TcpStream>,
    line: Vec<u8>,
    tag: u32,
}

impl Client {
    /// Connects and reads the greeting.
    pub async fn connect(addr: &str) -> Result<Client> {
        let tcp = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connect {addr}"))?;
        tcp.set_nodelay(true)?;
        let mut c = Client {
            io: BufReader::with_capacity(16 * 1024, tcp),
            line: Vec::with_capacity(256),
            tag: 0,
        };
        let greeting = c.read_line().await?;
        if !greeting.starts_with("* OK") {
            bail!("greeting: {greeting}");
        }
        Ok(c)
    }

    async fn read_line(&mut self) -> Result<String> {
        self.line.clear();
        let n = self.io.read_until(b'\n', &mut self.line).await?;
        if n == 0 {
            bail!("connection closed");
        }
        Ok(String::from_utf8_lossy(&self.line).trim_end().to_string())
    }

    /// Reads one response; literals are consumed and counted.
    async fn read_response(&mut self, octets: &mut u64) -> Result<String> {
        let mut text = String::new();
        loop {
            let line = self.read_line().await?;
            let literal = line
                .strip_suffix('}')
                .and_then(|l| l.rfind('{').map(|i| &l[i + 1..]))
                .and_then(|n| n.parse::<u64>().ok());
            text.push_str(&line);
            let Some(n) = literal else {
                return Ok(text);
            };
            *octets += n;
            let mut left = n;
            while left > 0 {
                let buf = self.io.fill_buf().await?;
                if buf.is_empty() {
                    bail!("connection closed inside a literal");
                }
                let take = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                self.io.consume(take);
                left -= take as u64;
            }
        }
    }

    /// Sends raw bytes.
    pub async fn send(&mut self, data: &[u8]) -> Result<()> {
        self.io.get_mut().write_all(data).await?;
        Ok(())
    }

    fn next_tag(&mut self) -> String {
        self.tag += 1;
        format!("a{}", self.tag)
    }

    /// Sends `command` (without tag) and reads up to its tagged completion; a status
    /// other than OK is an error.
    pub async fn cmd(&mut self, command: &str) -> Result<Reply> {
        let tag = self.next_tag();
        self.send(format!("{tag} {command}\r\n").as_bytes()).await?;
        self.finish(&tag).await
    }

    /// `APPEND mailbox (flags) {n+}` with LITERAL+ (one round trip).
    pub async fn append(&mut self, mailbox: &str, flags: &str, message: &[u8]) -> Result<Reply> {
        let tag = self.next_tag();
        let mut out = format!(
            "{tag} APPEND {mailbox} ({flags}) {{{}+}}\r\n",
            message.len()
        )
        .into_bytes();
        out.extend_from_slice(message);
        out.extend_from_slice(b"\r\n");
        self.send(&out).await?;
        self.finish(&tag).await
    }

    /// Reads responses up to `tag`'s completion.
    pub async fn finish(&mut self, tag: &str) -> Result<Reply> {
        let mut reply = Reply::default();
        let prefix = format!("{tag} ");
        loop {
            let r = self.read_response(&mut reply.literal_octets).await?;
            if let Some(rest) = r.strip_prefix(&prefix) {
                if !rest.starts_with("OK") {
                    bail!("server said: {r}");
                }
                reply.tagged = r;
                return Ok(reply);
            }
            if r.starts_with('+') {
                continue;
            }
            reply.untagged.push(r);
        }
    }

    /// Reads one response line (IDLE continuations and updates).
    pub async fn line(&mut self) -> Result<String> {
        let mut octets = 0;
        self.read_response(&mut octets).await
    }

    /// Drains whatever arrives until the connection closes (after LOGOUT).
    pub async fn close(mut self) {
        let mut sink = Vec::new();
        let _ = self.io.read_to_end(&mut sink).await;
    }
}
