//! Dialling a control endpoint: the one place that turns an endpoint URL
//! plus TLS material and a token into a `raftcdc.v1.Control` client. Nodes
//! use it to read other nodes' identity (cluster init, add-node), and the
//! CLI and the test harness use it for every call.
//!
//! It is correct because the URL's scheme alone decides the transport:
//! `http://` is plaintext, `https://` is TLS verified against the trusted
//! CAs (never the system's roots, never unverified), and an `https://` URL
//! with no CA to verify it is an error before any connection is made.
//! Every call carries the token through [`AttachToken`] when one is set,
//! and every connection attempt and call is bounded by a timeout.
use std::time::Duration;

use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use super::auth::AttachToken;
use super::ApiError;
use crate::config::security::{ClientTls, Token};
use crate::proto::control_client;

/// A control client that authenticates its calls.
pub type ControlClient = control_client::ControlClient<InterceptedService<Channel, AttachToken>>;

/// How control endpoints are dialled.
#[derive(Clone, Debug)]
pub struct ControlDialer {
    /// What `https://` endpoints are verified against and presented.
    pub tls: ClientTls,
    /// Sent with every call.
    pub token: Option<Token>,
    /// Bound on establishing a connection.
    pub connect_timeout: Duration,
    /// Bound on each call.
    pub timeout: Duration,
}

impl ControlDialer {
    /// The endpoint for `url`, with TLS when it is `https://`.
    pub fn endpoint(&self, url: &str) -> Result<Endpoint, ApiError> {
        let endpoint = Endpoint::from_shared(url.to_string())
            .map_err(|source| ApiError::Url {
                url: url.to_string(),
                source,
            })?
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout);
        if !url.starts_with("https://") {
            return Ok(endpoint);
        }
        if !self.tls.has_roots() {
            return Err(ApiError::NoCa {
                url: url.to_string(),
            });
        }
        endpoint
            .tls_config(self.tls.config())
            .map_err(|source| ApiError::ClientTls {
                url: url.to_string(),
                source,
            })
    }

    /// Connects now (failing fast if the node cannot be reached).
    pub async fn connect(&self, url: &str) -> Result<ControlClient, ApiError> {
        let channel = self
            .endpoint(url)?
            .connect()
            .await
            .map_err(|source| ApiError::Connect {
                url: url.to_string(),
                source,
            })?;
        Ok(self.client(channel))
    }

    /// A client that connects on first use.
    pub fn connect_lazy(&self, url: &str) -> Result<ControlClient, ApiError> {
        Ok(self.client(self.endpoint(url)?.connect_lazy()))
    }

    fn client(&self, channel: Channel) -> ControlClient {
        control_client::ControlClient::with_interceptor(
            channel,
            AttachToken::new(self.token.clone()),
        )
    }
}
