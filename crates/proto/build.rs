//! Compiles the .proto files under the workspace's `proto/` folder with protox,
//! a pure-Rust protobuf compiler, so that no `protoc` binary is needed.

use std::path::PathBuf;

const PROTO_FILES: &[&str] = &[
    "queuelab/v1/storefront.proto",
    "queuelab/v1/user.proto",
    "queuelab/v1/product.proto",
    "queuelab/v1/order.proto",
    "queuelab/v1/payment.proto",
    "queuelab/v1/database.proto",
    "queuelab/v1/stats.proto",
    "queuelab/v1/analysis.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let proto_root = manifest_dir.join("../../proto");
    println!("cargo:rerun-if-changed={}", proto_root.display());

    let descriptors = protox::compile(PROTO_FILES, [&proto_root])?;
    tonic_prost_build::configure().compile_fds(descriptors)?;
    Ok(())
}
