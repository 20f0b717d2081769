//! Magento's store-scope rules, as one pure function over an entity's value rows.
//!
//! Reading store view S (reference §2, `Eav/Model/ResourceModel/ReadHandler.php`): rows of stores
//! 0 and S are applied in ascending store order, so S's row wins when present — also when its
//! value is NULL; a missing row means "use default". Global attributes take only the store 0 row
//! (stale store rows from a scope change are ignored). Website attributes have no website
//! column: they are stored once per store view of the website and read like store-view ones.

use std::sync::Arc;

use crate::meta::Scope;

/// One row of a value table, for one entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// `attribute_id`.
    pub attr: u16,
    /// `store_id` (0 for customer tables, which have none).
    pub store: u16,
    /// `value` as the database prints it; `None` for SQL NULL.
    pub value: Option<Text>,
}

/// A value's text: a slice of a buffer shared by many values (a spill bucket's values, checked
/// as UTF-8 once), so that ten million values are not ten million allocations.
#[derive(Clone)]
pub struct Text {
    buf: Arc<str>,
    start: u32,
    len: u32,
}

impl Text {
    /// The text of `buf[start..start + len]`, or `None` when that is not a range of whole
    /// characters in `buf`.
    pub fn slice(buf: &Arc<str>, start: u32, len: u32) -> Option<Text> {
        let end = start.checked_add(len)?;
        buf.get(start as usize..end as usize)?;
        Some(Text {
            buf: buf.clone(),
            start,
            len,
        })
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        // The range was checked when the slice was made.
        &self.buf[self.start as usize..(self.start + self.len) as usize]
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
        let buf: Arc<str> = Arc::from(s);
        let len = len.min(u32::try_from(buf.len()).unwrap_or(u32::MAX));
        Text { buf, start: 0, len }
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text::from(s.to_string())
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        **self == **other
    }
}

impl Eq for Text {}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

/// The value each attribute has in `store`, in attribute order: `(attr, value)`, where a value
/// of `None` is an explicit NULL. `rows` must be sorted by (attr, store); `scope` says each
/// attribute's scope.
pub fn resolve<'r>(
    rows: &'r [Row],
    store: u16,
    scope: impl Fn(u16) -> Scope,
    mut emit: impl FnMut(u16, Option<&'r str>),
) {
    let mut i = 0;
    while i < rows.len() {
        let attr = rows[i].attr;
        let mut default = None;
        let mut own = None;
        while i < rows.len() && rows[i].attr == attr {
            let r = &rows[i];
            if r.store == 0 {
                default = Some(r);
            } else if r.store == store {
                own = Some(r);
            }
            i += 1;
        }
        let chosen = match scope(attr) {
            Scope::Global => default,
            Scope::Store | Scope::Website => own.or(default),
        };
        if let Some(r) = chosen {
            emit(attr, r.value.as_deref());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn scope_of(attr: u16) -> Scope {
        match attr % 3 {
            0 => Scope::Store,
            1 => Scope::Global,
            _ => Scope::Website,
        }
    }

    /// Rows as a table keeps them: unique per (attr, store), sorted.
    fn table() -> impl Strategy<Value = Vec<Row>> {
        proptest::collection::btree_map(
            (0u16..12, 0u16..5),
            proptest::option::weighted(0.85, "[a-z0-9]{0,4}"),
            0..40,
        )
        .prop_map(|m| {
            m.into_iter()
                .map(|((attr, store), value)| Row {
                    attr,
                    store,
                    value: value.map(Text::from),
                })
                .collect()
        })
    }

    fn resolved(rows: &[Row], store: u16) -> BTreeMap<u16, Option<String>> {
        let mut out = BTreeMap::new();
        resolve(rows, store, scope_of, |a, v| {
            assert!(
                out.insert(a, v.map(str::to_string)).is_none(),
                "one value per attribute"
            );
        });
        out
    }

    /// A value split inside a character is refused: two values that are not UTF-8 on their
    /// own can make valid UTF-8 together (a bucket's values are checked as one text).
    #[test]
    fn text_slices_whole_characters_only() {
        let buf: std::sync::Arc<str> = std::sync::Arc::from("aé✓");
        assert_eq!(Text::slice(&buf, 0, 3).as_deref(), Some("aé"));
        assert_eq!(Text::slice(&buf, 3, 3).as_deref(), Some("✓"));
        assert!(Text::slice(&buf, 0, 2).is_none(), "ends inside é");
        assert!(Text::slice(&buf, 2, 4).is_none(), "starts inside é");
        assert!(Text::slice(&buf, 4, 9).is_none(), "past the end");
        assert!(Text::slice(&buf, u32::MAX, 2).is_none(), "overflow");
        assert_eq!(Text::slice(&buf, 0, 1).expect("a"), Text::from("a"));
    }

    proptest! {
        /// Store 0 alone gives every attribute its default row.
        #[test]
        fn admin_store_reads_defaults(rows in table()) {
            let got = resolved(&rows, 0);
            let defaults: BTreeMap<u16, Option<String>> = rows
                .iter()
                .filter(|r| r.store == 0)
                .map(|r| (r.attr, r.value.as_deref().map(str::to_string)))
                .collect();
            prop_assert_eq!(got, defaults);
        }

        /// A non-global attribute's own store row wins (NULL included); without one, the default.
        #[test]
        fn store_rows_override_defaults(rows in table(), store in 1u16..5) {
            let got = resolved(&rows, store);
            for (attr, value) in &got {
                let own = rows.iter().find(|r| r.attr == *attr && r.store == store);
                let default = rows.iter().find(|r| r.attr == *attr && r.store == 0);
                let expected = match scope_of(*attr) {
                    Scope::Global => default,
                    _ => own.or(default),
                };
                prop_assert_eq!(
                    Some(value.clone()),
                    expected.map(|r| r.value.as_deref().map(str::to_string))
                );
            }
        }

        /// Rows of other stores never matter, and global attributes ignore every store row.
        #[test]
        fn only_stores_zero_and_s_count(rows in table(), store in 1u16..5, noise in table()) {
            let mut mixed: BTreeMap<(u16, u16), Option<Text>> =
                rows.iter().map(|r| ((r.attr, r.store), r.value.clone())).collect();
            for r in &noise {
                let global_store_row = scope_of(r.attr) == Scope::Global && r.store != 0;
                if (r.store != 0 && r.store != store) || global_store_row {
                    mixed.insert((r.attr, r.store), r.value.clone());
                }
            }
            let mixed: Vec<Row> = mixed
                .into_iter()
                .map(|((attr, store), value)| Row { attr, store, value })
                .collect();
            prop_assert_eq!(resolved(&rows, store), resolved(&mixed, store));
        }

        /// An attribute appears exactly when it has a row in store 0 or (non-global) in S.
        #[test]
        fn missing_rows_mean_absent(rows in table(), store in 1u16..5) {
            let got = resolved(&rows, store);
            for attr in 0u16..12 {
                let has = rows.iter().any(|r| r.attr == attr
                    && (r.store == 0 || (r.store == store && scope_of(attr) != Scope::Global)));
                prop_assert_eq!(got.contains_key(&attr), has);
            }
        }
    }
}
