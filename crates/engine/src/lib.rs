//! Exact queueing models.
