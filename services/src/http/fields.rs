//! Magento's partial responses: `?fields=items[sku,name],total_count` keeps only the named
//! members of a successful response, nested with brackets, applied to every element of a list
//! (reference §3.3; `Webapi/Rest/Response/FieldsFilter.php`). Members keep the response's
//! order. A filter with characters other than letters, digits, `_`, `[`, `]` and `,`, or with
//! an unclosed bracket, empties the response to `[]`, as Magento does; so does a filter that
//! keeps nothing (PHP's empty array).

use serde_json::value::RawValue;

use crate::shape::Members;

/// Parsed `fields`: member names, each with the filter for its members (`None`: all of it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter(Vec<(String, Option<Filter>)>);

impl Filter {
    fn set(&mut self, key: String, value: Option<Filter>) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }

    fn get(&self, key: &str) -> Option<&Option<Filter>> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// Parses a `fields` value; `None` when Magento would refuse it (and answer `[]`).
pub fn parse(s: &str) -> Option<Filter> {
    let allowed = |c: char| c.is_alphanumeric() || c == '_' || c == '[' || c == ']' || c == ',';
    if s.is_empty() || !s.chars().all(allowed) {
        return None;
    }
    let mut current = Filter::default();
    let mut stack: Vec<(Filter, Option<String>)> = Vec::new();
    let mut last: Option<String> = None;
    let mut start: Option<usize> = None;
    for (i, c) in s.char_indices() {
        if matches!(c, '[' | ']' | ',')
            && let Some(st) = start.take()
        {
            let name = s[st..i].to_string();
            current.set(name.clone(), None);
            last = Some(name);
        }
        match c {
            '[' => stack.push((std::mem::take(&mut current), last.take())),
            ']' => {
                let inner = std::mem::take(&mut current);
                // An unmatched ']' leaves PHP's null parent: the member named "".
                let (outer, name) = stack.pop().unwrap_or_default();
                current = outer;
                current.set(name.unwrap_or_default(), Some(inner));
            }
            ',' => {}
            _ => {
                if start.is_none() {
                    start = Some(i);
                }
            }
        }
    }
    if !stack.is_empty() {
        return None;
    }
    if let Some(st) = start {
        current.set(s[st..].to_string(), None);
    }
    Some(current)
}

/// `json` (a response body) with only what `filter` keeps.
pub fn apply(json: &str, filter: &Filter) -> Result<String, serde_json::Error> {
    let raw: &RawValue = serde_json::from_str(json)?;
    let mut out = String::with_capacity(json.len() / 2);
    apply_value(raw, filter, &mut out)?;
    Ok(out)
}

fn apply_value(raw: &RawValue, filter: &Filter, out: &mut String) -> Result<(), serde_json::Error> {
    let text = raw.get().trim_start();
    if text.starts_with('[') {
        let items: Vec<&RawValue> = serde_json::from_str(raw.get())?;
        out.push('[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            if item.get().trim_start().starts_with('{') {
                intersect(item, filter, out)?;
            } else {
                out.push_str(item.get());
            }
        }
        out.push(']');
        Ok(())
    } else if text.starts_with('{') {
        intersect(raw, filter, out)
    } else {
        out.push_str(raw.get());
        Ok(())
    }
}

/// The members of object `raw` that `filter` names, in `raw`'s order; `[]` when none.
fn intersect(raw: &RawValue, filter: &Filter, out: &mut String) -> Result<(), serde_json::Error> {
    let members = Members::parse(raw.get())?;
    let start = out.len();
    out.push('{');
    let mut any = false;
    for (key, value) in &members.0 {
        let Some(inner) = filter.get(key) else {
            continue;
        };
        if any {
            out.push(',');
        }
        any = true;
        out.push_str(&serde_json::to_string(key)?);
        out.push(':');
        let nested = value.get().trim_start();
        match inner {
            Some(f) if nested.starts_with('{') || nested.starts_with('[') => {
                apply_value(value, f, out)?
            }
            _ => out.push_str(value.get()),
        }
    }
    if any {
        out.push('}');
    } else {
        out.truncate(start);
        out.push_str("[]");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> Filter {
        parse(s).unwrap_or_else(|| panic!("{s} parses"))
    }

    #[test]
    fn filters_parse_as_magento_parses_them() {
        let leaf = |k: &str| (k.to_string(), None);
        assert_eq!(f("sku,name").0, vec![leaf("sku"), leaf("name")]);
        assert_eq!(
            f("items[sku,extension_attributes[website_ids]],total_count").0,
            vec![
                (
                    "items".into(),
                    Some(Filter(vec![
                        leaf("sku"),
                        (
                            "extension_attributes".into(),
                            Some(Filter(vec![leaf("website_ids")]))
                        )
                    ]))
                ),
                leaf("total_count")
            ]
        );
        for bad in ["", "sku name", "items[sku", "a.b", "sku;drop"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn responses_keep_named_members_in_their_own_order() {
        let body = r#"{"items":[{"id":1,"sku":"a","name":"A","extension_attributes":{"website_ids":[1],"category_links":[]}},{"id":2,"sku":"b"}],"search_criteria":{"filter_groups":[]},"total_count":2}"#;
        assert_eq!(
            apply(body, &f("total_count,items[name,sku]")).expect("json"),
            r#"{"items":[{"sku":"a","name":"A"},{"sku":"b"}],"total_count":2}"#
        );
        assert_eq!(
            apply(body, &f("items[extension_attributes[website_ids]]")).expect("json"),
            r#"{"items":[{"extension_attributes":{"website_ids":[1]}},[]]}"#
        );
        assert_eq!(apply(body, &f("nothing")).expect("json"), "[]");
        // A nested filter on a scalar keeps the scalar.
        assert_eq!(
            apply(body, &f("total_count[x]")).expect("json"),
            r#"{"total_count":2}"#
        );
    }
}
