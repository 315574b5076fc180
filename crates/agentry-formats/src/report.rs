//! Validation outcomes: every problem at once, each with a JSON pointer and a plain reason.

use agentry_types::ContextBudget;
use serde::{Deserialize, Serialize};

use crate::format::FormatVersion;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The document is refused.
    Error,
    /// The document is accepted; the problem is worth knowing.
    Warning,
}

/// Which check found a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemSource {
    /// The bytes could not be parsed (syntax, encoding, limits).
    Parse,
    /// The format or its version could not be recognised.
    Detect,
    /// The format's own published JSON Schema.
    Schema,
    /// A rule the schema cannot express (semver, name grammar, URLs, taxonomy ids).
    Semantic,
    /// Formula 2 of the whitepaper (context budget).
    Context,
    /// A field the target format of a conversion cannot hold.
    Conversion,
    /// Registry coordinates of a pushed artifact.
    Registry,
}

/// One problem found in a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub severity: Severity,
    pub source: ProblemSource,
    /// RFC 6901 pointer into the document as submitted (`""` is the whole document).
    pub pointer: String,
    /// What is wrong, in plain words.
    pub reason: String,
}

impl Problem {
    pub fn error(
        source: ProblemSource,
        pointer: impl Into<String>,
        reason: impl Into<String>,
    ) -> Problem {
        Problem {
            severity: Severity::Error,
            source,
            pointer: pointer.into(),
            reason: reason.into(),
        }
    }

    pub fn warning(
        source: ProblemSource,
        pointer: impl Into<String>,
        reason: impl Into<String>,
    ) -> Problem {
        Problem {
            severity: Severity::Warning,
            source,
            pointer: pointer.into(),
            reason: reason.into(),
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let ptr = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, "{sev}: {ptr}: {}", self.reason)
    }
}

/// The outcome of validating one document (or one record of a multi-record document).
///
/// Serialises to JSON: the server returns it as the `detail` of a `MANIFEST_INVALID` error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationReport {
    /// True when no problem is an error.
    pub valid: bool,
    /// Format and version detected, when detection got that far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<FormatVersion>,
    /// Pointer of this record inside its document when the document holds several (the MCP
    /// seed file is an array of servers); empty otherwise.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub record_pointer: String,
    pub errors: Vec<Problem>,
    pub warnings: Vec<Problem>,
    /// Formula 2 evaluated on the record's context spec, when it declares a window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_budget: Option<Box<ContextBudget>>,
}

impl ValidationReport {
    /// Builds a report from problems in any order; errors and warnings are split and sorted
    /// by pointer so output is stable.
    pub fn from_problems(
        format: Option<FormatVersion>,
        problems: Vec<Problem>,
        context_budget: Option<ContextBudget>,
    ) -> ValidationReport {
        let (mut errors, mut warnings): (Vec<_>, Vec<_>) =
            problems.into_iter().partition(Problem::is_error);
        errors.sort_by(|a, b| a.pointer.cmp(&b.pointer));
        errors.dedup();
        warnings.sort_by(|a, b| a.pointer.cmp(&b.pointer));
        warnings.dedup();
        ValidationReport {
            valid: errors.is_empty(),
            format,
            record_pointer: String::new(),
            errors,
            warnings,
            context_budget: context_budget.map(Box::new),
        }
    }

    /// A report holding a single error.
    pub fn single(
        source: ProblemSource,
        pointer: impl Into<String>,
        reason: impl Into<String>,
    ) -> ValidationReport {
        ValidationReport::from_problems(None, vec![Problem::error(source, pointer, reason)], None)
    }

    /// Every problem, errors first.
    pub fn problems(&self) -> impl Iterator<Item = &Problem> {
        self.errors.iter().chain(self.warnings.iter())
    }

    /// The report as a pod run with `--strict-records` sees it: every warning of the record
    /// (Formula 2's advice aside, which is about the agent's design rather than its document)
    /// becomes an error naming it.
    pub fn into_strict(self) -> ValidationReport {
        let (advice, refused): (Vec<Problem>, Vec<Problem>) = self
            .warnings
            .into_iter()
            .partition(|w| w.source == ProblemSource::Context);
        let mut errors = self.errors;
        errors.extend(refused.into_iter().map(|mut w| {
            w.severity = Severity::Error;
            w.reason = format!(
                "{} (refused: this registry accepts no record with warnings)",
                w.reason
            );
            w
        }));
        errors.sort_by(|a, b| a.pointer.cmp(&b.pointer));
        ValidationReport {
            valid: errors.is_empty(),
            errors,
            warnings: advice,
            ..self
        }
    }
}

impl std::fmt::Display for ValidationReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fmt_name = self
            .format
            .as_ref()
            .map(|f| f.to_string())
            .unwrap_or_else(|| "unknown format".to_owned());
        write!(
            f,
            "{} ({fmt_name}): {} error(s), {} warning(s)",
            if self.valid { "valid" } else { "invalid" },
            self.errors.len(),
            self.warnings.len()
        )?;
        for p in self.problems() {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationReport {}
