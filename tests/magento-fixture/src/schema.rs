//! Magento's DDL, as ficus writes it: CE 2.4 tables, and the Adobe Commerce staging variant.

const CE_SQL: &str = include_str!("../sql/ce.sql");
const EE_SQL: &str = include_str!("../sql/ee.sql");

/// Which Magento edition's table layout to create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edition {
    /// Magento Open Source: entity tables keyed by `entity_id`.
    Ce,
    /// Adobe Commerce with content staging: `row_id` versions, `sequence_*` tables.
    Ee,
}

impl Edition {
    /// The column that keys product and category value tables.
    pub fn link_field(self) -> &'static str {
        match self {
            Edition::Ce => "entity_id",
            Edition::Ee => "row_id",
        }
    }
}

/// A `CREATE TABLE` statement and the table it creates.
#[derive(Debug, Clone)]
pub struct TableDdl {
    /// The table's name.
    pub name: String,
    /// The statement.
    pub sql: String,
}

fn parse(text: &str) -> Vec<TableDdl> {
    text.split(";\n")
        .map(|s| {
            s.lines()
                .filter(|l| !l.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .filter(|s| !s.trim().is_empty())
        .map(|sql| {
            let sql = sql.trim().trim_end_matches(';').to_string();
            let name = sql
                .split_whitespace()
                .nth(2)
                .unwrap_or_default()
                .to_string();
            TableDdl { name, sql }
        })
        .collect()
}

/// Every table of the edition, in an order that satisfies foreign keys.
///
/// For the staging edition, the tables that differ replace their CE twins, and foreign keys that
/// point at a product's or category's `entity_id` point at its `sequence_*` table instead (the
/// entity table's `entity_id` is no longer unique there).
pub fn tables(edition: Edition) -> Vec<TableDdl> {
    let ce = parse(CE_SQL);
    match edition {
        Edition::Ce => ce,
        Edition::Ee => {
            let ee = parse(EE_SQL);
            let mut out: Vec<TableDdl> = ee
                .iter()
                .filter(|t| t.name.starts_with("sequence_"))
                .cloned()
                .collect();
            for t in ce {
                if let Some(replacement) = ee.iter().find(|e| e.name == t.name) {
                    out.push(replacement.clone());
                } else {
                    let sql = t
                        .sql
                        .replace(
                            "REFERENCES catalog_product_entity (entity_id)",
                            "REFERENCES sequence_product (sequence_value)",
                        )
                        .replace(
                            "REFERENCES catalog_category_entity (entity_id)",
                            "REFERENCES sequence_catalog_category (sequence_value)",
                        );
                    out.push(TableDdl { name: t.name, sql });
                }
            }
            for t in ee {
                if !out.iter().any(|o| o.name == t.name) {
                    out.push(t);
                }
            }
            out
        }
    }
}

/// The per-store sales sequence tables Magento creates for each store view (`sequence_order_1`, …).
pub fn sequence_table(entity: &str, store_id: u32) -> TableDdl {
    let name = format!("sequence_{entity}_{store_id}");
    let sql = format!(
        "CREATE TABLE {name} (\n  sequence_value int unsigned NOT NULL AUTO_INCREMENT,\n  PRIMARY KEY (sequence_value)\n)"
    );
    TableDdl { name, sql }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_editions_parse_into_named_tables() {
        let ce = tables(Edition::Ce);
        let ee = tables(Edition::Ee);
        assert!(ce.len() >= 60, "{}", ce.len());
        assert!(ce.iter().all(|t| t.sql.starts_with("CREATE TABLE ")));
        let names: std::collections::HashSet<_> = ce.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names.len(), ce.len(), "no table twice");
        for t in [
            "eav_attribute",
            "catalog_product_entity_decimal",
            "sales_order",
            "quote_item",
        ] {
            assert!(names.contains(t), "{t}");
        }
        let ee_cpe = ee.iter().find(|t| t.name == "catalog_product_entity");
        assert!(ee_cpe.is_some_and(|t| t.sql.contains("row_id") && t.sql.contains("created_in")));
        assert!(ee.iter().any(|t| t.name == "sequence_product"));
        assert!(!ee.iter().any(|t| {
            t.sql
                .contains("REFERENCES catalog_product_entity (entity_id)")
        }));
    }
}
