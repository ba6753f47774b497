//! What Keycloak puts in every new realm besides roles and clients: the default OpenID Connect
//! client scopes with their protocol mappers. Realm default scopes are copied onto each client
//! created in the realm, as Keycloak does, so a token's claims follow from data an admin can
//! change, never from code paths.

use gatehouse_model::{
    ClientScope, ClientScopeId, ClientUuid, MapperOwner, ProtocolMapper, ProtocolMapperId, RealmId,
};
use gatehouse_store::{StoreError, Tx};

/// The OpenID Connect protocol id.
pub const OIDC: &str = "openid-connect";

struct ScopeDef {
    name: &'static str,
    description: &'static str,
    /// Realm default (true) or optional (false) scope.
    default: bool,
    include_in_token_scope: bool,
    consent_text: &'static str,
    mappers: &'static [MapperDef],
}

struct MapperDef {
    name: &'static str,
    mapper_type: &'static str,
    config: &'static [(&'static str, &'static str)],
}

const ATTRIBUTE: &str = "oidc-usermodel-attribute-mapper";
const PROPERTY: &str = "oidc-usermodel-property-mapper";

/// Claim flags for a mapper that writes to every token and userinfo.
macro_rules! everywhere {
    ($($k:literal => $v:literal),* $(,)?) => {
        &[
            $(($k, $v),)*
            ("id.token.claim", "true"),
            ("access.token.claim", "true"),
            ("userinfo.token.claim", "true"),
            ("introspection.token.claim", "true"),
        ]
    };
}

/// A user attribute mapped to a string claim everywhere (most of the `profile` scope).
macro_rules! attribute {
    ($name:literal, $attr:literal, $claim:literal) => {
        MapperDef {
            name: $name,
            mapper_type: ATTRIBUTE,
            config: everywhere!(
                "user.attribute" => $attr,
                "claim.name" => $claim,
                "jsonType.label" => "String",
            ),
        }
    };
}

const SCOPES: &[ScopeDef] = &[
    ScopeDef {
        name: "profile",
        description: "OpenID Connect built-in scope: profile",
        default: true,
        include_in_token_scope: true,
        consent_text: "${profileScopeConsentText}",
        mappers: &[
            attribute!("username", "username", "preferred_username"),
            attribute!("given name", "firstName", "given_name"),
            attribute!("family name", "lastName", "family_name"),
            MapperDef {
                name: "full name",
                mapper_type: "oidc-full-name-mapper",
                config: everywhere!(),
            },
            attribute!("middle name", "middleName", "middle_name"),
            attribute!("nickname", "nickname", "nickname"),
            attribute!("profile", "profile", "profile"),
            attribute!("picture", "picture", "picture"),
            attribute!("website", "website", "website"),
            attribute!("gender", "gender", "gender"),
            attribute!("birthdate", "birthdate", "birthdate"),
            attribute!("zoneinfo", "zoneinfo", "zoneinfo"),
            attribute!("locale", "locale", "locale"),
            MapperDef {
                name: "updated at",
                mapper_type: ATTRIBUTE,
                config: everywhere!(
                    "user.attribute" => "updatedAt",
                    "claim.name" => "updated_at",
                    "jsonType.label" => "long",
                ),
            },
        ],
    },
    ScopeDef {
        name: "email",
        description: "OpenID Connect built-in scope: email",
        default: true,
        include_in_token_scope: true,
        consent_text: "${emailScopeConsentText}",
        mappers: &[
            attribute!("email", "email", "email"),
            MapperDef {
                name: "email verified",
                mapper_type: PROPERTY,
                config: everywhere!(
                    "user.attribute" => "emailVerified",
                    "claim.name" => "email_verified",
                    "jsonType.label" => "boolean",
                ),
            },
        ],
    },
    ScopeDef {
        name: "roles",
        description: "OpenID Connect scope for add user roles to the access token",
        default: true,
        include_in_token_scope: false,
        consent_text: "${rolesScopeConsentText}",
        mappers: &[
            MapperDef {
                name: "realm roles",
                mapper_type: "oidc-usermodel-realm-role-mapper",
                config: &[
                    ("user.attribute", "foo"),
                    ("claim.name", "realm_access.roles"),
                    ("jsonType.label", "String"),
                    ("multivalued", "true"),
                    ("access.token.claim", "true"),
                    ("introspection.token.claim", "true"),
                ],
            },
            MapperDef {
                name: "client roles",
                mapper_type: "oidc-usermodel-client-role-mapper",
                config: &[
                    ("user.attribute", "foo"),
                    ("claim.name", "resource_access.${client_id}.roles"),
                    ("jsonType.label", "String"),
                    ("multivalued", "true"),
                    ("access.token.claim", "true"),
                    ("introspection.token.claim", "true"),
                ],
            },
            MapperDef {
                name: "audience resolve",
                mapper_type: "oidc-audience-resolve-mapper",
                config: &[
                    ("access.token.claim", "true"),
                    ("introspection.token.claim", "true"),
                ],
            },
        ],
    },
    ScopeDef {
        name: "web-origins",
        description: "OpenID Connect scope for add allowed web origins to the access token",
        default: true,
        include_in_token_scope: false,
        consent_text: "",
        mappers: &[MapperDef {
            name: "allowed web origins",
            mapper_type: "oidc-allowed-origins-mapper",
            config: &[
                ("access.token.claim", "true"),
                ("introspection.token.claim", "true"),
            ],
        }],
    },
    ScopeDef {
        name: "acr",
        description: "OpenID Connect scope for add acr (authentication context class reference) to the token",
        default: true,
        include_in_token_scope: false,
        consent_text: "",
        mappers: &[MapperDef {
            name: "acr loa level",
            mapper_type: "oidc-acr-mapper",
            config: &[
                ("id.token.claim", "true"),
                ("access.token.claim", "true"),
                ("introspection.token.claim", "true"),
            ],
        }],
    },
    ScopeDef {
        name: "basic",
        description: "OpenID Connect scope for add all basic claims to the token",
        default: true,
        include_in_token_scope: false,
        consent_text: "",
        mappers: &[
            MapperDef {
                name: "sub",
                mapper_type: "oidc-sub-mapper",
                config: &[
                    ("access.token.claim", "true"),
                    ("introspection.token.claim", "true"),
                ],
            },
            MapperDef {
                name: "auth_time",
                mapper_type: "oidc-usersessionmodel-note-mapper",
                config: &[
                    ("user.session.note", "AUTH_TIME"),
                    ("claim.name", "auth_time"),
                    ("jsonType.label", "long"),
                    ("id.token.claim", "true"),
                    ("access.token.claim", "true"),
                    ("introspection.token.claim", "true"),
                ],
            },
        ],
    },
    ScopeDef {
        name: "offline_access",
        description: "OpenID Connect built-in scope: offline_access",
        default: false,
        include_in_token_scope: true,
        consent_text: "${offlineAccessScopeConsentText}",
        mappers: &[],
    },
    ScopeDef {
        name: "address",
        description: "OpenID Connect built-in scope: address",
        default: false,
        include_in_token_scope: true,
        consent_text: "${addressScopeConsentText}",
        mappers: &[MapperDef {
            name: "address",
            mapper_type: "oidc-address-mapper",
            config: everywhere!(
                "user.attribute.formatted" => "formatted",
                "user.attribute.country" => "country",
                "user.attribute.postal_code" => "postal_code",
                "user.attribute.street" => "street",
                "user.attribute.region" => "region",
                "user.attribute.locality" => "locality",
            ),
        }],
    },
    ScopeDef {
        name: "phone",
        description: "OpenID Connect built-in scope: phone",
        default: false,
        include_in_token_scope: true,
        consent_text: "${phoneScopeConsentText}",
        mappers: &[
            attribute!("phone number", "phoneNumber", "phone_number"),
            MapperDef {
                name: "phone number verified",
                mapper_type: ATTRIBUTE,
                config: everywhere!(
                    "user.attribute" => "phoneNumberVerified",
                    "claim.name" => "phone_number_verified",
                    "jsonType.label" => "boolean",
                ),
            },
        ],
    },
    ScopeDef {
        name: "microprofile-jwt",
        description: "Microprofile - JWT built-in scope",
        default: false,
        include_in_token_scope: true,
        consent_text: "",
        mappers: &[
            MapperDef {
                name: "upn",
                mapper_type: ATTRIBUTE,
                config: everywhere!(
                    "user.attribute" => "username",
                    "claim.name" => "upn",
                    "jsonType.label" => "String",
                ),
            },
            MapperDef {
                name: "groups",
                mapper_type: "oidc-usermodel-realm-role-mapper",
                config: everywhere!(
                    "user.attribute" => "foo",
                    "claim.name" => "groups",
                    "jsonType.label" => "String",
                    "multivalued" => "true",
                ),
            },
        ],
    },
];

/// Creates the default client scopes of a new realm, with their mappers, and registers them as
/// the realm's default and optional scopes.
pub(crate) async fn create_client_scopes(tx: &mut Tx, realm: &RealmId) -> Result<(), StoreError> {
    for def in SCOPES {
        let mut attributes = std::collections::BTreeMap::new();
        attributes.insert(
            "include.in.token.scope".to_owned(),
            def.include_in_token_scope.to_string(),
        );
        let on_consent = !def.consent_text.is_empty();
        attributes.insert(
            "display.on.consent.screen".to_owned(),
            on_consent.to_string(),
        );
        if on_consent {
            attributes.insert(
                "consent.screen.text".to_owned(),
                def.consent_text.to_owned(),
            );
        }
        let scope = ClientScope {
            id: ClientScopeId::new_random(),
            realm_id: realm.clone(),
            name: def.name.to_owned(),
            description: Some(def.description.to_owned()),
            protocol: OIDC.to_owned(),
            attributes,
        };
        tx.insert_client_scope(&scope).await?;
        for mapper in def.mappers {
            tx.insert_protocol_mapper(&ProtocolMapper {
                id: ProtocolMapperId::new_random(),
                name: mapper.name.to_owned(),
                protocol: OIDC.to_owned(),
                mapper_type: mapper.mapper_type.to_owned(),
                owner: MapperOwner::ClientScope(scope.id.clone()),
                config: mapper
                    .config
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            })
            .await?;
        }
        tx.set_realm_default_scope(realm, &scope.id, def.default)
            .await?;
    }
    Ok(())
}

/// Gives a new client the realm's default and optional scopes, as Keycloak does on creation.
pub(crate) async fn attach_realm_scopes(
    tx: &mut Tx,
    realm: &RealmId,
    client: &ClientUuid,
) -> Result<(), StoreError> {
    for (scope, default) in tx.realm_default_scopes(realm).await? {
        tx.set_client_scope(client, &scope, default).await?;
    }
    Ok(())
}
