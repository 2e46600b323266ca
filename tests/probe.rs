//! `queuelab probe`: its exit status against a serving station, a closed
//! port and an invalid address.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A station child process, killed when dropped.
struct Station(Child);

impl Drop for Station {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Returns a port on 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// Runs `queuelab probe ARGS` and returns its exit code.
fn probe(args: &[&str]) -> i32 {
    let output = Command::new(env!("CARGO_BIN_EXE_queuelab"))
        .arg("probe")
        .args(args)
        .output()
        .expect("queuelab runs");
    output.status.code().expect("probe exits with a code")
}

#[test]
fn probe_exit_codes() {
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_queuelab"))
        .args(["serve", "user", "--listen", &address])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("queuelab serve starts");
    let _station = Station(child);

    // The station needs a moment to bind, and 20 s covers a busy machine.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut code = probe(&[&address, "--timeout", "500ms"]);
    while code != 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        code = probe(&[&address, "--timeout", "500ms"]);
    }
    assert_eq!(code, 0, "a serving station gives exit status 0");

    // Nothing listens on a port that was just released by a test listener.
    let closed = format!("127.0.0.1:{}", free_port());
    assert_eq!(probe(&[&closed, "--timeout", "500ms"]), 1);

    assert_eq!(probe(&["not an address"]), 2);
    assert_eq!(probe(&[&address, "--timeout", "0s"]), 2);
}
