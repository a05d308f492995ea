//! TLS: the client's rustls config (the *ring* provider, the platform's
//! verifier, plus the CAs of a private bundle: [`CaBundle`]), a verifier
//! wrapper that puts the refused certificate's facts into its error, and
//! [`TlsFailure`]: a failed handshake classified for a message that says
//! what to do (not retried: the same handshake fails the same way).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};

/// TLS that cannot be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsConfigError {
    /// The CA bundle cannot be used: unreadable, not PEM, no certificate.
    #[error("cannot use the CA bundle {}: {reason}", path.display())]
    CaCert {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The platform's verifier or rustls refused the set-up.
    #[error("cannot set up TLS: {0}")]
    Setup(String),
}

/// CA certificates added to the platform's roots (a TLS-inspecting proxy's,
/// a private CA's), read from a PEM bundle.
#[derive(Clone, Debug)]
pub struct CaBundle {
    path: PathBuf,
    certs: Vec<CertificateDer<'static>>,
}

impl CaBundle {
    /// Reads the PEM bundle at `path`: a file that cannot be read, is not
    /// PEM, or holds no certificate is an error ([`TlsConfigError::CaCert`]).
    pub fn from_pem_file(path: &Path) -> Result<Self, TlsConfigError> {
        let fail = |reason: String| TlsConfigError::CaCert {
            path: path.to_owned(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
            .collect::<Result<_, _>>()
            .map_err(|e| fail(format!("it is not a PEM bundle: {e}")))?;
        if certs.is_empty() {
            return Err(fail(
                "it holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
            ));
        }
        let mut store = rustls::RootCertStore::empty();
        for cert in &certs {
            store
                .add(cert.clone())
                .map_err(|e| fail(format!("a certificate in it cannot be used: {e}")))?;
        }
        Ok(Self {
            path: path.to_owned(),
            certs,
        })
    }

    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many certificates it holds.
    pub fn len(&self) -> usize {
        self.certs.len()
    }

    /// Never true: an empty bundle is refused when read.
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }
}

/// What a client's last handshake showed (for `doctor`): the server's
/// certificate as verified, and the TLS version (told by the label of the
/// key rustls derives; the secret itself is never kept).
#[derive(Debug, Default)]
pub(crate) struct Seen {
    cert: std::sync::Mutex<Option<CertFacts>>,
    version: std::sync::Mutex<Option<&'static str>>,
}

impl Seen {
    /// The certificate and version of the last full handshake.
    pub(crate) fn get(&self) -> (Option<CertFacts>, Option<&'static str>) {
        let cert = self.cert.lock().map(|c| c.clone()).unwrap_or_default();
        let version = self.version.lock().map(|v| *v).unwrap_or_default();
        (cert, version)
    }
}

/// Records the TLS version from the labels rustls logs keys under:
/// `CLIENT_RANDOM` is TLS 1.2's only one (its secret is ignored); TLS
/// 1.3's are declined by `will_log`, so their secrets are never handed over.
#[derive(Debug)]
struct VersionLog(Arc<Seen>);

impl rustls::KeyLog for VersionLog {
    fn log(&self, label: &str, _client_random: &[u8], _secret: &[u8]) {
        let _ = self.will_log(label);
    }

    fn will_log(&self, label: &str) -> bool {
        let version = if label == "CLIENT_RANDOM" {
            "TLS 1.2"
        } else {
            "TLS 1.3"
        };
        if let Ok(mut slot) = self.0.version.lock() {
            *slot = Some(version);
        }
        false
    }
}

/// rustls with the *ring* provider (for this client only) and the
/// platform's verifier (plus `extra`'s CAs), wrapped by [`Explaining`];
/// what the handshakes show goes to `seen`.
pub(crate) fn client_config(
    extra: Option<&CaBundle>,
    seen: &Arc<Seen>,
) -> Result<rustls::ClientConfig, TlsConfigError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = extra.map(|b| b.certs.clone()).unwrap_or_default();
    let verifier =
        rustls_platform_verifier::Verifier::new_with_extra_roots(roots, provider.clone())
            .map_err(|e| TlsConfigError::Setup(e.to_string()))?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsConfigError::Setup(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Explaining(verifier, seen.clone())))
        .with_no_client_auth();
    config.key_log = Arc::new(VersionLog(seen.clone()));
    Ok(config)
}

/// The subject, issuer and expiry of a certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertFacts {
    /// The subject's distinguished name (`CN=localhost`).
    pub subject: String,
    /// The issuer's distinguished name.
    pub issuer: String,
    /// The end of its validity.
    pub not_after: Option<jiff::Timestamp>,
}

impl CertFacts {
    /// Parses a DER certificate; `None` when it does not parse.
    pub fn from_der(der: &[u8]) -> Option<Self> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        let name = |n: &x509_parser::x509::X509Name<'_>| {
            n.to_string_with_registry(x509_parser::objects::oid_registry())
                .unwrap_or_else(|_| n.to_string())
        };
        Some(Self {
            subject: name(cert.subject()),
            issuer: name(cert.issuer()),
            not_after: jiff::Timestamp::from_second(cert.validity().not_after.timestamp()).ok(),
        })
    }
}

/// A certificate the verifier refused, with what it says about itself.
#[derive(Debug, thiserror::Error)]
#[error("{kind:?}")]
struct Refused {
    kind: CertificateError,
    facts: Option<CertFacts>,
}

/// The platform verifier, whose refusals carry the certificate's facts.
#[derive(Debug)]
struct Explaining(rustls_platform_verifier::Verifier, Arc<Seen>);

impl ServerCertVerifier for Explaining {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let facts = CertFacts::from_der(end_entity);
        if let Ok(mut slot) = self.1.cert.lock() {
            slot.clone_from(&facts);
        }
        self.0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map_err(|e| match e {
                rustls::Error::InvalidCertificate(kind) => {
                    let refused = Refused { kind, facts };
                    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(
                        Arc::new(refused),
                    )))
                }
                other => other,
            })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// Why a TLS handshake failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsFailure {
    /// The certificate's issuer is not among the trusted CAs.
    Untrusted {
        /// The refused certificate's issuer, if it parsed.
        issuer: Option<String>,
    },
    /// The certificate is not for the host connected to.
    WrongName {
        /// The refused certificate's subject, if it parsed.
        subject: Option<String>,
    },
    /// The certificate has expired (or is not valid yet).
    Expired {
        /// The end of its validity, if it parsed.
        not_after: Option<jiff::Timestamp>,
    },
    /// Another refusal of the certificate (revoked, a bad signature...).
    BadCertificate(String),
    /// No TLS version or cipher suite in common with the server.
    Version(String),
    /// What came back is not TLS (a plain-HTTP server on an https:// URL).
    NotTls(String),
    /// Any other handshake failure.
    Other(String),
}

impl TlsFailure {
    /// Classifies the first rustls error in `error`'s chain; `None` when
    /// the chain holds none (not a TLS failure).
    pub(crate) fn find(error: &(dyn std::error::Error + 'static)) -> Option<Self> {
        let mut source = Some(error);
        while let Some(e) = source {
            if let Some(tls) = e.downcast_ref::<rustls::Error>() {
                return Some(Self::classify(tls));
            }
            // rustls reports through an `io::Error`, whose `source()` skips
            // the error it wraps: look inside it.
            if let Some(inner) = e
                .downcast_ref::<std::io::Error>()
                .and_then(std::io::Error::get_ref)
                && let Some(found) = Self::find(inner)
            {
                return Some(found);
            }
            source = e.source();
        }
        None
    }

    fn classify(error: &rustls::Error) -> Self {
        use rustls::Error as E;
        match error {
            E::InvalidCertificate(CertificateError::Other(other)) => {
                match other.0.downcast_ref::<Refused>() {
                    Some(refused) => Self::refused(&refused.kind, refused.facts.as_ref()),
                    None => Self::BadCertificate(other.to_string()),
                }
            }
            E::InvalidCertificate(kind) => Self::refused(kind, None),
            E::PeerIncompatible(_)
            | E::AlertReceived(rustls::AlertDescription::ProtocolVersion) => {
                Self::Version(error.to_string())
            }
            E::AlertReceived(rustls::AlertDescription::HandshakeFailure) => {
                Self::Version(error.to_string())
            }
            E::InvalidMessage(_) | E::InappropriateMessage { .. } => {
                Self::NotTls(error.to_string())
            }
            other => Self::Other(other.to_string()),
        }
    }

    fn refused(kind: &CertificateError, facts: Option<&CertFacts>) -> Self {
        use CertificateError as C;
        match kind {
            C::UnknownIssuer => Self::Untrusted {
                issuer: facts.map(|f| f.issuer.clone()),
            },
            C::NotValidForName | C::NotValidForNameContext { .. } => Self::WrongName {
                subject: facts.map(|f| f.subject.clone()),
            },
            C::Expired
            | C::ExpiredContext { .. }
            | C::NotValidYet
            | C::NotValidYetContext { .. } => Self::Expired {
                not_after: facts.and_then(|f| f.not_after),
            },
            other => Self::BadCertificate(format!("{other:?}")),
        }
    }

    /// The failure in words, naming `host`.
    pub(crate) fn describe(&self, host: &str) -> String {
        let or_unknown = |v: &Option<String>| v.clone().unwrap_or_else(|| "unknown".into());
        match self {
            Self::Untrusted { issuer } => format!(
                "the certificate of {host} is not trusted (issuer: {})",
                or_unknown(issuer)
            ),
            Self::WrongName { subject } => format!(
                "the certificate {host} presented is not for {host} (subject: {})",
                or_unknown(subject)
            ),
            Self::Expired { not_after } => format!(
                "the certificate of {host} has expired or is not valid yet (valid until {})",
                not_after.map_or_else(|| "unknown".into(), |t| t.to_string())
            ),
            Self::BadCertificate(why) => format!("the certificate of {host} was refused: {why}"),
            Self::Version(why) => format!(
                "{host} and gong-logs share no TLS version or cipher suite (gong-logs speaks TLS 1.2 and 1.3): {why}"
            ),
            Self::NotTls(why) => format!("{host} does not speak TLS on that port: {why}"),
            Self::Other(why) => format!("the TLS handshake with {host} failed: {why}"),
        }
    }
}
