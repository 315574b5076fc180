//! Issue 15's "Done when", with the built binary: three `agentry serve` processes on loopback
//! joined through one seed, and an index of indexes beside them.
//!
//! Push to the first → found from the third (time printed) → pulled from the second,
//! byte-identical → the first killed with SIGKILL → pulled again from the second (now from its
//! cache: the origin is gone) → a federated search from the second names the dead pod →
//! an agent pushed to the second while the first is down → the first restarted with the same
//! data directory and address catches up → the index answers the same search and redirects
//! pulls to the pod that holds the blobs. Also: a pod with another mesh key is never admitted,
//! and a pod refuses to join without a key.

#![allow(clippy::unwrap_used)] // a panic is a test's failure report

#[allow(dead_code)]
mod cli_support;

use std::time::{Duration, Instant};

use cli_support::{Registry, User, agent_folder, free_port, tree, write};
use serde_json::Value;

const KEY: &str = "mesh e2e test key, 32 bytes long!";

fn mesh_args(pod: &str, port: u16, seed: Option<u16>) -> Vec<String> {
    let mut a = vec![
        "--mesh-listen".to_owned(),
        format!("127.0.0.1:{port}"),
        "--pod-id".to_owned(),
        pod.to_owned(),
        "--mesh-key".to_owned(),
        KEY.to_owned(),
        "--trust-reverify-interval".to_owned(),
        "0".to_owned(),
    ];
    if let Some(s) = seed {
        a.push("--mesh-seeds".into());
        a.push(format!("127.0.0.1:{s}"));
    }
    a
}

fn start(root: &std::path::Path, addr: &str, args: &[String]) -> Registry {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Registry::start_at(root, addr, &args)
}

#[track_caller]
fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let t = Instant::now();
    while t.elapsed() < limit {
        if f() {
            return t.elapsed();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out after {limit:?} waiting for {what}");
}

fn alive_peers(user: &User, addr: &str) -> Vec<String> {
    let r = user.run(&["mesh", "peers", "--registry", addr, "--json"]);
    if r.code != 0 {
        return Vec::new();
    }
    r.json()["peers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["state"] == "alive")
        .filter_map(|p| p["pod"].as_str().map(str::to_owned))
        .collect()
}

fn search(user: &User, addr: &str, args: &[&str]) -> Value {
    let mut a = vec!["search", "--registry", addr, "--json"];
    a.extend_from_slice(args);
    user.run(&a).ok().json()
}

fn names(answer: &Value) -> Vec<(String, String)> {
    answer["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            (
                format!(
                    "{}/{}",
                    i["namespace"].as_str().unwrap_or(""),
                    i["name"].as_str().unwrap_or("")
                ),
                i["source_pod"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn found(user: &User, addr: &str, text: &str, repo: &str) -> bool {
    let r = user.run(&["search", text, "--registry", addr, "--json"]);
    r.code == 0 && names(&r.json()).iter().any(|(n, _)| n == repo)
}

#[test]
fn three_pods_and_an_index_converge_cache_and_survive_a_kill() {
    let user = User::new();
    let roots: Vec<tempfile::TempDir> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let http: Vec<String> = (0..4)
        .map(|_| format!("127.0.0.1:{}", free_port()))
        .collect();
    let gossip: Vec<u16> = (0..4).map(|_| free_port()).collect();
    let a_args = mesh_args("pod-a", gossip[0], None);
    let a = start(roots[0].path(), &http[0], &a_args);
    let b = start(
        roots[1].path(),
        &http[1],
        &mesh_args("pod-b", gossip[1], Some(gossip[0])),
    );
    let c = start(
        roots[2].path(),
        &http[2],
        &mesh_args("pod-c", gossip[2], Some(gossip[0])),
    );
    let mut index_args = mesh_args("index-1", gossip[3], Some(gossip[0]));
    index_args.extend(["--role".to_owned(), "index".to_owned()]);
    let index = start(roots[3].path(), &http[3], &index_args);

    let took = wait_until(
        "every pod to see the three others alive",
        Duration::from_secs(60),
        || {
            [&a.addr, &b.addr, &c.addr, &index.addr]
                .iter()
                .all(|addr| alive_peers(&user, addr).len() == 3)
        },
    );
    println!("membership: 4 pods all alive everywhere after {took:?}");
    let status = user
        .run(&["mesh", "status", "--registry", &b.addr, "--json"])
        .ok()
        .json();
    assert_eq!(status["pod"], "pod-b");
    assert_eq!(status["role"], "pod");
    let table = user.run(&["mesh", "peers", "--registry", &b.addr]).ok();
    assert!(
        table.stdout.contains("pod-a") && table.stdout.contains("INCARNATION"),
        "{table:?}"
    );

    // Push to A, with a layer large enough to be worth fetching lazily.
    let folder = agent_folder();
    let big: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    write(folder.path(), "weights/model.bin", &big);
    let repo = "acme/financial-analyst";
    user.run(&[
        "push",
        &folder.path().display().to_string(),
        &format!("{}/{repo}:2.4.1", a.addr),
    ])
    .ok();
    let took = wait_until(
        "the agent pushed to A to be found on C",
        Duration::from_secs(30),
        || found(&user, &c.addr, "filings", repo),
    );
    println!("replication: pushed to pod-a, found on pod-c after {took:?}");
    let on_c = search(&user, &c.addr, &["filings"]);
    assert_eq!(
        names(&on_c),
        vec![(repo.to_owned(), "pod-a".to_owned())],
        "{on_c}"
    );

    // Pull from B: byte-identical, blobs fetched from A on the way.
    let out1 = tempfile::tempdir().unwrap();
    wait_until("B to hold the manifest", Duration::from_secs(30), || {
        found(&user, &b.addr, "filings", repo)
    });
    user.run(&[
        "pull",
        &format!("{}/{repo}:2.4.1", b.addr),
        "-o",
        &out1.path().display().to_string(),
        "--extract",
    ])
    .ok();
    same_tree(out1.path(), folder.path(), "pulled through pod-b");

    // Kill A (SIGKILL): B still serves the whole artifact from its cache.
    a.kill();
    let out2 = tempfile::tempdir().unwrap();
    user.run(&[
        "pull",
        &format!("{}/{repo}:2.4.1", b.addr),
        "-o",
        &out2.path().display().to_string(),
        "--extract",
    ])
    .ok();
    same_tree(out2.path(), folder.path(), "served from pod-b's cache");

    // A federated query from B answers, and names the dead pod.
    let t = Instant::now();
    let fed = search(&user, &b.addr, &["filings", "--federated"]);
    println!("federated search with pod-a dead: {:?}", t.elapsed());
    assert!(names(&fed).iter().any(|(n, _)| n == repo), "{fed}");
    let failed: Vec<&str> = fed["federation"]["failed"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["pod"].as_str())
        .collect();
    assert!(failed.contains(&"pod-a"), "{fed}");
    assert_eq!(fed["federation"]["partial"], true);
    let answered: Vec<&str> = fed["federation"]["answered"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["pod"].as_str())
        .collect();
    assert!(
        answered.contains(&"pod-c") && answered.contains(&"index-1"),
        "{fed}"
    );

    // Written while A is down, on B.
    let other = tempfile::tempdir().unwrap();
    write(
        other.path(),
        "manifest.yaml",
        b"apiVersion: ossa/v0.4.6\nkind: Agent\nmetadata:\n  name: invoice-reader\n  version: 1.0.0\n  description: Reads invoices into ledgers\nspec:\n  role: You read invoices.\n",
    );
    user.run(&[
        "push",
        &other.path().display().to_string(),
        &format!("{}/beta/invoice-reader:1.0.0", b.addr),
    ])
    .ok();

    // A comes back: same data, same address; it is the same member and catches up.
    let a = start(roots[0].path(), &http[0], &a_args);
    let took = wait_until(
        "pod-a to catch up with what pod-b took while it was down",
        Duration::from_secs(60),
        || found(&user, &a.addr, "invoices", "beta/invoice-reader"),
    );
    println!("restart: pod-a caught up after {took:?}");
    wait_until(
        "pod-a alive again on pod-c",
        Duration::from_secs(60),
        || alive_peers(&user, &c.addr).contains(&"pod-a".to_owned()),
    );
    let peers = user
        .run(&["mesh", "peers", "--registry", &c.addr, "--json"])
        .ok()
        .json();
    let a_entries = peers["peers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["pod"] == "pod-a")
        .count();
    assert_eq!(a_entries, 1, "no phantom member after the restart: {peers}");

    // The index answers the same search and sends pulls to the pod with the blobs.
    wait_until(
        "the index to hold both agents",
        Duration::from_secs(30),
        || {
            found(&user, &index.addr, "invoices", "beta/invoice-reader")
                && found(&user, &index.addr, "filings", repo)
        },
    );
    let on_index = search(&user, &index.addr, &["filings"]);
    assert_eq!(
        names(&on_index),
        names(&on_c),
        "the index answers as pod-c does"
    );
    let out3 = tempfile::tempdir().unwrap();
    user.run(&[
        "pull",
        &format!("{}/{repo}:2.4.1", index.addr),
        "-o",
        &out3.path().display().to_string(),
        "--extract",
    ])
    .ok();
    same_tree(
        out3.path(),
        folder.path(),
        "pulled through the index (redirected)",
    );
    assert!(
        !roots[3].path().join("data/blobs").exists()
            || walk_size(&roots[3].path().join("data/blobs")) < 100_000,
        "the index stores no artifact blobs"
    );

    // A deletion on B reaches every pod (a tombstone), the index included.
    user.run(&["delete", &format!("{}/beta/invoice-reader:1.0.0", b.addr)])
        .ok();
    let took = wait_until(
        "the deletion on pod-b to reach pod-a, pod-c and the index",
        Duration::from_secs(30),
        || {
            [&a.addr, &c.addr, &index.addr]
                .iter()
                .all(|addr| !found(&user, addr, "invoices", "beta/invoice-reader"))
        },
    );
    println!("deletion: gone everywhere after {took:?}");
    let status = user
        .run(&["mesh", "status", "--registry", &c.addr, "--json"])
        .ok()
        .json();
    assert_eq!(status["tombstones"], 1, "{status}");

    // Routing by skill: a capability query asks only the pods whose agents can match.
    let routed = search(
        &user,
        &c.addr,
        &["--capability", "analyze-filing", "--federated"],
    );
    let pods_in = |k: &str| -> Vec<String> {
        routed["federation"][k]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| p.get("pod").unwrap_or(p).as_str().unwrap_or("").to_owned())
            .collect()
    };
    assert_eq!(pods_in("answered"), vec!["pod-a".to_owned()], "{routed}");
    let mut skipped = pods_in("skipped");
    skipped.sort();
    assert_eq!(
        skipped,
        vec!["index-1".to_owned(), "pod-b".to_owned()],
        "{routed}"
    );
    assert!(names(&routed).iter().any(|(n, _)| n == repo), "{routed}");
    drop((b, c, index, a));
}

#[track_caller]
fn same_tree(got: &std::path::Path, want: &std::path::Path, what: &str) {
    let (g, w) = (tree(got), tree(want));
    let keys =
        |t: &std::collections::BTreeMap<String, Vec<u8>>| t.keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&g), keys(&w), "{what}: files differ");
    for (k, v) in &w {
        assert!(g[k] == *v, "{what}: {k} differs");
    }
}

fn walk_size(dir: &std::path::Path) -> u64 {
    let mut n = 0;
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                n += walk_size(&p);
            } else if let Ok(m) = e.metadata() {
                n += m.len();
            }
        }
    }
    n
}

#[test]
fn a_pod_with_another_key_is_never_admitted_and_no_key_is_refused() {
    let user = User::new();
    let (ra, rb) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (ha, hb) = (
        format!("127.0.0.1:{}", free_port()),
        format!("127.0.0.1:{}", free_port()),
    );
    let (ga, gb) = (free_port(), free_port());
    let a = start(ra.path(), &ha, &mesh_args("pod-a", ga, None));
    let mut wrong = mesh_args("pod-x", gb, Some(ga));
    let i = wrong.iter().position(|s| s == KEY).unwrap();
    wrong[i] = "another key, also long enough".into();
    let x = start(rb.path(), &hb, &wrong);
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        alive_peers(&user, &a.addr).is_empty(),
        "pod-x must not be admitted"
    );
    assert!(
        alive_peers(&user, &x.addr).is_empty(),
        "pod-a must not be admitted by pod-x"
    );
    drop((a, x));

    // No key: refused at start with a message that says what to set.
    let r = user.run(&[
        "serve",
        "--listen",
        &format!("127.0.0.1:{}", free_port()),
        "--data",
        &ra.path().join("other").display().to_string(),
        "--mesh-listen",
        &format!("127.0.0.1:{}", free_port()),
    ]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("mesh_key") && r.stderr.contains("AGENTRY_MESH_KEY"),
        "{r:?}"
    );
    // A single pod is not in a mesh: scope=federated says so.
    let solo = Registry::start(cli_support::Backend::Agentry, None);
    let r = user.run(&[
        "search",
        "x",
        "--federated",
        "--registry",
        &solo.addr,
        "--json",
    ]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("not in a mesh"), "{r:?}");
}
