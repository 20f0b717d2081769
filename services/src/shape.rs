//! Documents as Magento answers them: eav-extract's documents without the members ficus adds.

use std::fmt;

use serde::Deserialize;
use serde::de::{MapAccess, Visitor};
use serde_json::value::RawValue;

/// eav-extract's document as Magento answers it (see [`Members::magento_shape`]).
pub fn magento_shape(document: &str) -> Result<String, serde_json::Error> {
    Members::parse(document)?.magento_shape()
}

/// A document of `entity`, parsed once: the fields `T` reads from its members, and the shape
/// Magento answers.
pub(crate) fn parse<'a, T: Deserialize<'a>>(
    entity: &'static str,
    document: &'a str,
) -> Result<(T, String), crate::Error> {
    let bad = |e: serde_json::Error| crate::Error::BadDocument {
        entity,
        reason: e.to_string(),
    };
    let members = Members::parse(document).map_err(bad)?;
    let fields = members.fields().map_err(bad)?;
    let shape = members.magento_shape().map_err(bad)?;
    Ok((fields, shape))
}

/// A JSON object's members in document order, values unparsed.
#[derive(Debug)]
pub(crate) struct Members<'a>(pub(crate) Vec<(&'a str, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Members<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::new();
                while let Some(entry) = map.next_entry::<&'de str, &'de RawValue>()? {
                    members.push(entry);
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(V)
    }
}

impl<'a> Members<'a> {
    /// Parses `document` as an object.
    pub(crate) fn parse(document: &'a str) -> Result<Members<'a>, serde_json::Error> {
        serde_json::from_str(document)
    }

    /// The fields `T` reads from these members.
    pub(crate) fn fields<T: Deserialize<'a>>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(
            serde::de::value::MapDeserializer::<_, serde_json::Error>::new(self.0.iter().copied()),
        )
    }

    /// The object as Magento answers it: without the `uuid` and `store_code` ficus adds, also
    /// without the `uuid` of each object in an `addresses` array; everything else as it stands.
    pub(crate) fn magento_shape(&self) -> Result<String, serde_json::Error> {
        let mut out = String::from("{");
        for (key, value) in &self.0 {
            if *key == "uuid" || *key == "store_code" {
                continue;
            }
            if out.len() > 1 {
                out.push(',');
            }
            out.push_str(&serde_json::to_string(key)?);
            out.push(':');
            if *key == "addresses" {
                let list: Vec<Members<'_>> = serde_json::from_str(value.get())?;
                out.push('[');
                for (i, item) in list.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&item.magento_shape()?);
                }
                out.push(']');
            } else {
                out.push_str(value.get());
            }
        }
        out.push('}');
        Ok(out)
    }
}
