//! Behaviour of the public API on fixtures that ship with the crate (the whitepaper's manifest,
//! the AGNTCY Directory's own CID fixtures) and on hand-written documents.

use agentry_formats::{
    CAPABILITIES_MEDIA_TYPE, Coordinates, Format, Layer, ProblemSource, ReadOptions, Severity,
    Target, comparable, extract, extract_artifact, media_type_for, read_document, read_one, write,
};
use agentry_types::record::ProtocolKind;
use serde_json::{Value, json};

const WHITEPAPER: &str = include_str!("fixtures/whitepaper-financial-analyst.ossa.yaml");

fn one(bytes: &[u8]) -> agentry_formats::ReadRecord {
    read_one(bytes, &ReadOptions::default()).unwrap_or_else(|r| panic!("{r}"))
}

fn target(s: &str) -> Target {
    s.parse().unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn whitepaper_manifest_reads_into_every_part_of_the_record() {
    let r = one(WHITEPAPER.as_bytes());
    let rec = &r.record;
    assert_eq!(rec.qualified_name(), "acme-corp/financial-analyst");
    assert_eq!(rec.identity.version, "2.4.1");
    assert_eq!(rec.labels.get("tier").map(String::as_str), Some("verified"));
    let p = rec
        .publisher
        .as_ref()
        .unwrap_or_else(|| panic!("publisher"));
    assert_eq!(p.domain.as_deref(), Some("acme.com"));
    assert_eq!(rec.protocols.len(), 2);
    assert_eq!(rec.protocols[1].kind, ProtocolKind::Mcp);
    assert_eq!(rec.skills[0].name, "financial-analysis");
    assert!(rec.skills[0].input_schema.is_some());
    let rt = rec.runtime.as_ref().unwrap_or_else(|| panic!("runtime"));
    assert_eq!(rt.platforms.len(), 2);
    assert_eq!(rt.memory.as_deref(), Some("512Mi"));
    assert_eq!(rec.dependencies.len(), 3);
    assert_eq!(rec.dependencies[0].version_req.as_deref(), Some(">=1.2.0"));
    let perm = rec
        .permissions
        .as_ref()
        .unwrap_or_else(|| panic!("permissions"));
    assert_eq!(perm.network_inbound[0].ports, vec![8080]);
    assert_eq!(perm.secrets.len(), 2);
    assert_eq!(perm.data_classes_denied, vec!["restricted", "top-secret"]);
    assert_eq!(rec.compliance.as_ref().map(|c| c.frameworks.len()), Some(2));
    // The whitepaper's placeholder digest is kept and flagged, the four-question fields that have
    // no model place (verified, dns-record, agent-card) are kept as extensions.
    assert!(
        r.report
            .warnings
            .iter()
            .any(|w| w.pointer == "/metadata/digest")
    );
    assert!(
        rec.extensions
            .contains_key("ossa:/spec/publisher/dns-record")
    );
    assert!(
        rec.extensions
            .contains_key("ossa:/spec/capabilities/agent-card")
    );
    // Formula 2 on what the manifest states: no retrieval size, so 4,096 + 32,768 + 12,800.
    let b = rec
        .context_budget
        .as_ref()
        .unwrap_or_else(|| panic!("budget"));
    assert_eq!(b.optimal_budget_tokens, 49_664);
    assert!(!b.healthy);
    assert!(
        r.report
            .warnings
            .iter()
            .any(|w| w.source == ProblemSource::Context)
    );
    assert_eq!(r.report.context_budget.as_deref(), Some(b));
}

#[test]
fn formula_2_matches_the_whitepaper_once_retrieval_is_stated() {
    let doc = WHITEPAPER.replace(
        "      retrieval-augmented: true",
        "      retrieval-augmented: true\n      retrieval-tokens: 16384",
    );
    let r = one(doc.as_bytes());
    let b = r.record.context_budget.unwrap_or_else(|| panic!("budget"));
    assert_eq!(b.optimal_budget_tokens, 66_048);
    assert!((b.utilization - 0.516).abs() < 0.001);
    assert!(b.healthy && b.fits());
    assert!(
        !r.report
            .warnings
            .iter()
            .any(|w| w.source == ProblemSource::Context)
    );
}

#[test]
fn whitepaper_manifest_round_trips_through_every_a2a_version_with_x_ossa() {
    let src = one(WHITEPAPER.as_bytes()).record;
    for v in ["a2a@0.2.4", "a2a@0.3.0", "a2a@1.0.1"] {
        let w = write(&src, &target(v)).unwrap_or_else(|e| panic!("{v}: {e}"));
        let back = one(w.text.as_bytes());
        assert!(back.report.valid, "{v}: {}", back.report);
        let b = &back.record;
        assert_eq!(b.identity.namespace, "acme-corp", "{v}");
        assert_eq!(
            b.publisher
                .as_ref()
                .and_then(|p| p.domain.clone())
                .as_deref(),
            Some("acme.com")
        );
        assert_eq!(b.runtime, src.runtime, "{v}");
        assert_eq!(b.dependencies, src.dependencies, "{v}");
        assert_eq!(b.context, src.context, "{v}");
        assert_eq!(b.permissions, src.permissions, "{v}");
        assert_eq!(b.compliance, src.compliance, "{v}");
        assert_eq!(b.labels, src.labels, "{v}");
        assert!(
            b.protocols.iter().any(|p| p.kind == ProtocolKind::Mcp),
            "{v}"
        );
        // The card cannot hold skill schemas: each is named in a warning.
        assert!(
            w.warnings
                .iter()
                .any(|p| p.pointer.contains("financial-analysis")),
            "{v}"
        );
    }
    // 1.0 forbids unknown top-level keys: x-ossa travels as an AgentExtension.
    let w = write(&src, &target("a2a@1.0.1")).unwrap_or_else(|e| panic!("{e}"));
    assert!(w.value.get("x-ossa").is_none());
    assert_eq!(
        w.value
            .pointer("/capabilities/extensions/0/uri")
            .and_then(Value::as_str),
        Some(agentry_formats::formats::a2a::X_OSSA_URI)
    );
}

#[test]
fn conversion_names_every_field_the_target_cannot_hold() {
    let src = one(WHITEPAPER.as_bytes()).record;
    let w = write(&src, &target("simple")).unwrap_or_else(|e| panic!("{e}"));
    let named: Vec<&str> = w.warnings.iter().map(|p| p.pointer.as_str()).collect();
    for field in [
        "publisher",
        "runtime",
        "permissions",
        "context",
        "identity.version",
    ] {
        assert!(named.contains(&field), "{field} not named in {named:?}");
    }
    assert!(
        named
            .iter()
            .any(|p| p.starts_with("ossa:/spec/publisher/dns-record"))
    );
    assert!(w.warnings.iter().all(|p| p.severity == Severity::Warning));
}

#[test]
fn oasf_cids_match_the_agntcy_directory() {
    // Expected CIDs from agntcy/dir tests/e2e (client core operations suite).
    for (doc, cid) in [
        (
            include_str!("fixtures/agntcy-dir/record_070.json"),
            "baeareih47nx2vjmqxx5xlar766ufi7jbxyedv634kcgagqrmnt42xjor3u",
        ),
        (
            include_str!("fixtures/agntcy-dir/record_080_v4.json"),
            "baeareih4lnfmd4rzl4banzcts7qr7f4h2rkhhnxu4wxvvh4lmmw7mryone",
        ),
        (
            include_str!("fixtures/agntcy-dir/record_100.json"),
            "baeareiabbog2umgduqhlcb64fzt6adn34kblzvru3fdzkl75hjhwt6h3da",
        ),
    ] {
        let r = one(doc.as_bytes());
        assert_eq!(r.record.identity.oasf_cid.as_deref(), Some(cid));
        let v: Value = serde_json::from_str(doc).unwrap_or(Value::Null);
        assert_eq!(agentry_formats::cid::record_cid(&v), cid);
    }
}

#[test]
fn cids_match_the_agntcy_directorys_own_vector() {
    use agentry_formats::cid::{cid_of_bytes, cid_of_digest, digest_of_cid};
    use agentry_types::Digest;
    // The vector of agntcy/dir api/core/v1/cid_test.go (TestCalculateDigest,
    // TestConvertDigestToCID, TestConvertCIDToDigest): "Hello, World!" and its sha256.
    let digest: Digest = "sha256:dffd6021bb2bd5b0af676290809ec3a53191dd81c7f70a4b28688a362182986f"
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    let cid = "baeareig77vqcdozl2wyk6z3cscaj5q5fggi53aoh64fewkdiri3cdauyn4";
    assert_eq!(Digest::sha256(b"Hello, World!"), digest);
    assert_eq!(cid_of_bytes(b"Hello, World!"), cid);
    assert_eq!(cid_of_digest(&digest).as_deref(), Some(cid));
    assert_eq!(digest_of_cid(cid), Some(digest));
    // What the same tests refuse.
    for bad in [
        "",
        "invalid-cid-string",
        "bafkreigh2akiscaildc7t5j5x3t6l5g7x7y6z7x7y6z7x7y6z7x7y6z7x7y6z",
        "bafybeigdyrzt5tqz5f5u3j5x3t6l5g7x7y6z7x7y6z7x7y6z7x7y6z7x7y6z7x!",
        "bafybeigdyrzt 5tqz5f5u3j5x3t6l5g7x7y6z7x7y6z7x7y6z7x7y6z7x",
    ] {
        assert_eq!(digest_of_cid(bad), None, "{bad}");
    }
    let sha512 = Digest::of(agentry_types::DigestAlgorithm::Sha512, b"x");
    assert_eq!(cid_of_digest(&sha512), None);
    // The OASF records of testdata/real that the Directory's e2e suite names a CID for.
    let real = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/real/oasf/examples/agntcy-dir/e2e");
    for (file, cid) in [
        (
            "record_070.json",
            "baeareih47nx2vjmqxx5xlar766ufi7jbxyedv634kcgagqrmnt42xjor3u",
        ),
        (
            "record_080_v4.json",
            "baeareih4lnfmd4rzl4banzcts7qr7f4h2rkhhnxu4wxvvh4lmmw7mryone",
        ),
        (
            "record_100.json",
            "baeareiabbog2umgduqhlcb64fzt6adn34kblzvru3fdzkl75hjhwt6h3da",
        ),
    ] {
        let bytes = std::fs::read(real.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let r = one(&bytes);
        assert_eq!(r.record.identity.oasf_cid.as_deref(), Some(cid), "{file}");
        let d = digest_of_cid(cid).unwrap_or_else(|| panic!("{cid}"));
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        assert_eq!(d, Digest::sha256(&agentry_formats::cid::canonical_json(&v)));
    }
}

#[test]
fn every_problem_is_reported_at_once_with_pointers() {
    let card = json!({
        "name": 5,
        "url": "https://x.example",
        "version": "1.0.0",
        "protocolVersion": "0.3.0",
        "capabilities": {},
        "defaultInputModes": ["text"],
        "defaultOutputModes": "text",
        "skills": [{"id": "a", "name": "A", "tags": []}, {"name": "B", "description": "b", "tags": []}]
    });
    let recs = read_document(card.to_string().as_bytes(), &ReadOptions::default())
        .unwrap_or_else(|r| panic!("{r}"));
    let rep = &recs[0].report;
    assert!(!rep.valid);
    let ptrs: Vec<&str> = rep.errors.iter().map(|e| e.pointer.as_str()).collect();
    for p in ["/name", "/defaultOutputModes", "/skills/0", "/skills/1"] {
        assert!(ptrs.contains(&p), "{p} missing from {ptrs:?}");
    }
    // The report is JSON (the server returns it as MANIFEST_INVALID detail).
    let j = serde_json::to_value(rep).unwrap_or(Value::Null);
    assert_eq!(j["valid"], json!(false));
    assert!(j["errors"].as_array().is_some_and(|a| a.len() >= 4));
}

#[test]
fn extract_takes_identity_from_registry_coordinates() {
    let coords = Coordinates {
        namespace: "acme".into(),
        name: "analyst".into(),
        tag: Some("2.4.1".into()),
        manifest_digest: Some(agentry_types::Digest::sha256(b"manifest")),
    };
    let ex = extract(media_type_for(Format::Ossa), WHITEPAPER.as_bytes(), &coords)
        .unwrap_or_else(|r| panic!("{r}"));
    assert_eq!(ex.record.qualified_name(), "acme/analyst");
    assert_eq!(
        ex.record.identity.display_name.as_deref(),
        Some("acme-corp/financial-analyst")
    );
    assert_eq!(ex.record.identity.version, "2.4.1");
    assert_eq!(ex.record.identity.digest, coords.manifest_digest);
    assert_eq!(
        ex.record.provenance.document_digest,
        Some(agentry_types::Digest::sha256(WHITEPAPER.as_bytes()))
    );

    // Version from the tag when the document has none.
    let card = json!({"name": "Weather", "url": "https://w.example/a2a", "description": "d",
        "capabilities": {}, "defaultInputModes": ["text"], "defaultOutputModes": ["text"], "skills": []});
    let no_version = json!({"agent_id": "weather", "description": "d"}).to_string();
    let ex = extract(
        media_type_for(Format::Simple),
        no_version.as_bytes(),
        &Coordinates {
            tag: Some("v1.2.3".into()),
            ..coords.clone()
        },
    )
    .unwrap_or_else(|r| panic!("{r}"));
    assert_eq!(ex.record.identity.version, "v1.2.3");
    // A card without a version is refused by the A2A schema, whatever the tag.
    let refused = extract(
        media_type_for(Format::A2a),
        card.to_string().as_bytes(),
        &coords,
    );
    assert!(refused.is_err());
    // A layer whose media type names another format is refused.
    let e = extract(media_type_for(Format::Mcp), WHITEPAPER.as_bytes(), &coords)
        .err()
        .unwrap_or_else(|| panic!("accepted a mislabelled layer"));
    assert!(e.errors.iter().any(|p| p.source == ProblemSource::Registry));
    assert!(extract("application/octet-stream", b"{}", &coords).is_err());
}

#[test]
fn capabilities_layer_merges_into_the_description() {
    let manifest = "apiVersion: ossa.ai/v1\nkind: Agent\nmetadata:\n  name: a\n  version: 1.0.0\nspec:\n  capabilities:\n    skills:\n      - name: summarise\n";
    let caps = json!({
        "skills": [
            {"name": "summarise", "description": "Summarises text", "input-schema": {"type": "object"}},
            {"name": "translate"}
        ],
        "protocols": [{"type": "a2a", "endpoint": "/a2a"}]
    })
    .to_string();
    let layers = [
        Layer {
            media_type: "application/gzip",
            bytes: b"\x1f\x8b",
        },
        Layer {
            media_type: media_type_for(Format::Ossa),
            bytes: manifest.as_bytes(),
        },
        Layer {
            media_type: CAPABILITIES_MEDIA_TYPE,
            bytes: caps.as_bytes(),
        },
    ];
    let coords = Coordinates {
        namespace: "ns".into(),
        name: "a".into(),
        ..Coordinates::default()
    };
    let ex = extract_artifact(&layers, &coords).unwrap_or_else(|r| panic!("{r}"));
    let skills = &ex.record.skills;
    assert_eq!(skills.len(), 2);
    assert_eq!(skills[0].description, "Summarises text");
    assert!(skills[0].input_schema.is_some());
    assert_eq!(ex.record.protocols.len(), 1);
    // An invalid capabilities layer refuses the artifact.
    let bad = [
        layers[1],
        Layer {
            media_type: CAPABILITIES_MEDIA_TYPE,
            bytes: b"{\"skills\": [{}]}",
        },
    ];
    assert!(extract_artifact(&bad, &coords).is_err());
    // No description layer at all.
    assert!(extract_artifact(&layers[..1], &coords).is_err());
}

#[test]
fn bad_input_gets_clear_errors_not_panics() {
    let opts = ReadOptions::default();
    let deep = "[".repeat(50_000) + &"]".repeat(50_000);
    let huge = format!(
        "{{\"agent_id\": \"x\", \"description\": \"{}\"}}",
        "a".repeat(5 * 1024 * 1024)
    );
    let bomb = (0..9)
        .map(|i| {
            let prev = if i == 0 {
                "x".to_owned()
            } else {
                format!("*a{}", i - 1)
            };
            format!("a{i}: &a{i} [{}]\n", vec![prev; 9].join(", "))
        })
        .collect::<String>();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("deep", deep.into_bytes()),
        ("huge", huge.into_bytes()),
        (
            "duplicate",
            br#"{"agent_id": "a", "agent_id": "b", "description": "d"}"#.to_vec(),
        ),
        ("non-utf8", b"agent_id: \xc3\x28\n".to_vec()),
        ("bomb", bomb.into_bytes()),
        ("empty", Vec::new()),
        ("scalar", b"42".to_vec()),
        ("tabs", b"\t\t{".to_vec()),
    ];
    for (name, bytes) in cases {
        let out = read_document(&bytes, &opts);
        let report = match out {
            Err(r) => r,
            Ok(recs) => recs
                .into_iter()
                .next()
                .map(|r| r.report)
                .unwrap_or_else(|| panic!("{name}: no report")),
        };
        assert!(!report.valid, "{name} accepted");
        assert!(
            report.errors.iter().all(|e| !e.reason.is_empty()),
            "{name}: {report}"
        );
    }
    // Wrong types are schema errors at the field.
    let wrong = json!({"agent_id": ["x"], "description": 3}).to_string();
    let recs = read_document(wrong.as_bytes(), &opts).unwrap_or_else(|r| panic!("{r}"));
    let ptrs: Vec<&str> = recs[0]
        .report
        .errors
        .iter()
        .map(|e| e.pointer.as_str())
        .collect();
    assert!(
        ptrs.contains(&"/agent_id") && ptrs.contains(&"/description"),
        "{ptrs:?}"
    );
}

#[test]
fn multi_record_documents_report_each_record() {
    let arr = json!([
        {"agent_id": "a", "description": "first"},
        {"agent_id": "b"},
        {"hello": "world"}
    ])
    .to_string();
    let recs =
        read_document(arr.as_bytes(), &ReadOptions::default()).unwrap_or_else(|r| panic!("{r}"));
    assert_eq!(recs.len(), 3);
    assert!(recs[0].report.valid);
    assert!(!recs[1].report.valid && recs[1].report.record_pointer == "/1");
    assert!(
        recs[2]
            .report
            .errors
            .iter()
            .any(|e| e.source == ProblemSource::Detect)
    );
    let yaml = "agent_id: a\ndescription: x\n---\nagent_id: b\ndescription: y\n";
    let recs =
        read_document(yaml.as_bytes(), &ReadOptions::default()).unwrap_or_else(|r| panic!("{r}"));
    assert_eq!(recs.len(), 2);
    assert_eq!(comparable(&recs[1].record).identity.name, "b");
}

#[test]
fn push_media_type_follows_the_detected_format() {
    use agentry_formats::media_type_of_document;
    let ossa = media_type_of_document(WHITEPAPER.as_bytes()).unwrap_or_else(|r| panic!("{r}"));
    assert_eq!(ossa, "application/vnd.ossa.manifest.v1+yaml");
    let simple = json!({"agent_id": "a", "description": "d"}).to_string();
    assert_eq!(
        media_type_of_document(simple.as_bytes()).ok(),
        Some(media_type_for(Format::Simple))
    );
    assert!(media_type_of_document(b"{\"agent_id\": 1}").is_err());
}

#[test]
fn export_returns_the_original_bytes_for_its_own_format() {
    let r = one(WHITEPAPER.as_bytes());
    let same =
        agentry_formats::export(&r.record, &target("ossa")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(same.text, WHITEPAPER);
    let other =
        agentry_formats::export(&r.record, &target("oasf@1.0.0")).unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(other.text, WHITEPAPER);
    assert!(write(&r.record, &target("a2a@9.9")).is_err());
}
