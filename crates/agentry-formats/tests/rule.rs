//! The one rule for every format (ARCHITECTURE.md, "What refuses a record"): a document that is
//! not its format, does not have its format's shape, lacks a usable identity or is unsafe is
//! refused; what its schema only does not list is accepted, and each such finding is a warning
//! with its JSON pointer, stored with the record.

use agentry_formats::{
    Coordinates, Format, ProblemSource, ReadOptions, ReadRecord, Severity, extract, media_type_for,
    read_document,
};
use serde_json::{Value, json};

fn read(doc: &Value) -> ReadRecord {
    read_document(doc.to_string().as_bytes(), &ReadOptions::default())
        .unwrap_or_else(|r| panic!("{r}"))
        .remove(0)
}

fn error_pointers(r: &ReadRecord) -> Vec<&str> {
    r.report.errors.iter().map(|e| e.pointer.as_str()).collect()
}

/// A server of the MCP Registry's 2025-05-16 seed as published (entry 442, shortened).
fn seed_server() -> Value {
    json!({
        "id": "a33de229-5e89-468d-aa2a-570b0f6e3dfa",
        "name": "io.github.xgenerationlab/xiyan_mcp_server",
        "description": "A Model Context Protocol (MCP) server that enables natural language queries to databases",
        "repository": {"url": "https://github.com/XGenerationLab/xiyan_mcp_server", "source": "github", "id": "947753431"},
        "version_detail": {"version": "0.0.1-seed", "release_date": "2025-05-16T19:16:08Z", "is_latest": true},
        "packages": [{"registry_name": "unknown", "name": "xiyan_mcp_server", "version": "0.1.5"}],
        "remotes": [{"transport_type": "", "url": "http://localhost:8000/sse"}]
    })
}

#[test]
fn what_a_registry_published_but_the_schema_does_not_list_is_stored_as_a_warning() {
    let r = read(&seed_server());
    assert!(r.report.valid, "{}", r.report);
    let warned: Vec<&str> = r
        .report
        .warnings
        .iter()
        .map(|w| w.pointer.as_str())
        .collect();
    for p in [
        // An enum value the schema does not list, and an empty one.
        "/packages/0/registry_name",
        "/remotes/0/transport_type",
        // Fields the legacy schema does not define, kept in extensions.
        "/id",
        "/version_detail/is_latest",
    ] {
        assert!(warned.contains(&p), "{p} not in {warned:?}");
    }
    assert!(r.report.warnings.iter().all(|w| !w.reason.is_empty()));
    // The record carries exactly these warnings.
    let stored: Vec<&str> = r
        .record
        .provenance
        .warnings
        .iter()
        .map(|w| w.pointer.as_str())
        .collect();
    assert_eq!(stored, warned);
    assert_eq!(
        r.record.qualified_name(),
        "io.github.xgenerationlab/xiyan_mcp_server"
    );

    // A --strict-records pod refuses the same record, naming every warning.
    let strict = r.report.clone().into_strict();
    assert!(!strict.valid);
    let refused: Vec<&str> = strict.errors.iter().map(|e| e.pointer.as_str()).collect();
    assert_eq!(refused, warned);
    assert!(strict.errors.iter().all(|e| e.severity == Severity::Error));
}

#[test]
fn a_document_without_its_formats_shape_is_refused_at_the_field() {
    // A wrong type.
    let mut doc = seed_server();
    doc["packages"] = json!("npm");
    assert!(error_pointers(&read(&doc)).contains(&"/packages"));
    // A required member missing.
    let mut doc = seed_server();
    doc["version_detail"] = json!({"release_date": "2025-05-16T19:16:08Z"});
    let r = read(&doc);
    assert!(!r.report.valid);
    assert!(
        r.report
            .errors
            .iter()
            .any(|e| e.pointer == "/version_detail" && e.reason.contains("version")),
        "{}",
        r.report
    );
}

fn card(name: &str, version: &str, url: &str) -> Value {
    json!({"name": name, "description": "d", "url": url, "version": version,
        "protocolVersion": "0.3.0", "capabilities": {}, "defaultInputModes": ["text"],
        "defaultOutputModes": ["text"], "skills": []})
}

#[test]
fn an_unusable_or_unsafe_identity_is_refused() {
    let url = "https://a.example/a2a";
    assert!(read(&card("Agent", "1.0.0", url)).report.valid);
    for (doc, needle) in [
        (card("", "1.0.0", url), "names no agent"),
        (card(&"a".repeat(256), "1.0.0", url), "at most 255"),
        (card("Agent", "1.0 beta", url), "white space"),
        (card("Agent", "1.0/2", url), "slash"),
        (card("Agent", &"9".repeat(129), url), "at most 128"),
        (card("pay\u{202E}lapyap", "1.0.0", url), "U+202E"),
        (card("Agent", "1.0.0\u{0007}", url), "U+0007"),
    ] {
        let r = read(&doc);
        assert!(!r.report.valid, "{doc} accepted");
        assert!(
            r.report
                .errors
                .iter()
                .any(|e| e.source == ProblemSource::Semantic && e.reason.contains(needle)),
            "{doc}: {}",
            r.report
        );
    }
}

#[test]
fn a_url_that_runs_code_where_it_is_followed_is_refused() {
    for url in [
        "javascript:alert(1)",
        "data:text/html,<script>x</script>",
        "file:///etc/passwd",
    ] {
        let r = read(&card("Agent", "1.0.0", url));
        assert!(error_pointers(&r).contains(&"/url"), "{url}: {}", r.report);
    }
}

#[test]
fn members_beside_a_wrapped_record_are_named() {
    // The MCP Registry API's answer: the server.json and the registry's own metadata.
    let answer = json!({
        "server": {
            "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
            "name": "io.github.user/weather",
            "description": "MCP server providing weather data and forecasts.",
            "version": "1.0.2"
        },
        "_meta": {"io.modelcontextprotocol.registry/official": {"status": "active"}}
    });
    let r = read(&answer);
    assert!(r.report.valid, "{}", r.report);
    assert!(
        r.record
            .provenance
            .warnings
            .iter()
            .any(|w| w.pointer == "/_meta" && w.reason.contains("wraps the record")),
        "{:?}",
        r.record.provenance.warnings
    );
}

#[test]
fn a_push_without_a_usable_version_is_refused() {
    let doc = json!({"agent_id": "weather", "description": "d"}).to_string();
    let coords = |tag: &str| Coordinates {
        namespace: "acme".into(),
        name: "weather".into(),
        tag: Some(tag.into()),
        manifest_digest: None,
    };
    let mt = media_type_for(Format::Simple);
    let e = extract(mt, doc.as_bytes(), &coords("latest"))
        .err()
        .unwrap_or_else(|| panic!("a record without a version was accepted"));
    assert!(
        e.errors
            .iter()
            .any(|p| p.source == ProblemSource::Registry && p.reason.contains("\"latest\"")),
        "{e}"
    );
    let ok = extract(mt, doc.as_bytes(), &coords("1.2.0")).unwrap_or_else(|r| panic!("{r}"));
    assert_eq!(ok.record.identity.version, "1.2.0");
    assert!(ok.strict_refusal().is_none());
}

#[test]
fn a_name_outside_its_formats_grammar_is_refused_a_version_outside_it_is_a_warning() {
    let server = |name: &str, version: &str| {
        json!({
            "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
            "name": name, "description": "d", "version": version
        })
    };
    let r = read(&server("no-namespace-separator", "1.0.0"));
    assert!(error_pointers(&r).contains(&"/name"), "{}", r.report);
    assert!(
        r.report
            .errors
            .iter()
            .all(|e| !e.reason.contains("accepted")),
        "{}",
        r.report
    );
    // An OSSA version written `v1.2.0` breaks the schema's pattern but is still a version.
    let manifest = json!({
        "apiVersion": "ossa/v0.4.6", "kind": "Agent",
        "metadata": {"name": "worker", "version": "v1.2.0", "description": "d"},
        "spec": {"role": "works"}
    });
    let r = read(&manifest);
    assert!(r.report.valid, "{}", r.report);
    assert!(
        r.record
            .provenance
            .warnings
            .iter()
            .any(|w| w.pointer == "/metadata/version"),
        "{:?}",
        r.record.provenance.warnings
    );
}

#[test]
fn a_layer_no_codec_recognises_is_read_as_its_media_type_says() {
    let coords = Coordinates {
        namespace: "io.github.user".into(),
        name: "weather".into(),
        tag: Some("1.0.2".into()),
        manifest_digest: None,
    };
    let mt = media_type_for(Format::Mcp);
    // A minimal server.json without $schema: valid, read at the newest version.
    let minimal = json!({"name": "io.github.user/weather", "description": "d", "version": "1.0.2"});
    let ok = extract(mt, minimal.to_string().as_bytes(), &coords).unwrap_or_else(|r| panic!("{r}"));
    assert_eq!(ok.record.identity.version, "1.0.2");
    // The registry's deliberately invalid examples are refused at the field they break.
    for (doc, at, needle) in [
        (
            json!({"description": "d", "version": "1.0.0"}),
            "",
            "\"name\"",
        ),
        (
            json!({"name": "no-namespace-separator", "description": "d", "version": "1.0.0"}),
            "/name",
            "grammar",
        ),
    ] {
        let e = extract(mt, doc.to_string().as_bytes(), &coords)
            .err()
            .unwrap_or_else(|| panic!("{doc} accepted"));
        assert!(
            e.errors
                .iter()
                .any(|p| p.pointer == at && p.reason.contains(needle)),
            "{doc}: {e}"
        );
    }
}
