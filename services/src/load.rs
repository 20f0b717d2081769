//! Back-fill: eav-extract's JSONL output applied to a service through its write API, at the
//! snapshot position eav-extract recorded in the output's manifest. Idempotent (a second load
//! finds every document stale) and so resumable by running it again; documents are applied
//! several at a time, each in its own transaction.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use serde::Deserialize;

use crate::{Applied, Error, Position};

/// What a document of eav-extract's output is, told by the members only its kind has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A product in one store view (`sku`).
    Product,
    /// A category in one store view (`path`).
    Category,
    /// A customer with addresses (`email` or `addresses`).
    Customer,
    /// An order (`increment_id`).
    Order,
}

impl Kind {
    /// The kind of a document; `None` when it is none of eav-extract's.
    ///
    /// Told by the key itself (`"sku":`, …) anywhere in the text: a quote inside a JSON string is
    /// escaped, so only a key matches, and no other kind has these keys at any depth. No parse
    /// here: the write API parses each document once.
    pub fn of(document: &str) -> Option<Kind> {
        let has = |key: &str| document.contains(key);
        // First: an order's items have SKUs and its addresses e-mails.
        if has(r#""increment_id":"#) {
            Some(Kind::Order)
        } else if has(r#""sku":"#) {
            Some(Kind::Product)
        } else if has(r#""email":"#) || has(r#""addresses":"#) {
            Some(Kind::Customer)
        } else if has(r#""path":"#) {
            Some(Kind::Category)
        } else {
            None
        }
    }

    /// Its name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Product => "product",
            Kind::Category => "category",
            Kind::Customer => "customer",
            Kind::Order => "order",
        }
    }
}

/// Why a load stopped.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// `--position` does not parse.
    #[error("--position {0:?}: expected <binlog file>:<offset>")]
    Position(String),
    /// The output or its manifest cannot be read.
    #[error("{path}: {reason}")]
    Input {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A line is not a document.
    #[error("{path} line {line}: {reason}")]
    Line {
        /// The file.
        path: String,
        /// 1-based line number.
        line: u64,
        /// Why.
        reason: String,
    },
    /// The service's database refused a document.
    #[error("{path} line {line}: {cause}")]
    Apply {
        /// The file.
        path: String,
        /// 1-based line number.
        line: u64,
        /// The write API's error.
        cause: Error,
    },
}

/// What a load did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Documents written.
    pub written: u64,
    /// Documents older than (or as old as) what the service holds.
    pub stale: u64,
    /// Documents of kinds this service does not keep, by kind.
    pub skipped: std::collections::BTreeMap<&'static str, u64>,
}

#[derive(Debug, Deserialize)]
struct Manifest {
    snapshot: Option<Snapshot>,
    complete: bool,
}

#[derive(Debug, Deserialize)]
struct Snapshot {
    file: String,
    position: u64,
}

/// Why an eav-extract manifest gives no position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestError {
    /// It cannot be read or is not a manifest.
    Unreadable(String),
    /// The extract did not complete.
    Incomplete,
    /// The extract recorded no binlog position.
    NoSnapshot,
}

/// The snapshot's binlog file and offset in the eav-extract manifest at `path`.
pub fn manifest_snapshot(path: &Path) -> Result<(String, u64), ManifestError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| ManifestError::Unreadable(e.to_string()))?;
    let m: Manifest =
        serde_json::from_str(&text).map_err(|e| ManifestError::Unreadable(e.to_string()))?;
    if !m.complete {
        return Err(ManifestError::Incomplete);
    }
    let s = m.snapshot.ok_or(ManifestError::NoSnapshot)?;
    Ok((s.file, s.position))
}

/// The snapshot position in the manifest eav-extract wrote next to `output`
/// (`<output>.manifest.json`); refuses an extract that did not complete.
pub fn manifest_position(output: &Path) -> Result<Position, LoadError> {
    let mut name = output.file_name().unwrap_or_default().to_os_string();
    name.push(".manifest.json");
    let path: PathBuf = output.with_file_name(name);
    let input = |reason: String| LoadError::Input {
        path: path.display().to_string(),
        reason,
    };
    let (file, offset) = manifest_snapshot(&path).map_err(|e| match e {
        ManifestError::Unreadable(reason) => input(reason),
        ManifestError::Incomplete => {
            input("the extract did not complete; resume it (eav-extract --resume) first".into())
        }
        ManifestError::NoSnapshot => {
            input("no snapshot position (binlog off when extracted?): pass --position".into())
        }
    })?;
    Position::from_binlog(&file, offset)
        .ok_or_else(|| input(format!("binlog file name {file:?} has no number")))
}

/// The position a load applies documents at: `given` (`--position`) when there is one, else the
/// snapshot in `output`'s manifest.
pub fn position(output: &Path, given: Option<&str>) -> Result<Position, LoadError> {
    match given {
        Some(p) => parse_position(p).ok_or_else(|| LoadError::Position(p.into())),
        None => manifest_position(output),
    }
}

/// A progress line of `service` on stderr, for [`load`].
pub fn progress(service: &'static str) -> impl FnMut(u64, &Summary) {
    move |done, s| {
        eprintln!(
            "ficus-{service}: {done} documents ({} written, {} stale)",
            s.written, s.stale
        )
    }
}

/// The closing line of `service`'s load of `output` at `at`, on stderr.
pub fn report(service: &str, output: &Path, at: Position, summary: &Summary) {
    eprintln!(
        "ficus-{service}: loaded {} at {}:{} ({} written, {} stale, skipped {:?})",
        output.display(),
        at.file,
        at.offset,
        summary.written,
        summary.stale,
        summary.skipped
    );
}

/// Parses `<binlog file>:<offset>` (`mariadb-bin.000042:1234`).
pub fn parse_position(s: &str) -> Option<Position> {
    let (file, offset) = s.rsplit_once(':')?;
    Position::from_binlog(file, offset.parse().ok()?)
}

/// Documents applied in one call of `apply` (one kind, consecutive lines).
pub const BATCH: usize = 256;

/// What applying a batch did: (written, stale), or the error with the index of the document in
/// the batch that caused it, when one did.
pub type BatchResult = Result<(u64, u64), (Option<usize>, Error)>;

/// Applies every document of `path` that `apply` takes (it returns `None` for kinds the
/// service does not keep), in batches of up to [`BATCH`] consecutive documents of one kind,
/// `parallel` batches at a time, calling `progress` with the documents done.
pub async fn load<F, Fut>(
    path: &Path,
    parallel: usize,
    apply: F,
    mut progress: impl FnMut(u64, &Summary),
) -> Result<Summary, LoadError>
where
    F: Fn(Kind, Vec<String>) -> Option<Fut>,
    Fut: Future<Output = BatchResult>,
{
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| LoadError::Input {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let mut lines = std::io::BufReader::new(file).lines();
    let mut summary = Summary::default();
    let (mut done, mut shown_at) = (0u64, 0u64);
    let mut number = 0u64;
    // The batch being gathered: its kind, first line number and documents.
    let mut batch: Option<(Kind, u64, Vec<String>)> = None;
    let mut eof = false;
    let mut pending = futures_util::stream::FuturesUnordered::new();
    loop {
        while pending.len() < parallel.max(1) && !eof {
            let line = match lines.next() {
                Some(line) => {
                    number += 1;
                    line.map_err(|e| LoadError::Line {
                        path: shown.clone(),
                        line: number,
                        reason: e.to_string(),
                    })?
                }
                None => {
                    eof = true;
                    String::new()
                }
            };
            let kind = if eof || line.trim().is_empty() {
                None
            } else {
                Some(Kind::of(&line).ok_or_else(|| LoadError::Line {
                    path: shown.clone(),
                    line: number,
                    reason: "not a product, category or customer document".into(),
                })?)
            };
            // A batch goes when the kind changes, when it is full, or at the end.
            let flush = match (&batch, kind) {
                (Some((k, _, docs)), Some(kind)) => *k != kind || docs.len() >= BATCH,
                (Some(_), None) => true,
                (None, _) => false,
            };
            if flush && let Some((k, first, docs)) = batch.take() {
                let n = docs.len() as u64;
                match apply(k, docs) {
                    Some(fut) => pending.push(async move { (first, fut.await) }),
                    None => *summary.skipped.entry(k.name()).or_default() += n,
                }
            }
            if let Some(kind) = kind {
                batch
                    .get_or_insert_with(|| (kind, number, Vec::with_capacity(BATCH)))
                    .2
                    .push(line);
            }
        }
        let Some((first, result)) = pending.next().await else {
            break;
        };
        match result {
            Ok((written, stale)) => {
                summary.written += written;
                summary.stale += stale;
                done += written + stale;
            }
            Err((index, cause)) => {
                return Err(LoadError::Apply {
                    path: shown,
                    line: first + index.unwrap_or(0) as u64,
                    cause,
                });
            }
        }
        if done - shown_at >= 5_000 {
            shown_at = done;
            progress(done, &summary);
        }
    }
    progress(done, &summary);
    Ok(summary)
}

/// Applies `docs` one by one through `apply` (for kinds without a batch write).
pub async fn one_by_one<F, Fut>(docs: Vec<String>, apply: F) -> BatchResult
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<Applied, Error>>,
{
    let (mut written, mut stale) = (0, 0);
    for (i, doc) in docs.into_iter().enumerate() {
        match apply(doc).await {
            Ok(Applied::Written) => written += 1,
            Ok(Applied::Stale) => stale += 1,
            Err(e) => return Err((Some(i), e)),
        }
    }
    Ok((written, stale))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_kinds() {
        assert_eq!(
            parse_position("mariadb-bin.000042:1234"),
            Some(Position {
                file: 42,
                offset: 1234
            })
        );
        assert_eq!(parse_position("nonsense"), None);
        assert_eq!(Kind::of(r#"{"uuid":"x","sku":"a"}"#), Some(Kind::Product));
        assert_eq!(Kind::of(r#"{"id":1,"email":"a@b"}"#), Some(Kind::Customer));
        assert_eq!(Kind::of(r#"{"id":1,"path":"1/2"}"#), Some(Kind::Category));
        assert_eq!(Kind::of(r#"{"id":1}"#), None);
        assert_eq!(Kind::of("not json"), None);
    }
}
