//! One [`Codec`] per description format, and the registry of them ([`CODECS`]).
//!
//! Everything the crate does with a document goes through this trait: detection asks each codec
//! in turn whether the document is one of its own, validation asks the codec for the schema of
//! the version found, reading and writing are the codec's, and the parts every format shares —
//! the order of the pipeline, putting kept fields back into a written document, naming the
//! fields of other formats it cannot hold — are written once, here and in `lib.rs`.
//!
//! Adding a format: add its variant to `agentry_types::record::SourceFormat`, its media types
//! to the table in `format.rs`, a module under `formats/` with a unit struct implementing
//! [`Codec`], and that struct to [`CODECS`].

use agentry_types::record::AgentRecord;
use serde_json::{Map, Value};

use crate::detect::Detected;
use crate::format::{Format, media_type_for};
use crate::formats::{a2a, common, mcp, nanda, oasf, ossa, simple};
use crate::input::Syntax;
use crate::obj::reinsert;
use crate::report::{Problem, ProblemSource};
use crate::schemas::{self, SchemaId};

/// What a codec is, for messages and defaults.
#[derive(Debug)]
pub struct About {
    /// The format the codec reads and writes.
    pub format: Format,
    /// The format's name in messages (`"MCP server.json"`).
    pub title: &'static str,
    /// The versions the codec reads, as shown in messages (ranges written `a … b`).
    pub versions: &'static [&'static str],
    /// The version written when a conversion target names none.
    pub default_version: &'static str,
}

/// A description format: how to recognise its documents, which versions exist and which schema
/// checks each, and how a document becomes an [`AgentRecord`] and back.
pub trait Codec: Send + Sync {
    /// What this codec is.
    fn about(&self) -> &'static About;

    /// The format this codec reads and writes.
    fn format(&self) -> Format {
        self.about().format
    }

    /// The format's name in messages.
    fn title(&self) -> &'static str {
        self.about().title
    }

    /// The version written when a conversion target names none.
    fn default_version(&self) -> &'static str {
        self.about().default_version
    }

    /// Recognises a document of this format by its keys (never by values it would have to
    /// trust): `None` when the document is not one, `Some(Err(reason))` when it claims to be one
    /// but cannot be read as one (a version marker that is not a string). A codec sees only
    /// documents no codec before it in [`CODECS`] claimed.
    fn detect(&self, doc: &Map<String, Value>) -> Option<Result<Detected, String>>;

    /// The JSON Schema a document of `version` is checked against; `Ok(None)` when the format
    /// publishes none for that version (then [`Codec::check`] does the structural check
    /// itself), `Err` for a version this codec does not read.
    fn schema_for(&self, version: &str, doc: &Value) -> Result<Option<SchemaId>, String>;

    /// Every schema problem of `doc` (pointers prefixed with `ptr`). The default checks the
    /// schema of [`Codec::schema_for`].
    fn check(&self, version: &str, doc: &Value, ptr: &str) -> Result<Vec<Problem>, String> {
        Ok(match self.schema_for(version, doc)? {
            Some(id) => schemas::check(id, doc, ptr),
            None => Vec::new(),
        })
    }

    /// JSON pointers (relative to the record) of the members that carry the record's name
    /// (and namespace) in documents of `version`. A schema violation there refuses the record
    /// whatever its kind: a name that breaks its format's grammar is one its own registry could
    /// not hold (the one rule, ARCHITECTURE.md). Versions are not among them: a version that
    /// is usable but not the schema's form (`v1.2.0`) is a warning.
    fn name_pointers(&self, version: &str) -> &'static [&'static str];

    /// Reads a document of `version` into a record. Problems found on the way (semantic rules)
    /// are pushed with pointers relative to the document; fields without a place in the record
    /// go to `extensions`.
    fn read(&self, doc: Value, version: &str, problems: &mut Vec<Problem>) -> AgentRecord;

    /// Builds the document for `rec`: everything but the record's kept extensions, which
    /// [`Codec::write`] puts back afterwards. `version` has been checked.
    fn build(
        &self,
        rec: &AgentRecord,
        version: &str,
        warnings: &mut Vec<Problem>,
    ) -> Result<Value, String>;

    /// Runs after the kept extensions are back in the document (A2A appends `x-ossa` here, so
    /// that a kept extension list is appended to rather than replaced).
    fn after_extensions(
        &self,
        _rec: &AgentRecord,
        _version: &str,
        _doc: &mut Value,
        _warnings: &mut Vec<Problem>,
    ) {
    }

    /// Writes `rec` as a document of `version`: every field the target cannot hold, and every
    /// field it had to derive, is a warning. Not meant to be overridden: implement
    /// [`Codec::build`].
    fn write(
        &self,
        rec: &AgentRecord,
        version: &str,
        warnings: &mut Vec<Problem>,
    ) -> Result<Value, String> {
        self.schema_for(version, &Value::Null)?;
        let mut doc = self.build(rec, version, warnings)?;
        let prefix = self.format().as_str();
        for ptr in reinsert(&mut doc, prefix, &rec.extensions) {
            warnings.push(Problem::warning(
                ProblemSource::Conversion,
                format!("{prefix}:{ptr}"),
                format!(
                    "kept field could not be placed back in the written {}",
                    self.title()
                ),
            ));
        }
        self.after_extensions(rec, version, &mut doc, warnings);
        common::foreign_extensions(rec, prefix, |k| self.places_foreign(k), warnings);
        Ok(doc)
    }

    /// Whether [`Codec::build`] places the kept field `key` of another format in what it
    /// writes (A2A takes the whitepaper manifest's embedded `agent-card`), so that it is not
    /// reported as dropped.
    fn places_foreign(&self, _key: &str) -> bool {
        false
    }

    /// The syntax documents are written in.
    fn syntax(&self) -> Syntax {
        Syntax::Json
    }

    /// The layer media type of a document of this format written in `syntax`.
    fn media_type(&self, _syntax: Syntax) -> &'static str {
        media_type_for(self.format())
    }

    /// The content identifier the format's own registry gives a document (the AGNTCY
    /// Directory's CID for OASF records), if it has one.
    fn content_id(&self, _doc: &Value) -> Option<String> {
        None
    }

    /// Where a record's context spec sits in documents of this format, for the pointer of
    /// Formula 2's warnings (`None`: the whole document).
    fn context_pointer(&self, _rec: &AgentRecord) -> Option<&'static str> {
        None
    }
}

/// Every codec, in detection order.
pub static CODECS: &[&dyn Codec] = &[
    &ossa::Ossa,
    &oasf::Oasf,
    &nanda::Nanda,
    &simple::Simple,
    &mcp::Mcp,
    &a2a::A2a,
];

/// The codec of `format` (`None` only for a format no codec is registered for, which the test
/// suite rules out).
pub fn codec(format: Format) -> Option<&'static dyn Codec> {
    CODECS.iter().copied().find(|c| c.format() == format)
}

/// The message for a version `codec` does not read.
pub fn unsupported(codec: &dyn Codec, version: &str) -> String {
    format!(
        "unsupported {} version {version:?} (supported: {})",
        codec.title(),
        codec.about().versions.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_has_exactly_one_codec_and_its_default_version_writes() {
        for f in Format::ALL {
            assert_eq!(
                CODECS.iter().filter(|c| c.format() == f).count(),
                1,
                "{f:?}"
            );
            let c = codec(f).unwrap_or_else(|| panic!("{f:?}"));
            assert!(
                c.schema_for(c.default_version(), &Value::Null).is_ok(),
                "{f:?}"
            );
            assert!(!c.about().versions.is_empty());
        }
    }
}
