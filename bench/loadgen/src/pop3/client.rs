//! A minimal POP3 client for load: status lines and multi-line responses read from one
//! buffered socket, with octet counts. It checks what it must (status, terminator) and
//! nothing more, so it costs far less than the servers it drives.

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

pub struct Client {
    io: BufReader<TcpStream>,
    line: Vec<u8>,
}

impl Client {
    /// Connects and reads the greeting.
    pub async fn connect(addr: &str) -> Result<Client> {
        let tcp = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connect {addr}"))?;
        tcp.set_nodelay(true)?;
        let mut c = Client {
            io: BufReader::with_capacity(64 * 1024, tcp),
            line: Vec::with_capacity(256),
        };
        c.status().await?;
        Ok(c)
    }

    /// Sends raw command text (one or more pipelined lines).
    pub async fn send(&mut self, text: &str) -> Result<()> {
        self.io.get_mut().write_all(text.as_bytes()).await?;
        Ok(())
    }

    /// Reads one status line; `-ERR` is an error.
    pub async fn status(&mut self) -> Result<String> {
        self.line.clear();
        let n = self.io.read_until(b'\n', &mut self.line).await?;
        if n == 0 {
            bail!("connection closed");
        }
        let text = String::from_utf8_lossy(&self.line).trim_end().to_string();
        if !text.starts_with("+OK") {
            bail!("server said: {text}");
        }
        Ok(text)
    }

    /// Sends one command and reads its status line.
    pub async fn cmd(&mut self, command: &str) -> Result<String> {
        self.send(&format!("{command}\r\n")).await?;
        self.status().await
    }

    /// Reads the body of a multi-line response; returns its octets (terminator
    /// excluded, dot-stuffing included).
    pub async fn body(&mut self) -> Result<u64> {
        let mut octets = 0u64;
        loop {
            let buf = self.io.fill_buf().await?;
            if buf.is_empty() {
                bail!("connection closed inside a multi-line response");
            }
            // Scan complete lines in the buffer without copying them.
            let mut used = 0;
            let mut done = false;
            while let Some(i) = buf[used..].iter().position(|&b| b == b'\n') {
                let line = &buf[used..used + i + 1];
                used += i + 1;
                if line == b".\r\n" {
                    done = true;
                    break;
                }
                octets += line.len() as u64;
            }
            if !done && used == 0 {
                // A line longer than the buffer: count it and move on.
                used = buf.len();
                octets += used as u64;
            }
            self.io.consume(used);
            if done {
                return Ok(octets);
            }
        }
    }
}
