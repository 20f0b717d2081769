//! PostgreSQL's `hashtextextended(text, seed)` computed in Rust, so that verify can ask the
//! service's database for a 64-bit hash of each stored document instead of the document itself
//! (650 MB of text on the `large` store), and hash the text it expects the same way.
//!
//! For text in a deterministic collation (every database's default; the services keep each
//! document's hash in a `document_hash` column) PostgreSQL hashes the string's bytes with
//! `hash_bytes_extended` (`src/common/hashfn.c`): Bob Jenkins' lookup3 over 12-byte blocks, read
//! little-endian, the length folded into the initial state and the seed taken as a first block
//! when it is not 0; the result is `(b << 32) | c`. The test compares it with the server for many
//! lengths and texts.

/// `hashtextextended(bytes, seed)` as PostgreSQL returns it (a `bigint`) on a little-endian
/// server.
pub fn hash_text_extended(bytes: &[u8], seed: u64) -> i64 {
    hash_from(bytes.len(), seed, None, bytes)
}

/// [`hash_text_extended`] of the byte `first` followed by `rest`, without joining them.
pub fn hash_text_extended_after(first: u8, rest: &[u8], seed: u64) -> i64 {
    if rest.len() < 11 {
        let mut joined = [0u8; 12];
        joined[0] = first;
        joined[1..=rest.len()].copy_from_slice(rest);
        return hash_text_extended(&joined[..=rest.len()], seed);
    }
    let mut block = [0u8; 12];
    block[0] = first;
    block[1..].copy_from_slice(&rest[..11]);
    hash_from(rest.len() + 1, seed, Some(block), &rest[11..])
}

/// The hash of `len` bytes: the 12 of `head` (if any), then `k`.
fn hash_from(len: usize, seed: u64, head: Option<[u8; 12]>, k: &[u8]) -> i64 {
    let init = 0x9e37_79b9u32
        .wrapping_add(len as u32)
        .wrapping_add(3_923_095);
    let (mut a, mut b, mut c) = (init, init, init);
    if seed != 0 {
        // The seed as a first 12-byte block: high half, low half, four zero bytes.
        a = a.wrapping_add((seed >> 32) as u32);
        b = b.wrapping_add(seed as u32);
        mix(&mut a, &mut b, &mut c);
    }
    let word = |k: &[u8]| u32::from_le_bytes([k[0], k[1], k[2], k[3]]);
    if let Some(h) = head {
        a = a.wrapping_add(word(&h[0..4]));
        b = b.wrapping_add(word(&h[4..8]));
        c = c.wrapping_add(word(&h[8..12]));
        mix(&mut a, &mut b, &mut c);
    }
    let mut k = k;
    while k.len() >= 12 {
        a = a.wrapping_add(word(&k[0..4]));
        b = b.wrapping_add(word(&k[4..8]));
        c = c.wrapping_add(word(&k[8..12]));
        mix(&mut a, &mut b, &mut c);
        k = &k[12..];
    }
    // The last 0–11 bytes; the lowest byte of c stays free (as in PostgreSQL).
    let byte = |i: usize| u32::from(k[i]);
    let n = k.len();
    if n >= 11 {
        c = c.wrapping_add(byte(10) << 24);
    }
    if n >= 10 {
        c = c.wrapping_add(byte(9) << 16);
    }
    if n >= 9 {
        c = c.wrapping_add(byte(8) << 8);
    }
    if n >= 8 {
        b = b.wrapping_add(byte(7) << 24);
    }
    if n >= 7 {
        b = b.wrapping_add(byte(6) << 16);
    }
    if n >= 6 {
        b = b.wrapping_add(byte(5) << 8);
    }
    if n >= 5 {
        b = b.wrapping_add(byte(4));
    }
    if n >= 4 {
        a = a.wrapping_add(byte(3) << 24);
    }
    if n >= 3 {
        a = a.wrapping_add(byte(2) << 16);
    }
    if n >= 2 {
        a = a.wrapping_add(byte(1) << 8);
    }
    if n >= 1 {
        a = a.wrapping_add(byte(0));
    }
    finish(&mut a, &mut b, &mut c);
    ((u64::from(b) << 32) | u64::from(c)) as i64
}

fn mix(a: &mut u32, b: &mut u32, c: &mut u32) {
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(4);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(6);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(8);
    *b = b.wrapping_add(*a);
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(16);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(19);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(4);
    *b = b.wrapping_add(*a);
}

fn finish(a: &mut u32, b: &mut u32, c: &mut u32) {
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(14));
    *a ^= *c;
    *a = a.wrapping_sub(c.rotate_left(11));
    *b ^= *a;
    *b = b.wrapping_sub(a.rotate_left(25));
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(16));
    *a ^= *c;
    *a = a.wrapping_sub(c.rotate_left(4));
    *b ^= *a;
    *b = b.wrapping_sub(a.rotate_left(14));
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(24));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against the real server: every length from 0 to 100 (all tail cases, several blocks),
    /// multi-byte text, a document-sized text, and seeds 0 and not 0.
    #[tokio::test]
    async fn agrees_with_postgresql() {
        let url = format!("{}/postgres", ficus_magento_fixture::testing::pg_server());
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await
            .expect("PostgreSQL");
        let mut texts: Vec<String> = (0..=100)
            .map(|n| {
                (0..n)
                    .map(|i| char::from(b'!' + ((i * 7 + n) % 90) as u8))
                    .collect()
            })
            .collect();
        texts.push("Größe ✓ 😀 {\"sku\":\"A-1\",\"price\":34.5}".into());
        texts.push(r#"{"id":7,"sku":"A","custom_attributes":[]}"#.repeat(40));
        for seed in [0u64, 1, 0xDEAD_BEEF_0000_0042, u64::MAX] {
            let want: Vec<(i64,)> = sqlx::query_as(
                "SELECT hashtextextended(t COLLATE \"C\", $2) FROM unnest($1::text[]) WITH ORDINALITY AS u(t, i) ORDER BY i",
            )
            .bind(&texts)
            .bind(seed as i64)
            .fetch_all(&pool)
            .await
            .expect("hashtextextended");
            for (text, (want,)) in texts.iter().zip(want) {
                let bytes = text.as_bytes();
                assert_eq!(
                    hash_text_extended(bytes, seed),
                    want,
                    "seed {seed}, {} bytes: {text:?}",
                    text.len()
                );
                if let Some((first, rest)) = bytes.split_first() {
                    assert_eq!(hash_text_extended_after(*first, rest, seed), want);
                }
            }
        }
    }
}
