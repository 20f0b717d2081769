//! The checkpoint written as an extract goes, and the manifest written next to its output.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::source::Position;

/// Progress that survives a crash. Written after every chunk, in the same step as the chunk
/// (JSONL: after the chunk's bytes are synced to disk; PostgreSQL: in the chunk's transaction).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Format version.
    pub format: u32,
    /// Entity kinds, in order.
    pub kinds: Vec<String>,
    /// Store codes.
    pub stores: Vec<String>,
    /// Whether option labels are written.
    pub labels: bool,
    /// The id-map namespace.
    pub namespace: String,
    /// The first run's snapshot: where cdc-sync must start (see the crate docs).
    pub snapshot: Option<Position>,
    /// Snapshots of resumed runs, in order.
    pub resumed: Vec<Option<Position>>,
    /// Kinds completed.
    pub done: Vec<String>,
    /// The kind in progress and its last entity id written.
    pub current: Option<(String, u32)>,
    /// Bytes of the JSONL output that hold complete chunks.
    pub bytes: u64,
    /// Documents written.
    pub documents: u64,
    /// Whether the extract completed.
    pub complete: bool,
}

impl Checkpoint {
    /// Whether a resumed run asks for the same extract.
    pub fn same_request(&self, other: &Checkpoint) -> bool {
        self.kinds == other.kinds
            && self.stores == other.stores
            && self.labels == other.labels
            && self.namespace == other.namespace
    }
}

/// Writes `value` as JSON to `path` through a temporary file and a rename.
pub fn write_json_atomic(path: &Path, value: &impl Serialize) -> Result<()> {
    let tmp = sibling(path, ".tmp");
    let io = |source| Error::Output {
        path: path.display().to_string(),
        source,
    };
    let text = serde_json::to_vec_pretty(value).map_err(|e| io(std::io::Error::other(e)))?;
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&text).map_err(io)?;
        f.sync_data().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)
}

/// `path` with `suffix` appended to its file name.
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}
