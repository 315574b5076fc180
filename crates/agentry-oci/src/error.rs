//! The OCI error codes, declared once.
//!
//! Every error the `/v2/` API answers comes from [`OciErrorCode`]: the code string, the HTTP
//! status and the default message live in one table (`OciErrorCode::spec`). Handlers build an
//! [`OciError`] with a specific message and optional JSON `detail`.

use serde::Serialize;
use serde_json::Value;

/// The error codes of the distribution spec (plus `UNKNOWN` for server faults).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OciErrorCode {
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestUnknown,
    NameInvalid,
    NameUnknown,
    SizeInvalid,
    Unauthorized,
    Denied,
    Unsupported,
    TooManyRequests,
    /// `n` is not a number (distribution's code; the spec allows registries to add codes).
    PaginationNumberInvalid,
    /// Range of an upload chunk does not continue the upload (416).
    RangeInvalid,
    /// Body above the configured limit (413).
    TooLarge,
    /// A fault on our side (500); never used for bad input.
    Unknown,
}

impl OciErrorCode {
    /// (code string, HTTP status, default message): the one table.
    pub const fn spec(self) -> (&'static str, u16, &'static str) {
        use OciErrorCode::*;
        match self {
            BlobUnknown => ("BLOB_UNKNOWN", 404, "blob unknown to registry"),
            BlobUploadInvalid => ("BLOB_UPLOAD_INVALID", 400, "blob upload invalid"),
            BlobUploadUnknown => (
                "BLOB_UPLOAD_UNKNOWN",
                404,
                "blob upload unknown to registry",
            ),
            DigestInvalid => (
                "DIGEST_INVALID",
                400,
                "provided digest did not match uploaded content",
            ),
            ManifestBlobUnknown => (
                "MANIFEST_BLOB_UNKNOWN",
                400,
                "manifest references a manifest or blob unknown to registry",
            ),
            ManifestInvalid => ("MANIFEST_INVALID", 400, "manifest invalid"),
            ManifestUnknown => ("MANIFEST_UNKNOWN", 404, "manifest unknown to registry"),
            NameInvalid => ("NAME_INVALID", 400, "invalid repository name"),
            NameUnknown => ("NAME_UNKNOWN", 404, "repository name not known to registry"),
            SizeInvalid => (
                "SIZE_INVALID",
                400,
                "provided length did not match content length",
            ),
            Unauthorized => ("UNAUTHORIZED", 401, "authentication required"),
            Denied => ("DENIED", 403, "requested access to the resource is denied"),
            Unsupported => ("UNSUPPORTED", 405, "the operation is unsupported"),
            TooManyRequests => ("TOOMANYREQUESTS", 429, "too many requests"),
            PaginationNumberInvalid => (
                "PAGINATION_NUMBER_INVALID",
                400,
                "invalid number of results requested",
            ),
            RangeInvalid => (
                "BLOB_UPLOAD_INVALID",
                416,
                "chunk range does not continue the upload",
            ),
            TooLarge => ("SIZE_INVALID", 413, "content exceeds the size limit"),
            Unknown => ("UNKNOWN", 500, "unknown error"),
        }
    }

    pub const fn code(self) -> &'static str {
        self.spec().0
    }

    pub const fn status(self) -> u16 {
        self.spec().1
    }
}

/// An error as the API answers it.
#[derive(Debug, Clone, PartialEq)]
pub struct OciError {
    pub code: OciErrorCode,
    pub message: String,
    pub detail: Option<Value>,
}

#[derive(Serialize)]
struct WireError<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a Value>,
}

#[derive(Serialize)]
struct WireErrors<'a> {
    errors: [WireError<'a>; 1],
}

impl OciError {
    pub fn new(code: OciErrorCode, message: impl Into<String>) -> OciError {
        OciError {
            code,
            message: message.into(),
            detail: None,
        }
    }

    /// The code's default message.
    pub fn of(code: OciErrorCode) -> OciError {
        OciError::new(code, code.spec().2)
    }

    pub fn with_detail(mut self, detail: Value) -> OciError {
        self.detail = Some(detail);
        self
    }

    /// The JSON body: `{"errors":[{"code","message","detail"}]}`.
    pub fn body(&self) -> Vec<u8> {
        let wire = WireErrors {
            errors: [WireError {
                code: self.code.code(),
                message: &self.message,
                detail: self.detail.as_ref(),
            }],
        };
        // Serialising plain strings and an existing Value cannot fail.
        serde_json::to_vec(&wire).unwrap_or_default()
    }
}

impl std::fmt::Display for OciError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.code(), self.message)
    }
}

impl std::error::Error for OciError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_spec_identifiers_and_body_is_spec_json() {
        let all = [
            OciErrorCode::BlobUnknown,
            OciErrorCode::BlobUploadInvalid,
            OciErrorCode::BlobUploadUnknown,
            OciErrorCode::DigestInvalid,
            OciErrorCode::ManifestBlobUnknown,
            OciErrorCode::ManifestInvalid,
            OciErrorCode::ManifestUnknown,
            OciErrorCode::NameInvalid,
            OciErrorCode::NameUnknown,
            OciErrorCode::SizeInvalid,
            OciErrorCode::Unauthorized,
            OciErrorCode::Denied,
            OciErrorCode::Unsupported,
            OciErrorCode::TooManyRequests,
            OciErrorCode::PaginationNumberInvalid,
            OciErrorCode::RangeInvalid,
            OciErrorCode::TooLarge,
            OciErrorCode::Unknown,
        ];
        for c in all {
            let (code, status, msg) = c.spec();
            assert!(code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'));
            assert!((400..600).contains(&status));
            assert!(!msg.is_empty());
        }
        let e = OciError::new(OciErrorCode::NameInvalid, "bad name")
            .with_detail(serde_json::json!({"name": "A"}));
        let v: Value = serde_json::from_slice(&e.body()).unwrap_or_default();
        assert_eq!(v["errors"][0]["code"], "NAME_INVALID");
        assert_eq!(v["errors"][0]["detail"]["name"], "A");
    }
}
