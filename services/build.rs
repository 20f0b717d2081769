//! The migrations are embedded at compile time (`sqlx::migrate!`): rebuild when one is added or
//! changed, as sqlx's documentation advises.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
