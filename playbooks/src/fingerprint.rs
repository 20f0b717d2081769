//! A document's canonical fingerprint, computed straight from its JSON text.
//!
//! verify compares Magento's documents (eav-extract's text) with the service's (PostgreSQL's
//! `jsonb` printed as text: keys in its own order, `", "` and `": "` between members). Parsing
//! both into trees to compare them cost more than reading them. Instead each text is walked once
//! and hashed in a canonical form, without building anything:
//!
//! - object members in any order (each member hashed on its own, the hashes summed);
//! - whitespace ignored; strings compared after unescaping (`"\u00e9"` equals `"é"`);
//! - numbers as exact decimals (`34.50`, `34.5` and `3.45e1` are one number; no floating point);
//! - booleans as the numbers MariaDB stores them as (`true` is `1`, `false` is `0`);
//! - a string that is a date or a timestamp as the instant it names: MariaDB's
//!   `2024-03-01 10:00:00`, ISO 8601's `2024-03-01T12:00:00+02:00` or `…T10:00:00.000Z`, and the
//!   date `2024-03-01` as its midnight (as MariaDB compares a DATE with a DATETIME). Magento
//!   stores UTC, so a timestamp without an offset is UTC. A zero date (`0000-00-00`, with or
//!   without a time) is `null`, as Debezium and PostgreSQL have it;
//! - the keys `uuid` and `store_code` that eav-extract adds (top level, and in each of a
//!   customer's `addresses`) left out, as the services leave them out.
//!
//! Two documents with equal fingerprints are taken as equal (64-bit XXH3: a differing pair
//! collides with probability about 2⁻⁶⁴); the keys that differ are described field by field from the
//! parsed documents.

use chrono::Datelike;
use twox_hash::XxHash3_64;

/// The fingerprint of a JSON document, `None` if `text` is not JSON.
pub fn fingerprint(text: &str) -> Option<u64> {
    let mut p = Parser {
        s: text.as_bytes(),
        at: 0,
        scratch: Vec::new(),
        number: Vec::new(),
    };
    let h = p.value(Place::Top)?;
    p.space();
    (p.at == p.s.len()).then_some(h)
}

/// Where a value sits: where eav-extract's own keys may be.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// The document itself.
    Top,
    /// The top level's `addresses` array.
    Addresses,
    /// An item of that array.
    Address,
    /// Anywhere else.
    Inner,
}

/// A distinct constant per kind of value, so that equal bytes of different kinds differ.
fn tag_key(tag: u8) -> u64 {
    u64::from(tag).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

fn hash_of(tag: u8, bytes: &[u8]) -> u64 {
    XxHash3_64::oneshot(bytes) ^ tag_key(tag)
}

fn combine(tag: u8, a: u64, b: u64) -> u64 {
    let mut both = [0u8; 16];
    both[..8].copy_from_slice(&a.to_le_bytes());
    both[8..].copy_from_slice(&b.to_le_bytes());
    XxHash3_64::oneshot(&both) ^ tag_key(tag)
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
    /// An unescaped string.
    scratch: Vec<u8>,
    /// A number's canonical form.
    number: Vec<u8>,
}

impl Parser<'_> {
    fn space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.at) {
            self.at += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        self.space();
        if self.s.get(self.at) == Some(&b) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at + word.len();
        (self.s.get(self.at..end) == Some(word)).then(|| self.at = end)
    }

    fn value(&mut self, place: Place) -> Option<u64> {
        self.space();
        match *self.s.get(self.at)? {
            b'{' => self.object(place),
            b'[' => self.array(place),
            b'"' => {
                self.string()?;
                Some(match moment(&self.scratch) {
                    Some(Moment::Zero) => null(),
                    Some(Moment::At { seconds, nanos }) => {
                        let mut bytes = [0u8; 12];
                        bytes[..8].copy_from_slice(&seconds.to_le_bytes());
                        bytes[8..].copy_from_slice(&nanos.to_le_bytes());
                        hash_of(b'T', &bytes)
                    }
                    None => hash_of(b's', &self.scratch),
                })
            }
            b't' => self.literal(b"true").map(|()| self.decimal(false, b"1", 0)),
            b'f' => self
                .literal(b"false")
                .map(|()| self.decimal(false, b"0", 0)),
            b'n' => self.literal(b"null").map(|()| null()),
            _ => self.number(),
        }
    }

    fn object(&mut self, place: Place) -> Option<u64> {
        self.at += 1;
        let (mut sum, mut count) = (0u64, 0u64);
        if self.eat(b'}') {
            return Some(combine(b'{', 0, 0));
        }
        loop {
            self.space();
            if self.s.get(self.at) != Some(&b'"') {
                return None;
            }
            self.string()?;
            let skip = matches!(place, Place::Top | Place::Address)
                && matches!(self.scratch.as_slice(), b"uuid" | b"store_code");
            let inner = if place == Place::Top && self.scratch == b"addresses" {
                Place::Addresses
            } else {
                Place::Inner
            };
            let key = hash_of(b'k', &self.scratch);
            if !self.eat(b':') {
                return None;
            }
            let value = self.value(inner)?;
            if !skip {
                sum = sum.wrapping_add(combine(b':', key, value));
                count += 1;
            }
            if self.eat(b',') {
                continue;
            }
            return self.eat(b'}').then(|| combine(b'{', sum, count));
        }
    }

    fn array(&mut self, place: Place) -> Option<u64> {
        self.at += 1;
        let inner = if place == Place::Addresses {
            Place::Address
        } else {
            Place::Inner
        };
        let mut h = tag_key(b'[');
        if self.eat(b']') {
            return Some(h);
        }
        loop {
            h = combine(b'[', h, self.value(inner)?);
            if self.eat(b',') {
                continue;
            }
            return self.eat(b']').then_some(h);
        }
    }

    /// Reads a string (the cursor on its quote), unescaped, into `scratch`.
    fn string(&mut self) -> Option<()> {
        self.at += 1;
        self.scratch.clear();
        loop {
            let rest = self.s.get(self.at..)?;
            let run = rest.iter().position(|b| *b == b'"' || *b == b'\\')?;
            self.scratch.extend_from_slice(&rest[..run]);
            self.at += run;
            if self.s[self.at] == b'"' {
                self.at += 1;
                return Some(());
            }
            let e = *self.s.get(self.at + 1)?;
            self.at += 2;
            let c = match e {
                b'"' => '"',
                b'\\' => '\\',
                b'/' => '/',
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                b'u' => {
                    let hi = self.hex4()?;
                    let code = if (0xD800..0xDC00).contains(&hi) {
                        if self.s.get(self.at..self.at + 2) != Some(b"\\u") {
                            return None;
                        }
                        self.at += 2;
                        let lo = self.hex4()?;
                        if !(0xDC00..0xE000).contains(&lo) {
                            return None;
                        }
                        0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                    } else {
                        hi
                    };
                    char::from_u32(code)?
                }
                _ => return None,
            };
            let mut buf = [0u8; 4];
            self.scratch
                .extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = std::str::from_utf8(self.s.get(self.at..self.at + 4)?).ok()?;
        self.at += 4;
        u32::from_str_radix(digits, 16).ok()
    }

    /// A number, hashed as an exact decimal: sign, significant digits, and the power of ten of
    /// the last one.
    fn number(&mut self) -> Option<u64> {
        let start = self.at;
        let s = self.s;
        let negative = s.get(self.at) == Some(&b'-');
        if negative {
            self.at += 1;
        }
        let int_start = self.at;
        while s.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
        let int = &s[int_start..self.at];
        if int.is_empty() {
            return None;
        }
        let mut frac: &[u8] = &[];
        if s.get(self.at) == Some(&b'.') {
            self.at += 1;
            let f = self.at;
            while s.get(self.at).is_some_and(u8::is_ascii_digit) {
                self.at += 1;
            }
            frac = &s[f..self.at];
            if frac.is_empty() {
                return None;
            }
        }
        let mut exp: i64 = 0;
        if let Some(b'e' | b'E') = s.get(self.at) {
            self.at += 1;
            let sign = match s.get(self.at) {
                Some(b'-') => {
                    self.at += 1;
                    -1
                }
                Some(b'+') => {
                    self.at += 1;
                    1
                }
                _ => 1,
            };
            let e = self.at;
            while s.get(self.at).is_some_and(u8::is_ascii_digit) {
                self.at += 1;
            }
            let digits = std::str::from_utf8(&s[e..self.at]).ok()?;
            exp = sign * digits.parse::<i64>().ok()?.min(1 << 40);
        }
        debug_assert!(self.at > start);
        let mut all = std::mem::take(&mut self.number);
        all.clear();
        all.extend_from_slice(int);
        all.extend_from_slice(frac);
        let h = self.decimal(negative, &all, exp - frac.len() as i64);
        self.number = all;
        Some(h)
    }

    /// The hash of the decimal `±digits × 10^power`: its significant digits (leading and trailing
    /// zeros dropped), its sign, and the power of ten of its last digit.
    fn decimal(&mut self, negative: bool, all: &[u8], power: i64) -> u64 {
        let digits = &mut self.scratch;
        digits.clear();
        digits.extend_from_slice(all);
        let Some(first) = digits.iter().position(|d| *d != b'0') else {
            return hash_of(b'#', b"0");
        };
        let last = digits.iter().rposition(|d| *d != b'0').unwrap_or(first);
        let power = power + (digits.len() - 1 - last) as i64;
        digits.truncate(last + 1);
        digits.drain(..first);
        digits.push(if negative { b'-' } else { b'+' });
        digits.extend_from_slice(&power.to_le_bytes());
        hash_of(b'#', digits)
    }
}

fn null() -> u64 {
    hash_of(b'n', &[])
}

/// What a date or timestamp string names.
#[derive(Debug, PartialEq, Eq)]
enum Moment {
    /// MariaDB's zero date.
    Zero,
    /// An instant: seconds since 1970-01-01 00:00 UTC, and nanoseconds.
    At { seconds: i64, nanos: u32 },
}

/// `YYYY-MM-DD`, then optionally `[T ]HH:MM[:SS[.fraction]]`, then optionally `Z` or `±HH[[:]MM]`;
/// `None` for any other string (and for a date that does not exist, such as `2024-02-30`).
fn moment(s: &[u8]) -> Option<Moment> {
    // Most strings are not dates: refuse them on their first bytes.
    if s.len() < 10 || s[4] != b'-' || s[7] != b'-' || !s[0].is_ascii_digit() {
        return None;
    }
    let mut at = 0;
    let digits = |n: usize, at: &mut usize| -> Option<u32> {
        let part = s.get(*at..*at + n)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        *at += n;
        Some(part.iter().fold(0, |v, d| v * 10 + u32::from(d - b'0')))
    };
    let year = digits(4, &mut at)?;
    at += 1;
    let month = digits(2, &mut at)?;
    at += 1;
    let day = digits(2, &mut at)?;
    let (mut hour, mut minute, mut second, mut nanos) = (0, 0, 0, 0);
    if let Some(b'T' | b' ') = s.get(at) {
        at += 1;
        hour = digits(2, &mut at)?;
        (s.get(at) == Some(&b':')).then_some(())?;
        at += 1;
        minute = digits(2, &mut at)?;
        if s.get(at) == Some(&b':') {
            at += 1;
            second = digits(2, &mut at)?;
            if s.get(at) == Some(&b'.') {
                at += 1;
                let start = at;
                while s.get(at).is_some_and(u8::is_ascii_digit) {
                    at += 1;
                }
                let fraction = &s[start..at];
                if fraction.is_empty() || fraction.len() > 9 {
                    return None;
                }
                nanos = fraction.iter().fold(0, |v, d| v * 10 + u32::from(d - b'0'))
                    * 10u32.pow(9 - fraction.len() as u32);
            }
        }
    }
    let mut offset: i64 = 0;
    match s.get(at) {
        None => {}
        Some(b'Z') => at += 1,
        Some(sign @ (b'+' | b'-')) => {
            let negative = *sign == b'-';
            at += 1;
            let hours = digits(2, &mut at)?;
            if s.get(at) == Some(&b':') {
                at += 1;
            }
            let minutes = if at < s.len() { digits(2, &mut at)? } else { 0 };
            if hours > 23 || minutes > 59 {
                return None;
            }
            offset = i64::from(hours * 60 + minutes) * 60;
            if negative {
                offset = -offset;
            }
        }
        Some(_) => return None,
    }
    if at != s.len() {
        return None;
    }
    if year == 0 && month == 0 && day == 0 {
        return (hour == 0 && minute == 0 && second == 0 && nanos == 0).then_some(Moment::Zero);
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let date = chrono::NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    let days = i64::from(date.num_days_from_ce()) - 719_163;
    let seconds = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset;
    Some(Moment::At { seconds, nanos })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn fp(v: &str) -> u64 {
        fingerprint(v).unwrap_or_else(|| panic!("not JSON: {v}"))
    }

    #[test]
    fn layout_order_and_escapes_do_not_matter() {
        let a = r#"{"sku":"A-1","price":34.50,"custom_attributes":[{"attribute_code":"x","value":"é"}]}"#;
        let b = "{\"custom_attributes\": [{\"value\": \"\\u00e9\", \"attribute_code\": \"x\"}], \"price\": 3.45e1,\n \"sku\": \"A\\u002d1\"}";
        assert_eq!(fp(a), fp(b));
        assert_eq!(fp("0.0"), fp("-0"));
        assert_eq!(fp("100"), fp("1e2"));
        assert_eq!(fp("1.5"), fp("15E-1"));
        assert_eq!(fp(r#""😀""#), fp(r#""\ud83d\ude00""#));
    }

    #[test]
    fn any_change_of_a_value_changes_it() {
        let base = fp(r#"{"a":[1,2],"b":{"c":"x"},"d":true,"e":null,"f":1.5}"#);
        for changed in [
            r#"{"a":[2,1],"b":{"c":"x"},"d":true,"e":null,"f":1.5}"#,
            r#"{"a":[1,2],"b":{"c":"y"},"d":true,"e":null,"f":1.5}"#,
            r#"{"a":[1,2],"b":{"c":"x"},"d":false,"e":null,"f":1.5}"#,
            r#"{"a":[1,2],"b":{"c":"x"},"d":true,"e":0,"f":1.5}"#,
            r#"{"a":[1,2],"b":{"c":"x"},"d":true,"e":null,"f":1.51}"#,
            r#"{"a":[1,2],"b":{"c":"x"},"d":true,"e":null,"f":-1.5}"#,
            r#"{"a":[1,2],"b":{"c":"x"},"d":true,"e":null,"f":"1.5"}"#,
            r#"{"a":[1,2],"b":{"c":"x"},"d":true,"e":null}"#,
            r#"{"a":[1,2],"b":{"c":"x"},"d":true,"e":null,"f":1.5,"g":1}"#,
            r#"{"a":[1,2],"b":{"C":"x"},"d":true,"e":null,"f":1.5}"#,
            r#"{"a":[1,2,[]],"b":{"c":"x"},"d":true,"e":null,"f":1.5}"#,
        ] {
            assert_ne!(fp(changed), base, "{changed}");
        }
        // A key moved into another object is a change, not a reordering.
        assert_ne!(fp(r#"{"a":{"b":1},"c":2}"#), fp(r#"{"a":{"b":1,"c":2}}"#));
    }

    #[test]
    fn eav_extracts_own_keys_are_left_out_where_the_services_leave_them_out() {
        let extract =
            r#"{"uuid":"u","store_code":"default","id":1,"addresses":[{"uuid":"v","id":2}]}"#;
        let service = r#"{"id":1,"addresses":[{"id":2}]}"#;
        assert_eq!(fp(extract), fp(service));
        // Elsewhere they are data.
        assert_ne!(
            fp(r#"{"x":{"uuid":"u"}}"#),
            fp(r#"{"x":{}}"#),
            "uuid inside another object"
        );
    }

    #[test]
    fn timestamps_zero_dates_and_booleans_compare_by_what_they_mean() {
        let same = [
            // One instant written as MariaDB prints it, as ISO 8601 in UTC, and at other offsets.
            &[
                r#""2024-03-01 10:00:00""#,
                r#""2024-03-01T10:00:00Z""#,
                r#""2024-03-01T10:00:00.000000""#,
                r#""2024-03-01T12:00:00+02:00""#,
                r#""2024-03-01T12:30:00+0230""#,
                r#""2024-02-29T21:00:00-13""#,
                r#""2024-03-01T10:00""#,
            ][..],
            &[
                r#""2024-03-01""#,
                r#""2024-03-01 00:00:00""#,
                r#""2024-02-29T23:00:00-01:00""#,
            ],
            &[
                r#""2024-03-01 10:00:00.5""#,
                r#""2024-03-01T10:00:00.500Z""#,
            ],
            &["null", r#""0000-00-00""#, r#""0000-00-00 00:00:00""#],
            &["true", "1", "1.0", "1e0"],
            &["false", "0", "-0.00"],
        ];
        for group in same {
            for v in group {
                assert_eq!(fp(v), fp(group[0]), "{v} = {}", group[0]);
            }
        }
        for (i, group) in same.iter().enumerate() {
            for other in &same[i + 1..] {
                assert_ne!(fp(group[0]), fp(other[0]), "{} ≠ {}", group[0], other[0]);
            }
        }
        for (a, b) in [
            (r#""2024-03-01 10:00:00""#, r#""2024-03-01 10:00:01""#),
            (
                r#""2024-03-01 10:00:00""#,
                r#""2024-03-01 10:00:00.000001""#,
            ),
            (
                r#""2024-03-01T10:00:00+01:00""#,
                r#""2024-03-01T10:00:00Z""#,
            ),
            // Not dates: compared as the strings they are.
            (r#""2024-02-30""#, r#""2024-03-01""#),
            (r#""2024-03-01 25:00:00""#, r#""2024-03-02 01:00:00""#),
            (r#""2024-03-01 10:00:00 UTC""#, r#""2024-03-01 10:00:00""#),
            (r#""0000-00-00 10:00:00""#, "null"),
            (r#""0000-00-00""#, r#""""#),
            // Strings stay strings; booleans are 0 and 1 only.
            ("true", r#""1""#),
            ("true", "2"),
            ("false", "null"),
        ] {
            assert_ne!(fp(a), fp(b), "{a} ≠ {b}");
        }
    }

    proptest::proptest! {
        /// Any instant printed by chrono in MariaDB's form (UTC) and in RFC 3339 at any offset
        /// has one fingerprint; a second later has another.
        #[test]
        fn an_instant_in_any_notation(
            seconds in -30_000_000_000i64..250_000_000_000,
            micros in 0u32..1_000_000,
            offset_minutes in -(23 * 60 + 59)..=(23 * 60 + 59),
        ) {
            use chrono::{DateTime, FixedOffset};
            let utc = DateTime::from_timestamp(seconds, micros * 1000).expect("in range");
            let zone = FixedOffset::east_opt(offset_minutes * 60).expect("offset");
            let mariadb = format!("\"{}\"", utc.format("%Y-%m-%d %H:%M:%S%.6f"));
            let rfc = format!("\"{}\"", utc.with_timezone(&zone).to_rfc3339());
            proptest::prop_assert_eq!(fp(&mariadb), fp(&rfc), "{} {}", mariadb, rfc);
            let later = DateTime::from_timestamp(seconds + 1, micros * 1000).expect("in range");
            let later = format!("\"{}\"", later.with_timezone(&zone).to_rfc3339());
            proptest::prop_assert_ne!(fp(&mariadb), fp(&later));
        }
    }

    #[test]
    fn not_json_has_none() {
        for bad in [
            "",
            "{",
            r#"{"a"}"#,
            r#"{"a":1,}"#,
            "[1,]",
            "01x",
            "1.",
            "-",
            r#""\x""#,
            "tru",
            r#"{"a":1} 2"#,
            r#""\ud83d""#,
        ] {
            assert_eq!(fingerprint(bad), None, "{bad}");
        }
    }

    /// Random documents: printed compactly or pretty, with members in another order, the
    /// fingerprint is the same; a changed leaf changes it.
    fn json_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            "\\PC{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 40, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map("[a-z]{1,6}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn reversed(v: &Value) -> String {
        match v {
            Value::Object(m) => {
                let members: Vec<String> = m
                    .iter()
                    .rev()
                    .map(|(k, v)| format!("{} : {}", Value::from(k.as_str()), reversed(v)))
                    .collect();
                format!("{{ {} }}", members.join(" , "))
            }
            Value::Array(a) => {
                let items: Vec<String> = a.iter().map(reversed).collect();
                format!("[ {} ]", items.join(" , "))
            }
            other => other.to_string(),
        }
    }

    proptest::proptest! {
        #[test]
        fn same_document_same_fingerprint(v in json_value()) {
            let compact = v.to_string();
            let pretty = serde_json::to_string_pretty(&v).expect("print");
            proptest::prop_assert_eq!(fp(&compact), fp(&pretty));
            proptest::prop_assert_eq!(fp(&compact), fp(&reversed(&v)));
        }

        #[test]
        fn another_leaf_another_fingerprint(v in json_value(), n in proptest::prelude::any::<i64>()) {
            let wrapped = json!({"doc": v, "leaf": n});
            let other = json!({"doc": v, "leaf": n.wrapping_add(1)});
            proptest::prop_assert_ne!(fp(&wrapped.to_string()), fp(&other.to_string()));
        }
    }
}
