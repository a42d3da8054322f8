//! The HTTPS client every AWS SDK client shares: rustls on the ring crypto provider, trusting
//! the Amazon Trust Services roots that AWS service endpoints chain to.
//!
//! Why not the SDK's default client: it reads and parses the whole system certificate store
//! (~150 files) when a client is created, about 3.5 ms of every cold start, and links aws-lc-rs,
//! the largest part of each function's zip. An endpoint other than AWS's own over HTTPS
//! (`AWS_ENDPOINT_URL=https://…`, e.g. a proxy with its own CA) also gets the system store.

use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_http_client::Builder;

/// Amazon Root CA 1–4 and Starfield Services Root CA G2 (public certificates, valid to 2037+).
const AMAZON_TRUST_SERVICES_ROOTS: &[u8] = include_bytes!("../certs/amazon-trust-services.pem");

/// Whether the system certificate store is needed: only for a custom HTTPS endpoint.
fn needs_system_roots(endpoint: Option<&str>) -> bool {
    endpoint.is_some_and(|url| url.trim().to_ascii_lowercase().starts_with("https://"))
}

/// Builds the shared client; certificates are parsed when an SDK client first selects it.
pub fn https_client(endpoint: Option<&str>) -> SharedHttpClient {
    let trust_store = TrustStore::empty()
        .with_native_roots(needs_system_roots(endpoint))
        .with_pem_certificate(AMAZON_TRUST_SERVICES_ROOTS);
    let context = TlsContext::builder()
        .with_trust_store(trust_store)
        .build()
        // Only fails for invalid extra server names, of which there are none.
        .unwrap_or_default();
    Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(context)
        .build_https()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_roots_are_the_five_amazon_trust_services_certificates() {
        let text = std::str::from_utf8(AMAZON_TRUST_SERVICES_ROOTS).unwrap();
        assert_eq!(text.matches("-----BEGIN CERTIFICATE-----").count(), 5);
    }

    #[test]
    fn system_roots_only_for_a_custom_https_endpoint() {
        assert!(!needs_system_roots(None));
        assert!(!needs_system_roots(Some("http://localhost:4566")));
        assert!(needs_system_roots(Some("https://proxy.internal:8443")));
    }
}
