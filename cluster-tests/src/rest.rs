//! A minimal HTTP/1.1 client for the nodes' Kafka Connect REST API, so the
//! tests see exactly the status codes, headers and bodies a client would.
//!
//! This module owns the client side of the REST listener in the tests. It
//! is correct for that use because each request is one connection with
//! `Connection: close` and an explicit `Content-Length`, the answer is read
//! to the end with a deadline ([`TIMEOUT`]), and bodies are returned as
//! text and, when they parse, as JSON; nothing is retried or followed.
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Deadline of one request (a write waits for Raft, at most a few seconds).
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// One answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub text: String,
    /// The body as JSON, `Null` when empty or not JSON.
    pub json: serde_json::Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// A node's REST endpoint.
#[derive(Debug, Clone)]
pub struct RestClient {
    /// `ip:port`.
    pub addr: String,
    pub token: Option<String>,
}

impl RestClient {
    /// From `http://ip:port`.
    pub fn new(url: &str) -> RestClient {
        RestClient {
            addr: url.trim_start_matches("http://").trim_end_matches('/').to_string(),
            token: None,
        }
    }

    pub fn with_token(mut self, token: Option<String>) -> RestClient {
        self.token = token;
        self
    }

    pub async fn get(&self, path: &str) -> Result<Answer, String> {
        self.request("GET", path, None).await
    }

    pub async fn send(&self, method: &str, path: &str, body: &serde_json::Value) -> Result<Answer, String> {
        self.request(method, path, Some(body.to_string().as_bytes())).await
    }

    /// `method path` with an optional raw body.
    pub async fn request(&self, method: &str, path: &str, body: Option<&[u8]>) -> Result<Answer, String> {
        let addr = &self.addr;
        let exchange = async {
            let mut stream = TcpStream::connect(addr).await.map_err(|e| format!("connect {addr}: {e}"))?;
            let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAccept: application/json\r\n");
            if let Some(token) = &self.token {
                head.push_str(&format!("Authorization: Bearer {token}\r\n"));
            }
            if let Some(body) = body {
                head.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
            }
            head.push_str("\r\n");
            stream.write_all(head.as_bytes()).await.map_err(|e| format!("send to {addr}: {e}"))?;
            if let Some(body) = body {
                // A server may answer (413) and close before taking it all.
                let _ = stream.write_all(body).await;
            }
            let mut answer = Vec::new();
            let _ = stream.read_to_end(&mut answer).await;
            Ok::<_, String>(answer)
        };
        let answer = tokio::time::timeout(TIMEOUT, exchange)
            .await
            .map_err(|_| format!("{method} {path} on {addr} took over {TIMEOUT:?}"))??;
        parse(&answer).map_err(|e| format!("{method} {path} on {addr}: {e}"))
    }
}

fn parse(answer: &[u8]) -> Result<Answer, String> {
    let text = String::from_utf8_lossy(answer);
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(|| format!("no header end in {text:?}"))?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("bad status line in {head:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers.iter().any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked { dechunk(body) } else { body.to_string() };
    Ok(Answer {
        status,
        headers,
        json: serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
        text: body,
    })
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else { break };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}
