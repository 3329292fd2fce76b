//! Bearer-token authentication of the control API: the server-side check
//! ([`RequireToken`]) and the client-side stamp ([`AttachToken`]).
//!
//! The check runs as a tonic interceptor in front of `raftcdc.v1.Control`
//! and server reflection, before any handler or decoding of the request
//! body; `grpc.health.v1` is deliberately left outside it so that load
//! balancers and orchestrators can probe a node without a secret (health
//! reveals only whether the node serves). It is correct because:
//!
//! - with no `[auth] token_file` every call passes, exactly as before;
//! - with one, a call passes only if its `authorization` metadata is
//!   `Bearer <token>` with the configured token, compared in constant time
//!   ([`Token::accepts`]); anything else is [`ApiError::MissingToken`] or
//!   [`ApiError::InvalidToken`], which [`super::status`] turns into
//!   `UNAUTHENTICATED`;
//! - the token is never logged and no error carries it or the value the
//!   caller sent.
use tonic::service::Interceptor;
use tonic::{Request, Status};

use super::ApiError;
use crate::config::security::Token;

/// The metadata key carrying the token.
pub const AUTHORIZATION: &str = "authorization";

/// Server side: refuses calls without the configured token.
#[derive(Clone, Debug)]
pub struct RequireToken {
    token: Option<Token>,
}

impl RequireToken {
    /// Checks against `token`; `None` admits every call.
    pub fn new(token: Option<Token>) -> RequireToken {
        RequireToken { token }
    }

    fn check<T>(&self, request: &Request<T>) -> Result<(), ApiError> {
        let Some(token) = &self.token else {
            return Ok(());
        };
        let given = request
            .metadata()
            .get(AUTHORIZATION)
            .ok_or(ApiError::MissingToken)?;
        if token.accepts(given.as_bytes()) {
            Ok(())
        } else {
            Err(ApiError::InvalidToken)
        }
    }
}

impl Interceptor for RequireToken {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        match self.check(&request) {
            Ok(()) => Ok(request),
            Err(error) => {
                tracing::debug!(remote = ?request.remote_addr(), %error, "control call refused");
                Err(error.into())
            }
        }
    }
}

/// Client side: adds the token (if any) to every call.
#[derive(Clone, Debug, Default)]
pub struct AttachToken {
    token: Option<Token>,
}

impl AttachToken {
    pub fn new(token: Option<Token>) -> AttachToken {
        AttachToken { token }
    }
}

impl Interceptor for AttachToken {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(token) = &self.token {
            request
                .metadata_mut()
                .insert(AUTHORIZATION, token.header().clone());
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_configured_token_passes() {
        let token = Token::new("abc123").unwrap();
        let mut require = RequireToken::new(Some(token.clone()));
        let mut attach = AttachToken::new(Some(token));
        let stamped = attach.call(Request::new(())).unwrap();
        assert!(require.call(stamped).is_ok());
        assert_eq!(
            require.call(Request::new(())).unwrap_err().code(),
            tonic::Code::Unauthenticated
        );
        let wrong = AttachToken::new(Token::new("abc124"))
            .call(Request::new(()))
            .unwrap();
        let refused = require.call(wrong).unwrap_err();
        assert_eq!(refused.code(), tonic::Code::Unauthenticated);
        assert!(
            !refused.message().contains("abc12"),
            "{}",
            refused.message()
        );
        assert!(RequireToken::new(None).call(Request::new(())).is_ok());
    }
}
