//! Magento's `searchCriteria`, as its REST layer reads it from a query string, and the SQL
//! condition it stands for.
//!
//! `searchCriteria[filter_groups][i][filters][j][field|value|condition_type]`,
//! `searchCriteria[sort_orders][k][field|direction]`, `searchCriteria[page_size]`,
//! `searchCriteria[current_page]`; the camelCase spellings (`filterGroups`, `conditionType`,
//! `sortOrders`, `pageSize`, `currentPage`) are the same keys to Magento, which maps both onto
//! the same setters. Indices are PHP array keys: order of first appearance counts, not their
//! value. Filters in a group are OR-ed, groups AND-ed (reference §3.3).

use std::fmt::Write as _;

use serde_json::json;

/// One filter.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter {
    /// The field (an attribute code or a column).
    pub field: Option<String>,
    /// The value as sent.
    pub value: Option<String>,
    /// The condition type as sent (`None`: eq).
    pub condition_type: Option<String>,
}

/// One sort order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SortOrder {
    /// The field.
    pub field: Option<String>,
    /// `ASC` or `DESC` (upper-cased as Magento's setter does); `None`: ascending.
    pub direction: Option<String>,
}

/// A parsed `searchCriteria`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Criteria {
    /// Filter groups: AND of (OR of filters).
    pub filter_groups: Vec<Vec<Filter>>,
    /// Sort orders, in order; `None` when none was sent.
    pub sort_orders: Option<Vec<SortOrder>>,
    /// Page size; `None` or 0: every row.
    pub page_size: Option<i64>,
    /// Page, from 1.
    pub current_page: Option<i64>,
}

/// A condition type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// `=`
    Eq,
    /// `!=`
    Neq,
    /// `>`
    Gt,
    /// `>=` (also `moreq`)
    Gteq,
    /// `<`
    Lt,
    /// `<=`
    Lteq,
    /// `LIKE`
    Like,
    /// `NOT LIKE`
    Nlike,
    /// `IN (comma list)`
    In,
    /// `NOT IN (comma list)`
    Nin,
    /// `FIND_IN_SET(value, field)`
    Finset,
    /// `NOT FIND_IN_SET(value, field)`
    Nfinset,
    /// `IS NULL`
    Null,
    /// `IS NOT NULL`
    Notnull,
    /// `>=` (range start)
    From,
    /// `<=` (range end)
    To,
}

impl Condition {
    /// The condition of a `condition_type` (absent: eq); `None` for one Magento does not know.
    pub fn parse(name: Option<&str>) -> Option<Condition> {
        Some(match name.unwrap_or("eq") {
            "eq" => Condition::Eq,
            "neq" => Condition::Neq,
            "gt" => Condition::Gt,
            "gteq" | "moreq" => Condition::Gteq,
            "lt" => Condition::Lt,
            "lteq" => Condition::Lteq,
            "like" => Condition::Like,
            "nlike" => Condition::Nlike,
            "in" => Condition::In,
            "nin" => Condition::Nin,
            "finset" => Condition::Finset,
            "nfinset" => Condition::Nfinset,
            "null" => Condition::Null,
            "notnull" => Condition::Notnull,
            "from" => Condition::From,
            "to" => Condition::To,
            _ => return None,
        })
    }
}

/// A request Magento answers with 400: its message (placeholders kept) and parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct BadRequest {
    /// The message, with `%1` or `%name` placeholders.
    pub message: String,
    /// The placeholders' values (an array or an object), if any.
    pub parameters: Option<serde_json::Value>,
}

impl BadRequest {
    /// Magento's error body.
    pub fn body(&self) -> String {
        let mut body = json!({ "message": self.message });
        if let Some(p) = &self.parameters {
            body["parameters"] = p.clone();
        }
        body.to_string()
    }

    fn required(field: &str) -> BadRequest {
        BadRequest {
            message: "\"%fieldName\" is required. Enter and try again.".into(),
            parameters: Some(json!({ "fieldName": field })),
        }
    }
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A key's name and its bracketed parts: `a[b][0]` → (`a`, [`b`, `0`]).
fn key_parts(key: &str) -> (&str, Vec<&str>) {
    let Some(open) = key.find('[') else {
        return (key, Vec::new());
    };
    let mut parts = Vec::new();
    let mut rest = &key[open..];
    while let Some(r) = rest.strip_prefix('[') {
        let Some(close) = r.find(']') else { break };
        parts.push(&r[..close]);
        rest = &r[close + 1..];
    }
    (&key[..open], parts)
}

/// Magento's key spellings: `filter_groups` and `filterGroups` are one key.
fn normal(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// The slot of PHP array key `index` in `keys` (order of first appearance).
fn slot(keys: &mut Vec<String>, index: &str) -> usize {
    match keys.iter().position(|k| k == index) {
        Some(i) => i,
        None => {
            keys.push(index.to_string());
            keys.len() - 1
        }
    }
}

/// `value` as an integer, or Magento's 400 for a parameter `name` that is not one.
pub fn int(name: &str, value: &str) -> Result<i64, BadRequest> {
    value.trim().parse().map_err(|_| BadRequest {
        message: format!(
            "Error occurred during \"{name}\" processing. The \"{value}\" value's type is invalid. The \"int\" type was expected. Verify and try again."
        ),
        parameters: None,
    })
}

/// Parses the `searchCriteria` of a query string; `Ok(None)` when the query has none.
pub fn parse(query: &str) -> Result<Option<Criteria>, BadRequest> {
    let mut c = Criteria::default();
    let mut seen = false;
    let mut group_keys: Vec<String> = Vec::new();
    let mut filter_keys: Vec<Vec<String>> = Vec::new();
    let mut sort_keys: Vec<String> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode(key);
        let value = percent_decode(value);
        let (name, raw) = key_parts(&key);
        if normal(name) != "searchcriteria" {
            continue;
        }
        seen = true;
        let parts: Vec<String> = raw.iter().map(|p| normal(p)).collect();
        match parts.as_slice() {
            [g, _, f, _, leaf] if g == "filtergroups" => {
                let gi = slot(&mut group_keys, raw[1]);
                if c.filter_groups.len() <= gi {
                    c.filter_groups.resize(gi + 1, Vec::new());
                    filter_keys.resize(gi + 1, Vec::new());
                }
                if f != "filters" {
                    continue;
                }
                let fi = slot(&mut filter_keys[gi], raw[3]);
                let group = &mut c.filter_groups[gi];
                if group.len() <= fi {
                    group.resize(fi + 1, Filter::default());
                }
                let filter = &mut group[fi];
                match leaf.as_str() {
                    "field" => filter.field = Some(value),
                    "value" => filter.value = Some(value),
                    "conditiontype" => filter.condition_type = Some(value),
                    _ => {}
                }
            }
            [s, _, leaf] if s == "sortorders" => {
                let si = slot(&mut sort_keys, raw[1]);
                let sorts = c.sort_orders.get_or_insert_with(Vec::new);
                if sorts.len() <= si {
                    sorts.resize(si + 1, SortOrder::default());
                }
                match leaf.as_str() {
                    "field" => sorts[si].field = Some(value),
                    "direction" => {
                        let d = value.to_uppercase();
                        if d != "ASC" && d != "DESC" {
                            return Err(BadRequest {
                                message: "The sort order has to be specified as %1 for ascending order or %2 for descending order.".into(),
                                parameters: Some(json!(["ASC", "DESC"])),
                            });
                        }
                        sorts[si].direction = Some(d);
                    }
                    _ => {}
                }
            }
            [p] if p == "pagesize" => c.page_size = Some(int(raw[0], &value)?),
            [p] if p == "currentpage" => c.current_page = Some(int(raw[0], &value)?),
            _ => {}
        }
    }
    if !seen {
        return Ok(None);
    }
    for group in &c.filter_groups {
        for f in group {
            if f.field.as_deref().unwrap_or("").is_empty() {
                return Err(BadRequest::required("field"));
            }
            if Condition::parse(f.condition_type.as_deref()).is_none() {
                return Err(BadRequest {
                    message: "Invalid condition type: %1".into(),
                    parameters: Some(json!([f.condition_type])),
                });
            }
        }
    }
    Ok(Some(c))
}

/// Parses a list request's query: its `searchCriteria`, required as Magento requires it.
pub fn required(query: Option<&str>) -> Result<Criteria, BadRequest> {
    parse(query.unwrap_or(""))?.ok_or_else(|| BadRequest::required("searchCriteria"))
}

impl Criteria {
    /// The `search_criteria` member of a list response, as Magento echoes it: filter groups
    /// always, sort orders, page size and current page when they were sent; nulls omitted.
    pub fn echo(&self) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        let groups: Vec<serde_json::Value> = self
            .filter_groups
            .iter()
            .map(|g| {
                let filters: Vec<serde_json::Value> = g
                    .iter()
                    .map(|f| {
                        let mut m = serde_json::Map::new();
                        for (k, v) in [
                            ("field", &f.field),
                            ("value", &f.value),
                            ("condition_type", &f.condition_type),
                        ] {
                            if let Some(v) = v {
                                m.insert(k.into(), json!(v));
                            }
                        }
                        serde_json::Value::Object(m)
                    })
                    .collect();
                json!({ "filters": filters })
            })
            .collect();
        out.insert("filter_groups".into(), json!(groups));
        if let Some(sorts) = &self.sort_orders {
            let sorts: Vec<serde_json::Value> = sorts
                .iter()
                .map(|s| {
                    let mut m = serde_json::Map::new();
                    if let Some(f) = &s.field {
                        m.insert("field".into(), json!(f));
                    }
                    if let Some(d) = &s.direction {
                        m.insert("direction".into(), json!(d));
                    }
                    serde_json::Value::Object(m)
                })
                .collect();
            out.insert("sort_orders".into(), json!(sorts));
        }
        if let Some(n) = self.page_size {
            out.insert("page_size".into(), json!(n));
        }
        if let Some(n) = self.current_page {
            out.insert("current_page".into(), json!(n));
        }
        serde_json::Value::Object(out)
    }

    /// `LIMIT … OFFSET …` of the page asked for, as if it exists (empty without a page size).
    pub fn asked(&self) -> String {
        let size = self.page_size.unwrap_or(0);
        if size <= 0 {
            return String::new();
        }
        let page = self.current_page.unwrap_or(1).max(1);
        format!(" LIMIT {size} OFFSET {}", (page - 1) * size)
    }

    /// `LIMIT … OFFSET …` for `total` matching rows: every row without a page size; a page past
    /// the last is the last (Magento's collections clamp the page).
    pub fn limit(&self, total: i64) -> String {
        let size = self.page_size.unwrap_or(0);
        if size <= 0 {
            return String::new();
        }
        let last = ((total + size - 1) / size).max(1);
        let page = self.current_page.unwrap_or(1).clamp(1, last);
        let mut out = String::new();
        let _ = write!(out, " LIMIT {size} OFFSET {}", (page - 1) * size);
        out
    }
}

/// How a field compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text, compared case-insensitively (Magento's columns use a `_ci` collation).
    Text,
    /// A decimal number.
    Number,
    /// An integer column: integral values compare as `bigint`, so its indexes serve.
    Integer,
    /// A date and time.
    Timestamp,
}

/// A field the SQL can filter and sort on: an expression and how it compares.
#[derive(Debug, Clone)]
pub struct Column {
    /// SQL expression.
    pub sql: String,
    /// How it compares.
    pub kind: Kind,
}

/// SQL text with `$n` parameters, all bound as text (or text[]) and cast in the SQL.
#[derive(Debug, Clone, Default)]
pub struct Sql {
    /// The condition.
    pub text: String,
    /// Parameters in order.
    pub params: Vec<Param>,
}

/// One bound parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// Text.
    Text(String),
    /// A text array.
    List(Vec<String>),
    /// A date and time.
    Timestamp(chrono::NaiveDateTime),
}

impl Sql {
    /// Appends a parameter; returns its `$n`.
    pub fn bind(&mut self, p: Param) -> String {
        self.params.push(p);
        format!("${}", self.params.len())
    }
}

/// The `WHERE` conditions (each group a parenthesised OR, AND-ed; empty without filters) and
/// the `ORDER BY` terms of `criteria`, with values appended to `sql`. `column` names the
/// fields the entity knows: a filter on any other field is refused as Magento refuses it
/// (`Invalid attribute name: %1`), a sort on one is ignored, as Magento's EAV collections do.
/// Text sorts compare lower-cased; NULLs come first ascending, as in MySQL.
pub fn clauses(
    criteria: &Criteria,
    sql: &mut Sql,
    column: impl Fn(&str) -> Option<Column>,
) -> Result<(Vec<String>, Vec<Sort>), BadRequest> {
    let mut conditions = Vec::new();
    for group in &criteria.filter_groups {
        let mut any = Vec::new();
        for f in group {
            let field = f.field.as_deref().unwrap_or("");
            let Some(col) = column(field) else {
                return Err(BadRequest {
                    message: "Invalid attribute name: %1".into(),
                    parameters: Some(json!([field])),
                });
            };
            let cond = Condition::parse(f.condition_type.as_deref()).unwrap_or(Condition::Eq);
            any.push(condition(sql, &col, cond, f.value.as_deref().unwrap_or("")));
        }
        if !any.is_empty() {
            conditions.push(format!("({})", any.join(" OR ")));
        }
    }
    let mut order = Vec::new();
    for s in criteria.sort_orders.iter().flatten() {
        let Some(col) = column(s.field.as_deref().unwrap_or("")) else {
            continue;
        };
        let expr = if col.kind == Kind::Text {
            format!("lower({})", col.sql)
        } else {
            col.sql
        };
        order.push(Sort {
            expr,
            descending: s.direction.as_deref() == Some("DESC"),
            not_null: false,
        });
    }
    Ok((conditions, order))
}

/// One `ORDER BY` term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    /// The SQL expression.
    pub expr: String,
    /// Descending (NULLs last) or ascending (NULLs first), as MySQL orders NULLs.
    pub descending: bool,
    /// The expression is never NULL (a key): plain `ASC`, which its index serves.
    pub not_null: bool,
}

impl Sort {
    /// Ascending on `expr`, a key that is never NULL (the tiebreak).
    pub fn key(expr: &str) -> Sort {
        Sort {
            expr: expr.into(),
            descending: false,
            not_null: true,
        }
    }

    /// The direction, as SQL.
    pub fn direction(&self) -> &'static str {
        match (self.descending, self.not_null) {
            (false, true) => "ASC",
            (true, true) => "DESC",
            (true, false) => "DESC NULLS LAST",
            (false, false) => "ASC NULLS FIRST",
        }
    }
}

/// The fields of `criteria`'s filters and sort orders, for which `known` is false (custom
/// attribute codes to look up).
pub fn other_fields(criteria: &Criteria, known: impl Fn(&str) -> bool) -> Vec<String> {
    let filters = criteria.filter_groups.iter().flatten().map(|f| &f.field);
    let sorts = criteria.sort_orders.iter().flatten().map(|s| &s.field);
    let mut out: Vec<String> = filters
        .chain(sorts)
        .filter_map(|f| f.as_deref())
        .filter(|f| !known(f))
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out
}

fn is_number(v: &str) -> bool {
    let v = v.trim();
    let v = v.strip_prefix('-').unwrap_or(v);
    !v.is_empty()
        && v.chars().filter(|c| *c == '.').count() <= 1
        && v.chars().all(|c| c.is_ascii_digit() || c == '.')
        && v != "."
}

fn is_integer(v: &str) -> bool {
    v.trim().parse::<i64>().is_ok()
}

/// A `YYYY-MM-DD[ HH:MM:SS]` value as a timestamp (`None`: not a real date).
fn timestamp(v: &str) -> Option<chrono::NaiveDateTime> {
    let v = v.trim();
    chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S")
        .ok()
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
}

fn is_timestamp(v: &str) -> bool {
    let b = v.trim().as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    let date = b.len() >= 10
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10);
    date && (b.len() == 10
        || (b.len() == 19
            && b[10] == b' '
            && digits(11..13)
            && b[13] == b':'
            && digits(14..16)
            && b[16] == b':'
            && digits(17..19)))
}

/// The condition of one filter on `col`, with its parameters appended to `sql.params`.
pub fn condition(sql: &mut Sql, col: &Column, cond: Condition, value: &str) -> String {
    use Condition as C;
    // A value that cannot be of the column's type is compared as text, as MySQL would coerce.
    let typed = match col.kind {
        Kind::Text => true,
        Kind::Number | Kind::Integer => is_number(value),
        Kind::Timestamp => is_timestamp(value),
    };
    let (lhs, cast) = match (col.kind, typed) {
        (Kind::Text, _) => (format!("lower({})", col.sql), ""),
        (Kind::Integer, true) if is_integer(value) => (col.sql.clone(), "::bigint"),
        (Kind::Number | Kind::Integer, true) => (col.sql.clone(), "::numeric"),
        (Kind::Timestamp, true) => (col.sql.clone(), "::timestamp"),
        (_, false) => (format!("({})::text", col.sql), ""),
    };
    let text_value = |v: &str| {
        if col.kind == Kind::Text || !typed {
            v.to_lowercase()
        } else {
            v.trim().to_string()
        }
    };
    let op = match cond {
        C::Eq => "=",
        C::Neq => "<>",
        C::Gt => ">",
        C::Gteq | C::From => ">=",
        C::Lt => "<",
        C::Lteq | C::To => "<=",
        C::Like | C::Nlike => {
            let not = if cond == C::Nlike { "NOT " } else { "" };
            return if col.kind == Kind::Text {
                let p = sql.bind(Param::Text(value.to_lowercase()));
                format!("{lhs} {not}LIKE {p}")
            } else {
                let p = sql.bind(Param::Text(value.to_string()));
                format!("({})::text {not}LIKE {p}", col.sql)
            };
        }
        C::In | C::Nin => {
            let list: Vec<&str> = value.split(',').map(str::trim).collect();
            let array = match col.kind {
                Kind::Text => Some("text[]"),
                Kind::Integer if list.iter().all(|v| is_integer(v)) => Some("bigint[]"),
                Kind::Number | Kind::Integer => {
                    list.iter().all(|v| is_number(v)).then_some("numeric[]")
                }
                Kind::Timestamp => list
                    .iter()
                    .all(|v| is_timestamp(v))
                    .then_some("timestamp[]"),
            };
            let (lhs, array, list) = match array {
                Some(a) if col.kind == Kind::Text => (
                    format!("lower({})", col.sql),
                    a,
                    list.iter().map(|v| v.to_lowercase()).collect(),
                ),
                Some(a) => (
                    col.sql.clone(),
                    a,
                    list.iter().map(|v| v.to_string()).collect(),
                ),
                None => (
                    format!("({})::text", col.sql),
                    "text[]",
                    list.iter().map(|v| v.to_string()).collect::<Vec<_>>(),
                ),
            };
            let p = sql.bind(Param::List(list));
            return if cond == C::In {
                format!("{lhs} = ANY({p}::{array})")
            } else {
                format!("NOT ({lhs} = ANY({p}::{array}))")
            };
        }
        C::Finset | C::Nfinset => {
            let p = sql.bind(Param::Text(value.to_string()));
            let not = if cond == C::Nfinset { "NOT " } else { "" };
            // As MySQL's FIND_IN_SET: NULL (so neither) when the field is NULL.
            return format!(
                "{not}({p} = ANY(string_to_array(({})::text, ',')))",
                col.sql
            );
        }
        C::Null => return format!("{} IS NULL", col.sql),
        C::Notnull => return format!("{} IS NOT NULL", col.sql),
    };
    if col.kind == Kind::Timestamp
        && typed
        && let Some(t) = timestamp(value)
    {
        // Bound as a timestamp: the planner estimates it from the column's statistics, and the
        // statement's text stays the same for every value (prepared once per connection).
        let p = sql.bind(Param::Timestamp(t));
        return format!("{lhs} {op} {p}");
    }
    let p = sql.bind(Param::Text(text_value(value)));
    format!("{lhs} {op} {p}{cast}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_in_either_spelling_and_php_order() {
        let c = parse(
            "searchCriteria%5BfilterGroups%5D%5B5%5D%5Bfilters%5D%5B0%5D%5Bfield%5D=name\
             &searchCriteria[filter_groups][5][filters][0][value]=a+b%25\
             &searchCriteria[filter_groups][1][filters][0][field]=sku\
             &searchCriteria[filter_groups][5][filters][0][conditionType]=like\
             &searchCriteria[sort_orders][0][field]=price&searchCriteria[sortOrders][0][direction]=desc\
             &searchCriteria[page_size]=20&searchCriteria[currentPage]=3&other=1",
        )
        .expect("valid")
        .expect("present");
        assert_eq!(c.filter_groups.len(), 2);
        // PHP keeps keys in order of appearance: group "5" came first.
        assert_eq!(
            c.filter_groups[0],
            vec![Filter {
                field: Some("name".into()),
                value: Some("a b%".into()),
                condition_type: Some("like".into()),
            }]
        );
        assert_eq!(c.filter_groups[1][0].field.as_deref(), Some("sku"));
        assert_eq!(c.filter_groups[1][0].condition_type, None);
        assert_eq!(
            c.sort_orders,
            Some(vec![SortOrder {
                field: Some("price".into()),
                direction: Some("DESC".into()),
            }])
        );
        assert_eq!((c.page_size, c.current_page), (Some(20), Some(3)));
        assert_eq!(parse("fields=items").expect("valid"), None);
    }

    #[test]
    fn bad_criteria_are_named() {
        let missing =
            parse("searchCriteria[filter_groups][0][filters][0][value]=1").expect_err("no field");
        assert_eq!(missing.parameters, Some(json!({"fieldName": "field"})));
        assert!(required(None).is_err());
        assert!(parse("searchCriteria[pageSize]=1.5").is_err());
    }

    #[test]
    fn pages_clamp_to_the_last() {
        let c = Criteria {
            page_size: Some(10),
            current_page: Some(9),
            ..Criteria::default()
        };
        assert_eq!(c.limit(25), " LIMIT 10 OFFSET 20");
        assert_eq!(c.limit(0), " LIMIT 10 OFFSET 0");
        assert_eq!(Criteria::default().limit(25), "");
    }

    #[test]
    fn typed_values_are_recognised() {
        assert!(is_number("-12.50") && is_number("7"));
        assert!(!is_number("1e5") && !is_number(".") && !is_number("1.2.3") && !is_number(""));
        assert!(is_timestamp("2024-02-29") && is_timestamp("2024-02-29 23:59:59"));
        assert!(!is_timestamp("2024-2-29") && !is_timestamp("yesterday"));
    }
}
