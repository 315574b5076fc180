//! Support for the CLI tests: a real registry to talk to — `agentry serve` from the built
//! binary, or Debian's `docker-registry` (distribution 2.8) — on a random loopback port with
//! temp storage, and a way to run `agentry` with an isolated HOME.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const DOCKER_REGISTRY: &str = "/usr/bin/docker-registry";
pub const AGENTRY: &str = env!("CARGO_BIN_EXE_agentry");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Agentry,
    Docker,
}

pub struct Registry {
    child: Child,
    pub addr: String,
    /// The registry's storage (and HOME), removed when the registry is dropped (`None`: the
    /// caller's directory, kept for a restart).
    _dir: Option<tempfile::TempDir>,
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

/// True when something at `addr` answers an HTTP request: with HTTP, or (a TLS pod) with a
/// TLS alert record (content type 0x15, version 3.x). A bare TCP connect is not enough: the
/// port came from [`free_port`], so until the server binds it the kernel may hand it to the
/// probe itself as its source port, and a loopback socket connected to its own port
/// "succeeds" (TCP simultaneous open) with nobody listening; it reads back its own request.
fn answers_http(addr: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let mut head = [0u8; 5];
    s.write_all(b"GET /v2/ HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .is_ok()
        && s.read_exact(&mut head).is_ok()
        && (&head == b"HTTP/" || head[..2] == [0x15, 0x03])
}

/// A self-signed certificate made the usual way, `openssl req -x509 -newkey rsa:2048 -nodes`,
/// which marks itself a CA (`basicConstraints CA:TRUE`), for the subjectAltName `san`
/// (`IP:127.0.0.1`). Returns the certificate and key files `<dir>/<stem>.{crt,key}`.
pub fn openssl_self_signed(dir: &Path, stem: &str, san: &str) -> (PathBuf, PathBuf) {
    let (cert, key) = (
        dir.join(format!("{stem}.crt")),
        dir.join(format!("{stem}.key")),
    );
    let out = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", &format!("/CN={stem}"), "-addext"])
        .arg(format!("subjectAltName={san}"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap_or_else(|e| panic!("openssl (scripts/install-test-deps installs it): {e}"));
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

fn wait_ready(addr: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("registry exited early: {status}");
        }
        if answers_http(addr) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "registry at {addr} did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Registry {
    /// Start `backend`; with `user` = Some((name, password)) it requires Basic auth.
    pub fn start(backend: Backend, user: Option<(&str, &str)>) -> Registry {
        Registry::start_with(backend, user, &[])
    }

    /// `agentry serve --tls-cert cert --tls-key key`, with Basic auth for `user` if given.
    pub fn start_tls(user: Option<(&str, &str)>, cert: &Path, key: &Path) -> Registry {
        let (cert, key) = (cert.display().to_string(), key.display().to_string());
        Registry::start_with(
            Backend::Agentry,
            user,
            &["--tls-cert", &cert, "--tls-key", &key],
        )
    }

    /// [`Registry::start`] with more `agentry serve` arguments (ignored for docker-registry).
    pub fn start_with(backend: Backend, user: Option<(&str, &str)>, args: &[&str]) -> Registry {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let addr = format!("127.0.0.1:{}", free_port());
        let htpasswd = user.map(|(u, p)| {
            let file = dir.path().join("htpasswd");
            let hash = bcrypt::hash(p, 5).unwrap_or_else(|e| panic!("bcrypt: {e}"));
            std::fs::write(&file, format!("{u}:{hash}\n")).unwrap_or_else(|e| panic!("{e}"));
            file
        });
        let mut cmd = match backend {
            Backend::Agentry => {
                let mut c = Command::new(AGENTRY);
                c.arg("serve")
                    .arg("--listen")
                    .arg(&addr)
                    .arg("--data")
                    .arg(dir.path().join("data"));
                if let Some(f) = &htpasswd {
                    c.arg("--auth").arg("htpasswd").arg(f);
                }
                c.args(args);
                c.env("HOME", dir.path()).env_remove("AGENTRY_CONFIG");
                c
            }
            Backend::Docker => {
                assert!(
                    Path::new(DOCKER_REGISTRY).exists(),
                    "{DOCKER_REGISTRY} is missing: run scripts/install-test-deps"
                );
                let auth = htpasswd
                    .map(|f| {
                        format!(
                            "auth:\n  htpasswd:\n    realm: agentry-test\n    path: {}\n",
                            f.display()
                        )
                    })
                    .unwrap_or_default();
                let config = format!(
                    "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n{auth}",
                    dir.path().join("storage").display()
                );
                let path = dir.path().join("config.yml");
                std::fs::write(&path, config).unwrap_or_else(|e| panic!("{e}"));
                let mut c = Command::new(DOCKER_REGISTRY);
                c.arg("serve").arg(path);
                c
            }
        };
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {backend:?}: {e}"));
        wait_ready(&addr, &mut child);
        Registry {
            child,
            addr,
            _dir: Some(dir),
        }
    }

    /// `agentry serve --listen addr --data <root>/data` with HOME = `root`, which the caller
    /// keeps: start it again at the same address and directory to restart the same pod.
    pub fn start_at(root: &Path, addr: &str, args: &[&str]) -> Registry {
        let mut child = Command::new(AGENTRY)
            .arg("serve")
            .arg("--listen")
            .arg(addr)
            .arg("--data")
            .arg(root.join("data"))
            .args(args)
            .env("HOME", root)
            .env_remove("AGENTRY_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(root.join("serve.log"))
                    .map(Stdio::from)
                    .unwrap_or_else(|_| Stdio::null()),
            )
            .spawn()
            .unwrap_or_else(|e| panic!("starting agentry: {e}"));
        wait_ready(addr, &mut child);
        Registry {
            child,
            addr: addr.to_owned(),
            _dir: None,
        }
    }

    /// Stop the process with SIGKILL (no graceful leave, nothing flushed).
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a finished `agentry` run left.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }

    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "agentry failed: {self:?}");
        self
    }
}

/// A user of the CLI: their own HOME (so credentials and config never leak between tests).
pub struct User {
    pub home: tempfile::TempDir,
}

impl User {
    pub fn new() -> User {
        User {
            home: tempfile::tempdir().unwrap_or_else(|e| panic!("{e}")),
        }
    }

    pub fn auth_file(&self) -> PathBuf {
        self.home.path().join(".config/agentry/auth.json")
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[], None)
    }

    pub fn run_with(&self, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Run {
        use std::io::Write;
        let mut cmd = Command::new(AGENTRY);
        cmd.args(args)
            .env("HOME", self.home.path())
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("AGENTRY_CONFIG")
            .env_remove("AGENTRY_REGISTRY")
            .env_remove("AGENTRY_USERNAME")
            .env_remove("AGENTRY_PASSWORD")
            .env_remove("AGENTRY_LOG")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("running agentry: {e}"));
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(input.as_bytes())
                .unwrap_or_else(|e| panic!("stdin: {e}"));
        }
        let out = child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("waiting for agentry: {e}"));
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

pub fn write(dir: &Path, rel: &str, content: &[u8]) {
    let p = dir.join(rel);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(p, content).unwrap_or_else(|e| panic!("{e}"));
}

/// An agent folder as the whitepaper describes it, plus things that must not be packed.
pub fn agent_folder() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let p = d.path();
    write(
        p,
        "manifest.yaml",
        b"apiVersion: ossa/v0.4.6\nkind: Agent\nmetadata:\n  name: financial-analyst\n  version: 2.4.1\n  description: Analyses SEC filings\nspec:\n  role: You analyse filings.\n",
    );
    write(
        p,
        "capabilities.json",
        br#"{"skills":[{"name":"analyze-filing","description":"Analyse a 10-K filing"}]}"#,
    );
    write(p, "src/agent.py", b"def run(x):\n    return x\n");
    write(p, "src/tools/sec.py", b"URL = 'https://sec.gov'\n");
    write(p, "requirements.txt", b"requests==2.32\n");
    write(
        p,
        "context/prompts/system.txt",
        b"You are a careful analyst.\n",
    );
    write(p, "context/examples/1.json", br#"{"q":"a","a":"b"}"#);
    write(p, ".env", b"API_KEY=secret\n");
    write(p, ".git/HEAD", b"ref: refs/heads/main\n");
    d
}

/// Every non-hidden file under `root`, relative path → bytes.
pub fn tree(root: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(Result::ok)
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p
                    .strip_prefix(root)
                    .unwrap_or(&p)
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, std::fs::read(&p).unwrap_or_default());
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(root, root, &mut out);
    out
}
