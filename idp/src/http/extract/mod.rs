//! Extractors: what a handler gets from a request before it runs. Each refuses bad
//! input with the answer its audience expects (a protocol error, or a page).

pub mod client_ip;
pub mod csrf_form;
pub mod fields;
pub mod params;
pub mod signed_in;
