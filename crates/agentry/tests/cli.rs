//! The client commands of `agentry` (push, pull, inspect, login, logout, tag, delete,
//! catalog) run as a user runs them, against a real registry: `agentry serve` from this build,
//! and Debian's docker-registry (distribution 2.8) to show the CLI works with other registries.

#[allow(dead_code)] // each test file uses part of the support module
mod cli_support;

use cli_support::{Backend, Registry, User, agent_folder, openssl_self_signed, tree, write};

macro_rules! per_backend {
    ($($name:ident),* $(,)?) => {
        mod on_agentry {
            $( #[test] fn $name() { super::$name(super::Backend::Agentry) } )*
        }
        mod on_docker_registry {
            $( #[test] fn $name() { super::$name(super::Backend::Docker) } )*
        }
    };
}

per_backend!(
    push_pull_round_trip_is_byte_identical,
    tag_catalog_and_delete,
    login_is_required_and_remembered,
    hostile_layer_titles_are_refused,
    exit_codes_say_what_went_wrong,
    record_warnings_show_in_validate_push_and_inspect,
);

fn push_pull_round_trip_is_byte_identical(backend: Backend) {
    let reg = Registry::start(backend, None);
    let user = User::new();
    let folder = agent_folder();
    let dir = folder.path().to_str().unwrap_or_default();
    let reference = format!("{}/acme/financial-analyst:2.4.1", reg.addr);

    let pushed = user.run(&["push", dir, &reference, "--json"]).ok().json();
    let titles: Vec<&str> = pushed["blobs"]
        .as_array()
        .map(|b| b.iter().filter_map(|x| x["title"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        titles,
        [
            "manifest.yaml",
            "capabilities.json",
            "code-bundle.tar.gz",
            "context.tar.gz"
        ]
    );
    assert!(
        pushed["blobs"]
            .as_array()
            .is_some_and(|b| b.iter().all(|x| x["outcome"] == "uploaded")),
        "{pushed}"
    );
    // Pushing the same folder again sends no blob: identical folders pack identically. The
    // manifest may differ (its `created` annotation is the push time, and the two pushes can
    // fall in different seconds), so the tag's digest is the second push's.
    let again = user.run(&["push", dir, &reference, "--json"]).ok().json();
    let digest = again["digest"].as_str().unwrap_or_default().to_owned();
    assert!(digest.starts_with("sha256:"), "{again}");
    assert!(
        again["blobs"]
            .as_array()
            .is_some_and(|b| b.iter().all(|x| x["outcome"] == "existed")),
        "{again}"
    );

    // inspect: artifact type, titles, media types, created annotation.
    let ins = user.run(&["inspect", &reference, "--json"]).ok().json();
    let m = &ins["manifest"];
    assert_eq!(
        m["artifactType"],
        "application/vnd.ossa.agent.manifest.v1+json"
    );
    assert_eq!(
        m["config"]["mediaType"],
        "application/vnd.ossa.agent.config.v1+json"
    );
    assert_eq!(
        m["layers"][0]["mediaType"],
        "application/vnd.ossa.manifest.v1+yaml"
    );
    assert_eq!(
        m["layers"][1]["mediaType"],
        "application/vnd.ossa.capabilities.v1+json"
    );
    assert_eq!(m["layers"][2]["mediaType"], "application/gzip");
    assert!(m["annotations"]["org.opencontainers.image.created"].is_string());
    assert!(ins["referrers"].is_array(), "{ins}");
    let text = user.run(&["inspect", &reference]).ok();
    assert!(
        text.stdout.contains("code-bundle.tar.gz"),
        "{}",
        text.stdout
    );

    // Pull: layers under their titles, byte-identical to what the folder holds.
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let o = out.path().to_str().unwrap_or_default();
    let pulled = user
        .run(&["pull", &reference, "-o", o, "--json"])
        .ok()
        .json();
    assert_eq!(pulled["digest"], digest.as_str());
    let got = tree(out.path());
    let orig = tree(folder.path());
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        [
            "capabilities.json",
            "code-bundle.tar.gz",
            "context.tar.gz",
            "manifest.yaml"
        ]
    );
    assert_eq!(got["manifest.yaml"], orig["manifest.yaml"]);
    assert_eq!(got["capabilities.json"], orig["capabilities.json"]);

    // Pull by digest with --extract: the folder comes back as it was (hidden files excepted).
    let out2 = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let o2 = out2.path().to_str().unwrap_or_default();
    let by_digest = format!("{}/acme/financial-analyst@{digest}", reg.addr);
    user.run(&["pull", &by_digest, "-o", o2, "--extract"]).ok();
    assert_eq!(tree(out2.path()), orig);
    assert!(!out2.path().join(".env").exists());

    // Pulling over existing files needs --force.
    let again = user.run(&["pull", &reference, "-o", o]);
    assert_eq!(again.code, 1, "{again:?}");
    assert!(again.stderr.contains("--force"), "{again:?}");
    user.run(&["pull", &reference, "-o", o, "--force"]).ok();

    // A single description file (an A2A card) is a one-layer artifact with the A2A media type.
    let card = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(
        card.path(),
        "agent-card.json",
        br#"{"name":"Currency Agent","description":"Converts currencies","url":"http://localhost:10000/","version":"1.0.0","protocolVersion":"0.3.0","capabilities":{"streaming":true},"defaultInputModes":["text"],"defaultOutputModes":["text"],"skills":[{"id":"convert","name":"Currency conversion","description":"Converts an amount","tags":["currency"]}]}"#,
    );
    let card_ref = format!("{}/acme/currency:1.0.0", reg.addr);
    let file = card.path().join("agent-card.json");
    let r = user
        .run(&[
            "push",
            file.to_str().unwrap_or_default(),
            &card_ref,
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(
        r["blobs"][1]["media_type"], "application/vnd.a2a.card.v1+json",
        "{r}"
    );
}

fn tag_catalog_and_delete(backend: Backend) {
    let reg = Registry::start(backend, None);
    let user = User::new();
    let folder = agent_folder();
    let dir = folder.path().to_str().unwrap_or_default();
    let r1 = format!("{}/acme/agent:1.0", reg.addr);
    user.run(&["push", dir, &r1]).ok();
    user.run(&["tag", &r1, "2.0"]).ok();
    // --registry + short reference works as well as a full one.
    user.run(&["tag", "--registry", &reg.addr, "acme/agent:1.0", "latest"])
        .ok();

    let cat = user.run(&["catalog", &reg.addr, "--json"]).ok().json();
    assert_eq!(cat["repositories"], serde_json::json!(["acme/agent"]));
    let tags = user
        .run(&["catalog", &format!("{}/acme/agent", reg.addr), "--json"])
        .ok()
        .json();
    assert_eq!(tags["tags"], serde_json::json!(["1.0", "2.0", "latest"]));
    // Paging by one still lists everything.
    let paged = user
        .run(&[
            "catalog",
            &format!("{}/acme/agent", reg.addr),
            "--page-size",
            "1",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(paged["tags"], tags["tags"]);

    // Copy to another repository: every blob is mounted, none uploaded.
    let copy = user
        .run(&["tag", &r1, "acme/copy:1.0", "--json"])
        .ok()
        .json();
    let outcomes: Vec<&str> = copy["copied_blobs"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x[1].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(outcomes.len(), 5, "{copy}");
    assert!(outcomes.iter().all(|o| *o == "mounted"), "{copy}");
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    user.run(&[
        "pull",
        &format!("{}/acme/copy:1.0", reg.addr),
        "-o",
        out.path().to_str().unwrap_or_default(),
        "--extract",
    ])
    .ok();
    assert_eq!(tree(out.path()), tree(folder.path()));

    if backend == Backend::Agentry {
        // Tag deletion (spec v1.1): the tag goes, the manifest stays.
        user.run(&[
            "delete",
            &format!("{}/acme/agent:2.0", reg.addr),
            "--tag-only",
        ])
        .ok();
        let tags = user
            .run(&["catalog", &format!("{}/acme/agent", reg.addr), "--json"])
            .ok()
            .json();
        assert_eq!(tags["tags"], serde_json::json!(["1.0", "latest"]));
        user.run(&["inspect", &r1]).ok();
    }
    // Deleting by tag deletes the manifest it points at: every tag of it is gone.
    user.run(&["delete", &r1]).ok();
    let gone = user.run(&["pull", &r1, "-o", out.path().to_str().unwrap_or_default()]);
    assert_eq!(gone.code, 3, "{gone:?}");
    let gone = user.run(&["inspect", &format!("{}/acme/agent:latest", reg.addr)]);
    assert_eq!(gone.code, 3, "{gone:?}");
    // The copy is untouched.
    user.run(&["inspect", &format!("{}/acme/copy:1.0", reg.addr)])
        .ok();
}

fn login_is_required_and_remembered(backend: Backend) {
    let reg = Registry::start(backend, Some(("alice", "correct horse")));
    let user = User::new();
    let folder = agent_folder();
    let dir = folder.path().to_str().unwrap_or_default();
    let reference = format!("{}/secure/agent:1", reg.addr);

    let denied = user.run(&["push", dir, &reference]);
    assert_eq!(denied.code, 4, "{denied:?}");
    assert!(denied.stderr.contains("agentry login"), "{denied:?}");

    let wrong = user.run_with(
        &["login", &reg.addr, "-u", "alice", "--password-stdin"],
        &[],
        Some("battery staple\n"),
    );
    assert_eq!(wrong.code, 4, "{wrong:?}");
    assert!(
        !user.auth_file().exists(),
        "refused credentials must not be stored"
    );

    user.run_with(
        &["login", &reg.addr, "-u", "alice", "--password-stdin"],
        &[],
        Some("correct horse\n"),
    )
    .ok();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(user.auth_file())
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0);
        assert_eq!(mode, 0o600);
    }
    let stored = std::fs::read_to_string(user.auth_file()).unwrap_or_default();
    assert!(stored.contains(&reg.addr), "{stored}");
    assert!(
        !stored.contains("correct horse"),
        "password stored in clear"
    );

    user.run(&["push", dir, &reference]).ok();
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    user.run(&[
        "pull",
        &reference,
        "-o",
        out.path().to_str().unwrap_or_default(),
    ])
    .ok();

    // Credentials from the environment work for login too.
    let other = User::new();
    other
        .run_with(
            &["login", &reg.addr],
            &[
                ("AGENTRY_USERNAME", "alice"),
                ("AGENTRY_PASSWORD", "correct horse"),
            ],
            None,
        )
        .ok();

    user.run(&["logout", &reg.addr]).ok();
    let after = user.run(&["inspect", &reference]);
    assert_eq!(after.code, 4, "{after:?}");
}

fn hostile_layer_titles_are_refused(backend: Backend) {
    use agentry_client::{BlobSource, Client, ClientOptions, Descriptor, NoProgress};
    use agentry_oci::{ImageManifest, media};
    use agentry_types::{Digest, ManifestRef, RepoName, Tag};

    let reg = Registry::start(backend, None);
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let titles = [
        "../escape.txt",
        "/tmp/agentry-abs-evil",
        "sub/dir.txt",
        "..",
    ];
    rt.block_on(async {
        let c = Client::new(&reg.addr, ClientOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        let repo = RepoName::parse("evil/agent").unwrap_or_else(|e| panic!("{e}"));
        let payload = bytes::Bytes::from_static(b"owned\n");
        let d = Digest::sha256(&payload);
        c.push_blob(
            &repo,
            &d,
            &BlobSource::Bytes(payload),
            std::sync::Arc::new(NoProgress),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        for (i, title) in titles.iter().enumerate() {
            let mut layer = Descriptor::new("text/plain", d.clone(), 6);
            layer
                .annotations
                .insert(media::ANNOTATION_TITLE.into(), (*title).into());
            // A harmless first layer, so a puller that writes before checking would leave it.
            let mut first = Descriptor::new("text/plain", d.clone(), 6);
            first
                .annotations
                .insert(media::ANNOTATION_TITLE.into(), "ok.txt".into());
            let m = ImageManifest {
                schema_version: 2,
                media_type: Some(media::OCI_MANIFEST.into()),
                // Not an agent artifact: agentry validates those; any registry stores this.
                artifact_type: Some("application/vnd.example.hostile".into()),
                config: Descriptor::new(media::OCI_EMPTY, d.clone(), 6),
                layers: vec![first, layer],
                subject: None,
                annotations: Default::default(),
            };
            let bytes = bytes::Bytes::from(serde_json::to_vec(&m).unwrap_or_default());
            let tag = Tag::parse(&format!("t{i}")).unwrap_or_else(|e| panic!("{e}"));
            c.put_manifest(&repo, &ManifestRef::Tag(tag), media::OCI_MANIFEST, bytes)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
    });
    let user = User::new();
    let parent = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = parent.path().join("out");
    for (i, title) in titles.iter().enumerate() {
        let r = user.run(&[
            "pull",
            &format!("{}/evil/agent:t{i}", reg.addr),
            "-o",
            out.to_str().unwrap_or_default(),
        ]);
        assert_eq!(r.code, 1, "{title}: {r:?}");
        assert!(r.stderr.contains("refusing layer title"), "{title}: {r:?}");
    }
    assert!(!parent.path().join("escape.txt").exists());
    assert!(!std::path::Path::new("/tmp/agentry-abs-evil").exists());
    // Nothing was written at all: titles are checked before the first download.
    assert!(!out.join("ok.txt").exists());
}

fn exit_codes_say_what_went_wrong(backend: Backend) {
    let reg = Registry::start(backend, None);
    let user = User::new();
    let missing = user.run(&["inspect", &format!("{}/no/such:tag", reg.addr)]);
    assert_eq!(missing.code, 3, "{missing:?}");
    let json = user.run(&["inspect", &format!("{}/no/such:tag", reg.addr), "--json"]);
    assert_eq!(json.code, 3);
    let err: serde_json::Value =
        serde_json::from_str(json.stderr.trim()).unwrap_or_else(|e| panic!("{e}: {json:?}"));
    assert_eq!(err["error"]["kind"], "not_found");

    // Nothing listening: one sentence naming the address once, exit 5 (the URL used to be
    // printed three times, in reqwest's error chain).
    let down = format!("127.0.0.1:{}", cli_support::free_port());
    let unreachable = user.run(&["catalog", &down]);
    assert_eq!(unreachable.code, 5, "{unreachable:?}");
    let sentence =
        format!("error: cannot reach {down}: connection refused — is a pod running there?\n");
    assert_eq!(unreachable.stderr, sentence);
    let folder = agent_folder();
    let dir = folder.path().to_str().unwrap_or_default();
    let push = user.run(&["push", dir, &format!("{down}/acme/agent:1")]);
    assert_eq!((push.code, push.stderr.as_str()), (5, sentence.as_str()));

    let bad_ref = user.run(&["inspect", &format!("{}/UPPER/case:1", reg.addr)]);
    assert_eq!(bad_ref.code, 2, "{bad_ref:?}");
    let no_registry = user.run(&["inspect", "acme/agent:1"]);
    assert_eq!(no_registry.code, 2, "{no_registry:?}");
    assert!(no_registry.stderr.contains("--registry"), "{no_registry:?}");

    // Not an agent folder: a clear message, exit 1, nothing pushed.
    let empty = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(empty.path(), "main.py", b"print(1)\n");
    let r = user.run(&[
        "push",
        empty.path().to_str().unwrap_or_default(),
        &format!("{}/acme/empty:1", reg.addr),
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("no agent description"), "{r:?}");
    let cat = user.run(&["catalog", &reg.addr, "--json"]).ok().json();
    assert_eq!(cat["repositories"], serde_json::json!([]));
}

/// A TLS pod on loopback with the certificate people make first (`openssl req -x509 …`, a
/// CA certificate): `--ca-file` with that certificate is enough, by address or by URL.
#[test]
fn a_tls_pod_with_a_self_signed_certificate_is_reached_with_ca_file() {
    let certs = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (cert, key) = openssl_self_signed(certs.path(), "pod", "IP:127.0.0.1");
    let reg = Registry::start_tls(Some(("alice", "pw")), &cert, &key);
    let user = User::new();
    let ca = cert.to_str().unwrap_or_default();
    let folder = agent_folder();
    let dir = folder.path().to_str().unwrap_or_default();

    // A loopback address without scheme: HTTPS first (it used to be plain HTTP only, which a
    // TLS pod answers with "invalid HTTP version parsed"), and -v says so.
    let login = user
        .run_with(
            &[
                "login",
                &reg.addr,
                "--ca-file",
                ca,
                "-u",
                "alice",
                "--password-stdin",
                "-v",
            ],
            &[],
            Some("pw\n"),
        )
        .ok();
    assert!(login.stderr.contains("using HTTPS"), "{login:?}");
    user.run(&[
        "push",
        dir,
        &format!("{}/acme/tls:1", reg.addr),
        "--ca-file",
        ca,
    ])
    .ok();
    // By URL: the CA-flagged certificate is accepted because it is the --ca-file itself (it
    // used to be refused with CaUsedAsEndEntity).
    let https = format!("https://{}", reg.addr);
    let info = user
        .run(&[
            "inspect",
            "acme/tls:1",
            "--registry",
            &https,
            "--ca-file",
            ca,
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(info["reference"], "acme/tls:1", "{info}");

    // Without --ca-file, or with another certificate in it: one sentence, exit 5.
    let (other, _) = openssl_self_signed(certs.path(), "other", "IP:127.0.0.1");
    for extra in [
        &[][..],
        &["--ca-file", other.to_str().unwrap_or_default()][..],
    ] {
        let r = user.run(&[&["inspect", "acme/tls:1", "--registry", &https][..], extra].concat());
        assert_eq!(r.code, 5, "{r:?}");
        assert_eq!(r.stderr.lines().count(), 1, "{r:?}");
        assert!(
            r.stderr.contains(&format!(
                "the certificate of {} is a CA certificate",
                reg.addr
            )),
            "{r:?}"
        );
    }
    // Plain HTTP asked for explicitly: the message points at HTTPS.
    let http = format!("http://{}", reg.addr);
    let r = user.run(&["inspect", "acme/tls:1", "--registry", &http]);
    assert_eq!(r.code, 5, "{r:?}");
    assert!(r.stderr.contains("is it serving HTTPS?"), "{r:?}");
}

/// A plain-HTTP pod on loopback is still reached without flags; -v says HTTPS was tried.
#[test]
fn a_plain_http_loopback_pod_is_reached_after_https_fails() {
    let reg = Registry::start(Backend::Agentry, None);
    let user = User::new();
    let r = user.run(&["catalog", &reg.addr, "-v"]).ok();
    assert!(r.stderr.contains("using plain HTTP"), "{r:?}");
    assert!(r.stderr.contains("does not speak HTTPS"), "{r:?}");
}

#[test]
fn registry_comes_from_config_file_or_environment() {
    let reg = Registry::start(Backend::Docker, None);
    let user = User::new();
    let folder = agent_folder();
    let dir = folder.path().to_str().unwrap_or_default();
    // Environment.
    user.run_with(
        &["push", dir, "acme/env:1"],
        &[("AGENTRY_REGISTRY", &reg.addr)],
        None,
    )
    .ok();
    // Config file (default location under HOME).
    write(
        user.home.path(),
        ".config/agentry/config.toml",
        format!("registry = \"{}\"\n", reg.addr).as_bytes(),
    );
    let tags = user.run(&["catalog", "acme/env", "--json"]).ok().json();
    assert_eq!(tags["tags"], serde_json::json!(["1"]));
    // A typo in the config file is a usage error naming the key.
    write(
        user.home.path(),
        ".config/agentry/config.toml",
        b"registyr = \"x\"\n",
    );
    let r = user.run(&["catalog", "acme/env"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("registyr"), "{r:?}");
}

/// A server of the MCP Registry's 2025-05-16 seed as published (entry 442): accepted, with
/// warnings for `registry_name: "unknown"`, the empty `transport_type` and the fields the
/// legacy schema does not define.
const SEED_SERVER: &str = r#"{"id":"a33de229-5e89-468d-aa2a-570b0f6e3dfa","name":"io.github.xgenerationlab/xiyan_mcp_server","description":"A Model Context Protocol (MCP) server that enables natural language queries to databases","repository":{"url":"https://github.com/XGenerationLab/xiyan_mcp_server","source":"github","id":"947753431"},"version_detail":{"version":"0.0.1-seed","release_date":"2025-05-16T19:16:08Z","is_latest":true},"packages":[{"registry_name":"unknown","name":"xiyan_mcp_server","version":"0.1.5"}],"remotes":[{"transport_type":"","url":"http://localhost:8000/sse"}]}"#;

const UNKNOWN_REGISTRY: &str = "/packages/0/registry_name";

fn pointers(warnings: &serde_json::Value) -> Vec<String> {
    warnings
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|w| w["pointer"].as_str().map(str::to_owned))
        .collect()
}

fn record_warnings_show_in_validate_push_and_inspect(backend: Backend) {
    let user = User::new();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "server.json", SEED_SERVER.as_bytes());
    let file = dir.path().join("server.json");
    let file = file.to_str().unwrap_or_default();

    // validate: accepted, the warnings named (human and --json); --strict-records refuses.
    let v = user.run(&["validate", file, "--json"]).ok().json();
    assert_eq!(v["valid"], true, "{v}");
    let warned = pointers(&v["files"][0]["records"][0]["warnings"]);
    for p in [UNKNOWN_REGISTRY, "/remotes/0/transport_type", "/id"] {
        assert!(warned.iter().any(|w| w == p), "{p} not in {warned:?}");
    }
    let human = user.run(&["validate", file]).ok();
    assert!(human.stdout.contains(UNKNOWN_REGISTRY), "{human:?}");
    let strict = user.run(&["validate", "--strict-records", file]);
    assert_eq!(strict.code, 1, "{strict:?}");
    assert!(strict.stdout.contains(UNKNOWN_REGISTRY), "{strict:?}");

    // push: the warnings the registry stores, on stderr and in --json.
    let reg = Registry::start(backend, None);
    let reference = format!("{}/acme/xiyan:0.0.1-seed", reg.addr);
    let pushed = user.run(&["push", file, &reference]).ok();
    assert!(
        pushed
            .stderr
            .contains(&format!("warning: {UNKNOWN_REGISTRY}")),
        "{pushed:?}"
    );
    let pushed = user.run(&["push", file, &reference, "--json"]).ok().json();
    assert_eq!(pointers(&pushed["warnings"]), warned, "{pushed}");

    // inspect: the record and its warnings — as the pod stored them, or read here from the
    // description on a registry without agentry's discovery API.
    let ins = user.run(&["inspect", &reference, "--json"]).ok().json();
    let source = match backend {
        Backend::Agentry => "registry",
        Backend::Docker => "read here",
    };
    assert_eq!(ins["record"]["source"], source, "{ins}");
    assert_eq!(ins["record"]["name"], "acme/xiyan", "{ins}");
    assert_eq!(pointers(&ins["record"]["warnings"]), warned, "{ins}");
    let text = user.run(&["inspect", &reference]).ok();
    assert!(
        text.stdout
            .contains(&format!("Warnings ({}):", warned.len()))
            && text.stdout.contains(UNKNOWN_REGISTRY),
        "{}",
        text.stdout
    );

    // A pod run with --strict-records refuses the push, naming the warning.
    if backend == Backend::Agentry {
        let strict = Registry::start_with(backend, None, &["--strict-records"]);
        let r = user.run(&[
            "push",
            file,
            &format!("{}/acme/xiyan:0.0.1-seed", strict.addr),
        ]);
        assert_eq!(r.code, 1, "{r:?}");
        assert!(
            r.stderr.contains("--strict-records") && r.stderr.contains(UNKNOWN_REGISTRY),
            "{r:?}"
        );
    }
}

/// The AGNTCY Directory's CID of `testdata/real/oasf/examples/agntcy-dir/e2e/record_070.json`
/// (the expectation of agntcy/dir's e2e suite).
const RECORD_070_CID: &str = "baeareih47nx2vjmqxx5xlar766ufi7jbxyedv634kcgagqrmnt42xjor3u";
/// The same for `record_100.json`.
const RECORD_100_CID: &str = "baeareiabbog2umgduqhlcb64fzt6adn34kblzvru3fdzkl75hjhwt6h3da";

fn real(path: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/real")
        .join(path)
        .display()
        .to_string()
}

#[test]
fn an_oasf_records_cid_shows_in_validate_convert_push_and_inspect() {
    let user = User::new();
    let record = real("oasf/examples/agntcy-dir/e2e/record_070.json");
    // validate, human and --json: no pod needed.
    let v = user.run(&["validate", &record, "--json"]).ok().json();
    assert_eq!(v["files"][0]["records"][0]["cid"], RECORD_070_CID, "{v}");
    let human = user.run(&["validate", &record]).ok();
    assert!(
        human.stdout.contains(&format!("cid: {RECORD_070_CID}")),
        "{human:?}"
    );
    // convert: the source's CID, and the written OASF record's.
    let c = user
        .run(&["convert", &record, "--to", "a2a", "--json"])
        .ok()
        .json();
    assert_eq!(c["source_cid"], RECORD_070_CID, "{c}");
    assert!(c["cid"].is_null(), "an A2A card has no CID: {c}");
    // Written again as OASF 1.0.0, the Directory's fixture keeps its CID: the written record's
    // CID is the Directory's of the written bytes.
    let record_100 = real("oasf/examples/agntcy-dir/e2e/record_100.json");
    let c = user
        .run(&["convert", &record_100, "--to", "oasf@1.0.0", "--json"])
        .ok()
        .json();
    assert_eq!(c["cid"], RECORD_100_CID, "{c}");
    assert_eq!(c["source_cid"], RECORD_100_CID, "{c}");
    let human = user.run(&["convert", &record, "--to", "oasf@1.0.0"]).ok();
    assert!(
        human
            .stderr
            .contains(&format!("source cid: {RECORD_070_CID}")),
        "{human:?}"
    );

    // push and inspect: the pod's record carries the same CID.
    let reg = Registry::start(Backend::Agentry, None);
    let reference = format!("{}/cisco/marketing-strategy:v3.0.0", reg.addr);
    let pushed = user
        .run(&["push", &record, &reference, "--json"])
        .ok()
        .json();
    assert_eq!(pushed["cid"], RECORD_070_CID, "{pushed}");
    let ins = user.run(&["inspect", &reference, "--json"]).ok().json();
    assert_eq!(ins["record"]["source"], "registry", "{ins}");
    assert_eq!(ins["record"]["cid"], RECORD_070_CID, "{ins}");
    let text = user.run(&["inspect", &reference]).ok();
    assert!(
        text.stdout
            .contains(&format!("CID:           {RECORD_070_CID}")),
        "{}",
        text.stdout
    );
}
