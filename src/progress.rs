//! The progress bar for long runs (seal, verify, unseal). It is drawn on stderr, only when stderr
//! is a terminal and `--quiet` is off, in plain text under `NO_COLOR`; it never touches stdout,
//! so JSON and SARIF reports are unaffected.
//!
//! Commands never hold a bar. They call [`phase`] when a counted stage begins and [`tick`] once
//! per file. `tick` is one relaxed atomic add (and nothing at all while no bar is shown), so the
//! hot path never locks, formats or writes: a ticker thread copies the count into the bar ten
//! times a second. The bar appears only once a run has lasted [`SHOW_AFTER`], so quick runs
//! leave no trace on the terminal. The state is global because it describes the one process;
//! only [`app`](crate::app) turns it on, so library users and tests never see a bar.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar is drawn only after the run has lasted this long (`MAPVAULT_PROGRESS_DELAY_MS`
/// overrides it; tests set 0 to see the bar of a short run).
pub const SHOW_AFTER: Duration = Duration::from_millis(300);
/// How often the ticker thread refreshes the bar.
const REFRESH: Duration = Duration::from_millis(100);

/// Whether a bar is live (read on every [`tick`]).
static ENABLED: AtomicBool = AtomicBool::new(false);
/// Files done in the current phase.
static COUNT: AtomicU64 = AtomicU64::new(0);
static STATE: Mutex<Option<State>> = Mutex::new(None);

struct State {
    bar: ProgressBar,
    color: bool,
    stop: Arc<AtomicBool>,
    ticker: Option<JoinHandle<()>>,
}

fn state() -> MutexGuard<'static, Option<State>> {
    // A panic while holding the lock leaves a usable bar; never propagate the poison.
    STATE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Whether a run should show a bar: not with `--quiet`, and only on a terminal.
pub fn wanted(quiet: bool, stderr_is_terminal: bool) -> bool {
    !quiet && stderr_is_terminal
}

/// Turns the bar on for the life of the guard (when `show`); dropping it clears the bar, so
/// it is gone before the report is printed.
#[must_use = "the bar is cleared when the guard is dropped"]
pub struct Guard {
    active: bool,
}

/// Start the bar for this process if `wanted(quiet, stderr is a terminal)`; coloured unless
/// `NO_COLOR` says otherwise.
pub fn start(quiet: bool) -> Guard {
    if !wanted(quiet, std::io::stderr().is_terminal()) {
        return Guard { active: false };
    }
    let color = crate::color::allowed_by_env();
    let mut st = state();
    if st.is_some() {
        return Guard { active: false };
    }
    let delay = std::env::var("MAPVAULT_PROGRESS_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(SHOW_AFTER, Duration::from_millis);
    let target = if delay.is_zero() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(None, target);
    bar.set_style(spinner_style(color));
    let stop = Arc::new(AtomicBool::new(false));
    let ticker = {
        let bar = bar.clone();
        let stop = Arc::clone(&stop);
        std::thread::Builder::new()
            .name("mapvault-progress".into())
            .spawn(move || ticker(&bar, &stop, delay))
            .ok()
    };
    if ticker.is_none() {
        return Guard { active: false };
    }
    COUNT.store(0, Ordering::Relaxed);
    ENABLED.store(true, Ordering::Relaxed);
    *st = Some(State {
        bar,
        color,
        stop,
        ticker,
    });
    Guard { active: true }
}

fn ticker(bar: &ProgressBar, stop: &AtomicBool, delay: Duration) {
    let started = Instant::now();
    let mut shown = delay.is_zero();
    while !stop.load(Ordering::Relaxed) {
        std::thread::park_timeout(REFRESH);
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if !shown && started.elapsed() >= delay {
            bar.set_draw_target(ProgressDrawTarget::stderr());
            shown = true;
        }
        bar.set_position(COUNT.load(Ordering::Relaxed));
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.active {
            finish();
        }
    }
}

/// Clear the bar and stop its thread (also done by dropping the [`Guard`]).
pub fn finish() {
    ENABLED.store(false, Ordering::Relaxed);
    let taken = state().take();
    if let Some(mut s) = taken {
        s.stop.store(true, Ordering::Relaxed);
        if let Some(t) = s.ticker.take() {
            t.thread().unpark();
            let _ = t.join();
        }
        s.bar.finish_and_clear();
    }
}

/// A new stage of `total` files (0: not counted, a spinner) labelled `label` (e.g.
/// `"scanning"`). Resets the count.
pub fn phase(label: &'static str, total: u64) {
    if !ENABLED.load(Ordering::Relaxed) {
        return;
    }
    let st = state();
    let Some(s) = st.as_ref() else { return };
    COUNT.store(0, Ordering::Relaxed);
    if total == 0 {
        s.bar.set_style(spinner_style(s.color));
        s.bar.unset_length();
    } else {
        s.bar.set_style(bar_style(s.color));
        s.bar.set_length(total);
    }
    s.bar.set_position(0);
    s.bar.set_message(label);
}

/// One more file done in the current phase. Cheap enough for every file of a parallel loop.
#[inline]
pub fn tick() {
    if ENABLED.load(Ordering::Relaxed) {
        COUNT.fetch_add(1, Ordering::Relaxed);
    }
}

/// `n` more files found and done inside one being scanned (an archive's members): the bar's
/// total and count both grow, so it ends at the count the summary reports.
pub fn found_and_done(n: u64) {
    if n == 0 || !ENABLED.load(Ordering::Relaxed) {
        return;
    }
    if let Some(s) = state().as_ref()
        && s.bar.length().is_some()
    {
        s.bar.inc_length(n);
    }
    COUNT.fetch_add(n, Ordering::Relaxed);
}

/// [`tick`], then hand `done` back: for `map(|f| progress::counted(work(f)))`.
#[inline]
pub fn counted<T>(done: T) -> T {
    tick();
    done
}

/// Run `f` (which writes to stderr) with the bar out of the way, so lines never mix.
pub fn suspend<R>(f: impl FnOnce() -> R) -> R {
    let bar = state().as_ref().map(|s| s.bar.clone());
    match bar {
        Some(b) => b.suspend(f),
        None => f(),
    }
}

const BAR_COLOR: &str =
    "{spinner:.green} {msg:>9} [{bar:30.cyan/blue}] {pos}/{len} files  {elapsed}";
const BAR_PLAIN: &str = "{spinner} {msg:>9} [{bar:30}] {pos}/{len} files  {elapsed}";
const SPINNER_COLOR: &str = "{spinner:.green} {msg:>9}  {elapsed}";
const SPINNER_PLAIN: &str = "{spinner} {msg:>9}  {elapsed}";

fn bar_style(color: bool) -> ProgressStyle {
    ProgressStyle::with_template(if color { BAR_COLOR } else { BAR_PLAIN })
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

fn spinner_style(color: bool) -> ProgressStyle {
    ProgressStyle::with_template(if color { SPINNER_COLOR } else { SPINNER_PLAIN })
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_on_a_terminal_and_never_quiet() {
        assert!(wanted(false, true));
        assert!(!wanted(true, true));
        assert!(!wanted(false, false));
        assert!(!wanted(true, false));
    }

    #[test]
    fn templates_parse_and_plain_ones_have_no_colour() {
        for t in [BAR_COLOR, BAR_PLAIN, SPINNER_COLOR, SPINNER_PLAIN] {
            assert!(ProgressStyle::with_template(t).is_ok(), "{t}");
        }
        for t in [BAR_PLAIN, SPINNER_PLAIN] {
            assert!(!t.contains('.'), "colour styles are written `:.name`: {t}");
        }
    }

    #[test]
    fn ticks_without_a_bar_do_nothing() {
        // No `start` in unit tests: the counter must stay untouched by library use.
        let before = COUNT.load(Ordering::Relaxed);
        phase("scanning", 10);
        tick();
        assert_eq!(COUNT.load(Ordering::Relaxed), before);
    }
}
