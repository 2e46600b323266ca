//! Serves the minimal Echo service on 127.0.0.1, to drive `loadgen --api
//! echo` against a server in another process.
//!
//! `cargo run --release -p queuelab-loadgen --example echo_server -- 50099`
//! (the port defaults to 50099).

use std::net::Ipv4Addr;

use queuelab_loadgen::echo::serve_echo;
use tokio::net::TcpListener;

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> anyhow::Result<()> {
    let port: u16 = match std::env::args().nth(1) {
        Some(text) => text
            .parse()
            .map_err(|_| anyhow::anyhow!("invalid port {text:?}: expected 1 to 65535"))?,
        None => 50099,
    };
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
    println!("echo server listening on {}", listener.local_addr()?);
    serve_echo(listener).await?;
    Ok(())
}
