//! The one query-string decoder of the server, for `/v2/` and `/api/v1/` alike.
//!
//! The rule: a query string is `application/x-www-form-urlencoded`, as browsers, Go's
//! `url.Values`, Python's `urlencode` and the `url` crate's `query_pairs_mut` write it. Pairs
//! are separated by `&`, name from value by the first `=`; `+` is a space and `%2B` a plus;
//! every `%` must start a two-digit hex escape and the decoded bytes must be UTF-8, or the
//! request is refused naming the parameter. This is also how distribution (Go's
//! `URL.Query()`) reads `?digest=`, `?mount=&from=` and `?n=&last=`.
//!
//! One exception, by parameter: the values of [`LITERAL_PLUS`] (`artifactType`, `digest`,
//! `mount`) are media types and digests, which cannot hold a space, so a `+` in them can only
//! mean a plus. Real clients send `?artifactType=application/spdx+json` unencoded (the ORAS
//! Python SDK's session does; the e2e suite drives it), and reading that as
//! `application/spdx json` would silently filter everything out.
//!
//! Decoding is `percent-encoding`'s; only the strictness check is written here, since the
//! WHATWG URL decoders (`form_urlencoded`, `percent-encoding`) pass malformed escapes through.

use std::borrow::Cow;

/// A query string that does not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadQuery {
    /// The parameter whose name or value is malformed, as far as it decodes.
    pub parameter: String,
    pub reason: String,
}

/// Parameters whose values keep `+` literal: media types and digests never contain a space.
pub const LITERAL_PLUS: &[&str] = &["artifactType", "digest", "mount"];

/// The `(name, value)` pairs of `raw` (the part of the URI after `?`; `None` when there is
/// none), in order, empty pieces (`a=1&&b=2`) skipped.
pub fn decode(raw: Option<&str>) -> Result<Vec<(String, String)>, BadQuery> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for piece in raw.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
        let name = component(k, true).map_err(|reason| BadQuery {
            parameter: lossy(k),
            reason: format!("parameter name {reason}"),
        })?;
        let plus_is_space = !LITERAL_PLUS.contains(&name.as_str());
        let value = component(v, plus_is_space).map_err(|reason| BadQuery {
            parameter: name.clone(),
            reason,
        })?;
        out.push((name, value));
    }
    Ok(out)
}

/// One name or value: `+` → space (when `plus_is_space`), then strict percent-decoding to UTF-8.
fn component(s: &str, plus_is_space: bool) -> Result<String, String> {
    let bytes = s.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'%' {
            let hex = bytes.get(i + 1..i + 3);
            if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                return Err(format!(
                    "has a malformed percent-escape at byte {i} (write a literal % as %25)"
                ));
            }
        }
    }
    let spaced: Cow<'_, [u8]> = if plus_is_space && bytes.contains(&b'+') {
        Cow::Owned(
            bytes
                .iter()
                .map(|b| if *b == b'+' { b' ' } else { *b })
                .collect(),
        )
    } else {
        Cow::Borrowed(bytes)
    };
    percent_encoding::percent_decode(&spaced)
        .decode_utf8()
        .map(Cow::into_owned)
        .map_err(|_| "is not UTF-8 once percent-decoded".to_owned())
}

/// A name for the error message even when it does not decode.
fn lossy(s: &str) -> String {
    let shown: String = form_urlencoded::parse(s.as_bytes())
        .next()
        .map(|(k, _)| k.into_owned())
        .unwrap_or_default();
    shown.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(raw: &str) -> Vec<(String, String)> {
        decode(Some(raw)).unwrap_or_else(|e| panic!("{raw}: {e:?}"))
    }

    fn p(k: &str, v: &str) -> (String, String) {
        (k.to_owned(), v.to_owned())
    }

    #[test]
    fn media_types_and_digests_keep_an_unencoded_plus() {
        assert_eq!(
            pairs("artifactType=application/spdx+json&q=a+b"),
            vec![p("artifactType", "application/spdx+json"), p("q", "a b")]
        );
        assert_eq!(
            pairs("digest=sha256:ab+c"),
            vec![p("digest", "sha256:ab+c")]
        );
        assert_eq!(pairs("mount=x+y"), vec![p("mount", "x+y")]);
    }

    #[test]
    fn plus_is_a_space_and_percent_2b_a_plus() {
        assert_eq!(pairs("q=invoice+pdf"), vec![p("q", "invoice pdf")]);
        assert_eq!(
            pairs("artifactType=application%2Fspdx%2Bjson"),
            vec![p("artifactType", "application/spdx+json")]
        );
        assert_eq!(pairs("a+b=c%20d"), vec![p("a b", "c d")]);
        assert_eq!(
            pairs("label=team%3Dfinance"),
            vec![p("label", "team=finance")]
        );
    }

    #[test]
    fn names_values_and_empty_pieces() {
        assert_eq!(decode(None), Ok(Vec::new()));
        assert_eq!(pairs(""), Vec::new());
        assert_eq!(
            pairs("n=10&&last=&flag&x=a=b"),
            vec![p("n", "10"), p("last", ""), p("flag", ""), p("x", "a=b")]
        );
        assert_eq!(pairs("q=caf%C3%A9"), vec![p("q", "café")]);
        assert_eq!(
            pairs("digest=sha256:abc"),
            vec![p("digest", "sha256:abc")],
            "a colon needs no escape"
        );
    }

    #[test]
    fn malformed_escapes_and_non_utf8_name_the_parameter() {
        for (raw, param) in [
            ("cursor=%%%", "cursor"),
            ("q=100%", "q"),
            ("q=%4", "q"),
            ("q=%zz", "q"),
            ("ok=1&last=%FF", "last"),
            ("q%=1", "q%"),
        ] {
            let e = decode(Some(raw)).err();
            assert_eq!(e.map(|e| e.parameter), Some(param.to_owned()), "{raw}");
        }
    }
}
