//! Real crashes: a child process (this test binary, running the ignored `crash_child` test)
//! aborts in the middle of a write, or is killed with SIGKILL during concurrent writes; the
//! parent reopens the stores and checks that everything acknowledged is intact and nothing
//! half-written is visible.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use agentry_store::fs::FaultPoint;
use agentry_store::testsuite::{LIMIT, Must, body_of, manifest, pattern, read_all, repo};
use agentry_store::{BlobStore, FsBlobStore, MetadataStore, RedbMetadataStore, UploadId};
use agentry_types::{Digest, ManifestRef, Tag};
use futures::StreamExt;

const DIR_VAR: &str = "AGENTRY_STORE_CRASH_DIR";
const MODE_VAR: &str = "AGENTRY_STORE_CRASH_MODE";

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"))
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// The child's side. Ignored in normal runs: the parent tests start it with `--ignored`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "helper process for the crash tests; started by them"]
async fn crash_child() {
    let dir = std::env::var(DIR_VAR).unwrap_or_else(|_| panic!("{DIR_VAR} not set"));
    let mode = std::env::var(MODE_VAR).unwrap_or_else(|_| panic!("{MODE_VAR} not set"));
    let dir = Path::new(&dir);
    let abort_at = |want: fn(FaultPoint) -> bool| -> agentry_store::fs::FaultHook {
        Arc::new(move |p| {
            if want(p) {
                std::process::abort();
            }
            Ok(())
        })
    };
    match mode.as_str() {
        "put-mid-write" | "put-before-rename" => {
            let hook = if mode == "put-mid-write" {
                abort_at(|p| matches!(p, FaultPoint::Write { offset } if offset >= 1 << 20))
            } else {
                abort_at(|p| p == FaultPoint::BeforeRename)
            };
            let store = FsBlobStore::open_with_faults(dir, hook).must("open");
            let data = pattern(3 << 20, 1);
            let d = Digest::sha256(&data);
            let _ = store.put(&d, body_of(&data, 65536), None, LIMIT).await;
        }
        "append-mid-write" | "finish-before-rename" => {
            let hook = if mode == "append-mid-write" {
                abort_at(|p| matches!(p, FaultPoint::Write { offset } if offset >= 1 << 20))
            } else {
                abort_at(|p| p == FaultPoint::BeforeRename)
            };
            let store = FsBlobStore::open_with_faults(dir, hook).must("open");
            let id = UploadId::new();
            store.upload_start(&id).await.must("start");
            let data = pattern(4 << 20, 2);
            store
                .upload_append(&id, 0, body_of(&data[..100_000], 8192), None, LIMIT)
                .await
                .must("first chunk");
            say(&format!("UPLOAD {id}"));
            let _ = store
                .upload_append(&id, 100_000, body_of(&data[100_000..], 65536), None, LIMIT)
                .await;
            let _ = store.upload_finish(&id, &Digest::sha256(&data)).await;
        }
        "writer" => {
            // Concurrent pushes until killed; each acknowledged one is announced.
            let blobs = FsBlobStore::open(dir.join("blobs")).must("open blobs");
            let meta = RedbMetadataStore::open(dir.join("meta.redb")).must("open meta");
            let mut tasks = Vec::new();
            for w in 0..4u64 {
                let (blobs, meta) = (blobs.clone(), meta.clone());
                tasks.push(tokio::spawn(async move {
                    for i in 0u64.. {
                        let r = repo(&format!("crash/w{w}"));
                        let layer = pattern(20_000 + (i as usize % 7) * 1000, w * 1_000_000 + i);
                        let d = Digest::sha256(&layer);
                        blobs
                            .put(&d, body_of(&layer, 8192), Some(layer.len() as u64), LIMIT)
                            .await
                            .must("put");
                        meta.link_blob(&r, &d, layer.len() as u64)
                            .await
                            .must("link");
                        let t = format!("v{i}");
                        let p = manifest(
                            &r,
                            &format!("{w}-{i}"),
                            std::slice::from_ref(&d),
                            &[],
                            Some(&t),
                            None,
                        );
                        meta.put_manifest(p.clone()).await.must("put manifest");
                        say(&format!("ACK {r} {t} {} {d}", p.meta.digest));
                    }
                }));
            }
            for t in tasks {
                let _ = t.await;
            }
        }
        other => panic!("unknown mode {other}"),
    }
}

fn child(dir: &Path, mode: &str) -> Command {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    let mut cmd = Command::new(exe);
    cmd.args([
        "crash_child",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads",
        "1",
    ])
    .env(DIR_VAR, dir)
    .env(MODE_VAR, mode)
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    cmd
}

/// Run a child that aborts itself; return its stdout lines.
fn run_to_crash(dir: &Path, mode: &str) -> Vec<String> {
    let out = child(dir, mode)
        .output()
        .unwrap_or_else(|e| panic!("spawn child: {e}"));
    assert!(
        !out.status.success(),
        "the child was meant to crash ({mode})"
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_during_put_leaves_nothing_visible() {
    for mode in ["put-mid-write", "put-before-rename"] {
        let dir = tempdir();
        run_to_crash(dir.path(), mode);
        let store = FsBlobStore::open(dir.path()).must("reopen");
        let data = pattern(3 << 20, 1);
        let d = Digest::sha256(&data);
        assert_eq!(store.stat(&d).await.must("stat"), None, "{mode}");
        assert_eq!(store.list().count().await, 0, "{mode}: nothing listed");
        store
            .put(&d, body_of(&data, 65536), None, LIMIT)
            .await
            .must("put after the crash");
        assert_eq!(
            read_all(&store, &d, None).await.map(|(s, _)| s),
            Some(3 << 20)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_during_an_upload_leaves_a_resumable_upload() {
    for mode in ["append-mid-write", "finish-before-rename"] {
        let dir = tempdir();
        let lines = run_to_crash(dir.path(), mode);
        let id = lines
            .iter()
            // The harness prints "test crash_child ... " without a line break before it.
            .find_map(|l| l.split("UPLOAD ").nth(1))
            .and_then(UploadId::parse)
            .unwrap_or_else(|| panic!("{mode}: the child announced no upload: {lines:?}"));
        let data = pattern(4 << 20, 2);
        let d = Digest::sha256(&data);
        let store = FsBlobStore::open(dir.path()).must("reopen");
        assert_eq!(
            store.stat(&d).await.must("stat"),
            None,
            "{mode}: not visible"
        );
        let size = store
            .upload_size(&id)
            .await
            .must("size")
            .unwrap_or_else(|| panic!("{mode}: upload gone"));
        assert!(size >= 100_000, "{mode}: acknowledged chunk kept ({size})");
        // Whatever survived is a prefix of what the client sent: resume from there.
        if size < data.len() as u64 {
            store
                .upload_append(
                    &id,
                    size,
                    body_of(&data[size as usize..], 65536),
                    None,
                    LIMIT,
                )
                .await
                .must("resume");
        }
        assert_eq!(
            store
                .upload_finish(&id, &d)
                .await
                .must("finish after restart"),
            data.len() as u64,
            "{mode}"
        );
        assert_eq!(
            read_all(&store, &d, None).await.map(|(s, _)| s),
            Some(4 << 20)
        );
    }
}

/// SIGKILL a process doing concurrent blob puts and manifest puts; every push it acknowledged
/// must be intact after reopening, and every visible tag must name a complete manifest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_concurrent_pushes_loses_nothing_acknowledged() {
    let dir = tempdir();
    let mut proc = child(dir.path(), "writer")
        .spawn()
        .unwrap_or_else(|e| panic!("spawn writer: {e}"));
    let stdout = proc.stdout.take().unwrap_or_else(|| panic!("child stdout"));
    let mut acks = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap_or_else(|e| panic!("read child: {e}"));
        // The first may share its line with the harness's "test crash_child ... ".
        if let Some(rest) = line.split("ACK ").nth(1) {
            acks.push(rest.to_owned());
            if acks.len() == 60 {
                break;
            }
        }
    }
    proc.kill().unwrap_or_else(|e| panic!("kill: {e}"));
    let _ = proc.wait();
    assert_eq!(acks.len(), 60, "the writer made progress before the kill");

    let blobs = FsBlobStore::open(dir.path().join("blobs")).must("reopen blobs");
    let meta = RedbMetadataStore::open(dir.path().join("meta.redb")).must("reopen meta");
    for ack in &acks {
        let parts: Vec<&str> = ack.split(' ').collect();
        let [r, t, md, bd] = parts[..] else {
            panic!("bad ack line {ack}");
        };
        let (r, t) = (repo(r), Tag::parse(t).unwrap_or_else(|e| panic!("{e}")));
        let md: Digest = md.parse().unwrap_or_else(|e| panic!("{e}"));
        let bd: Digest = bd.parse().unwrap_or_else(|e| panic!("{e}"));
        let got = meta
            .get_manifest(&r, &ManifestRef::Tag(t.clone()))
            .await
            .must("get")
            .unwrap_or_else(|| panic!("acknowledged {r}:{t} lost"));
        assert_eq!(got.meta.digest, md);
        assert!(md.verifies(&got.bytes));
        let (_, bytes) = read_all(&blobs, &bd, None)
            .await
            .unwrap_or_else(|| panic!("acknowledged blob {bd} lost"));
        assert!(bd.verifies(&bytes));
    }
    // Anything else visible (committed but not yet announced when killed) is complete too.
    let repos = meta.list_repositories(None, 1000).await.must("catalog");
    for r in repos.items {
        let r = repo(&r);
        let tags = meta
            .list_tags(&r, None, 100_000)
            .await
            .must("tags")
            .unwrap_or_else(|| panic!("listed repository {r} has no tag list"));
        for t in tags.items {
            let t = Tag::parse(&t).unwrap_or_else(|e| panic!("{e}"));
            let m = meta
                .get_manifest(&r, &ManifestRef::Tag(t))
                .await
                .must("get")
                .unwrap_or_else(|| panic!("tag without manifest in {r}"));
            assert!(m.meta.digest.verifies(&m.bytes));
        }
    }
    // The stores take writes after the crash.
    let d = Digest::sha256(b"after");
    blobs
        .put(&d, body_of(b"after", 2), None, LIMIT)
        .await
        .must("put after kill");
    meta.link_blob(&repo("crash/after"), &d, 5)
        .await
        .must("link after kill");
}
