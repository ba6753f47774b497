//! Realm keys: generated when a realm is created, parsed once and kept.
//!
//! Signing is the floor of every token grant, so a key is parsed into its aws-lc-rs form once
//! per process and shared; the JWKS document is rendered once per key set. Without a cluster
//! yet, the cache is filled on first use and replaced when this node changes the keys; the
//! cluster's invalidation channel will clear it on every node (ARCHITECTURE.md, State).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gatehouse_crypto::jose::{Algorithm, SigningKey, VerifyingKey};
use gatehouse_model::{KeyUse, Realm, RealmId, RealmKey, RealmKeyId};
use gatehouse_store::{Store, StoreError, Tx};
use serde_json::{Value, json};

use crate::{ServiceError, now_millis};

/// The parsed keys of one realm.
pub struct RealmKeys {
    /// Enabled, active signing keys, highest priority first.
    signing: Vec<Arc<SigningKey>>,
    /// Every enabled key (active or passive) by `kid`, for verification.
    verifying: HashMap<String, VerifyingKey>,
    /// The public JWKS document (`certs` endpoint).
    jwks: Value,
    /// The active RS256 key's public key (base64 SubjectPublicKeyInfo), for the realm info.
    rs256_public_key: Option<String>,
}

impl RealmKeys {
    /// The active key for `alg`, if the realm has one.
    pub fn signer(&self, alg: Algorithm) -> Option<&Arc<SigningKey>> {
        self.signing.iter().find(|k| k.algorithm() == alg)
    }

    /// The key with id `kid`, active or passive.
    pub fn verifier(&self, kid: &str) -> Option<&VerifyingKey> {
        self.verifying.get(kid)
    }

    /// The JWKS document: public halves of the enabled asymmetric keys.
    pub fn jwks(&self) -> &Value {
        &self.jwks
    }

    /// The realm's RS256 public key as Keycloak's realm info publishes it.
    pub fn rs256_public_key(&self) -> Option<&str> {
        self.rs256_public_key.as_deref()
    }
}

/// The per-node cache of parsed realm keys.
/// Parsed keys by realm, with the cache revision they were loaded under.
type KeysByRealm = HashMap<RealmId, (i64, Arc<RealmKeys>)>;

#[derive(Clone, Default)]
pub struct KeyCache {
    realms: Arc<RwLock<KeysByRealm>>,
}

impl KeyCache {
    /// The realm's keys, loading (and, for a realm that has none, generating) them once per
    /// cache revision: a key added, made passive or removed on any node is seen here on the
    /// next request.
    pub async fn get(
        &self,
        store: &Store,
        realm: &Realm,
        revision: i64,
    ) -> Result<Arc<RealmKeys>, ServiceError> {
        if let Some((rev, found)) = self.read().get(&realm.id)
            && *rev == revision
        {
            return Ok(found.clone());
        }
        let mut tx = store.begin().await?;
        let mut rows = tx.realm_keys(&realm.id).await?;
        if !has_defaults(&rows) {
            generate_defaults(&mut tx, realm, &rows).await?;
            rows = tx.realm_keys(&realm.id).await?;
        }
        tx.commit().await?;
        let keys = Arc::new(parse(&rows)?);
        self.write()
            .insert(realm.id.clone(), (revision, keys.clone()));
        Ok(keys)
    }

    /// The realm's keys with an active signing key for `alg`, generating one (as the provider
    /// Keycloak would use: `rsa-generated`, `ecdsa-generated`, `eddsa-generated`,
    /// `hmac-generated`) when a client or the realm asks for an algorithm it has no key for.
    pub async fn with_signer(
        &self,
        store: &Store,
        realm: &Realm,
        alg: Algorithm,
        revision: i64,
    ) -> Result<Arc<RealmKeys>, ServiceError> {
        let keys = self.get(store, realm, revision).await?;
        if keys.signer(alg).is_some() {
            return Ok(keys);
        }
        let mut tx = store.begin().await?;
        let rows = tx.realm_keys(&realm.id).await?;
        let present = rows.iter().any(|k| {
            k.enabled && k.active && k.key_use == KeyUse::Sig && k.algorithm == alg.as_str()
        });
        if !present {
            let (name, provider) = provider_for(alg);
            let row = generate(realm, name, provider, alg)
                .map_err(|e| ServiceError::Internal(format!("key generation failed: {e}")))?;
            tx.insert_realm_key(&row).await?;
            tracing::info!(realm = %realm.name, alg = alg.as_str(), "generated a realm key");
        }
        tx.commit().await?;
        self.write().remove(&realm.id);
        // Tagged with the revision read before this write, the entry is loaded again once:
        // correct, and rare (a new algorithm).
        self.get(store, realm, revision).await
    }

    /// Drops the realm's parsed keys from this node's cache; the next use reads them again from
    /// the database (the admin API's `clear-keys-cache`, and a realm's deletion).
    pub fn forget(&self, realm: &RealmId) {
        self.write().remove(realm);
    }

    /// Drops every realm's keys (another node's `clear-keys-cache`).
    pub fn forget_all(&self) {
        self.write().clear();
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, KeysByRealm> {
        self.realms.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, KeysByRealm> {
        self.realms.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// Whether the realm has an active signing key of each kind tokens need.
fn has_defaults(rows: &[RealmKey]) -> bool {
    let has = |alg: &str| {
        rows.iter()
            .any(|k| k.enabled && k.active && k.key_use == KeyUse::Sig && k.algorithm == alg)
    };
    has("RS256") && has("HS512")
}

/// Keycloak's default providers for a new realm: `rsa-generated` (RS256, published) and
/// `hmac-generated-hs512` (HS512, signs refresh tokens; never published).
pub(crate) async fn generate_defaults(
    tx: &mut Tx,
    realm: &Realm,
    existing: &[RealmKey],
) -> Result<(), StoreError> {
    let wanted = [
        ("rsa-generated", "rsa-generated", Algorithm::RS256),
        ("hmac-generated-hs512", "hmac-generated", Algorithm::HS512),
    ];
    for (name, provider, alg) in wanted {
        if existing
            .iter()
            .any(|k| k.enabled && k.active && k.algorithm == alg.as_str())
        {
            continue;
        }
        let row = generate(realm, name, provider, alg)
            .map_err(|e| StoreError::Internal(format!("key generation failed: {e}")))?;
        tx.insert_realm_key(&row).await?;
    }
    Ok(())
}

/// The component name and provider Keycloak uses for a generated key of `alg`.
fn provider_for(alg: Algorithm) -> (&'static str, &'static str) {
    match alg.key_type() {
        "RSA" => ("rsa-generated", "rsa-generated"),
        "EC" => ("ecdsa-generated", "ecdsa-generated"),
        "OKP" => ("eddsa-generated", "eddsa-generated"),
        _ => ("hmac-generated", "hmac-generated"),
    }
}

/// Generates one key row; RSA generation takes tens of milliseconds, once per realm.
fn generate(
    realm: &Realm,
    name: &str,
    provider: &str,
    alg: Algorithm,
) -> Result<RealmKey, gatehouse_crypto::jose::JoseError> {
    let key = SigningKey::generate(alg)?;
    let certificate = if alg.is_symmetric() {
        None
    } else {
        Some(key.self_signed_certificate(realm.name.as_str())?)
    };
    Ok(RealmKey {
        id: RealmKeyId::new_random(),
        realm_id: realm.id.clone(),
        name: name.to_owned(),
        provider: provider.to_owned(),
        algorithm: alg.as_str().to_owned(),
        key_use: KeyUse::Sig,
        priority: 100,
        enabled: true,
        active: true,
        private_key: STANDARD.encode(key.to_der()),
        certificate,
        created_timestamp: now_millis(),
    })
}

fn parse(rows: &[RealmKey]) -> Result<RealmKeys, ServiceError> {
    let mut signing = Vec::new();
    let mut verifying = HashMap::new();
    let mut published = Vec::new();
    let mut rs256_public_key = None;
    for row in rows
        .iter()
        .filter(|k| k.enabled && k.key_use == KeyUse::Sig)
    {
        let alg: Algorithm = row
            .algorithm
            .parse()
            .map_err(|e| ServiceError::Internal(format!("realm key {}: {e}", row.id)))?;
        let der = STANDARD
            .decode(&row.private_key)
            .map_err(|e| ServiceError::Internal(format!("realm key {}: {e}", row.id)))?;
        let key = SigningKey::from_der(alg, &der)
            .map_err(|e| ServiceError::Internal(format!("realm key {}: {e}", row.id)))?;
        verifying.insert(key.kid().to_owned(), key.verifying_key());
        if let Some(jwk) = key.public_jwk(row.certificate.as_deref()) {
            published.push(jwk);
        }
        if row.active {
            if alg == Algorithm::RS256 && rs256_public_key.is_none() {
                rs256_public_key = key.public_key_der().map(|der| STANDARD.encode(der));
            }
            signing.push(Arc::new(key));
        }
    }
    Ok(RealmKeys {
        signing,
        verifying,
        jwks: json!({ "keys": published }),
        rs256_public_key,
    })
}

#[cfg(test)]
impl RealmKeys {
    /// Freshly generated keys for `algs`, for unit tests that sign and verify.
    #[allow(clippy::unwrap_used)]
    pub(crate) fn for_tests(algs: &[Algorithm]) -> RealmKeys {
        let realm = Realm::new(
            RealmId::new_random(),
            gatehouse_model::RealmName::new("test").unwrap(),
        );
        let rows: Vec<RealmKey> = algs
            .iter()
            .map(|alg| {
                let (name, provider) = provider_for(*alg);
                generate(&realm, name, provider, *alg).unwrap()
            })
            .collect();
        parse(&rows).unwrap()
    }
}
