//! TLS to the database: Debezium's `database.ssl.mode`, with PEM files
//! where Debezium takes Java key stores.
//!
//! Debezium's `database.ssl.truststore` and `database.ssl.keystore` name
//! JKS/PKCS#12 files that only a JVM reads. raftcdc keeps the property
//! names but gives them a PEM meaning:
//!
//! - `database.ssl.truststore`: a PEM bundle of CA certificates the
//!   server's certificate must chain to (`verify_ca`, `verify_identity`);
//!   without it, the Mozilla roots built into the client are used.
//! - `database.ssl.keystore`: one PEM file holding the client certificate
//!   (chain) and its unencrypted private key, for servers that require a
//!   client certificate (`REQUIRE X509`).
//! - `database.ssl.truststore.password`, `database.ssl.keystore.password`:
//!   accepted (so a Debezium payload pastes unchanged) and redacted, but
//!   unused: PEM files carry no store password.
//!
//! The modes mean what they mean in Debezium (and MySQL's `--ssl-mode`):
//! `disabled` (default) never encrypts; `preferred` encrypts if the server
//! offers TLS and falls back to plaintext only when it does not;
//! `required` encrypts or fails, without checking the certificate;
//! `verify_ca` also checks the certificate chains to a trusted CA;
//! `verify_identity` also checks it names `database.hostname`.
//!
//! [`DatabaseTls::from_properties`] checks the values and combinations
//! (no I/O: the CLI validates payloads too, and the files live on the
//! nodes); [`DatabaseTls::check_files`] reads and parses the files when the
//! connector's task starts, so a missing or non-PEM file is a definite
//! error naming the property, not a failed handshake later. The client
//! (mysql_async, rustls with the ring provider) reads the files again on
//! every connection, asynchronously, so renewed certificates are picked up.
use std::collections::BTreeMap;
use std::path::PathBuf;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::config::ConfigError;

pub const SSL_MODE: &str = "database.ssl.mode";
pub const TRUSTSTORE: &str = "database.ssl.truststore";
pub const KEYSTORE: &str = "database.ssl.keystore";

/// `database.ssl.mode`, Debezium's values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SslMode {
    #[default]
    Disabled,
    Preferred,
    Required,
    VerifyCa,
    VerifyIdentity,
}

impl std::str::FromStr for SslMode {
    type Err = String;
    fn from_str(s: &str) -> Result<SslMode, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "disabled" => SslMode::Disabled,
            "preferred" => SslMode::Preferred,
            "required" => SslMode::Required,
            "verify_ca" => SslMode::VerifyCa,
            "verify_identity" => SslMode::VerifyIdentity,
            other => {
                return Err(format!(
                    "\"{other}\" is not an SSL mode; use disabled, preferred, required, verify_ca or verify_identity"
                ))
            }
        })
    }
}

impl SslMode {
    /// The property value.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disabled => "disabled",
            SslMode::Preferred => "preferred",
            SslMode::Required => "required",
            SslMode::VerifyCa => "verify_ca",
            SslMode::VerifyIdentity => "verify_identity",
        }
    }

    /// Whether the server's certificate is checked against trusted CAs.
    pub fn verifies_ca(self) -> bool {
        matches!(self, SslMode::VerifyCa | SslMode::VerifyIdentity)
    }
}

/// The database TLS settings of a connector (file paths, not contents).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatabaseTls {
    pub mode: SslMode,
    /// `database.ssl.truststore`: PEM CA bundle.
    pub truststore: Option<PathBuf>,
    /// `database.ssl.keystore`: PEM client certificate chain and key.
    pub keystore: Option<PathBuf>,
}

fn error(property: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        property: property.to_string(),
        reason: reason.into(),
    }
}

impl DatabaseTls {
    /// Reads `database.ssl.mode`, `.truststore` and `.keystore`; a file
    /// given where the mode makes no use of it is refused rather than
    /// silently ignored (a trust store with `required` would otherwise look
    /// like verification).
    pub fn from_properties(props: &BTreeMap<String, String>) -> Result<DatabaseTls, ConfigError> {
        let get = |key: &str| props.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
        let mode = match get(SSL_MODE) {
            None => SslMode::Disabled,
            Some(v) => v.parse().map_err(|e: String| error(SSL_MODE, e))?,
        };
        let truststore = get(TRUSTSTORE).map(PathBuf::from);
        let keystore = get(KEYSTORE).map(PathBuf::from);
        if truststore.is_some() && !mode.verifies_ca() {
            return Err(error(
                TRUSTSTORE,
                format!(
                    "is only used with {SSL_MODE}=verify_ca or verify_identity (the mode is {})",
                    mode.as_str()
                ),
            ));
        }
        if keystore.is_some() && mode == SslMode::Disabled {
            return Err(error(KEYSTORE, format!("has no effect with {SSL_MODE}=disabled")));
        }
        Ok(DatabaseTls {
            mode,
            truststore,
            keystore,
        })
    }

    /// Reads the files and checks they are what the properties say: the
    /// trust store at least one PEM certificate, the key store PEM
    /// certificates and an unencrypted PEM private key. Blocking file
    /// reads of a few KiB, done once when a task starts.
    pub fn check_files(&self) -> Result<(), ConfigError> {
        if let Some(path) = &self.truststore {
            let pem = read(TRUSTSTORE, path)?;
            let count = certificates(TRUSTSTORE, path, &pem)?;
            if count == 0 {
                return Err(error(
                    TRUSTSTORE,
                    format!(
                        "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----); raftcdc reads PEM CA bundles, not Java key stores",
                        path.display()
                    ),
                ));
            }
        }
        if let Some(path) = &self.keystore {
            let pem = read(KEYSTORE, path)?;
            if certificates(KEYSTORE, path, &pem)? == 0 {
                return Err(error(
                    KEYSTORE,
                    format!(
                        "{} holds no PEM certificate; it must hold the client certificate and its private key in PEM, not a Java key store",
                        path.display()
                    ),
                ));
            }
            match PrivateKeyDer::from_pem_slice(&pem) {
                Ok(_) => {}
                Err(rustls_pki_types::pem::Error::NoItemsFound) => {
                    return Err(error(
                        KEYSTORE,
                        format!(
                            "{} holds no unencrypted PEM private key (PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY); decrypt an encrypted key with `openssl pkey`",
                            path.display()
                        ),
                    ))
                }
                Err(e) => return Err(error(KEYSTORE, format!("{}: bad PEM private key: {e}", path.display()))),
            }
        }
        Ok(())
    }

    /// The client's TLS options for this mode (`None`: plaintext). Paths
    /// are handed over, not contents: the client reads them asynchronously
    /// when it connects.
    pub fn ssl_opts(&self) -> Option<mysql_async::SslOpts> {
        let mut opts = mysql_async::SslOpts::default().with_client_identity(
            self.keystore
                .as_ref()
                .map(|path| mysql_async::ClientIdentity::new(path.clone().into(), path.clone().into())),
        );
        match self.mode {
            SslMode::Disabled => return None,
            SslMode::Preferred | SslMode::Required => {
                opts = opts.with_danger_accept_invalid_certs(true);
            }
            SslMode::VerifyCa | SslMode::VerifyIdentity => {
                if let Some(path) = &self.truststore {
                    opts = opts
                        .with_root_certs(vec![path.clone().into()])
                        .with_disable_built_in_roots(true);
                }
                opts = opts.with_danger_skip_domain_validation(self.mode == SslMode::VerifyCa);
            }
        }
        Some(opts)
    }
}

fn read(property: &str, path: &std::path::Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|e| error(property, format!("cannot read {}: {e}", path.display())))
}

/// Counts the PEM certificates in `pem`; a malformed one is an error.
fn certificates(property: &str, path: &std::path::Path, pem: &[u8]) -> Result<usize, ConfigError> {
    let mut count = 0;
    for cert in CertificateDer::pem_slice_iter(pem) {
        cert.map_err(|e| error(property, format!("{}: bad PEM certificate: {e}", path.display())))?;
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn parse(pairs: &[(&str, &str)]) -> Result<DatabaseTls, ConfigError> {
        DatabaseTls::from_properties(&props(pairs))
    }

    #[test]
    fn modes_and_their_client_options() {
        assert_eq!(parse(&[]).unwrap().mode, SslMode::Disabled);
        assert!(parse(&[]).unwrap().ssl_opts().is_none());
        let required = parse(&[(SSL_MODE, "REQUIRED")]).unwrap().ssl_opts().unwrap();
        assert!(required.accept_invalid_certs());
        let preferred = parse(&[(SSL_MODE, "preferred")]).unwrap().ssl_opts().unwrap();
        assert!(preferred.accept_invalid_certs());
        let ca = parse(&[(SSL_MODE, "verify_ca"), (TRUSTSTORE, "/etc/ca.pem")])
            .unwrap()
            .ssl_opts()
            .unwrap();
        assert!(!ca.accept_invalid_certs() && ca.skip_domain_validation() && ca.disable_built_in_roots());
        assert_eq!(ca.root_certs().len(), 1);
        let identity = parse(&[(SSL_MODE, "verify_identity"), (KEYSTORE, "/etc/client.pem")])
            .unwrap()
            .ssl_opts()
            .unwrap();
        assert!(!identity.accept_invalid_certs() && !identity.skip_domain_validation());
        assert!(!identity.disable_built_in_roots() && identity.client_identity().is_some());
    }

    #[test]
    fn errors_name_the_property() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[(SSL_MODE, "on")],
                "config.database.ssl.mode: \"on\" is not an SSL mode",
            ),
            (
                &[(SSL_MODE, "required"), (TRUSTSTORE, "/ca.pem")],
                "config.database.ssl.truststore: is only used",
            ),
            (
                &[(TRUSTSTORE, "/ca.pem")],
                "config.database.ssl.truststore: is only used",
            ),
            (
                &[(KEYSTORE, "/client.pem")],
                "config.database.ssl.keystore: has no effect",
            ),
        ];
        for (pairs, expected) in cases {
            let e = parse(pairs).unwrap_err().to_string();
            assert!(e.starts_with(expected), "{pairs:?}: {e}");
        }
    }

    #[test]
    fn files_must_be_pem() {
        let dir = tempfile::tempdir().unwrap();
        let jks = dir.path().join("truststore.jks");
        std::fs::write(&jks, [0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2]).unwrap();
        let missing = dir.path().join("missing.pem");
        let bad_cert = dir.path().join("bad.pem");
        std::fs::write(
            &bad_cert,
            "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        // A well-formed PEM block is enough here: the handshake checks
        // the certificate itself.
        let cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, cert).unwrap();
        let cert_only = dir.path().join("cert-only.pem");
        std::fs::write(&cert_only, cert).unwrap();
        let encrypted = dir.path().join("encrypted.pem");
        std::fs::write(
            &encrypted,
            format!("{cert}-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"),
        )
        .unwrap();
        let client = dir.path().join("client.pem");
        std::fs::write(
            &client,
            format!("{cert}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
        )
        .unwrap();

        let check = |truststore: Option<&PathBuf>, keystore: Option<&PathBuf>| {
            DatabaseTls {
                mode: SslMode::VerifyIdentity,
                truststore: truststore.cloned(),
                keystore: keystore.cloned(),
            }
            .check_files()
        };
        check(Some(&ca), Some(&client)).unwrap();
        let cases = [
            (check(Some(&jks), None), TRUSTSTORE, "not Java key stores"),
            (check(Some(&missing), None), TRUSTSTORE, "cannot read"),
            (check(Some(&bad_cert), None), TRUSTSTORE, "bad PEM certificate"),
            (check(None, Some(&jks)), KEYSTORE, "not a Java key store"),
            (
                check(None, Some(&cert_only)),
                KEYSTORE,
                "no unencrypted PEM private key",
            ),
            (
                check(None, Some(&encrypted)),
                KEYSTORE,
                "no unencrypted PEM private key",
            ),
        ];
        for (result, property, reason) in cases {
            let e = result.unwrap_err();
            assert_eq!(e.property, property, "{e}");
            assert!(e.reason.contains(reason), "{e}");
        }
    }
}
