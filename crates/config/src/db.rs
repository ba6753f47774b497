//! Turning Keycloak's JDBC-style database options into a `postgres://` URL.

const JDBC_PREFIX: &str = "jdbc:postgresql://";
const URL_PREFIXES: &[&str] = &["postgres://", "postgresql://"];

pub(crate) const DB_URL_EXPECTED: &str =
    "Expected 'jdbc:postgresql://host[:port]/database[?properties]' or a 'postgres://' URL.";

/// Splits an accepted `db-url` into what follows the scheme and the query, None if not accepted.
fn split(url: &str) -> Option<(&str, Option<&str>)> {
    let rest = std::iter::once(JDBC_PREFIX)
        .chain(URL_PREFIXES.iter().copied())
        .find_map(|p| url.strip_prefix(p))?;
    let (authority_path, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    if authority_path.is_empty() || authority_path.starts_with('/') {
        return None;
    }
    Some((authority_path, query))
}

pub(crate) fn is_valid_url(url: &str) -> bool {
    split(url).is_some()
}

/// pgjdbc's `currentSchema` has no libpq equivalent, so it is lifted into `db-schema`.
pub(crate) fn current_schema(query: &str) -> Option<String> {
    query
        .trim_start_matches(['?', '&'])
        .split('&')
        .find_map(|p| p.strip_prefix("currentSchema="))
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

pub(crate) fn url_query(url: &str) -> Option<&str> {
    split(url).and_then(|(_, q)| q)
}

fn clean_query(query: &str) -> String {
    let kept: Vec<&str> = query
        .trim_start_matches(['?', '&'])
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("currentSchema="))
        .collect();
    if kept.is_empty() {
        String::new()
    } else {
        format!("?{}", kept.join("&"))
    }
}

/// `db-url` in either accepted form -> `postgres://...`, keeping every parameter but
/// `currentSchema`.
pub(crate) fn from_db_url(url: &str) -> Option<String> {
    let (authority_path, query) = split(url)?;
    Some(format!(
        "postgres://{authority_path}{}",
        query.map(clean_query).unwrap_or_default()
    ))
}

/// The URL Keycloak would build from `db-url-host`, `-port`, `-database` and `-properties`.
pub(crate) fn from_parts(
    host: &str,
    port: u16,
    database: &str,
    properties: Option<&str>,
) -> String {
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    format!(
        "postgres://{host}:{port}/{database}{}",
        properties.map(clean_query).unwrap_or_default()
    )
}
