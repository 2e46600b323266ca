//! `queuelab up` as a user runs it: the six stations as child processes.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use queuelab_station::names;
use queuelab_topology::REFERENCE_TOML;

/// Maximum time a `queuelab up` run may take in these tests.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// Picks six free ports on 127.0.0.1 by binding port 0 and releasing them.
///
/// NOTE: another process could take a port between its release and the
/// station's bind; the test would then fail with a "failed to listen" error.
fn free_addresses() -> Vec<SocketAddr> {
    let listeners: Vec<TcpListener> = (0..names::ALL.len())
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|listener| listener.local_addr().unwrap())
        .collect()
}

/// Creates an empty directory for one test under the system's temporary
/// directory.
fn scratch_directory(test: &str) -> std::path::PathBuf {
    let directory =
        std::env::temp_dir().join(format!("queuelab-mesh-up-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    directory
}

/// Writes the reference topology with the given station addresses.
fn write_topology(directory: &Path, addresses: &[SocketAddr]) -> std::path::PathBuf {
    let mut text = REFERENCE_TOML.to_owned();
    for (index, address) in addresses.iter().enumerate() {
        let reference = format!("127.0.0.1:{}", names::FIRST_REFERENCE_PORT + index as u16);
        assert!(
            text.contains(&reference),
            "reference topology lacks {reference}"
        );
        text = text.replace(&reference, &address.to_string());
    }
    let path = directory.join("topology.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn start_up(topology: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_queuelab"))
        .args(["up", "--topology"])
        .arg(topology)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for `child` to exit, killing it after [`RUN_LIMIT`].
fn wait_bounded(child: &mut Child) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > RUN_LIMIT {
            child.kill().unwrap();
            panic!("queuelab up did not exit within {RUN_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn is_listening(address: SocketAddr) -> bool {
    std::net::TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok()
}

#[test]
fn up_starts_all_and_stops_on_sigint() {
    let directory = scratch_directory("starts");
    let addresses = free_addresses();
    let topology = write_topology(&directory, &addresses);
    let mut up = start_up(&topology);

    // Read stdout up to the Ctrl-C hint, which `up` prints once every station is healthy.
    let stdout = up.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut printed = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.contains("press Ctrl-C");
        printed.push(line);
        if done {
            break;
        }
    }
    assert!(
        printed.iter().any(|line| line == "mesh is up:"),
        "stdout: {printed:?}"
    );
    for (name, address) in names::ALL.iter().zip(&addresses) {
        let listed = printed
            .iter()
            .any(|line| line.contains(name) && line.contains(&address.to_string()));
        assert!(listed, "{name} at {address} not listed in {printed:?}");
        assert!(
            is_listening(*address),
            "{name} is not listening at {address}"
        );
    }

    let interrupt = Command::new("kill")
        .args(["-INT", &up.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupt.success());
    let status = wait_bounded(&mut up);
    assert!(status.success(), "queuelab up exited with {status}");

    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    for name in names::ALL {
        let reported = rest
            .iter()
            .any(|line| line.starts_with(&format!("stopped {name}:")));
        assert!(reported, "no stop line for {name} in {rest:?}");
    }
    for address in &addresses {
        assert!(
            !is_listening(*address),
            "{address} still listening after stop"
        );
    }
}

#[test]
fn up_reports_station_whose_port_is_taken() {
    let directory = scratch_directory("port-taken");
    let addresses = free_addresses();
    let topology = write_topology(&directory, &addresses);

    // Occupy the order station's port.
    let order_index = names::ALL
        .iter()
        .position(|name| *name == names::ORDER)
        .unwrap();
    let _occupier = TcpListener::bind(addresses[order_index]).unwrap();

    let mut up = start_up(&topology);
    let status = wait_bounded(&mut up);
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut up.stderr.take().unwrap(), &mut stderr).unwrap();

    assert_eq!(status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains("station order"), "stderr: {stderr}");
    assert!(stderr.contains("failed to listen"), "stderr: {stderr}");
    for (index, address) in addresses.iter().enumerate() {
        if index != order_index {
            assert!(
                !is_listening(*address),
                "{} still listening at {address}",
                names::ALL[index]
            );
        }
    }
}

#[test]
fn up_rejects_missing_topology_file() {
    let status = Command::new(env!("CARGO_BIN_EXE_queuelab"))
        .args(["up", "--topology", "/nonexistent/topology.toml"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2));
}
