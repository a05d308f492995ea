//! HTTPS for the simulator: a certificate chain and key in PEM
//! ([`SimTls`]), the rustls server config made from them (the *ring*
//! provider), and [`TestPki`]: a fresh CA and certificates it signs, made
//! at run time for `--tls-self-signed` and for the tests (a leaf for
//! `localhost`/`127.0.0.1`, one for another name, an expired one).

use std::fmt;
use std::future::Future as _;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::error::SimError;

/// What the simulator serves HTTPS with: a certificate chain (leaf first)
/// and its private key, both PEM. `Debug` hides the key.
#[derive(Clone)]
pub struct SimTls {
    /// The certificate chain, PEM, the leaf first.
    pub cert_pem: String,
    /// The leaf's private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key_pem: String,
}

impl fmt::Debug for SimTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimTls")
            .field("cert_pem", &format_args!("<{} bytes>", self.cert_pem.len()))
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

fn tls_error(what: &str, detail: impl fmt::Display) -> SimError {
    SimError::Tls(format!("{what}: {detail}"))
}

impl SimTls {
    /// Reads the certificate chain and key from two PEM files.
    pub fn from_files(cert: &Path, key: &Path) -> Result<Self, SimError> {
        let read = |path: &Path| {
            std::fs::read_to_string(path)
                .map_err(|e| tls_error(&format!("cannot read {}", path.display()), e))
        };
        let tls = Self {
            cert_pem: read(cert)?,
            key_pem: read(key)?,
        };
        tls.server_config()?;
        Ok(tls)
    }

    /// The rustls server config (ring; TLS 1.2 and 1.3; HTTP/1.1).
    pub(crate) fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, SimError> {
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(self.cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(|e| tls_error("the certificate is not PEM", e))?;
        if certs.is_empty() {
            return Err(tls_error("the certificate file", "holds no certificate"));
        }
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes())
            .map_err(|e| tls_error("the key is not a PEM private key", e))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_error("TLS set-up", e))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| tls_error("the certificate and key do not fit", e))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// A certificate authority made at run time, and certificates it signs.
pub struct TestPki {
    issuer: rcgen::Issuer<'static, KeyPair>,
    ca_pem: String,
}

impl fmt::Debug for TestPki {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestPki").finish_non_exhaustive()
    }
}

impl TestPki {
    /// A fresh CA whose common name is `name`.
    pub fn new(name: &str) -> Result<Self, SimError> {
        let fail = |e: rcgen::Error| tls_error("cannot make a CA", e);
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(fail)?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().map_err(fail)?;
        let ca_pem = params.self_signed(&key).map_err(fail)?.pem();
        let issuer = rcgen::Issuer::new(params, key);
        Ok(Self { issuer, ca_pem })
    }

    /// The CA's certificate, PEM (what a client adds to its roots).
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A certificate for `names` (DNS names or IP addresses), valid now.
    pub fn leaf(&self, names: &[&str]) -> Result<SimTls, SimError> {
        self.leaf_valid(names, false)
    }

    /// A certificate for `names` that expired in 2021.
    pub fn expired_leaf(&self, names: &[&str]) -> Result<SimTls, SimError> {
        self.leaf_valid(names, true)
    }

    fn leaf_valid(&self, names: &[&str], expired: bool) -> Result<SimTls, SimError> {
        let fail = |e: rcgen::Error| tls_error("cannot make a certificate", e);
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names.clone()).map_err(fail)?;
        params.distinguished_name.push(
            DnType::CommonName,
            names.first().cloned().unwrap_or_default(),
        );
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().map_err(fail)?;
        let cert = params.signed_by(&key, &self.issuer).map_err(fail)?;
        Ok(SimTls {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// `--tls-self-signed DIR`: a fresh CA and a certificate for
    /// `localhost` and `127.0.0.1`, written to `DIR/ca.pem`, `DIR/cert.pem`
    /// and `DIR/key.pem` (the key readable by its owner only).
    pub fn write_self_signed(dir: &Path) -> Result<SimTls, SimError> {
        let pki = Self::new("gong-logs-sim test CA")?;
        let tls = pki.leaf(&["localhost", "127.0.0.1"])?;
        let write = |name: &str, text: &str, mode: u32| -> Result<(), SimError> {
            use std::io::Write as _;
            use std::os::unix::fs::OpenOptionsExt as _;
            let path = dir.join(name);
            let fail = |e: io::Error| tls_error(&format!("cannot write {}", path.display()), e);
            let _ = std::fs::remove_file(&path);
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .open(&path)
                .map_err(fail)?;
            file.write_all(text.as_bytes()).map_err(fail)
        };
        std::fs::create_dir_all(dir)
            .map_err(|e| tls_error(&format!("cannot create {}", dir.display()), e))?;
        write("ca.pem", pki.ca_pem(), 0o644)?;
        write("cert.pem", &tls.cert_pem, 0o644)?;
        write("key.pem", &tls.key_pem, 0o600)?;
        Ok(tls)
    }
}

/// A server connection: plain TCP, or TLS (the handshake driven by the
/// first read or write, so that a slow client holds up only itself).
pub(crate) enum Stream {
    Plain(TcpStream),
    Accepting(Box<tokio_rustls::Accept<TcpStream>>),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
    Failed,
}

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Plain(_) => "Plain",
            Self::Accepting(_) => "Accepting",
            Self::Tls(_) => "Tls",
            Self::Failed => "Failed",
        })
    }
}

/// Anything hyper can read and write.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

impl Stream {
    /// The stream, once any handshake is done.
    pub(crate) fn poll_io(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<&mut dyn Io>> {
        if let Self::Accepting(accept) = self {
            match ready!(Pin::new(accept.as_mut()).poll(cx)) {
                Ok(tls) => *self = Self::Tls(Box::new(tls)),
                Err(e) => {
                    *self = Self::Failed;
                    return Poll::Ready(Err(e));
                }
            }
        }
        Poll::Ready(match self {
            Self::Plain(tcp) => Ok(tcp),
            Self::Tls(tls) => Ok(tls.as_mut()),
            _ => Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "the TLS handshake failed",
            )),
        })
    }

    /// Whether the stream writes vectors natively.
    pub(crate) fn is_write_vectored(&self) -> bool {
        match self {
            Self::Plain(tcp) => tcp.is_write_vectored(),
            Self::Tls(tls) => tls.is_write_vectored(),
            _ => false,
        }
    }
}

/// Reads through a [`Stream`] (for `SimIo`).
pub(crate) fn poll_read(
    stream: &mut Stream,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    let io = ready!(stream.poll_io(cx))?;
    Pin::new(io).poll_read(cx, buf)
}
