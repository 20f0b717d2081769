//! A small JSON writer: documents are written straight into one buffer, keys in Magento's getter
//! order, with Magento's number formatting and no floating point anywhere.

use std::fmt::Write;

/// Appends `s` as a JSON string.
pub fn string(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    // Only ASCII bytes need escaping (every byte of a multi-byte character is 0x80 or above),
    // so a plain byte scan finds them; most values have none.
    let needs = |b: u8| b < 0x20 || b == b'"' || b == b'\\';
    if !bytes.iter().any(|&b| needs(b)) {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1F => "",
            _ => continue,
        };
        // `i` is an ASCII byte, so a character boundary.
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{:04x}", b);
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Appends a JSON array, writing each item with `item`.
pub fn array<T>(
    out: &mut String,
    items: impl IntoIterator<Item = T>,
    mut item: impl FnMut(&mut String, T),
) {
    out.push('[');
    for (i, x) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        item(out, x);
    }
    out.push(']');
}

/// Whether `s` is an integer as MySQL prints one.
pub fn is_integer(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// A MySQL DECIMAL as Magento prints a float-typed getter: trailing zeros and a bare point
/// dropped (`"34.500000"` → `34.5`, `"34.000000"` → `34`), every other digit kept exactly.
/// `None` if `s` is not a decimal.
pub fn magento_number(s: &str) -> Option<&str> {
    let body = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let ok = !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit());
    if !ok {
        return None;
    }
    if frac.is_empty() {
        return Some(s.strip_suffix('.').unwrap_or(s));
    }
    let trimmed = s.trim_end_matches('0');
    let trimmed = trimmed.strip_suffix('.').unwrap_or(trimmed);
    if trimmed == "-0" {
        return Some("0");
    }
    Some(trimmed)
}

/// An object being written: tracks whether a comma is due.
#[derive(Debug)]
pub struct Object<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Object<'a> {
    /// Opens `{`.
    pub fn new(out: &'a mut String) -> Self {
        out.push('{');
        Object { out, first: true }
    }

    /// Writes `"key":` and returns the buffer for the value.
    pub fn key(&mut self, key: &str) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        self.out.push('"');
        self.out.push_str(key);
        self.out.push_str("\":");
        self.out
    }

    /// `"key":"value"`.
    pub fn str(&mut self, key: &str, value: &str) {
        let out = self.key(key);
        string(out, value);
    }

    /// `"key":"value"` when there is a value.
    pub fn opt_str(&mut self, key: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.str(key, v);
        }
    }

    /// `"key":value` with `value` already valid JSON (a checked number, `true`, …).
    pub fn raw(&mut self, key: &str, value: &str) {
        self.key(key).push_str(value);
    }

    /// `"key":"<uuid>"`, hyphenated lower case.
    pub fn uuid(&mut self, key: &str, uuid: &uuid::Uuid) {
        let mut buf = uuid::Uuid::encode_buffer();
        self.str(key, uuid.hyphenated().encode_lower(&mut buf));
    }

    /// `"key":true|false`.
    pub fn bool(&mut self, key: &str, value: bool) {
        self.raw(key, if value { "true" } else { "false" });
    }

    /// Closes `}`.
    pub fn end(self) {
        self.out.push('}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_like_magento() {
        for (db, printed) in [
            ("34.500000", Some("34.5")),
            ("34.000000", Some("34")),
            ("0.000000", Some("0")),
            ("-0.500000", Some("-0.5")),
            ("-0.000000", Some("0")),
            ("12345678901234.123456", Some("12345678901234.123456")),
            ("100", Some("100")),
            ("1e5", None),
            ("", None),
            ("12.5.1", None),
        ] {
            assert_eq!(magento_number(db), printed, "{db}");
        }
    }

    #[test]
    fn strings_are_escaped_for_json() {
        let mut out = String::new();
        string(&mut out, "a\"b\\c\nd\u{1}é");
        assert_eq!(out, "\"a\\\"b\\\\c\\nd\\u0001é\"");
        let parsed: String = serde_json::from_str(&out).expect("valid JSON");
        assert_eq!(parsed, "a\"b\\c\nd\u{1}é");
    }

    proptest::proptest! {
        /// Any text, escapes or none, multi-byte or not, reads back the same with serde_json.
        #[test]
        fn any_string_reads_back(s in "(\\PC|[\"\\\\\u{0}-\u{1f}]){0,40}") {
            let mut out = String::new();
            string(&mut out, &s);
            let parsed: String = serde_json::from_str(&out).expect("valid JSON");
            proptest::prop_assert_eq!(parsed, s);
        }
    }
}
