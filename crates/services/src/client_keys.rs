//! Public keys of clients that authenticate with signed JWTs (`private_key_jwt`) and publish
//! them at a URL (`use.jwks.url` / `jwks.url`), fetched over the outbound HTTP client and kept
//! per node. As Keycloak's public-key storage does, an assertion signed with a key id the
//! cached set lacks fetches the set again, but not more often than every 10 seconds, so a
//! client cannot make the server hammer its URL (or anyone else's).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Keycloak's `minTimeBetweenRequests` for a client's JWKS.
const MIN_REFETCH: Duration = Duration::from_secs(10);
/// A JWKS larger than this is refused: a key set is a few kilobytes.
const MAX_BYTES: usize = 256 * 1024;

struct Fetched {
    jwks: Arc<Value>,
    at: Instant,
}

/// JWKS documents fetched from clients' `jwks.url`, by URL.
#[derive(Default)]
pub(crate) struct ClientKeys {
    by_url: RwLock<HashMap<String, Fetched>>,
}

fn has_kid(jwks: &Value, kid: Option<&str>) -> bool {
    let Some(kid) = kid else {
        return true;
    };
    jwks.get("keys")
        .and_then(Value::as_array)
        .is_some_and(|keys| {
            keys.iter()
                .any(|k| k.get("kid").and_then(Value::as_str) == Some(kid))
        })
}

impl ClientKeys {
    /// The key set at `url`, from this node's copy when it has the key `kid` or was fetched
    /// less than 10 seconds ago, else fetched anew (a failed fetch falls back to the copy).
    pub(crate) async fn get(
        &self,
        http: &reqwest::Client,
        url: &str,
        kid: Option<&str>,
    ) -> Result<Arc<Value>, String> {
        let cached = {
            let map = self.by_url.read().unwrap_or_else(|e| e.into_inner());
            map.get(url).map(|f| (f.jwks.clone(), f.at))
        };
        if let Some((jwks, at)) = &cached
            && (has_kid(jwks, kid) || at.elapsed() < MIN_REFETCH)
        {
            return Ok(jwks.clone());
        }
        match fetch(http, url).await {
            Ok(jwks) => {
                let jwks = Arc::new(jwks);
                self.by_url
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(
                        url.to_owned(),
                        Fetched {
                            jwks: jwks.clone(),
                            at: Instant::now(),
                        },
                    );
                Ok(jwks)
            }
            Err(why) => {
                tracing::warn!(%url, %why, "cannot fetch a client's JWKS");
                cached
                    .map(|(jwks, _)| jwks)
                    .ok_or_else(|| format!("cannot fetch the client's keys: {why}"))
            }
        }
    }
}

async fn fetch(http: &reqwest::Client, url: &str) -> Result<Value, String> {
    let mut res = http.get(url).send().await.map_err(|e| e.to_string())?;
    if !res.status().is_success() {
        return Err(format!("HTTP {}", res.status().as_u16()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|e| e.to_string())? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_BYTES {
            return Err(format!("larger than {MAX_BYTES} bytes"));
        }
    }
    let jwks: Value = serde_json::from_slice(&body).map_err(|_| "not JSON".to_owned())?;
    if !jwks.get("keys").is_some_and(Value::is_array) {
        return Err("not a JWK set (no \"keys\" array)".into());
    }
    Ok(jwks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_known_kid_needs_no_fetch() {
        let jwks = json!({"keys": [{"kid": "a"}, {"kid": "b"}]});
        assert!(has_kid(&jwks, Some("b")));
        assert!(!has_kid(&jwks, Some("c")));
        assert!(has_kid(&jwks, None));
    }
}
