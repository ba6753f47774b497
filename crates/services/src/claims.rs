//! Protocol mappers turned into claims. Each mapper is data (type + config) owned by a client
//! scope or a client; this module is the one interpreter of those types, so what a token holds
//! is decided by what an admin configured, as in Keycloak.

use std::collections::{BTreeMap, BTreeSet};

use gatehouse_model::{ProtocolMapper, User};
use serde_json::{Map, Value, json};

/// Which document the claims are for; each mapper says which ones it writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The access token.
    Access,
    /// The ID token.
    Id,
    /// The userinfo response.
    Userinfo,
    /// The introspection response.
    Introspection,
}

impl Target {
    fn flag(self) -> &'static str {
        match self {
            Target::Access => "access.token.claim",
            Target::Id => "id.token.claim",
            Target::Userinfo => "userinfo.token.claim",
            Target::Introspection => "introspection.token.claim",
        }
    }
}

/// Everything mappers read.
pub struct Subject<'a> {
    /// The user.
    pub user: &'a User,
    /// The client the token is for (`azp`).
    pub client_id: &'a str,
    /// Effective realm role names (composites expanded).
    pub realm_roles: &'a BTreeSet<String>,
    /// Effective client roles, by `clientId`.
    pub client_roles: &'a BTreeMap<String, BTreeSet<String>>,
    /// The client's allowed web origins, resolved.
    pub allowed_origins: &'a [String],
    /// User session notes (`AUTH_TIME`, ...).
    pub session_notes: &'a BTreeMap<String, String>,
    /// The authentication context class reference of this login.
    pub acr: &'a str,
    /// Group paths of the user (`/parent/child`).
    pub group_paths: &'a [String],
    /// The user session the token belongs to (`sid`); none for a service account's token.
    pub session_id: Option<&'a str>,
}

fn enabled(mapper: &ProtocolMapper, target: Target) -> bool {
    match mapper.config.get(target.flag()) {
        Some(v) => v == "true",
        // Keycloak treats a mapper without the introspection flag (made before the flag
        // existed) as writing to introspection too.
        None => target == Target::Introspection,
    }
}

/// The mapper types [`apply`] interprets; the admin API refuses others, as Keycloak refuses
/// a mapper type it has no provider for.
pub(crate) const MAPPER_TYPES: &[&str] = &[
    "oidc-usermodel-attribute-mapper",
    "oidc-usermodel-property-mapper",
    "oidc-full-name-mapper",
    "oidc-usermodel-realm-role-mapper",
    "oidc-usermodel-client-role-mapper",
    "oidc-audience-resolve-mapper",
    "oidc-audience-mapper",
    "oidc-allowed-origins-mapper",
    "oidc-acr-mapper",
    "oidc-sub-mapper",
    "oidc-usersessionmodel-note-mapper",
    "oidc-hardcoded-claim-mapper",
    "oidc-group-membership-mapper",
    "oidc-address-mapper",
    "oidc-session-state-mapper",
];

/// Applies `mappers` to `claims` for `target`.
pub fn apply(
    mappers: &[&ProtocolMapper],
    subject: &Subject<'_>,
    target: Target,
    claims: &mut Map<String, Value>,
) {
    for mapper in mappers {
        let applies = match mapper.mapper_type.as_str() {
            // These mappers have always written only to the access token and introspection.
            "oidc-audience-resolve-mapper" | "oidc-allowed-origins-mapper" => {
                matches!(target, Target::Access | Target::Introspection)
                    && enabled_default_true(mapper, target)
            }
            _ => enabled(mapper, target),
        };
        if applies {
            apply_one(mapper, subject, claims);
        }
    }
}

fn enabled_default_true(mapper: &ProtocolMapper, target: Target) -> bool {
    mapper.config.get(target.flag()).is_none_or(|v| v == "true")
}

fn apply_one(mapper: &ProtocolMapper, s: &Subject<'_>, claims: &mut Map<String, Value>) {
    let cfg = |k: &str| mapper.config.get(k).map(String::as_str);
    let claim = cfg("claim.name").unwrap_or_default();
    let json_type = cfg("jsonType.label").unwrap_or("String");
    let multivalued = cfg("multivalued") == Some("true");
    match mapper.mapper_type.as_str() {
        "oidc-usermodel-attribute-mapper" | "oidc-usermodel-property-mapper" => {
            let attr = cfg("user.attribute").unwrap_or_default();
            let values = user_values(s.user, attr);
            if values.is_empty() {
                return;
            }
            let value = if multivalued {
                Value::Array(values.iter().filter_map(|v| typed(v, json_type)).collect())
            } else {
                match typed(&values[0], json_type) {
                    Some(v) => v,
                    None => return,
                }
            };
            set_claim(claims, claim, value);
        }
        "oidc-full-name-mapper" => {
            let name = [&s.user.first_name, &s.user.last_name]
                .iter()
                .filter_map(|v| v.as_deref())
                .filter(|v| !v.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            if !name.is_empty() {
                claims.insert("name".into(), Value::String(name));
            }
        }
        "oidc-usermodel-realm-role-mapper" => {
            let prefix = cfg("usermodel.realmRoleMapping.rolePrefix").unwrap_or_default();
            let roles: Vec<Value> = s
                .realm_roles
                .iter()
                .map(|r| Value::String(format!("{prefix}{r}")))
                .collect();
            if !roles.is_empty() {
                merge_claim(claims, claim, Value::Array(roles));
            }
        }
        "oidc-usermodel-client-role-mapper" => {
            let only = cfg("usermodel.clientRoleMapping.clientId").filter(|c| !c.is_empty());
            let prefix = cfg("usermodel.clientRoleMapping.rolePrefix").unwrap_or_default();
            for (client, roles) in s.client_roles {
                if only.is_some_and(|o| o != client) || roles.is_empty() {
                    continue;
                }
                let name = claim.replace("${client_id}", client);
                let roles = roles
                    .iter()
                    .map(|r| Value::String(format!("{prefix}{r}")))
                    .collect();
                merge_claim(claims, &name, Value::Array(roles));
            }
        }
        "oidc-audience-resolve-mapper" => {
            for client in s.client_roles.keys() {
                if client != s.client_id {
                    add_audience(claims, client);
                }
            }
        }
        "oidc-audience-mapper" => {
            for aud in [
                cfg("included.client.audience"),
                cfg("included.custom.audience"),
            ]
            .into_iter()
            .flatten()
            .filter(|a| !a.is_empty())
            {
                add_audience(claims, aud);
            }
        }
        "oidc-allowed-origins-mapper" if !s.allowed_origins.is_empty() => {
            claims.insert("allowed-origins".into(), json!(s.allowed_origins));
        }
        "oidc-acr-mapper" => {
            claims.insert("acr".into(), Value::String(s.acr.to_owned()));
        }
        "oidc-sub-mapper" => {
            claims.insert("sub".into(), Value::String(s.user.id.to_string()));
        }
        // Keycloak 25 took `session_state` out of every token (`sid` carries the same value);
        // this mapper puts it back for the relying parties that still read it.
        "oidc-session-state-mapper" => {
            if let Some(sid) = s.session_id {
                claims.insert("session_state".into(), Value::String(sid.to_owned()));
            }
        }
        "oidc-usersessionmodel-note-mapper" => {
            let note = cfg("user.session.note").unwrap_or_default();
            if let Some(value) = s.session_notes.get(note).and_then(|v| typed(v, json_type)) {
                set_claim(claims, claim, value);
            }
        }
        "oidc-hardcoded-claim-mapper" => {
            if let Some(value) = cfg("claim.value").and_then(|v| typed(v, json_type)) {
                set_claim(claims, claim, value);
            }
        }
        "oidc-group-membership-mapper" => {
            let full = cfg("full.path") != Some("false");
            let groups: Vec<Value> = s
                .group_paths
                .iter()
                .map(|p| {
                    let name = if full {
                        p.as_str()
                    } else {
                        p.rsplit('/').next().unwrap_or(p)
                    };
                    Value::String(name.to_owned())
                })
                .collect();
            if !groups.is_empty() {
                set_claim(claims, claim, Value::Array(groups));
            }
        }
        "oidc-address-mapper" => {
            let mut address = Map::new();
            for part in [
                "formatted",
                "street",
                "locality",
                "region",
                "postal_code",
                "country",
            ] {
                let attr = cfg(&format!("user.attribute.{part}")).unwrap_or(part);
                if let Some(v) = s.user.attributes.get(attr).and_then(|v| v.first()) {
                    address.insert(part.to_owned(), Value::String(v.clone()));
                }
            }
            if !address.is_empty() {
                claims.insert("address".into(), Value::Object(address));
            }
        }
        // Types Gatehouse does not know yet write nothing: a missing claim is safer than a
        // wrong one.
        _ => {}
    }
}

/// The values of a user attribute, with Keycloak's built-in names mapped to the user's fields.
fn user_values(user: &User, attr: &str) -> Vec<String> {
    let single = |v: Option<&String>| v.filter(|s| !s.is_empty()).cloned().into_iter().collect();
    match attr {
        "username" => vec![user.username.to_string()],
        "email" => single(user.email.as_ref()),
        "firstName" => single(user.first_name.as_ref()),
        "lastName" => single(user.last_name.as_ref()),
        "emailVerified" => vec![user.email_verified.to_string()],
        "enabled" => vec![user.enabled.to_string()],
        "createdTimestamp" => vec![user.created_timestamp.to_string()],
        other => user.attributes.get(other).cloned().unwrap_or_default(),
    }
}

/// Converts a string value to the claim's JSON type; a value that does not convert is dropped,
/// as Keycloak drops it.
fn typed(value: &str, json_type: &str) -> Option<Value> {
    match json_type {
        "boolean" => value.parse::<bool>().ok().map(Value::Bool),
        "long" | "int" => value.parse::<i64>().ok().map(Value::from),
        "JSON" => serde_json::from_str(value).ok(),
        _ => Some(Value::String(value.to_owned())),
    }
}

/// Splits a claim name on unescaped dots: `realm_access.roles` is nested, `a\.b` is one name.
fn claim_path(name: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'.') => {
                chars.next();
                current.push('.');
            }
            '.' => parts.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    parts.push(current);
    parts
}

fn set_claim(claims: &mut Map<String, Value>, name: &str, value: Value) {
    if name.is_empty() {
        return;
    }
    let path = claim_path(name);
    let (last, parents) = match path.split_last() {
        Some(split) => split,
        None => return,
    };
    let mut node = claims;
    for part in parents {
        let entry = node
            .entry(part.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        node = match entry {
            Value::Object(map) => map,
            _ => return,
        };
    }
    node.insert(last.clone(), value);
}

/// Like [`set_claim`], but arrays already present are extended without duplicates (two role
/// mappers writing the same claim).
fn merge_claim(claims: &mut Map<String, Value>, name: &str, value: Value) {
    let existing = get_claim(claims, name).cloned();
    match (existing, value) {
        (Some(Value::Array(mut old)), Value::Array(new)) => {
            for v in new {
                if !old.contains(&v) {
                    old.push(v);
                }
            }
            set_claim(claims, name, Value::Array(old));
        }
        (_, value) => set_claim(claims, name, value),
    }
}

fn get_claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    let path = claim_path(name);
    let (last, parents) = path.split_last()?;
    let mut node = claims;
    for part in parents {
        node = node.get(part)?.as_object()?;
    }
    node.get(last)
}

/// Adds to `aud`, keeping a single audience a string and several an array (Keycloak's shape).
pub fn add_audience(claims: &mut Map<String, Value>, aud: &str) {
    let value = Value::String(aud.to_owned());
    match claims.get_mut("aud") {
        None => {
            claims.insert("aud".into(), value);
        }
        Some(Value::String(one)) if one != aud => {
            let first = Value::String(one.clone());
            claims.insert("aud".into(), Value::Array(vec![first, value]));
        }
        Some(Value::Array(many)) if !many.contains(&value) => many.push(value),
        Some(_) => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn nested_and_escaped_claim_names() {
        let mut claims = Map::new();
        set_claim(&mut claims, "realm_access.roles", json!(["a"]));
        set_claim(&mut claims, "x\\.y", json!(1));
        merge_claim(&mut claims, "realm_access.roles", json!(["a", "b"]));
        assert_eq!(
            Value::Object(claims),
            json!({"realm_access": {"roles": ["a", "b"]}, "x.y": 1})
        );
    }

    #[test]
    fn audience_string_then_array() {
        let mut claims = Map::new();
        add_audience(&mut claims, "account");
        assert_eq!(claims["aud"], json!("account"));
        add_audience(&mut claims, "account");
        assert_eq!(claims["aud"], json!("account"));
        add_audience(&mut claims, "api");
        assert_eq!(claims["aud"], json!(["account", "api"]));
    }

    fn user() -> User {
        User {
            id: gatehouse_model::UserId::from("u-1"),
            realm_id: gatehouse_model::RealmId::from("r-1"),
            username: gatehouse_model::Username::new("alice"),
            email: None,
            first_name: None,
            last_name: None,
            enabled: true,
            email_verified: false,
            created_timestamp: 0,
            federation_link: None,
            service_account_client_link: None,
            attributes: BTreeMap::new(),
            required_actions: Vec::new(),
            not_before: 0,
        }
    }

    fn mapper(mapper_type: &str, config: &[(&str, &str)]) -> ProtocolMapper {
        ProtocolMapper {
            id: gatehouse_model::ProtocolMapperId::from("m-1"),
            name: "m".into(),
            protocol: "openid-connect".into(),
            mapper_type: mapper_type.into(),
            owner: gatehouse_model::MapperOwner::ClientScope(gatehouse_model::ClientScopeId::from(
                "s-1",
            )),
            config: config
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    /// Runs one mapper for `target` with a session `sid` (or none) and returns the claims.
    fn run(m: &ProtocolMapper, sid: Option<&str>, target: Target) -> Map<String, Value> {
        let user = user();
        let (roles, clients, notes) = (BTreeSet::new(), BTreeMap::new(), BTreeMap::new());
        let subject = Subject {
            user: &user,
            client_id: "app",
            realm_roles: &roles,
            client_roles: &clients,
            allowed_origins: &[],
            session_notes: &notes,
            acr: "1",
            group_paths: &[],
            session_id: sid,
        };
        let mut claims = Map::new();
        apply(&[m], &subject, target, &mut claims);
        claims
    }

    #[test]
    fn session_state_mapper_writes_the_session_id_where_configured() {
        let m = mapper(
            "oidc-session-state-mapper",
            &[("access.token.claim", "true"), ("id.token.claim", "false")],
        );
        assert_eq!(
            run(&m, Some("sess-1"), Target::Access),
            json!({"session_state": "sess-1"})
                .as_object()
                .cloned()
                .unwrap()
        );
        assert!(run(&m, Some("sess-1"), Target::Id).is_empty());
        assert!(run(&m, Some("sess-1"), Target::Userinfo).is_empty());
        // A token without a session (client credentials) gets nothing.
        assert!(run(&m, None, Target::Access).is_empty());
        assert!(MAPPER_TYPES.contains(&"oidc-session-state-mapper"));
    }

    #[test]
    fn typed_values() {
        assert_eq!(typed("true", "boolean"), Some(json!(true)));
        assert_eq!(typed("x", "boolean"), None);
        assert_eq!(typed("12", "long"), Some(json!(12)));
        assert_eq!(typed("{\"a\":1}", "JSON"), Some(json!({"a": 1})));
        assert_eq!(typed("v", "String"), Some(json!("v")));
    }
}
