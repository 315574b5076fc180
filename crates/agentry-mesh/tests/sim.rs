//! The deterministic simulator: every acknowledged write reaches every pod, none is lost,
//! and LWW decides the same everywhere, under loss, delay, duplication, reordering, clock
//! skew, cut links and a crash with restart. Sizes kept small for CI; the benchmark
//! (`cargo bench -p agentry-mesh --bench converge`) runs 64 and 1,024 pods.

use agentry_mesh::sim::{Crash, Partition, Sim, SimConfig};

fn run(name: &str, cfg: SimConfig) {
    let pods = cfg.pods;
    let r = Sim::new(cfg).run();
    println!(
        "{name}: {pods} pods, {} writes, converged {:?} ms after the last disturbance, clean write p50 {:?} ms p99 {:?} ms, {} gossip packets, {} messages, {} dropped",
        r.acknowledged,
        r.convergence_ms(),
        r.latency_percentile(0.5),
        r.latency_percentile(0.99),
        r.gossip_packets,
        r.messages,
        r.dropped
    );
    r.verify().unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(r.acknowledged > 0);
}

#[test]
fn three_pods_clean_network() {
    run("3 clean", SimConfig::new(3, 1));
}

#[test]
fn sixteen_pods_loss_duplication_reordering_skew() {
    let mut c = SimConfig::new(16, 2);
    c.loss = 0.05;
    c.duplicate = 0.05;
    c.delay_ms = (1, 80);
    c.max_skew_ms = 2_000;
    c.writes = 200;
    c.keys = 30;
    run("16 lossy", c);
}

#[test]
fn sixteen_pods_partition_with_writes_on_both_sides() {
    let mut c = SimConfig::new(16, 3);
    c.loss = 0.02;
    c.delay_ms = (1, 30);
    c.writes = 150;
    c.keys = 10;
    c.write_window_ms = 12_000;
    c.partition = Some(Partition {
        from_ms: 6_000,
        to_ms: 20_000,
        fraction: 0.5,
    });
    run("16 partitioned", c);
}

#[test]
fn crashed_pod_restarts_with_same_identity_and_catches_up() {
    let mut c = SimConfig::new(8, 4);
    c.delay_ms = (1, 20);
    c.writes = 100;
    c.write_window_ms = 15_000;
    c.crash = Some(Crash {
        pod: 3,
        at_ms: 6_000,
        restart_ms: 30_000,
    });
    run("8 crash+restart", c);
}

#[test]
fn sixty_four_pods_hostile_network() {
    let mut c = SimConfig::new(64, 5);
    c.loss = 0.1;
    c.duplicate = 0.1;
    c.delay_ms = (1, 100);
    c.max_skew_ms = 1_000;
    c.writes = 100;
    c.keys = 15;
    c.partition = Some(Partition {
        from_ms: 7_000,
        to_ms: 15_000,
        fraction: 0.3,
    });
    run("64 hostile", c);
}

#[test]
fn same_seed_same_run() {
    let mut c = SimConfig::new(8, 9);
    c.loss = 0.05;
    c.delay_ms = (1, 40);
    let a = Sim::new(c.clone()).run();
    let b = Sim::new(c).run();
    assert_eq!(a.converged_at_ms, b.converged_at_ms);
    assert_eq!(a.messages, b.messages);
}
