//! The live flags: the set in use, swapped atomically, fed by a file (the default) or an Unleash
//! server.
//!
//! Readers call [`Flags::snapshot`] (an `arc-swap` load: no lock, no I/O). A provider thread
//! builds each new [`FlagSet`] off the request path and swaps it in; a set that does not parse is
//! never swapped in: the last good one stays, and the error is kept for operators
//! ([`Flags::last_error`]) and printed.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::{ArcSwap, Guard};

use crate::change::{self, Change, FlagSummary};
use crate::{Error, FlagSet};

/// Where the flags come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A file in Unleash's client-API JSON, re-read when it changes; changes are written to it.
    File(PathBuf),
    /// An Unleash server's client API, polled; changes belong in Unleash.
    Unleash(UnleashSource),
}

/// An Unleash server to poll.
#[derive(Debug, Clone)]
pub struct UnleashSource {
    /// The server's base URL, `http://host:port` (its client API is `<url>/api/client/features`).
    pub url: String,
    /// A client (backend) API token.
    pub token: String,
    /// The application name Unleash sees.
    pub app_name: String,
    /// Where every good fetch is written, and read from when the server is down at start.
    pub backup: PathBuf,
}

/// One change an operator made, for the audit log.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Applied {
    /// The flag.
    pub flag: String,
    /// Who made it.
    pub who: String,
    /// When, in seconds since the Unix epoch (with milliseconds).
    pub at: f64,
    /// The flag before (`off`, `on`, `25%`, or `absent`).
    pub from: String,
    /// The flag after.
    pub to: String,
    /// Why, as the operator said.
    pub why: String,
}

/// The flags in use, shared by every request.
#[derive(Debug)]
pub struct Flags {
    current: ArcSwap<FlagSet>,
    source: Source,
    /// Serialises writers (the watcher, the poller and operators' changes); never taken by readers.
    write: Mutex<Written>,
    generation: AtomicU64,
}

#[derive(Debug, Default)]
struct Written {
    /// The bytes last loaded or written, so the watcher does not reload its own write.
    bytes: Vec<u8>,
    last_error: Option<String>,
}

impl Flags {
    /// Flags that never change (tests, benchmarks).
    pub fn fixed(set: FlagSet) -> Arc<Self> {
        Arc::new(Self {
            current: ArcSwap::from_pointee(set),
            source: Source::File(PathBuf::new()),
            write: Mutex::new(Written::default()),
            generation: AtomicU64::new(1),
        })
    }

    /// Loads `source` once. A file that is missing or malformed is an error here: there is no
    /// last good set yet. An Unleash server that cannot be reached falls back to its backup file.
    pub fn load(source: Source) -> Result<Arc<Self>, Error> {
        let (set, bytes) = match &source {
            Source::File(path) => read_file(path)?,
            Source::Unleash(unleash) => match fetch(unleash) {
                Ok(found) => {
                    write_atomically(&unleash.backup, &found.1)?;
                    found
                }
                Err(e) => {
                    let backup = read_file(&unleash.backup).map_err(|backup_error| {
                        Error::Unavailable(format!(
                            "{e}; and the backup could not be read: {backup_error}"
                        ))
                    })?;
                    eprintln!(
                        "{}",
                        log_line("flags_fallback", &format!("{e}; using the backup file"))
                    );
                    backup
                }
            },
        };
        Ok(Arc::new(Self {
            current: ArcSwap::from_pointee(set),
            source,
            write: Mutex::new(Written {
                bytes,
                last_error: None,
            }),
            generation: AtomicU64::new(1),
        }))
    }

    /// The set in use now. Lock-free; hold it for one request, not longer.
    pub fn snapshot(&self) -> Guard<Arc<FlagSet>> {
        self.current.load()
    }

    /// Bumped on every swap.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Where the flags come from.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// The last reload's error, if the newest file or fetch was refused (the previous set is in
    /// use).
    pub fn last_error(&self) -> Option<String> {
        self.lock().last_error.clone()
    }

    /// Every flag's summary, sorted by name.
    pub fn summaries(&self) -> Vec<FlagSummary> {
        let mut all: Vec<FlagSummary> = self
            .snapshot()
            .features()
            .features
            .iter()
            .map(change::summarize)
            .collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// Applies an operator's change: written to the file (atomically) and in use at once. An
    /// Unleash source refuses: the flags belong to the server.
    pub fn apply(
        &self,
        name: &str,
        change: Change,
        who: &str,
        why: &str,
    ) -> Result<Applied, Error> {
        let Source::File(path) = &self.source else {
            return Err(Error::Refused(
                "flags come from an Unleash server; change them in Unleash (its admin UI or API)"
                    .to_owned(),
            ));
        };
        let mut written = self.lock();
        let mut features = self.snapshot().features().clone();
        let (before, after) = change::apply(&mut features, name, change)?;
        let set = FlagSet::from_features(features);
        let json = set.to_json().into_bytes();
        if !path.as_os_str().is_empty() {
            write_atomically(path, &json)?;
        }
        written.bytes = json;
        self.swap(set);
        Ok(Applied {
            flag: name.to_owned(),
            who: who.to_owned(),
            at: now_seconds(),
            from: before.map_or_else(|| "absent".to_owned(), |b| b.to_string()),
            to: after.to_string(),
            why: why.to_owned(),
        })
    }

    /// Checks the source once: a changed file or a new fetch is parsed and swapped in; a bad one
    /// is kept as the last error and printed. Returns whether a new set is in use.
    pub fn refresh(&self) -> bool {
        // Unleash is asked outside the lock (no operator writes to it, and a slow server must not
        // hold up `last_error`); a file is read under it, so a file read just before an
        // operator's change was written is never swapped in after it.
        let fetched = match &self.source {
            Source::Unleash(unleash) => Some(fetch(unleash).and_then(|(set, bytes)| {
                write_atomically(&unleash.backup, &bytes)?;
                Ok((set, bytes))
            })),
            Source::File(_) => None,
        };
        let mut written = self.lock();
        let loaded = match (&self.source, fetched) {
            (_, Some(fetched)) => fetched,
            (Source::File(path), None) => match std::fs::read(path) {
                Ok(bytes) => {
                    if bytes == written.bytes {
                        return false;
                    }
                    parse_bytes(&bytes, &path.display().to_string()).map(|set| (set, bytes))
                }
                Err(e) => Err(Error::Io {
                    path: path.clone(),
                    source: e,
                }),
            },
            (Source::Unleash(_), None) => return false,
        };
        match loaded {
            Ok((set, bytes)) => {
                written.last_error = None;
                if bytes == written.bytes {
                    return false;
                }
                written.bytes = bytes;
                for warning in set.warnings() {
                    eprintln!("{}", log_line("flags_warning", warning));
                }
                self.swap(set);
                true
            }
            Err(e) => {
                let message = e.to_string();
                if written.last_error.as_deref() != Some(message.as_str()) {
                    eprintln!(
                        "{}",
                        log_line(
                            "flags_rejected",
                            &format!("{message}; the last good flags stay in use")
                        )
                    );
                }
                written.last_error = Some(message);
                false
            }
        }
    }

    /// Starts a thread that calls [`Flags::refresh`] every `interval` for as long as these flags
    /// are alive.
    pub fn watch(self: &Arc<Self>, interval: Duration) -> std::thread::JoinHandle<()> {
        let weak: Weak<Self> = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("ficus-flags".to_owned())
            .spawn(move || {
                loop {
                    std::thread::sleep(interval);
                    match weak.upgrade() {
                        Some(flags) => {
                            flags.refresh();
                        }
                        None => return,
                    }
                }
            })
            .unwrap_or_else(|e| panic!("cannot start the flags thread: {e}"))
    }

    fn swap(&self, set: FlagSet) {
        self.current.store(Arc::new(set));
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Written> {
        self.write.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn read_file(path: &Path) -> Result<(FlagSet, Vec<u8>), Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    let set = parse_bytes(&bytes, &path.display().to_string())?;
    Ok((set, bytes))
}

fn parse_bytes(bytes: &[u8], origin: &str) -> Result<FlagSet, Error> {
    let text = std::str::from_utf8(bytes).map_err(|_| Error::Invalid {
        origin: origin.to_owned(),
        problem: "not UTF-8 text".to_owned(),
    })?;
    FlagSet::parse(text, origin)
}

/// Writes beside the target and renames over it, so a reader never sees half a file.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let mut file = std::fs::File::create(&tmp).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// `GET <url>/api/client/features` over plain HTTP/1.0 (so the body is never chunked).
fn fetch(unleash: &UnleashSource) -> Result<(FlagSet, Vec<u8>), Error> {
    let unavailable =
        |why: String| Error::Unavailable(format!("Unleash at {}: {why}", unleash.url));
    let rest = unleash.url.strip_prefix("http://").ok_or_else(|| {
        unavailable("only http:// URLs are read (put TLS in front of the proxy's side)".to_owned())
    })?;
    let (authority, base) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    let addr = authority
        .to_socket_addrs()
        .map_err(|e| unavailable(e.to_string()))?
        .next()
        .ok_or_else(|| unavailable("no address".to_owned()))?;
    let timeout = Duration::from_secs(2);
    let mut stream =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| unavailable(e.to_string()))?;
    stream.set_read_timeout(Some(timeout)).ok();
    stream.set_write_timeout(Some(timeout)).ok();
    let request = format!(
        "GET {base}/api/client/features HTTP/1.0\r\nHost: {authority}\r\nAuthorization: {}\r\n\
         UNLEASH-APPNAME: {}\r\nAccept: application/json\r\nConnection: close\r\n\r\n",
        unleash.token, unleash.app_name
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| unavailable(e.to_string()))?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .map_err(|e| unavailable(e.to_string()))?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| unavailable("no HTTP response".to_owned()))?;
    let head = String::from_utf8_lossy(&response[..split]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .unwrap_or(0);
    if status != 200 {
        return Err(unavailable(format!(
            "HTTP {status} for /api/client/features"
        )));
    }
    let body = response[split + 4..].to_vec();
    let set = parse_bytes(&body, &format!("{}/api/client/features", unleash.url))?;
    Ok((set, body))
}

fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| (d.as_millis() as f64) / 1000.0)
        .unwrap_or(0.0)
}

fn log_line(event: &str, message: &str) -> String {
    serde_json::json!({ "at": now_seconds(), "level": "error", "event": event, "message": message })
        .to_string()
}
