//! The live sampler on this machine (Linux).

use std::time::Duration;

use queuelab_agent::{AgentConfig, AgentError, ProcessTarget, Sampler, spawn_sampler};

#[test]
fn samples_own_process() {
    let mut sampler = Sampler::new(ProcessTarget::Current).unwrap();
    std::thread::sleep(Sampler::MINIMUM_INTERVAL);

    let sample = sampler.sample().unwrap();

    let process = sample.process.expect("own process is sampled");
    assert_eq!(process.pid, std::process::id());
    assert!(process.rss_bytes > 0);
    assert!(process.threads >= 1);
    assert!(sample.host.memory_total_bytes > 0);
    assert!(!sample.host.per_core_cpu_percent.is_empty());
    assert!(sample.host.context_switches_total > 0);
}

#[test]
fn missing_pid_is_rejected() {
    // PIDs are below 2²² on Linux (pid_max), so this one cannot exist.
    let error = Sampler::new(ProcessTarget::Pid(u32::MAX - 1)).unwrap_err();

    assert!(
        matches!(error, AgentError::ProcessNotFound { .. }),
        "{error}"
    );
}

#[test]
fn short_interval_is_rejected() {
    let config = AgentConfig {
        interval: Duration::from_millis(10),
        ..AgentConfig::default()
    };

    let error = spawn_sampler(config).unwrap_err();

    assert!(
        matches!(error, AgentError::IntervalTooShort { .. }),
        "{error}"
    );
}

#[test]
fn background_window_collects_samples() {
    let config = AgentConfig {
        interval: Sampler::MINIMUM_INTERVAL,
        ..AgentConfig::default()
    };
    let agent = spawn_sampler(config).unwrap();
    agent.start_window();

    // Wait (bounded) for at least three samples.
    for _ in 0..100 {
        if agent.sample_count() >= 3 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let report = agent.end_window().expect("samples were taken");

    assert!(report.summary.sample_count >= 3);
    assert!(report.summary.process.is_some());
    assert_eq!(agent.sample_count(), 0, "end_window starts a new window");
}

#[tokio::test]
async fn handle_used_from_async_tasks() {
    let agent = std::sync::Arc::new(
        spawn_sampler(AgentConfig {
            interval: Sampler::MINIMUM_INTERVAL,
            ..AgentConfig::default()
        })
        .unwrap(),
    );
    agent.start_window();

    // Bounded wait on the runtime's timer: at most 5 s for two samples.
    let waiter = tokio::spawn({
        let agent = std::sync::Arc::clone(&agent);
        async move {
            for _ in 0..100 {
                if agent.sample_count() >= 2 {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            false
        }
    });

    assert!(waiter.await.unwrap(), "two samples within 5 s");
    let report = agent.end_window().unwrap();
    assert!(report.summary.sample_count >= 2);
}
