//! The AGNTCY Directory record CID, computed exactly as the Directory computes it.
//!
//! The Directory (agntcy/dir, `api/core/v1/record.go`, `Record.Marshal` and `GetCid`) marshals
//! the record with Go's `encoding/json`, unmarshals it into `interface{}` and marshals it again,
//! then hashes the bytes with SHA2-256 and wraps the digest as a CIDv1 with codec `0x01` and a
//! sha2-256 multihash, printed in base32. Go's encoder fixes the canonical form:
//!
//! - object keys sorted by bytes, no whitespace;
//! - every number went through `float64`: integers print without a fraction, `1.0` prints as
//!   `1`, magnitudes below 1e-6 or from 1e21 up print in exponent form (`1e+21`, `1e-7`);
//! - strings escape `"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`, other control characters as
//!   `\u00XX`, and (HTML safety) `<`, `>`, `&`, U+2028 and U+2029 as `\u003c` … `\u2029`.
//!
//! The test vectors are the Directory's own e2e expectations for its fixtures
//! `record_070.json`, `record_080_v4.json` and `record_100.json`.

use std::fmt::Write as _;

use agentry_types::{Digest, DigestAlgorithm};
use cid::Cid;
use multihash::Multihash;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// Multicodec the Directory puts in its CIDs (`cid.NewCidV1(1, …)`).
const DIR_CODEC: u64 = 0x01;
/// Multihash code of sha2-256.
const SHA2_256: u64 = 0x12;

/// The canonical bytes the Directory hashes for `record`.
pub fn canonical_json(record: &Value) -> Vec<u8> {
    let mut out = String::with_capacity(1024);
    write_value(&mut out, record);
    out.into_bytes()
}

/// The Directory CID (`baeareia…`) of `record`.
pub fn record_cid(record: &Value) -> String {
    cid_of_bytes(&canonical_json(record))
}

/// CIDv1 (codec 0x01, sha2-256) of already-canonical bytes.
pub fn cid_of_bytes(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    // A 32-byte digest always fits the 64-byte multihash.
    match Multihash::<64>::wrap(SHA2_256, &digest) {
        Ok(mh) => Cid::new_v1(DIR_CODEC, mh).to_string(),
        Err(_) => String::new(),
    }
}

/// The Directory CID naming the blob whose OCI digest is `digest` (the Directory's
/// `ConvertDigestToCID`): `None` unless the digest is sha256, the only hash its CIDs carry.
pub fn cid_of_digest(digest: &Digest) -> Option<String> {
    if digest.algorithm() != DigestAlgorithm::Sha256 {
        return None;
    }
    let hex = digest.hex().as_bytes();
    let bytes: Vec<u8> = hex
        .chunks(2)
        .map(|pair| {
            let s = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(s, 16).ok()
        })
        .collect::<Option<_>>()?;
    let mh = Multihash::<64>::wrap(SHA2_256, &bytes).ok()?;
    Some(Cid::new_v1(DIR_CODEC, mh).to_string())
}

/// The OCI digest a Directory CID names (the Directory's `ConvertCIDToDigest`): `None` for a
/// string that is not a CID, or a CID of another codec or hash.
pub fn digest_of_cid(cid: &str) -> Option<Digest> {
    let c = Cid::try_from(cid).ok()?;
    let mh = c.hash();
    if c.codec() != DIR_CODEC || mh.code() != SHA2_256 || mh.digest().len() != 32 {
        return None;
    }
    let mut hex = String::with_capacity(64);
    for b in mh.digest() {
        let _ = write!(hex, "{b:02x}");
    }
    format!("sha256:{hex}").parse().ok()
}

fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            // Integers that float64 represents exactly print the same as Go's float encoding.
            (Some(u), _) if u < (1 << 53) => {
                let _ = write!(out, "{u}");
            }
            (_, Some(i)) if i.unsigned_abs() < (1 << 53) => {
                let _ = write!(out, "{i}");
            }
            _ => write_number(out, n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => write_string(out, s),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, x);
            }
            out.push(']');
        }
        Value::Object(m) => {
            // Sort explicitly: serde_json's map order depends on crate features elsewhere.
            let mut keys: Vec<&String> = m.keys().collect();
            if !keys.is_sorted_by(|a, b| a.as_bytes() <= b.as_bytes()) {
                keys.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            }
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, k);
                out.push(':');
                if let Some(x) = m.get(k) {
                    write_value(out, x);
                }
            }
            out.push('}');
        }
    }
}

/// Go's `encoding/json` float64 encoding (`strconv.AppendFloat(f, 'f' or 'e', -1, 64)` plus
/// the exponent clean-up `e-07` → `e-7`).
fn write_number(out: &mut String, f: f64) {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Rust's `{:e}` gives the shortest round-trip mantissa, like Go's -1 precision.
        let s = format!("{f:e}");
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exp),
        };
        // Go prints at least two exponent digits, then drops the leading zero of a negative
        // single-digit exponent only.
        let digits = if digits.len() < 2 && sign == '+' {
            format!("0{digits}")
        } else {
            digits.to_owned()
        };
        let _ = write!(out, "{mant}e{sign}{digits}");
    } else {
        // Rust's Display is the shortest round-trip decimal without exponent, as Go's 'f'.
        let _ = write!(out, "{f}");
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    let plain = s
        .bytes()
        .all(|b| b >= 0x20 && !matches!(b, b'"' | b'\\' | b'<' | b'>' | b'&' | 0xe2));
    if plain {
        // No byte needs escaping (0xe2 leads U+2028/U+2029): copy the whole string.
        out.push_str(s);
        out.push('"');
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn go_encoding_details() {
        let v = json!({"b": 1.0, "a": "<&>\u{2028}\n\u{1}", "c": [1e21, 1e-7, 0.5, -0.0, 123456789012.0, 1.5e300]});
        let s = String::from_utf8(canonical_json(&v)).unwrap_or_default();
        assert_eq!(
            s,
            r#"{"a":"\u003c\u0026\u003e\u2028\n\u0001","b":1,"c":[1e+21,1e-7,0.5,-0,123456789012,1.5e+300]}"#
        );
    }

    #[test]
    fn cid_shape() {
        let c = record_cid(&json!({"name": "x"}));
        assert!(c.starts_with("baeare"), "{c}");
        assert_eq!(c.len(), 59);
    }
}
