//! Names of the six stations of the mesh and their reference addresses.

/// The entry station that external requests arrive at.
pub const API_GATEWAY: &str = "api-gateway";
/// Customer profiles.
pub const USER: &str = "user";
/// The product catalog.
pub const PRODUCT: &str = "product";
/// Orders.
pub const ORDER: &str = "order";
/// Payments.
pub const PAYMENT: &str = "payment";
/// The in-memory store.
pub const DATABASE: &str = "database";

/// Every station, in the order of their reference ports.
pub const ALL: [&str; 6] = [API_GATEWAY, USER, PRODUCT, ORDER, PAYMENT, DATABASE];

/// Port of [`ALL`]`[0]` when the topology gives no address; the others follow
/// one by one (50051 to 50056).
pub const FIRST_REFERENCE_PORT: u16 = 50051;

/// Rows per table that the database seeds at start-up; callers use keys
/// below it.
pub const DATABASE_ROWS_PER_TABLE: u64 = 10_000;

/// Returns the reference address `127.0.0.1:PORT` of a station, or `None`
/// for a name that is not one of [`ALL`].
pub fn reference_address(station: &str) -> Option<String> {
    let index = ALL.iter().position(|name| *name == station)?;
    Some(format!("127.0.0.1:{}", FIRST_REFERENCE_PORT + index as u16))
}
