//! Scripted peers for the clients' tests: a listener on 127.0.0.1 that plays one
//! connection with the given script.

use std::future::Future;

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

use crate::Endpoint;

/// Listens on a free port and runs `script` on the first connection.
pub(crate) async fn peer<F, Fut>(script: F) -> Endpoint
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        if let Ok((s, _)) = l.accept().await {
            script(s).await;
        }
    });
    Endpoint::Tcp(addr.to_string())
}

/// Reads until `needle` has been seen (or the peer closes); returns all that was read.
pub(crate) async fn read_until(s: &mut TcpStream, needle: &[u8]) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    while !got.windows(needle.len()).any(|w| w == needle) {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    got
}

/// Reads exactly `n` bytes.
pub(crate) async fn read_exact(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    s.read_exact(&mut v).await.unwrap();
    v
}
