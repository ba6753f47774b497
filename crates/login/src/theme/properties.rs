//! Java `.properties` files (`theme.properties`, message bundles) and the `MessageFormat`
//! subset Keycloak's bundles use.

use std::collections::BTreeMap;

/// Parses `key=value` (or `key: value`) lines: `#`/`!` comments, `\uXXXX` escapes, and a
/// trailing `\` continuing the line.
pub(crate) fn parse(text: &str) -> BTreeMap<String, String> {
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
        if let Some(i) = entry.find(['=', ':']) {
            let key = entry[..i].trim().to_owned();
            let value = unescape(entry[i + 1..].trim_start());
            out.insert(key, value);
        }
    }
    out
}

/// The text of a properties file: UTF-8 as Keycloak 26 writes them, or ISO-8859-1 (each byte
/// one character), the encoding older Java tools wrote.
pub(crate) fn decode(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => e.into_bytes().into_iter().map(char::from).collect(),
    }
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
pub(crate) fn format_message(text: &str, args: &[String]) -> String {
    let mut out = text.replace("''", "'");
    for (i, arg) in args.iter().enumerate() {
        out = out.replace(&format!("{{{i}}}"), arg);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_and_messages() {
        let p = parse("# c\na=One {0}\nb = Two \\\n  lines\nc=caf\\u00e9 it''s\nd: colon\n");
        assert_eq!(p["a"], "One {0}");
        assert_eq!(p["b"], "Two lines");
        assert_eq!(p["d"], "colon");
        assert_eq!(format_message(&p["c"], &[]), "café it's");
        assert_eq!(format_message(&p["a"], &["x".into()]), "One x");
    }

    #[test]
    fn latin1_files_are_read() {
        assert_eq!(decode(b"a=caf\xe9".to_vec()), "a=café");
        assert_eq!(decode("a=café".as_bytes().to_vec()), "a=café");
    }
}
