//! The product's account flows: registration and approval, passwords, e-mailed
//! codes, support, sessions and the operator's user administration.

pub mod approval;
pub mod companies;
pub mod email_codes;
pub mod invitations;
pub mod members;
pub mod password;
pub mod reauth;
pub mod registration;
pub mod sessions;
pub mod support;
pub mod users;
