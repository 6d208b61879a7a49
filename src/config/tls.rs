//! TLS on the listener, for operators who do not end TLS at an ingress: the
//! certificate chain and its key, read and checked at startup, served by
//! rustls (with ring). Both files or neither; neither is plain HTTP.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{InconsistentKeys, ServerConfig};

use super::{ConfigError, Problem};

const CERT_VAR: &str = "TLS_CERT_FILE";
const KEY_VAR: &str = "TLS_KEY_FILE";

/// Why a certificate or key is refused; the variable is named beside it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TlsProblem {
    #[error("unset while {set} is set: TLS needs the certificate chain and its key (neither serves plain HTTP)")]
    Unpaired { set: &'static str },
    #[error("{path} holds no PEM {what}")]
    NoPem { path: String, what: &'static str },
    #[error("{path} is not valid PEM: {reason}")]
    BadPem { path: String, reason: String },
    #[error("{path} holds no usable certificate: {reason}")]
    BadCertificate { path: String, reason: String },
    #[error("{path} holds no usable private key: {reason}")]
    BadKey { path: String, reason: String },
    #[error("the key in {key} is not the key of the certificate in {cert}")]
    KeyMismatch { key: String, cert: String },
}

/// The listener's TLS: rustls' server configuration, built once at startup.
#[derive(Clone)]
pub struct ListenerTls {
    cert_file: PathBuf,
    config: Arc<ServerConfig>,
}

impl ListenerTls {
    /// The certificate chain of `cert_file` (the server's first) and the key
    /// of `key_file` (PKCS#8, PKCS#1 or SEC1, unencrypted); `None` for neither.
    pub fn load(cert_file: Option<&Path>, key_file: Option<&Path>) -> Result<Option<Self>, ConfigError> {
        let unpaired = |var, set| ConfigError::new(var, Problem::Tls(TlsProblem::Unpaired { set }));
        let (cert_file, key_file) = match (cert_file, key_file) {
            (None, None) => return Ok(None),
            (Some(_), None) => return Err(unpaired(KEY_VAR, CERT_VAR)),
            (None, Some(_)) => return Err(unpaired(CERT_VAR, KEY_VAR)),
            (Some(cert_file), Some(key_file)) => (cert_file, key_file),
        };
        let chain = read_pem(CERT_VAR, cert_file, "certificate", |pem| {
            let chain = CertificateDer::pem_slice_iter(pem).collect::<Result<Vec<_>, _>>()?;
            if chain.is_empty() {
                return Err(pem::Error::NoItemsFound);
            }
            Ok(chain)
        })?;
        let key = read_pem(KEY_VAR, key_file, "private key (PKCS#8, PKCS#1 or SEC1, unencrypted)", PrivateKeyDer::from_pem_slice)?;
        // The provider is named, not taken from the process default: nothing else decides it.
        let config = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("ring supports TLS 1.2 and 1.3")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|error| refused(error, cert_file, key_file))?;
        Ok(Some(Self { cert_file: cert_file.to_owned(), config: Arc::new(config) }))
    }

    /// A copy for the HTTP server, which takes its own.
    pub fn server_config(&self) -> ServerConfig {
        ServerConfig::clone(&self.config)
    }
}

impl fmt::Debug for ListenerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ListenerTls({})", self.cert_file.display())
    }
}

/// The items of `path`'s PEM sections, or why there are none.
fn read_pem<T>(var: &str, path: &Path, what: &'static str, parse: impl FnOnce(&[u8]) -> Result<T, pem::Error>) -> Result<T, ConfigError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|error| ConfigError::new(var, Problem::Unreadable { path: shown.clone(), reason: error.to_string() }))?;
    let problem = match parse(&bytes) {
        Ok(items) => return Ok(items),
        Err(pem::Error::NoItemsFound) => TlsProblem::NoPem { path: shown, what },
        Err(error) => TlsProblem::BadPem { path: shown, reason: error.to_string() },
    };
    Err(ConfigError::new(var, Problem::Tls(problem)))
}

/// rustls refused the pair: a mismatch and a bad key name the key file, the rest the certificate's.
fn refused(error: rustls::Error, cert_file: &Path, key_file: &Path) -> ConfigError {
    let (cert, key) = (cert_file.display().to_string(), key_file.display().to_string());
    let (var, problem) = match error {
        rustls::Error::InconsistentKeys(InconsistentKeys::KeyMismatch) => (KEY_VAR, TlsProblem::KeyMismatch { key, cert }),
        // ring names no other case of a key it cannot load.
        rustls::Error::General(reason) => (KEY_VAR, TlsProblem::BadKey { path: key, reason }),
        other => (CERT_VAR, TlsProblem::BadCertificate { path: cert, reason: other.to_string() }),
    };
    ConfigError::new(var, Problem::Tls(problem))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    /// A directory of PEM files for one test, removed when dropped.
    struct PemFiles(PathBuf);

    impl PemFiles {
        fn new(test: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("matyan-tls-{test}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }

        fn write(&self, name: &str, contents: &str) -> PathBuf {
            let path = self.0.join(name);
            std::fs::write(&path, contents).unwrap();
            path
        }
    }

    impl Drop for PemFiles {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A self-signed certificate for localhost: (certificate PEM, key PEM).
    fn self_signed() -> (String, String) {
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        (certified.cert.pem(), certified.signing_key.serialize_pem())
    }

    fn refusal(cert: Option<&Path>, key: Option<&Path>) -> String {
        ListenerTls::load(cert, key).expect_err("should be refused").to_string()
    }

    #[test]
    fn neither_file_is_plain_http_and_both_serve_tls() {
        assert!(ListenerTls::load(None, None).unwrap().is_none());
        let files = PemFiles::new("pair");
        let (cert, key) = self_signed();
        let (cert, key) = (files.write("cert.pem", &cert), files.write("key.pem", &key));
        let tls = ListenerTls::load(Some(&cert), Some(&key)).unwrap().expect("both files: TLS");
        assert_eq!(format!("{tls:?}"), format!("ListenerTls({})", cert.display()), "the key never shows");
        // The variables reach it.
        let var = |name: &str, path: &Path| (name.to_string(), path.display().to_string());
        let settings = Settings::from_vars([var(CERT_VAR, &cert), var(KEY_VAR, &key)]).unwrap();
        assert!(settings.tls.is_some());
        assert!(Settings::from_vars([]).unwrap().tls.is_none(), "plain HTTP by default");
        let unpaired = Settings::from_vars([var(CERT_VAR, &cert)]).expect_err("a certificate without its key");
        assert!(unpaired.to_string().starts_with("TLS_KEY_FILE: unset while TLS_CERT_FILE is set"), "{unpaired}");
    }

    #[test]
    fn each_bad_certificate_or_key_is_refused_naming_its_variable() {
        let files = PemFiles::new("bad");
        let (cert_pem, key_pem) = self_signed();
        let (cert, key) = (files.write("cert.pem", &cert_pem), files.write("key.pem", &key_pem));
        let missing = files.0.join("missing.pem");
        let (_, other_key) = self_signed();
        let other_key = files.write("other-key.pem", &other_key);
        let not_pem = files.write("not-pem.txt", "a certificate, honestly\n");
        let bad_base64 = files.write("bad-base64.pem", "-----BEGIN CERTIFICATE-----\n!!not base64!!\n-----END CERTIFICATE-----\n");
        let unended = files.write("unended.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n");
        let not_x509 = files.write("not-x509.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        let not_a_key = files.write("not-a-key.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
        let [cert_path, missing_path, other_key_path, not_pem_path] =
            [&cert, &missing, &other_key, &not_pem].map(|path| path.display().to_string());

        // One without the other: the unset one is named.
        let needs_both = "unset while {} is set: TLS needs the certificate chain and its key (neither serves plain HTTP)";
        assert_eq!(refusal(Some(&cert), None), format!("TLS_KEY_FILE: {}", needs_both.replace("{}", "TLS_CERT_FILE")));
        assert_eq!(refusal(None, Some(&key)), format!("TLS_CERT_FILE: {}", needs_both.replace("{}", "TLS_KEY_FILE")));
        // A file that cannot be read.
        assert_eq!(
            refusal(Some(&missing), Some(&key)),
            format!("TLS_CERT_FILE: cannot read {missing_path}: No such file or directory (os error 2)")
        );
        assert!(refusal(Some(&cert), Some(&files.0)).starts_with(&format!("TLS_KEY_FILE: cannot read {}: ", files.0.display())));
        // No PEM section of the kind needed: garbage text, or the certificate given as the key.
        assert_eq!(refusal(Some(&not_pem), Some(&key)), format!("TLS_CERT_FILE: {not_pem_path} holds no PEM certificate"));
        assert_eq!(
            refusal(Some(&cert), Some(&cert)),
            format!("TLS_KEY_FILE: {cert_path} holds no PEM private key (PKCS#8, PKCS#1 or SEC1, unencrypted)")
        );
        // Broken PEM.
        assert!(refusal(Some(&bad_base64), Some(&key))
            .starts_with(&format!("TLS_CERT_FILE: {} is not valid PEM: base64", bad_base64.display())));
        assert!(refusal(Some(&unended), Some(&key))
            .starts_with(&format!("TLS_CERT_FILE: {} is not valid PEM: missing section end", unended.display())));
        // PEM whose contents are no certificate, or no key.
        assert!(refusal(Some(&not_x509), Some(&key))
            .starts_with(&format!("TLS_CERT_FILE: {} holds no usable certificate: ", not_x509.display())));
        assert_eq!(
            refusal(Some(&cert), Some(&not_a_key)),
            format!(
                "TLS_KEY_FILE: {} holds no usable private key: failed to parse private key as RSA, ECDSA, or EdDSA",
                not_a_key.display()
            )
        );
        // A key that is not the certificate's.
        assert_eq!(
            refusal(Some(&cert), Some(&other_key)),
            format!("TLS_KEY_FILE: the key in {other_key_path} is not the key of the certificate in {cert_path}")
        );
    }
}
