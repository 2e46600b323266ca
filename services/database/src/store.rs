//! The in-memory row store behind the database station.

use std::sync::Mutex;

/// Tables the store holds; each has [`Store::rows_per_table`] rows.
pub const TABLES: [&str; 4] = ["users", "products", "orders", "payments"];

/// Largest value accepted by a write, in bytes.
pub const MAX_VALUE_BYTES: usize = 4096;

/// One row: its value and how often it was written (seeding counts as 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRow {
    /// The row's bytes.
    pub value: Vec<u8>,
    /// Writes since start-up, seeding included.
    pub version: u64,
}

/// A rejected read or write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The table does not exist.
    #[error("table {table:?} not found; tables are users, products, orders and payments")]
    UnknownTable {
        /// The requested table.
        table: String,
    },
    /// The key lies beyond the table's rows.
    #[error("key {key} is out of range for table {table}; keys run from 0 to {last}")]
    KeyOutOfRange {
        /// The table.
        table: String,
        /// The requested key.
        key: u64,
        /// The largest valid key.
        last: u64,
    },
    /// The value is larger than [`MAX_VALUE_BYTES`].
    #[error("value of {size} bytes exceeds the limit of {MAX_VALUE_BYTES} bytes")]
    ValueTooLarge {
        /// The value's size, in bytes.
        size: usize,
    },
}

/// A fixed set of tables with a fixed number of rows each, seeded at
/// start-up, so its memory does not grow with the traffic.
#[derive(Debug)]
pub struct Store {
    rows_per_table: u64,
    tables: Vec<Mutex<Vec<StoredRow>>>,
}

impl Store {
    /// Seeds every table with `rows_per_table` rows. The value of row k is
    /// the 8 little-endian bytes of k.
    pub fn seeded(rows_per_table: u64) -> Self {
        let tables = TABLES
            .iter()
            .map(|_| {
                let rows = (0..rows_per_table)
                    .map(|key| StoredRow {
                        value: key.to_le_bytes().to_vec(),
                        version: 1,
                    })
                    .collect();
                Mutex::new(rows)
            })
            .collect();
        Self {
            rows_per_table,
            tables,
        }
    }

    /// Returns the number of rows in every table.
    pub fn rows_per_table(&self) -> u64 {
        self.rows_per_table
    }

    /// Reads one row; `None` when the key is beyond the table's rows.
    ///
    /// # Errors
    /// [`StoreError::UnknownTable`].
    pub fn read(&self, table: &str, key: u64) -> Result<Option<StoredRow>, StoreError> {
        let rows = self
            .table(table)?
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Ok(usize::try_from(key)
            .ok()
            .and_then(|index| rows.get(index).cloned()))
    }

    /// Replaces one row's value and returns its new version.
    ///
    /// # Errors
    /// [`StoreError::UnknownTable`], [`StoreError::KeyOutOfRange`] or
    /// [`StoreError::ValueTooLarge`].
    pub fn write(&self, table: &str, key: u64, value: Vec<u8>) -> Result<u64, StoreError> {
        if value.len() > MAX_VALUE_BYTES {
            return Err(StoreError::ValueTooLarge { size: value.len() });
        }
        let mut rows = self
            .table(table)?
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let out_of_range = || StoreError::KeyOutOfRange {
            table: table.to_owned(),
            key,
            last: self.rows_per_table.saturating_sub(1),
        };
        let index = usize::try_from(key).map_err(|_| out_of_range())?;
        let row = rows.get_mut(index).ok_or_else(out_of_range)?;
        row.value = value;
        row.version += 1;
        Ok(row.version)
    }

    fn table(&self, table: &str) -> Result<&Mutex<Vec<StoredRow>>, StoreError> {
        TABLES
            .iter()
            .position(|name| *name == table)
            .map(|index| &self.tables[index])
            .ok_or_else(|| StoreError::UnknownTable {
                table: table.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_row_reads_back() {
        let store = Store::seeded(10);
        let row = store.read("users", 7).unwrap().unwrap();
        assert_eq!(row.value, 7_u64.to_le_bytes().to_vec());
        assert_eq!(row.version, 1);
    }

    #[test]
    fn read_beyond_rows_is_none() {
        let store = Store::seeded(10);
        assert_eq!(store.read("users", 10).unwrap(), None);
    }

    #[test]
    fn write_bumps_version() {
        let store = Store::seeded(10);
        assert_eq!(store.write("orders", 3, b"paid".to_vec()).unwrap(), 2);
        assert_eq!(store.write("orders", 3, b"shipped".to_vec()).unwrap(), 3);
        let row = store.read("orders", 3).unwrap().unwrap();
        assert_eq!(row.value, b"shipped".to_vec());
    }

    #[test]
    fn write_rejects_bad_input() {
        let store = Store::seeded(10);
        assert!(matches!(
            store.write("carts", 1, Vec::new()),
            Err(StoreError::UnknownTable { .. })
        ));
        assert_eq!(
            store.write("orders", 10, Vec::new()),
            Err(StoreError::KeyOutOfRange {
                table: "orders".to_owned(),
                key: 10,
                last: 9
            })
        );
        assert_eq!(
            store.write("orders", 1, vec![0; MAX_VALUE_BYTES + 1]),
            Err(StoreError::ValueTooLarge {
                size: MAX_VALUE_BYTES + 1
            })
        );
    }
}
