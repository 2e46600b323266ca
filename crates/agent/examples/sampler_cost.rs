//! Measures the agent's own cost: CPU time per sample, while it follows its
//! own process, then prints the median over the runs.
//!
//! Run with `cargo run --release -p queuelab-agent --example sampler_cost -- [SAMPLES] [RUNS]`
//! (defaults 50 samples, 5 runs, at the minimum interval of 200 ms).

use std::time::Duration;

use queuelab_agent::{AgentConfig, ProcessTarget, Sampler, spawn_sampler};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let samples: usize = args.next().map_or(Ok(50), |text| text.parse())?;
    let runs: usize = args.next().map_or(Ok(5), |text| text.parse())?;

    let mut per_sample_ms = Vec::with_capacity(runs);
    for run in 1..=runs {
        let agent = spawn_sampler(AgentConfig {
            interval: Sampler::MINIMUM_INTERVAL,
            target: ProcessTarget::Current,
            ..AgentConfig::default()
        })?;
        agent.start_window();

        // Bounded wait: at most twice the time the samples should take.
        let deadline = Sampler::MINIMUM_INTERVAL * (2 * samples as u32 + 10);
        let mut waited = Duration::ZERO;
        while agent.sample_count() < samples && waited < deadline {
            std::thread::sleep(Duration::from_millis(50));
            waited += Duration::from_millis(50);
        }

        let report = agent.end_window().ok_or("no sample was taken")?;
        let cost_ms = report.summary.sampler_cpu_s_per_sample * 1000.0;
        println!(
            "run {run}: {} samples, {cost_ms:.3} ms CPU per sample",
            report.summary.sample_count
        );
        per_sample_ms.push(cost_ms);
    }

    per_sample_ms.sort_by(f64::total_cmp);
    println!(
        "median over {runs} runs: {:.3} ms CPU per sample",
        per_sample_ms[per_sample_ms.len() / 2]
    );
    Ok(())
}
