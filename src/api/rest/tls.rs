//! HTTPS on the REST listener with the control API's certificate, key and
//! client CA (`[tls.control]`), through rustls with the ring provider (the
//! same rustls tonic builds), and the accept loop that serves the router
//! over it.
//!
//! Correct because: the rustls configuration is built once at start-up
//! from the PEM the config loader already checked, so a bad file fails the
//! start, not a handshake; with `client_ca` every client must present a
//! certificate from it (as on the control listener); each handshake has
//! [`HANDSHAKE_TIMEOUT`], so a silent client costs one task briefly; each
//! connection runs in its own task, and the loop stops accepting when the
//! node shuts down.
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;

use crate::config::security::ServerTls;

/// Time a client has to finish the TLS handshake (as on the control API).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the REST listener's TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum RestTlsError {
    #[error("tls.control: cannot parse the PEM material")]
    Pem(#[from] rustls_pki_types::pem::Error),
    #[error("tls.control: rustls refused the certificate or client CA")]
    Rustls(#[from] rustls::Error),
    #[error("tls.control.client_ca: cannot build the client verifier")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
}

/// The acceptor for `tls`.
pub fn acceptor(tls: &ServerTls) -> Result<TlsAcceptor, RestTlsError> {
    let pem = tls.pem();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(&pem.cert_chain).collect::<Result<_, _>>()?;
    let key = PrivateKeyDer::from_pem_slice(&pem.key)?;
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions()?;
    let builder = match &pem.client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(ca) {
                roots.add(cert?)?;
            }
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider).build()?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves `router` over TLS on `listener` until `stopped` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    acceptor: TlsAcceptor,
    router: Router,
    stopped: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut stopped = std::pin::pin!(stopped);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off.
                    tracing::warn!(%error, "REST listener cannot accept");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut stopped => return Ok(()),
        };
        let (acceptor, router) = (acceptor.clone(), router.clone());
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(error)) => {
                    tracing::debug!(%peer, %error, "REST TLS handshake failed");
                    return;
                }
                Err(_) => return,
            };
            let service = hyper_util::service::TowerToHyperService::new(router);
            if let Err(error) = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                .await
            {
                tracing::debug!(%peer, %error, "REST connection ended with an error");
            }
        });
    }
}
