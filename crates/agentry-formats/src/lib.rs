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
pub mod codec;
pub mod detect;
pub mod format;
pub mod formats;
pub mod input;
pub mod obj;
pub mod report;
pub mod schemas;
pub mod taxonomy;

use agentry_types::record::{
    AgentRecord, ProtocolEndpoint, Provenance, RecordWarning, Skill, TaxonomyRef,
};
use agentry_types::{ContextBudget, Digest};

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use codec::{CODECS, Codec, codec};
pub use format::{
    CAPABILITIES_MEDIA_TYPE, Format, FormatVersion, Target, format_for_media_type,
    is_capabilities_media_type, is_record_media_type, media_type_for,
};
pub use input::{InputError, Limits, Syntax};
pub use report::{Problem, ProblemSource, Severity, ValidationReport};
pub use schemas::{Declared, SchemaId};

/// Options for reading.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadOptions {
    pub limits: Limits,
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
    read_records(bytes, opts, None)
}

/// [`read_document`], reading a record no codec recognises as `announced`.
fn read_records(
    bytes: &[u8],
    opts: &ReadOptions,
    announced: Option<Format>,
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
                    out.push(read_value(item, &format!("/{j}"), original, announced));
                }
            }
            doc if multi_yaml => {
                let original = serde_json::to_string(&doc).unwrap_or_default();
                out.push(read_value(doc, &format!("/{i}"), original, announced));
            }
            doc => out.push(read_value(doc, "", text.to_owned(), announced)),
        }
    }
    Ok(out)
}

/// Reads a document that must hold exactly one valid record.
pub fn read_one(bytes: &[u8], opts: &ReadOptions) -> Result<ReadRecord, ValidationReport> {
    read_one_as(bytes, opts, None)
}

fn read_one_as(
    bytes: &[u8],
    opts: &ReadOptions,
    announced: Option<Format>,
) -> Result<ReadRecord, ValidationReport> {
    let mut recs = read_records(bytes, opts, announced)?;
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

fn read_value(
    mut doc: Value,
    base: &str,
    original: String,
    announced: Option<Format>,
) -> ReadRecord {
    let failed = |report: ValidationReport| ReadRecord {
        record: AgentRecord::default(),
        report: ValidationReport {
            record_pointer: base.to_owned(),
            ..report
        },
    };
    let detected = match detect::detect_as(&doc, announced) {
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
    let Some(codec) = codec(fv.format) else {
        return failed(ValidationReport::single(
            ProblemSource::Detect,
            base,
            format!("no codec reads {}", fv.format.as_str()),
        ));
    };
    let ptr = format!("{base}{}", detected.inner_pointer);
    let mut problems = Vec::new();
    if !detected.inner_pointer.is_empty() {
        let inner = detected.inner_pointer.trim_start_matches('/');
        if let Value::Object(m) = &doc {
            for k in m.keys().filter(|k| *k != inner) {
                problems.push(Problem::warning(
                    ProblemSource::Detect,
                    format!("{base}/{}", obj::esc(k)),
                    format!(
                        "{k} wraps the record rather than describing the agent; it is kept in the \
                         original document only"
                    ),
                ));
            }
        }
        doc = doc
            .pointer_mut(detected.inner_pointer)
            .map(Value::take)
            .unwrap_or(Value::Null);
    }
    match codec.check(&fv.version, &doc, &ptr) {
        Ok(mut p) => {
            schemas::refuse_at_name(&mut p, &ptr, codec.name_pointers(&fv.version));
            problems.extend(p);
        }
        Err(reason) => {
            return failed(ValidationReport::from_problems(
                Some(fv),
                vec![Problem::error(ProblemSource::Detect, ptr, reason)],
                None,
            ));
        }
    }
    let schema = codec.schema_for(&fv.version, &doc).ok().flatten();
    let cid = codec.content_id(&doc);
    // Readers work relative to the record (extension keys must not depend on where the record
    // sat in its document); their problem pointers are made absolute afterwards.
    let mut read_problems = Vec::new();
    let mut record = codec.read(doc, &fv.version, &mut read_problems);
    for mut p in read_problems {
        p.pointer = format!("{ptr}{}", p.pointer);
        problems.push(p);
    }
    record.record_version = agentry_types::record::RECORD_VERSION;
    record.identity.oasf_cid = cid;
    let p = &mut record.provenance;
    p.source_format = fv.format;
    p.source_version = Some(fv.version.clone());
    p.original = Some(original);
    if let Some(id) = schema {
        undeclared_extensions(&record, codec, &fv, id, &ptr, &mut problems);
    }
    identity_problems(&record, &ptr, &mut problems);
    let at = format!("{ptr}{}", codec.context_pointer(&record).unwrap_or(""));
    let budget = context_problems(&mut record, &at, &mut problems);
    let mut report = ValidationReport::from_problems(Some(fv), problems, budget);
    report.record_pointer = base.to_owned();
    record.provenance.warnings = record_warnings(&report.warnings);
    ReadRecord { record, report }
}

/// The warnings stored with a record: everything accepted that the format or agentry's rules
/// do not list. Formula 2's advice is not among them (the record carries its budget).
fn record_warnings(warnings: &[Problem]) -> Vec<RecordWarning> {
    warnings
        .iter()
        .filter(|w| w.source != ProblemSource::Context)
        .map(|w| RecordWarning {
            pointer: w.pointer.clone(),
            reason: w.reason.clone(),
        })
        .collect()
}

/// A warning for each field the reader kept in `extensions` that the detected version's
/// schema does not declare: nothing is parked in silence. Fields the schema forbids are already
/// reported by the schema check.
fn undeclared_extensions(
    record: &AgentRecord,
    codec: &dyn Codec,
    fv: &FormatVersion,
    schema: schemas::SchemaId,
    ptr: &str,
    problems: &mut Vec<Problem>,
) {
    let own = format!("{}:", codec.format().as_str());
    for key in record.extensions.keys() {
        let Some(at) = key.strip_prefix(&own) else {
            continue;
        };
        if schemas::declared(schema, at) == schemas::Declared::Undeclared {
            problems.push(Problem::warning(
                ProblemSource::Schema,
                format!("{ptr}{at}"),
                format!(
                    "{} {} does not define this field; it is kept in the record's extensions",
                    codec.title(),
                    fv.version
                ),
            ));
        }
    }
}

/// Longest qualified name a record may have: an OCI repository name's limit.
const MAX_NAME_BYTES: usize = 255;
/// Longest version: an OCI tag's limit (a version becomes a tag and a discovery path segment).
const MAX_VERSION_BYTES: usize = 128;

/// The identity every record needs, whatever its format says: a name, a version usable as a
/// path segment, and no character that would make either lie on a screen.
fn identity_problems(record: &AgentRecord, ptr: &str, problems: &mut Vec<Problem>) {
    let mut refuse = |reason: String| {
        problems.push(Problem::error(ProblemSource::Semantic, ptr, reason));
    };
    let id = &record.identity;
    if id.name.is_empty() {
        refuse(
            "the document names no agent (its name field is missing, empty or not a string)".into(),
        );
    }
    let qualified = record.qualified_name();
    if qualified.len() > MAX_NAME_BYTES {
        refuse(format!(
            "the agent's name is {} bytes; a registry holds names of at most {MAX_NAME_BYTES}",
            qualified.len()
        ));
    }
    let v = &id.version;
    if v.len() > MAX_VERSION_BYTES {
        refuse(format!(
            "the version is {} bytes; a registry holds versions of at most {MAX_VERSION_BYTES}",
            v.len()
        ));
    } else if v.contains(|c: char| c == '/' || c.is_whitespace()) {
        refuse(format!(
            "version {v:?} contains a slash or white space; it cannot name a version"
        ));
    }
    for (what, value) in [
        ("name", Some(qualified.as_str())),
        ("version", Some(v.as_str())),
        ("display name", id.display_name.as_deref()),
    ] {
        if let Some(c) = value.and_then(|s| s.chars().find(|c| unsafe_char(*c))) {
            refuse(format!(
                "the agent's {what} contains U+{:04X}, a control or text-direction character \
                 that would show it as something it is not",
                c as u32
            ));
        }
    }
}

/// Control characters and the Unicode bidirectional overrides and isolates ("Trojan Source").
fn unsafe_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Formula 2 on the record's context spec: the result is stored on the record and returned for
/// the report; each broken constraint, and a utilisation outside the healthy 40–70 %, is a
/// warning.
fn context_problems(
    record: &mut AgentRecord,
    at: &str,
    problems: &mut Vec<Problem>,
) -> Option<ContextBudget> {
    let budget = record.context.as_ref().and_then(|c| c.budget());
    record.context_budget = budget.clone();
    let b = budget.as_ref()?;
    for v in &b.violations {
        problems.push(Problem::warning(ProblemSource::Context, at, v.clone()));
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
    /// The written document's CID as its format's registry computes it (OASF: the AGNTCY
    /// Directory's, [`cid::record_cid`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cid: Option<String>,
}

/// Why a record could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    #[error("{0}")]
    UnsupportedVersion(String),
    #[error("no codec writes {0}")]
    UnsupportedFormat(&'static str),
    #[error("could not serialise the document: {0}")]
    Serialize(String),
}

fn codec_of(format: Format) -> Result<&'static dyn Codec, WriteError> {
    codec(format).ok_or(WriteError::UnsupportedFormat(format.as_str()))
}

/// Writes `record` as `target`, generating the document from the record (see [`export`] for
/// returning the original document when the target is its own format).
pub fn write(record: &AgentRecord, target: &Target) -> Result<Written, WriteError> {
    let codec = codec_of(target.format)?;
    let version = target
        .version
        .clone()
        .unwrap_or_else(|| codec.default_version().to_owned());
    let mut warnings = Vec::new();
    let value = codec
        .write(record, &version, &mut warnings)
        .map_err(WriteError::UnsupportedVersion)?;
    let text = match codec.syntax() {
        Syntax::Yaml => {
            serde_norway::to_string(&value).map_err(|e| WriteError::Serialize(e.to_string()))?
        }
        Syntax::Json => {
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
    let media_type = codec.media_type(codec.syntax());
    let cid = codec.content_id(&value);
    Ok(Written {
        format: FormatVersion::new(target.format, version),
        media_type,
        text,
        value,
        warnings,
        context_budget: budget,
        cid,
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
        let version = match &p.source_version {
            Some(v) => v.clone(),
            None => codec_of(target.format)?.default_version().to_owned(),
        };
        let value = input::parse_stream(original.as_bytes(), &Limits::default())
            .ok()
            .and_then(|(mut d, _)| (d.len() == 1).then(|| d.remove(0)))
            .unwrap_or(Value::Null);
        return Ok(Written {
            format: FormatVersion::new(target.format, version),
            media_type: p
                .media_type
                .as_deref()
                .and_then(|mt| format::registered_media_type(target.format, mt))
                .unwrap_or_else(|| media_type_for(target.format)),
            text: original.clone(),
            warnings: Vec::new(),
            context_budget: record.context_budget.clone(),
            cid: codec_of(target.format)?.content_id(&value),
            value,
        });
    }
    write(record, target)
}

/// A document converted to another format.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Converted {
    /// The source record's validation report.
    pub source: ValidationReport,
    /// The source document's CID as its format's registry computes it (OASF records).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_cid: Option<String>,
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
        source_cid: r.record.identity.oasf_cid,
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
    let syntax = if json { Syntax::Json } else { Syntax::Yaml };
    Ok(codec(format).map_or_else(|| media_type_for(format), |c| c.media_type(syntax)))
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
    /// Format and version of the description layer.
    pub format: Option<FormatVersion>,
    /// Everything accepted that the format or agentry's rules do not list, and Formula 2's
    /// advice; all but the advice are also in `record.provenance.warnings`.
    pub warnings: Vec<Problem>,
}

impl Extracted {
    /// The refusal of a pod run with `--strict-records`: `Some` when the record has warnings.
    pub fn strict_refusal(&self) -> Option<ValidationReport> {
        if self.record.provenance.warnings.is_empty() {
            return None;
        }
        Some(
            ValidationReport::from_problems(self.format.clone(), self.warnings.clone(), None)
                .into_strict(),
        )
    }
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
    let r = read_one_as(bytes, &ReadOptions::default(), Some(expected))?;
    let mut record = r.record;
    let mut warnings = r.report.warnings;
    let format = r.report.format;
    let refuse = |reason: String| {
        ValidationReport::from_problems(
            format.clone(),
            vec![Problem::error(ProblemSource::Registry, "", reason)],
            None,
        )
    };
    if record.provenance.source_format != expected {
        return Err(refuse(format!(
            "the layer's media type {media_type:?} announces {}, but the document is {}",
            expected.as_str(),
            record.provenance.source_format.as_str()
        )));
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
            None => {
                return Err(refuse(format!(
                    "the document states no version and the tag {} is not a semantic version: \
                     the record would have no usable version (push it under a tag such as 1.0.0)",
                    coords
                        .tag
                        .as_deref()
                        .map_or_else(|| "(none)".to_owned(), |t| format!("{t:?}"))
                )));
            }
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
    record.provenance.warnings = record_warnings(&warnings);
    Ok(Extracted {
        record,
        format,
        warnings,
    })
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
    ex.record.provenance.warnings = record_warnings(&ex.warnings);
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
