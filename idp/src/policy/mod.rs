//! Rules without storage of their own: which e-mail addresses and passwords are
//! accepted, and how guessing is throttled.

pub mod email;
pub mod password;
pub mod text;
pub mod throttle;
