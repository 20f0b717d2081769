//! A lean reader of MySQL's text protocol, for the one hot loop that reads millions of value rows.
//!
//! mysql_async decodes every row into a `Row` of owned values: an allocation and a copy per
//! column, which with the rest of its row handling was over half of eav-extract's CPU on the
//! `large` store (BENCHMARKS.md: 7.1 s of CPU through mysql_async, 4.0 s through this). This
//! connection reads the same result sets straight out of one socket buffer and hands each row's
//! columns to the caller as borrowed bytes. It speaks only what the scan needs: the handshake
//! with `mysql_native_password`, `COM_QUERY`, and text
//! result sets. Anything else (TLS asked for, a Unix socket, another auth plugin, a server that
//! refuses) is [`WireError::Unsupported`], and the caller reads through mysql_async instead.
//!
//! Blocking I/O on purpose: the scan runs on a thread of its own, and a plain `read` into a
//! large buffer is the cheapest way to move bytes from the socket.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use sha1::Digest as _;

/// How a wire connection failed.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The connection cannot be made by this reader (the caller falls back to mysql_async).
    #[error("{0}")]
    Unsupported(String),
    /// The socket failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The server answered with an error packet.
    #[error("ERROR {code} ({state}): {message}")]
    Server {
        /// MySQL's error number.
        code: u16,
        /// The SQLSTATE.
        state: String,
        /// The server's message.
        message: String,
    },
    /// The server sent something the protocol does not allow here.
    #[error("protocol error: {0}")]
    Protocol(String),
}

type Result<T> = std::result::Result<T, WireError>;

const CLIENT_LONG_PASSWORD: u32 = 1;
const CLIENT_LONG_FLAG: u32 = 4;
const CLIENT_CONNECT_WITH_DB: u32 = 8;
const CLIENT_PROTOCOL_41: u32 = 0x200;
const CLIENT_TRANSACTIONS: u32 = 0x2000;
const CLIENT_SECURE_CONNECTION: u32 = 0x8000;
const CLIENT_MULTI_RESULTS: u32 = 0x2_0000;
const CLIENT_PLUGIN_AUTH: u32 = 0x8_0000;
const CLIENT_PLUGIN_AUTH_LENENC: u32 = 0x20_0000;
/// utf8mb4_general_ci.
const UTF8MB4: u8 = 45;
/// A packet of this payload length continues in the next one.
const MAX_PAYLOAD: usize = 0xFF_FFFF;
const SERVER_MORE_RESULTS_EXISTS: u16 = 8;
/// The widest result [`Wire::execute`] and [`Wire::rows`] take.
const WIDE: usize = 16;

/// Where and as whom to connect.
#[derive(Clone)]
pub struct Target {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// User name.
    pub user: String,
    /// Password (empty for none).
    pub password: String,
    /// Database.
    pub database: String,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}@{}:{}/{}",
            self.user, self.host, self.port, self.database
        )
    }
}

impl Target {
    /// The target of mysql_async options, or why this reader cannot use them.
    pub fn from_opts(opts: &mysql_async::Opts) -> Result<Target> {
        if opts.ssl_opts().is_some() {
            return Err(WireError::Unsupported("the DSN asks for TLS".into()));
        }
        if opts.socket().is_some() {
            return Err(WireError::Unsupported("the DSN names a Unix socket".into()));
        }
        Ok(Target {
            host: opts.ip_or_hostname().to_string(),
            port: opts.tcp_port(),
            user: opts.user().unwrap_or_default().to_string(),
            password: opts.pass().unwrap_or_default().to_string(),
            database: opts.db_name().unwrap_or_default().to_string(),
        })
    }
}

/// One connection speaking the text protocol.
#[derive(Debug)]
pub struct Wire {
    stream: TcpStream,
    /// Bytes read from the socket; `buf[start..end]` are not consumed yet.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// A payload spread over several packets (16 MiB or more), joined.
    joined: Vec<u8>,
    /// The sequence id the next packet sent carries.
    seq: u8,
}

/// Reads a length-encoded integer at `*at`, advancing it.
fn lenenc(p: &[u8], at: &mut usize) -> Option<u64> {
    let first = *p.get(*at)?;
    let (value, width) = match first {
        0..=0xFA => (u64::from(first), 1),
        0xFC => (
            u64::from(u16::from_le_bytes(
                p.get(*at + 1..*at + 3)?.try_into().ok()?,
            )),
            3,
        ),
        0xFD => {
            let b = p.get(*at + 1..*at + 4)?;
            (
                u64::from(b[0]) | u64::from(b[1]) << 8 | u64::from(b[2]) << 16,
                4,
            )
        }
        0xFE => (
            u64::from_le_bytes(p.get(*at + 1..*at + 9)?.try_into().ok()?),
            9,
        ),
        _ => return None,
    };
    *at += width;
    Some(value)
}

/// A NUL-terminated string at `*at` (or the rest of the packet), advancing past the NUL.
fn nul_str<'p>(p: &'p [u8], at: &mut usize) -> &'p [u8] {
    let rest = p.get(*at..).unwrap_or_default();
    let len = rest.iter().position(|b| *b == 0).unwrap_or(rest.len());
    *at += len + 1;
    &rest[..len]
}

fn server_error(p: &[u8]) -> WireError {
    let code = p.get(1..3).map_or(0, |b| u16::from_le_bytes([b[0], b[1]]));
    let (state, message) = if p.get(3) == Some(&b'#') && p.len() >= 9 {
        (String::from_utf8_lossy(&p[4..9]).into_owned(), &p[9..])
    } else {
        ("HY000".into(), p.get(3..).unwrap_or_default())
    };
    WireError::Server {
        code,
        state,
        message: String::from_utf8_lossy(message).into_owned(),
    }
}

fn protocol(what: &str) -> WireError {
    WireError::Protocol(what.into())
}

/// `mysql_native_password`: SHA1(password) XOR SHA1(scramble + SHA1(SHA1(password))).
pub fn native_password(password: &[u8], scramble: &[u8]) -> Vec<u8> {
    if password.is_empty() {
        return Vec::new();
    }
    let once = sha1::Sha1::digest(password);
    let twice = sha1::Sha1::digest(once);
    let mut h = sha1::Sha1::new();
    h.update(scramble);
    h.update(twice);
    let mix = h.finalize();
    once.iter().zip(mix.iter()).map(|(a, b)| a ^ b).collect()
}

fn auth_response(plugin: &[u8], password: &[u8], scramble: &[u8]) -> Result<Vec<u8>> {
    match plugin {
        b"mysql_native_password" => Ok(native_password(password, scramble)),
        other => Err(WireError::Unsupported(format!(
            "the server asks for authentication plugin {}",
            String::from_utf8_lossy(other)
        ))),
    }
}

impl Wire {
    /// Connects and logs in.
    pub fn connect(target: &Target) -> Result<Wire> {
        let stream = TcpStream::connect((target.host.as_str(), target.port))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(3600)))?;
        let mut wire = Wire {
            stream,
            buf: vec![0; 1 << 20],
            start: 0,
            end: 0,
            joined: Vec::new(),
            seq: 0,
        };
        wire.login(target)?;
        Ok(wire)
    }

    fn login(&mut self, target: &Target) -> Result<()> {
        let hello = self.packet()?.to_vec();
        if hello.first() == Some(&0xFF) {
            return Err(server_error(&hello));
        }
        if hello.first() != Some(&10) {
            return Err(WireError::Unsupported(
                "the server speaks an old protocol version".into(),
            ));
        }
        let mut at = 1;
        nul_str(&hello, &mut at); // server version
        at += 4; // connection id
        let part1 = hello
            .get(at..at + 8)
            .ok_or_else(|| protocol("short handshake"))?;
        let mut scramble = part1.to_vec();
        at += 9;
        let caps_low = hello
            .get(at..at + 2)
            .ok_or_else(|| protocol("short handshake"))?;
        let mut server_caps = u32::from(u16::from_le_bytes([caps_low[0], caps_low[1]]));
        at += 2;
        let mut plugin: Vec<u8> = b"mysql_native_password".to_vec();
        if hello.len() > at {
            at += 3; // charset, status
            let caps_high = hello
                .get(at..at + 2)
                .ok_or_else(|| protocol("short handshake"))?;
            server_caps |= u32::from(u16::from_le_bytes([caps_high[0], caps_high[1]])) << 16;
            at += 2;
            let auth_len = usize::from(*hello.get(at).unwrap_or(&0));
            at += 11;
            if server_caps & CLIENT_SECURE_CONNECTION != 0 {
                let len = auth_len.saturating_sub(8).max(13);
                let part2 = hello
                    .get(at..at + len)
                    .ok_or_else(|| protocol("short handshake"))?;
                // The last byte is a NUL terminator.
                scramble.extend_from_slice(&part2[..len - 1]);
                at += len;
            }
            if server_caps & CLIENT_PLUGIN_AUTH != 0 {
                plugin = nul_str(&hello, &mut at).to_vec();
            }
        }
        let wanted = CLIENT_LONG_PASSWORD
            | CLIENT_LONG_FLAG
            | CLIENT_CONNECT_WITH_DB
            | CLIENT_PROTOCOL_41
            | CLIENT_TRANSACTIONS
            | CLIENT_SECURE_CONNECTION
            | CLIENT_MULTI_RESULTS
            | CLIENT_PLUGIN_AUTH
            | CLIENT_PLUGIN_AUTH_LENENC;
        if server_caps & CLIENT_PROTOCOL_41 == 0 {
            return Err(WireError::Unsupported(
                "the server lacks protocol 4.1".into(),
            ));
        }
        let caps = wanted & server_caps;
        let password = target.password.as_bytes();
        let auth = auth_response(&plugin, password, &scramble)?;
        let mut out = Vec::with_capacity(128);
        out.extend_from_slice(&caps.to_le_bytes());
        out.extend_from_slice(&(1u32 << 24).to_le_bytes());
        out.push(UTF8MB4);
        out.extend_from_slice(&[0; 23]);
        out.extend_from_slice(target.user.as_bytes());
        out.push(0);
        // A length byte: the same as a length-encoded integer below 251.
        out.push(u8::try_from(auth.len()).map_err(|_| protocol("auth data too long"))?);
        out.extend_from_slice(&auth);
        if caps & CLIENT_CONNECT_WITH_DB != 0 {
            out.extend_from_slice(target.database.as_bytes());
            out.push(0);
        }
        if caps & CLIENT_PLUGIN_AUTH != 0 {
            out.extend_from_slice(&plugin);
            out.push(0);
        }
        self.send(&out)?;
        loop {
            let reply = self.packet()?.to_vec();
            match reply.first() {
                Some(0x00) => return Ok(()),
                Some(0xFF) => return Err(server_error(&reply)),
                Some(0xFE) => {
                    // Auth switch: another plugin and a new scramble.
                    let mut at = 1;
                    plugin = nul_str(&reply, &mut at).to_vec();
                    let data = reply.get(at..).unwrap_or_default();
                    let data = data.strip_suffix(&[0]).unwrap_or(data);
                    scramble = data.to_vec();
                    let auth = auth_response(&plugin, password, &scramble)?;
                    self.send(&auth)?;
                }
                _ => return Err(protocol("unexpected reply to the handshake")),
            }
        }
    }

    /// Makes sure `need` unread bytes are in the buffer.
    fn fill(&mut self, need: usize) -> Result<()> {
        if self.end - self.start >= need {
            return Ok(());
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if need > self.buf.len() {
            self.buf.resize(need.next_power_of_two(), 0);
        }
        while self.end < need {
            let n = self.stream.read(&mut self.buf[self.end..])?;
            if n == 0 {
                return Err(WireError::Io(std::io::ErrorKind::UnexpectedEof.into()));
            }
            self.end += n;
        }
        Ok(())
    }

    /// The next packet's payload (packets of 16 MiB and more joined).
    fn packet(&mut self) -> Result<&[u8]> {
        self.fill(4)?;
        let h = &self.buf[self.start..self.start + 4];
        let len = usize::from(h[0]) | usize::from(h[1]) << 8 | usize::from(h[2]) << 16;
        self.seq = h[3].wrapping_add(1);
        if len < MAX_PAYLOAD {
            self.fill(4 + len)?;
            let at = self.start + 4;
            self.start = at + len;
            return Ok(&self.buf[at..at + len]);
        }
        self.joined.clear();
        let mut len = len;
        loop {
            self.fill(4 + len)?;
            let at = self.start + 4;
            self.joined.extend_from_slice(&self.buf[at..at + len]);
            self.start = at + len;
            if len < MAX_PAYLOAD {
                break;
            }
            self.fill(4)?;
            let h = &self.buf[self.start..self.start + 4];
            len = usize::from(h[0]) | usize::from(h[1]) << 8 | usize::from(h[2]) << 16;
            self.seq = h[3].wrapping_add(1);
        }
        Ok(&self.joined)
    }

    /// Sends one payload (split into packets as the protocol asks).
    fn send(&mut self, payload: &[u8]) -> Result<()> {
        let mut out = Vec::with_capacity(payload.len() + 8);
        let mut chunks = payload.chunks(MAX_PAYLOAD).peekable();
        if payload.is_empty() {
            out.extend_from_slice(&[0, 0, 0, self.seq]);
            self.seq = self.seq.wrapping_add(1);
        }
        while let Some(chunk) = chunks.next() {
            let len = chunk.len().to_le_bytes();
            out.extend_from_slice(&[len[0], len[1], len[2], self.seq]);
            out.extend_from_slice(chunk);
            self.seq = self.seq.wrapping_add(1);
            if chunks.peek().is_none() && chunk.len() == MAX_PAYLOAD {
                out.extend_from_slice(&[0, 0, 0, self.seq]);
                self.seq = self.seq.wrapping_add(1);
            }
        }
        self.stream.write_all(&out)?;
        Ok(())
    }

    /// Runs a statement that returns no rows.
    pub fn execute(&mut self, sql: &str) -> Result<()> {
        self.query::<WIDE, _>(sql, |_| Ok::<(), WireError>(()))
            .map(|_| ())
            .map_err(|e| match e {
                QueryError::Wire(w) => w,
                QueryError::Row(w) => w,
            })
    }

    /// Runs `sql` and hands every row's columns to `row` (`None` for NULL), in the order the
    /// server sends them; a result of more than `N` columns is refused. Returns how many rows there were. An error from `row` stops the read
    /// and is returned as [`QueryError::Row`]; the connection is then not usable any more.
    pub fn query<const N: usize, E>(
        &mut self,
        sql: &str,
        mut row: impl FnMut(&[Option<&[u8]>]) -> std::result::Result<(), E>,
    ) -> std::result::Result<u64, QueryError<E>> {
        self.seq = 0;
        let mut command = Vec::with_capacity(sql.len() + 1);
        command.push(3); // COM_QUERY
        command.extend_from_slice(sql.as_bytes());
        self.send(&command).map_err(QueryError::Wire)?;
        let mut rows = 0u64;
        loop {
            let head = self.packet().map_err(QueryError::Wire)?;
            let columns = match head.first() {
                Some(0x00) => {
                    let more = ok_status(head) & SERVER_MORE_RESULTS_EXISTS != 0;
                    if more {
                        continue;
                    }
                    return Ok(rows);
                }
                Some(0xFF) => return Err(QueryError::Wire(server_error(head))),
                Some(0xFB) => {
                    return Err(QueryError::Wire(protocol(
                        "the server asked for a local file",
                    )));
                }
                _ => {
                    let mut at = 0;
                    lenenc(head, &mut at)
                        .ok_or_else(|| QueryError::Wire(protocol("column count")))?
                }
            };
            let columns = usize::try_from(columns)
                .ok()
                .filter(|c| (1..=N).contains(c))
                .ok_or_else(|| {
                    QueryError::Wire(WireError::Protocol(format!(
                        "{columns} columns; this read takes at most {N}"
                    )))
                })?;
            for _ in 0..columns {
                self.packet().map_err(QueryError::Wire)?;
            }
            let eof = self.packet().map_err(QueryError::Wire)?;
            if eof.first() != Some(&0xFE) {
                return Err(QueryError::Wire(protocol(
                    "no EOF after the column definitions",
                )));
            }
            let more = loop {
                let p = self.packet().map_err(QueryError::Wire)?;
                let mut values: [Option<&[u8]>; N] = [None; N];
                match p.first() {
                    Some(0xFE) if p.len() < 9 => {
                        let status = p.get(3..5).map_or(0, |b| u16::from_le_bytes([b[0], b[1]]));
                        break status & SERVER_MORE_RESULTS_EXISTS != 0;
                    }
                    Some(0xFF) => return Err(QueryError::Wire(server_error(p))),
                    _ => {}
                }
                let mut at = 0;
                for v in values.iter_mut().take(columns) {
                    if p.get(at) == Some(&0xFB) {
                        at += 1;
                        *v = None;
                        continue;
                    }
                    let len = lenenc(p, &mut at)
                        .and_then(|l| usize::try_from(l).ok())
                        .ok_or_else(|| QueryError::Wire(protocol("truncated row")))?;
                    let bytes = p
                        .get(at..at + len)
                        .ok_or_else(|| QueryError::Wire(protocol("truncated row")))?;
                    at += len;
                    *v = Some(bytes);
                }
                rows += 1;
                row(&values[..columns]).map_err(QueryError::Row)?;
            };
            if !more {
                return Ok(rows);
            }
        }
    }

    /// Runs `sql` as a prepared statement (the binary protocol: the server sends integers as
    /// integers instead of printing them, which costs MariaDB a third less CPU on the value
    /// tables) and hands every row's columns to `row` as [`Cell`]s. Only integer, decimal and
    /// string columns are taken: with any other (dates, floats) nothing is executed and the
    /// result is [`WireError::Unsupported`], so the caller can use [`Wire::query`].
    pub fn query_binary<const N: usize, E>(
        &mut self,
        sql: &str,
        mut row: impl FnMut(&[Cell<'_>]) -> std::result::Result<(), E>,
    ) -> std::result::Result<u64, QueryError<E>> {
        let wire = QueryError::Wire;
        self.seq = 0;
        let mut command = Vec::with_capacity(sql.len() + 1);
        command.push(0x16); // COM_STMT_PREPARE
        command.extend_from_slice(sql.as_bytes());
        self.send(&command).map_err(wire)?;
        let ok = self.packet().map_err(wire)?;
        match ok.first() {
            Some(0x00) if ok.len() >= 9 => {}
            Some(0xFF) => return Err(wire(server_error(ok))),
            _ => return Err(wire(protocol("no answer to the prepare"))),
        }
        let id = [ok[1], ok[2], ok[3], ok[4]];
        let columns = usize::from(u16::from_le_bytes([ok[5], ok[6]]));
        let params = usize::from(u16::from_le_bytes([ok[7], ok[8]]));
        for _ in 0..params {
            self.packet().map_err(wire)?;
        }
        if params > 0 {
            self.packet().map_err(wire)?; // EOF
        }
        let mut kinds = Vec::with_capacity(columns);
        for _ in 0..columns {
            let def = self.packet().map_err(wire)?;
            kinds.push(column_kind(def).map_err(wire)?);
        }
        if columns > 0 {
            self.packet().map_err(wire)?; // EOF
        }
        let result = if !(1..=N).contains(&columns) {
            Err(wire(WireError::Protocol(format!(
                "{columns} columns; this read takes at most {N}"
            ))))
        } else if let Some(other) = kinds.iter().find_map(|k| match k {
            Kind::Other(t) => Some(*t),
            _ => None,
        }) {
            Err(wire(WireError::Unsupported(format!(
                "column type {other} in the binary protocol"
            ))))
        } else {
            self.execute_binary::<N, E>(id, &kinds, &mut row)
        };
        // COM_STMT_CLOSE has no answer.
        self.seq = 0;
        let mut close = vec![0x19];
        close.extend_from_slice(&id);
        let closed = self.send(&close);
        match (result, closed) {
            (Ok(n), Ok(())) => Ok(n),
            (Err(e), _) => Err(e),
            (Ok(_), Err(e)) => Err(wire(e)),
        }
    }

    fn execute_binary<const N: usize, E>(
        &mut self,
        id: [u8; 4],
        kinds: &[Kind],
        row: &mut impl FnMut(&[Cell<'_>]) -> std::result::Result<(), E>,
    ) -> std::result::Result<u64, QueryError<E>> {
        let wire = QueryError::Wire;
        self.seq = 0;
        // COM_STMT_EXECUTE: statement, no cursor, one iteration, no parameters.
        let mut command = vec![0x17];
        command.extend_from_slice(&id);
        command.push(0);
        command.extend_from_slice(&1u32.to_le_bytes());
        self.send(&command).map_err(wire)?;
        let head = self.packet().map_err(wire)?;
        match head.first() {
            Some(0xFF) => return Err(wire(server_error(head))),
            Some(0x00) => return Ok(0),
            _ => {}
        }
        for _ in 0..kinds.len() {
            self.packet().map_err(wire)?;
        }
        let eof = self.packet().map_err(wire)?;
        if eof.first() != Some(&0xFE) {
            return Err(wire(protocol("no EOF after the column definitions")));
        }
        let columns = kinds.len();
        let bitmap = (columns + 7 + 2) / 8;
        let mut rows = 0u64;
        loop {
            let p = self.packet().map_err(wire)?;
            match p.first() {
                Some(0xFE) if p.len() < 9 => return Ok(rows),
                Some(0xFF) => return Err(wire(server_error(p))),
                Some(0x00) => {}
                _ => return Err(wire(protocol("not a binary row"))),
            }
            let nulls = p
                .get(1..1 + bitmap)
                .ok_or_else(|| wire(protocol("truncated row")))?;
            let mut at = 1 + bitmap;
            let mut cells: [Cell<'_>; N] = [Cell::Null; N];
            for (i, (cell, kind)) in cells.iter_mut().zip(kinds).enumerate() {
                let bit = i + 2;
                if nulls[bit / 8] & (1 << (bit % 8)) != 0 {
                    continue;
                }
                let fixed = |width: usize, at: &mut usize| -> Option<u64> {
                    let b = p.get(*at..*at + width)?;
                    *at += width;
                    let mut w = [0u8; 8];
                    w[..width].copy_from_slice(b);
                    Some(u64::from_le_bytes(w))
                };
                let truncated = || wire(protocol("truncated row"));
                *cell = match *kind {
                    Kind::Int { width, unsigned } => {
                        let raw = fixed(width, &mut at).ok_or_else(truncated)?;
                        if unsigned {
                            Cell::UInt(raw)
                        } else {
                            // Sign-extend from the column's width.
                            let shift = 64 - 8 * width as u32;
                            Cell::Int(((raw << shift) as i64) >> shift)
                        }
                    }
                    Kind::Bytes => {
                        let len = lenenc(p, &mut at)
                            .and_then(|l| usize::try_from(l).ok())
                            .ok_or_else(truncated)?;
                        let bytes = p.get(at..at + len).ok_or_else(truncated)?;
                        at += len;
                        Cell::Bytes(bytes)
                    }
                    Kind::Other(_) => return Err(wire(protocol("unexpected column type"))),
                };
            }
            rows += 1;
            row(&cells[..columns]).map_err(QueryError::Row)?;
        }
    }

    /// Rows of text columns, for small results (settings and status).
    pub fn rows(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
        let mut out = Vec::new();
        self.query::<WIDE, _>(sql, |cols| {
            out.push(
                cols.iter()
                    .map(|c| c.map(|b| String::from_utf8_lossy(b).into_owned()))
                    .collect(),
            );
            Ok::<(), WireError>(())
        })
        .map_err(|e| match e {
            QueryError::Wire(w) | QueryError::Row(w) => w,
        })?;
        Ok(out)
    }
}

/// One column of a binary-protocol row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell<'a> {
    /// SQL NULL.
    Null,
    /// A signed integer column.
    Int(i64),
    /// An unsigned integer column.
    UInt(u64),
    /// A string, decimal or blob column, as the server prints it.
    Bytes(&'a [u8]),
}

/// How a binary-protocol column is read.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Int {
        width: usize,
        unsigned: bool,
    },
    Bytes,
    /// A type this reader does not take (its MySQL type number).
    Other(u8),
}

/// The kind of a column from its definition packet.
fn column_kind(def: &[u8]) -> Result<Kind> {
    let mut at = 0;
    for _ in 0..6 {
        // catalog, schema, table, org_table, name, org_name
        let len = lenenc(def, &mut at).ok_or_else(|| protocol("column definition"))?;
        at += usize::try_from(len).map_err(|_| protocol("column definition"))?;
    }
    lenenc(def, &mut at).ok_or_else(|| protocol("column definition"))?;
    // charset (2), length (4), type (1), flags (2), decimals (1)
    let fixed = def
        .get(at..at + 10)
        .ok_or_else(|| protocol("column definition"))?;
    let ty = fixed[6];
    let unsigned = u16::from_le_bytes([fixed[7], fixed[8]]) & 0x20 != 0;
    Ok(match ty {
        0x01 => Kind::Int { width: 1, unsigned },
        0x02 | 0x0d => Kind::Int { width: 2, unsigned },
        0x03 | 0x09 => Kind::Int { width: 4, unsigned },
        0x08 => Kind::Int { width: 8, unsigned },
        // DECIMAL, NEWDECIMAL, VARCHAR, ENUM, SET, the BLOBs and TEXTs, VAR_STRING, STRING
        0x00 | 0xf6 | 0x0f | 0xf7 | 0xf8 | 0xf9..=0xfc | 0xfd | 0xfe => Kind::Bytes,
        other => Kind::Other(other),
    })
}

/// The status flags of an OK packet.
fn ok_status(p: &[u8]) -> u16 {
    let mut at = 1;
    if lenenc(p, &mut at).is_none() || lenenc(p, &mut at).is_none() {
        return 0;
    }
    p.get(at..at + 2)
        .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]))
}

/// Why [`Wire::query`] stopped.
#[derive(Debug)]
pub enum QueryError<E> {
    /// The connection or the server.
    Wire(WireError),
    /// The row callback.
    Row(E),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenenc_reads_every_width() {
        let cases: [(&[u8], u64, usize); 4] = [
            (&[0xFA], 250, 1),
            (&[0xFC, 0x34, 0x12], 0x1234, 3),
            (&[0xFD, 0x56, 0x34, 0x12], 0x12_3456, 4),
            (&[0xFE, 1, 2, 3, 4, 5, 6, 7, 8], 0x0807_0605_0403_0201, 9),
        ];
        for (bytes, value, width) in cases {
            let mut at = 0;
            assert_eq!(lenenc(bytes, &mut at), Some(value));
            assert_eq!(at, width);
        }
        let mut at = 0;
        assert_eq!(lenenc(&[0xFC, 1], &mut at), None, "truncated");
        assert_eq!(lenenc(&[0xFF], &mut at), None, "not an integer");
    }

    #[test]
    fn native_password_of_nothing_is_nothing() {
        assert!(native_password(b"", b"12345678901234567890").is_empty());
        assert_eq!(native_password(b"x", b"12345678901234567890").len(), 20);
    }

    fn server() -> mysql_async::Opts {
        let url = format!("{}/mysql", ficus_magento_fixture::testing::mysql_server());
        mysql_async::Opts::from_url(&url).expect("opts")
    }

    /// The wire reader and mysql_async, an independent decoder, read the same rows: NULLs,
    /// empty strings, multi-byte UTF-8, binary bytes, numbers, and a value over 16 MiB (which
    /// the protocol splits over packets).
    #[tokio::test]
    async fn wire_reads_what_mysql_async_reads() {
        use mysql_async::prelude::Queryable;
        let sql = "SELECT NULL, '', 'Größe ✓ 😀', UNHEX('00FF10FB'), 12345678901234, -1.50 \
                   UNION ALL SELECT 'a', NULL, REPEAT('x', 17000000), '', 0, NULL \
                   UNION ALL SELECT REPEAT('y', 300), 'b', 'c', NULL, 1, 2.25";
        let opts = server();
        let mut conn = mysql_async::Conn::new(opts.clone()).await.expect("connect");
        let want: Vec<mysql_async::Row> = conn.query(sql).await.expect("mysql_async");
        let want: Vec<Vec<Option<Vec<u8>>>> = want
            .into_iter()
            .map(|r| {
                r.unwrap()
                    .into_iter()
                    .map(|v| match v {
                        mysql_async::Value::NULL => None,
                        mysql_async::Value::Bytes(b) => Some(b),
                        other => panic!("text protocol gave {other:?}"),
                    })
                    .collect()
            })
            .collect();
        let target = Target::from_opts(&opts).expect("target");
        let got = tokio::task::spawn_blocking(move || {
            let mut wire = Wire::connect(&target).expect("wire connects");
            wire.execute("SET NAMES utf8mb4").expect("set names");
            let mut got: Vec<Vec<Option<Vec<u8>>>> = Vec::new();
            let n = wire
                .query::<6, _>(sql, |cols| {
                    got.push(cols.iter().map(|c| c.map(<[u8]>::to_vec)).collect());
                    Ok::<(), ()>(())
                })
                .expect("query");
            assert_eq!(n, 3);
            // The connection is still in step after the large packet.
            assert_eq!(
                wire.rows("SELECT 1 + 1").expect("again"),
                vec![vec![Some("2".to_string())]]
            );
            got
        })
        .await
        .expect("thread");
        assert_eq!(want.len(), 3);
        assert_eq!(want[1][2].as_ref().map(Vec::len), Some(17_000_000));
        assert!(
            got == want,
            "the wire reader's rows differ from mysql_async's"
        );
    }

    #[tokio::test]
    async fn wire_names_server_errors() {
        let opts = server();
        let target = Target::from_opts(&opts).expect("target");
        let mut wrong = target.clone();
        wrong.password = "not-the-password".into();
        tokio::task::spawn_blocking(move || {
            let mut wire = Wire::connect(&target).expect("wire connects");
            match wire.execute("SELECT * FROM no_such_table_here") {
                Err(WireError::Server { code, message, .. }) => {
                    assert_eq!(code, 1146, "{message}");
                    assert!(message.contains("no_such_table_here"), "{message}");
                }
                other => panic!("expected a server error, got {other:?}"),
            }
            // The error ends the statement, not the connection.
            assert_eq!(
                wire.rows("SELECT 'still here'").expect("again"),
                vec![vec![Some("still here".to_string())]]
            );
            match Wire::connect(&wrong) {
                Err(WireError::Server { code, .. }) => assert_eq!(code, 1045),
                other => panic!("expected access denied, got {other:?}"),
            }
        })
        .await
        .expect("thread");
    }

    /// The binary protocol gives the same rows as the text protocol: signed and unsigned
    /// integers of every width (their extremes too), decimals, strings, NULLs; a date-time
    /// column is refused before anything runs, and the connection goes on.
    #[tokio::test]
    async fn binary_rows_are_the_text_rows() {
        use mysql_async::prelude::Queryable;
        let (db, _) = ficus_magento_fixture::testing::empty_database("xwirebin").await;
        let opts = server();
        let mut conn = mysql_async::Conn::new(opts.clone()).await.expect("connect");
        conn.query_drop(format!(
            "CREATE TABLE {db}.t (id INT UNSIGNED PRIMARY KEY, a SMALLINT UNSIGNED, b TINYINT, \
             c INT, d BIGINT, e BIGINT UNSIGNED, f DECIMAL(20,6), g VARCHAR(20), h TEXT, \
             k DATETIME)"
        ))
        .await
        .expect("table");
        conn.query_drop(format!(
            "INSERT INTO {db}.t VALUES \
             (1, 65535, -128, -2147483648, -9223372036854775808, 18446744073709551615, -12.500000, 'Größe', 'x', NULL), \
             (2, 0, 127, 2147483647, 9223372036854775807, 0, 0.000001, '', NULL, '2024-01-02 03:04:05'), \
             (4294967295, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'long text', NULL)"
        ))
        .await
        .expect("rows");
        let mut target = Target::from_opts(&opts).expect("target");
        target.database = db.clone();
        let sql = "SELECT id, a, b, c, d, e, f, g, h FROM t ORDER BY id";
        tokio::task::spawn_blocking(move || {
            let mut wire = Wire::connect(&target).expect("wire connects");
            wire.execute("SET NAMES utf8mb4").expect("set names");
            let mut text: Vec<Vec<Option<String>>> = Vec::new();
            wire.query::<9, _>(sql, |cols| {
                text.push(
                    cols.iter()
                        .map(|c| c.map(|b| String::from_utf8_lossy(b).into_owned()))
                        .collect(),
                );
                Ok::<(), ()>(())
            })
            .expect("text");
            let mut binary: Vec<Vec<Option<String>>> = Vec::new();
            wire.query_binary::<9, _>(sql, |cells| {
                binary.push(
                    cells
                        .iter()
                        .map(|c| match c {
                            Cell::Null => None,
                            Cell::Int(n) => Some(n.to_string()),
                            Cell::UInt(n) => Some(n.to_string()),
                            Cell::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
                        })
                        .collect(),
                );
                Ok::<(), ()>(())
            })
            .expect("binary");
            assert_eq!(text.len(), 3);
            assert_eq!(binary, text);
            match wire.query_binary::<2, _>("SELECT id, k FROM t", |_| Ok::<(), ()>(())) {
                Err(QueryError::Wire(WireError::Unsupported(_))) => {}
                other => panic!("a DATETIME column in the binary protocol: {other:?}"),
            }
            assert_eq!(
                wire.rows("SELECT COUNT(*) FROM t").expect("still usable"),
                vec![vec![Some("3".to_string())]]
            );
        })
        .await
        .expect("thread");
        conn.query_drop(format!("DROP DATABASE {db}"))
            .await
            .expect("drop");
    }

    #[test]
    fn tls_and_sockets_are_left_to_mysql_async() {
        let url = "mysql://u:p@127.0.0.1:3306/db?require_ssl=true";
        let opts = mysql_async::Opts::from_url(url).expect("opts");
        assert!(matches!(
            Target::from_opts(&opts),
            Err(WireError::Unsupported(_))
        ));
        let url = "mysql://u:p@localhost/db?socket=/run/mysqld/mysqld.sock";
        let opts = mysql_async::Opts::from_url(url).expect("opts");
        assert!(matches!(
            Target::from_opts(&opts),
            Err(WireError::Unsupported(_))
        ));
    }
}
