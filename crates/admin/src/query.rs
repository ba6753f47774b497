//! Query-string values read as Keycloak's JAX-RS resources read them.

use serde::{Deserialize, Deserializer};

/// A `Boolean` query parameter: `true` in any case is true and anything else is false, as
/// Java's `Boolean.valueOf` reads it (python-keycloak sends `True`); absent stays `None`.
pub(crate) fn flag<'de, D>(d: D) -> Result<Option<bool>, D::Error>
where
    D: Deserializer<'de>,
{
    let raw: Option<String> = Option::deserialize(d)?;
    Ok(raw.map(|v| v.eq_ignore_ascii_case("true")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    #[derive(serde::Deserialize)]
    struct Q {
        #[serde(default, deserialize_with = "super::flag")]
        brief: Option<bool>,
    }

    #[test]
    fn booleans_read_as_java_reads_them() {
        let q = |s: &str| -> Option<bool> { serde_urlencoded::from_str::<Q>(s).unwrap().brief };
        assert_eq!(q("brief=True"), Some(true));
        assert_eq!(q("brief=true"), Some(true));
        assert_eq!(q("brief=false"), Some(false));
        assert_eq!(q("brief=yes"), Some(false));
        assert_eq!(q(""), None);
    }
}
