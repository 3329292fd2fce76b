//! Throwaway certificates for TLS test clusters, made with the `openssl`
//! command-line tool (`/usr/bin/openssl`, or `$RAFTCDC_OPENSSL`).
//!
//! This module owns the test PKI: a CA per cluster (and a second, "rogue"
//! CA the cluster does not trust), and leaf certificates for nodes and
//! clients. It is correct because every leaf is made the way the node's
//! config documents a production certificate must be: signed by its CA,
//! `serverAuth` and `clientAuth` (a node is both in peer mTLS), and with
//! subject alternative names covering every address it is dialled at
//! (`IP:127.0.0.1`, `DNS:localhost` and the node's own loopback IP, which
//! is also its partition proxy's). Keys are P-256, which is quick to make;
//! everything lives in the cluster's temporary directory and dies with it.
use std::ffi::OsStr;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// Validity of every test certificate, in days.
const DAYS: &str = "2";

/// A certificate file and its private key file (PEM).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertPair {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A test certificate authority.
#[derive(Debug)]
pub struct TestCa {
    name: String,
    dir: PathBuf,
    /// The CA's own certificate and key.
    pub pair: CertPair,
    serial: AtomicU32,
}

fn openssl() -> PathBuf {
    std::env::var_os("RAFTCDC_OPENSSL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/openssl"))
}

async fn run(args: &[&OsStr]) {
    let output = tokio::process::Command::new(openssl())
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap_or_else(|e| panic!("run {}: {e}", openssl().display()));
    assert!(
        output.status.success(),
        "openssl {:?} failed: {}",
        args,
        String::from_utf8_lossy(&output.stderr)
    );
}

impl TestCa {
    /// Makes a self-signed CA named `name` in `dir/name/`.
    pub async fn create(dir: &Path, name: &str) -> TestCa {
        let dir = dir.join(name);
        std::fs::create_dir_all(&dir).expect("create the CA's directory");
        let pair = CertPair {
            cert: dir.join("ca.crt"),
            key: dir.join("ca.key"),
        };
        let subject = format!("/CN={name}");
        run(&[
            "req".as_ref(),
            "-x509".as_ref(),
            "-newkey".as_ref(),
            "ec".as_ref(),
            "-pkeyopt".as_ref(),
            "ec_paramgen_curve:P-256".as_ref(),
            "-nodes".as_ref(),
            "-days".as_ref(),
            DAYS.as_ref(),
            "-subj".as_ref(),
            subject.as_ref(),
            "-addext".as_ref(),
            "basicConstraints=critical,CA:TRUE".as_ref(),
            "-addext".as_ref(),
            "keyUsage=critical,keyCertSign,cRLSign".as_ref(),
            "-keyout".as_ref(),
            pair.key.as_os_str(),
            "-out".as_ref(),
            pair.cert.as_os_str(),
        ])
        .await;
        TestCa {
            name: name.to_owned(),
            dir,
            pair,
            serial: AtomicU32::new(1),
        }
    }

    /// The CA certificate file peers and clients trust.
    pub fn cert(&self) -> &Path {
        &self.pair.cert
    }

    /// Issues a leaf certificate `name` for server and client use, valid
    /// for `127.0.0.1`, `localhost` and `ips`.
    pub async fn issue(&self, name: &str, ips: &[IpAddr]) -> CertPair {
        let pair = CertPair {
            cert: self.dir.join(format!("{name}.crt")),
            key: self.dir.join(format!("{name}.key")),
        };
        let csr = self.dir.join(format!("{name}.csr"));
        let extensions = self.dir.join(format!("{name}.ext"));
        let mut names = vec!["IP:127.0.0.1".to_owned(), "DNS:localhost".to_owned()];
        names.extend(ips.iter().map(|ip| format!("IP:{ip}")));
        std::fs::write(
            &extensions,
            format!(
                "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
                 extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName={}\n",
                names.join(",")
            ),
        )
        .expect("write the certificate's extensions");
        let subject = format!("/CN={name}.{}", self.name);
        run(&[
            "req".as_ref(),
            "-new".as_ref(),
            "-newkey".as_ref(),
            "ec".as_ref(),
            "-pkeyopt".as_ref(),
            "ec_paramgen_curve:P-256".as_ref(),
            "-nodes".as_ref(),
            "-subj".as_ref(),
            subject.as_ref(),
            "-keyout".as_ref(),
            pair.key.as_os_str(),
            "-out".as_ref(),
            csr.as_os_str(),
        ])
        .await;
        let serial = self.serial.fetch_add(1, Ordering::Relaxed).to_string();
        run(&[
            "x509".as_ref(),
            "-req".as_ref(),
            "-in".as_ref(),
            csr.as_os_str(),
            "-CA".as_ref(),
            self.pair.cert.as_os_str(),
            "-CAkey".as_ref(),
            self.pair.key.as_os_str(),
            "-set_serial".as_ref(),
            serial.as_ref(),
            "-days".as_ref(),
            DAYS.as_ref(),
            "-extfile".as_ref(),
            extensions.as_os_str(),
            "-out".as_ref(),
            pair.cert.as_os_str(),
        ])
        .await;
        pair
    }
}
