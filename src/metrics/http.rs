//! The `/metrics` endpoint: a minimal HTTP/1.1 server on tokio, enough for
//! a Prometheus scraper, `curl` and health checkers, and nothing more.
//!
//! It owns the listener configured as `[metrics] listen`. It is correct
//! (and safe to expose) because:
//!
//! - It answers exactly one request per connection (`Connection: close`),
//!   so there is no keep-alive or pipelining state to get wrong.
//! - The request head is read with a size limit ([`MAX_HEAD`]) and a
//!   deadline ([`READ_TIMEOUT`]); a slow or hostile client costs one task
//!   for a few seconds, never memory. The body, if any, is ignored.
//! - `GET`/`HEAD /metrics` (query string ignored) answers `200` with the
//!   text format; other paths `404`; other methods `405`; a malformed head
//!   `400`. Rendering only reads atomics and the applied state.
//! - Each connection runs in its own task, so one stuck client never delays
//!   a scrape, and nothing here blocks the runtime.
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::exposition::CONTENT_TYPE;
use crate::node::Node;

/// Largest request head accepted.
const MAX_HEAD: usize = 8 * 1024;
/// Time a client has to send its request head.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Time a client has to take the answer.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("cannot bind the metrics endpoint on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// Binds `addr` and serves `/metrics` for `node` until the returned task is
/// aborted. Binding happens before this returns, so a taken port is an
/// error at start-up, not a silent absence.
pub async fn start(node: Arc<Node>, addr: SocketAddr) -> Result<JoinHandle<()>, MetricsError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| MetricsError::Bind { addr, source })?;
    tracing::info!(metrics = %addr, "serving /metrics");
    Ok(tokio::spawn(accept_loop(node, listener)))
}

async fn accept_loop(node: Arc<Node>, listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let node = node.clone();
                tokio::spawn(async move {
                    if let Err(error) = answer(&node, stream).await {
                        tracing::debug!(%peer, %error, "metrics request failed");
                    }
                });
            }
            Err(error) => {
                // Out of file descriptors and the like: back off briefly
                // instead of spinning.
                tracing::warn!(%error, "metrics endpoint cannot accept");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// What a request head asks for.
#[derive(Debug, PartialEq, Eq)]
enum Request {
    Metrics { head_only: bool },
    NotFound,
    MethodNotAllowed,
    Malformed,
}

fn parse_head(head: &[u8]) -> Request {
    let Ok(text) = std::str::from_utf8(head) else {
        return Request::Malformed;
    };
    let line = text.lines().next().unwrap_or_default();
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Request::Malformed;
    };
    if !version.starts_with("HTTP/1.") {
        return Request::Malformed;
    }
    let head_only = match method {
        "GET" => false,
        "HEAD" => true,
        _ => return Request::MethodNotAllowed,
    };
    match target.split('?').next() {
        Some("/metrics") => Request::Metrics { head_only },
        _ => Request::NotFound,
    }
}

async fn read_head(stream: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            head.truncate(end);
            return Ok(Some(head));
        }
        if head.len() > MAX_HEAD {
            return Ok(None);
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        head.extend_from_slice(&chunk[..n]);
    }
}

async fn answer(node: &Node, mut stream: TcpStream) -> std::io::Result<()> {
    let head = tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "request head not received in time"))??;
    let request = head.as_deref().map_or(Request::Malformed, parse_head);
    let (status, extra, body, head_only) = match request {
        Request::Metrics { head_only } => ("200 OK", "", super::render(node).await, head_only),
        Request::NotFound => (
            "404 Not Found",
            "",
            "not found; metrics are at /metrics\n".to_string(),
            false,
        ),
        Request::MethodNotAllowed => ("405 Method Not Allowed", "Allow: GET, HEAD\r\n", String::new(), false),
        Request::Malformed => ("400 Bad Request", "", String::new(), false),
    };
    let content_type = if status.starts_with("200") {
        CONTENT_TYPE
    } else {
        "text/plain; charset=utf-8"
    };
    let mut response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if !head_only {
        response.extend_from_slice(body.as_bytes());
    }
    tokio::time::timeout(WRITE_TIMEOUT, async {
        stream.write_all(&response).await?;
        stream.shutdown().await
    })
    .await
    .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "answer not taken in time"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_heads() {
        assert_eq!(
            parse_head(b"GET /metrics HTTP/1.1\r\nHost: x"),
            Request::Metrics { head_only: false }
        );
        assert_eq!(
            parse_head(b"GET /metrics?x=1 HTTP/1.0"),
            Request::Metrics { head_only: false }
        );
        assert_eq!(
            parse_head(b"HEAD /metrics HTTP/1.1"),
            Request::Metrics { head_only: true }
        );
        assert_eq!(parse_head(b"GET / HTTP/1.1"), Request::NotFound);
        assert_eq!(parse_head(b"POST /metrics HTTP/1.1"), Request::MethodNotAllowed);
        assert_eq!(parse_head(b"GET /metrics"), Request::Malformed);
        assert_eq!(parse_head(b"GET /metrics SPDY/3"), Request::Malformed);
        assert_eq!(parse_head(b"\xff\xfe"), Request::Malformed);
    }
}
