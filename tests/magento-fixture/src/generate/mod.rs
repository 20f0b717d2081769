//! Fills a Magento-shaped database from a seed, the way a real Magento 2.4 store stores data.
//!
//! Everything is a function of the seed: ids are explicit (never AUTO_INCREMENT), timestamps are
//! derived from a fixed epoch, and each entity draws from its own random stream.

mod catalog;
mod customers;
mod eav;
mod sales;

use std::collections::HashMap;

use crate::profile::Profile;
use crate::rng::Rng;
use crate::schema::Edition;
use crate::sql::{LoaderGone, V, Writer};

pub(crate) use eav::{Attr, Backend};
pub use sales::SEQUENCE_ENTITIES;

type G = Result<(), LoaderGone>;

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Store size.
    pub profile: Profile,
    /// The seed: the same seed gives the same database.
    pub seed: u64,
    /// CE or Adobe Commerce staging layout.
    pub edition: Edition,
}

/// 2023-01-01 00:00:00 UTC: the generated store's history starts here.
const EPOCH: i64 = 1_672_531_200;
/// The staged update that is live now (Adobe Commerce staging), and one scheduled in the future.
pub(crate) const STAGING_CURRENT: i64 = 1_700_000_000;
pub(crate) const STAGING_FUTURE: i64 = 1_900_000_000;
/// `updated_in` of the newest version of an entity.
pub(crate) const STAGING_MAX: i64 = 2_147_483_647;

/// Which EAV entity a value row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ent {
    Customer,
    Address,
    Category,
    Product,
}

impl Ent {
    pub(crate) fn type_id(self) -> u32 {
        match self {
            Ent::Customer => 1,
            Ent::Address => 2,
            Ent::Category => 3,
            Ent::Product => 4,
        }
    }
}

/// A website with its one store group and its store views.
#[derive(Debug, Clone)]
pub(crate) struct Website {
    pub id: u32,
    pub code: String,
    pub name: String,
    pub root_category: u32,
    pub stores: Vec<u32>,
}

/// A store view.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    pub id: u32,
    pub code: String,
    pub website: u32,
    pub name: String,
    pub lang: &'static str,
}

/// An owned value, for values computed once and written for several staging versions.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    I(i64),
    S(String),
    Num(String),
    Null,
}

impl Val {
    fn as_v(&self) -> V<'_> {
        match self {
            Val::I(i) => V::I(*i),
            Val::S(s) => V::S(s),
            Val::Num(s) => V::Num(s),
            Val::Null => V::Null,
        }
    }
}

/// The generator's state while it writes one store.
pub(crate) struct Gen<'w> {
    pub plan: Plan,
    pub w: &'w mut Writer,
    pub rng: Rng,
    pub websites: Vec<Website>,
    pub stores: Vec<Store>,
    pub attrs: Vec<Attr>,
    pub by_code: HashMap<(u32, String), usize>,
    /// `catalog/price/scope` = 1: price attributes are website-scoped whatever `is_global` says.
    pub price_scope_website: bool,
    pub catalog: catalog::CatalogState,
    pub customers: Vec<customers::CustomerInfo>,
    /// The first item id of the quote written last (order items point at their quote items).
    pub quote_first_item: i64,
}

/// Generates the whole store into `w`. Returns when every row has been handed to the loader.
pub fn generate(plan: Plan, w: &mut Writer) -> Result<(), LoaderGone> {
    let mut g = Gen {
        plan,
        w,
        rng: Rng::new(plan.seed),
        websites: Vec::new(),
        stores: Vec::new(),
        attrs: Vec::new(),
        by_code: HashMap::new(),
        // multistore runs with website price scope; the bigger profiles run with global scope
        // and carry stale website rows from an earlier setting (which Magento ignores).
        price_scope_website: plan.profile.views_per_website > 1,
        catalog: catalog::CatalogState::default(),
        customers: Vec::new(),
        quote_first_item: 0,
    };
    g.stores_and_websites()?;
    g.config()?;
    if plan.edition == Edition::Ee {
        g.staging()?;
    }
    g.eav()?;
    g.categories()?;
    g.products()?;
    g.customers()?;
    g.sales()?;
    Ok(())
}

impl Gen<'_> {
    /// The index of an attribute by entity type and code.
    pub(crate) fn attr(&self, ent: Ent, code: &str) -> usize {
        match self.by_code.get(&(ent.type_id(), code.to_string())) {
            Some(i) => *i,
            None => panic!(
                "attribute {code} of entity type {} is not defined",
                ent.type_id()
            ),
        }
    }

    /// Writes one EAV value row. `key` is `entity_id`, or `row_id` for staged entities.
    pub(crate) fn value(&mut self, ent: Ent, key: u64, attr: usize, store: u32, v: V<'_>) -> G {
        const CATALOG_CE: [&str; 5] =
            ["value_id", "attribute_id", "store_id", "entity_id", "value"];
        const CATALOG_EE: [&str; 5] = ["value_id", "attribute_id", "store_id", "row_id", "value"];
        const CUSTOMER: [&str; 4] = ["value_id", "attribute_id", "entity_id", "value"];
        let (attribute_id, backend) = (self.attrs[attr].id, self.attrs[attr].backend);
        let table = value_table(ent, backend);
        let value_id = self.w.next_id(table) as i64;
        match ent {
            Ent::Customer | Ent::Address => self.w.row(
                table,
                &CUSTOMER,
                &[
                    V::I(value_id),
                    V::I(attribute_id as i64),
                    V::I(key as i64),
                    v,
                ],
            ),
            Ent::Category | Ent::Product => {
                let cols = match self.plan.edition {
                    Edition::Ce => &CATALOG_CE,
                    Edition::Ee => &CATALOG_EE,
                };
                self.w.row(
                    table,
                    cols,
                    &[
                        V::I(value_id),
                        V::I(attribute_id as i64),
                        V::I(store as i64),
                        V::I(key as i64),
                        v,
                    ],
                )
            }
        }
    }

    /// The store views of a website.
    pub(crate) fn website_stores(&self, website: u32) -> Vec<u32> {
        self.websites
            .iter()
            .find(|w| w.id == website)
            .map(|w| w.stores.clone())
            .unwrap_or_default()
    }

    fn stores_and_websites(&mut self) -> G {
        const CODES: [&str; 5] = ["base", "europe", "asia", "latam", "oceania"];
        const NAMES: [&str; 5] = ["Main Website", "Europe", "Asia", "Latin America", "Oceania"];
        const LANGS: [(&str, &str); 3] = [("en", "English"), ("fr", "French"), ("de", "German")];
        let p = self.plan.profile;
        let mut store_id = 1;
        let mut next_root = 3;
        for wi in 0..p.websites as usize {
            let id = wi as u32 + 1;
            let root_category = if id == 1 {
                2
            } else {
                next_root += 1;
                next_root - 1
            };
            let mut stores = Vec::new();
            for (vi, (lang, lang_name)) in
                LANGS.iter().take(p.views_per_website as usize).enumerate()
            {
                let code = if id == 1 && vi == 0 {
                    "default".to_string()
                } else {
                    format!("{}_{lang}", CODES[wi % 5])
                };
                let name = if id == 1 && vi == 0 {
                    "Default Store View".to_string()
                } else {
                    format!("{} {lang_name}", NAMES[wi % 5])
                };
                self.stores.push(Store {
                    id: store_id,
                    code,
                    website: id,
                    name,
                    lang,
                });
                stores.push(store_id);
                store_id += 1;
            }
            self.websites.push(Website {
                id,
                code: CODES[wi % 5].to_string(),
                name: NAMES[wi % 5].to_string(),
                root_category,
                stores,
            });
        }
        self.catalog.next_category_id = next_root;

        let wcols = [
            "website_id",
            "code",
            "name",
            "sort_order",
            "default_group_id",
            "is_default",
        ];
        self.w.row(
            "store_website",
            &wcols,
            &[
                V::I(0),
                V::S("admin"),
                V::S("Admin"),
                V::I(0),
                V::I(0),
                V::I(0),
            ],
        )?;
        let gcols = [
            "group_id",
            "website_id",
            "name",
            "root_category_id",
            "default_store_id",
            "code",
        ];
        self.w.row(
            "store_group",
            &gcols,
            &[
                V::I(0),
                V::I(0),
                V::S("Default"),
                V::I(0),
                V::I(0),
                V::S("default"),
            ],
        )?;
        let scols = [
            "store_id",
            "code",
            "website_id",
            "group_id",
            "name",
            "sort_order",
            "is_active",
        ];
        self.w.row(
            "store",
            &scols,
            &[
                V::I(0),
                V::S("admin"),
                V::I(0),
                V::I(0),
                V::S("Admin"),
                V::I(0),
                V::I(1),
            ],
        )?;
        for web in self.websites.clone() {
            let id = web.id as i64;
            self.w.row(
                "store_website",
                &wcols,
                &[
                    V::I(id),
                    V::S(&web.code),
                    V::S(&web.name),
                    V::I(id - 1),
                    V::I(id),
                    V::I((id == 1) as i64),
                ],
            )?;
            let group_code = if id == 1 {
                "main_website_store".to_string()
            } else {
                format!("{}_store", web.code)
            };
            self.w.row(
                "store_group",
                &gcols,
                &[
                    V::I(id),
                    V::I(id),
                    V::S(&format!("{} Store", web.name)),
                    V::I(web.root_category as i64),
                    V::I(web.stores[0] as i64),
                    V::S(&group_code),
                ],
            )?;
        }
        for (i, s) in self.stores.clone().iter().enumerate() {
            self.w.row(
                "store",
                &scols,
                &[
                    V::I(s.id as i64),
                    V::S(&s.code),
                    V::I(s.website as i64),
                    V::I(s.website as i64),
                    V::S(&s.name),
                    V::I(i as i64),
                    V::I(1),
                ],
            )?;
        }
        Ok(())
    }

    /// Adobe Commerce: the staged updates, and the flag that names the version live now.
    fn staging(&mut self) -> G {
        let cols = ["id", "start_time", "name", "is_campaign", "is_rollback"];
        for (id, name) in [
            (STAGING_CURRENT, "Autumn collection"),
            (STAGING_FUTURE, "Spring launch"),
        ] {
            self.w.row(
                "staging_update",
                &cols,
                &[V::I(id), V::S(&datetime(id)), V::S(name), V::I(0), V::Null],
            )?;
        }
        let data = format!("{{\"current_version\":\"{STAGING_CURRENT}\"}}");
        self.w.row(
            "flag",
            &["flag_id", "flag_code", "state", "flag_data", "last_update"],
            &[
                V::I(1),
                V::S("staging"),
                V::I(0),
                V::S(&data),
                V::S(&datetime(STAGING_CURRENT)),
            ],
        )
    }

    fn config(&mut self) -> G {
        let cols = [
            "config_id",
            "scope",
            "scope_id",
            "path",
            "value",
            "updated_at",
        ];
        let at = datetime(EPOCH);
        let mut rows: Vec<(&str, u32, &str, String)> = vec![
            (
                "default",
                0,
                "web/unsecure/base_url",
                "http://magento.test/".into(),
            ),
            (
                "default",
                0,
                "web/secure/base_url",
                "https://magento.test/".into(),
            ),
            ("default", 0, "general/locale/code", "en_US".into()),
            ("default", 0, "currency/options/base", "USD".into()),
            ("default", 0, "currency/options/default", "USD".into()),
            (
                "default",
                0,
                "catalog/seo/product_url_suffix",
                ".html".into(),
            ),
            (
                "default",
                0,
                "catalog/seo/category_url_suffix",
                ".html".into(),
            ),
            ("default", 0, "customer/account_share/scope", "1".into()),
            (
                "default",
                0,
                "cataloginventory/item_options/manage_stock",
                "1".into(),
            ),
        ];
        if self.plan.profile.websites > 1 {
            // Only set when it differs from the install default (0 = global), as Magento does.
            rows.push((
                "default",
                0,
                "catalog/price/scope",
                if self.price_scope_website { "1" } else { "0" }.into(),
            ));
        }
        for s in self.stores.clone() {
            let locale = match s.lang {
                "fr" => "fr_FR",
                "de" => "de_DE",
                _ => "en_US",
            };
            if locale != "en_US" {
                rows.push(("stores", s.id, "general/locale/code", locale.into()));
            }
        }
        for web in self.websites.clone().iter().filter(|w| w.id > 1) {
            rows.push((
                "websites",
                web.id,
                "web/unsecure/base_url",
                format!("http://{}.magento.test/", web.code),
            ));
        }
        for (scope, scope_id, path, value) in rows {
            let id = self.w.next_id("core_config_data") as i64;
            self.w.row(
                "core_config_data",
                &cols,
                &[
                    V::I(id),
                    V::S(scope),
                    V::I(scope_id as i64),
                    V::S(path),
                    V::S(&value),
                    V::S(&at),
                ],
            )?;
        }
        Ok(())
    }
}

/// The value table of an entity for a backend type.
pub(crate) fn value_table(ent: Ent, backend: Backend) -> &'static str {
    macro_rules! t {
        ($p:literal) => {
            match backend {
                Backend::Int => concat!($p, "_int"),
                Backend::Varchar => concat!($p, "_varchar"),
                Backend::Decimal => concat!($p, "_decimal"),
                Backend::Text => concat!($p, "_text"),
                Backend::Datetime => concat!($p, "_datetime"),
                Backend::Static => $p,
            }
        };
    }
    match ent {
        Ent::Customer => t!("customer_entity"),
        Ent::Address => t!("customer_address_entity"),
        Ent::Category => t!("catalog_category_entity"),
        Ent::Product => t!("catalog_product_entity"),
    }
}

/// `YYYY-MM-DD HH:MM:SS` for seconds since 1970 (UTC).
pub(crate) fn datetime(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `YYYY-MM-DD` for seconds since 1970 (UTC).
pub(crate) fn date(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// An amount in hundredths printed with `scale` decimal places (`1999`, 6 → `19.990000`).
pub(crate) fn money(cents: i64, scale: usize) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    let zeros = "0".repeat(scale.saturating_sub(2));
    format!("{sign}{}.{:02}{zeros}", c / 100, c % 100)
}

/// A URL key: lower case, words joined by `-`.
pub(crate) fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_money_format_like_mariadb() {
        assert_eq!(datetime(0), "1970-01-01 00:00:00");
        assert_eq!(datetime(EPOCH), "2023-01-01 00:00:00");
        assert_eq!(datetime(951_782_400 + 3_661), "2000-02-29 01:01:01");
        assert_eq!(date(1_709_164_800), "2024-02-29");
        assert_eq!(money(1999, 6), "19.990000");
        assert_eq!(money(5, 4), "0.0500");
        assert_eq!(money(-1250, 4), "-12.5000");
        assert_eq!(slug("Men's  Classic Tee 42"), "men-s-classic-tee-42");
    }
}
