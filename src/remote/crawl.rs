//! Scheduling the requests of `verify https://…`: a queue of URLs, `--jobs` worker threads, and
//! the limits that keep a run bounded whatever the server does.
//!
//! - **Each URL once.** A URL (fragment removed) is fetched once however many documents name
//!   it. How it is reported (`found_by`, `linked_from`) is the smallest of all the ways it was
//!   found, so the report does not depend on which thread got there first.
//! - **Same origin.** Only the arguments' origins and `--allow-origin` ones are fetched; other
//!   URLs are counted per origin and noted. A redirect is followed (at most
//!   [`super::MAX_REDIRECTS`] hops, each one a request) only within those origins; an argument
//!   may also redirect to another scheme or port of its own host (`http://` → `https://`),
//!   whose origin then joins the allowed ones.
//! - **Budgets.** Every request (redirect hops too) takes one of `--max-requests`; none starts
//!   after `--time-limit`, and each one's timeout is cut to what is left of it. URLs that could
//!   not be fetched within the limits make the run incomplete: one error per limit, so exit 2.
//! - **Memory.** A body is read up to `--max-body` (a probe up to [`super::probes::PROBE_CAP`]),
//!   after decoding; at most `--jobs` bodies are held at once.
//!
//! Workers take a URL from the queue, fetch it (following redirects), hand the response to
//! [`examine`] and merge what comes back under the lock; the last worker to find the queue
//! empty with nothing in flight ends the run.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use url::{Origin, Url};

use super::client::{Client, FetchError};
use super::examine::{self, Examined, Request, Role};
use super::{HttpFinding, MAX_REDIRECTS, RemoteOptions, Via, probes};
use crate::findings::{ErrorKind, ErrorRecord, LeakRecord, NoteRecord};
use crate::verify::VerifyReport;

/// One URL to fetch.
#[derive(Debug, Clone)]
struct Job {
    req: Request,
    /// The URL whose content or headers named this one.
    from: Option<Url>,
    /// The argument this URL descends from (reported as `root` when there are several).
    root: Arc<str>,
}

/// Which limit stopped a URL from being fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Limit {
    Requests,
    Time,
}

/// How a URL was found, for reporting: the smallest of all ways wins.
type Discovery = (Via, Option<String>);

#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    in_flight: usize,
    /// Every URL ever queued (or reached by a redirect) → the best way it was found.
    seen: HashMap<String, Discovery>,
    allowed: Vec<Origin>,
    requests_left: u64,
    requests_sent: u64,
    /// URLs not fetched because of a limit, per limit: (count, first URL, its root).
    unfetched: BTreeMap<Limit, (u64, String, Arc<str>)>,
    /// URLs on origins not allowed: origin → (count, first URL, its root).
    elsewhere: BTreeMap<String, (u64, String, Arc<str>)>,
    report: VerifyReport,
    /// Index in `report.leaks` → whether it came from a probe, for the final `found_by` fix-up.
    leak_is_probe: Vec<bool>,
}

struct Shared<'a> {
    opts: &'a RemoteOptions,
    client: Client,
    deadline: Instant,
    several: bool,
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared<'_> {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A worker that panicked leaves consistent data behind (every update is one step).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Take one request from the budget; the timeout it may use.
    fn take_request(&self) -> Result<Duration, Limit> {
        let now = Instant::now();
        if now >= self.deadline {
            return Err(Limit::Time);
        }
        let mut st = self.lock();
        if st.requests_left == 0 {
            return Err(Limit::Requests);
        }
        st.requests_left -= 1;
        st.requests_sent += 1;
        crate::progress::tick();
        Ok(self.opts.timeout.min(self.deadline - now))
    }

    fn allowed(&self, u: &Url) -> bool {
        let o = u.origin();
        self.lock().allowed.contains(&o)
    }
}

/// What fetching one job came to.
enum Fetched {
    /// A response, at `at` (the URL after any redirects).
    Done {
        at: Url,
        status: u16,
        examined: Examined,
    },
    Skipped(Limit),
    Failed(String),
    /// A redirect to an origin that may not be fetched.
    Away(Url),
}

/// Run the crawl for every URL in `opts`.
pub fn run(opts: &RemoteOptions, several: bool) -> VerifyReport {
    let mut allowed: Vec<Origin> = opts.urls.iter().map(Url::origin).collect();
    allowed.extend(opts.allow_origins.iter().cloned());
    let mut st = State {
        allowed,
        requests_left: opts.max_requests,
        ..State::default()
    };
    for u in &opts.urls {
        let key = u.as_str().to_owned();
        if st.seen.contains_key(&key) {
            continue;
        }
        st.seen.insert(key, (Via::Argument, None));
        st.queue.push_back(Job {
            req: Request {
                url: u.clone(),
                role: Role::Entry,
                via: Via::Argument,
                page: u.clone(),
            },
            from: None,
            root: Arc::from(u.as_str()),
        });
    }
    let shared = Shared {
        opts,
        client: Client::new(opts),
        deadline: Instant::now() + opts.time_limit,
        several,
        state: Mutex::new(st),
        wake: Condvar::new(),
    };
    crate::progress::phase("fetching", 0);
    std::thread::scope(|s| {
        let started = (0..opts.jobs.max(1))
            .filter(|i| {
                let shared = &shared;
                std::thread::Builder::new()
                    .name(format!("mapvault-http-{i}"))
                    .stack_size(crate::parallel::WORKER_STACK)
                    .spawn_scoped(s, move || {
                        crate::scan::js::set_thread_stack_size(crate::parallel::WORKER_STACK);
                        worker(shared);
                    })
                    .is_ok()
            })
            .count();
        // No thread could start: crawl on this one (its stack is the main thread's).
        if started == 0 {
            worker(&shared);
        }
    });
    finish(
        shared
            .state
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner),
    )
}

fn worker(shared: &Shared<'_>) {
    loop {
        let job = {
            let mut st = shared.lock();
            loop {
                if let Some(j) = st.queue.pop_front() {
                    st.in_flight += 1;
                    break Some(j);
                }
                if st.in_flight == 0 {
                    break None;
                }
                st = shared.wake.wait(st).unwrap_or_else(PoisonError::into_inner);
            }
        };
        let Some(job) = job else {
            shared.wake.notify_all();
            return;
        };
        let fetched = fetch(shared, &job);
        let mut st = shared.lock();
        merge(shared, &mut st, &job, fetched);
        st.in_flight -= 1;
        drop(st);
        shared.wake.notify_all();
    }
}

/// Fetch `job`, following redirects within the allowed origins, and examine the answer.
fn fetch(shared: &Shared<'_>, job: &Job) -> Fetched {
    let opts = shared.opts;
    let cap = match job.req.role {
        Role::Probe => probes::PROBE_CAP.min(opts.max_body),
        _ => opts.max_body,
    };
    let mut at = job.req.url.clone();
    let mut hops = 0u32;
    loop {
        let timeout = match shared.take_request() {
            Ok(t) => t,
            Err(limit) => return Fetched::Skipped(limit),
        };
        let resp = match shared.client.get(&at, timeout, cap) {
            Ok(r) => r,
            Err(e @ FetchError::Timeout(_)) if Instant::now() >= shared.deadline => {
                return Fetched::Failed(format!("{e} (--time-limit reached)"));
            }
            Err(e) => return Fetched::Failed(e.to_string()),
        };
        let Some(location) = resp
            .location
            .as_deref()
            .filter(|_| (300..400).contains(&resp.status))
        else {
            let examined = examine::examine(&job.req, &at, &resp, opts.max_body);
            return Fetched::Done {
                at,
                status: resp.status,
                examined,
            };
        };
        hops += 1;
        if hops > MAX_REDIRECTS {
            return Fetched::Failed(format!(
                "more than {MAX_REDIRECTS} redirects (a redirect loop?); last to {}",
                crate::sanitize::truncate(location, 160)
            ));
        }
        let next = match at.join(location.trim()) {
            Ok(mut u) if matches!(u.scheme(), "http" | "https") => {
                u.set_fragment(None);
                u
            }
            _ => {
                return Fetched::Failed(format!(
                    "HTTP {} redirects to {:?}, not an http(s) URL",
                    resp.status,
                    crate::sanitize::truncate(location, 160)
                ));
            }
        };
        if !shared.allowed(&next) {
            // An argument may move to another scheme or port of its own host.
            let same_host = job.req.role == Role::Entry && next.host() == job.req.url.host();
            if !same_host {
                return Fetched::Away(next);
            }
            shared.lock().allowed.push(next.origin());
        }
        shared
            .lock()
            .seen
            .entry(next.as_str().to_owned())
            .or_insert((job.req.via, job.from.as_ref().map(|u| u.to_string())));
        at = next;
    }
}

fn merge(shared: &Shared<'_>, st: &mut State, job: &Job, fetched: Fetched) {
    let path = job.req.url.to_string();
    let root = shared.several.then(|| job.root.to_string());
    match fetched {
        Fetched::Skipped(limit) => {
            let e = st
                .unfetched
                .entry(limit)
                .or_insert((0, path, job.root.clone()));
            e.0 += 1;
        }
        Fetched::Failed(msg) => st.report.errors.push(ErrorRecord {
            path,
            kind: None,
            message: msg,
        }),
        Fetched::Away(to) => {
            let msg = format!(
                "redirects to {}, another origin: not followed (--allow-origin {} to include it)",
                to,
                to.origin().ascii_serialization()
            );
            if job.req.role == Role::Entry {
                st.report.errors.push(ErrorRecord {
                    path,
                    kind: None,
                    message: msg,
                });
            } else {
                st.report.notes.push(NoteRecord::new(path, msg));
            }
        }
        Fetched::Done {
            at,
            status,
            examined,
        } => {
            if examined.scanned {
                st.report.files_scanned += 1;
            }
            let moved = (at != job.req.url).then(|| format!(" (served at {at} after a redirect)"));
            for f in examined.leaks {
                st.report.leaks.push(LeakRecord {
                    path: path.clone(),
                    root: root.clone(),
                    kind: f.kind,
                    line: f.line,
                    message: format!("{}{}", f.message, moved.as_deref().unwrap_or("")),
                    http: Some(HttpFinding {
                        status,
                        found_by: job.req.via,
                        linked_from: job.from.as_ref().map(Url::to_string),
                    }),
                });
                st.leak_is_probe.push(job.req.role == Role::Probe);
            }
            for n in examined.notes {
                st.report.notes.push(NoteRecord::new(path.clone(), n));
            }
            for e in examined.errors {
                st.report.errors.push(ErrorRecord {
                    path: path.clone(),
                    kind: None,
                    message: e,
                });
            }
            for f in examined.follow {
                enqueue(st, f, &at, &job.root);
            }
        }
    }
}

fn enqueue(st: &mut State, f: examine::Follow, from: &Url, root: &Arc<str>) {
    let key = f.url.as_str().to_owned();
    let found: Discovery = (f.via, Some(from.to_string()));
    if let Some(best) = st.seen.get_mut(&key) {
        if found < *best {
            *best = found;
        }
        return;
    }
    if !st.allowed.contains(&f.url.origin()) {
        let e = st
            .elsewhere
            .entry(f.url.origin().ascii_serialization())
            .or_insert((0, key, root.clone()));
        e.0 += 1;
        return;
    }
    st.seen.insert(key, found);
    st.queue.push_back(Job {
        req: examine::Request {
            url: f.url,
            role: f.role,
            via: f.via,
            page: f.page,
        },
        from: Some(from.clone()),
        root: root.clone(),
    });
}

/// The report: leaks told how they were best found, limits and other origins summarized.
fn finish(mut st: State) -> VerifyReport {
    let mut report = std::mem::take(&mut st.report);
    for (l, &probe) in report.leaks.iter_mut().zip(&st.leak_is_probe) {
        if let (Some(h), Some((via, from))) = (l.http.as_mut(), st.seen.get(&l.path))
            && via.is_probe() == probe
        {
            h.found_by = *via;
            h.linked_from.clone_from(from);
        }
    }
    for (origin, (n, first, _root)) in &st.elsewhere {
        report.notes.push(NoteRecord::new(
            origin.clone(),
            format!(
                "{} on another origin not fetched (e.g. {first}); --allow-origin {origin} to include it",
                if *n == 1 { "1 URL".to_string() } else { format!("{n} URLs") },
            ),
        ));
    }
    for (limit, (n, first, root)) in &st.unfetched {
        let (kind, what) = match limit {
            Limit::Requests => (ErrorKind::RequestLimit, "--max-requests reached"),
            Limit::Time => (ErrorKind::TimeLimit, "--time-limit reached"),
        };
        report.errors.push(ErrorRecord {
            path: root.to_string(),
            kind: Some(kind),
            message: format!(
                "{what}: {} not fetched (e.g. {first}); the run is incomplete",
                if *n == 1 {
                    "1 URL".to_string()
                } else {
                    format!("{n} URLs")
                },
            ),
        });
    }
    report.requests = Some(st.requests_sent);
    report
}
