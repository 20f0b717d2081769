//! Deterministic identity: `uuid = UUIDv5(namespace, "<entity>/<legacy_id>")`.
//!
//! UUIDv5 is SHA-1 over the namespace's 16 bytes followed by the name (RFC 9562 §5.5). The name
//! here is short, so namespace + name + SHA-1 padding nearly always fit one 64-byte block: a
//! [`Mapper`] fills the constant part of that block once per entity and then, per id, writes only
//! the digits and the length and runs a single compression. That is what makes millions of ids per
//! second on one core; names too long for one block take the general path and give the same UUID.

use std::fmt;
use std::str::FromStr;

use sha1::digest::generic_array::GenericArray;
use sha1::{Digest, Sha1};
use uuid::Uuid;

use crate::error::{Error, Result};

/// The namespace used when none is given: `UUIDv5(NAMESPACE_URL, "https://ficus.dev/magento")`.
///
/// Give every Magento install its own namespace (`--namespace`) when ids from two installs may
/// ever meet in one place; a single install can keep this default.
pub const DEFAULT_NAMESPACE: Namespace =
    Namespace(Uuid::from_u128(0xac157640_9b2c_5bed_8f41_2af3e49a7e6f));

/// The namespace of one Magento install: the first 16 bytes hashed into every UUID.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Namespace(Uuid);

impl Namespace {
    /// A namespace from any UUID.
    pub const fn new(uuid: Uuid) -> Self {
        Namespace(uuid)
    }

    /// The namespace as a UUID.
    pub const fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl Default for Namespace {
    fn default() -> Self {
        DEFAULT_NAMESPACE
    }
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Namespace({})", self.0)
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for Namespace {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Uuid::parse_str(s.trim())
            .map(Namespace)
            .map_err(|e| Error::BadUuid {
                text: s.to_string(),
                reason: e.to_string(),
            })
    }
}

/// Checks an entity name: Magento's entity type code or a flat table's name, so lower-case
/// letters, digits and `_`, starting with a letter, at most 64 characters (MySQL's limit).
pub fn check_entity(entity: &str) -> Result<()> {
    let ok = !entity.is_empty()
        && entity.len() <= 64
        && entity.as_bytes()[0].is_ascii_lowercase()
        && entity
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::BadEntity {
            entity: entity.to_string(),
        })
    }
}

/// The UUID of one legacy id. For many ids of one entity, build a [`Mapper`] once.
pub fn uuid_for(namespace: Namespace, entity: &str, legacy_id: u64) -> Result<Uuid> {
    Ok(Mapper::new(namespace, entity)?.uuid(legacy_id))
}

/// Bytes of the name prefix that fit a single SHA-1 block next to the longest id (20 digits),
/// the 0x80 terminator and the 8-byte length.
const ONE_BLOCK_PREFIX: usize = 64 - 20 - 1 - 8;

/// Maps the legacy ids of one entity to their UUIDs.
#[derive(Clone)]
pub struct Mapper {
    namespace: Namespace,
    entity: String,
    /// namespace ‖ entity ‖ '/', the constant start of every hashed message.
    prefix: Vec<u8>,
    /// `prefix` copied into a block, when every id fits one block after it.
    block: Option<[u8; 64]>,
}

impl fmt::Debug for Mapper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mapper")
            .field("namespace", &self.namespace)
            .field("entity", &self.entity)
            .finish()
    }
}

impl Mapper {
    /// A mapper for `entity` in `namespace`; the entity name is checked.
    pub fn new(namespace: Namespace, entity: &str) -> Result<Self> {
        check_entity(entity)?;
        let mut prefix = Vec::with_capacity(16 + entity.len() + 1);
        prefix.extend_from_slice(namespace.0.as_bytes());
        prefix.extend_from_slice(entity.as_bytes());
        prefix.push(b'/');
        let block = (prefix.len() <= ONE_BLOCK_PREFIX).then(|| {
            let mut block = [0u8; 64];
            block[..prefix.len()].copy_from_slice(&prefix);
            block
        });
        Ok(Mapper {
            namespace,
            entity: entity.to_string(),
            prefix,
            block,
        })
    }

    /// The entity this mapper is for.
    pub fn entity(&self) -> &str {
        &self.entity
    }

    /// The namespace this mapper is for.
    pub fn namespace(&self) -> Namespace {
        self.namespace
    }

    /// The UUID of `legacy_id`.
    #[inline]
    pub fn uuid(&self, legacy_id: u64) -> Uuid {
        let mut digits = [0u8; 20];
        let digits = decimal(legacy_id, &mut digits);
        let hash: [u8; 20] = match self.block {
            Some(mut block) => {
                let at = self.prefix.len();
                let end = at + digits.len();
                block[at..end].copy_from_slice(digits);
                block[end] = 0x80;
                let bits = (end as u64) * 8;
                block[56..].copy_from_slice(&bits.to_be_bytes());
                let mut state = SHA1_INIT;
                sha1::compress(&mut state, &[GenericArray::from(block)]);
                let mut out = [0u8; 20];
                for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
                    chunk.copy_from_slice(&word.to_be_bytes());
                }
                out
            }
            None => {
                let mut hasher = Sha1::new();
                hasher.update(&self.prefix);
                hasher.update(digits);
                hasher.finalize().into()
            }
        };
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&hash[..16]);
        bytes[6] = (bytes[6] & 0x0f) | 0x50; // version 5
        bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 9562 variant
        Uuid::from_bytes(bytes)
    }
}

/// SHA-1's initial state (FIPS 180-4 §5.3.1).
const SHA1_INIT: [u32; 5] = [
    0x6745_2301,
    0xEFCD_AB89,
    0x98BA_DCFE,
    0x1032_5476,
    0xC3D2_E1F0,
];

/// Writes `n` in decimal into the end of `buf`, returning the digits (also eav-extract's, for
/// integers read through the binary protocol).
#[inline]
pub fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[at..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The `uuid` crate's own v5 (sha1_smol inside): an implementation independent of ours.
    fn reference(ns: Namespace, entity: &str, id: u64) -> Uuid {
        Uuid::new_v5(&ns.as_uuid(), format!("{entity}/{id}").as_bytes())
    }

    #[test]
    fn default_namespace_is_the_documented_v5_of_a_url() {
        let derived = Uuid::new_v5(&Uuid::NAMESPACE_URL, b"https://ficus.dev/magento");
        assert_eq!(DEFAULT_NAMESPACE.as_uuid(), derived, "{derived}");
    }

    #[test]
    fn known_value() {
        // Computed with Python: uuid.uuid5(uuid.NAMESPACE_DNS, "catalog_product/1").
        let ns = Namespace::new(Uuid::NAMESPACE_DNS);
        let got = uuid_for(ns, "catalog_product", 1).expect("uuid");
        assert_eq!(got.to_string(), "7e3e0e55-64de-5bd9-8392-b6ec8fd09410");
    }

    #[test]
    fn long_entity_names_take_the_general_path() {
        let entity = "sales_order_item_extension_attribute_values_x";
        let m = Mapper::new(DEFAULT_NAMESPACE, entity).expect("mapper");
        assert!(m.block.is_none());
        for id in [0, 1, 99, u64::MAX] {
            assert_eq!(m.uuid(id), reference(DEFAULT_NAMESPACE, entity, id));
        }
    }

    #[test]
    fn rejects_bad_entity_names() {
        for bad in ["", "Catalog", "1abc", "a/b", "sales order", &"a".repeat(65)] {
            assert!(Mapper::new(DEFAULT_NAMESPACE, bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn agrees_with_an_independent_v5(
            ns in any::<u128>(),
            entity in "[a-z][a-z0-9_]{0,40}",
            id in any::<u64>(),
        ) {
            let ns = Namespace::new(Uuid::from_u128(ns));
            let m = Mapper::new(ns, &entity).expect("mapper");
            prop_assert_eq!(m.uuid(id), reference(ns, &entity, id));
        }

        #[test]
        fn distinct_ids_give_distinct_uuids(a in any::<u64>(), b in any::<u64>()) {
            prop_assume!(a != b);
            let m = Mapper::new(DEFAULT_NAMESPACE, "customer").expect("mapper");
            prop_assert_ne!(m.uuid(a), m.uuid(b));
        }
    }
}
