//! The private transport's TLS: TLS 1.3 only, and both ends present a certificate that chains to
//! the cluster's CA. By default the first node of a cluster makes the CA and keeps it in the
//! database, and every node signs itself a fresh certificate from it at start; operators may
//! give PEM files instead.

use std::path::Path;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::ClusterError;

/// The name every node certificate carries and every dialer checks: peers are identified by
/// the CA that signed them, not by host names, which change under orchestrators.
const PEER_NAME: &str = "gatehouse-node";

/// Both halves of the transport's TLS.
#[derive(Clone)]
pub(crate) struct Tls {
    pub(crate) acceptor: TlsAcceptor,
    pub(crate) connector: TlsConnector,
}

impl Tls {
    /// The name a dialer expects in the peer's certificate.
    pub(crate) fn peer_name() -> ServerName<'static> {
        ServerName::DnsName(
            rustls::pki_types::DnsName::try_from(PEER_NAME)
                .unwrap_or_else(|_| unreachable!("'{PEER_NAME}' is a valid DNS name")),
        )
    }

    /// A certificate for this node from the cluster CA in the database (made if missing).
    pub(crate) async fn from_database(
        store: &gatehouse_store::Store,
        cluster: &str,
        node: &str,
    ) -> Result<Tls, ClusterError> {
        let ca = store
            .cluster_ca(cluster, || make_ca(cluster), crate::now_millis())
            .await?;
        let ca_key = KeyPair::from_pem(&ca.private_key)
            .map_err(|e| ClusterError::Tls(format!("the stored cluster CA key: {e}")))?;
        let ca_der = CertificateDer::from_pem_slice(ca.certificate.as_bytes())
            .map_err(|e| ClusterError::Tls(format!("the stored cluster CA certificate: {e}")))?;
        let issuer = Issuer::new(ca_params(cluster)?, ca_key);
        let node_key = KeyPair::generate().map_err(tls_err)?;
        let mut params = CertificateParams::new(vec![PEER_NAME.to_owned()]).map_err(tls_err)?;
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, node);
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let cert = params.signed_by(&node_key, &issuer).map_err(tls_err)?;
        let key = PrivateKeyDer::Pkcs8(node_key.serialize_der().into());
        build(vec![cert.der().clone(), ca_der.clone()], key, vec![ca_der])
    }

    /// The operator's files: `key_store` holds this node's certificate chain and private key,
    /// `trust_store` the CA certificates peers must chain to (all PEM).
    pub(crate) fn from_files(key_store: &Path, trust_store: &Path) -> Result<Tls, ClusterError> {
        let file_err = |path: &Path, e: &dyn std::fmt::Display| {
            ClusterError::Tls(format!("cannot read '{}': {e}", path.display()))
        };
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(key_store)
            .map_err(|e| file_err(key_store, &e))?
            .collect::<Result<_, _>>()
            .map_err(|e| file_err(key_store, &e))?;
        if chain.is_empty() {
            return Err(ClusterError::Tls(format!(
                "'{}' holds no certificate",
                key_store.display()
            )));
        }
        let key = PrivateKeyDer::from_pem_file(key_store).map_err(|e| file_err(key_store, &e))?;
        let roots: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(trust_store)
            .map_err(|e| file_err(trust_store, &e))?
            .collect::<Result<_, _>>()
            .map_err(|e| file_err(trust_store, &e))?;
        if roots.is_empty() {
            return Err(ClusterError::Tls(format!(
                "'{}' holds no certificate",
                trust_store.display()
            )));
        }
        build(chain, key, roots)
    }
}

fn tls_err(e: impl std::fmt::Display) -> ClusterError {
    ClusterError::Tls(e.to_string())
}

/// The CA's parameters; the same for a cluster name every time, so that a node can sign with
/// the stored key without parsing the stored certificate.
fn ca_params(cluster: &str) -> Result<CertificateParams, ClusterError> {
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(tls_err)?;
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(
        DnType::CommonName,
        format!("Gatehouse cluster {cluster} CA"),
    );
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    Ok(params)
}

fn make_ca(cluster: &str) -> Result<gatehouse_store::StoredCa, String> {
    let key = KeyPair::generate().map_err(|e| e.to_string())?;
    let params = ca_params(cluster).map_err(|e| e.to_string())?;
    let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
    tracing::info!("made the certificate authority of cluster '{cluster}'");
    Ok(gatehouse_store::StoredCa {
        certificate: cert.pem(),
        private_key: key.serialize_pem(),
    })
}

fn build(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    roots: Vec<CertificateDer<'static>>,
) -> Result<Tls, ClusterError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut store = RootCertStore::empty();
    for root in roots {
        store.add(root).map_err(tls_err)?;
    }
    let store = Arc::new(store);
    let verifier = WebPkiClientVerifier::builder_with_provider(store.clone(), provider.clone())
        .build()
        .map_err(tls_err)?;
    let server = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls_err)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain.clone(), key.clone_key())
        .map_err(tls_err)?;
    let client = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls_err)?
        .with_root_certificates(store)
        .with_client_auth_cert(chain, key)
        .map_err(tls_err)?;
    Ok(Tls {
        acceptor: TlsAcceptor::from(Arc::new(server)),
        connector: TlsConnector::from(Arc::new(client)),
    })
}
