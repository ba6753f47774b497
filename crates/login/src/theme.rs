//! The login theme: minijinja templates, Java-properties message bundles and static resources.
//!
//! The default theme (`themes/gatehouse/login`) is compiled into the binary, so a server run
//! from any directory has its pages; templates are parsed once at start-up.

use std::collections::BTreeMap;
use std::sync::Arc;

use minijinja::value::{Rest, Value};
use minijinja::{Environment, Error};

const THEME: &str = "gatehouse";

macro_rules! theme_file {
    ($path:literal) => {
        include_str!(concat!("../../../themes/gatehouse/login/", $path))
    };
}

const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", theme_file!("layout.html")),
    ("login.html", theme_file!("login.html")),
    (
        "login-update-password.html",
        theme_file!("login-update-password.html"),
    ),
    ("error.html", theme_file!("error.html")),
    ("info.html", theme_file!("info.html")),
    ("logout-confirm.html", theme_file!("logout-confirm.html")),
];

const BUNDLES: &[(&str, &str, &str)] = &[
    (
        "en",
        "English",
        theme_file!("messages/messages_en.properties"),
    ),
    (
        "de",
        "Deutsch",
        theme_file!("messages/messages_de.properties"),
    ),
];

const RESOURCES: &[(&str, &str, &str)] = &[(
    "css/login.css",
    "text/css; charset=utf-8",
    theme_file!("resources/css/login.css"),
)];

/// The loaded themes.
pub struct Themes {
    env: Environment<'static>,
    bundles: BTreeMap<&'static str, Arc<BTreeMap<String, String>>>,
}

impl Themes {
    /// The built-in theme, parsed once.
    pub fn builtin() -> Result<Themes, Error> {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)?;
        }
        let bundles = BUNDLES
            .iter()
            .map(|(tag, _, text)| (*tag, Arc::new(parse_properties(text))))
            .collect();
        Ok(Themes { env, bundles })
    }

    /// The theme's name, as it appears in resource URLs.
    pub fn name(&self) -> &'static str {
        THEME
    }

    /// The locale to render in: the first of `ui_locales` the theme has, else the first of
    /// `Accept-Language`, else English.
    pub fn locale(&self, ui_locales: Option<&str>, accept_language: Option<&str>) -> &'static str {
        let wanted = ui_locales.into_iter().flat_map(|l| l.split(' ')).chain(
            accept_language
                .into_iter()
                .flat_map(|l| l.split(','))
                .map(|l| l.split(';').next().unwrap_or_default().trim()),
        );
        for tag in wanted {
            let primary = tag
                .split(['-', '_'])
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            if let Some((found, _)) = self.bundles.get_key_value(primary.as_str()) {
                return found;
            }
        }
        "en"
    }

    /// The locales offered in the language switcher: `(tag, label)`.
    pub fn supported(&self) -> Vec<(&'static str, &'static str)> {
        BUNDLES
            .iter()
            .map(|(tag, label, _)| (*tag, *label))
            .collect()
    }

    /// A message in `locale`, falling back to English and then to the key itself.
    pub fn msg(&self, locale: &str, key: &str, args: &[String]) -> String {
        let text = self
            .bundles
            .get(locale)
            .and_then(|b| b.get(key))
            .or_else(|| self.bundles.get("en").and_then(|b| b.get(key)))
            .cloned()
            .unwrap_or_else(|| key.to_owned());
        format_message(&text, args)
    }

    /// Renders a page; `ctx` gets a `msg(key, *args)` function for `locale`.
    pub fn render(
        &self,
        template: &str,
        locale: &str,
        ctx: serde_json::Value,
    ) -> Result<String, Error> {
        let bundle = self.bundles.get(locale).cloned();
        let english = self.bundles.get("en").cloned();
        let msg = Value::from_function(move |key: String, args: Rest<Value>| -> String {
            let text = bundle
                .as_ref()
                .and_then(|b| b.get(&key))
                .or_else(|| english.as_ref().and_then(|b| b.get(&key)))
                .cloned()
                .unwrap_or_else(|| key.clone());
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            format_message(&text, &args)
        });
        let mut ctx = Value::from_serialize(&ctx);
        ctx = minijinja::context! { msg => msg, ..ctx };
        self.env.get_template(template)?.render(ctx)
    }

    /// A static resource of the theme: `(content type, body)`.
    pub fn resource(&self, path: &str) -> Option<(&'static str, &'static str)> {
        RESOURCES
            .iter()
            .find(|(p, _, _)| *p == path)
            .map(|(_, ct, body)| (*ct, *body))
    }
}

/// Java `.properties`: `key=value` (or `key: value`), `#`/`!` comments, `\uXXXX` escapes, and
/// a trailing `\` continuing the line.
fn parse_properties(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut pending = String::new();
    for raw in text.lines() {
        let line = raw.trim_start();
        if pending.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with('!'))
        {
            continue;
        }
        if let Some(cont) = line.strip_suffix('\\') {
            pending.push_str(cont);
            continue;
        }
        pending.push_str(line);
        let entry = std::mem::take(&mut pending);
        let split = entry.find(['=', ':']);
        if let Some(i) = split {
            let key = entry[..i].trim().to_owned();
            let value = unescape(entry[i + 1..].trim_start());
            out.insert(key, value);
        }
    }
    out
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                if let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    out.push(ch);
                }
            }
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// Java MessageFormat as Keycloak's bundles use it: `{0}` placeholders and `''` for a quote.
fn format_message(text: &str, args: &[String]) -> String {
    let mut out = text.replace("''", "'");
    for (i, arg) in args.iter().enumerate() {
        out = out.replace(&format!("{{{i}}}"), arg);
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn properties_and_messages() {
        let p = parse_properties("# c\na=One {0}\nb = Two \\\n  lines\nc=caf\\u00e9 it''s\n");
        assert_eq!(p["a"], "One {0}");
        assert_eq!(p["b"], "Two lines");
        assert_eq!(format_message(&p["c"], &[]), "café it's");
        assert_eq!(format_message(&p["a"], &["x".into()]), "One x");
    }

    #[test]
    fn builtin_theme_parses_and_picks_locales() {
        let themes = Themes::builtin().unwrap();
        assert_eq!(themes.locale(Some("de-CH en"), None), "de");
        assert_eq!(themes.locale(None, Some("fr-FR,de;q=0.8")), "de");
        assert_eq!(themes.locale(None, None), "en");
        assert_eq!(themes.msg("en", "doLogIn", &[]), "Sign In");
        assert_ne!(themes.msg("de", "doLogIn", &[]), "Sign In");
        assert!(themes.resource("css/login.css").is_some());
    }
}
