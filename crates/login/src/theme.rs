//! Login themes: the built-in `gatehouse` theme, compiled into the binary so that a server run
//! from any directory has its pages, and themes read from the theme folder at run time.
//!
//! A theme on disk is `<folder>/<name>/login/`, as Keycloak lays its folder themes out:
//! `theme.properties` (`parent`, default the built-in theme; `locales`; `styles`, the
//! stylesheets the layout links), minijinja templates (`*.html`), message bundles
//! (`messages/messages_<locale>.properties`) and static files (`resources/`). A theme inherits
//! from its parent template by template, message by message and file by file. Keycloak's
//! `import` property (shared `common` resources) is not read.
//!
//! With Keycloak's caching options on (`spi-theme-cache-themes`, `spi-theme-cache-templates`,
//! on for `start`) a theme is read and its templates parsed once; with them off (`start-dev`)
//! every page reads the files again, so an edit shows on the next request. A theme that cannot
//! be used (missing parent, template that does not parse, ...) is logged and replaced by the
//! default theme, so a bad theme never costs a realm its login page.

mod properties;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use gatehouse_model::Realm;
use minijinja::Environment;
use minijinja::value::{Rest, Value};

use crate::locale;

/// The built-in theme's name, as realms name it and resource URLs carry it.
pub const BUILTIN_THEME: &str = "gatehouse";

/// Keycloak's own login themes. Realms exported from Keycloak name them, and theme folders
/// written for Keycloak name them as parent: both mean the built-in theme here.
const KEYCLOAK_THEMES: &[&str] = &["base", "keycloak", "keycloak.v2"];

macro_rules! theme_file {
    ($path:literal) => {
        include_str!(concat!("../../../themes/gatehouse/login/", $path))
    };
}

/// Every template of the built-in theme.
const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", theme_file!("layout.html")),
    ("login.html", theme_file!("login.html")),
    (
        "login-update-password.html",
        theme_file!("login-update-password.html"),
    ),
    (
        "login-oauth-grant.html",
        theme_file!("login-oauth-grant.html"),
    ),
    ("error.html", theme_file!("error.html")),
    ("info.html", theme_file!("info.html")),
    ("logout-confirm.html", theme_file!("logout-confirm.html")),
];

/// The built-in theme's message bundles, by language tag.
const BUNDLES: &[(&str, &str)] = &[
    ("en", theme_file!("messages/messages_en.properties")),
    ("de", theme_file!("messages/messages_de.properties")),
];

const PROPERTIES: &str = theme_file!("theme.properties");

/// The built-in theme's static files, by path under `resources/`.
const RESOURCES: &[(&str, &str)] = &[("css/login.css", theme_file!("resources/css/login.css"))];

/// Where themes come from and how long they are kept: Keycloak's theme options.
#[derive(Debug, Clone)]
pub struct ThemeSettings {
    /// `spi-theme-folder-dir`: the folder holding `<name>/login/` themes; `None`: the built-in
    /// theme only.
    pub dir: Option<PathBuf>,
    /// `spi-theme-cache-themes`: read a theme's folder once rather than for every page.
    pub cache_themes: bool,
    /// `spi-theme-cache-templates`: parse a theme's templates once rather than for every page.
    pub cache_templates: bool,
    /// `spi-theme-default`: the theme of realms that name none.
    pub default_theme: Option<String>,
    /// `spi-theme-static-max-age`: how long browsers may keep theme resources, in seconds;
    /// zero or negative: they must ask again every time.
    pub static_max_age: i64,
}

impl Default for ThemeSettings {
    /// The built-in theme only, cached, resources kept for 30 days (Keycloak's `start`).
    fn default() -> Self {
        ThemeSettings {
            dir: None,
            cache_themes: true,
            cache_templates: true,
            default_theme: None,
            static_max_age: 2_592_000,
        }
    }
}

/// Why a theme cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    /// The name could reach outside the theme folder, or is empty.
    #[error("'{0}' is not a theme name (letters, digits, '.', '-' and '_')")]
    BadName(String),
    /// There is no `<folder>/<name>/login/` (or no theme folder at all).
    #[error("theme '{name}' not found (no folder {path})")]
    NotFound {
        /// The theme asked for.
        name: String,
        /// Where it was looked for.
        path: String,
    },
    /// Following `parent` leads back to a theme already in the chain.
    #[error("theme '{0}' is its own ancestor")]
    Cycle(String),
    /// A file of the theme could not be read.
    #[error("cannot read {path}: {cause}")]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's reason.
        cause: std::io::Error,
    },
    /// A template does not parse or does not render.
    #[error("template {template} of theme '{theme}': {cause:#}")]
    Template {
        /// The theme whose chain holds the template.
        theme: String,
        /// The template's file name.
        template: String,
        /// minijinja's account, with the line.
        cause: minijinja::Error,
    },
}

/// One static file of a theme.
#[derive(Debug, Clone)]
pub struct Resource {
    /// The `Content-Type` to send it with.
    pub content_type: &'static str,
    /// Its bytes.
    pub body: Cow<'static, [u8]>,
}

/// One theme's `login` folder, or the built-in theme: what it defines itself.
#[derive(Debug)]
struct ThemeFolder {
    name: String,
    /// `<folder>/<name>/login`; `None` for the built-in theme.
    path: Option<PathBuf>,
    properties: BTreeMap<String, String>,
    /// Bundles by normalized language tag (`pt-br`).
    messages: BTreeMap<String, BTreeMap<String, String>>,
}

impl ThemeFolder {
    fn builtin() -> ThemeFolder {
        ThemeFolder {
            name: BUILTIN_THEME.to_owned(),
            path: None,
            properties: properties::parse(PROPERTIES),
            messages: BUNDLES
                .iter()
                .map(|(tag, text)| (locale::normalize(tag), properties::parse(text)))
                .collect(),
        }
    }

    /// Reads `<dir>/<name>/login/`: its properties and message bundles (templates are read
    /// when the environment is built, resources when asked for).
    fn read(dir: &Path, name: &str) -> Result<ThemeFolder, ThemeError> {
        let path = dir.join(name).join("login");
        if !path.is_dir() {
            return Err(ThemeError::NotFound {
                name: name.to_owned(),
                path: path.display().to_string(),
            });
        }
        let properties = match read_text(&path.join("theme.properties"))? {
            Some(text) => properties::parse(&text),
            None => BTreeMap::new(),
        };
        let mut messages = BTreeMap::new();
        for (file, stem) in files(&path.join("messages"), "messages_", ".properties")? {
            if let Some(text) = read_text(&file)? {
                messages.insert(locale::normalize(&stem), properties::parse(&text));
            }
        }
        Ok(ThemeFolder {
            name: name.to_owned(),
            path: Some(path),
            properties,
            messages,
        })
    }

    /// The templates this folder defines: `(file name, source)`.
    fn templates(&self) -> Result<Vec<(String, Cow<'static, str>)>, ThemeError> {
        let Some(path) = &self.path else {
            return Ok(TEMPLATES
                .iter()
                .map(|(name, source)| ((*name).to_owned(), Cow::Borrowed(*source)))
                .collect());
        };
        let mut out = Vec::new();
        for (file, stem) in files(path, "", ".html")? {
            if let Some(source) = read_text(&file)? {
                out.push((format!("{stem}.html"), Cow::Owned(source)));
            }
        }
        Ok(out)
    }

    /// A static file under `resources/`, if this folder has it. `path` is already checked by
    /// [`safe_path`]; the resolved file must still be inside `resources/` (no symlink out).
    fn resource(&self, path: &Path) -> Option<Resource> {
        let content_type = content_type(path);
        let Some(root) = &self.path else {
            let wanted = path.to_str()?;
            return RESOURCES
                .iter()
                .find(|(p, _)| *p == wanted)
                .map(|(_, body)| Resource {
                    content_type,
                    body: Cow::Borrowed(body.as_bytes()),
                });
        };
        let base = root.join("resources").canonicalize().ok()?;
        let file = base.join(path).canonicalize().ok()?;
        if !file.starts_with(&base) || !file.is_file() {
            return None;
        }
        let body = std::fs::read(&file).ok()?;
        Some(Resource {
            content_type,
            body: Cow::Owned(body),
        })
    }
}

/// A theme with its ancestors, ready to render.
pub struct LoginTheme {
    /// The theme first, the built-in theme last.
    chain: Arc<[Arc<ThemeFolder>]>,
    /// Every template of the chain, parsed; `None` when templates are not cached, so each page
    /// reads and parses them again.
    env: Option<Environment<'static>>,
    /// `theme.properties` of the chain, the theme's own values over its parents'.
    properties: BTreeMap<String, String>,
}

impl LoginTheme {
    fn new(chain: Vec<Arc<ThemeFolder>>, parse_templates: bool) -> Result<Self, ThemeError> {
        let chain: Arc<[Arc<ThemeFolder>]> = chain.into();
        let env = if parse_templates {
            Some(environment(&chain)?)
        } else {
            None
        };
        let mut properties = BTreeMap::new();
        for folder in chain.iter().rev() {
            properties.extend(
                folder
                    .properties
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone())),
            );
        }
        Ok(LoginTheme {
            chain,
            env,
            properties,
        })
    }

    /// The theme's name, as resource URLs carry it.
    pub fn name(&self) -> &str {
        self.chain
            .first()
            .map_or(BUILTIN_THEME, |f| f.name.as_str())
    }

    /// Whether this is the built-in theme.
    pub fn is_builtin(&self) -> bool {
        self.chain.len() == 1
    }

    /// `theme.properties` of the theme and its parents (the theme's own values win).
    pub fn properties(&self) -> &BTreeMap<String, String> {
        &self.properties
    }

    /// A message in `locale`, or `None` when no bundle of the chain has `key`.
    pub fn message(&self, locale: &str, key: &str) -> Option<&str> {
        lookup(&self.chain, locale, key)
    }

    /// A message in `locale` with `{0}`-style arguments, falling back to the key itself.
    pub fn msg(&self, locale: &str, key: &str, args: &[String]) -> String {
        let text = self.message(locale, key).unwrap_or(key);
        properties::format_message(text, args)
    }

    /// Renders `template`; `ctx` gets a `msg(key, *args)` function for `locale`.
    fn render(
        &self,
        template: &str,
        locale: &str,
        ctx: &serde_json::Value,
    ) -> Result<String, ThemeError> {
        let built;
        let env = match &self.env {
            Some(env) => env,
            None => {
                built = environment(&self.chain)?;
                &built
            }
        };
        let chain = self.chain.clone();
        let fallbacks = locale::fallbacks(locale);
        let msg = Value::from_function(move |key: String, args: Rest<Value>| -> String {
            let text = fallbacks
                .iter()
                .find_map(|tag| in_bundles(&chain, tag, &key))
                .unwrap_or(&key);
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            properties::format_message(text, &args)
        });
        let ctx = Value::from_serialize(ctx);
        let ctx = minijinja::context! { msg => msg, ..ctx };
        let failed = |cause| ThemeError::Template {
            theme: self.name().to_owned(),
            template: template.to_owned(),
            cause,
        };
        env.get_template(template)
            .map_err(failed)?
            .render(ctx)
            .map_err(failed)
    }

    /// A static file of the theme or, failing that, of its ancestors.
    fn resource(&self, path: &Path) -> Option<Resource> {
        self.chain.iter().find_map(|folder| folder.resource(path))
    }
}

/// A theme as the cache keeps it: ready, or known to be unusable (with why).
enum Cached {
    Ready(Arc<LoginTheme>),
    Broken(String),
}

/// The login themes: the built-in one, and those of the theme folder.
pub struct Themes {
    settings: ThemeSettings,
    builtin: Arc<LoginTheme>,
    /// Themes by name, when `cache_themes` is on. Only names that realms select are kept when
    /// unusable, so resource URLs naming made-up themes cannot grow it.
    cache: Mutex<HashMap<String, Cached>>,
    /// Unusable themes already logged (with caching on, each is logged once).
    warned: Mutex<HashSet<String>>,
}

impl Themes {
    /// The built-in theme only, parsed once.
    pub fn builtin() -> Result<Themes, ThemeError> {
        Themes::new(ThemeSettings::default())
    }

    /// The themes `settings` describe; fails only if the built-in theme does not parse (a build
    /// defect the unit tests catch). A theme folder that does not exist is logged, not fatal.
    pub fn new(settings: ThemeSettings) -> Result<Themes, ThemeError> {
        let builtin = Arc::new(LoginTheme::new(
            vec![Arc::new(ThemeFolder::builtin())],
            true,
        )?);
        if let Some(dir) = &settings.dir {
            if dir.is_dir() {
                tracing::info!(
                    "login themes from {} (caching: themes {}, templates {})",
                    dir.display(),
                    settings.cache_themes,
                    settings.cache_templates
                );
            } else {
                tracing::warn!(
                    "theme folder {} does not exist: only the built-in login theme is available",
                    dir.display()
                );
            }
        }
        Ok(Themes {
            settings,
            builtin,
            cache: Mutex::new(HashMap::new()),
            warned: Mutex::new(HashSet::new()),
        })
    }

    /// The settings the themes were loaded with.
    pub fn settings(&self) -> &ThemeSettings {
        &self.settings
    }

    /// The theme a page of `realm` renders with: the realm's `loginTheme`, else the server's
    /// default theme, else the built-in one. A theme that cannot be used is logged and the
    /// next one in that order is used instead.
    pub fn for_realm(&self, realm: Option<&Realm>) -> Arc<LoginTheme> {
        if let Some(name) = realm
            .and_then(|r| r.login_theme.as_deref())
            .filter(|n| !n.is_empty())
        {
            match self.named(name, true) {
                Ok(theme) => return theme,
                Err(reason) => self.warn(name, realm, &reason),
            }
        }
        if let Some(name) = &self.settings.default_theme {
            match self.named(name, true) {
                Ok(theme) => return theme,
                Err(reason) => self.warn(name, None, &reason),
            }
        }
        self.builtin.clone()
    }

    /// Renders `template` of `theme` in `locale`. When a theme from disk fails to render, the
    /// failure is logged and the page is rendered with the built-in theme instead.
    pub fn render(
        &self,
        theme: &LoginTheme,
        template: &str,
        locale: &str,
        ctx: &serde_json::Value,
    ) -> Result<String, ThemeError> {
        match theme.render(template, locale, ctx) {
            Err(e) if !theme.is_builtin() => {
                tracing::error!(
                    "login theme '{}' cannot render a page, using the built-in theme: {e}",
                    theme.name()
                );
                self.builtin.render(template, locale, ctx)
            }
            other => other,
        }
    }

    /// A static file of theme `theme`: `path` is relative to its `resources/` folder and may
    /// come from its parents. `None` for an unknown or unusable theme, a path that leaves the
    /// folder, or a missing file. Reads the disk: call it off the async workers.
    pub fn resource(&self, theme: &str, path: &str) -> Option<Resource> {
        let path = safe_path(path)?;
        let theme = self.named(theme, false).ok()?;
        theme.resource(&path)
    }

    /// The theme called `name`, from the cache or the theme folder. Failures are cached only
    /// when `remember_failure` (the names realms select, which administrators bound).
    fn named(&self, name: &str, remember_failure: bool) -> Result<Arc<LoginTheme>, String> {
        if name == BUILTIN_THEME || KEYCLOAK_THEMES.contains(&name) {
            return Ok(self.builtin.clone());
        }
        if !self.settings.cache_themes {
            return self.load(name).map(Arc::new).map_err(|e| e.to_string());
        }
        if let Some(cached) = self.lock_cache().get(name) {
            return match cached {
                Cached::Ready(theme) => Ok(theme.clone()),
                Cached::Broken(reason) => Err(reason.clone()),
            };
        }
        // Loaded outside the lock: two first requests may both read the folder, harmlessly.
        let loaded = self.load(name).map(Arc::new).map_err(|e| e.to_string());
        let mut cache = self.lock_cache();
        match &loaded {
            Ok(theme) => {
                cache.insert(name.to_owned(), Cached::Ready(theme.clone()));
            }
            Err(reason) if remember_failure => {
                cache.insert(name.to_owned(), Cached::Broken(reason.clone()));
            }
            Err(_) => {}
        }
        loaded
    }

    /// Reads theme `name` and its ancestors from the theme folder.
    fn load(&self, name: &str) -> Result<LoginTheme, ThemeError> {
        let Some(dir) = &self.settings.dir else {
            return Err(ThemeError::NotFound {
                name: name.to_owned(),
                path: "(no theme folder)".to_owned(),
            });
        };
        let mut chain: Vec<Arc<ThemeFolder>> = Vec::new();
        let mut next = name.to_owned();
        loop {
            if next == BUILTIN_THEME || KEYCLOAK_THEMES.contains(&next.as_str()) {
                chain.push(self.builtin.chain[0].clone());
                break;
            }
            if !valid_name(&next) {
                return Err(ThemeError::BadName(next));
            }
            if chain.iter().any(|f| f.name == next) {
                return Err(ThemeError::Cycle(next));
            }
            let folder = ThemeFolder::read(dir, &next)?;
            next = folder
                .properties
                .get("parent")
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| BUILTIN_THEME.to_owned());
            chain.push(Arc::new(folder));
        }
        // Templates are parsed now whenever this load is kept (always when themes are not
        // cached, as the load then serves one page), which also finds syntax errors before a
        // page is rendered.
        let parse = self.settings.cache_templates || !self.settings.cache_themes;
        LoginTheme::new(chain, parse)
    }

    fn warn(&self, name: &str, realm: Option<&Realm>, reason: &str) {
        let first = self
            .warned
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.to_owned());
        if first || !self.settings.cache_themes {
            let whose = realm.map_or_else(
                || "spi-theme-default".to_owned(),
                |r| format!("realm '{}'", r.name),
            );
            tracing::error!(
                "login theme '{name}' ({whose}) cannot be used, falling back: {reason}"
            );
        }
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, Cached>> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Every template of `chain` parsed into one environment; a theme's template replaces its
/// parents' of the same name, so `{% extends "layout.html" %}` finds the nearest layout.
fn environment(chain: &[Arc<ThemeFolder>]) -> Result<Environment<'static>, ThemeError> {
    let mut env = Environment::new();
    for folder in chain.iter().rev() {
        for (name, source) in folder.templates()? {
            env.add_template_owned(name.clone(), source)
                .map_err(|cause| ThemeError::Template {
                    theme: folder.name.clone(),
                    template: name,
                    cause,
                })?;
        }
    }
    Ok(env)
}

/// `key` in the first bundle of `chain` that has it, trying `locale`'s fallbacks in turn:
/// the theme's `de-ch`, its parent's `de-ch`, the theme's `de`, ..., the theme's `en`.
fn lookup<'c>(chain: &'c [Arc<ThemeFolder>], locale: &str, key: &str) -> Option<&'c str> {
    locale::fallbacks(locale)
        .iter()
        .find_map(|tag| in_bundles(chain, tag, key))
}

fn in_bundles<'c>(chain: &'c [Arc<ThemeFolder>], tag: &str, key: &str) -> Option<&'c str> {
    chain
        .iter()
        .find_map(|f| f.messages.get(tag).and_then(|b| b.get(key)))
        .map(String::as_str)
}

/// Theme names stay inside the theme folder: letters, digits, `.`, `-`, `_`, not starting
/// with a dot.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// A resource path from a URL as a relative path that cannot leave `resources/`: no empty,
/// `.` or `..` segment, no hidden file, no backslash, colon or NUL.
fn safe_path(path: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for segment in path.split('/') {
        if segment.is_empty() || segment.starts_with('.') || segment.contains(['\\', ':', '\0']) {
            return None;
        }
        out.push(segment);
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// The content type of a theme file, by extension; unknown types are sent as bytes, which
/// with `nosniff` browsers neither render nor run.
fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ext.as_str() {
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" | "map" => "application/json",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "svg" => "image/svg+xml",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// A file's text, `None` when it does not exist.
fn read_text(path: &Path) -> Result<Option<String>, ThemeError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(properties::decode(bytes))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(cause) => Err(ThemeError::Read {
            path: path.to_owned(),
            cause,
        }),
    }
}

/// The files of `dir` named `<prefix><stem><suffix>`, as `(path, stem)`, sorted by name; none
/// when `dir` does not exist.
fn files(dir: &Path, prefix: &str, suffix: &str) -> Result<Vec<(PathBuf, String)>, ThemeError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(cause) => {
            return Err(ThemeError::Read {
                path: dir.to_owned(),
                cause,
            });
        }
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|cause| ThemeError::Read {
            path: dir.to_owned(),
            cause,
        })?;
        let file_name = entry.file_name();
        let Some(stem) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .and_then(|n| n.strip_suffix(suffix))
            .filter(|s| !s.is_empty())
        else {
            continue;
        };
        if entry.path().is_file() {
            out.push((entry.path(), stem.to_owned()));
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use gatehouse_model::{RealmId, RealmName};
    use serde_json::json;

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn realm(theme: Option<&str>) -> Realm {
        let mut r = Realm::new(RealmId::new("r"), RealmName::new("acme").unwrap());
        r.login_theme = theme.map(str::to_owned);
        r
    }

    fn themes(dir: &Path, cache: bool) -> Themes {
        Themes::new(ThemeSettings {
            dir: Some(dir.to_owned()),
            cache_themes: cache,
            cache_templates: cache,
            ..ThemeSettings::default()
        })
        .unwrap()
    }

    fn ctx() -> serde_json::Value {
        json!({"realm": {"name": "acme", "displayName": ""}, "url": {"resourcesPath": "/r"},
               "message": {"type": "error", "summary": "x"}, "locale": {"current": "en"}})
    }

    #[test]
    fn builtin_theme_renders_every_template() {
        let themes = Themes::builtin().unwrap();
        let theme = themes.for_realm(None);
        assert!(theme.is_builtin());
        assert_eq!(theme.name(), "gatehouse");
        // Every template parsed when the themes were built; the simple pages render with
        // little context.
        for name in ["error.html", "info.html", "login.html"] {
            themes.render(&theme, name, "en", &ctx()).unwrap();
        }
        assert_eq!(theme.msg("en", "doLogIn", &[]), "Sign In");
        assert_ne!(theme.msg("de-AT", "doLogIn", &[]), "Sign In");
        assert_eq!(theme.msg("fr", "doLogIn", &[]), "Sign In");
        assert_eq!(theme.msg("en", "noSuchKey", &[]), "noSuchKey");
        assert_eq!(theme.properties()["styles"], "css/login.css");
        assert!(themes.resource("gatehouse", "css/login.css").is_some());
        assert!(themes.resource("keycloak", "css/login.css").is_some());
        assert!(
            themes
                .resource("gatehouse", "css/../css/login.css")
                .is_none()
        );
        // Every template file of the built-in theme is compiled in.
        let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../themes/gatehouse/login");
        for (path, stem) in files(&folder, "", ".html").unwrap() {
            let name = format!("{stem}.html");
            assert!(
                TEMPLATES.iter().any(|(t, _)| *t == name),
                "{} is not in TEMPLATES",
                path.display()
            );
        }
    }

    #[test]
    fn a_theme_inherits_templates_messages_and_resources() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "brand/login/theme.properties",
            "parent=gatehouse\nlocales=en,fr\n",
        );
        write(
            root,
            "brand/login/login.html",
            "{% extends \"layout.html\" %}{% block content %}BRAND {{ msg(\"doLogIn\") }} \
             {{ msg(\"password\") }}{% endblock %}",
        );
        write(
            root,
            "brand/login/messages/messages_fr.properties",
            "doLogIn=Connexion\n",
        );
        write(
            root,
            "brand/login/messages/messages_en.properties",
            "doLogIn=Enter\n",
        );
        write(root, "brand/login/resources/css/brand.css", "body{}");
        write(
            root,
            "child/login/theme.properties",
            "parent=brand\nstyles=css/login.css css/brand.css\n",
        );
        write(
            root,
            "child/login/messages/messages_fr_CA.properties",
            "password=Mot de passe\n",
        );
        let themes = themes(root, true);

        let theme = themes.for_realm(Some(&realm(Some("child"))));
        assert_eq!(theme.name(), "child");
        // Template from the parent, layout from the built-in theme.
        let html = themes
            .render(&theme, "login.html", "fr-CA", &ctx())
            .unwrap();
        assert!(html.contains("BRAND Connexion Mot de passe"), "{html}");
        assert!(html.contains("<html lang="), "{html}");
        // Messages: the theme's locale, the parent's, then English along the chain.
        assert_eq!(theme.msg("fr-CA", "password", &[]), "Mot de passe");
        assert_eq!(theme.msg("fr", "password", &[]), "Password");
        assert_eq!(theme.msg("de", "doLogIn", &[]), "Anmelden");
        assert_eq!(theme.msg("it", "doLogIn", &[]), "Enter");
        assert_eq!(theme.properties()["locales"], "en,fr");
        assert_eq!(theme.properties()["styles"], "css/login.css css/brand.css");
        // Resources: own, inherited from the parent and from the built-in theme.
        let css = themes.resource("child", "css/brand.css").unwrap();
        assert_eq!(css.content_type, "text/css; charset=utf-8");
        assert_eq!(&*css.body, b"body{}");
        assert!(themes.resource("child", "css/login.css").is_some());
        for bad in [
            "../brand/login/theme.properties",
            "css/../../theme.properties",
            "",
            "/etc/passwd",
            ".hidden",
        ] {
            assert!(themes.resource("child", bad).is_none(), "{bad}");
        }
        assert!(themes.resource("../child", "css/brand.css").is_none());
        assert!(themes.resource("nope", "css/login.css").is_none());
        // A realm without a theme, or with Keycloak's, gets the built-in one.
        assert!(themes.for_realm(Some(&realm(None))).is_builtin());
        assert!(
            themes
                .for_realm(Some(&realm(Some("keycloak.v2"))))
                .is_builtin()
        );
    }

    #[test]
    fn unusable_themes_fall_back() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "orphan/login/theme.properties", "parent=missing\n");
        write(root, "broken/login/login.html", "{% if %}");
        write(root, "loop-a/login/theme.properties", "parent=loop-b\n");
        write(root, "loop-b/login/theme.properties", "parent=loop-a\n");
        write(root, "fine/login/info.html", "FINE");
        write(root, "late/login/login.html", "{{ undefined_function() }}");
        let themes = Themes::new(ThemeSettings {
            dir: Some(root.to_owned()),
            default_theme: Some("fine".into()),
            ..ThemeSettings::default()
        })
        .unwrap();
        for name in ["orphan", "broken", "loop-a", "absent", "../etc"] {
            let theme = themes.for_realm(Some(&realm(Some(name))));
            assert_eq!(theme.name(), "fine", "{name}");
        }
        let err = themes.load("broken").err().unwrap().to_string();
        assert!(
            err.contains("login.html") && err.contains("broken"),
            "{err}"
        );
        assert!(matches!(themes.load("loop-a"), Err(ThemeError::Cycle(_))));
        assert!(matches!(
            themes.load("orphan"),
            Err(ThemeError::NotFound { .. })
        ));
        // A template that parses but fails to render gives the built-in page, not an error.
        let late = themes.for_realm(Some(&realm(Some("late"))));
        assert_eq!(late.name(), "late");
        let html = themes.render(&late, "login.html", "en", &ctx()).unwrap();
        assert!(html.contains("kc-form-login"), "{html}");
    }

    #[test]
    fn edits_show_when_caching_is_off() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "live/login/info.html", "ONE");
        write(
            root,
            "live/login/messages/messages_en.properties",
            "k=one\n",
        );
        for cache in [false, true] {
            let themes = themes(root, cache);
            let first = themes.for_realm(Some(&realm(Some("live"))));
            assert_eq!(
                themes.render(&first, "info.html", "en", &ctx()).unwrap(),
                "ONE"
            );
            write(root, "live/login/info.html", "TWO");
            write(
                root,
                "live/login/messages/messages_en.properties",
                "k=two\n",
            );
            let second = themes.for_realm(Some(&realm(Some("live"))));
            let html = themes.render(&second, "info.html", "en", &ctx()).unwrap();
            let msg = second.msg("en", "k", &[]);
            if cache {
                assert_eq!((html.as_str(), msg.as_str()), ("ONE", "one"));
            } else {
                assert_eq!((html.as_str(), msg.as_str()), ("TWO", "two"));
            }
            write(root, "live/login/info.html", "ONE");
            write(
                root,
                "live/login/messages/messages_en.properties",
                "k=one\n",
            );
        }
    }

    #[test]
    fn names_and_paths() {
        assert!(valid_name("keycloak.v2") && valid_name("my_theme-1"));
        for bad in ["", ".", "..", ".git", "a/b", "a\\b", "a b"] {
            assert!(!valid_name(bad), "{bad}");
        }
        assert_eq!(safe_path("css/a.css"), Some(PathBuf::from("css/a.css")));
        for bad in [
            "",
            "css//a.css",
            "css/./a.css",
            "css/../a",
            "a\\b",
            "c:x",
            "/a",
        ] {
            assert_eq!(safe_path(bad), None, "{bad}");
        }
        assert_eq!(content_type(Path::new("a.SVG")), "image/svg+xml");
        assert_eq!(
            content_type(Path::new("a.html")),
            "application/octet-stream"
        );
    }
}
