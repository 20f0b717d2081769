//! EAV metadata: entity types, attributes (with shuffled ids), sets, groups, options, labels.

use super::{Ent, G, Gen};
use crate::sql::V;

/// An attribute's `backend_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Static,
    Int,
    Varchar,
    Decimal,
    Text,
    Datetime,
}

impl Backend {
    fn code(self) -> &'static str {
        match self {
            Backend::Static => "static",
            Backend::Int => "int",
            Backend::Varchar => "varchar",
            Backend::Decimal => "decimal",
            Backend::Text => "text",
            Backend::Datetime => "datetime",
        }
    }
}

/// One attribute as the generator knows it.
#[derive(Debug, Clone)]
pub(crate) struct Attr {
    pub id: u32,
    pub ent: Ent,
    pub code: String,
    pub backend: Backend,
    pub input: &'static str,
    /// `catalog_eav_attribute.is_global`: 0 store view, 1 global, 2 website.
    pub scope: u32,
    pub label: String,
    pub source: Option<&'static str>,
    pub backend_model: Option<&'static str>,
    pub user_defined: bool,
    /// Option ids (select, multiselect with the table source).
    pub options: Vec<u32>,
    /// The product attribute set that owns a user-defined attribute (0 = every set).
    pub set: u32,
}

const PRICE_BACKEND: &str = "Magento\\Catalog\\Model\\Product\\Attribute\\Backend\\Price";
const ARRAY_BACKEND: &str = "Magento\\Eav\\Model\\Entity\\Attribute\\Backend\\ArrayBackend";
const BOOLEAN_SOURCE: &str = "Magento\\Eav\\Model\\Entity\\Attribute\\Source\\Boolean";
const TABLE_SOURCE: &str = "Magento\\Eav\\Model\\Entity\\Attribute\\Source\\Table";

/// Product system attributes: (code, backend, input, is_global, source model, backend model, label).
type Spec = (
    &'static str,
    Backend,
    &'static str,
    u32,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
);

const PRODUCT_SYSTEM: &[Spec] = {
    use Backend::*;
    &[
        ("name", Varchar, "text", 0, None, None, "Product Name"),
        (
            "sku",
            Static,
            "text",
            1,
            None,
            Some("Magento\\Catalog\\Model\\Product\\Attribute\\Backend\\Sku"),
            "SKU",
        ),
        (
            "description",
            Text,
            "textarea",
            0,
            None,
            None,
            "Description",
        ),
        (
            "short_description",
            Text,
            "textarea",
            0,
            None,
            None,
            "Short Description",
        ),
        (
            "price",
            Decimal,
            "price",
            2,
            None,
            Some(PRICE_BACKEND),
            "Price",
        ),
        (
            "special_price",
            Decimal,
            "price",
            2,
            None,
            Some(PRICE_BACKEND),
            "Special Price",
        ),
        (
            "special_from_date",
            Datetime,
            "date",
            2,
            None,
            Some("Magento\\Catalog\\Model\\Attribute\\Backend\\Startdate"),
            "Special Price From Date",
        ),
        (
            "special_to_date",
            Datetime,
            "date",
            2,
            None,
            Some("Magento\\Eav\\Model\\Entity\\Attribute\\Backend\\Datetime"),
            "Special Price To Date",
        ),
        (
            "cost",
            Decimal,
            "price",
            2,
            None,
            Some(PRICE_BACKEND),
            "Cost",
        ),
        (
            "weight",
            Decimal,
            "weight",
            1,
            None,
            Some("Magento\\Catalog\\Model\\Product\\Attribute\\Backend\\Weight"),
            "Weight",
        ),
        ("manufacturer", Int, "select", 1, None, None, "Manufacturer"),
        ("meta_title", Varchar, "text", 0, None, None, "Meta Title"),
        (
            "meta_keyword",
            Text,
            "textarea",
            0,
            None,
            None,
            "Meta Keywords",
        ),
        (
            "meta_description",
            Varchar,
            "textarea",
            0,
            None,
            None,
            "Meta Description",
        ),
        ("image", Varchar, "media_image", 0, None, None, "Base"),
        (
            "small_image",
            Varchar,
            "media_image",
            0,
            None,
            None,
            "Small",
        ),
        (
            "thumbnail",
            Varchar,
            "media_image",
            0,
            None,
            None,
            "Thumbnail",
        ),
        (
            "media_gallery",
            Static,
            "gallery",
            0,
            None,
            None,
            "Media Gallery",
        ),
        ("color", Int, "select", 1, None, None, "Color"),
        (
            "news_from_date",
            Datetime,
            "date",
            2,
            None,
            Some("Magento\\Catalog\\Model\\Attribute\\Backend\\Startdate"),
            "Set Product as New from Date",
        ),
        (
            "news_to_date",
            Datetime,
            "date",
            2,
            None,
            Some("Magento\\Eav\\Model\\Entity\\Attribute\\Backend\\Datetime"),
            "Set Product as New to Date",
        ),
        (
            "status",
            Int,
            "select",
            2,
            Some("Magento\\Catalog\\Model\\Product\\Attribute\\Source\\Status"),
            None,
            "Enable Product",
        ),
        (
            "tax_class_id",
            Int,
            "select",
            2,
            Some("Magento\\Tax\\Model\\TaxClass\\Source\\Product"),
            None,
            "Tax Class",
        ),
        (
            "url_key",
            Varchar,
            "text",
            0,
            None,
            Some("Magento\\Catalog\\Model\\Product\\Attribute\\Backend\\UrlKey"),
            "URL Key",
        ),
        (
            "visibility",
            Int,
            "select",
            2,
            Some("Magento\\Catalog\\Model\\Product\\Visibility"),
            None,
            "Visibility",
        ),
        (
            "country_of_manufacture",
            Varchar,
            "select",
            2,
            Some("Magento\\Catalog\\Model\\Product\\Attribute\\Source\\Countryofmanufacture"),
            None,
            "Country of Manufacture",
        ),
        (
            "options_container",
            Varchar,
            "select",
            0,
            Some("Magento\\Catalog\\Model\\Entity\\Product\\Attribute\\Design\\Options\\Container"),
            None,
            "Display Product Options In",
        ),
        (
            "gift_message_available",
            Varchar,
            "boolean",
            0,
            Some(BOOLEAN_SOURCE),
            Some("Magento\\Catalog\\Model\\Product\\Attribute\\Backend\\Boolean"),
            "Allow Gift Message",
        ),
        (
            "quantity_and_stock_status",
            Int,
            "select",
            1,
            Some("Magento\\CatalogInventory\\Model\\Source\\Stock"),
            Some("Magento\\Catalog\\Model\\Product\\Attribute\\Backend\\Stock"),
            "Quantity",
        ),
        (
            "msrp",
            Decimal,
            "price",
            2,
            None,
            Some(PRICE_BACKEND),
            "Minimum Advertised Price",
        ),
        (
            "msrp_display_actual_price_type",
            Varchar,
            "select",
            2,
            Some("Magento\\Msrp\\Model\\Product\\Attribute\\Source\\Type\\Price"),
            Some("Magento\\Catalog\\Model\\Product\\Attribute\\Backend\\Boolean"),
            "Display Actual Price",
        ),
        (
            "category_ids",
            Static,
            "categories",
            1,
            None,
            Some("Magento\\Catalog\\Model\\Product\\Attribute\\Backend\\Category"),
            "Categories",
        ),
        ("has_options", Static, "text", 1, None, None, "Has Options"),
        (
            "required_options",
            Static,
            "text",
            1,
            None,
            None,
            "Required Options",
        ),
        (
            "created_at",
            Static,
            "date",
            1,
            None,
            Some("Magento\\Eav\\Model\\Entity\\Attribute\\Backend\\Time\\Created"),
            "Created At",
        ),
        (
            "updated_at",
            Static,
            "date",
            1,
            None,
            Some("Magento\\Eav\\Model\\Entity\\Attribute\\Backend\\Time\\Updated"),
            "Updated At",
        ),
        (
            "tier_price",
            Decimal,
            "text",
            2,
            None,
            Some("Magento\\Catalog\\Model\\Product\\Attribute\\Backend\\Tierprice"),
            "Tier Price",
        ),
        // A multiselect an installer created in _varchar (Magento's own multiselects go to _text).
        (
            "features_bags",
            Varchar,
            "multiselect",
            1,
            None,
            Some(ARRAY_BACKEND),
            "Features",
        ),
        // The second configurable axis.
        ("size", Int, "select", 1, None, None, "Size"),
    ]
};

const CATEGORY_SYSTEM: &[Spec] = {
    use Backend::*;
    &[
        ("name", Varchar, "text", 0, None, None, "Name"),
        (
            "is_active",
            Int,
            "select",
            0,
            Some(BOOLEAN_SOURCE),
            None,
            "Is Active",
        ),
        (
            "description",
            Text,
            "textarea",
            0,
            None,
            None,
            "Description",
        ),
        ("meta_title", Varchar, "text", 0, None, None, "Page Title"),
        (
            "meta_description",
            Text,
            "textarea",
            0,
            None,
            None,
            "Meta Description",
        ),
        (
            "display_mode",
            Varchar,
            "select",
            0,
            Some("Magento\\Catalog\\Model\\Category\\Attribute\\Source\\Mode"),
            None,
            "Display Mode",
        ),
        (
            "is_anchor",
            Int,
            "select",
            1,
            Some(BOOLEAN_SOURCE),
            None,
            "Is Anchor",
        ),
        (
            "include_in_menu",
            Int,
            "select",
            0,
            Some(BOOLEAN_SOURCE),
            None,
            "Include in Navigation Menu",
        ),
        (
            "url_key",
            Varchar,
            "text",
            0,
            None,
            Some("Magento\\Catalog\\Model\\Category\\Attribute\\Backend\\Urlkey"),
            "URL Key",
        ),
        ("url_path", Varchar, "text", 0, None, None, "URL Path"),
        (
            "available_sort_by",
            Text,
            "multiselect",
            0,
            Some("Magento\\Catalog\\Model\\Category\\Attribute\\Source\\Sortby"),
            Some("Magento\\Catalog\\Model\\Category\\Attribute\\Backend\\Sortby"),
            "Available Product Listing Sort By",
        ),
        (
            "filter_price_range",
            Decimal,
            "text",
            0,
            None,
            None,
            "Layered Navigation Price Step",
        ),
        (
            "custom_design_from",
            Datetime,
            "date",
            0,
            None,
            Some("Magento\\Catalog\\Model\\Attribute\\Backend\\Startdate"),
            "Active From",
        ),
        ("path", Static, "text", 1, None, None, "Path"),
        ("position", Static, "text", 1, None, None, "Position"),
        ("level", Static, "text", 1, None, None, "Level"),
        (
            "children_count",
            Static,
            "text",
            1,
            None,
            None,
            "Children Count",
        ),
    ]
};

const CUSTOMER_SYSTEM: &[Spec] = {
    use Backend::*;
    &[
        (
            "website_id",
            Static,
            "select",
            0,
            Some("Magento\\Customer\\Model\\Customer\\Attribute\\Source\\Website"),
            None,
            "Associate to Website",
        ),
        (
            "store_id",
            Static,
            "select",
            0,
            Some("Magento\\Customer\\Model\\Customer\\Attribute\\Source\\Store"),
            None,
            "Create In",
        ),
        ("created_in", Static, "text", 0, None, None, "Created From"),
        ("prefix", Static, "text", 0, None, None, "Name Prefix"),
        ("firstname", Static, "text", 0, None, None, "First Name"),
        (
            "middlename",
            Static,
            "text",
            0,
            None,
            None,
            "Middle Name/Initial",
        ),
        ("lastname", Static, "text", 0, None, None, "Last Name"),
        ("suffix", Static, "text", 0, None, None, "Name Suffix"),
        ("email", Static, "text", 0, None, None, "Email"),
        (
            "group_id",
            Static,
            "select",
            0,
            Some("Magento\\Customer\\Model\\Customer\\Attribute\\Source\\Group"),
            None,
            "Group",
        ),
        ("dob", Static, "date", 0, None, None, "Date of Birth"),
        ("password_hash", Static, "hidden", 0, None, None, ""),
        ("rp_token", Static, "hidden", 0, None, None, ""),
        ("rp_token_created_at", Static, "date", 0, None, None, ""),
        (
            "default_billing",
            Static,
            "text",
            0,
            None,
            None,
            "Default Billing Address",
        ),
        (
            "default_shipping",
            Static,
            "text",
            0,
            None,
            None,
            "Default Shipping Address",
        ),
        ("taxvat", Static, "text", 0, None, None, "Tax/VAT Number"),
        (
            "confirmation",
            Static,
            "text",
            0,
            None,
            None,
            "Is Confirmed",
        ),
        ("created_at", Static, "date", 0, None, None, "Created At"),
        (
            "gender",
            Static,
            "select",
            0,
            Some(TABLE_SOURCE),
            None,
            "Gender",
        ),
        (
            "disable_auto_group_change",
            Static,
            "boolean",
            0,
            None,
            None,
            "Disable Automatic Group Change Based on VAT ID",
        ),
        ("updated_at", Static, "date", 0, None, None, "Updated At"),
        // Admin-created customer attributes live in the value tables (no store dimension).
        (
            "loyalty_tier",
            Int,
            "select",
            0,
            Some(TABLE_SOURCE),
            None,
            "Loyalty Tier",
        ),
        (
            "erp_customer_code",
            Varchar,
            "text",
            0,
            None,
            None,
            "ERP Customer Code",
        ),
        (
            "credit_limit",
            Decimal,
            "text",
            0,
            None,
            None,
            "Credit Limit",
        ),
        ("vip_since", Datetime, "date", 0, None, None, "VIP Since"),
        ("customer_notes", Text, "textarea", 0, None, None, "Notes"),
    ]
};

const ADDRESS_SYSTEM: &[Spec] = {
    use Backend::*;
    &[
        ("prefix", Static, "text", 0, None, None, "Name Prefix"),
        ("firstname", Static, "text", 0, None, None, "First Name"),
        (
            "middlename",
            Static,
            "text",
            0,
            None,
            None,
            "Middle Name/Initial",
        ),
        ("lastname", Static, "text", 0, None, None, "Last Name"),
        ("suffix", Static, "text", 0, None, None, "Name Suffix"),
        ("company", Static, "text", 0, None, None, "Company"),
        (
            "street",
            Static,
            "multiline",
            0,
            None,
            None,
            "Street Address",
        ),
        ("city", Static, "text", 0, None, None, "City"),
        ("country_id", Static, "select", 0, None, None, "Country"),
        ("region", Static, "text", 0, None, None, "State/Province"),
        (
            "region_id",
            Static,
            "hidden",
            0,
            None,
            None,
            "State/Province",
        ),
        ("postcode", Static, "text", 0, None, None, "Zip/Postal Code"),
        ("telephone", Static, "text", 0, None, None, "Phone Number"),
        ("fax", Static, "text", 0, None, None, "Fax"),
        ("vat_id", Static, "text", 0, None, None, "VAT Number"),
        (
            "delivery_instructions",
            Varchar,
            "text",
            0,
            None,
            None,
            "Delivery Instructions",
        ),
        (
            "address_kind",
            Int,
            "select",
            0,
            Some(TABLE_SOURCE),
            None,
            "Address Kind",
        ),
    ]
};

/// Option labels of the system select attributes that use the table source.
const OPTION_LABELS: &[(&str, &[&str])] = &[
    (
        "color",
        &[
            "Black", "White", "Red", "Blue", "Green", "Yellow", "Gray", "Purple",
        ],
    ),
    ("size", &["XS", "S", "M", "L", "XL", "XXL"]),
    (
        "manufacturer",
        &["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay"],
    ),
    (
        "features_bags",
        &[
            "Audio Pocket",
            "Waterproof",
            "Lightweight",
            "Reflective",
            "Laptop Sleeve",
            "Lockable",
        ],
    ),
    ("gender", &["Male", "Female", "Not Specified"]),
    ("loyalty_tier", &["Bronze", "Silver", "Gold", "Platinum"]),
    ("address_kind", &["Home", "Office"]),
];

const WORDS: &[&str] = &[
    "Alpine", "Breeze", "Cobalt", "Delta", "Ember", "Fjord", "Granite", "Harbor", "Indigo",
    "Juniper", "Kestrel", "Lumen", "Meadow", "Nimbus", "Onyx", "Pioneer", "Quartz", "Ridge",
    "Summit", "Tundra",
];

/// An `eav_entity_type` row: id, code, model, attribute model, table, default set, increment
/// model, increment per store, additional attribute table, attribute collection.
type EntityTypeRow = (
    i64,
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    i64,
    Option<&'static str>,
    i64,
    Option<&'static str>,
    Option<&'static str>,
);

/// The product attribute sets besides Default start here (1–4 are the stock Default sets).
pub(crate) const FIRST_GENERATED_SET: u32 = 5;

impl Gen<'_> {
    pub(super) fn eav(&mut self) -> G {
        self.entity_types()?;
        self.define_attributes();
        self.write_attributes()?;
        self.write_sets()?;
        self.write_options()
    }

    fn entity_types(&mut self) -> G {
        let cols = [
            "entity_type_id",
            "entity_type_code",
            "entity_model",
            "attribute_model",
            "entity_table",
            "default_attribute_set_id",
            "increment_model",
            "increment_per_store",
            "additional_attribute_table",
            "entity_attribute_collection",
        ];
        let numeric = "Magento\\Eav\\Model\\Entity\\Increment\\NumericValue";
        let rows: [EntityTypeRow; 8] = [
            (
                1,
                "customer",
                "Magento\\Customer\\Model\\ResourceModel\\Customer",
                Some("Magento\\Customer\\Model\\Attribute"),
                "customer_entity",
                1,
                Some(numeric),
                0,
                Some("customer_eav_attribute"),
                Some("Magento\\Customer\\Model\\ResourceModel\\Attribute\\Collection"),
            ),
            (
                2,
                "customer_address",
                "Magento\\Customer\\Model\\ResourceModel\\Address",
                Some("Magento\\Customer\\Model\\Attribute"),
                "customer_address_entity",
                2,
                None,
                0,
                Some("customer_eav_attribute"),
                Some("Magento\\Customer\\Model\\ResourceModel\\Address\\Attribute\\Collection"),
            ),
            (
                3,
                "catalog_category",
                "Magento\\Catalog\\Model\\ResourceModel\\Category",
                Some("Magento\\Catalog\\Model\\ResourceModel\\Eav\\Attribute"),
                "catalog_category_entity",
                3,
                None,
                0,
                Some("catalog_eav_attribute"),
                Some("Magento\\Catalog\\Model\\ResourceModel\\Category\\Attribute\\Collection"),
            ),
            (
                4,
                "catalog_product",
                "Magento\\Catalog\\Model\\ResourceModel\\Product",
                Some("Magento\\Catalog\\Model\\ResourceModel\\Eav\\Attribute"),
                "catalog_product_entity",
                4,
                None,
                0,
                Some("catalog_eav_attribute"),
                Some("Magento\\Catalog\\Model\\ResourceModel\\Product\\Attribute\\Collection"),
            ),
            (
                5,
                "order",
                "Magento\\Sales\\Model\\ResourceModel\\Order",
                None,
                "sales_order",
                0,
                Some(numeric),
                1,
                None,
                None,
            ),
            (
                6,
                "invoice",
                "Magento\\Sales\\Model\\ResourceModel\\Order",
                None,
                "sales_invoice",
                0,
                Some(numeric),
                1,
                None,
                None,
            ),
            (
                7,
                "creditmemo",
                "Magento\\Sales\\Model\\ResourceModel\\Order\\Creditmemo",
                None,
                "sales_creditmemo",
                0,
                Some(numeric),
                1,
                None,
                None,
            ),
            (
                8,
                "shipment",
                "Magento\\Sales\\Model\\ResourceModel\\Order\\Shipment",
                None,
                "sales_shipment",
                0,
                Some(numeric),
                1,
                None,
                None,
            ),
        ];
        let opt = |s: Option<&'static str>| s.map(V::S).unwrap_or(V::Null);
        for (id, code, model, attr_model, table, set, inc, per_store, add, coll) in rows {
            self.w.row(
                "eav_entity_type",
                &cols,
                &[
                    V::I(id),
                    V::S(code),
                    V::S(model),
                    opt(attr_model),
                    V::S(table),
                    V::I(set),
                    opt(inc),
                    V::I(per_store),
                    opt(add),
                    opt(coll),
                ],
            )?;
        }
        Ok(())
    }

    fn define_attributes(&mut self) {
        let mut defs: Vec<Attr> = Vec::new();
        let mut push = |ent: Ent, s: &Spec, user_defined: bool, set: u32| {
            let (code, backend, input, scope, source, backend_model, label) = *s;
            let source = match (input, source) {
                ("select" | "multiselect", None) if backend != Backend::Static => {
                    Some(TABLE_SOURCE)
                }
                (_, s) => s,
            };
            defs.push(Attr {
                id: 0,
                ent,
                code: code.to_string(),
                backend,
                input,
                scope,
                label: label.to_string(),
                source,
                backend_model,
                user_defined,
                options: Vec::new(),
                set,
            });
        };
        for s in PRODUCT_SYSTEM {
            push(Ent::Product, s, s.0 == "size", 0);
        }
        for s in CATEGORY_SYSTEM {
            push(Ent::Category, s, false, 0);
        }
        for s in CUSTOMER_SYSTEM {
            push(Ent::Customer, s, s.1 != Backend::Static, 0);
        }
        for s in ADDRESS_SYSTEM {
            push(Ent::Address, s, s.1 != Backend::Static, 0);
        }
        // User-defined product attributes, one group per generated attribute set, the way the
        // performance toolkit creates them, with a mix of the input types admins use.
        let p = self.plan.profile;
        for set in 0..p.attribute_sets {
            for j in 0..p.attributes_per_set {
                use Backend::*;
                let (backend, input, scope, backend_model): (
                    Backend,
                    &'static str,
                    u32,
                    Option<&'static str>,
                ) = match j % 8 {
                    0 => (Int, "select", 1, None),
                    1 => (Text, "multiselect", 0, Some(ARRAY_BACKEND)),
                    2 => (Varchar, "text", 0, None),
                    3 => (Int, "select", 2, None),
                    4 => (Text, "textarea", 0, None),
                    // Says global; with catalog/price/scope = 1 Magento treats it as website.
                    5 => (Decimal, "price", 1, Some(PRICE_BACKEND)),
                    6 => (Datetime, "date", 1, None),
                    _ => (Int, "boolean", 0, None),
                };
                let source = match input {
                    "select" | "multiselect" => Some(TABLE_SOURCE),
                    "boolean" => Some(BOOLEAN_SOURCE),
                    _ => None,
                };
                let word = WORDS[((set * 7 + j) as usize) % WORDS.len()];
                defs.push(Attr {
                    id: 0,
                    ent: Ent::Product,
                    code: format!("set{}_attr{}", set + 1, j + 1),
                    backend,
                    input,
                    scope,
                    label: format!("{word} {}/{}", set + 1, j + 1),
                    source,
                    backend_model,
                    user_defined: true,
                    options: Vec::new(),
                    set: FIRST_GENERATED_SET + set,
                });
            }
        }
        // Attribute ids differ between installs: deal them from a shuffled range with gaps, so
        // that nothing can work by assuming stock ids or code order.
        let n = defs.len() as u32;
        let mut ids: Vec<u32> = (1..=n + n / 4 + 10).collect();
        self.rng.shuffle(&mut ids);
        for (a, id) in defs.iter_mut().zip(ids) {
            a.id = id;
        }
        for (i, a) in defs.iter().enumerate() {
            self.by_code.insert((a.ent.type_id(), a.code.clone()), i);
        }
        self.attrs = defs;
    }

    fn write_attributes(&mut self) -> G {
        let cols = [
            "attribute_id",
            "entity_type_id",
            "attribute_code",
            "backend_model",
            "backend_type",
            "frontend_input",
            "frontend_label",
            "source_model",
            "is_required",
            "is_user_defined",
            "is_unique",
        ];
        let ccols = [
            "attribute_id",
            "is_global",
            "is_visible",
            "is_searchable",
            "is_filterable",
            "is_comparable",
            "is_visible_on_front",
            "used_in_product_listing",
            "apply_to",
            "position",
            "is_wysiwyg_enabled",
            "is_html_allowed_on_front",
        ];
        let custcols = [
            "attribute_id",
            "is_visible",
            "is_system",
            "sort_order",
            "multiline_count",
        ];
        let opt = |s: Option<&'static str>| s.map(V::S).unwrap_or(V::Null);
        for i in 0..self.attrs.len() {
            let a = self.attrs[i].clone();
            let required = matches!(
                a.code.as_str(),
                "name"
                    | "sku"
                    | "price"
                    | "status"
                    | "firstname"
                    | "lastname"
                    | "email"
                    | "street"
                    | "city"
                    | "country_id"
                    | "telephone"
            );
            self.w.row(
                "eav_attribute",
                &cols,
                &[
                    V::I(a.id as i64),
                    V::I(a.ent.type_id() as i64),
                    V::S(&a.code),
                    opt(a.backend_model),
                    V::S(a.backend.code()),
                    V::S(a.input),
                    if a.label.is_empty() {
                        V::Null
                    } else {
                        V::S(&a.label)
                    },
                    opt(a.source),
                    V::I(required as i64),
                    V::I(a.user_defined as i64),
                    V::I((a.code == "sku" || a.code == "url_key") as i64),
                ],
            )?;
            match a.ent {
                Ent::Product | Ent::Category => {
                    let wysiwyg = a.input == "textarea" && a.code == "description";
                    self.w.row(
                        "catalog_eav_attribute",
                        &ccols,
                        &[
                            V::I(a.id as i64),
                            V::I(a.scope as i64),
                            V::I(1),
                            V::I(matches!(a.code.as_str(), "name" | "sku" | "description") as i64),
                            V::I((a.input == "select" && a.user_defined) as i64),
                            V::I(a.user_defined as i64),
                            V::I(a.user_defined as i64),
                            V::I(matches!(
                                a.code.as_str(),
                                "name" | "price" | "status" | "visibility" | "url_key"
                            ) as i64),
                            if a.code == "weight" {
                                V::S("simple,virtual")
                            } else {
                                V::Null
                            },
                            V::I(0),
                            V::I(wysiwyg as i64),
                            V::I(wysiwyg as i64),
                        ],
                    )?;
                }
                Ent::Customer | Ent::Address => {
                    self.w.row(
                        "customer_eav_attribute",
                        &custcols,
                        &[
                            V::I(a.id as i64),
                            V::I((a.input != "hidden") as i64),
                            V::I(!a.user_defined as i64),
                            V::I(i as i64 * 10),
                            V::I(if a.code == "street" { 2 } else { 1 }),
                        ],
                    )?;
                }
            }
        }
        Ok(())
    }

    fn write_sets(&mut self) -> G {
        let scols = [
            "attribute_set_id",
            "entity_type_id",
            "attribute_set_name",
            "sort_order",
        ];
        let gcols = [
            "attribute_group_id",
            "attribute_set_id",
            "attribute_group_name",
            "sort_order",
            "default_id",
            "attribute_group_code",
            "tab_group_code",
        ];
        let ecols = [
            "entity_attribute_id",
            "entity_type_id",
            "attribute_set_id",
            "attribute_group_id",
            "attribute_id",
            "sort_order",
        ];
        let mut sets: Vec<(u32, Ent, String)> = vec![
            (1, Ent::Customer, "Default".into()),
            (2, Ent::Address, "Default".into()),
            (3, Ent::Category, "Default".into()),
            (4, Ent::Product, "Default".into()),
        ];
        for k in 0..self.plan.profile.attribute_sets {
            sets.push((
                FIRST_GENERATED_SET + k,
                Ent::Product,
                format!("Attribute Set {}", k + 1),
            ));
        }
        for (set_id, ent, name) in sets {
            self.w.row(
                "eav_attribute_set",
                &scols,
                &[
                    V::I(set_id as i64),
                    V::I(ent.type_id() as i64),
                    V::S(&name),
                    V::I(set_id as i64),
                ],
            )?;
            let groups: &[(&str, &str)] = match ent {
                Ent::Product => &[
                    ("Product Details", "product-details"),
                    ("Content", "content"),
                    ("Images", "image-management"),
                    ("Search Engine Optimization", "search-engine-optimization"),
                    ("Attributes", "attributes"),
                ],
                Ent::Category => &[
                    ("General Information", "general-information"),
                    ("Content", "content"),
                ],
                _ => &[("General", "general")],
            };
            let mut group_ids = Vec::new();
            for (i, (gname, gcode)) in groups.iter().enumerate() {
                let gid = self.w.next_id("eav_attribute_group") as i64;
                group_ids.push(gid);
                self.w.row(
                    "eav_attribute_group",
                    &gcols,
                    &[
                        V::I(gid),
                        V::I(set_id as i64),
                        V::S(gname),
                        V::I(i as i64 + 1),
                        V::I((i == 0) as i64),
                        V::S(gcode),
                        if ent == Ent::Product {
                            V::S("basic")
                        } else {
                            V::Null
                        },
                    ],
                )?;
            }
            let members: Vec<usize> = (0..self.attrs.len())
                .filter(|&i| {
                    let a = &self.attrs[i];
                    a.ent == ent
                        && (a.set == 0 || a.set == set_id)
                        && !(a.code == "features_bags" && set_id != 4)
                })
                .collect();
            for (pos, i) in members.into_iter().enumerate() {
                let a = &self.attrs[i];
                let group = match (ent, a.code.as_str(), a.input) {
                    (Ent::Product, _, _) if a.user_defined && a.code != "size" => group_ids[4],
                    (Ent::Product, "description" | "short_description", _) => group_ids[1],
                    (Ent::Product, _, "media_image" | "gallery") => group_ids[2],
                    (
                        Ent::Product,
                        "url_key" | "meta_title" | "meta_keyword" | "meta_description",
                        _,
                    ) => group_ids[3],
                    (Ent::Category, "description" | "meta_title" | "meta_description", _) => {
                        group_ids[1]
                    }
                    _ => group_ids[0],
                };
                let (id, type_id) = (a.id as i64, a.ent.type_id() as i64);
                let eid = self.w.next_id("eav_entity_attribute") as i64;
                self.w.row(
                    "eav_entity_attribute",
                    &ecols,
                    &[
                        V::I(eid),
                        V::I(type_id),
                        V::I(set_id as i64),
                        V::I(group),
                        V::I(id),
                        V::I(pos as i64),
                    ],
                )?;
            }
        }
        Ok(())
    }

    fn write_options(&mut self) -> G {
        let ocols = ["option_id", "attribute_id", "sort_order"];
        let vcols = ["value_id", "option_id", "store_id", "value"];
        let lcols = ["attribute_label_id", "attribute_id", "store_id", "value"];
        let foreign: Vec<(u32, &'static str)> = self
            .stores
            .iter()
            .filter(|s| s.lang != "en")
            .map(|s| (s.id, s.lang))
            .collect();
        for i in 0..self.attrs.len() {
            let a = self.attrs[i].clone();
            let labels: Vec<String> = if a.source == Some(TABLE_SOURCE) {
                match OPTION_LABELS.iter().find(|(c, _)| *c == a.code) {
                    Some((_, l)) => l.iter().map(|s| s.to_string()).collect(),
                    None => (1..=self.plan.profile.values_per_attribute)
                        .map(|n| format!("{} {}", WORDS[(n as usize + i) % WORDS.len()], n))
                        .collect(),
                }
            } else {
                Vec::new()
            };
            let mut options = Vec::new();
            for (n, label) in labels.iter().enumerate() {
                let option_id = self.w.next_id("eav_attribute_option") as u32;
                options.push(option_id);
                self.w.row(
                    "eav_attribute_option",
                    &ocols,
                    &[V::I(option_id as i64), V::I(a.id as i64), V::I(n as i64)],
                )?;
                let copies = if self.rng.chance(3) { 2 } else { 1 };
                // Migrated stores often hold the same (option, store) label twice.
                for _ in 0..copies {
                    let vid = self.w.next_id("eav_attribute_option_value") as i64;
                    self.w.row(
                        "eav_attribute_option_value",
                        &vcols,
                        &[V::I(vid), V::I(option_id as i64), V::I(0), V::S(label)],
                    )?;
                }
                for (store, lang) in &foreign {
                    if self.rng.chance(50) {
                        let vid = self.w.next_id("eav_attribute_option_value") as i64;
                        let translated = format!("{label} ({lang})");
                        self.w.row(
                            "eav_attribute_option_value",
                            &vcols,
                            &[
                                V::I(vid),
                                V::I(option_id as i64),
                                V::I(*store as i64),
                                V::S(&translated),
                            ],
                        )?;
                    }
                }
            }
            self.attrs[i].options = options;
            if a.user_defined {
                for (store, lang) in &foreign {
                    if self.rng.chance(30) {
                        let lid = self.w.next_id("eav_attribute_label") as i64;
                        let text = format!("{} [{lang}]", a.label);
                        self.w.row(
                            "eav_attribute_label",
                            &lcols,
                            &[
                                V::I(lid),
                                V::I(a.id as i64),
                                V::I(*store as i64),
                                V::S(&text),
                            ],
                        )?;
                    }
                }
            }
        }
        Ok(())
    }
}
