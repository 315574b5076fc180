//! Readers, validators and writers for the agent description formats agentry understands,
//! around the one canonical [`AgentRecord`]:
//!
//! | format | versions read | schema checked |
//! |---|---|---|
//! | OSSA | `ossa/v0.2.2` … `ossa/v0.5`, `ossa/v1`, `ossa.ai/v1` (whitepaper §3.1) | the OSSA project's schema for the apiVersion; agentry's transcription of §3.1 |
//! | A2A Agent Card | 0.2.0 – 0.3.x, 1.0.x; with or without `x-ossa` | the A2A release's schema |
//! | AGNTCY OASF | 0.3.1, 0.5.0, 0.6.0, 0.7.0, 0.8.0, 1.0.0, 1.1.0 | oasf-sdk's JSON Schemas; the 1.x record definition and taxonomies |
//! | MCP `server.json` | 2025-07-09 … 2025-12-11, legacy snake_case | the registry's published schemas |
//! | NANDA AgentFacts | agentfacts v1 | agentry's transcription of the published structure |
//! | simple registry JSON | Figure 5 of the federation paper | agentry's transcription |
//!
//! Documents are parsed defensively ([`input`]), the format and version detected ([`detect`]),
//! validated against the format's JSON Schema plus semantic rules, and read into the record;
//! every problem is reported at once with a JSON pointer ([`ValidationReport`]). Fields a
//! reader does not map are kept in `extensions`, and the original document in
//! `provenance.original`, so writing back to the same format loses nothing.
//!
//! The server-facing entry points are [`extract`] / [`extract_artifact`] (a pushed layer →
//! validated record with registry identity), [`is_record_media_type`] and [`media_type_for`].

pub mod cid;
pub mod detect;
pub mod format;
pub mod formats;
pub mod input;
pub mod obj;
pub mod report;
pub mod schemas;
pub mod taxonomy;

use agentry_types::record::{AgentRecord, ProtocolEndpoint, Provenance, Skill, TaxonomyRef};
use agentry_types::{ContextBudget, Digest};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use format::{
    CAPABILITIES_MEDIA_TYPE, Format, FormatVersion, Target, format_for_media_type,
    is_capabilities_media_type, is_record_media_type, media_type_for,
};
pub use input::{InputError, Limits, Syntax};
pub use report::{Problem, ProblemSource, Severity, ValidationReport};

use formats::{a2a, mcp, nanda, oasf, ossa, simple};

/// How strictly schema violations are treated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strictness {
    /// Every violation of the format's schema is an error (the default, used on push).
    #[default]
    Strict,
    /// Schema violations are warnings; only documents that cannot be read at all, or whose
    /// identity is missing, are refused. For importing real-world data that drifted from its
    /// schema (the MCP seed file, oasf-sdk's own outputs).
    Lenient,
}

/// Options for reading.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadOptions {
    pub limits: Limits,
    pub strictness: Strictness,
}

/// One record read from a document, with everything found while reading it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadRecord {
    pub record: AgentRecord,
    pub report: ValidationReport,
}

/// Reads every record of a document: one for most documents, one per element of a top-level
/// JSON array, one per document of a YAML stream. `Err` when the bytes themselves are refused
/// (encoding, syntax, limits); otherwise each record carries its own report, and a record is
/// usable only when `report.valid`.
pub fn read_document(
    bytes: &[u8],
    opts: &ReadOptions,
) -> Result<Vec<ReadRecord>, ValidationReport> {
    let (docs, _syntax) = input::parse_stream(bytes, &opts.limits).map_err(parse_report)?;
    // The document is valid UTF-8 once parsed.
    let text = std::str::from_utf8(bytes).unwrap_or_default();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let multi_yaml = docs.len() > 1;
    let mut out = Vec::new();
    for (i, doc) in docs.into_iter().enumerate() {
        match doc {
            Value::Array(items) if !multi_yaml => {
                for (j, item) in items.into_iter().enumerate() {
                    let original = serde_json::to_string(&item).unwrap_or_default();
                    out.push(read_value(item, &format!("/{j}"), original, opts));
                }
            }
            doc if multi_yaml => {
                let original = serde_json::to_string(&doc).unwrap_or_default();
                out.push(read_value(doc, &format!("/{i}"), original, opts));
            }
            doc => out.push(read_value(doc, "", text.to_owned(), opts)),
        }
    }
    Ok(out)
}

/// Reads a document that must hold exactly one valid record.
pub fn read_one(bytes: &[u8], opts: &ReadOptions) -> Result<ReadRecord, ValidationReport> {
    let mut recs = read_document(bytes, opts)?;
    if recs.len() != 1 {
        return Err(ValidationReport::single(
            ProblemSource::Detect,
            "",
            format!(
                "expected one agent description, the document holds {}",
                recs.len()
            ),
        ));
    }
    let r = recs.remove(0);
    if r.report.valid { Ok(r) } else { Err(r.report) }
}

/// Validates every record of a document (a parse failure is one report).
pub fn validate(bytes: &[u8], opts: &ReadOptions) -> Vec<ValidationReport> {
    match read_document(bytes, opts) {
        Ok(recs) => recs.into_iter().map(|r| r.report).collect(),
        Err(report) => vec![report],
    }
}

fn parse_report(e: InputError) -> ValidationReport {
    ValidationReport::single(ProblemSource::Parse, e.pointer().to_owned(), e.to_string())
}

/// The schema check for one record, by format.
fn schema_problems(fv: &FormatVersion, doc: &Value, ptr: &str) -> Result<Vec<Problem>, String> {
    Ok(match fv.format {
        Format::Ossa => schemas::check(ossa::schema_for(&fv.version, doc)?, doc, ptr),
        Format::A2a => {
            let id = a2a::schema_for(&fv.version)?;
            // The whitepaper's x-ossa is the one top-level key tolerated in cards whose schema
            // forbids unknown keys (1.0).
            match doc {
                Value::Object(m) if m.contains_key("x-ossa") => {
                    let mut stripped = m.clone();
                    stripped.remove("x-ossa");
                    schemas::check(id, &Value::Object(stripped), ptr)
                }
                _ => schemas::check(id, doc, ptr),
            }
        }
        Format::Oasf => match oasf::schema_for(&fv.version)? {
            Some(id) => {
                let mut p = schemas::check(id, doc, ptr);
                p.extend(oasf::class_problems(id, doc, ptr));
                p
            }
            None => oasf::check_unschema(doc, &fv.version, ptr),
        },
        Format::Mcp => schemas::check(mcp::schema_for(&fv.version)?, doc, ptr),
        Format::Nanda => schemas::check(nanda::schema_for(&fv.version)?, doc, ptr),
        Format::Simple => schemas::check(simple::schema_for(&fv.version)?, doc, ptr),
    })
}

fn read_value(mut doc: Value, base: &str, original: String, opts: &ReadOptions) -> ReadRecord {
    let failed = |report: ValidationReport| ReadRecord {
        record: AgentRecord::default(),
        report: ValidationReport {
            record_pointer: base.to_owned(),
            ..report
        },
    };
    let detected = match detect::detect(&doc) {
        Ok(d) => d,
        Err(reason) => {
            return failed(ValidationReport::single(
                ProblemSource::Detect,
                base,
                reason,
            ));
        }
    };
    let fv = detected.format.clone();
    let ptr = format!("{base}{}", detected.inner_pointer);
    if !detected.inner_pointer.is_empty() {
        doc = doc
            .pointer_mut(detected.inner_pointer)
            .map(Value::take)
            .unwrap_or(Value::Null);
    }
    let mut problems = match schema_problems(&fv, &doc, &ptr) {
        Ok(p) => p,
        Err(reason) => {
            return failed(ValidationReport::from_problems(
                Some(fv),
                vec![Problem::error(ProblemSource::Detect, ptr, reason)],
                None,
            ));
        }
    };
    let cid = (fv.format == Format::Oasf).then(|| cid::record_cid(&doc));
    // Readers work relative to the record (extension keys must not depend on where the record
    // sat in its document); their problem pointers are made absolute afterwards.
    let mut read_problems = Vec::new();
    let rp = &mut read_problems;
    let mut record = match fv.format {
        Format::Ossa => ossa::read(doc, &fv.version, "", rp),
        Format::A2a => a2a::read(doc, &fv.version, "", rp),
        Format::Oasf => oasf::read(doc, &fv.version, "", rp),
        Format::Mcp => mcp::read(doc, &fv.version, "", rp),
        Format::Nanda => nanda::read(doc, &fv.version, "", rp),
        Format::Simple => simple::read(doc, &fv.version, "", rp),
    };
    for mut p in read_problems {
        p.pointer = format!("{ptr}{}", p.pointer);
        problems.push(p);
    }
    record.record_version = agentry_types::record::RECORD_VERSION;
    record.identity.oasf_cid = cid;
    record.provenance = Provenance {
        source_format: fv.format,
        source_version: Some(fv.version.clone()),
        original: Some(original),
        ..Provenance::default()
    };
    if record.identity.name.is_empty() {
        problems.push(Problem::error(
            ProblemSource::Semantic,
            ptr.clone(),
            "the document names no agent (its name field is missing or not a string)",
        ));
    }
    let budget = context_problems(&mut record, &fv, &ptr, &mut problems);
    if opts.strictness == Strictness::Lenient {
        for p in &mut problems {
            if p.source == ProblemSource::Schema {
                p.severity = Severity::Warning;
            }
        }
    }
    let mut report = ValidationReport::from_problems(Some(fv), problems, budget);
    report.record_pointer = base.to_owned();
    ReadRecord { record, report }
}

/// Formula 2 on the record's context spec: the result is stored on the record and returned for
/// the report; each broken constraint, and a utilisation outside the healthy 40–70 %, is a
/// warning.
fn context_problems(
    record: &mut AgentRecord,
    fv: &FormatVersion,
    ptr: &str,
    problems: &mut Vec<Problem>,
) -> Option<ContextBudget> {
    let budget = record.context.as_ref().and_then(|c| c.budget());
    record.context_budget = budget.clone();
    let b = budget.as_ref()?;
    let at = match (fv.format, fv.version.as_str()) {
        (Format::Ossa, ossa::WHITEPAPER_V1) => format!("{ptr}/spec/requirements/context"),
        (Format::A2a, _) => format!("{ptr}/x-ossa/requirements/context"),
        _ => ptr.to_owned(),
    };
    for v in &b.violations {
        problems.push(Problem::warning(
            ProblemSource::Context,
            at.clone(),
            v.clone(),
        ));
    }
    if !b.healthy {
        problems.push(Problem::warning(
            ProblemSource::Context,
            at,
            format!(
                "context utilisation {:.1}% (budget {} of {} tokens) is outside the healthy 40–70%",
                b.utilization * 100.0,
                b.optimal_budget_tokens,
                b.max_input_tokens
            ),
        ));
    }
    budget
}

/// A record written in some format.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Written {
    pub format: FormatVersion,
    pub media_type: &'static str,
    /// The document as text (YAML for OSSA, JSON otherwise).
    pub text: String,
    /// The document as a value.
    #[serde(skip)]
    pub value: Value,
    /// Every field the target could not hold, and every field it needed and had to derive.
    pub warnings: Vec<Problem>,
    /// Formula 2 on the record's context spec, when it declares a window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context_budget: Option<ContextBudget>,
}

/// Why a record could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    #[error("{0}")]
    UnsupportedVersion(String),
    #[error("could not serialise the document: {0}")]
    Serialize(String),
}

/// The version written when a target names none.
pub fn default_write_version(format: Format) -> &'static str {
    match format {
        Format::Ossa => ossa::DEFAULT_VERSION,
        Format::A2a => a2a::DEFAULT_VERSION,
        Format::Oasf => oasf::DEFAULT_VERSION,
        Format::Mcp => mcp::DEFAULT_VERSION,
        Format::Nanda => nanda::DEFAULT_VERSION,
        Format::Simple => simple::DEFAULT_VERSION,
    }
}

/// Writes `record` as `target`, generating the document from the record (see [`export`] for
/// returning the original document when the target is its own format).
pub fn write(record: &AgentRecord, target: &Target) -> Result<Written, WriteError> {
    let version = target
        .version
        .clone()
        .unwrap_or_else(|| default_write_version(target.format).to_owned());
    let mut warnings = Vec::new();
    let value = match target.format {
        Format::Ossa => ossa::write(record, &version, &mut warnings),
        Format::A2a => a2a::write(record, &version, &mut warnings),
        Format::Oasf => oasf::write(record, &version, &mut warnings),
        Format::Mcp => mcp::write(record, &version, &mut warnings),
        Format::Nanda => nanda::write(record, &version, &mut warnings),
        Format::Simple => simple::write(record, &version, &mut warnings),
    }
    .map_err(WriteError::UnsupportedVersion)?;
    let text = match target.format {
        Format::Ossa => {
            serde_norway::to_string(&value).map_err(|e| WriteError::Serialize(e.to_string()))?
        }
        _ => {
            let mut s = serde_json::to_string_pretty(&value)
                .map_err(|e| WriteError::Serialize(e.to_string()))?;
            s.push('\n');
            s
        }
    };
    let budget = record.context.as_ref().and_then(|c| c.budget());
    if let Some(b) = &budget {
        for v in &b.violations {
            warnings.push(Problem::warning(ProblemSource::Context, "", v.clone()));
        }
    }
    let media_type = match target.format {
        Format::Ossa => agentry_types::media::OSSA_MANIFEST_YAML,
        f => media_type_for(f),
    };
    Ok(Written {
        format: FormatVersion::new(target.format, version),
        media_type,
        text,
        value,
        warnings,
        context_budget: budget,
    })
}

/// Like [`write`], but when the record was read from a document of the target format (and
/// version, if the target names one) its original bytes are returned unchanged.
pub fn export(record: &AgentRecord, target: &Target) -> Result<Written, WriteError> {
    let p = &record.provenance;
    let same_version = match (&target.version, &p.source_version) {
        (None, _) => true,
        (Some(t), Some(s)) => t == s,
        _ => false,
    };
    if let (true, true, Some(original)) =
        (p.source_format == target.format, same_version, &p.original)
    {
        let version = p
            .source_version
            .clone()
            .unwrap_or_else(|| default_write_version(target.format).to_owned());
        let value = input::parse_stream(original.as_bytes(), &Limits::default())
            .ok()
            .and_then(|(mut d, _)| (d.len() == 1).then(|| d.remove(0)))
            .unwrap_or(Value::Null);
        return Ok(Written {
            format: FormatVersion::new(target.format, version),
            media_type: p
                .media_type
                .as_deref()
                .and_then(registered_media_type)
                .unwrap_or_else(|| media_type_for(target.format)),
            text: original.clone(),
            value,
            warnings: Vec::new(),
            context_budget: record.context_budget.clone(),
        });
    }
    write(record, target)
}

fn registered_media_type(mt: &str) -> Option<&'static str> {
    [
        agentry_types::media::OSSA_MANIFEST_YAML,
        agentry_types::media::OSSA_MANIFEST_JSON,
    ]
    .into_iter()
    .find(|m| m.eq_ignore_ascii_case(mt))
}

/// A document converted to another format.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Converted {
    /// The source record's validation report.
    pub source: ValidationReport,
    pub written: Written,
}

/// Reads one valid record from `bytes` and writes it as `target`.
pub fn convert(
    bytes: &[u8],
    target: &Target,
    opts: &ReadOptions,
) -> Result<Converted, ValidationReport> {
    let r = read_one(bytes, opts)?;
    let written = write(&r.record, target)
        .map_err(|e| ValidationReport::single(ProblemSource::Conversion, "", e.to_string()))?;
    Ok(Converted {
        source: r.report,
        written,
    })
}

/// The media type a description document should be pushed under: its format is detected and
/// the document validated first (an OSSA manifest in JSON gets the `+json` twin). For
/// `agentry push`, which accepts a description in any supported format.
pub fn media_type_of_document(bytes: &[u8]) -> Result<&'static str, ValidationReport> {
    let r = read_one(bytes, &ReadOptions::default())?;
    let format = r.record.provenance.source_format;
    let json = input::decode(bytes, &Limits::default())
        .map(|t| t.trim_start().starts_with(['{', '[']))
        .unwrap_or(false);
    Ok(match format {
        Format::Ossa if json => agentry_types::media::OSSA_MANIFEST_JSON,
        f => media_type_for(f),
    })
}

/// Registry coordinates of a pushed artifact. The repository's namespace and name are
/// authoritative for the record's identity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coordinates {
    /// Everything before the last `/` of the repository name (may be empty).
    pub namespace: String,
    /// Last component of the repository name.
    pub name: String,
    /// The tag the manifest was pushed under, if any.
    pub tag: Option<String>,
    /// Digest of the manifest the layer belongs to.
    pub manifest_digest: Option<Digest>,
}

/// A record extracted from a pushed layer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Extracted {
    pub record: AgentRecord,
    /// Problems that do not refuse the record (schema deviations are errors, not warnings).
    pub warnings: Vec<Problem>,
}

/// Reads and validates a pushed layer of a registered record media type, and sets the
/// record's identity from the registry coordinates: namespace and name from the repository,
/// the document's own name as `display_name` (unless the document has a display name), the
/// version from the document or else from the tag when it is a semantic version.
pub fn extract(
    media_type: &str,
    bytes: &[u8],
    coords: &Coordinates,
) -> Result<Extracted, ValidationReport> {
    let Some(expected) = format_for_media_type(media_type) else {
        return Err(ValidationReport::single(
            ProblemSource::Registry,
            "",
            format!("{media_type:?} is not a media type of an agent description agentry reads"),
        ));
    };
    let r = read_one(bytes, &ReadOptions::default())?;
    let mut record = r.record;
    let mut warnings = r.report.warnings;
    if record.provenance.source_format != expected {
        return Err(ValidationReport::from_problems(
            r.report.format,
            vec![Problem::error(
                ProblemSource::Registry,
                "",
                format!(
                    "the layer's media type {media_type:?} announces {}, but the document is {}",
                    expected.as_str(),
                    record.provenance.source_format.as_str()
                ),
            )],
            None,
        ));
    }
    let doc_name = common_display(&record);
    if record.identity.display_name.is_none() && doc_name != coords.name {
        record.identity.display_name = Some(doc_name);
    }
    record.identity.namespace = coords.namespace.clone();
    record.identity.name = coords.name.clone();
    let tag_semver = coords
        .tag
        .as_deref()
        .filter(|t| semver::Version::parse(t.trim_start_matches('v')).is_ok());
    if record.identity.version.is_empty() {
        match tag_semver {
            Some(t) => record.identity.version = t.to_owned(),
            None => warnings.push(Problem::warning(
                ProblemSource::Registry,
                "",
                "the document states no version and the tag is not a semantic version; the record has no version",
            )),
        }
    } else if let Some(t) = tag_semver
        && t.trim_start_matches('v') != record.identity.version.trim_start_matches('v')
    {
        warnings.push(Problem::warning(
                ProblemSource::Registry,
                "",
                format!(
                    "tag {t:?} differs from the document's version {:?}; the document's version is used",
                    record.identity.version
                ),
            ));
    }
    record.identity.digest = coords.manifest_digest.clone();
    record.provenance.media_type = Some(media_type.to_owned());
    record.provenance.document_digest = Some(Digest::sha256(bytes));
    Ok(Extracted { record, warnings })
}

/// The document's own qualified name, before registry coordinates replace it.
fn common_display(record: &AgentRecord) -> String {
    formats::common::join_qualified(&record.identity.namespace, &record.identity.name)
}

/// One layer of a pushed artifact.
#[derive(Debug, Clone, Copy)]
pub struct Layer<'a> {
    pub media_type: &'a str,
    pub bytes: &'a [u8],
}

/// Extracts the record of an agent artifact from its layers: the first layer of a record
/// media type is the description; capabilities layers are merged into it
/// ([`merge_capabilities`]); further description layers are reported as warnings and ignored.
/// `Err` when no layer describes the agent or the description or a capabilities layer is
/// invalid.
pub fn extract_artifact(
    layers: &[Layer<'_>],
    coords: &Coordinates,
) -> Result<Extracted, ValidationReport> {
    let mut primary: Option<Extracted> = None;
    let mut extra = Vec::new();
    for (i, l) in layers.iter().enumerate() {
        if format_for_media_type(l.media_type).is_none() {
            continue;
        }
        if primary.is_some() {
            extra.push(Problem::warning(
                ProblemSource::Registry,
                format!("/layers/{i}"),
                format!("a second description layer ({}) is stored but not indexed; the first one describes the agent", l.media_type),
            ));
            continue;
        }
        primary = Some(extract(l.media_type, l.bytes, coords)?);
    }
    let Some(mut ex) = primary else {
        return Err(ValidationReport::single(
            ProblemSource::Registry,
            "/layers",
            "the agent artifact has no layer of an agent description media type",
        ));
    };
    ex.warnings.extend(extra);
    for l in layers
        .iter()
        .filter(|l| is_capabilities_media_type(l.media_type))
    {
        let w = merge_capabilities(&mut ex.record, l.bytes)?;
        ex.warnings.extend(w);
    }
    Ok(ex)
}

/// Merges the whitepaper's capabilities layer (`application/vnd.ossa.capabilities.v1+json`:
/// the `spec.capabilities` block of an ossa.ai/v1 manifest) into `record`.
///
/// The description layer stays authoritative for what it states; the capabilities layer adds
/// what it lacks: a skill of the same name gains the schemas, description, modes, tags and
/// taxonomy it does not have; skills, protocols and domains the record lacks are appended.
/// Conflicting values are reported as warnings and the description's value is kept.
pub fn merge_capabilities(
    record: &mut AgentRecord,
    bytes: &[u8],
) -> Result<Vec<Problem>, ValidationReport> {
    let (doc, _) = input::parse(bytes, &Limits::default()).map_err(parse_report)?;
    let problems = schemas::check(schemas::SchemaId::OssaCapabilities, &doc, "");
    if !problems.is_empty() {
        return Err(ValidationReport::from_problems(None, problems, None));
    }
    let mut ext = std::collections::BTreeMap::new();
    let mut warnings = Vec::new();
    let Some(mut caps) = obj::Obj::of(doc, "") else {
        return Ok(warnings);
    };
    let skills = caps
        .objs("skills")
        .map(|l| formats::common::read_ossa_skills(l, "capabilities", &mut ext))
        .unwrap_or_default();
    let protocols = caps
        .objs("protocols")
        .map(|l| formats::common::read_protocols(l, "capabilities", &mut ext))
        .unwrap_or_default();
    let domains: Vec<TaxonomyRef> = caps
        .objs("domains")
        .unwrap_or_default()
        .into_iter()
        .map(|mut d| TaxonomyRef {
            id: d.u64("id"),
            name: d.str("name"),
        })
        .collect();
    for (i, s) in skills.into_iter().enumerate() {
        match record.skills.iter_mut().find(|k| k.name == s.name) {
            Some(k) => merge_skill(k, s, i, &mut warnings),
            None => record.skills.push(s),
        }
    }
    for p in protocols {
        let dup = record
            .protocols
            .iter()
            .any(|q: &ProtocolEndpoint| q.kind == p.kind && q.endpoint == p.endpoint);
        if !dup {
            record.protocols.push(p);
        }
    }
    for d in domains {
        if !record.domains.contains(&d) {
            record.domains.push(d);
        }
    }
    for k in ext.keys() {
        warnings.push(Problem::warning(
            ProblemSource::Registry,
            k.trim_start_matches("capabilities:").to_owned(),
            "field of the capabilities layer not merged into the record",
        ));
    }
    Ok(warnings)
}

fn merge_skill(k: &mut Skill, s: Skill, i: usize, warnings: &mut Vec<Problem>) {
    let at = format!("/skills/{i}");
    let mut conflict = |field: &str| {
        warnings.push(Problem::warning(
            ProblemSource::Registry,
            format!("{at}/{field}"),
            format!("skill {:?}: the capabilities layer's {field} differs from the description's; the description's is kept", k.name),
        ));
    };
    if k.description.is_empty() {
        k.description = s.description;
    } else if !s.description.is_empty() && s.description != k.description {
        conflict("description");
    }
    match (&k.input_schema, s.input_schema) {
        (None, v) => k.input_schema = v,
        (Some(a), Some(b)) if *a != b => conflict("input-schema"),
        _ => {}
    }
    match (&k.output_schema, s.output_schema) {
        (None, v) => k.output_schema = v,
        (Some(a), Some(b)) if *a != b => conflict("output-schema"),
        _ => {}
    }
    if k.id.is_none() {
        k.id = s.id;
    }
    for (mine, theirs) in [
        (&mut k.tags, s.tags),
        (&mut k.examples, s.examples),
        (&mut k.input_modes, s.input_modes),
        (&mut k.output_modes, s.output_modes),
    ] {
        for t in theirs {
            if !mine.contains(&t) {
                mine.push(t);
            }
        }
    }
    for t in s.taxonomy {
        if !k.taxonomy.contains(&t) {
            k.taxonomy.push(t);
        }
    }
}

/// The record as it is compared across a round trip: the provenance of the bytes (original,
/// digests, media type) and the source version naturally differ between a document and its
/// rewrite.
pub fn comparable(record: &AgentRecord) -> AgentRecord {
    let mut r = record.clone();
    r.provenance = Provenance {
        source_format: r.provenance.source_format,
        ..Provenance::default()
    };
    r.identity.oasf_cid = None;
    r
}
