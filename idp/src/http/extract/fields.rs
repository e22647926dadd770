//! Reading a form's fields the way `/register` does: a missing field, a repeated
//! one, one that is too long or not UTF-8, and an e-mail address that is not one,
//! each get the field's own message (an i18n key) and a 400 on the same form, never
//! a "done" page. The verdict depends only on the input, never on whether an account
//! exists, so it reveals nothing.

use std::ops::RangeInclusive;

use crate::oauth::params::Params;
use crate::policy::email::{self, NormalizedEmail};

/// Field name → i18n key of what is wrong with it. The key `form` holds a problem
/// with a parameter that is not one of the form's fields.
pub use crate::ui::pages::FieldErrors;

/// The message for a missing field.
pub const REQUIRED: &str = "form.required";
/// The message for a repeated, oversized or non-UTF-8 field.
pub const UNREADABLE: &str = "form.unreadable";
/// The message for a verification code that is not 6 to 10 digits.
pub const CODE_FORMAT: &str = "code.format";
/// How many digits a verification code can have (`codes.digits`, any allowed value).
pub const CODE_DIGITS: RangeInclusive<usize> = 6..=10;
/// The message for a support PIN that is not 4 to 10 digits.
pub const PIN_FORMAT: &str = "admin_support.pin_format";
/// How many digits a support PIN can have (`support.pin_digits`, any allowed value:
/// PINs issued before a change of the setting keep their length).
pub const PIN_DIGITS: RangeInclusive<usize> = 4..=10;

/// The fields of one submitted form, with the errors found so far.
#[derive(Debug)]
pub struct Fields<'a> {
    params: &'a Params,
    errors: FieldErrors,
}

impl<'a> Fields<'a> {
    /// Starts reading `params`.
    pub fn new(params: &'a Params) -> Self {
        Self {
            params,
            errors: FieldErrors::new(),
        }
    }

    /// An optional field: `None` when absent or empty; an error when repeated,
    /// oversized or not UTF-8.
    pub fn optional(&mut self, name: &'static str) -> Option<&'a str> {
        if self.params.is_malformed(name) {
            self.errors.insert(name, UNREADABLE);
            return None;
        }
        self.params.get(name)
    }

    /// A required field (`""` after an error): missing, empty or only spaces is
    /// [`REQUIRED`], repeated, oversized or not UTF-8 is [`UNREADABLE`].
    pub fn required(&mut self, name: &'static str) -> &'a str {
        match self.optional(name) {
            Some(value) if !value.trim().is_empty() => value,
            Some(_) | None => {
                self.errors.entry(name).or_insert(REQUIRED);
                ""
            }
        }
    }

    /// A required e-mail address, normalised ([`email::normalize`]): its
    /// syntax error key otherwise.
    pub fn email(&mut self, name: &'static str) -> Option<NormalizedEmail> {
        let raw = self.required(name);
        if raw.is_empty() {
            return None;
        }
        match email::normalize(raw) {
            Ok(email) => Some(email),
            Err(rejection) => {
                self.errors.insert(name, rejection.message_key());
                None
            }
        }
    }

    /// A required field of ASCII digits, as many as `digits` allows (surrounding
    /// spaces allowed), else `message`.
    pub fn digits(
        &mut self,
        name: &'static str,
        digits: RangeInclusive<usize>,
        message: &'static str,
    ) -> &'a str {
        let value = self.required(name).trim();
        if value.is_empty() {
            return "";
        }
        if !digits.contains(&value.len()) || !value.bytes().all(|b| b.is_ascii_digit()) {
            self.errors.insert(name, message);
            return "";
        }
        value
    }

    /// The errors, including [`UNREADABLE`] under `form` for any other parameter that
    /// was repeated or unreadable, or `Ok` when there are none.
    ///
    /// # Errors
    /// The errors found.
    pub fn finish(mut self) -> Result<(), FieldErrors> {
        if self.errors.is_empty() && self.params.check().is_err() {
            self.errors.insert("form", UNREADABLE);
        }
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(body: &str) -> FieldErrors {
        let params = Params::parse(body.as_bytes(), 100);
        let mut fields = Fields::new(&params);
        fields.email("email");
        fields.digits("code", CODE_DIGITS, CODE_FORMAT);
        fields.finish().err().unwrap_or_default()
    }

    #[test]
    fn each_kind_of_bad_input_gets_its_fields_message() {
        assert_eq!(read("email=a@example.com&code=123456"), FieldErrors::new());
        assert_eq!(
            read("email=a@example.com&code=%20123456%20"),
            FieldErrors::new()
        );
        let e = read("code=123456");
        assert_eq!(e.get("email"), Some(&REQUIRED));
        let e = read("email=+++&code=123456");
        assert_eq!(e.get("email"), Some(&REQUIRED));
        let e = read("email=a@example.com&email=b@example.com&code=123456");
        assert_eq!(e.get("email"), Some(&UNREADABLE));
        let e = read("email=%ff%fe@example.com&code=123456");
        assert_eq!(e.get("email"), Some(&UNREADABLE));
        let e = read("email=not-an-address&code=12345");
        assert_eq!(
            read("email=a@example.com&code=1234567890"),
            FieldErrors::new()
        );
        assert_eq!(e.get("email"), Some(&"email.syntax"));
        assert_eq!(e.get("code"), Some(&CODE_FORMAT));
        let e = read("email=a@example.com&code=12345a");
        assert_eq!(e.get("code"), Some(&CODE_FORMAT));
        let e = read("email=a@example.com&code=123456&other=1&other=2");
        assert_eq!(e.get("form"), Some(&UNREADABLE));
    }
}
