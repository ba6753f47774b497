//! Log output: Keycloak's console layout or JSON, with this node's name on every line so that the
//! logs of a cluster can be merged and still read.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Installs the global subscriber. `directives` is an `EnvFilter` string built from `log-level`.
pub fn init(node: &str, json: bool, directives: &str) -> Result<(), String> {
    let filter = tracing_subscriber::EnvFilter::try_new(directives)
        .map_err(|e| format!("Invalid value for option '--log-level': {e}"))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout)
        .event_format(Layout {
            node: node.to_owned(),
            json,
        })
        .try_init()
        .map_err(|e| e.to_string())
}

struct Layout {
    node: String,
    json: bool,
}

impl<S, N> FormatEvent<S, N> for Layout
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut fields = Fields::default();
        event.record(&mut fields);
        let now = timestamp();
        if self.json {
            let mut line = serde_json::Map::new();
            line.insert("timestamp".into(), now.into());
            line.insert("level".into(), meta.level().as_str().into());
            line.insert("loggerName".into(), meta.target().into());
            line.insert("message".into(), fields.message.into());
            line.insert("node".into(), self.node.as_str().into());
            for (k, v) in fields.rest {
                line.insert(k, v.into());
            }
            writeln!(writer, "{}", serde_json::Value::Object(line))
        } else {
            write!(
                writer,
                "{now} {:<5} [{}] ({}) {}",
                meta.level().as_str(),
                meta.target(),
                self.node,
                fields.message
            )?;
            for (k, v) in &fields.rest {
                write!(writer, " {k}={v}")?;
            }
            writeln!(writer)
        }
    }
}

#[derive(Default)]
struct Fields {
    message: String,
    rest: Vec<(String, String)>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_owned();
        } else {
            self.rest.push((field.name().to_owned(), value.to_owned()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            self.rest
                .push((field.name().to_owned(), format!("{value:?}")));
        }
    }
}

/// UTC time as Keycloak prints it: `2026-11-23 12:04:02,123`.
fn timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02},{:03}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60,
        now.subsec_millis()
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::civil_from_days;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }
}
