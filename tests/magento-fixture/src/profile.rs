//! Store sizes, modelled on Magento's performance toolkit profiles (`setup/performance-toolkit`).

use crate::error::Error;

/// How big a generated store is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    /// The profile's name.
    pub name: &'static str,
    /// Websites (each with one store group and its own root category).
    pub websites: u32,
    /// Store views per website.
    pub views_per_website: u32,
    /// Simple products (not counting configurable children).
    pub simple_products: u32,
    /// Configurable products.
    pub configurable_products: u32,
    /// Simple children per configurable.
    pub children_per_configurable: u32,
    /// Categories below the root categories.
    pub categories: u32,
    /// Category levels below a root category.
    pub category_depth: u32,
    /// Product attribute sets besides Default.
    pub attribute_sets: u32,
    /// User-defined attributes per set.
    pub attributes_per_set: u32,
    /// Options per select/multiselect attribute.
    pub values_per_attribute: u32,
    /// Customers.
    pub customers: u32,
    /// Addresses per customer.
    pub addresses_per_customer: u32,
    /// Orders.
    pub orders: u32,
    /// Products per order.
    pub items_per_order: u32,
    /// Product images (three per product, on the first products).
    pub images: u32,
}

impl Profile {
    /// Every product the profile creates: simples, configurables and their children.
    pub fn total_products(&self) -> u64 {
        self.simple_products as u64
            + self.configurable_products as u64 * (1 + self.children_per_configurable as u64)
    }

    /// Store views, not counting the admin store 0.
    pub fn store_views(&self) -> u32 {
        self.websites * self.views_per_website
    }

    /// The profile called `name`, or an error that lists the profiles.
    pub fn by_name(name: &str) -> Result<Profile, Error> {
        PROFILES
            .iter()
            .find(|p| p.name == name)
            .copied()
            .ok_or_else(|| Error::UnknownProfile {
                name: name.to_string(),
                known: PROFILES
                    .iter()
                    .map(|p| p.name)
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

const SMALL: Profile = Profile {
    name: "small",
    websites: 1,
    views_per_website: 1,
    simple_products: 800,
    configurable_products: 16,
    children_per_configurable: 24,
    categories: 30,
    category_depth: 3,
    attribute_sets: 10,
    attributes_per_set: 5,
    values_per_attribute: 5,
    customers: 200,
    addresses_per_customer: 2,
    orders: 80,
    items_per_order: 2,
    images: 100,
};

/// Every profile the generator knows.
pub const PROFILES: [Profile; 4] = [
    SMALL,
    Profile {
        name: "multistore",
        websites: 3,
        views_per_website: 2,
        ..SMALL
    },
    Profile {
        name: "medium",
        websites: 3,
        views_per_website: 1,
        simple_products: 24_000,
        configurable_products: 640,
        categories: 300,
        attribute_sets: 30,
        attributes_per_set: 10,
        values_per_attribute: 8,
        customers: 2_000,
        orders: 50_000,
        images: 1_000,
        ..SMALL
    },
    Profile {
        name: "large",
        websites: 5,
        views_per_website: 1,
        simple_products: 300_000,
        configurable_products: 8_000,
        categories: 3_000,
        category_depth: 5,
        attribute_sets: 50,
        attributes_per_set: 20,
        values_per_attribute: 15,
        customers: 5_000,
        orders: 100_000,
        images: 2_000,
        ..SMALL
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_profile_lists_the_known_ones() {
        let e = Profile::by_name("huge").err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("unknown profile 'huge'; the profiles are: small, multistore, medium, large")
        );
        assert_eq!(
            Profile::by_name("small").ok().map(|p| p.total_products()),
            Some(1_200)
        );
    }
}
