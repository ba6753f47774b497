//! The options of `gatehouse export` and `gatehouse import`, as Keycloak 26's `kc.sh export` and
//! `kc.sh import` take them. They belong to the command, not to the server's configuration, so
//! they are read from the command line only; everything else on the line (the database options)
//! is left for [`crate::resolve`].

use std::path::PathBuf;

use crate::ConfigError;

/// Where realms are written to or read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferTarget {
    /// `--dir`: one `<realm>-realm.json` per realm, users in `<realm>-users-<n>.json` files.
    Dir(PathBuf),
    /// `--file`: every realm (or the one named) in one JSON file.
    File(PathBuf),
}

/// `--users`: where an export puts users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsersStrategy {
    /// In the realm's own file.
    RealmFile,
    /// All users of a realm in one `<realm>-users-0.json`.
    SameFile,
    /// `--users-per-file` users in each `<realm>-users-<n>.json` (Keycloak's default).
    DifferentFiles,
    /// Not at all.
    Skip,
}

impl UsersStrategy {
    fn parse(value: &str) -> Option<UsersStrategy> {
        match value {
            "realm_file" => Some(UsersStrategy::RealmFile),
            "same_file" => Some(UsersStrategy::SameFile),
            "different_files" => Some(UsersStrategy::DifferentFiles),
            "skip" => Some(UsersStrategy::Skip),
            _ => None,
        }
    }
}

/// What `gatehouse export` was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOptions {
    /// Directory or file.
    pub target: TransferTarget,
    /// `--realm`: only this realm (all realms when absent).
    pub realm: Option<String>,
    /// `--users`.
    pub users: UsersStrategy,
    /// `--users-per-file` (default 50).
    pub users_per_file: usize,
}

/// What `gatehouse import` was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// Directory or file.
    pub target: TransferTarget,
    /// `--override` (default true): replace a realm that exists; false skips it.
    pub override_existing: bool,
}

fn invalid(option: &str, value: &str, expected: &str) -> ConfigError {
    ConfigError::InvalidValue {
        option: format!("--{option}"),
        location: None,
        value: value.to_owned(),
        expected: expected.to_owned(),
    }
}

/// Options taken from a command line, as `(name, value)` in the order given.
type Taken = Vec<(String, String)>;

/// Takes the named options out of `args` (`--name=value` or `--name value`) and returns them
/// with the rest of the line, in order.
fn take(args: &[String], names: &[&str]) -> Result<(Taken, Vec<String>), ConfigError> {
    let mut taken = Vec::new();
    let mut rest = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        let named = arg.strip_prefix("--").and_then(|body| {
            let (name, value) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (body, None),
            };
            names.contains(&name).then(|| (name.to_owned(), value))
        });
        match named {
            Some((name, Some(value))) => taken.push((name, value)),
            Some((name, None)) => {
                let value = args
                    .get(i + 1)
                    .filter(|v| !v.starts_with("--"))
                    .ok_or_else(|| ConfigError::MissingValue(format!("--{name}")))?;
                taken.push((name, value.clone()));
                i += 1;
            }
            None => rest.push(arg.clone()),
        }
        i += 1;
    }
    Ok((taken, rest))
}

fn target(taken: &[(String, String)]) -> Result<TransferTarget, ConfigError> {
    let dir = taken.iter().rev().find(|(n, _)| n == "dir");
    let file = taken.iter().rev().find(|(n, _)| n == "file");
    match (dir, file) {
        (Some(_), Some(_)) => Err(ConfigError::Usage(
            "Options '--dir' and '--file' cannot be used together.".into(),
        )),
        (Some((_, d)), None) => Ok(TransferTarget::Dir(PathBuf::from(d))),
        (None, Some((_, f))) => Ok(TransferTarget::File(PathBuf::from(f))),
        (None, None) => Err(ConfigError::Usage(
            "Either '--dir' or '--file' must be given.".into(),
        )),
    }
}

fn last<'a>(taken: &'a [(String, String)], name: &str) -> Option<&'a str> {
    taken
        .iter()
        .rev()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Splits `gatehouse export`'s own options from the server options on its command line.
pub fn export_options(args: &[String]) -> Result<(ExportOptions, Vec<String>), ConfigError> {
    let (taken, rest) = take(args, &["dir", "file", "realm", "users", "users-per-file"])?;
    let target = target(&taken)?;
    let users = match last(&taken, "users") {
        None => match target {
            // One file cannot hold users in other files, so Keycloak puts them in the realm's.
            TransferTarget::File(_) => UsersStrategy::RealmFile,
            TransferTarget::Dir(_) => UsersStrategy::DifferentFiles,
        },
        Some(v) => UsersStrategy::parse(v).ok_or_else(|| {
            invalid(
                "users",
                v,
                "Expected one of: realm_file, same_file, different_files, skip.",
            )
        })?,
    };
    if matches!(target, TransferTarget::File(_))
        && matches!(
            users,
            UsersStrategy::SameFile | UsersStrategy::DifferentFiles
        )
    {
        return Err(ConfigError::Usage(
            "Option '--users' can only be realm_file or skip with '--file'.".into(),
        ));
    }
    let users_per_file = match last(&taken, "users-per-file") {
        None => 50,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| invalid("users-per-file", v, "Expected a whole number above 0."))?,
    };
    let realm = last(&taken, "realm").map(str::to_owned);
    Ok((
        ExportOptions {
            target,
            realm,
            users,
            users_per_file,
        },
        rest,
    ))
}

/// Splits `gatehouse import`'s own options from the server options on its command line.
pub fn import_options(args: &[String]) -> Result<(ImportOptions, Vec<String>), ConfigError> {
    let (taken, rest) = take(args, &["dir", "file", "override"])?;
    let target = target(&taken)?;
    let override_existing = match last(&taken, "override") {
        None | Some("true") => true,
        Some("false") => false,
        Some(v) => return Err(invalid("override", v, "Expected one of: true, false.")),
    };
    Ok((
        ImportOptions {
            target,
            override_existing,
        },
        rest,
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn export_defaults_follow_keycloak() {
        let (o, rest) = export_options(&args("--dir out --db postgres")).unwrap();
        assert_eq!(o.target, TransferTarget::Dir("out".into()));
        assert_eq!(o.users, UsersStrategy::DifferentFiles);
        assert_eq!(o.users_per_file, 50);
        assert_eq!(o.realm, None);
        assert_eq!(rest, args("--db postgres"));

        let (o, _) = export_options(&args("--file=all.json --realm acme")).unwrap();
        assert_eq!(o.target, TransferTarget::File("all.json".into()));
        assert_eq!(o.users, UsersStrategy::RealmFile);
        assert_eq!(o.realm.as_deref(), Some("acme"));
    }

    #[test]
    fn export_refuses_bad_values_naming_the_option() {
        let e = export_options(&args("--dir d --users some")).unwrap_err();
        assert!(e.to_string().contains("'--users'"), "{e}");
        assert!(e.to_string().contains("realm_file"), "{e}");
        let e = export_options(&args("--dir d --users-per-file 0")).unwrap_err();
        assert!(e.to_string().contains("--users-per-file"), "{e}");
        assert!(export_options(&args("--dir d --file f")).is_err());
        assert!(export_options(&args("--realm acme")).is_err());
        assert!(export_options(&args("--file f --users different_files")).is_err());
        assert!(matches!(
            export_options(&args("--dir")),
            Err(ConfigError::MissingValue(_))
        ));
    }

    #[test]
    fn import_override_defaults_to_true() {
        let (o, rest) = import_options(&args("--file r.json")).unwrap();
        assert!(o.override_existing);
        assert!(rest.is_empty());
        let (o, _) = import_options(&args("--dir d --override false")).unwrap();
        assert!(!o.override_existing);
        let e = import_options(&args("--dir d --override maybe")).unwrap_err();
        assert!(e.to_string().contains("true, false"), "{e}");
    }
}
