//! Property tests: any record the whitepaper manifest can express survives write → read, in
//! OSSA and (for the fields a card carries, with x-ossa) in every A2A family; and arbitrary
//! documents never make a reader panic.

use std::collections::BTreeMap;

use agentry_formats::{ReadOptions, Target, comparable, read_document, write};
use agentry_types::context::ContextSpec;
use agentry_types::record::{
    AgentRecord, Compliance, Dependency, NetworkRule, Permissions, Platform, ProtocolEndpoint,
    ProtocolKind, Publisher, Runtime, SecretRef, Skill, SourceFormat, TaxonomyRef,
};
use proptest::prelude::*;
use serde_json::Value;

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,14}[a-z0-9]"
}

fn text() -> impl Strategy<Value = String> {
    // Printable text including YAML-significant characters.
    "[ -~äé€\n]{0,24}"
}

fn opt<T: std::fmt::Debug + Clone + 'static>(
    s: impl Strategy<Value = T> + 'static,
) -> impl Strategy<Value = Option<T>> {
    prop::option::of(s)
}

fn protocol() -> impl Strategy<Value = ProtocolEndpoint> {
    (
        prop_oneof![
            Just(ProtocolKind::A2a),
            Just(ProtocolKind::Mcp),
            Just(ProtocolKind::Rest),
            Just(ProtocolKind::Grpc),
            "[a-z]{5,8}".prop_map(ProtocolKind::Other),
        ],
        opt("[0-9]\\.[0-9]"),
        opt("https://[a-z]{1,8}\\.example/[a-z]{0,6}"),
        opt("[A-Z+]{3,8}"),
    )
        .prop_map(|(kind, version, endpoint, transport)| ProtocolEndpoint {
            kind,
            version,
            endpoint,
            transport,
        })
}

fn skill() -> impl Strategy<Value = Skill> {
    (
        name(),
        text(),
        prop::collection::vec(name(), 0..3),
        prop::collection::vec(text(), 0..2),
        prop::collection::vec((opt(0u64..100_000), opt(name())), 0..2),
    )
        .prop_map(|(name, description, tags, examples, tax)| Skill {
            name,
            description,
            tags,
            examples,
            taxonomy: tax
                .into_iter()
                .map(|(id, name)| TaxonomyRef { id, name })
                .collect(),
            ..Skill::default()
        })
}

fn record() -> impl Strategy<Value = AgentRecord> {
    let identity = (
        name(),
        opt(name()),
        "[0-9]{1,2}\\.[0-9]{1,2}\\.[0-9]{1,2}",
        text(),
    );
    let publisher = opt((
        name(),
        opt("[a-z]{2,8}\\.example"),
        opt("[a-z]+@[a-z]+\\.example"),
    ));
    let runtime = opt((
        name(),
        opt("registry\\.example/[a-z]{1,8}:[0-9]"),
        prop::collection::vec(prop_oneof![Just("amd64"), Just("arm64")], 0..3),
        opt("[0-9]{1,3}m"),
        any::<bool>(),
    ));
    let deps = prop::collection::vec(
        (
            name(),
            opt(name()),
            opt(">=[0-9]\\.[0-9]\\.[0-9]"),
            any::<bool>(),
        ),
        0..3,
    );
    let context = opt((
        1u64..1_000_000,
        opt(0u64..100_000),
        opt(0u64..100_000),
        opt(0u64..100_000),
        opt(any::<bool>()),
    ));
    let perms = opt((
        prop::collection::vec(
            (
                opt("[a-z*.]{1,12}"),
                prop::collection::vec(1u16..65535, 0..3),
            ),
            0..3,
        ),
        prop::collection::vec("/[a-z]{1,6}/", 1..3),
        prop::collection::vec((name(), opt(text()), any::<bool>()), 0..3),
        prop::collection::vec(name(), 0..3),
    ));
    let compliance = opt((prop::collection::vec("[A-Z0-9]{2,6}", 1..3), opt(name())));
    let labels = prop::collection::btree_map(name(), text(), 0..3);
    (
        identity,
        publisher,
        (
            prop::collection::vec(skill(), 0..3),
            prop::collection::vec(protocol(), 0..3),
        ),
        runtime,
        deps,
        context,
        perms,
        compliance,
        labels,
    )
        .prop_map(
            |(
                (n, ns, v, d),
                publisher,
                (skills, protocols),
                runtime,
                deps,
                context,
                perms,
                compliance,
                labels,
            )| {
                let mut r = AgentRecord {
                    record_version: agentry_types::record::RECORD_VERSION,
                    ..AgentRecord::default()
                };
                r.identity.name = n;
                r.identity.namespace = ns.unwrap_or_default();
                r.identity.version = v;
                r.description = d;
                r.publisher = publisher.map(|(org, domain, contact)| Publisher {
                    organization: Some(org),
                    domain,
                    contact,
                    ..Publisher::default()
                });
                r.skills = skills;
                r.protocols = protocols;
                r.runtime = runtime.map(|(kind, image, arches, cpu, gpu)| Runtime {
                    kind: Some(kind),
                    image,
                    platforms: arches
                        .into_iter()
                        .map(|a| Platform {
                            os: "linux".into(),
                            arch: a.into(),
                        })
                        .collect(),
                    cpu,
                    gpu,
                    ..Runtime::default()
                });
                r.dependencies = deps
                    .into_iter()
                    .map(|(name, kind, version_req, required)| Dependency {
                        name,
                        kind,
                        version_req,
                        required,
                    })
                    .collect();
                r.context = context.map(|(max, req, slide, retr, aug)| ContextSpec {
                    max_input_tokens: Some(max),
                    max_output_tokens: None,
                    required_tokens: req,
                    sliding_window_tokens: slide,
                    retrieval_tokens: retr,
                    retrieval_augmented: aug,
                });
                r.context_budget = r.context.as_ref().and_then(|c| c.budget());
                r.permissions = perms.map(|(rules, read, secrets, classes)| {
                    let mut secrets: Vec<SecretRef> = secrets
                        .into_iter()
                        .map(|(name, description, required)| SecretRef {
                            name,
                            description,
                            required,
                        })
                        .collect();
                    // Written grouped: required first.
                    secrets.sort_by_key(|s| !s.required);
                    Permissions {
                        network_outbound: rules
                            .into_iter()
                            .map(|(host, ports)| NetworkRule {
                                host,
                                ports,
                                protocol: None,
                            })
                            .collect(),
                        filesystem_read: read,
                        secrets,
                        data_classes: classes,
                        ..Permissions::default()
                    }
                });
                r.compliance = compliance.map(|(frameworks, audit_log)| Compliance {
                    frameworks,
                    audit_log,
                    data_retention: None,
                });
                r.labels = labels;
                r.provenance.source_format = SourceFormat::Ossa;
                r
            },
        )
}

fn reread(text: &str) -> AgentRecord {
    let recs = read_document(text.as_bytes(), &ReadOptions::default())
        .unwrap_or_else(|r| panic!("{r}\n{text}"));
    assert_eq!(recs.len(), 1);
    assert!(recs[0].report.valid, "{}\n{text}", recs[0].report);
    recs[0].record.clone()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn ossa_v1_write_read_is_identity(rec in record()) {
        let w = write(&rec, &Target { format: SourceFormat::Ossa, version: None })
            .unwrap_or_else(|e| panic!("{e}"));
        let back = reread(&w.text);
        prop_assert_eq!(comparable(&back), comparable(&rec));
    }

    #[test]
    fn a2a_cards_keep_the_whitepaper_fields_in_x_ossa(rec in record(), v in prop_oneof![Just("0.2.4"), Just("0.3.0"), Just("1.0.1")]) {
        let w = write(&rec, &Target { format: SourceFormat::A2a, version: Some(v.into()) })
            .unwrap_or_else(|e| panic!("{e}"));
        let back = reread(&w.text);
        prop_assert_eq!(&back.identity.namespace, &rec.identity.namespace);
        prop_assert_eq!(&back.runtime, &rec.runtime);
        prop_assert_eq!(&back.dependencies, &rec.dependencies);
        prop_assert_eq!(&back.context, &rec.context);
        prop_assert_eq!(&back.permissions, &rec.permissions);
        prop_assert_eq!(&back.compliance, &rec.compliance);
        prop_assert_eq!(&back.labels, &rec.labels);
        prop_assert_eq!(back.skills.len(), rec.skills.len());
        // Written again from its own reading, the card is a fixed point.
        let again = write(&back, &Target { format: SourceFormat::A2a, version: Some(v.into()) })
            .unwrap_or_else(|e| panic!("{e}"));
        prop_assert_eq!(comparable(&reread(&again.text)), comparable(&back));
    }

    #[test]
    fn arbitrary_json_never_panics(v in json_value()) {
        let text = v.to_string();
        match read_document(text.as_bytes(), &ReadOptions::default()) {
            Ok(recs) => for r in recs {
                prop_assert!(r.report.valid || !r.report.errors.is_empty());
            },
            Err(rep) => prop_assert!(!rep.errors.is_empty()),
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = read_document(&bytes, &ReadOptions::default());
    }
}

/// JSON values biased towards the keys the detectors and readers look at.
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("apiVersion"),
        Just("kind"),
        Just("metadata"),
        Just("spec"),
        Just("name"),
        Just("version"),
        Just("schema_version"),
        Just("skills"),
        Just("url"),
        Just("supportedInterfaces"),
        Just("agent_id"),
        Just("agent_name"),
        Just("label"),
        Just("packages"),
        Just("remotes"),
        Just("$schema"),
        Just("x-ossa"),
        Just("capabilities"),
        Just("extensions"),
        Just("id"),
        Just("protocolVersion"),
        Just("locators"),
        Just("modules"),
        Just("requirements"),
        Just("context"),
        Just("version_detail"),
        Just("authors"),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        prop_oneof![
            Just("ossa.ai/v1".to_owned()),
            Just("ossa/v0.4.6".to_owned()),
            Just("1.0.0".to_owned()),
            Just("0.7.0".to_owned()),
            Just("a/b".to_owned()),
            Just("urn:agent:x:y".to_owned()),
            Just(
                "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"
                    .to_owned()
            ),
            "[a-z/:.0-9]{0,10}",
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6).prop_map(
                |m: BTreeMap<&str, Value>| {
                    Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
                }
            ),
        ]
    })
}
