//! The one memory budget for expanded bytes: decompressed copies (`x.js.gz`, `x.map.zst`),
//! archive members and nested archives, all threads together. Whoever materializes such bytes
//! holds a [`Reservation`] for as long as it holds the bytes ([`Held`] pairs the two); when a
//! file would need more than its share the caller gets [`Exceeded`] and reports the file as an
//! error (exit 2): an incomplete scan is never clean.
//!
//! # Why a lane
//!
//! A plain shared counter that refuses whatever does not fit would make verdicts depend on
//! timing: four 200 MB `.map.gz` files scanned with `--jobs 4` would each fit alone, and which
//! of them failed would depend on which thread got there first. Waiting instead of failing
//! deadlocks when two threads each hold half the budget and wait for more. So the budget is
//! split in two:
//!
//! - a **shared pool** of [`shared_part`] bytes (1/4 of the budget, at most 64 MiB), which any
//!   thread draws from without waiting while it fits — the common case, small precompressed
//!   bundles scanned in parallel;
//! - an exclusive **lane** of the rest. A thread whose bytes no longer fit in the shared pool
//!   waits until the lane is free, then moves everything it holds into the lane and may grow to
//!   [`Budget::per_file`] bytes. The lane holder never waits for anything, so the threads
//!   waiting for it (which hold at most the shared pool between them) always get it in turn.
//!
//! Together they never exceed the budget, and a file fails exactly when the bytes its thread
//! holds would pass [`Budget::per_file`] — whatever the number of threads or their timing.
//! Accounting is per thread (a file's scan runs on one thread, nested archives included), so a
//! member inside an archive inside an archive is charged to the same file.
//!
//! # The default: 384 MiB
//!
//! Issue 15 sets the goal that no hostile input takes mapvault past 512 MB of resident memory.
//! Expanded bytes are the part of that an attacker controls cheaply (33 KB of zstd inflate to
//! 1 GiB), so they get 384 MiB (403 MB), leaving the rest for the process itself and the
//! scanner's own work. One file may then expand to 320 MiB: several times the largest real
//! bundle or source map we have seen precompressed, and far more than any npm package member
//! that has to be read whole (binaries, images and fonts are only sniffed, not held). Raise it
//! with `--max-expanded SIZE` or `MAPVAULT_MAX_EXPANDED=SIZE` (`1GiB`, `2GB`, `800MiB`).
//!
//! Capacity is charged, not length: a `Vec` that doubled holds its capacity in memory.

use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::ThreadId;

/// The budget when neither `--max-expanded` nor `MAPVAULT_MAX_EXPANDED` says otherwise.
pub const DEFAULT_LIMIT: u64 = 384 << 20;

/// The environment variable `--max-expanded` falls back to.
pub const ENV: &str = "MAPVAULT_MAX_EXPANDED";

/// The smallest budget accepted: below it nothing real could be scanned.
pub const MIN_LIMIT: u64 = 1 << 20;

/// How much of a `limit` is the shared pool; the rest is the lane.
pub fn shared_part(limit: u64) -> u64 {
    (limit / 4).min(64 << 20)
}

/// The process-wide budget every [`Reservation::new`] draws from.
pub static GLOBAL: Budget = Budget::new(DEFAULT_LIMIT);

/// Set the process-wide budget (at startup, before any work).
pub fn set_limit(limit: u64) {
    GLOBAL.set_limit(limit);
}

/// A file's thread would hold more than one file may.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "expanding it needs more than {per_file}, what one file may use of the {limit} memory budget for expanded bytes (raise it with --max-expanded or {ENV})",
    per_file = human(*.per_file),
    limit = human(*.limit)
)]
pub struct Exceeded {
    pub per_file: u64,
    pub limit: u64,
}

/// `384 MiB`, `1.5 GiB`.
pub fn human(bytes: u64) -> String {
    bytesize::ByteSize(bytes).display().iec().to_string()
}

/// Parse a budget: `384MiB`, `1GiB`, `2GB`, `536870912`.
pub fn parse_limit(s: &str) -> Result<u64, String> {
    let n = s
        .trim()
        .parse::<bytesize::ByteSize>()
        .map_err(|e| format!("not a size ({e}); write it like 384MiB, 1GiB or 2GB"))?
        .as_u64();
    if n < MIN_LIMIT {
        return Err(format!("must be at least {}", human(MIN_LIMIT)));
    }
    Ok(n)
}

#[derive(Debug)]
struct State {
    /// Bytes charged to threads outside the lane.
    shared: u64,
    /// The thread in the lane, if any, and everything it holds.
    lane: Option<ThreadId>,
    lane_bytes: u64,
    /// What each thread holds now (only threads holding something).
    held: Vec<(ThreadId, u64)>,
}

impl State {
    fn held_by(&self, t: ThreadId) -> u64 {
        self.held
            .iter()
            .find(|(id, _)| *id == t)
            .map_or(0, |(_, n)| *n)
    }

    fn set_held(&mut self, t: ThreadId, n: u64) {
        match self.held.iter().position(|(id, _)| *id == t) {
            Some(i) if n == 0 => {
                self.held.swap_remove(i);
            }
            Some(i) => self.held[i].1 = n,
            None if n == 0 => {}
            None => self.held.push((t, n)),
        }
    }
}

/// A memory budget: a shared pool and a lane (see the module docs).
#[derive(Debug)]
pub struct Budget {
    limit: AtomicU64,
    state: Mutex<State>,
    lane_free: Condvar,
    /// The most ever held at once, for tests and benchmarks.
    peak: AtomicU64,
}

impl Budget {
    pub const fn new(limit: u64) -> Budget {
        Budget {
            limit: AtomicU64::new(limit),
            state: Mutex::new(State {
                shared: 0,
                lane: None,
                lane_bytes: 0,
                held: Vec::new(),
            }),
            lane_free: Condvar::new(),
            peak: AtomicU64::new(0),
        }
    }

    pub fn set_limit(&self, limit: u64) {
        self.limit.store(limit.max(MIN_LIMIT), Ordering::Relaxed);
    }

    pub fn limit(&self) -> u64 {
        self.limit.load(Ordering::Relaxed)
    }

    /// The most one file (one thread) may hold: the budget less the shared pool.
    pub fn per_file(&self) -> u64 {
        let l = self.limit();
        l - shared_part(l)
    }

    /// Bytes held now, by all threads.
    pub fn in_use(&self) -> u64 {
        let s = self.lock();
        s.shared + s.lane_bytes
    }

    /// The most ever held at once.
    pub fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent numbers (every update is a few
        // additions done together), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Charge `n` more bytes to thread `t`, waiting for the lane when the shared pool is full.
    fn charge(&self, t: ThreadId, n: u64) -> Result<(), Exceeded> {
        let limit = self.limit();
        let per_file = limit - shared_part(limit);
        let mut s = self.lock();
        let mine = s.held_by(t);
        let want = mine.saturating_add(n);
        if want > per_file {
            return Err(Exceeded { per_file, limit });
        }
        if s.lane == Some(t) {
            s.lane_bytes += n;
        } else if s.shared + n <= shared_part(limit) {
            s.shared += n;
        } else {
            while s.lane.is_some() {
                s = self.lane_free.wait(s).unwrap_or_else(|p| p.into_inner());
            }
            // Move what this thread holds out of the shared pool into the lane.
            s.lane = Some(t);
            s.shared -= mine;
            s.lane_bytes = want;
        }
        s.set_held(t, want);
        self.peak
            .fetch_max(s.shared + s.lane_bytes, Ordering::Relaxed);
        Ok(())
    }

    fn release(&self, t: ThreadId, n: u64) {
        if n == 0 {
            return;
        }
        let mut s = self.lock();
        let left = s.held_by(t).saturating_sub(n);
        s.set_held(t, left);
        if s.lane == Some(t) {
            s.lane_bytes = s.lane_bytes.saturating_sub(n);
            if left == 0 {
                s.lane = None;
                s.lane_bytes = 0;
                drop(s);
                self.lane_free.notify_all();
            }
        } else {
            s.shared = s.shared.saturating_sub(n);
        }
    }
}

/// Bytes charged to a [`Budget`] until dropped. Made on the thread that will hold the bytes;
/// may be dropped on any thread.
#[derive(Debug)]
pub struct Reservation {
    budget: &'static Budget,
    thread: ThreadId,
    bytes: u64,
}

impl Reservation {
    /// An empty reservation on the process budget, for the current thread.
    pub fn new() -> Reservation {
        Reservation::on(&GLOBAL)
    }

    pub fn on(budget: &'static Budget) -> Reservation {
        Reservation {
            budget,
            thread: std::thread::current().id(),
            bytes: 0,
        }
    }

    /// Charge `n` more bytes. Waits while another thread holds the lane; fails only when this
    /// thread would hold more than one file may.
    pub fn grow(&mut self, n: u64) -> Result<(), Exceeded> {
        self.budget.charge(self.thread, n)?;
        self.bytes += n;
        Ok(())
    }

    /// Give back all but `n` bytes (after shrinking the buffer they stand for).
    pub fn shrink_to(&mut self, n: u64) {
        if n < self.bytes {
            self.budget.release(self.thread, self.bytes - n);
            self.bytes = n;
        }
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl Default for Reservation {
    fn default() -> Self {
        Reservation::new()
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.release(self.thread, self.bytes);
    }
}

/// Expanded bytes and the reservation that pays for them.
#[derive(Debug, Default)]
pub struct Held {
    pub bytes: Vec<u8>,
    pub hold: Reservation,
}

/// Why [`read_to_end`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Budget(#[from] Exceeded),
    /// More than the caller's own cap came out.
    #[error("more than {0} bytes")]
    TooLarge(u64),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// The step a buffer grows by once doubling would be wasteful.
const MAX_STEP: usize = 64 << 20;

/// Read everything from `r` into memory charged to the process budget, failing once more than
/// `cap` bytes come out or once the budget says no. The buffer doubles up to 64 MiB steps, and
/// near the limit grows by exactly what was read, so whether a file fits does not depend on
/// how its buffer happened to grow.
pub fn read_to_end(r: impl Read, cap: u64) -> Result<Held, ReadError> {
    read_to_end_on(&GLOBAL, r, cap)
}

pub fn read_to_end_on(
    budget: &'static Budget,
    mut r: impl Read,
    cap: u64,
) -> Result<Held, ReadError> {
    let mut held = Held {
        bytes: Vec::new(),
        hold: Reservation::on(budget),
    };
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let k = match r.read(&mut chunk) {
            Ok(0) => break,
            Ok(k) => k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        let need = held.bytes.len() + k;
        if need as u64 > cap {
            return Err(ReadError::TooLarge(cap));
        }
        if need > held.bytes.capacity() {
            let cur = held.bytes.capacity();
            let roomy = (cur.saturating_mul(2))
                .min(cur.saturating_add(MAX_STEP))
                .max(need)
                .max(64 * 1024)
                .min(usize::try_from(cap).unwrap_or(usize::MAX));
            // Try the roomy size first; if that is refused, exactly what is needed.
            let target = if held.hold.grow((roomy - cur) as u64).is_ok() {
                roomy
            } else {
                held.hold.grow((need.max(cur) - cur) as u64)?;
                need
            };
            held.bytes
                .try_reserve_exact(target - held.bytes.len())
                .map_err(|e| io::Error::new(io::ErrorKind::OutOfMemory, e.to_string()))?;
            // The allocator may round up; charge what was really given.
            let real = held.bytes.capacity() as u64;
            if real > held.hold.bytes() {
                held.hold.grow(real - held.hold.bytes())?;
            }
        }
        held.bytes.extend_from_slice(&chunk[..k]);
    }
    Ok(held)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    fn leaked(limit: u64) -> &'static Budget {
        Box::leak(Box::new(Budget::new(limit)))
    }

    #[test]
    fn split_and_parse() {
        assert_eq!(shared_part(DEFAULT_LIMIT), 64 << 20);
        assert_eq!(GLOBAL.per_file(), 320 << 20);
        assert_eq!(shared_part(8 << 20), 2 << 20);
        assert_eq!(parse_limit("384MiB"), Ok(384 << 20));
        assert_eq!(parse_limit("1 GiB"), Ok(1 << 30));
        assert_eq!(parse_limit("2GB"), Ok(2_000_000_000));
        assert_eq!(parse_limit("1048576"), Ok(1 << 20));
        assert!(parse_limit("12").is_err());
        assert!(parse_limit("lots").is_err());
        assert_eq!(human(384 << 20), "384.0 MiB");
    }

    #[test]
    fn a_reservation_gives_back_what_it_took() {
        let b = leaked(8 << 20);
        {
            let mut r = Reservation::on(b);
            r.grow(1 << 20).expect("fits");
            r.grow(3 << 20).expect("fits");
            assert_eq!(b.in_use(), 4 << 20);
            r.shrink_to(1 << 20);
            assert_eq!(b.in_use(), 1 << 20);
        }
        assert_eq!(b.in_use(), 0);
        assert_eq!(b.peak(), 4 << 20);
    }

    #[test]
    fn one_thread_may_hold_the_budget_less_the_shared_pool() {
        let b = leaked(8 << 20);
        let mut a = Reservation::on(b);
        let mut c = Reservation::on(b);
        a.grow(5 << 20).expect("fits");
        // Reservations of one thread add up: that is one file's scan.
        assert_eq!(
            c.grow(2 << 20),
            Err(Exceeded {
                per_file: 6 << 20,
                limit: 8 << 20
            })
        );
        c.grow(1 << 20).expect("fits");
        assert!(c.grow(1).is_err());
        drop(a);
        c.grow(5 << 20).expect("fits");
    }

    #[test]
    fn read_to_end_charges_capacity_and_fails_at_the_same_length_every_time() {
        let b = leaked(4 << 20);
        let per_file = b.per_file() as usize;
        let ok = read_to_end_on(b, io::repeat(7).take(per_file as u64), u64::MAX).expect("fits");
        assert_eq!(ok.bytes.len(), per_file);
        assert!(ok.hold.bytes() >= ok.bytes.capacity() as u64);
        assert!(ok.hold.bytes() <= b.per_file());
        drop(ok);
        assert_eq!(b.in_use(), 0);
        let over = read_to_end_on(b, io::repeat(7).take(per_file as u64 + 1), u64::MAX);
        assert!(matches!(over, Err(ReadError::Budget(_))), "{over:?}");
        assert_eq!(b.in_use(), 0);
        let capped = read_to_end_on(b, io::repeat(7).take(1000), 999);
        assert!(matches!(capped, Err(ReadError::TooLarge(999))));
    }

    /// Eight threads each needing most of a file's share: they take turns in the lane, none
    /// fails, and together they never pass the budget.
    #[test]
    fn threads_take_turns_and_never_pass_the_budget() {
        let b = leaked(8 << 20);
        let done = Arc::new(AtomicUsize::new(0));
        std::thread::scope(|s| {
            for i in 0..8u64 {
                let done = done.clone();
                s.spawn(move || {
                    let mut r = Reservation::on(b);
                    for _ in 0..(4 + i % 3) {
                        r.grow(1 << 20).expect("fits");
                        assert!(b.in_use() <= b.limit());
                        std::thread::yield_now();
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                });
            }
        });
        assert_eq!(done.load(Ordering::Relaxed), 8);
        assert_eq!(b.in_use(), 0);
        assert!(b.peak() <= 8 << 20, "peak {}", b.peak());
        assert!(b.peak() >= 4 << 20);
    }
}
