//! What a long `up` or `down` needs: a progress line on a terminal, and a
//! clean stop on SIGINT or SIGTERM.
//!
//! The signal handlers exist only while `up` or `down` runs. The first signal
//! cancels the migrator's stop token: the running revision finishes or rolls
//! back, and no later one starts. If no revision is running at that moment
//! (connecting, waiting for another run's lock), the run is dropped at once:
//! nothing has started, and the server frees the connection and the lock. A
//! second signal exits immediately, for an operator who cannot wait.
//!
//! While the run lasts, a panic (in a migration: the runtime catches it and
//! reports it as the revision's error) prints one line with its location
//! instead of the default report.

use super::output::GREEN;
use super::output::{Output, human};
use cofferdam_core::{Event, Report};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How the revisions of this run are described.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// `up`.
    Apply,
    /// `up --dry-run`: the summary prints the revisions with their statements.
    Rehearse,
    /// `down`.
    Revert,
}

impl Mode {
    fn running(self) -> &'static str {
        match self {
            Mode::Apply => "applying",
            Mode::Rehearse => "rehearsing",
            Mode::Revert => "reverting",
        }
    }
}

#[derive(Debug, Default)]
struct State {
    /// The revision in progress and when it started.
    running: Option<(String, Instant)>,
    /// Revisions finished in this run.
    done: Vec<String>,
    /// A progress line is on screen and must be cleared before the next line.
    drawn: bool,
    /// The signal received, if any.
    signal: Option<&'static str>,
    /// When a backfill's progress was last printed as a line (not on a
    /// terminal, where the progress line is redrawn instead).
    backfill_line: Option<Instant>,
}

/// How often a backfill's progress is printed when the output is not a terminal.
const BACKFILL_LINE_EVERY: Duration = Duration::from_secs(10);

/// The progress display and signal handling of one run.
pub(super) struct Run {
    out: Output,
    mode: Mode,
    state: Arc<Mutex<State>>,
    token: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    panic_hook: Option<PanicHook>,
}

type PanicHook = Box<dyn Fn(&std::panic::PanicHookInfo<'_>) + Sync + Send + 'static>;

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Run")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl Run {
    /// Installs the signal handlers and, on a terminal, the progress ticker.
    pub(super) fn start(out: &Output, mode: Mode) -> Run {
        let state = Arc::new(Mutex::new(State::default()));
        let token = CancellationToken::new();
        let mut tasks = vec![tokio::spawn(watch_signals(
            out.clone(),
            Arc::clone(&state),
            token.clone(),
        ))];
        if out.tty() {
            tasks.push(tokio::spawn(tick(out.clone(), mode, Arc::clone(&state))));
        }
        // The runtime turns a panicking migration into an error that names
        // the revision; the default hook would add a backtrace-sized report
        // before it. One line with the location is what the operator needs.
        let panic_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|info| {
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let location = info
                .location()
                .map(|l| format!(" at {}:{}", l.file(), l.line()))
                .unwrap_or_default();
            eprintln!("panic{location}: {message}");
        }));
        Run {
            out: out.clone(),
            mode,
            state,
            token,
            tasks,
            panic_hook: Some(panic_hook),
        }
    }

    /// The token to give [`cofferdam_core::Migrator::stop_on`].
    pub(super) fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// The observer to give [`cofferdam_core::Migrator::on_event`].
    pub(super) fn observer(&self) -> impl Fn(&Event) + Send + Sync + 'static {
        let out = self.out.clone();
        let state = Arc::clone(&self.state);
        let mode = self.mode;
        move |event| {
            let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
            match event {
                Event::Starting { revision, .. } => {
                    state.running = Some((revision.clone(), Instant::now()));
                    if out.tty() {
                        out.progress(&format!("  {} {revision} …", mode.running()));
                        state.drawn = true;
                    } else if out.verbose() > 0 {
                        out.line(&format!("  {} {revision} …", mode.running()));
                    }
                }
                Event::Finished {
                    revision, duration, ..
                } => {
                    state.running = None;
                    state.done.push(revision.clone());
                    if std::mem::take(&mut state.drawn) {
                        out.progress("");
                    }
                    let word = match mode {
                        Mode::Apply => "applied ",
                        Mode::Revert => "reverted",
                        // Printed with its statements once the run is over.
                        Mode::Rehearse => return,
                    };
                    out.line(&format!(
                        "  {} {revision} ({})",
                        out.paint(GREEN, word),
                        human(*duration)
                    ));
                }
                Event::Waiting { table, holder } => {
                    if std::mem::take(&mut state.drawn) {
                        out.progress("");
                    }
                    let who = holder
                        .as_deref()
                        .map(|holder| format!(" ({holder})"))
                        .unwrap_or_default();
                    out.note(&format!(
                        "waiting for the migration lock on `{table}`: another run holds it{who}; \
                         `migrate status` shows what it is applying"
                    ));
                }
                Event::Retrying {
                    revision,
                    attempt,
                    retries,
                    pause,
                    error,
                } => {
                    if std::mem::take(&mut state.drawn) {
                        out.progress("");
                    }
                    out.note(&format!(
                        "`{revision}`: a statement gave up waiting for a lock ({error}); retry {attempt} of {retries} in {}",
                        human(*pause)
                    ));
                }
                Event::Backfill(progress) => {
                    let left = progress
                        .estimated_left
                        .map(|left| format!(", about {} left", human(left)))
                        .unwrap_or_default();
                    let text = format!(
                        "  backfill of `{}` in {}: {} rows, {:.0} rows/s{left}{}",
                        progress.table,
                        progress.revision,
                        progress.rows,
                        progress.rows_per_second,
                        if progress.finished { ", done" } else { "" }
                    );
                    if out.tty() {
                        out.progress(&text);
                        state.drawn = true;
                    } else if progress.finished
                        || state
                            .backfill_line
                            .is_none_or(|at| at.elapsed() >= BACKFILL_LINE_EVERY)
                    {
                        state.backfill_line = Some(Instant::now());
                        out.line(&text);
                    }
                }
                Event::ReplicaLag {
                    revision,
                    table,
                    lag,
                    max,
                } => {
                    if std::mem::take(&mut state.drawn) {
                        out.progress("");
                    }
                    let behind = match lag {
                        Some(lag) => format!("a replica is {} behind", human(*lag)),
                        None => "a replica's replication is stopped".to_owned(),
                    };
                    out.note(&format!(
                        "`{revision}`: the backfill of `{table}` waits: {behind} (at most {} allowed)",
                        human(*max)
                    ));
                }
                // Events added later are not shown by this version.
                _ => {}
            }
        }
    }

    /// Resolves once a signal arrived before any revision started (while
    /// the run waits for the lock, say): the run can then be dropped without
    /// leaving anything half done.
    pub(super) async fn idle_abort(&self) {
        self.token.cancelled().await;
        loop {
            let not_started = {
                let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
                state.running.is_none() && state.done.is_empty()
            };
            if not_started {
                return;
            }
            // Once a revision has started, the runtime stops on its own
            // before the next one and says where it stopped; dropping it
            // here would race that (and, on a loaded machine, win it).
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs `work` (an `up` or `down` of `verb`) until it ends, or until a
    /// signal comes while no revision is running, then stops the handlers.
    /// On failure or interruption the error is printed and its exit code
    /// returned.
    pub(super) async fn drive(
        self,
        verb: &str,
        work: impl Future<Output = cofferdam_core::Result<Report>>,
    ) -> Result<Report, u8> {
        let result = tokio::select! {
            result = work => Some(result),
            () = self.idle_abort() => None,
        };
        let out = self.out.clone();
        let (signal, done) = self.finish();
        match result {
            Some(Ok(report)) => Ok(report),
            Some(Err(error)) => Err(out.error(&error)),
            None => Err(interrupted(&out, signal, &done, verb)),
        }
    }

    /// Stops the handlers and the ticker; returns the signal received and
    /// the revisions finished in this run.
    pub(super) fn finish(mut self) -> (Option<&'static str>, Vec<String>) {
        if let Some(hook) = self.panic_hook.take() {
            std::panic::set_hook(hook);
        }
        for task in &self.tasks {
            task.abort();
        }
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if std::mem::take(&mut state.drawn) {
            self.out.progress("");
        }
        (state.signal, std::mem::take(&mut state.done))
    }
}

/// Redraws the progress line with the elapsed time, once a second.
async fn tick(out: Output, mode: Mode, state: Arc<Mutex<State>>) {
    let mut interval = tokio::time::interval(Duration::from_secs(1));
    loop {
        interval.tick().await;
        let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((revision, started)) = &state.running {
            let elapsed = started.elapsed();
            if elapsed >= Duration::from_secs(1) {
                let stopping = if state.signal.is_some() {
                    " (stopping after it)"
                } else {
                    ""
                };
                out.progress(&format!(
                    "  {} {revision} … {}s{stopping}",
                    mode.running(),
                    elapsed.as_secs()
                ));
                state.drawn = true;
            }
        }
    }
}

async fn watch_signals(out: Output, state: Arc<Mutex<State>>, token: CancellationToken) {
    #[cfg(unix)]
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => Some(term),
        Err(error) => {
            tracing::debug!(%error, "cannot watch SIGTERM");
            None
        }
    };
    loop {
        #[cfg(unix)]
        let name = tokio::select! {
            result = tokio::signal::ctrl_c() => match result {
                Ok(()) => "SIGINT",
                Err(_) => std::future::pending::<&'static str>().await,
            },
            Some(()) = async { match term.as_mut() { Some(t) => t.recv().await, None => None } } => "SIGTERM",
        };
        #[cfg(not(unix))]
        let name = match tokio::signal::ctrl_c().await {
            Ok(()) => "Ctrl-C",
            Err(_) => std::future::pending::<&'static str>().await,
        };
        let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
        if std::mem::take(&mut state.drawn) {
            out.progress("");
        }
        if state.signal.is_some() {
            eprintln!(
                "received {name} again: exiting now. PostgreSQL and SQLite roll back an unfinished revision when the \
                 connection drops; on MySQL, or for a revision with transaction = false, it stays recorded as \
                 `started`: see `migrate status`"
            );
            std::process::exit(i32::from(super::exit::INTERRUPTED));
        }
        state.signal = Some(name);
        match &state.running {
            Some((revision, _)) => out.warn(&format!(
                "received {name}: `{revision}` is finishing (or rolling back); no later revision will start. \
                 Send {name} again to exit at once"
            )),
            None => out.warn(&format!("received {name}: stopping before the next revision")),
        }
        token.cancel();
    }
}

/// The run was dropped at a signal while no revision was running.
fn interrupted(out: &Output, signal: Option<&str>, done: &[String], verb: &str) -> u8 {
    let signal = signal.unwrap_or("a signal");
    let message = if done.is_empty() {
        format!(
            "interrupted by {signal} before any revision started; nothing was changed; run `migrate {verb}` again when ready"
        )
    } else {
        format!(
            "interrupted by {signal} between revisions; finished in this run: {}; run `migrate {verb}` again to continue",
            done.join(", ")
        )
    };
    out.fail(super::exit::INTERRUPTED, &message)
}
