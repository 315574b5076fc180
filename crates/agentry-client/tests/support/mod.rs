//! Test support: a real registry — Debian's `docker-registry` (distribution 2.8) — on a random
//! loopback port with its own temp storage, stopped when dropped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const DOCKER_REGISTRY: &str = "/usr/bin/docker-registry";

pub struct Registry {
    child: Child,
    pub addr: String,
    /// The registry's storage, removed when the registry is dropped.
    _dir: tempfile::TempDir,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    l.local_addr()
        .unwrap_or_else(|e| panic!("addr: {e}"))
        .port()
}

/// Wait until `GET http://addr/v2/` answers at all (any status).
pub fn wait_ready(addr: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("registry exited early: {status}");
        }
        if std::net::TcpStream::connect(addr).is_ok() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "registry at {addr} did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// bcrypt htpasswd line for `user:password`.
pub fn htpasswd_line(user: &str, password: &str) -> String {
    let hash = bcrypt::hash(password, 5).unwrap_or_else(|e| panic!("bcrypt: {e}"));
    format!("{user}:{hash}\n")
}

impl Registry {
    /// Start docker-registry; with `htpasswd` = Some((user, password)) it requires Basic auth.
    pub fn docker(htpasswd: Option<(&str, &str)>) -> Registry {
        assert!(
            Path::new(DOCKER_REGISTRY).exists(),
            "{DOCKER_REGISTRY} is missing: run scripts/install-test-deps (apt-get install docker-registry)"
        );
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let storage = dir.path().join("storage");
        let mut auth = String::new();
        if let Some((u, p)) = htpasswd {
            let file = dir.path().join("htpasswd");
            std::fs::write(&file, htpasswd_line(u, p)).unwrap_or_else(|e| panic!("{e}"));
            auth = format!(
                "auth:\n  htpasswd:\n    realm: agentry-test\n    path: {}\n",
                file.display()
            );
        }
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n{auth}",
            storage.display()
        );
        let config_path: PathBuf = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap_or_else(|e| panic!("{e}"));
        let mut child = Command::new(DOCKER_REGISTRY)
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {DOCKER_REGISTRY}: {e}"));
        wait_ready(&addr, &mut child);
        Registry {
            child,
            addr,
            _dir: dir,
        }
    }
}

/// A TCP proxy in front of a registry that breaks one connection once a byte budget is spent:
/// the fault (a connection dying mid-transfer) no real registry produces on demand.
pub struct FaultProxy {
    pub addr: String,
    pub cuts: std::sync::Arc<std::sync::atomic::AtomicU32>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone, Copy)]
pub enum Direction {
    /// Cut while the client sends (uploads).
    Up,
    /// Cut while the registry sends (downloads).
    Down,
}

impl FaultProxy {
    /// Forward to `upstream`; after `budget` bytes in `dir` (counted over all connections),
    /// close the connection carrying the next byte — once.
    pub async fn start(upstream: String, dir: Direction, budget: u64) -> FaultProxy {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("addr: {e}"))
            .to_string();
        let spent = Arc::new(AtomicU64::new(0));
        let fired = Arc::new(AtomicBool::new(false));
        let cuts = Arc::new(AtomicU32::new(0));
        let cuts2 = cuts.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                    continue;
                };
                let (spent, fired, cuts) = (spent.clone(), fired.clone(), cuts2.clone());
                tokio::spawn(async move {
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    let pump =
                        |counted: bool,
                         mut r: tokio::net::tcp::OwnedReadHalf,
                         mut w: tokio::net::tcp::OwnedWriteHalf| {
                            let (spent, fired, cuts) = (spent.clone(), fired.clone(), cuts.clone());
                            async move {
                                let mut buf = vec![0u8; 64 * 1024];
                                loop {
                                    let n = match r.read(&mut buf).await {
                                        Ok(0) | Err(_) => return,
                                        Ok(n) => n,
                                    };
                                    if counted && !fired.load(Ordering::SeqCst) {
                                        let before = spent.fetch_add(n as u64, Ordering::SeqCst);
                                        if before + n as u64 > budget
                                            && !fired.swap(true, Ordering::SeqCst)
                                        {
                                            let keep = budget.saturating_sub(before) as usize;
                                            let _ = w.write_all(&buf[..keep.min(n)]).await;
                                            cuts.fetch_add(1, Ordering::SeqCst);
                                            return; // dropping both halves closes the connection
                                        }
                                    }
                                    if w.write_all(&buf[..n]).await.is_err() {
                                        return;
                                    }
                                }
                            }
                        };
                    let up = matches!(dir, Direction::Up);
                    let a = pump(up, cr, sw);
                    let b = pump(!up, sr, cw);
                    // When either direction ends (or is cut), drop the whole connection.
                    tokio::select! { _ = a => {}, _ = b => {} }
                });
            }
        });
        FaultProxy { addr, cuts, task }
    }
}
