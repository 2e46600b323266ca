//! Compiles `proto/bench.proto` (the Echo service the tests and the bench
//! drive) with protox, so no `protoc` binary is needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let descriptors = protox::compile(["bench.proto"], ["proto"])?;
    tonic_prost_build::configure().compile_fds(descriptors)?;
    println!("cargo:rerun-if-changed=proto/bench.proto");
    Ok(())
}
