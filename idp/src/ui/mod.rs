//! What users read: the embedded templates and the translated texts.

pub mod i18n;
pub mod pages;
pub mod templates;
