//! Errors as the API answers them: a status and `{"error": "<one line>"}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    retry_after_seconds: Option<u64>,
    /// The request body was not read in full: the connection cannot carry another request.
    close_connection: bool,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        // One line, whatever the source said.
        let message: String = message.into();
        let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
        ApiError {
            status,
            message,
            retry_after_seconds: None,
            close_connection: false,
        }
    }

    pub fn unauthorized(message: &str) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, message)
    }

    pub fn forbidden(message: &str) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, message)
    }

    /// The same answer for an unknown id and another tenant's.
    pub fn snapshot_not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "no such snapshot")
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn too_large(limit: u64) -> ApiError {
        ApiError {
            close_connection: true,
            ..ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("archive larger than the server's {limit}-byte upload limit"),
            )
        }
    }

    pub fn too_many_requests(retry_after_seconds: u64) -> ApiError {
        ApiError {
            retry_after_seconds: Some(retry_after_seconds.max(1)),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate limit exceeded for this token",
            )
        }
    }

    /// Logs the detail (it may name files or databases) and answers a generic 500.
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %detail, "internal error");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response();
        let headers = response.headers_mut();
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = self.retry_after_seconds {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.close_connection {
            // hyper leaves it out of HTTP/2 responses, where it has no meaning.
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}
