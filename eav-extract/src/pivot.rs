//! Magento's store-scope rules, as one pure function over an entity's value rows.
//!
//! Reading store view S (reference §2, `Eav/Model/ResourceModel/ReadHandler.php`): rows of stores
//! 0 and S are applied in ascending store order, so S's row wins when present — also when its
//! value is NULL; a missing row means "use default". Global attributes take only the store 0 row
//! (stale store rows from a scope change are ignored). Website attributes have no website
//! column: they are stored once per store view of the website and read like store-view ones.

use crate::meta::Scope;

/// One row of a value table, for one entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// `attribute_id`.
    pub attr: u16,
    /// `store_id` (0 for customer tables, which have none).
    pub store: u16,
    /// `value` as the database prints it; `None` for SQL NULL.
    pub value: Option<String>,
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
                .map(|((attr, store), value)| Row { attr, store, value })
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

    proptest! {
        /// Store 0 alone gives every attribute its default row.
        #[test]
        fn admin_store_reads_defaults(rows in table()) {
            let got = resolved(&rows, 0);
            let defaults: BTreeMap<u16, Option<String>> = rows
                .iter()
                .filter(|r| r.store == 0)
                .map(|r| (r.attr, r.value.clone()))
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
                prop_assert_eq!(Some(value), expected.map(|r| &r.value));
            }
        }

        /// Rows of other stores never matter, and global attributes ignore every store row.
        #[test]
        fn only_stores_zero_and_s_count(rows in table(), store in 1u16..5, noise in table()) {
            let mut mixed: BTreeMap<(u16, u16), Option<String>> =
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
