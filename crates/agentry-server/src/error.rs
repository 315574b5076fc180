//! Turning failures into OCI error responses.
//!
//! Handlers return `Result<Response, ApiError>`. Every `ApiError` carries an
//! [`agentry_oci::OciError`] (code, message, detail) whose status comes from the one error table
//! in `agentry_oci::error`. Server faults are logged here and answered `UNKNOWN`/500 without
//! internal detail.

use agentry_oci::{OciError, OciErrorCode};
use agentry_store::StoreError;
use agentry_types::{DigestError, NameError};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

#[derive(Debug)]
pub struct ApiError(pub OciError);

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: OciErrorCode, message: impl Into<String>) -> ApiError {
        ApiError(OciError::new(code, message))
    }

    pub fn with_detail(self, detail: serde_json::Value) -> ApiError {
        ApiError(self.0.with_detail(detail))
    }

    pub fn code(&self) -> OciErrorCode {
        self.0.code
    }
}

impl From<OciError> for ApiError {
    fn from(e: OciError) -> Self {
        ApiError(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        use OciErrorCode as C;
        let code = match &e {
            StoreError::BlobUnknown(_) => C::BlobUnknown,
            StoreError::UploadUnknown => C::BlobUploadUnknown,
            StoreError::DigestMismatch { .. } => C::DigestInvalid,
            StoreError::RangeMismatch { .. } => C::RangeInvalid,
            StoreError::SizeMismatch { .. } => C::SizeInvalid,
            StoreError::TooLarge { .. } => C::TooLarge,
            StoreError::Body(_) => C::BlobUploadInvalid,
            _ => {
                tracing::error!(error = %e, "storage failure");
                return ApiError::new(C::Unknown, "internal storage error");
            }
        };
        ApiError::new(code, e.to_string())
    }
}

impl From<NameError> for ApiError {
    fn from(e: NameError) -> Self {
        let code = match e {
            NameError::InvalidDigest(_) => OciErrorCode::DigestInvalid,
            NameError::InvalidTag(_) => OciErrorCode::ManifestInvalid,
            _ => OciErrorCode::NameInvalid,
        };
        ApiError::new(code, e.to_string())
    }
}

impl From<DigestError> for ApiError {
    fn from(e: DigestError) -> Self {
        ApiError::new(OciErrorCode::DigestInvalid, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = (status, self.0.body()).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if self.0.code == OciErrorCode::Unauthorized {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"agentry\", charset=\"UTF-8\""),
            );
        }
        resp
    }
}
