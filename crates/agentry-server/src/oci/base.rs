//! `GET /v2/`: the API version check.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

pub(crate) fn get() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        "{}",
    )
        .into_response()
}
