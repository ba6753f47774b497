//! Which language a page is in, chosen as Keycloak's `DefaultLocaleSelectorProvider` chooses:
//! with internationalization off, English; with it on, the first of the language the user
//! picked (`kc_locale`), the user's `locale` attribute, the client's `ui_locales`, the
//! `KEYCLOAK_LOCALE` cookie and `Accept-Language` that matches one of the realm's supported
//! locales, else the realm's default locale, else English.

use gatehouse_model::Realm;

/// The language of a realm with internationalization off, and the last resort.
pub const ENGLISH: &str = "en";

/// What a request says about the language it wants; each hint is optional.
#[derive(Debug, Default, Clone, Copy)]
pub struct LocaleHints<'a> {
    /// `kc_locale` of this request, or the one picked earlier in the same login.
    pub requested: Option<&'a str>,
    /// The identified user's `locale` attribute.
    pub user: Option<&'a str>,
    /// `ui_locales` of the authorization request: tags separated by spaces, preferred first.
    pub ui_locales: Option<&'a str>,
    /// The `KEYCLOAK_LOCALE` cookie.
    pub cookie: Option<&'a str>,
    /// The `Accept-Language` header.
    pub accept_language: Option<&'a str>,
}

/// The language tag to render a page of `realm` in: one of the realm's supported locales as
/// the realm spells it, its default locale, or [`ENGLISH`].
pub fn select(realm: Option<&Realm>, hints: &LocaleHints<'_>) -> String {
    let Some(realm) = realm.filter(|r| r.internationalization_enabled) else {
        return ENGLISH.to_owned();
    };
    let supported = &realm.supported_locales;
    let single = |tag: Option<&str>| tag.and_then(|t| best_match(supported, [t]));
    single(hints.requested)
        .or_else(|| single(hints.user))
        .or_else(|| {
            hints
                .ui_locales
                .and_then(|l| best_match(supported, l.split_whitespace()))
        })
        .or_else(|| single(hints.cookie))
        .or_else(|| {
            hints
                .accept_language
                .and_then(|h| best_match(supported, accept_language(h)))
        })
        .map(str::to_owned)
        .or_else(|| realm.default_locale.clone())
        .unwrap_or_else(|| ENGLISH.to_owned())
}

/// The locales a page offers in its language switcher: the realm's supported locales when
/// internationalization is on, none otherwise (Keycloak shows no switcher then).
pub fn offered(realm: Option<&Realm>) -> &[String] {
    match realm {
        Some(r) if r.internationalization_enabled => &r.supported_locales,
        _ => &[],
    }
}

/// The bundles a message is looked up in for `tag`, most specific first: `de-CH` gives
/// `de-ch`, `de`, `en` (normalized as [`normalize`] does).
pub fn fallbacks(tag: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = normalize(tag);
    while !current.is_empty() {
        out.push(current.clone());
        match current.rfind('-') {
            Some(i) => current.truncate(i),
            None => break,
        }
    }
    if !out.iter().any(|t| t == ENGLISH) {
        out.push(ENGLISH.to_owned());
    }
    out
}

/// A tag as bundles are keyed: lower case, `-` between subtags (`pt_BR` and `pt-BR` are
/// `pt-br`).
pub fn normalize(tag: &str) -> String {
    tag.trim().replace('_', "-").to_ascii_lowercase()
}

/// The language and region of a tag (Java's `Locale` language and country), lower and upper
/// case; a script (four letters) and variants are skipped, as Keycloak matches on these two.
fn language_region(tag: &str) -> (String, String) {
    let mut parts = tag.trim().split(['-', '_']);
    let language = parts.next().unwrap_or_default().to_ascii_lowercase();
    let region = parts
        .find(|p| {
            (p.len() == 2 && p.bytes().all(|b| b.is_ascii_alphabetic()))
                || (p.len() == 3 && p.bytes().all(|b| b.is_ascii_digit()))
        })
        .unwrap_or_default()
        .to_ascii_uppercase();
    (language, region)
}

/// The first of `wanted` that one of `supported` matches, as Keycloak's
/// `findBestMatchingLocale`: the language must be equal, and the regions equal or exactly one
/// of them absent (`de` matches `de-CH` and the reverse, `de-AT` does not match `de-CH`); among
/// several, an equal region wins, else the first supported.
fn best_match<'s, 'w>(
    supported: &'s [String],
    wanted: impl IntoIterator<Item = &'w str>,
) -> Option<&'s str> {
    for tag in wanted {
        let (language, region) = language_region(tag);
        if language.is_empty() {
            continue;
        }
        let mut found: Option<&str> = None;
        for candidate in supported {
            let (l, r) = language_region(candidate);
            let matches = l == language && (r == region || r.is_empty() != region.is_empty());
            if !matches {
                continue;
            }
            let better = match found {
                None => true,
                Some(previous) => r == region && language_region(previous).1 != region,
            };
            if better {
                found = Some(candidate);
            }
        }
        if found.is_some() {
            return found;
        }
    }
    None
}

/// `Accept-Language` ranges by preference: higher `q` first, the header's order among equal
/// ones; `*` and `q=0` dropped.
fn accept_language(header: &str) -> Vec<&str> {
    let mut ranges: Vec<(&str, u16)> = header
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let tag = parts.next()?.trim();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .next()
                .map_or(1000, |q| {
                    q.trim()
                        .parse::<f32>()
                        .map_or(0, |v| (v.clamp(0.0, 1.0) * 1000.0) as u16)
                });
            (!tag.is_empty() && tag != "*" && q > 0).then_some((tag, q))
        })
        .collect();
    ranges.sort_by_key(|r| std::cmp::Reverse(r.1));
    ranges.into_iter().map(|(tag, _)| tag).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use gatehouse_model::{RealmId, RealmName};

    fn realm(enabled: bool, supported: &[&str], default: Option<&str>) -> Realm {
        let mut r = Realm::new(RealmId::new("r"), RealmName::new("r").unwrap());
        r.internationalization_enabled = enabled;
        r.supported_locales = supported.iter().map(|s| (*s).to_owned()).collect();
        r.default_locale = default.map(str::to_owned);
        r
    }

    fn check(realm: &Realm, hints: LocaleHints<'_>, expected: &str) {
        assert_eq!(select(Some(realm), &hints), expected, "{hints:?}");
    }

    #[test]
    fn keycloak_order() {
        let r = realm(true, &["en", "de", "fr", "es", "it"], None);
        let all = LocaleHints {
            requested: Some("de"),
            user: Some("fr"),
            ui_locales: Some("es"),
            cookie: Some("it"),
            accept_language: Some("en"),
        };
        check(&r, all, "de");
        check(
            &r,
            LocaleHints {
                requested: None,
                ..all
            },
            "fr",
        );
        check(
            &r,
            LocaleHints {
                requested: None,
                user: None,
                ..all
            },
            "es",
        );
        let no_client = LocaleHints {
            requested: None,
            user: None,
            ui_locales: None,
            ..all
        };
        check(&r, no_client, "it");
        check(
            &r,
            LocaleHints {
                cookie: None,
                ..no_client
            },
            "en",
        );
        // A hint the realm does not support is passed over, not fatal.
        check(
            &r,
            LocaleHints {
                requested: Some("ja"),
                ..all
            },
            "fr",
        );
        check(&r, LocaleHints::default(), "en");
    }

    #[test]
    fn off_means_english_and_default_comes_last() {
        let hints = LocaleHints {
            requested: Some("de"),
            accept_language: Some("de"),
            ..Default::default()
        };
        check(&realm(false, &["de"], Some("de")), hints, "en");
        assert_eq!(select(None, &hints), "en");
        let r = realm(true, &["en", "fr"], Some("fr"));
        check(&r, hints, "fr");
        check(
            &r,
            LocaleHints {
                accept_language: Some("en"),
                ..hints
            },
            "en",
        );
        assert!(offered(Some(&realm(false, &["de"], None))).is_empty());
        assert_eq!(offered(Some(&r)), ["en", "fr"]);
    }

    #[test]
    fn regions_and_lists() {
        let r = realm(true, &["en", "de-CH", "de", "pt-BR"], None);
        let ui = |l| LocaleHints {
            ui_locales: Some(l),
            ..Default::default()
        };
        check(&r, ui("de-CH"), "de-CH");
        check(&r, ui("de-AT"), "de");
        check(&r, ui("pt"), "pt-BR");
        check(&r, ui("pt_PT ja de"), "de");
        check(&r, ui("zz"), "en");
        let accept = |l| LocaleHints {
            accept_language: Some(l),
            ..Default::default()
        };
        check(&r, accept("fr-FR,de;q=0.8,en;q=0.5"), "de");
        check(&r, accept("en;q=0.2, de-CH;q=0.9, *"), "de-CH");
        check(&r, accept("de;q=0, pt-BR"), "pt-BR");
    }

    #[test]
    fn message_fallbacks() {
        assert_eq!(fallbacks("de-CH"), ["de-ch", "de", "en"]);
        assert_eq!(fallbacks("pt_BR"), ["pt-br", "pt", "en"]);
        assert_eq!(fallbacks("en"), ["en"]);
        assert_eq!(fallbacks("en-GB"), ["en-gb", "en"]);
    }
}
