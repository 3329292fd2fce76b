//! The `[tls.control]`, `[tls.peer]` and `[auth]` sections of the node
//! config, and the key material they name.
//!
//! ```toml
//! [tls.control]            # optional: TLS on the control API listener
//! cert = "/etc/raftcdc/tls/node.crt"
//! key = "/etc/raftcdc/tls/node.key"
//! client_ca = "/etc/raftcdc/tls/ca.crt"   # optional: require client certs signed by it
//!
//! [tls.peer]               # optional: mutual TLS between nodes
//! cert = "/etc/raftcdc/tls/node.crt"
//! key = "/etc/raftcdc/tls/node.key"
//! ca = "/etc/raftcdc/tls/ca.crt"
//!
//! [auth]
//! token_file = "/etc/raftcdc/token"       # optional: bearer token on the control API
//! ```
//!
//! This module owns turning those paths into the material the listeners and
//! the dialers use: [`ServerTls`], [`ClientTls`] and [`Token`]. It is correct
//! because:
//!
//! - **Every file is read and parsed once, at load**, before the node
//!   serves: a missing, unreadable or unparsable file, or a key that does not
//!   match its certificate, is a config error naming the field
//!   (`tls.peer.key: cannot read /x: No such file or directory`), never a
//!   handshake failure discovered later. Nothing here runs on the runtime.
//! - **Secrets never leave through `Debug` or errors.** [`Token`],
//!   [`ServerTls`] and [`ClientTls`] print no key material, and token errors
//!   name the file, never its content.
//! - **The whole cluster shares one trust setup.** A node dials other nodes'
//!   control endpoints (cluster init, add-node) too; it trusts the CAs it
//!   already has for that (`tls.control.client_ca` and `tls.peer.ca`) and
//!   presents its own certificate (the control one, else the peer one). With
//!   one CA for every node certificate, which is the deployment the docs
//!   describe, that always verifies.
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};

use super::ConfigError;

/// How long a TLS handshake may take before the server drops the connection
/// (a client that connects and never speaks must not hold a slot forever).
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// `[tls]`: TLS on the two listeners. Each part is optional; without it
/// that listener speaks plaintext.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    /// `[tls.control]`: TLS on the control API listener (`node.listen`).
    #[serde(default)]
    pub control: Option<ControlTlsSection>,
    /// `[tls.peer]`: mutual TLS on the node-to-node listener and on every
    /// connection a node opens to a peer (peer addresses are then dialled
    /// as `https`).
    #[serde(default)]
    pub peer: Option<PeerTlsSection>,
}

/// `[tls.control]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlTlsSection {
    /// PEM certificate chain the control listener presents (leaf first).
    /// Its names must cover the host of `node.advertise`, which then must
    /// start with `https://` (the default when this section is set).
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of `cert`.
    pub key: PathBuf,
    /// Optional PEM CA certificate(s): when set, every control client must
    /// present a certificate signed by one of them (mutual TLS).
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
}

/// `[tls.peer]`: all three fields are required.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerTlsSection {
    /// PEM certificate chain this node presents to peers, as server and as
    /// client: it needs both the `serverAuth` and `clientAuth` extended key
    /// usages (or none), and names covering the host of
    /// `node.peer_advertise`.
    pub cert: PathBuf,
    /// PEM private key of `cert`.
    pub key: PathBuf,
    /// PEM CA certificate(s) peers' certificates must be signed by, in both
    /// directions. A peer with a certificate from another CA is refused.
    pub ca: PathBuf,
}

/// `[auth]`: who may call the control API.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSection {
    /// File holding the bearer token every control API call must carry
    /// (`authorization: Bearer <token>`), except `grpc.health.v1`. One line
    /// of printable ASCII without spaces; surrounding whitespace is ignored.
    /// Every node of a cluster must use the same token (nodes call each
    /// other's control API with their own).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
}

/// The validated security settings of a node.
#[derive(Debug, Clone, Default)]
pub struct Security {
    /// TLS of the control listener.
    pub control: Option<ServerTls>,
    /// Mutual TLS between nodes.
    pub peer: Option<PeerTls>,
    /// Bearer token of the control API.
    pub token: Option<Token>,
}

/// Mutual TLS between nodes: what the peer listener serves and requires,
/// and what this node presents and trusts when it dials a peer.
#[derive(Debug, Clone)]
pub struct PeerTls {
    pub server: ServerTls,
    pub client: ClientTls,
}

impl Security {
    /// TLS for dialling other nodes' control endpoints (`https://`): trusts
    /// `tls.control.client_ca` and `tls.peer.ca`, presents this node's
    /// control certificate, else its peer certificate.
    pub fn control_client(&self) -> ClientTls {
        let roots = self
            .control
            .iter()
            .filter_map(|c| c.client_ca.clone())
            .chain(self.peer.iter().flat_map(|p| p.client.roots.clone()))
            .collect();
        let identity = match (&self.control, &self.peer) {
            (Some(control), _) => Some(control.identity.clone()),
            (None, Some(peer)) => peer.client.identity.clone(),
            (None, None) => None,
        };
        ClientTls { roots, identity }
    }
}

/// A TLS server's certificate and key, and the CA its clients must be
/// signed by (if any). `Debug` shows no key material.
#[derive(Clone)]
pub struct ServerTls {
    identity: Identity,
    client_ca: Option<Certificate>,
    /// The same certificate chain and key as PEM, for the REST listener's
    /// rustls configuration (tonic's `Identity` does not give them back).
    pem: Arc<ServerPem>,
}

/// PEM material of a [`ServerTls`], already checked when it was loaded.
#[derive(Default)]
pub struct ServerPem {
    pub cert_chain: Vec<u8>,
    pub key: Vec<u8>,
    pub client_ca: Option<Vec<u8>>,
}

impl ServerTls {
    /// tonic's server configuration.
    pub fn config(&self) -> ServerTlsConfig {
        let config = ServerTlsConfig::new()
            .identity(self.identity.clone())
            .timeout(HANDSHAKE_TIMEOUT);
        match &self.client_ca {
            Some(ca) => config
                .client_ca_root(ca.clone())
                .client_auth_optional(false),
            None => config,
        }
    }

    /// The certificate chain, key and client CA as PEM (REST listener).
    pub fn pem(&self) -> &ServerPem {
        &self.pem
    }

    /// Whether clients must present a certificate.
    pub fn requires_client_cert(&self) -> bool {
        self.client_ca.is_some()
    }
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("requires_client_cert", &self.requires_client_cert())
            .finish_non_exhaustive()
    }
}

/// What a TLS client trusts and presents. `Debug` shows no key material.
#[derive(Clone, Default)]
pub struct ClientTls {
    roots: Vec<Certificate>,
    identity: Option<Identity>,
}

impl ClientTls {
    /// Trusts `roots` (PEM CA certificates) and presents `identity`, if any.
    pub fn new(roots: Vec<Certificate>, identity: Option<Identity>) -> ClientTls {
        ClientTls { roots, identity }
    }

    /// Whether any CA is trusted; without one no `https` server can be
    /// verified (the system's roots are not used).
    pub fn has_roots(&self) -> bool {
        !self.roots.is_empty()
    }

    /// tonic's client configuration (the server name checked is the host of
    /// the URL dialled).
    pub fn config(&self) -> ClientTlsConfig {
        let config = ClientTlsConfig::new()
            .ca_certificates(self.roots.iter().cloned())
            .timeout(HANDSHAKE_TIMEOUT);
        match &self.identity {
            Some(identity) => config.identity(identity.clone()),
            None => config,
        }
    }
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls")
            .field("roots", &self.roots.len())
            .field("presents_cert", &self.identity.is_some())
            .finish()
    }
}

/// A bearer token. `Debug` and errors never show it.
#[derive(Clone)]
pub struct Token {
    secret: Box<[u8]>,
    /// `Bearer <token>`, marked sensitive so HTTP/2 never indexes it.
    header: MetadataValue<Ascii>,
}

impl Token {
    /// The token itself; `None` for anything that is not a valid token
    /// (empty, non-ASCII, spaces or control characters).
    pub fn new(secret: &str) -> Option<Token> {
        let secret = secret.trim();
        if secret.is_empty() || !secret.bytes().all(|b| b.is_ascii_graphic()) {
            return None;
        }
        let mut header: MetadataValue<Ascii> = format!("Bearer {secret}").parse().ok()?;
        header.set_sensitive(true);
        Some(Token {
            secret: secret.as_bytes().into(),
            header,
        })
    }

    /// The `authorization` metadata value carrying this token.
    pub fn header(&self) -> &MetadataValue<Ascii> {
        &self.header
    }

    /// Whether `authorization` holds exactly this token (`Bearer`, any case,
    /// then the token). The token is compared in constant time.
    pub fn accepts(&self, authorization: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        let Some((scheme, given)) = split_once(authorization, b' ') else {
            return false;
        };
        scheme.eq_ignore_ascii_case(b"bearer") && bool::from(self.secret.ct_eq(given))
    }
}

fn split_once(bytes: &[u8], separator: u8) -> Option<(&[u8], &[u8])> {
    let at = bytes.iter().position(|b| *b == separator)?;
    Some((&bytes[..at], &bytes[at + 1..]))
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Why a certificate, key or token file is unusable. Names the file, never
/// its content.
#[derive(Debug, thiserror::Error)]
pub enum MaterialError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} holds no PEM certificate", path.display())]
    NoCertificate { path: PathBuf },
    #[error("{} holds no PEM private key", path.display())]
    NoKey { path: PathBuf },
    #[error("{} is not valid PEM", path.display())]
    Pem {
        path: PathBuf,
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    #[error("{} and {} do not form a usable TLS identity", cert.display(), key.display())]
    Identity {
        cert: PathBuf,
        key: PathBuf,
        #[source]
        source: tonic::transport::Error,
    },
    #[error("{} must hold one token of printable ASCII without spaces", path.display())]
    Token { path: PathBuf },
}

fn read(path: &Path) -> Result<Vec<u8>, MaterialError> {
    std::fs::read(path).map_err(|source| MaterialError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads a PEM file holding one or more certificates.
pub fn read_certificates(path: &Path) -> Result<Certificate, MaterialError> {
    let pem = read(path)?;
    let mut found = false;
    for cert in CertificateDer::pem_slice_iter(&pem) {
        cert.map_err(|source| MaterialError::Pem {
            path: path.to_path_buf(),
            source,
        })?;
        found = true;
    }
    if !found {
        return Err(MaterialError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    Ok(Certificate::from_pem(pem))
}

/// Reads a PEM private key file.
pub fn read_key(path: &Path) -> Result<Vec<u8>, MaterialError> {
    let pem = read(path)?;
    match PrivateKeyDer::from_pem_slice(&pem) {
        Ok(_) => Ok(pem),
        Err(rustls_pki_types::pem::Error::NoItemsFound) => Err(MaterialError::NoKey {
            path: path.to_path_buf(),
        }),
        Err(source) => Err(MaterialError::Pem {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Reads a token file.
pub fn read_token(path: &Path) -> Result<Token, MaterialError> {
    let bytes = read(path)?;
    std::str::from_utf8(&bytes)
        .ok()
        .and_then(Token::new)
        .ok_or_else(|| MaterialError::Token {
            path: path.to_path_buf(),
        })
}

/// Reads a certificate chain and its key, and checks that rustls accepts
/// them as a pair (a key that does not match its certificate is caught
/// here, not at the first handshake).
pub fn read_identity(cert: &Path, key: &Path) -> Result<Identity, (&'static str, MaterialError)> {
    let chain = read_certificates(cert).map_err(|e| ("cert", e))?;
    let key_pem = read_key(key).map_err(|e| ("key", e))?;
    let identity = Identity::from_pem(chain.into_inner(), key_pem);
    // Building a server config parses both and matches the key to the leaf.
    tonic::transport::Server::builder()
        .tls_config(ServerTlsConfig::new().identity(identity.clone()))
        .map_err(|source| {
            (
                "key",
                MaterialError::Identity {
                    cert: cert.to_path_buf(),
                    key: key.to_path_buf(),
                    source,
                },
            )
        })?;
    Ok(identity)
}

impl TlsSection {
    /// Loads the files named by `[tls]` and `[auth]`; errors name the field.
    pub(super) fn load(
        self,
        auth: AuthSection,
        config_path: &Path,
    ) -> Result<Security, ConfigError> {
        let error = |field: &'static str, source: MaterialError| ConfigError::Material {
            path: config_path.to_path_buf(),
            field,
            source,
        };
        let identity = |fields: [&'static str; 2], cert: &Path, key: &Path| {
            read_identity(cert, key).map_err(|(which, e)| {
                error(
                    if which == "cert" {
                        fields[0]
                    } else {
                        fields[1]
                    },
                    e,
                )
            })
        };
        let control = self
            .control
            .map(|c| {
                let identity = identity(["tls.control.cert", "tls.control.key"], &c.cert, &c.key)?;
                let client_ca = c
                    .client_ca
                    .as_ref()
                    .map(|ca| read_certificates(ca).map_err(|e| error("tls.control.client_ca", e)))
                    .transpose()?;
                // The same files again as PEM, for the REST listener; they
                // were just read and checked above.
                let pem = ServerPem {
                    cert_chain: read(&c.cert).map_err(|e| error("tls.control.cert", e))?,
                    key: read(&c.key).map_err(|e| error("tls.control.key", e))?,
                    client_ca: client_ca.as_ref().map(|ca| ca.clone().into_inner()),
                };
                Ok::<_, ConfigError>(ServerTls {
                    identity,
                    client_ca,
                    pem: Arc::new(pem),
                })
            })
            .transpose()?;
        let peer = self
            .peer
            .map(|p| {
                let identity = identity(["tls.peer.cert", "tls.peer.key"], &p.cert, &p.key)?;
                let ca = read_certificates(&p.ca).map_err(|e| error("tls.peer.ca", e))?;
                Ok::<_, ConfigError>(PeerTls {
                    server: ServerTls {
                        identity: identity.clone(),
                        client_ca: Some(ca.clone()),
                        // The peer listener is tonic's only; no PEM kept.
                        pem: Arc::default(),
                    },
                    client: ClientTls {
                        roots: vec![ca],
                        identity: Some(identity),
                    },
                })
            })
            .transpose()?;
        let token = auth
            .token_file
            .map(|path| read_token(&path).map_err(|e| error("auth.token_file", e)))
            .transpose()?;
        Ok(Security {
            control,
            peer,
            token,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::NodeConfig;
    use crate::error::error_chain;

    use crate::config::tests::GOOD as NODE;

    fn err(extra: &str) -> String {
        error_chain(
            &NodeConfig::parse(Path::new("node.toml"), &format!("{NODE}{extra}")).unwrap_err(),
        )
    }

    #[test]
    fn missing_files_name_the_field() {
        let e = err("[tls.peer]\ncert = \"/nonexistent/n.crt\"\nkey = \"/nonexistent/n.key\"\nca = \"/nonexistent/ca.crt\"\n");
        assert!(
            e.contains("tls.peer.cert: cannot read /nonexistent/n.crt: No such file"),
            "{e}"
        );
        let e = err("[tls.control]\ncert = \"/nonexistent/c.crt\"\nkey = \"/k\"\n");
        assert!(
            e.contains("tls.control.cert: cannot read /nonexistent/c.crt"),
            "{e}"
        );
        let e = err("[auth]\ntoken_file = \"/nonexistent/token\"\n");
        assert!(
            e.contains("auth.token_file: cannot read /nonexistent/token"),
            "{e}"
        );
    }

    #[test]
    fn unparsable_files_name_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate\n").unwrap();
        let e = err(&format!(
            "[tls.peer]\ncert = {junk:?}\nkey = {junk:?}\nca = {junk:?}\n"
        ));
        assert!(
            e.contains("tls.peer.cert: ") && e.contains("holds no PEM certificate"),
            "{e}"
        );
        let e = err(&format!("[tls.control]\ncert = {junk:?}\nkey = {junk:?}\n"));
        assert!(e.contains("tls.control.cert: "), "{e}");
        let empty = dir.path().join("token");
        std::fs::write(&empty, "  \n").unwrap();
        let e = err(&format!("[auth]\ntoken_file = {empty:?}\n"));
        assert!(
            e.contains("auth.token_file: ") && e.contains("must hold one token"),
            "{e}"
        );
    }

    #[test]
    fn sections_are_checked_by_field() {
        let e = err("[tls.peer]\ncert = \"/a\"\nkey = \"/b\"\n");
        assert!(e.contains("tls.peer.ca: missing field"), "{e}");
        let e = err("[tls.control]\ncert = \"/a\"\nkey = \"/b\"\nca = \"/c\"\n");
        assert!(e.contains("tls.control.ca"), "{e}");
        let e = err("[auth]\ntoken = \"x\"\n");
        assert!(e.contains("auth.token"), "{e}");
    }

    #[test]
    fn control_tls_means_https_endpoints() {
        let tls = "[tls.control]\ncert = \"/nonexistent/c.crt\"\nkey = \"/k\"\n";
        let e = error_chain(
            &NodeConfig::parse(
                Path::new("node.toml"),
                &format!(
                    "{}{tls}",
                    NODE.replace("id = 1", "id = 1\nadvertise = \"http://10.0.0.1:7001\"")
                ),
            )
            .unwrap_err(),
        );
        assert!(
            e.contains("node.advertise: \"http://10.0.0.1:7001\" must start with https://"),
            "{e}"
        );
        let e = error_chain(
            &NodeConfig::parse(
                Path::new("node.toml"),
                &NODE.replace("id = 1", "id = 1\nadvertise = \"https://10.0.0.1:7001\""),
            )
            .unwrap_err(),
        );
        assert!(
            e.contains("node.advertise: \"https://10.0.0.1:7001\" must start with http://"),
            "{e}"
        );
    }

    #[test]
    fn token_is_never_shown_and_compared_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cret-token\n").unwrap();
        let token = read_token(&path).unwrap();
        assert!(!format!("{token:?}").contains("s3cret"));
        assert!(token.accepts(b"Bearer s3cret-token"));
        assert!(token.accepts(b"bearer s3cret-token"));
        assert!(!token.accepts(b"Bearer s3cret-toke"));
        assert!(!token.accepts(b"Bearer s3cret-token2"));
        assert!(!token.accepts(b"Basic s3cret-token"));
        assert!(!token.accepts(b"s3cret-token"));
        let config = NodeConfig::parse(
            Path::new("node.toml"),
            &format!("{NODE}[auth]\ntoken_file = {path:?}\n"),
        )
        .unwrap();
        assert!(!format!("{config:?}").contains("s3cret"));
        std::fs::write(&path, "two words\n").unwrap();
        let e = error_chain(&read_token(&path).unwrap_err());
        assert!(!e.contains("two") && !e.contains("words"), "{e}");
    }
}
