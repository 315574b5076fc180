//! The documents behind the Standard and Verified tiers' referrers, read strictly enough that a
//! referrer with the right `artifactType` but the wrong content does not count:
//!
//! - an SBOM is SPDX JSON (`spdxVersion` `SPDX-…`) or CycloneDX JSON (`bomFormat`
//!   `CycloneDX`);
//! - provenance is an in-toto Statement (v1 or v0.1; bare, or the payload of a DSSE envelope)
//!   whose `predicateType` is SLSA provenance (`https://slsa.dev/provenance/…`) and whose
//!   `subject` lists the judged manifest's digest;
//! - a compliance attestation is an in-toto Statement of any non-empty `predicateType` whose
//!   `subject` lists the manifest's digest.
//!
//! A DSSE envelope's own signatures are not checked here: the signed, logged statement of the
//! Verified tier is the Sigstore bundle (`transparency_log`); these checks bind the documents
//! to the manifest.

use agentry_types::Digest;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::Value;

/// Largest SBOM, provenance or compliance document read.
pub const MAX_DOCUMENT_BYTES: usize = 4 * 1024 * 1024;

const STATEMENT_TYPES: &[&str] = &[
    "https://in-toto.io/Statement/v1",
    "https://in-toto.io/Statement/v0.1",
];

fn json(bytes: &[u8], what: &str) -> Result<Value, String> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(format!(
            "{what}: {} bytes, more than {MAX_DOCUMENT_BYTES}",
            bytes.len()
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| format!("{what}: not JSON: {e}"))
}

/// Which SBOM format `bytes` is (`SPDX-2.3`, `CycloneDX 1.5`).
pub fn sbom_format(bytes: &[u8]) -> Result<String, String> {
    let v = json(bytes, "SBOM")?;
    if let Some(s) = v.get("spdxVersion").and_then(Value::as_str)
        && s.starts_with("SPDX-")
    {
        return Ok(s.to_owned());
    }
    if v.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        let spec = v.get("specVersion").and_then(Value::as_str).unwrap_or("?");
        return Ok(format!("CycloneDX {spec}"));
    }
    Err("SBOM: neither SPDX JSON (spdxVersion) nor CycloneDX JSON (bomFormat)".into())
}

/// The in-toto statement in `bytes` (bare or inside a DSSE envelope), checked to be about
/// `digest`; returns its `predicateType`.
pub fn statement_about(bytes: &[u8], digest: &Digest, what: &str) -> Result<String, String> {
    let mut v = json(bytes, what)?;
    if let Some(payload) = v.get("payload").and_then(Value::as_str) {
        let pt = v.get("payloadType").and_then(Value::as_str).unwrap_or("");
        if pt != "application/vnd.in-toto+json" {
            return Err(format!(
                "{what}: DSSE payloadType {pt:?} is not application/vnd.in-toto+json"
            ));
        }
        let raw = B64
            .decode(payload)
            .map_err(|_| format!("{what}: DSSE payload is not base64"))?;
        v = json(&raw, what)?;
    }
    let ty = v.get("_type").and_then(Value::as_str).unwrap_or("");
    if !STATEMENT_TYPES.contains(&ty) {
        return Err(format!("{what}: _type {ty:?} is not an in-toto Statement"));
    }
    let predicate_type = v
        .get("predicateType")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("{what}: no predicateType"))?
        .to_owned();
    let (alg, hex) = digest
        .to_string()
        .split_once(':')
        .map(|(a, h)| (a.to_owned(), h.to_owned()))
        .unwrap_or_default();
    let about = v
        .get("subject")
        .and_then(Value::as_array)
        .is_some_and(|subjects| {
            subjects.iter().any(|s| {
                s.get("digest")
                    .and_then(|d| d.get(&alg))
                    .and_then(Value::as_str)
                    .is_some_and(|h| h.eq_ignore_ascii_case(&hex))
            })
        });
    if !about {
        return Err(format!(
            "{what}: the statement's subject does not list {digest}"
        ));
    }
    Ok(predicate_type)
}

/// An SLSA provenance statement about `digest`.
pub fn provenance(bytes: &[u8], digest: &Digest) -> Result<String, String> {
    let pt = statement_about(bytes, digest, "provenance")?;
    if !pt.starts_with("https://slsa.dev/provenance/") {
        return Err(format!(
            "provenance: predicateType {pt:?} is not SLSA provenance (https://slsa.dev/provenance/…)"
        ));
    }
    Ok(pt)
}

/// A compliance statement about `digest`.
pub fn compliance(bytes: &[u8], digest: &Digest) -> Result<String, String> {
    statement_about(bytes, digest, "compliance")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is a test's failure report
mod tests {
    use super::*;

    fn statement(pt: &str, hex: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "agent", "digest": {"sha256": hex}}],
            "predicateType": pt,
            "predicate": {},
        }))
        .unwrap()
    }

    #[test]
    fn documents_are_bound_to_the_manifest() {
        let d = Digest::sha256(b"m");
        let hex = d.to_string()[7..].to_owned();
        let good = statement("https://slsa.dev/provenance/v1", &hex);
        assert_eq!(
            provenance(&good, &d).unwrap(),
            "https://slsa.dev/provenance/v1"
        );
        // In a DSSE envelope.
        let dsse = serde_json::to_vec(&serde_json::json!({
            "payloadType": "application/vnd.in-toto+json",
            "payload": B64.encode(&good),
            "signatures": [],
        }))
        .unwrap();
        assert!(provenance(&dsse, &d).is_ok());
        // About another artifact.
        let other = Digest::sha256(b"x");
        assert!(
            provenance(&good, &other)
                .unwrap_err()
                .contains("does not list")
        );
        // Not SLSA.
        let c = statement("https://acme.example/compliance/soc2", &hex);
        assert!(provenance(&c, &d).unwrap_err().contains("not SLSA"));
        assert!(compliance(&c, &d).is_ok());
        assert!(compliance(b"garbage", &d).unwrap_err().contains("not JSON"));
        assert!(compliance(b"{}", &d).unwrap_err().contains("_type"));

        assert_eq!(
            sbom_format(br#"{"spdxVersion":"SPDX-2.3"}"#).unwrap(),
            "SPDX-2.3"
        );
        assert_eq!(
            sbom_format(br#"{"bomFormat":"CycloneDX","specVersion":"1.5"}"#).unwrap(),
            "CycloneDX 1.5"
        );
        assert!(sbom_format(br#"{"hello":1}"#).is_err());
    }
}
