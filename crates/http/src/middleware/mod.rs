//! Cross-cutting request handling, applied by the server around every route.

mod json_errors;
mod panics;
mod request_id;

pub use json_errors::json_error_fallback;
pub use panics::catch_panics;
pub use request_id::request_id;
