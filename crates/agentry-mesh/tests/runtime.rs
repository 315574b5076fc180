//! Three mesh nodes on loopback sockets (UDP + TCP, and TCP only): a write on one is found
//! on the others; a killed node is reported down; restarted from its durable log with the
//! same identity it rejoins and catches up.

use std::time::{Duration, Instant};

use agentry_mesh::event::{AgentState, EventKind, PodId};
use agentry_mesh::membership::ClusterKey;
use agentry_mesh::node::NodeConfig;
use agentry_mesh::replica::Policy;
use agentry_mesh::runtime::{MeshConfig, MeshHandle, start};
use agentry_types::{RepoName, TrustTier};
use ed25519_dalek::SigningKey;

fn agent(name: &str) -> AgentState {
    AgentState {
        name: RepoName::parse(name).expect("name"),
        version: "1.0.0".into(),
        digest: Some(
            format!("sha256:{}", "d".repeat(64))
                .parse()
                .expect("digest"),
        ),
        artifact_type: None,
        capabilities: vec!["finance".into()],
        trust_tier: TrustTier::Basic,
        deprecated: false,
    }
}

fn config(i: u8, listen: &str, seeds: Vec<String>, dir: &std::path::Path, tcp: bool) -> MeshConfig {
    let mut node = NodeConfig::lan(3);
    node.anti_entropy_ms = 500;
    MeshConfig {
        pod: PodId::parse(&format!("pod-{i}")).expect("pod id"),
        listen: listen.parse().expect("addr"),
        advertise: None,
        api: format!("http://127.0.0.1:{}", 5000 + u16::from(i)),
        seeds,
        cluster: ClusterKey::from_secret(b"test federation secret").expect("key"),
        key: SigningKey::from_bytes(&[i + 1; 32]),
        node,
        policy: Policy::default(),
        gossip_over_tcp: tcp,
        log_path: Some(dir.join(format!("mesh-{i}.redb"))),
    }
}

async fn wait_for<F: AsyncFn() -> bool>(what: &str, f: F) -> Duration {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if f().await {
            return start.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn has(h: &MeshHandle, name: &str) -> bool {
    h.records()
        .await
        .iter()
        .any(|r| r.agent.name.as_str() == name)
}

async fn scenario(tcp: bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = start(config(0, "127.0.0.1:0", vec![], dir.path(), tcp))
        .await
        .expect("start a");
    let seed = a.local_addr.to_string();
    let b = start(config(
        1,
        "127.0.0.1:0",
        vec![seed.clone()],
        dir.path(),
        tcp,
    ))
    .await
    .expect("start b");
    let c = start(config(
        2,
        "127.0.0.1:0",
        vec![seed.clone()],
        dir.path(),
        tcp,
    ))
    .await
    .expect("start c");
    wait_for("3 members", async || {
        c.peers()
            .await
            .iter()
            .filter(|p| p.state == "alive")
            .count()
            == 2
    })
    .await;

    a.write(EventKind::Published, agent("acme/fin"))
        .await
        .expect("write");
    let took = wait_for("the write on c", async || has(&c, "acme/fin").await).await;
    println!("tcp={tcp}: write on pod-0 visible on pod-2 after {took:?}");
    let rec = c
        .records()
        .await
        .into_iter()
        .find(|r| r.agent.name.as_str() == "acme/fin")
        .expect("record");
    assert_eq!(rec.origin, "pod-0");
    assert_eq!(rec.origin_api.as_deref(), Some("http://127.0.0.1:5000"));

    // Kill pod-0 (no leave): the others see it go down.
    let a_addr = a.local_addr;
    a.shutdown(false).await;
    wait_for("pod-0 down", async || {
        b.peers()
            .await
            .iter()
            .all(|p| p.pod != "pod-0" || p.state != "alive")
    })
    .await;
    b.write(EventKind::Published, agent("acme/while-down"))
        .await
        .expect("write");
    wait_for("the write on c", async || has(&c, "acme/while-down").await).await;

    // Restart pod-0 at its address with its log: same identity, higher bump; it catches up.
    let a2 = start(config(
        0,
        &a_addr.to_string(),
        vec![b.local_addr.to_string()],
        dir.path(),
        tcp,
    ))
    .await
    .expect("restart a");
    assert!(
        has(&a2, "acme/fin").await,
        "its own record came back from the log"
    );
    let took = wait_for("pod-0 catching up", async || {
        has(&a2, "acme/while-down").await
    })
    .await;
    println!("tcp={tcp}: restarted pod-0 caught up after {took:?}");
    wait_for("pod-0 alive again on pod-2", async || {
        c.peers()
            .await
            .iter()
            .any(|p| p.pod == "pod-0" && p.state == "alive")
    })
    .await;
    let p0: Vec<_> = c
        .peers()
        .await
        .into_iter()
        .filter(|p| p.pod == "pod-0")
        .collect();
    assert_eq!(p0.len(), 1, "no phantom member: {p0:?}");

    // Graceful leave is noticed.
    c.shutdown(true).await;
    wait_for("pod-2 gone from pod-1", async || {
        b.peers()
            .await
            .iter()
            .all(|p| p.pod != "pod-2" || p.state != "alive")
    })
    .await;
    a2.shutdown(true).await;
    b.shutdown(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_udp() {
    scenario(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_tcp_only() {
    scenario(true).await;
}
