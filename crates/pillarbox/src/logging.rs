//! Log set-up: human-readable lines by default, JSON on request; `RUST_LOG` overrides the
//! configured level. Every `ERROR` line is also an `error` event in the monitoring event
//! log once the monitor is running ([`record_errors`]), so no error is only in a log file
//! nobody reads.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::sync::OnceLock;

use pillarbox_config::LogFormat;
use pillarbox_monitor::{EventKind, Monitor, NewEvent};
use tracing::field::{Field, Visit};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// Where `ERROR` lines go as events, once set.
static ERRORS_TO: OnceLock<Monitor> = OnceLock::new();

/// From now on every `ERROR` log line is recorded as an `error` event by `monitor`.
pub fn record_errors(monitor: Monitor) {
    let _ = ERRORS_TO.set(monitor);
}

/// Installs the global subscriber.
pub fn init(format: LogFormat, level: &str) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // A closed stderr must never take the server down: write errors are dropped.
    let (json, text) = match format {
        LogFormat::Json => (
            Some(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(true)
                    .with_writer(std::io::stderr)
                    .log_internal_errors(false),
            ),
            None,
        ),
        LogFormat::Text => (
            None,
            Some(
                tracing_subscriber::fmt::layer()
                    .with_target(false)
                    .with_ansi(std::io::stderr().is_terminal())
                    .with_writer(std::io::stderr)
                    .log_internal_errors(false),
            ),
        ),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(json)
        .with(text)
        .with(ErrorsToEvents)
        .try_init();
}

/// Turns `ERROR` lines that are not already events into `error` events.
struct ErrorsToEvents;

impl<S: tracing::Subscriber> Layer<S> for ErrorsToEvents {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if *event.metadata().level() != tracing::Level::ERROR {
            return;
        }
        let Some(monitor) = ERRORS_TO.get() else {
            return;
        };
        let mut fields = Fields::default();
        event.record(&mut fields);
        if fields.is_event {
            return;
        }
        let mut text = fields.message;
        if !fields.rest.is_empty() {
            let _ = write!(text, " ({})", fields.rest.join(", "));
        }
        monitor.event_logged(NewEvent::new(EventKind::Error, text));
    }
}

/// The message and other fields of a log line.
#[derive(Default)]
struct Fields {
    message: String,
    rest: Vec<String>,
    /// It carries an `event_id`: the monitor logged it itself.
    is_event: bool,
}

impl Fields {
    /// Takes one field of the line.
    fn take(&mut self, name: &str, value: String) {
        match name {
            "message" => self.message = value,
            "event_id" => self.is_event = true,
            name => self.rest.push(format!("{name}: {value}")),
        }
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.take(field.name(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.take(field.name(), value.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_of_an_error_line_make_its_text() {
        let mut f = Fields::default();
        f.take("message", "cannot read a queued message".into());
        f.take("error", "disk gone".into());
        assert!(!f.is_event);
        assert_eq!(f.message, "cannot read a queued message");
        assert_eq!(f.rest, vec!["error: disk gone".to_string()]);
        f.take("event_id", "1a2b".into());
        assert!(f.is_event, "a line the monitor logged itself");
    }
}
