//! `gatehouse export`, `gatehouse import` and `start --import-realm`: realm files in Keycloak's
//! layout, read and written here (files are the edge); what a realm file means is the services
//! layer's business (`Services::import_realm`, `Services::export_realm`).
//!
//! Layout, as Keycloak 26 writes it: `--file` holds one realm object, or an array of them when
//! several realms are exported; `--dir` holds `<realm>-realm.json` per realm and, with
//! `--users different_files|same_file`, `<realm>-users-<n>.json` files of the form
//! `{"realm": .., "users": [..]}`.

use std::path::{Path, PathBuf};

use gatehouse_config::{ExportOptions, ImportOptions, TransferTarget, UsersStrategy};
use gatehouse_services::{IfExists, ImportOutcome, Services};
use serde_json::{Value, json};

/// Exports the realms asked for; returns a one-line summary.
pub async fn export(services: &Services, opts: &ExportOptions) -> Result<String, String> {
    let names = match &opts.realm {
        Some(name) => vec![name.clone()],
        None => services.realm_names().await.map_err(|e| e.to_string())?,
    };
    let in_realm = matches!(opts.users, UsersStrategy::RealmFile);
    let mut documents = Vec::new();
    for name in &names {
        let realm = services
            .export_realm(name, in_realm)
            .await
            .map_err(|e| format!("Cannot export realm '{name}': {e}"))?;
        documents.push((name.clone(), realm));
    }
    match &opts.target {
        TransferTarget::File(path) => {
            let body = match documents.as_slice() {
                [(_, only)] => only.clone(),
                many => Value::Array(many.iter().map(|(_, r)| r.clone()).collect()),
            };
            write_json(path, &body)?;
        }
        TransferTarget::Dir(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("Cannot create directory {}: {e}", dir.display()))?;
            for (name, realm) in &documents {
                write_json(&dir.join(format!("{name}-realm.json")), realm)?;
                let per_file = match opts.users {
                    UsersStrategy::DifferentFiles => opts.users_per_file,
                    UsersStrategy::SameFile => usize::MAX,
                    UsersStrategy::RealmFile | UsersStrategy::Skip => continue,
                };
                let mut first = 0usize;
                let mut index = 0usize;
                loop {
                    let page = services
                        .export_users(name, first, per_file.min(10_000))
                        .await
                        .map_err(|e| format!("Cannot export the users of '{name}': {e}"))?;
                    if page.is_empty() && index > 0 {
                        break;
                    }
                    let full = page.len() == per_file.min(10_000);
                    first += page.len();
                    if !page.is_empty() || index == 0 {
                        write_json(
                            &dir.join(format!("{name}-users-{index}.json")),
                            &json!({"realm": name, "users": page}),
                        )?;
                    }
                    index += 1;
                    if !full {
                        break;
                    }
                }
            }
        }
    }
    Ok(format!(
        "Export of {} realm(s) finished: {}",
        names.len(),
        names.join(", ")
    ))
}

fn write_json(path: &Path, value: &Value) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| format!("Cannot serialise {}: {e}", path.display()))?;
    std::fs::write(path, text + "\n").map_err(|e| format!("Cannot write {}: {e}", path.display()))
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("Cannot read {}: {e}", path.display()))
}

/// The realm documents of a `--file`: one object, or an array of realm objects.
fn realm_documents(path: &Path) -> Result<Vec<String>, String> {
    let text = read(path)?;
    if text.trim_start().starts_with('[') {
        let items: Vec<Box<serde_json::value::RawValue>> = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not a realm file: {e}", path.display()))?;
        Ok(items.into_iter().map(|raw| raw.get().to_owned()).collect())
    } else {
        Ok(vec![text])
    }
}

/// The files of a `--dir`: realm files first (sorted), then the users files (sorted), as
/// users need their realm.
fn dir_files(dir: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>), String> {
    let mut realms = Vec::new();
    let mut users = Vec::new();
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("Cannot read directory {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|e| format!("Cannot read directory {}: {e}", dir.display()))?
            .path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.ends_with("-realm.json") {
            realms.push(path);
        } else if name.ends_with(".json") && name.contains("-users-") {
            users.push(path);
        }
    }
    realms.sort();
    users.sort();
    Ok((realms, users))
}

/// Imports one realm document and logs what happened; `Err` names the file.
async fn import_one(
    services: &Services,
    source: &Path,
    text: &str,
    if_exists: IfExists,
) -> Result<(), String> {
    let report = services
        .import_realm(text, if_exists)
        .await
        .map_err(|e| format!("{}: {e}", source.display()))?;
    for warning in &report.warnings {
        tracing::warn!("{}: realm '{}': {warning}", source.display(), report.realm);
    }
    match report.outcome {
        ImportOutcome::Created => tracing::info!("Realm '{}' imported", report.realm),
        ImportOutcome::Replaced => tracing::info!("Realm '{}' imported (replaced)", report.realm),
        ImportOutcome::Skipped => {
            tracing::info!("Realm '{}' already exists. Import skipped", report.realm)
        }
    }
    Ok(())
}

/// `gatehouse import`.
pub async fn import(services: &Services, opts: &ImportOptions) -> Result<String, String> {
    let if_exists = if opts.override_existing {
        IfExists::Overwrite
    } else {
        IfExists::Skip
    };
    let mut count = 0;
    match &opts.target {
        TransferTarget::File(path) => {
            for text in realm_documents(path)? {
                import_one(services, path, &text, if_exists).await?;
                count += 1;
            }
        }
        TransferTarget::Dir(dir) => {
            let (realms, users) = dir_files(dir)?;
            for path in &realms {
                import_one(services, path, &read(path)?, if_exists).await?;
                count += 1;
            }
            for path in &users {
                let (realm, n) = services
                    .import_users(&read(path)?)
                    .await
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                tracing::info!(
                    "Imported {n} users into realm '{realm}' from {}",
                    path.display()
                );
            }
        }
    }
    Ok(format!("Import finished: {count} realm file(s)"))
}

/// `start --import-realm`: the realm files in `<data-dir>/import`, skipping realms that exist, as
/// Keycloak does; users files (`<realm>-users-<n>.json`) are read only for realms this start
/// created. A missing folder is not an error; a bad file stops the start.
pub async fn import_at_start(services: &Services, data_dir: &Path) -> Result<(), String> {
    let dir = data_dir.join("import");
    if !dir.is_dir() {
        tracing::debug!("No realm files to import: {} does not exist", dir.display());
        return Ok(());
    }
    let (_, users) = dir_files(&dir)?;
    let mut realms: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("Cannot read directory {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json") && !users.contains(p))
        .collect();
    realms.sort();
    let mut created = Vec::new();
    for path in &realms {
        for text in realm_documents(path)? {
            let report = services
                .import_realm(&text, IfExists::Skip)
                .await
                .map_err(|e| format!("{}: {e}", path.display()))?;
            for warning in &report.warnings {
                tracing::warn!("{}: realm '{}': {warning}", path.display(), report.realm);
            }
            match report.outcome {
                ImportOutcome::Skipped => {
                    tracing::info!("Realm '{}' already exists. Import skipped", report.realm)
                }
                _ => {
                    tracing::info!("Realm '{}' imported", report.realm);
                    created.push(report.realm);
                }
            }
        }
    }
    for path in &users {
        let prefix = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.split("-users-").next())
            .unwrap_or_default();
        if !created.iter().any(|r| r == prefix) {
            continue;
        }
        let (realm, n) = services
            .import_users(&read(path)?)
            .await
            .map_err(|e| format!("{}: {e}", path.display()))?;
        tracing::info!(
            "Imported {n} users into realm '{realm}' from {}",
            path.display()
        );
    }
    Ok(())
}
