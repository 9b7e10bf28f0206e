//! What the `migrate` subcommand prints: short lines for people on stdout,
//! notes and errors on stderr, JSON for machines.
//!
//! Colour is written with `anstyle` styles through `anstream`, which strips
//! it when the stream is not a terminal or `NO_COLOR` is set, and keeps it
//! when `CLICOLOR_FORCE` asks. The progress line's erase-line code is not a
//! colour and is only written to a terminal. Every text that leaves the
//! process goes through [`Output::scrub`], so the password of the database
//! URL cannot be echoed, even by a driver.

use super::errors::code_for;
use anstyle::{AnsiColor, Style};
use cofferdam_core::Error;
use std::io::{IsTerminal, Write};
use std::time::Duration;

/// Applied, stamped, reverted.
pub(super) const GREEN: Style = AnsiColor::Green.on_default();
/// Pending, destructive, removed, warnings.
pub(super) const YELLOW: Style = AnsiColor::Yellow.on_default();
/// Rehearsed, notes.
pub(super) const CYAN: Style = AnsiColor::Cyan.on_default();
/// Failed, unknown, drift, errors.
pub(super) const RED: Style = AnsiColor::Red.on_default().bold();
/// Hints.
const BOLD: Style = Style::new().bold();

/// Printing settings of one command run.
#[derive(Debug, Clone)]
pub(super) struct Output {
    quiet: bool,
    verbose: u8,
    json: bool,
    tty: bool,
    secrets: Vec<String>,
}

impl Output {
    pub(super) fn new(quiet: bool, verbose: u8, json: bool, url: &str) -> Output {
        Output {
            quiet,
            verbose,
            json,
            tty: std::io::stdout().is_terminal(),
            secrets: secrets_of(url),
        }
    }

    pub(super) fn init_tracing(&self) {
        // sqlx reports slow statements at WARN with their full text; inside
        // a migration slow statements are expected, so only -v shows them.
        let levels = match (self.quiet, self.verbose) {
            (true, _) => "cofferdam=error,sqlx=error",
            (_, 0) => "cofferdam=warn,sqlx=error",
            (_, 1) => "cofferdam=info,sqlx=warn",
            _ => "cofferdam=debug,sqlx=info",
        };
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(levels));
        // An application may have set up its own subscriber already; keep it.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(
                anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never,
            )
            .try_init();
    }

    /// Whether stdout is a terminal, so a progress line may be redrawn.
    pub(super) fn tty(&self) -> bool {
        self.tty && !self.quiet && !self.json
    }

    /// Whether `-q` was given.
    pub(super) fn quiet(&self) -> bool {
        self.quiet
    }

    /// Whether the verb prints JSON.
    pub(super) fn is_json(&self) -> bool {
        self.json
    }

    pub(super) fn verbose(&self) -> u8 {
        self.verbose
    }

    /// `text` in `style`; the codes are dropped on the way out when the
    /// stream takes no colour.
    pub(super) fn paint(&self, style: Style, text: &str) -> String {
        paint(style, text)
    }

    /// Removes the database password from `text`.
    pub(super) fn scrub(&self, text: &str) -> String {
        self.secrets
            .iter()
            .fold(text.to_owned(), |text, secret| text.replace(secret, "***"))
    }

    /// A line for people on stdout; nothing with `-q` or `--json`.
    pub(super) fn line(&self, text: &str) {
        if !self.quiet && !self.json {
            let mut stdout = anstream::stdout().lock();
            let _ = writeln!(stdout, "{}", self.scrub(text));
        }
    }

    /// Replaces the progress line (a terminal only); an empty `text` clears it.
    pub(super) fn progress(&self, text: &str) {
        if self.tty() {
            let mut stdout = std::io::stdout().lock();
            let _ = write!(stdout, "\r\x1b[2K{}", self.scrub(text));
            let _ = stdout.flush();
        }
    }

    /// Text for stdout that is the verb's product (SQL, JSON): printed even with `-q`.
    pub(super) fn product(&self, text: &str) {
        let mut stdout = anstream::stdout().lock();
        let _ = writeln!(stdout, "{}", self.scrub(text));
    }

    /// A remark on stderr, so that it never mixes into JSON or SQL on stdout.
    pub(super) fn note(&self, text: &str) {
        if !self.quiet {
            anstream::eprintln!("{} {}", paint(CYAN, "note:"), self.scrub(text));
        }
    }

    /// Something the operator should look at, on stderr.
    pub(super) fn warn(&self, text: &str) {
        if !self.quiet {
            anstream::eprintln!("{} {}", paint(YELLOW, "warning:"), self.scrub(text));
        }
    }

    /// Prints `value` as pretty JSON on stdout.
    pub(super) fn json<T: serde::Serialize>(&self, value: &T) {
        match serde_json::to_string_pretty(value) {
            Ok(text) => self.product(&text),
            Err(error) => anstream::eprintln!("error: could not encode the JSON output: {error}"),
        }
    }

    /// Prints the error as one paragraph (what happened, which revision, what
    /// to do next) and returns its exit code.
    pub(super) fn error(&self, error: &Error) -> u8 {
        let code = code_for(error);
        self.fail_with(
            code,
            &error.headline(),
            error.hint().as_deref(),
            error.revision(),
        )
    }

    /// Prints an error of the command line itself and returns `code`.
    pub(super) fn fail(&self, code: u8, message: &str) -> u8 {
        self.fail_with(code, message, None, None)
    }

    /// Prints one error paragraph on stderr: `error: what happened` and,
    /// when there is one, `hint: what to do next`.
    pub(super) fn paragraph(&self, message: &str, hint: Option<&str>) {
        let mut text = format!("{} {}", paint(RED, "error:"), self.scrub(message));
        if let Some(hint) = hint {
            text.push_str(&format!("\n{} {}", paint(BOLD, "hint:"), self.scrub(hint)));
        }
        anstream::eprintln!("{text}");
    }

    fn fail_with(&self, code: u8, message: &str, hint: Option<&str>, revision: Option<&str>) -> u8 {
        self.paragraph(message, hint);
        let message = self.scrub(message);
        let hint = hint.map(|h| self.scrub(h));
        if self.json {
            self.json(&serde_json::json!({
                "error": {
                    "message": message,
                    "hint": hint,
                    "revision": revision,
                    "exit_code": code,
                }
            }));
        }
        code
    }
}

fn paint(style: Style, text: &str) -> String {
    format!("{style}{text}{style:#}")
}

/// The password of `url` as written and as decoded, and any `password=` query value.
fn secrets_of(url: &str) -> Vec<String> {
    let Ok(parsed) = url::Url::parse(url) else {
        return Vec::new();
    };
    let mut secrets: Vec<String> = Vec::new();
    if let Some(password) = parsed.password() {
        secrets.push(password.to_owned());
        secrets.push(percent_decode(password));
    }
    secrets.extend(
        parsed
            .query_pairs()
            .filter(|(key, _)| key.eq_ignore_ascii_case("password"))
            .map(|(_, value)| value.into_owned()),
    );
    secrets.retain(|s| !s.is_empty());
    // Longest first, so that a secret containing another is replaced whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets.dedup();
    secrets
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A duration the way people read it: `850 ms`, `2.4 s`, `3 min 05 s`.
pub(super) fn human(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis < 10 {
        format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
    } else if millis < 1000 {
        format!("{millis} ms")
    } else if millis < 60_000 {
        format!("{:.1} s", duration.as_secs_f64())
    } else {
        let secs = duration.as_secs();
        format!("{} min {:02} s", secs / 60, secs % 60)
    }
}

/// Milliseconds from the history table, the way people read them.
pub(super) fn human_ms(ms: i64) -> String {
    if ms < 1000 {
        format!("{} ms", ms.max(0))
    } else {
        human(Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
    }
}

/// `1 revision`, `2 revisions`.
pub(super) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_scrubbed_raw_and_decoded() {
        let out = Output::new(false, 0, false, "postgres://app:p%40ss%2Fw0rd@db/app");
        assert_eq!(
            out.scrub("auth failed for p@ss/w0rd"),
            "auth failed for ***"
        );
        assert_eq!(out.scrub("url had p%40ss%2Fw0rd"), "url had ***");
        let out = Output::new(false, 0, false, "mysql://db/app?user=x&password=hunter2");
        assert_eq!(out.scrub("hunter2!"), "***!");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human(Duration::from_micros(420)), "0.4 ms");
        assert_eq!(human(Duration::from_millis(850)), "850 ms");
        assert_eq!(human(Duration::from_millis(2400)), "2.4 s");
        assert_eq!(human(Duration::from_secs(185)), "3 min 05 s");
    }
}
