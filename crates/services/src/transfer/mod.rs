//! Realm import and export in Keycloak's realm JSON (`kc.sh export` / `kc.sh import`, the admin
//! console's partial export, `--import-realm`): a `RealmRepresentation` with its roles, groups,
//! clients, client scopes, users (with their stored credentials) and key providers.
//!
//! An import runs in one transaction: a file that cannot be read, or that names something that
//! does not exist, imports nothing. Ids in the file are kept, so export → import → export gives
//! back the same document. What the file holds that Gatehouse does not model (authentication
//! flows, identity providers, SMTP settings, ...) is named in the report's warnings, never
//! silently dropped.

mod export;
mod import;
mod partial;

pub use import::{IfExists, ImportOutcome, ImportReport};
pub use partial::{PartialImportRepresentation, PartialImportResult, PartialImportResults, Policy};

use crate::{ServiceError, Services};

impl Services {
    /// The names of every realm, master first, then by name.
    pub async fn realm_names(&self) -> Result<Vec<String>, ServiceError> {
        let mut tx = self.store().begin_read().await?;
        let realms = tx.list_realms().await?;
        tx.rollback().await?;
        let mut names: Vec<String> = realms.into_iter().map(|r| r.name.to_string()).collect();
        names.sort_by_key(|n| (n != crate::MASTER_REALM, n.clone()));
        Ok(names)
    }
}

/// Reads a JSON document into `T`, naming the field path and the line of the first problem, so
/// a malformed file says where it is malformed.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ServiceError> {
    let mut de = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let at = format!("line {} column {}", inner.line(), inner.column());
        let what = inner.to_string();
        // serde_json's message ends with its own "at line .. column ..": keep one.
        let what = what
            .rsplit_once(" at line ")
            .map_or(what.as_str(), |(head, _)| head)
            .to_owned();
        if path == "." {
            ServiceError::Invalid(format!("invalid realm file at {at}: {what}"))
        } else {
            ServiceError::Invalid(format!(
                "invalid realm file: field '{path}' at {at}: {what}"
            ))
        }
    })
}
