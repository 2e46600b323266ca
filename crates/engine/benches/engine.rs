//! Benchmarks: Erlang C at c = 100 000, one M/M/c quantile, and solving a
//! random network of 1 000 stations.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use queuelab_engine::{Mmc, Network, Outcome, ResponseOptions, StationSpec, erlang_c};

/// A deterministic pseudo-random sequence (SplitMix64), so every run builds the same network.
struct Sequence(u64);

impl Sequence {
    fn next_unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Builds a random layered call graph: each station calls up to three later
/// stations, with capacity sized so that every station is stable.
fn random_network(stations: usize) -> Network {
    let mut sequence = Sequence(7);
    let specs = (0..stations)
        .map(|i| {
            StationSpec::exponential(
                format!("s{i}"),
                1 + (sequence.next_unit() * 4.0) as u64,
                1000.0,
            )
        })
        .collect();
    let mut network = Network::new(specs).unwrap();
    for from in 0..stations - 1 {
        for _ in 0..3 {
            let span = (stations - from - 1) as f64;
            let to = from + 1 + (sequence.next_unit() * span.min(50.0)) as usize;
            network
                .add_call(from, to, 0.3 * sequence.next_unit())
                .unwrap();
        }
    }
    network.set_external_rate(0, 1.0).unwrap();
    network
}

fn benchmarks(criterion: &mut Criterion) {
    criterion.bench_function("erlang_c c=100000 rho=0.998", |bench| {
        bench.iter(|| erlang_c(black_box(100_000), black_box(99_800.0)))
    });

    let Outcome::Stable(queue) = Mmc::solve(1000.0, 300.0, 4).unwrap() else {
        unreachable!()
    };
    criterion.bench_function("mmc sojourn p99 c=4", |bench| {
        bench.iter(|| black_box(&queue).sojourn_time_quantile(0.99).unwrap())
    });

    let network = random_network(1000);
    let options = ResponseOptions::default();
    criterion.bench_function("network visit ratios 1000 stations", |bench| {
        bench.iter(|| black_box(&network).visit_ratios().unwrap())
    });
    let mut group = criterion.benchmark_group("network solve");
    group.sample_size(10);
    group.bench_function("1000 stations with end-to-end quantiles", |bench| {
        bench.iter(|| black_box(&network).solve(&options).unwrap())
    });
    group.finish();
}

criterion_group!(engine, benchmarks);
criterion_main!(engine);
