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
//! - the keys `uuid` and `store_code` that eav-extract adds (top level, and in each of a
//!   customer's `addresses`) left out, as the services leave them out.
//!
//! Two documents with equal fingerprints are taken as equal (64-bit XXH3: a differing pair
//! collides with probability about 2⁻⁶⁴); the keys that differ are described field by field from the
//! parsed documents.

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
                Some(hash_of(b's', &self.scratch))
            }
            b't' => self.literal(b"true").map(|()| hash_of(b't', &[])),
            b'f' => self.literal(b"false").map(|()| hash_of(b'f', &[])),
            b'n' => self.literal(b"null").map(|()| hash_of(b'n', &[])),
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
        // All digits, leading and trailing zeros dropped; the exponent counts from the last.
        let digits = &mut self.number;
        digits.clear();
        digits.extend_from_slice(int);
        digits.extend_from_slice(frac);
        let Some(first) = digits.iter().position(|d| *d != b'0') else {
            return Some(hash_of(b'#', b"0"));
        };
        let last = digits.iter().rposition(|d| *d != b'0').unwrap_or(first);
        let power = exp - frac.len() as i64 + (digits.len() - 1 - last) as i64;
        digits.truncate(last + 1);
        digits.drain(..first);
        digits.push(if negative { b'-' } else { b'+' });
        digits.extend_from_slice(&power.to_le_bytes());
        Some(hash_of(b'#', digits))
    }
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
