//! The whitepaper's §3.1 manifest is read by its structure, whatever the apiVersion spelling:
//! `ossa/v1` (the Open Standard Agents project's) gives the same skills and protocols as
//! `ossa.ai/v1`, the provenance records which layout was read, and nothing is parked in
//! `extensions` without a warning naming it.

use agentry_formats::{ReadOptions, Target, read_one, write};
use agentry_types::record::ProtocolKind;

const WHITEPAPER: &str = include_str!("fixtures/whitepaper-financial-analyst.ossa.yaml");

fn with_api_version(v: &str) -> String {
    WHITEPAPER.replace("apiVersion: ossa.ai/v1", &format!("apiVersion: {v}"))
}

fn read(doc: &str) -> agentry_formats::ReadRecord {
    read_one(doc.as_bytes(), &ReadOptions::default()).unwrap_or_else(|r| panic!("{r}"))
}

#[test]
fn the_whitepaper_layout_reads_the_same_under_either_api_version() {
    let long = read(WHITEPAPER);
    assert_eq!(long.record.provenance.layout.as_deref(), Some("whitepaper"));
    for v in ["ossa/v1", "ossa/v0.4.6"] {
        let short = read(&with_api_version(v));
        let r = &short.record;
        assert_eq!(r.provenance.layout.as_deref(), Some("whitepaper"), "{v}");
        let skills: Vec<&str> = r.skills.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(skills, ["financial-analysis", "risk-assessment"], "{v}");
        assert_eq!(r.skills, long.record.skills, "{v}");
        assert_eq!(r.protocols, long.record.protocols, "{v}");
        assert!(r.protocols.iter().any(|p| p.kind == ProtocolKind::A2a));
        assert!(r.protocols.iter().any(|p| p.kind == ProtocolKind::Mcp));
        assert_eq!(r.publisher, long.record.publisher, "{v}");
        assert_eq!(r.permissions, long.record.permissions, "{v}");
        assert_eq!(r.context, long.record.context, "{v}");
        // Nothing of the four questions is parked in extensions.
        assert!(
            !r.extensions
                .keys()
                .any(|k| k.starts_with("ossa:/spec/capabilities/skills")
                    || k.starts_with("ossa:/spec/publisher/organization")),
            "{v}: {:?}",
            r.extensions.keys().collect::<Vec<_>>()
        );
        // The mixed spelling is named, once.
        let named: Vec<&str> = r
            .provenance
            .warnings
            .iter()
            .map(|w| w.pointer.as_str())
            .collect();
        assert!(named.contains(&"/apiVersion"), "{v}: {named:?}");
        // Written back in its own version it keeps the layout, so it reads the same again.
        let own: Target = format!("ossa@{v}")
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        let again = write(r, &own).unwrap_or_else(|e| panic!("{e}"));
        let back = read(&again.text);
        assert_eq!(back.record.skills, r.skills, "{v}");
    }
    // A project-layout manifest is still read as one.
    let project = "apiVersion: ossa/v1\nkind: Agent\nmetadata:\n  name: w\n  version: 1.0.0\nspec:\n  role: works\n";
    let p = read(project);
    assert_eq!(p.record.provenance.layout.as_deref(), Some("project"));
}

#[test]
fn converting_the_short_spelling_to_a2a_writes_its_skills_and_url() {
    let r = read(&with_api_version("ossa/v1"));
    let card = write(&r.record, &"a2a".parse().unwrap_or_else(|e| panic!("{e}")))
        .unwrap_or_else(|e| panic!("{e}"));
    let v = &card.value;
    assert_eq!(v["url"], "https://agents.acme.com/financial-analyst", "{v}");
    assert_eq!(v["name"], "Financial Analyst Agent");
    assert_eq!(
        v["description"],
        "Enterprise financial analysis with SOX compliance"
    );
    assert_eq!(v["provider"]["url"], "https://acme.com");
    let skills: Vec<&str> = v["skills"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert_eq!(skills, ["financial-analysis", "risk-assessment"]);
    // The embedded card is used, not reported as dropped.
    assert!(
        !card
            .warnings
            .iter()
            .any(|w| w.pointer.contains("agent-card")),
        "{:?}",
        card.warnings
    );
}
