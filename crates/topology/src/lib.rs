//! The topology file.
