//! Categories and products, stored the way Magento stores them.

use super::eav::FIRST_GENERATED_SET;
use super::{
    Backend, EPOCH, Ent, G, Gen, STAGING_CURRENT, STAGING_FUTURE, STAGING_MAX, Val, datetime,
    money, slug,
};
use crate::rng::Rng;
use crate::schema::Edition;
use crate::sql::V;

/// What the later stages (orders, quotes) need to know about the catalog.
#[derive(Debug, Default)]
pub(crate) struct CatalogState {
    pub next_category_id: u32,
    pub categories: Vec<Category>,
    /// Products a customer can buy: simples and configurable children.
    pub sellable: Vec<Sellable>,
    next_row_id: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct Category {
    pub id: u32,
    pub parent: u32,
    pub level: u32,
    pub position: u32,
    pub name: String,
    pub url_key: String,
    pub url_path: String,
    /// The root category (level 1) above it.
    pub root: u32,
    pub path: String,
    pub children_count: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct Sellable {
    pub id: u32,
    pub sku: String,
    pub name: String,
    pub price_cents: i64,
    pub weight_cents: i64,
    pub websites: Vec<u32>,
    /// For a configurable child: the parent's id, sku, name and the child's (color, size) options.
    pub parent: Option<(u32, String, String, u32, u32)>,
}

/// One version of a staged entity (Adobe Commerce), or the only row (CE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    /// The only version: live from the start.
    Only,
    /// Replaced by the update that is live now.
    Past,
    /// Live now, after a past version.
    CurrentAfterPast,
    /// Live now, until a scheduled future update.
    CurrentBeforeFuture,
    /// Scheduled: not live yet.
    Future,
}

impl Version {
    fn window(self) -> (i64, i64) {
        match self {
            Version::Only => (1, STAGING_MAX),
            Version::Past => (1, STAGING_CURRENT),
            Version::CurrentAfterPast => (STAGING_CURRENT, STAGING_MAX),
            Version::CurrentBeforeFuture => (1, STAGING_FUTURE),
            Version::Future => (STAGING_FUTURE, STAGING_MAX),
        }
    }
}

const ADJECTIVES: &[&str] = &[
    "Classic",
    "Urban",
    "Trail",
    "Essential",
    "Premium",
    "Light",
    "Heritage",
    "Active",
    "Cozy",
    "Bold",
    "Vintage",
    "Sleek",
    "Rugged",
    "Breathable",
    "Everyday",
    "Compact",
];
const MATERIALS: &[&str] = &[
    "Cotton", "Wool", "Leather", "Linen", "Denim", "Canvas", "Fleece", "Silk", "Bamboo", "Nylon",
];
const NOUNS: &[&str] = &[
    "Tee", "Hoodie", "Jacket", "Backpack", "Sneaker", "Scarf", "Cap", "Tote", "Jogger", "Shirt",
    "Sweater", "Duffel", "Vest", "Boot", "Glove", "Beanie",
];
const CATEGORY_WORDS: &[&str] = &[
    "Men",
    "Women",
    "Gear",
    "Bags",
    "Tops",
    "Bottoms",
    "Jackets",
    "Shoes",
    "Accessories",
    "Sale",
    "Outdoor",
    "Fitness",
    "Kids",
    "Home",
    "Travel",
    "New",
];

const ENTITY_COLS_CE: [&str; 8] = [
    "entity_id",
    "attribute_set_id",
    "type_id",
    "sku",
    "has_options",
    "required_options",
    "created_at",
    "updated_at",
];
const ENTITY_COLS_EE: [&str; 11] = [
    "row_id",
    "entity_id",
    "created_in",
    "updated_in",
    "attribute_set_id",
    "type_id",
    "sku",
    "has_options",
    "required_options",
    "created_at",
    "updated_at",
];

/// A product before it is written.
#[derive(Debug)]
struct Product {
    id: u32,
    type_id: &'static str,
    set: u32,
    sku: String,
    name: String,
    price_cents: i64,
    weight_cents: i64,
    visibility: i64,
    websites: Vec<u32>,
    /// (color option, size option) of a configurable child.
    axes: Option<(u32, u32)>,
    children: Vec<u32>,
    images: u32,
}

impl Gen<'_> {
    fn next_row_id(&mut self) -> u64 {
        self.catalog.next_row_id += 1;
        self.catalog.next_row_id
    }

    /// The versions an entity gets: one in CE; in Adobe Commerce some have a past or a future one.
    fn versions(&mut self, rng: &mut Rng) -> Vec<Version> {
        if self.plan.edition == Edition::Ce {
            return vec![Version::Only];
        }
        match rng.below(100) {
            0..=5 => vec![Version::Past, Version::CurrentAfterPast],
            6..=10 => vec![Version::CurrentBeforeFuture, Version::Future],
            _ => vec![Version::Only],
        }
    }

    pub(super) fn categories(&mut self) -> G {
        let p = self.plan.profile;
        let mut cats = vec![Category {
            id: 1,
            parent: 0,
            level: 0,
            position: 0,
            name: "Root Catalog".into(),
            url_key: String::new(),
            url_path: String::new(),
            root: 0,
            path: "1".into(),
            children_count: 0,
        }];
        for (i, web) in self.websites.clone().iter().enumerate() {
            let name = if web.id == 1 {
                "Default Category".to_string()
            } else {
                format!("{} Catalog", web.name)
            };
            cats.push(Category {
                id: web.root_category,
                parent: 1,
                level: 1,
                position: i as u32 + 1,
                url_key: slug(&name),
                url_path: String::new(),
                name,
                root: web.root_category,
                path: format!("1/{}", web.root_category),
                children_count: 0,
            });
        }
        let max_level = 1 + p.category_depth;
        let mut next_id = self.catalog.next_category_id;
        for n in 0..p.categories {
            // The first categories form a chain so the profile's depth is always reached.
            let parent_idx = if (n as usize) < p.category_depth as usize {
                if n == 0 { 1 } else { cats.len() - 1 }
            } else {
                loop {
                    let i = 1 + self.rng.below(cats.len() as u64 - 1) as usize;
                    if cats[i].level < max_level {
                        break i;
                    }
                }
            };
            let parent = cats[parent_idx].clone();
            let id = next_id;
            next_id += 1;
            let name = format!(
                "{} {}",
                CATEGORY_WORDS[self.rng.below(CATEGORY_WORDS.len() as u64) as usize],
                id
            );
            let url_key = slug(&name);
            let url_path = if parent.level <= 1 {
                url_key.clone()
            } else {
                format!("{}/{}", parent.url_path, url_key)
            };
            let position = cats.iter().filter(|c| c.parent == parent.id).count() as u32 + 1;
            cats.push(Category {
                id,
                parent: parent.id,
                level: parent.level + 1,
                position,
                name,
                url_key,
                url_path,
                root: parent.root,
                path: format!("{}/{}", parent.path, id),
                children_count: 0,
            });
        }
        // children_count counts every descendant, as Magento keeps it.
        for i in 0..cats.len() {
            let prefix = format!("{}/", cats[i].path);
            cats[i].children_count =
                cats.iter().filter(|c| c.path.starts_with(&prefix)).count() as u32;
        }
        self.catalog.next_category_id = next_id;
        let mut category_row = 0u64;
        for c in cats.clone() {
            let mut rng = Rng::for_entity(self.plan.seed, 3, c.id as u64);
            let created = EPOCH + rng.below(86_400 * 30) as i64;
            let created_at = datetime(created);
            let updated_at = datetime(created + rng.below(86_400 * 200) as i64);
            let versions = if self.plan.edition == Edition::Ee && c.level > 1 && rng.chance(10) {
                vec![Version::Past, Version::CurrentAfterPast]
            } else {
                vec![Version::Only]
            };
            if self.plan.edition == Edition::Ee {
                self.w.row(
                    "sequence_catalog_category",
                    &["sequence_value"],
                    &[V::I(c.id as i64)],
                )?;
            }
            for version in versions {
                let key = match self.plan.edition {
                    Edition::Ce => c.id as u64,
                    Edition::Ee => {
                        category_row += 1;
                        category_row
                    }
                };
                let base = [
                    V::I(3),
                    V::I(c.parent as i64),
                    V::S(&created_at),
                    V::S(&updated_at),
                    V::S(&c.path),
                    V::I(c.position as i64),
                    V::I(c.level as i64),
                    V::I(c.children_count as i64),
                ];
                let tail = [
                    "attribute_set_id",
                    "parent_id",
                    "created_at",
                    "updated_at",
                    "path",
                    "position",
                    "level",
                    "children_count",
                ];
                // The staging layout puts the version's keys in front of the same columns.
                let (from, to) = version.window();
                let (mut cols, mut vals) = match self.plan.edition {
                    Edition::Ce => (vec!["entity_id"], vec![V::I(c.id as i64)]),
                    Edition::Ee => (
                        vec!["row_id", "entity_id", "created_in", "updated_in"],
                        vec![V::I(key as i64), V::I(c.id as i64), V::I(from), V::I(to)],
                    ),
                };
                cols.extend(tail);
                vals.extend(base);
                self.w.row("catalog_category_entity", &cols, &vals)?;
                let mut vrng = rng.clone();
                self.category_values(&c, key, version, &mut vrng)?;
            }
            self.category_rewrites(&c)?;
        }
        self.catalog.categories = cats;
        Ok(())
    }

    fn category_values(&mut self, c: &Category, key: u64, version: Version, rng: &mut Rng) -> G {
        let a = |g: &Self, code: &str| g.attr(Ent::Category, code);
        let name = if version == Version::Past {
            format!("{} (old)", c.name)
        } else {
            c.name.clone()
        };
        self.value(Ent::Category, key, a(self, "name"), 0, V::S(&name))?;
        if c.level == 0 {
            return Ok(());
        }
        let active = if c.level > 1 && rng.chance(5) { 0 } else { 1 };
        self.value(Ent::Category, key, a(self, "is_active"), 0, V::I(active))?;
        self.value(Ent::Category, key, a(self, "include_in_menu"), 0, V::I(1))?;
        self.value(Ent::Category, key, a(self, "is_anchor"), 0, V::I(1))?;
        self.value(
            Ent::Category,
            key,
            a(self, "display_mode"),
            0,
            V::S("PRODUCTS"),
        )?;
        self.value(Ent::Category, key, a(self, "url_key"), 0, V::S(&c.url_key))?;
        if c.level > 1 {
            self.value(
                Ent::Category,
                key,
                a(self, "url_path"),
                0,
                V::S(&c.url_path),
            )?;
        }
        if rng.chance(50) {
            let text = format!("<p>Everything in {}.</p>", c.name);
            self.value(Ent::Category, key, a(self, "description"), 0, V::S(&text))?;
        }
        if rng.chance(30) {
            let t = format!("{} | Shop", c.name);
            self.value(Ent::Category, key, a(self, "meta_title"), 0, V::S(&t))?;
        }
        if rng.chance(5) {
            self.value(
                Ent::Category,
                key,
                a(self, "available_sort_by"),
                0,
                V::S("name,price"),
            )?;
        }
        if rng.chance(5) {
            self.value(
                Ent::Category,
                key,
                a(self, "filter_price_range"),
                0,
                V::Num(&money(2500, 6)),
            )?;
        }
        if rng.chance(3) {
            let d = datetime(EPOCH + 86_400 * 90);
            self.value(
                Ent::Category,
                key,
                a(self, "custom_design_from"),
                0,
                V::S(&d),
            )?;
        }
        // Store-view names for the views of the category's website that speak another language.
        let stores: Vec<(u32, &'static str)> = self
            .websites
            .iter()
            .filter(|w| w.root_category == c.root)
            .flat_map(|w| w.stores.clone())
            .filter_map(|s| {
                self.stores
                    .iter()
                    .find(|x| x.id == s)
                    .map(|x| (x.id, x.lang))
            })
            .collect();
        for (store, lang) in stores {
            if lang != "en" && rng.chance(30) {
                let t = format!("{name} ({lang})");
                self.value(Ent::Category, key, a(self, "name"), store, V::S(&t))?;
            }
        }
        Ok(())
    }

    fn category_rewrites(&mut self, c: &Category) -> G {
        if c.level < 2 {
            return Ok(());
        }
        let stores: Vec<u32> = self
            .websites
            .iter()
            .filter(|w| w.root_category == c.root)
            .flat_map(|w| w.stores.clone())
            .collect();
        for store in stores {
            let request = format!("{}.html", c.url_path);
            let target = format!("catalog/category/view/id/{}", c.id);
            self.rewrite("category", c.id, &request, &target, store, None)?;
        }
        Ok(())
    }

    fn rewrite(
        &mut self,
        entity_type: &str,
        id: u32,
        request: &str,
        target: &str,
        store: u32,
        metadata: Option<&str>,
    ) -> G {
        let cols = [
            "url_rewrite_id",
            "entity_type",
            "entity_id",
            "request_path",
            "target_path",
            "redirect_type",
            "store_id",
            "is_autogenerated",
            "metadata",
        ];
        let rid = self.w.next_id("url_rewrite") as i64;
        self.w.row(
            "url_rewrite",
            &cols,
            &[
                V::I(rid),
                V::S(entity_type),
                V::I(id as i64),
                V::S(request),
                V::S(target),
                V::I(0),
                V::I(store as i64),
                V::I(1),
                metadata.map(V::S).unwrap_or(V::Null),
            ],
        )
    }

    pub(super) fn products(&mut self) -> G {
        let p = self.plan.profile;
        self.w.row(
            "cataloginventory_stock",
            &["stock_id", "website_id", "stock_name"],
            &[V::I(1), V::I(0), V::S("Default")],
        )?;
        let src_cols = ["source_code", "name", "enabled", "country_id", "postcode"];
        self.w.row(
            "inventory_source",
            &src_cols,
            &[
                V::S("default"),
                V::S("Default Source"),
                V::I(1),
                V::S("US"),
                V::S("00000"),
            ],
        )?;
        if p.websites > 1 {
            self.w.row(
                "inventory_source",
                &src_cols,
                &[
                    V::S("eu_warehouse"),
                    V::S("EU Warehouse"),
                    V::I(1),
                    V::S("DE"),
                    V::S("10115"),
                ],
            )?;
        }
        let image_products = p.images.div_ceil(3);
        let all_websites: Vec<u32> = self.websites.iter().map(|w| w.id).collect();
        let mut id = 0u32;
        for n in 0..p.simple_products {
            id += 1;
            let mut rng = Rng::for_entity(self.plan.seed, 4, id as u64);
            let set = if rng.chance(20) {
                4
            } else {
                FIRST_GENERATED_SET + n % p.attribute_sets.max(1)
            };
            let name = product_name(&mut rng);
            let product = Product {
                id,
                type_id: if rng.chance(3) { "virtual" } else { "simple" },
                set,
                sku: format!("product_dynamic_{}", n + 1),
                name,
                price_cents: rng.range(500, 50_000) as i64 - if rng.chance(50) { 1 } else { 0 },
                weight_cents: rng.range(10, 2_000) as i64,
                visibility: 4,
                websites: self.product_websites(&mut rng, &all_websites),
                axes: None,
                children: Vec::new(),
                images: if n < image_products { 3 } else { 0 },
            };
            self.write_product(product, rng)?;
        }
        let color = self.attr(Ent::Product, "color");
        let size = self.attr(Ent::Product, "size");
        let colors = self.attrs[color].options.clone();
        let sizes = self.attrs[size].options.clone();
        for c in 0..p.configurable_products {
            let parent_id = id + p.children_per_configurable + 1;
            let mut prng = Rng::for_entity(self.plan.seed, 4, parent_id as u64);
            let parent_name = product_name(&mut prng);
            let parent_sku = format!("configurable_{}", c + 1);
            let websites = self.product_websites(&mut prng, &all_websites);
            let base_price = prng.range(2_000, 30_000) as i64;
            let mut children = Vec::new();
            for k in 0..p.children_per_configurable {
                id += 1;
                let mut rng = Rng::for_entity(self.plan.seed, 4, id as u64);
                let (co, so) = (
                    colors[k as usize / sizes.len() % colors.len()],
                    sizes[k as usize % sizes.len()],
                );
                let child = Product {
                    id,
                    type_id: "simple",
                    set: 4,
                    sku: format!("{parent_sku}-option {}", k + 1),
                    name: format!("{parent_name}-option {}", k + 1),
                    price_cents: base_price + (k as i64 % 3) * 500,
                    weight_cents: rng.range(10, 2_000) as i64,
                    visibility: 1,
                    websites: websites.clone(),
                    axes: Some((co, so)),
                    children: Vec::new(),
                    images: 0,
                };
                self.catalog.sellable.push(Sellable {
                    id,
                    sku: child.sku.clone(),
                    name: child.name.clone(),
                    price_cents: child.price_cents,
                    weight_cents: child.weight_cents,
                    websites: websites.clone(),
                    parent: Some((parent_id, parent_sku.clone(), parent_name.clone(), co, so)),
                });
                children.push(id);
                self.write_product(child, rng)?;
            }
            id += 1;
            let parent = Product {
                id,
                type_id: "configurable",
                set: 4,
                sku: parent_sku,
                name: parent_name,
                price_cents: base_price,
                weight_cents: 0,
                visibility: 4,
                websites,
                axes: None,
                children,
                images: 0,
            };
            self.write_product(parent, prng)?;
        }
        Ok(())
    }

    fn product_websites(&mut self, rng: &mut Rng, all: &[u32]) -> Vec<u32> {
        // medium and large assign everything to every website (assign_entities_to_all_websites);
        // multistore leaves some products out of some websites.
        if all.len() == 1 || self.plan.profile.views_per_website == 1 || rng.chance(80) {
            return all.to_vec();
        }
        let subset: Vec<u32> = all.iter().copied().filter(|_| rng.chance(50)).collect();
        if subset.is_empty() {
            vec![all[0]]
        } else {
            subset
        }
    }

    fn write_product(&mut self, p: Product, mut rng: Rng) -> G {
        let created = EPOCH + rng.below(86_400 * 365) as i64;
        let created_at = datetime(created);
        let updated_at = datetime(created + rng.below(86_400 * 300) as i64);
        let versions = self.versions(&mut rng);
        let values = self.product_values(&p, &mut rng);
        let has_options = !p.children.is_empty() as i64;
        if self.plan.edition == Edition::Ee {
            self.w.row(
                "sequence_product",
                &["sequence_value"],
                &[V::I(p.id as i64)],
            )?;
        }
        let gallery = self.gallery_entries(&p)?;
        for version in versions {
            let key = match self.plan.edition {
                Edition::Ce => p.id as u64,
                Edition::Ee => self.next_row_id(),
            };
            match self.plan.edition {
                Edition::Ce => self.w.row(
                    "catalog_product_entity",
                    &ENTITY_COLS_CE,
                    &[
                        V::I(p.id as i64),
                        V::I(p.set as i64),
                        V::S(p.type_id),
                        V::S(&p.sku),
                        V::I(has_options),
                        V::I(has_options),
                        V::S(&created_at),
                        V::S(&updated_at),
                    ],
                )?,
                Edition::Ee => {
                    let (from, to) = version.window();
                    self.w.row(
                        "catalog_product_entity",
                        &ENTITY_COLS_EE,
                        &[
                            V::I(key as i64),
                            V::I(p.id as i64),
                            V::I(from),
                            V::I(to),
                            V::I(p.set as i64),
                            V::S(p.type_id),
                            V::S(&p.sku),
                            V::I(has_options),
                            V::I(has_options),
                            V::S(&created_at),
                            V::S(&updated_at),
                        ],
                    )?
                }
            }
            let name_attr = self.attr(Ent::Product, "name");
            let price_attr = self.attr(Ent::Product, "price");
            for (attr, store, val) in &values {
                // Staged versions differ in name and price, so "which version is live" matters.
                let adjusted = match (version, *store, val) {
                    (Version::Past, 0, Val::S(s)) if *attr == name_attr => {
                        Val::S(format!("{s} (last season)"))
                    }
                    (Version::Future, 0, Val::S(s)) if *attr == name_attr => {
                        Val::S(format!("{s} (coming soon)"))
                    }
                    (Version::Past, 0, Val::Num(_)) if *attr == price_attr => {
                        Val::Num(money(p.price_cents * 11 / 10, 6))
                    }
                    (Version::Future, 0, Val::Num(_)) if *attr == price_attr => {
                        Val::Num(money(p.price_cents * 8 / 10, 6))
                    }
                    _ => val.clone(),
                };
                self.value(Ent::Product, key, *attr, *store, adjusted.as_v())?;
            }
            self.product_links(&p, key, &gallery)?;
        }
        for w in &p.websites {
            self.w.row(
                "catalog_product_website",
                &["product_id", "website_id"],
                &[V::I(p.id as i64), V::I(*w as i64)],
            )?;
        }
        self.stock(&p, &mut rng)?;
        let categories = if p.visibility == 1 {
            Vec::new()
        } else {
            self.product_categories(&p, &mut rng)?
        };
        if p.visibility != 1 {
            self.product_rewrites(&p, &values, &categories)?;
        }
        if p.axes.is_none() && p.type_id != "configurable" {
            self.catalog.sellable.push(Sellable {
                id: p.id,
                sku: p.sku.clone(),
                name: p.name.clone(),
                price_cents: p.price_cents,
                weight_cents: p.weight_cents,
                websites: p.websites.clone(),
                parent: None,
            });
        }
        Ok(())
    }

    /// Every value row of a product: store 0 defaults, store-view and website overrides, and the
    /// untidy rows real stores carry.
    fn product_values(&mut self, p: &Product, rng: &mut Rng) -> Vec<(usize, u32, Val)> {
        let mut out: Vec<(usize, u32, Val)> = Vec::with_capacity(48);
        let a = |g: &Self, code: &str| g.attr(Ent::Product, code);
        let mut put = |attr: usize, store: u32, v: Val| out.push((attr, store, v));
        let url_key = format!("{}-{}", slug(&p.name), p.id);
        put(a(self, "name"), 0, Val::S(p.name.clone()));
        put(a(self, "url_key"), 0, Val::S(url_key));
        put(
            a(self, "status"),
            0,
            Val::I(if rng.chance(3) { 2 } else { 1 }),
        );
        put(a(self, "visibility"), 0, Val::I(p.visibility));
        put(
            a(self, "tax_class_id"),
            0,
            Val::I(if rng.chance(10) { 0 } else { 2 }),
        );
        put(a(self, "quantity_and_stock_status"), 0, Val::I(1));
        put(a(self, "options_container"), 0, Val::S("container2".into()));
        if p.type_id != "configurable" {
            put(a(self, "price"), 0, Val::Num(money(p.price_cents, 6)));
        }
        if p.type_id == "simple" {
            put(a(self, "weight"), 0, Val::Num(money(p.weight_cents, 6)));
        }
        if rng.chance(70) {
            put(
                a(self, "description"),
                0,
                Val::S(format!(
                    "<p>The {} is made to last.</p>\n<ul><li>Care: machine wash</li></ul>",
                    p.name
                )),
            );
        }
        if rng.chance(40) {
            put(
                a(self, "short_description"),
                0,
                Val::S(format!("{}: our best seller.", p.name)),
            );
        }
        if rng.chance(50) {
            put(a(self, "meta_title"), 0, Val::S(p.name.clone()));
        }
        if rng.chance(30) {
            // Some imports leave the row with a NULL value instead of deleting it.
            let v = if rng.chance(10) {
                Val::Null
            } else {
                Val::S(p.name.to_lowercase().replace(' ', ","))
            };
            put(a(self, "meta_keyword"), 0, v);
        }
        if rng.chance(30) {
            put(
                a(self, "meta_description"),
                0,
                Val::S(format!("Buy the {} online.", p.name)),
            );
        }
        if p.type_id != "configurable" && rng.chance(8) {
            if rng.chance(15) {
                put(a(self, "special_price"), 0, Val::Null);
            } else {
                put(
                    a(self, "special_price"),
                    0,
                    Val::Num(money(p.price_cents * 9 / 10, 6)),
                );
                put(
                    a(self, "special_from_date"),
                    0,
                    Val::S(datetime(EPOCH + 86_400 * rng.range(100, 600) as i64)),
                );
            }
        }
        if p.type_id != "configurable" && rng.chance(20) {
            put(a(self, "cost"), 0, Val::Num(money(p.price_cents / 2, 6)));
        }
        if rng.chance(5) {
            put(a(self, "msrp"), 0, Val::Num(money(p.price_cents + 1000, 6)));
            put(
                a(self, "msrp_display_actual_price_type"),
                0,
                Val::S("0".into()),
            );
        }
        if rng.chance(10) {
            put(
                a(self, "gift_message_available"),
                0,
                Val::S(if rng.chance(50) { "1" } else { "0" }.into()),
            );
        }
        if rng.chance(30) {
            put(
                a(self, "country_of_manufacture"),
                0,
                Val::S((*rng.pick(&["US", "DE", "CN", "VN", "IT"])).into()),
            );
        }
        let manufacturer = a(self, "manufacturer");
        if rng.chance(40) {
            put(
                manufacturer,
                0,
                Val::I(*rng.pick(&self.attrs[manufacturer].options) as i64),
            );
        }
        if rng.chance(10) {
            put(
                a(self, "news_from_date"),
                0,
                Val::S(datetime(EPOCH + 86_400 * rng.range(0, 700) as i64)),
            );
        }
        let (color, size) = (a(self, "color"), a(self, "size"));
        match p.axes {
            Some((c, s)) => {
                put(color, 0, Val::I(c as i64));
                put(size, 0, Val::I(s as i64));
            }
            None if p.type_id == "simple" && rng.chance(30) => {
                put(
                    color,
                    0,
                    Val::I(*rng.pick(&self.attrs[color].options) as i64),
                );
            }
            None => {}
        }
        if p.set == 4 && p.axes.is_none() && rng.chance(30) {
            let f = a(self, "features_bags");
            put(f, 0, Val::S(multiselect(rng, &self.attrs[f].options)));
        }
        if p.images > 0 {
            let file = image_path(&p.sku, 1);
            for code in ["image", "small_image", "thumbnail"] {
                put(a(self, code), 0, Val::S(file.clone()));
            }
        }
        // The set's own attributes, most of them filled.
        let own: Vec<usize> = (0..self.attrs.len())
            .filter(|&i| self.attrs[i].set == p.set && self.attrs[i].ent == Ent::Product)
            .collect();
        for &i in &own {
            if rng.chance(60) {
                let v = self.custom_value(i, rng);
                put(i, 0, v);
            }
        }
        // A value of an attribute outside the product's set (left over after a set change).
        if p.set >= FIRST_GENERATED_SET && self.plan.profile.attribute_sets > 1 && rng.chance(1) {
            let other = FIRST_GENERATED_SET
                + (p.set - FIRST_GENERATED_SET + 1) % self.plan.profile.attribute_sets;
            if let Some(i) = (0..self.attrs.len())
                .find(|&i| self.attrs[i].set == other && self.attrs[i].backend == Backend::Varchar)
            {
                let v = self.custom_value(i, rng);
                put(i, 0, v);
            }
        }
        if self.stores.len() > 1 {
            self.product_store_values(p, rng, &own, &mut out);
        }
        out
    }

    fn product_store_values(
        &mut self,
        p: &Product,
        rng: &mut Rng,
        own: &[usize],
        out: &mut Vec<(usize, u32, Val)>,
    ) {
        let a = |g: &Self, code: &str| g.attr(Ent::Product, code);
        let stores: Vec<(u32, &'static str, String)> = p
            .websites
            .iter()
            .flat_map(|w| self.website_stores(*w))
            .filter_map(|s| {
                self.stores
                    .iter()
                    .find(|x| x.id == s)
                    .map(|x| (x.id, x.lang, x.code.clone()))
            })
            .collect();
        // Store-view scope: translations and local copy, for one store view at a time.
        for (store, lang, code) in &stores {
            let translate = if *lang == "en" {
                rng.chance(5)
            } else {
                rng.chance(40)
            };
            if translate {
                let name = if *lang == "en" {
                    format!("{} - {code}", p.name)
                } else {
                    format!("{} ({lang})", p.name)
                };
                if rng.chance(30) {
                    out.push((
                        a(self, "url_key"),
                        *store,
                        Val::S(format!("{}-{}", slug(&name), p.id)),
                    ));
                }
                out.push((a(self, "name"), *store, Val::S(name)));
            }
            if *lang != "en" && rng.chance(10) {
                out.push((
                    a(self, "description"),
                    *store,
                    Val::S(format!("<p>{} [{lang}]</p>", p.name)),
                ));
            }
            for &i in own {
                if self.attrs[i].scope == 0
                    && self.attrs[i].backend == Backend::Varchar
                    && rng.chance(10)
                {
                    let v = self.custom_value(i, rng);
                    out.push((i, *store, v));
                }
            }
        }
        // Website scope: one save in a store view writes a row for every view of its website.
        let price_backend = "Magento\\Catalog\\Model\\Product\\Attribute\\Backend\\Price";
        for w in p.websites.clone() {
            let views = self.website_stores(w);
            let fan_out = |attr: usize, v: Val, out: &mut Vec<(usize, u32, Val)>| {
                for s in &views {
                    out.push((attr, *s, v.clone()));
                }
            };
            if rng.chance(4) {
                fan_out(a(self, "status"), Val::I(2), out);
            }
            if p.visibility != 1 && rng.chance(3) {
                fan_out(a(self, "visibility"), Val::I(3), out);
            }
            if p.type_id != "configurable" {
                // Website prices; with global price scope, stale ones from an earlier setting.
                let percent = if self.price_scope_website { 15 } else { 1 };
                if rng.chance(percent) {
                    let cents = p.price_cents * rng.range(90, 120) as i64 / 100;
                    fan_out(a(self, "price"), Val::Num(money(cents, 6)), out);
                }
            }
            for &i in own {
                let website_scoped = self.attrs[i].scope == 2
                    || (self.price_scope_website
                        && self.attrs[i].backend_model == Some(price_backend));
                if website_scoped && rng.chance(10) {
                    let v = self.custom_value(i, rng);
                    fan_out(i, v, out);
                }
            }
        }
        // Global attributes with stale store rows (left from a scope change): Magento ignores them.
        if p.type_id == "simple" && rng.chance(3) {
            let (store, _, _) = stores[rng.below(stores.len() as u64) as usize].clone();
            out.push((
                a(self, "weight"),
                store,
                Val::Num(money(p.weight_cents + 100, 6)),
            ));
            let m = a(self, "manufacturer");
            out.push((m, store, Val::I(*rng.pick(&self.attrs[m].options) as i64)));
        }
        // A UNIQUE(entity, attribute, store) key: keep the last row per key, as an upsert would.
        let mut seen = std::collections::HashSet::new();
        let mut dedup: Vec<(usize, u32, Val)> = Vec::with_capacity(out.len());
        for row in out.drain(..).rev() {
            if seen.insert((row.0, row.1)) {
                dedup.push(row);
            }
        }
        dedup.reverse();
        *out = dedup;
    }

    fn custom_value(&self, i: usize, rng: &mut Rng) -> Val {
        let a = &self.attrs[i];
        match (a.backend, a.input) {
            (Backend::Int, "select") => Val::I(*rng.pick(&a.options) as i64),
            (Backend::Int, _) => Val::I(rng.below(2) as i64),
            (Backend::Text, "multiselect") => Val::S(multiselect(rng, &a.options)),
            (Backend::Text, _) => Val::S(format!("{} notes: {}", a.label, rng.range(1, 9999))),
            (Backend::Varchar, _) => Val::S(format!("{} {}", a.label, rng.range(1, 999))),
            (Backend::Decimal, _) => Val::Num(money(rng.range(100, 99_999) as i64, 6)),
            (Backend::Datetime, _) => Val::S(datetime(EPOCH + 86_400 * rng.range(0, 900) as i64)),
            (Backend::Static, _) => Val::Null,
        }
    }

    fn gallery_entries(
        &mut self,
        p: &Product,
    ) -> Result<Vec<(i64, String)>, crate::sql::LoaderGone> {
        let attr = self.attrs[self.attr(Ent::Product, "media_gallery")].id as i64;
        let mut out = Vec::new();
        for n in 1..=p.images {
            let id = self.w.next_id("catalog_product_entity_media_gallery") as i64;
            let file = image_path(&p.sku, n);
            self.w.row(
                "catalog_product_entity_media_gallery",
                &[
                    "value_id",
                    "attribute_id",
                    "value",
                    "media_type",
                    "disabled",
                ],
                &[V::I(id), V::I(attr), V::S(&file), V::S("image"), V::I(0)],
            )?;
            out.push((id, file));
        }
        Ok(out)
    }

    /// Rows that hang off one version of a product (keyed by `row_id` in Adobe Commerce).
    fn product_links(&mut self, p: &Product, key: u64, gallery: &[(i64, String)]) -> G {
        let link = self.plan.edition.link_field();
        for (n, (value_id, _)) in gallery.iter().enumerate() {
            let record = self.w.next_id("catalog_product_entity_media_gallery_value") as i64;
            self.w.row(
                "catalog_product_entity_media_gallery_value",
                &[
                    "record_id",
                    "value_id",
                    "store_id",
                    link,
                    "label",
                    "position",
                    "disabled",
                ],
                &[
                    V::I(record),
                    V::I(*value_id),
                    V::I(0),
                    V::I(key as i64),
                    V::Null,
                    V::I(n as i64 + 1),
                    V::I(0),
                ],
            )?;
            self.w.row(
                "catalog_product_entity_media_gallery_value_to_entity",
                &["value_id", link],
                &[V::I(*value_id), V::I(key as i64)],
            )?;
        }
        if p.type_id == "configurable" {
            for (pos, code) in ["color", "size"].iter().enumerate() {
                let idx = self.attr(Ent::Product, code);
                let (attr_id, label) = (self.attrs[idx].id as i64, self.attrs[idx].label.clone());
                let sid = self.w.next_id("catalog_product_super_attribute") as i64;
                self.w.row(
                    "catalog_product_super_attribute",
                    &[
                        "product_super_attribute_id",
                        "product_id",
                        "attribute_id",
                        "position",
                    ],
                    &[V::I(sid), V::I(key as i64), V::I(attr_id), V::I(pos as i64)],
                )?;
                let lid = self.w.next_id("catalog_product_super_attribute_label") as i64;
                self.w.row(
                    "catalog_product_super_attribute_label",
                    &[
                        "value_id",
                        "product_super_attribute_id",
                        "store_id",
                        "use_default",
                        "value",
                    ],
                    &[V::I(lid), V::I(sid), V::I(0), V::I(0), V::S(&label)],
                )?;
            }
            for child in &p.children {
                let lid = self.w.next_id("catalog_product_super_link") as i64;
                self.w.row(
                    "catalog_product_super_link",
                    &["link_id", "product_id", "parent_id"],
                    &[V::I(lid), V::I(*child as i64), V::I(key as i64)],
                )?;
                self.w.row(
                    "catalog_product_relation",
                    &["parent_id", "child_id"],
                    &[V::I(key as i64), V::I(*child as i64)],
                )?;
            }
        }
        if p.type_id == "simple"
            && p.axes.is_none()
            && Rng::for_entity(self.plan.seed, 40, p.id as u64).chance(5)
        {
            for (qty, pct) in [(5, 95), (10, 90)] {
                let tid = self.w.next_id("catalog_product_entity_tier_price") as i64;
                self.w.row(
                    "catalog_product_entity_tier_price",
                    &[
                        "value_id",
                        link,
                        "all_groups",
                        "customer_group_id",
                        "qty",
                        "value",
                        "website_id",
                    ],
                    &[
                        V::I(tid),
                        V::I(key as i64),
                        V::I(1),
                        V::I(0),
                        V::Num(&money(qty * 100, 4)),
                        V::Num(&money(p.price_cents * pct / 100, 6)),
                        V::I(0),
                    ],
                )?;
            }
        }
        Ok(())
    }

    fn stock(&mut self, p: &Product, rng: &mut Rng) -> G {
        let qty: i64 = if p.type_id == "configurable" || rng.chance(5) {
            0
        } else {
            rng.range(1, 1000) as i64
        };
        let in_stock = (p.type_id == "configurable" || qty > 0) as i64;
        let item = self.w.next_id("cataloginventory_stock_item") as i64;
        self.w.row(
            "cataloginventory_stock_item",
            &[
                "item_id",
                "product_id",
                "stock_id",
                "qty",
                "is_in_stock",
                "manage_stock",
                "use_config_manage_stock",
                "website_id",
            ],
            &[
                V::I(item),
                V::I(p.id as i64),
                V::I(1),
                V::Num(&money(qty * 100, 4)),
                V::I(in_stock),
                V::I(1),
                V::I(1),
                V::I(0),
            ],
        )?;
        if p.type_id != "configurable" {
            let cols = ["source_item_id", "source_code", "sku", "quantity", "status"];
            let sid = self.w.next_id("inventory_source_item") as i64;
            self.w.row(
                "inventory_source_item",
                &cols,
                &[
                    V::I(sid),
                    V::S("default"),
                    V::S(&p.sku),
                    V::Num(&money(qty * 100, 4)),
                    V::I(in_stock),
                ],
            )?;
            if self.plan.profile.websites > 1 && rng.chance(30) {
                let q = rng.range(0, 200) as i64;
                let sid = self.w.next_id("inventory_source_item") as i64;
                self.w.row(
                    "inventory_source_item",
                    &cols,
                    &[
                        V::I(sid),
                        V::S("eu_warehouse"),
                        V::S(&p.sku),
                        V::Num(&money(q * 100, 4)),
                        V::I((q > 0) as i64),
                    ],
                )?;
            }
        }
        Ok(())
    }

    fn product_categories(
        &mut self,
        p: &Product,
        rng: &mut Rng,
    ) -> Result<Vec<u32>, crate::sql::LoaderGone> {
        let candidates: Vec<u32> = self
            .catalog
            .categories
            .iter()
            .filter(|c| c.level >= 2)
            .map(|c| c.id)
            .collect();
        let mut chosen: Vec<u32> = Vec::new();
        if candidates.is_empty() {
            return Ok(chosen);
        }
        let n = rng.range(1, 3);
        for _ in 0..n {
            let c = *rng.pick(&candidates);
            if !chosen.contains(&c) {
                chosen.push(c);
            }
        }
        for c in &chosen {
            let id = self.w.next_id("catalog_category_product") as i64;
            self.w.row(
                "catalog_category_product",
                &["entity_id", "category_id", "product_id", "position"],
                &[
                    V::I(id),
                    V::I(*c as i64),
                    V::I(p.id as i64),
                    V::I(rng.below(100) as i64),
                ],
            )?;
        }
        Ok(chosen)
    }

    fn product_rewrites(
        &mut self,
        p: &Product,
        values: &[(usize, u32, Val)],
        categories: &[u32],
    ) -> G {
        let url_key = self.attr(Ent::Product, "url_key");
        let key_at = |store: u32| -> Option<String> {
            values
                .iter()
                .find(|(a, s, _)| *a == url_key && *s == store)
                .and_then(|(_, _, v)| match v {
                    Val::S(s) => Some(s.clone()),
                    _ => None,
                })
        };
        let default_key = key_at(0).unwrap_or_default();
        for w in p.websites.clone() {
            let root = self
                .websites
                .iter()
                .find(|x| x.id == w)
                .map(|x| x.root_category)
                .unwrap_or(0);
            let category = categories
                .iter()
                .filter_map(|c| self.catalog.categories.iter().find(|x| x.id == *c))
                .find(|c| c.root == root)
                .map(|c| (c.id, c.url_path.clone()));
            for store in self.website_stores(w) {
                let key = key_at(store).unwrap_or_else(|| default_key.clone());
                let target = format!("catalog/product/view/id/{}", p.id);
                self.rewrite(
                    "product",
                    p.id,
                    &format!("{key}.html"),
                    &target,
                    store,
                    None,
                )?;
                if let Some((cid, path)) = &category {
                    let meta = format!("{{\"category_id\":\"{cid}\"}}");
                    let target = format!("catalog/product/view/id/{}/category/{cid}", p.id);
                    self.rewrite(
                        "product",
                        p.id,
                        &format!("{path}/{key}.html"),
                        &target,
                        store,
                        Some(&meta),
                    )?;
                }
            }
        }
        Ok(())
    }
}

fn product_name(rng: &mut Rng) -> String {
    format!(
        "{} {} {}",
        rng.pick(ADJECTIVES),
        rng.pick(MATERIALS),
        rng.pick(NOUNS)
    )
}

/// Magento's dispersion path for a media file: `/a/b/ab...jpg`.
fn image_path(sku: &str, n: u32) -> String {
    let file = format!("{}_{n}.jpg", slug(sku));
    let mut chars = file.chars();
    let a = chars.next().unwrap_or('_');
    let b = chars.next().unwrap_or('_');
    format!("/{a}/{b}/{file}")
}

/// A multiselect value: 1–3 distinct option ids, comma-joined in option order.
fn multiselect(rng: &mut Rng, options: &[u32]) -> String {
    let mut picked: Vec<u32> = (0..rng.range(1, 3)).map(|_| *rng.pick(options)).collect();
    picked.sort_unstable();
    picked.dedup();
    picked
        .iter()
        .map(|o| o.to_string())
        .collect::<Vec<_>>()
        .join(",")
}
