//! Customers and their addresses: static columns in the entity tables, admin-created attributes
//! in value tables without a store dimension.

use super::{EPOCH, Ent, G, Gen, date, datetime, money};
use crate::rng::Rng;
use crate::sql::V;

fn opt_s(s: &Option<String>) -> V<'_> {
    s.as_deref().map(V::S).unwrap_or(V::Null)
}

/// What orders need to know about a customer.
#[derive(Debug, Clone)]
pub(crate) struct CustomerInfo {
    pub id: u32,
    pub website: u32,
    pub store: u32,
    pub group: u32,
    pub email: String,
    pub firstname: String,
    pub lastname: String,
    pub addresses: Vec<AddressInfo>,
}

#[derive(Debug, Clone)]
pub(crate) struct AddressInfo {
    pub id: u32,
    pub street: String,
    pub city: String,
    pub region: Option<(&'static str, u32)>,
    pub postcode: String,
    pub country: &'static str,
    pub telephone: String,
}

const FIRST: &[&str] = &[
    "Veronica", "John", "Amal", "Chen", "Lucia", "Marek", "Aiko", "Omar", "Sofia", "Liam", "Nora",
    "Ravi",
];
const LAST: &[&str] = &[
    "Costello", "Smith", "Haddad", "Wei", "Rossi", "Nowak", "Tanaka", "Farouk", "Garcia",
    "O'Brien", "Berg", "Patel",
];
/// (country, city, postcode, (region, region_id)).
type City = (
    &'static str,
    &'static str,
    &'static str,
    Option<(&'static str, u32)>,
);

const CITIES: &[City] = &[
    ("US", "Calder", "49628-7978", Some(("Michigan", 33))),
    ("US", "Austin", "78701", Some(("Texas", 57))),
    ("GB", "Leeds", "LS1 4AP", None),
    ("FR", "Lyon", "69002", None),
    ("DE", "Köln", "50667", None),
    ("JP", "Osaka", "530-0001", None),
];

impl Gen<'_> {
    pub(super) fn customers(&mut self) -> G {
        let p = self.plan.profile;
        let groups = [
            (0, "NOT LOGGED IN", 3),
            (1, "General", 3),
            (2, "Wholesale", 3),
            (3, "Retailer", 3),
        ];
        for (id, code, tax) in groups {
            self.w.row(
                "customer_group",
                &["customer_group_id", "customer_group_code", "tax_class_id"],
                &[V::I(id), V::S(code), V::I(tax)],
            )?;
        }
        let cols = [
            "entity_id",
            "website_id",
            "email",
            "group_id",
            "store_id",
            "created_at",
            "updated_at",
            "is_active",
            "created_in",
            "prefix",
            "firstname",
            "lastname",
            "dob",
            "password_hash",
            "default_billing",
            "default_shipping",
            "taxvat",
            "gender",
            "failures_num",
        ];
        let acols = [
            "entity_id",
            "parent_id",
            "created_at",
            "updated_at",
            "is_active",
            "city",
            "company",
            "country_id",
            "firstname",
            "lastname",
            "postcode",
            "region",
            "region_id",
            "street",
            "telephone",
            "vat_id",
        ];
        let gender = self.attr(Ent::Customer, "gender");
        let tier = self.attr(Ent::Customer, "loyalty_tier");
        let kind = self.attr(Ent::Address, "address_kind");
        let mut next_address = 0u32;
        for id in 1..=p.customers {
            let mut rng = Rng::for_entity(self.plan.seed, 1, id as u64);
            let web = &self.websites[(id as usize - 1) % self.websites.len()];
            let website = web.id;
            let store = web.stores[rng.below(web.stores.len() as u64) as usize];
            let store_name = self
                .stores
                .iter()
                .find(|s| s.id == store)
                .map(|s| s.name.clone())
                .unwrap_or_default();
            let firstname = FIRST[rng.below(FIRST.len() as u64) as usize].to_string();
            let lastname = LAST[rng.below(LAST.len() as u64) as usize].to_string();
            let email = format!(
                "{}.{}{id}@example.com",
                firstname.to_lowercase(),
                lastname.to_lowercase().replace('\'', "")
            );
            let created = EPOCH + rng.below(86_400 * 600) as i64;
            let group = if rng.chance(80) {
                1
            } else {
                rng.range(2, 3) as u32
            };
            let mut addresses = Vec::new();
            for n in 0..p.addresses_per_customer {
                next_address += 1;
                let (country, city, postcode, region) =
                    CITIES[rng.below(CITIES.len() as u64) as usize];
                let street = if rng.chance(30) {
                    format!(
                        "{} Main Street\nApt {}",
                        rng.range(1, 9999),
                        rng.range(1, 99)
                    )
                } else {
                    format!(
                        "{} {} Road",
                        rng.range(1, 9999),
                        LAST[n as usize % LAST.len()]
                    )
                };
                addresses.push(AddressInfo {
                    id: next_address,
                    street,
                    city: city.to_string(),
                    region,
                    postcode: postcode.to_string(),
                    country,
                    telephone: format!("(555) {:03}-{:04}", rng.below(1000), rng.below(10_000)),
                });
            }
            let billing = addresses.first().map(|a| a.id as i64);
            let shipping = if rng.chance(30) {
                billing
            } else {
                addresses.get(1).or(addresses.first()).map(|a| a.id as i64)
            };
            let hash = format!(
                "{:016x}{:016x}{:016x}{:016x}:{:016x}{:016x}:3_32_2_67108864",
                rng.next_u64(),
                rng.next_u64(),
                rng.next_u64(),
                rng.next_u64(),
                rng.next_u64(),
                rng.next_u64()
            );
            let dob = if rng.chance(70) {
                Some(date(
                    -86_400 * 365 * 10 + 86_400 * rng.below(365 * 50) as i64,
                ))
            } else {
                None
            };
            let gender_value = if rng.chance(60) {
                Some(self.attrs[gender].options[rng.below(2) as usize] as i64)
            } else {
                None
            };
            let taxvat = if rng.chance(10) {
                Some(format!("GB{}", rng.range(100_000_000, 999_999_999)))
            } else {
                None
            };
            let prefix = if rng.chance(5) {
                Some("Dr.".to_string())
            } else {
                None
            };
            self.w.row(
                "customer_entity",
                &cols,
                &[
                    V::I(id as i64),
                    V::I(website as i64),
                    V::S(&email),
                    V::I(group as i64),
                    V::I(store as i64),
                    V::S(&datetime(created)),
                    V::S(&datetime(created + rng.below(86_400 * 100) as i64)),
                    V::I(1),
                    V::S(&store_name),
                    opt_s(&prefix),
                    V::S(&firstname),
                    V::S(&lastname),
                    opt_s(&dob),
                    V::S(&hash),
                    billing.map(V::I).unwrap_or(V::Null),
                    shipping.map(V::I).unwrap_or(V::Null),
                    opt_s(&taxvat),
                    gender_value.map(V::I).unwrap_or(V::Null),
                    V::I(0),
                ],
            )?;
            for a in &addresses {
                let company = if rng.chance(20) {
                    Some(format!("{lastname} & Sons"))
                } else {
                    None
                };
                self.w.row(
                    "customer_address_entity",
                    &acols,
                    &[
                        V::I(a.id as i64),
                        V::I(id as i64),
                        V::S(&datetime(created)),
                        V::S(&datetime(created)),
                        V::I(1),
                        V::S(&a.city),
                        opt_s(&company),
                        V::S(a.country),
                        V::S(&firstname),
                        V::S(&lastname),
                        V::S(&a.postcode),
                        a.region.map(|r| V::S(r.0)).unwrap_or(V::Null),
                        a.region.map(|r| V::I(r.1 as i64)).unwrap_or(V::Null),
                        V::S(&a.street),
                        V::S(&a.telephone),
                        V::Null,
                    ],
                )?;
                if rng.chance(20) {
                    let d = "Leave at the back door";
                    let attr = self.attr(Ent::Address, "delivery_instructions");
                    self.value(Ent::Address, a.id as u64, attr, 0, V::S(d))?;
                }
                if rng.chance(50) {
                    let o = *rng.pick(&self.attrs[kind].options) as i64;
                    self.value(Ent::Address, a.id as u64, kind, 0, V::I(o))?;
                }
            }
            if rng.chance(60) {
                let o = *rng.pick(&self.attrs[tier].options) as i64;
                self.value(Ent::Customer, id as u64, tier, 0, V::I(o))?;
            }
            if rng.chance(50) {
                let code = format!("ERP-{:06}", rng.below(1_000_000));
                let attr = self.attr(Ent::Customer, "erp_customer_code");
                self.value(Ent::Customer, id as u64, attr, 0, V::S(&code))?;
            }
            if rng.chance(20) {
                let attr = self.attr(Ent::Customer, "credit_limit");
                let amount = money(rng.range(1, 500) as i64 * 10_000, 4);
                self.value(Ent::Customer, id as u64, attr, 0, V::Num(&amount))?;
            }
            if rng.chance(10) {
                let attr = self.attr(Ent::Customer, "vip_since");
                let d = datetime(created + 86_400 * 30);
                self.value(Ent::Customer, id as u64, attr, 0, V::S(&d))?;
            }
            if rng.chance(10) {
                let attr = self.attr(Ent::Customer, "customer_notes");
                let n = if rng.chance(20) {
                    None
                } else {
                    Some(format!("Prefers email.\nCalled on {}", date(created)))
                };
                // customer_entity_text.value is NOT NULL in Magento: an empty note is an empty string.
                self.value(
                    Ent::Customer,
                    id as u64,
                    attr,
                    0,
                    V::S(n.as_deref().unwrap_or("")),
                )?;
            }
            self.customers.push(CustomerInfo {
                id,
                website,
                store,
                group,
                email,
                firstname,
                lastname,
                addresses,
            });
        }
        Ok(())
    }
}
