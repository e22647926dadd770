//! The extractor of the pages' state-changing forms: a CSRF token of this browser
//! and an `Origin` of the issuer, so every handler gets the same checks; the fields
//! deserialized into the form's struct.

use axum::extract::{FromRef, FromRequest, Request};
use serde::de::value::{Error as DeError, MapDeserializer};
use serde::de::{DeserializeOwned, Deserializer, IntoDeserializer, Visitor};

use crate::http::browser;
use crate::http::error::PageError;
use crate::http::extract::fields::{FieldErrors, Fields};
use crate::http::extract::params::RequestParams;
use crate::oauth::params::Params;
use crate::state::AppState;

/// A POSTed form whose CSRF token belongs to this browser and whose `Origin`, if
/// sent, is the issuer's: `T` holds the fields that were sent once, readable and
/// within limits (a missing, repeated, oversized or non-UTF-8 field is absent, so
/// its struct field gets its default); [`FormChecks`] tells which were not, so each
/// gets its own message ([`Fields`]). `T` has only string fields (`String` or
/// `Option<String>`, with `#[serde(default)]`); `()` for a form without fields.
///
/// Rejections: 400 page for a body that is not a form (or too large, or with more
/// than `http.max_params` fields), 403 "Form expired" for a missing or wrong token,
/// the 500 page (logged) if the router lacks its cookie layer.
pub struct CsrfForm<T = ()>(pub T, pub FormChecks);

/// The submitted parameters behind a [`CsrfForm`], for the field checks only.
#[derive(Debug)]
pub struct FormChecks(Params);

impl FormChecks {
    /// Starts checking the form's fields.
    pub fn fields(&self) -> Fields<'_> {
        Fields::new(&self.0)
    }

    /// The well-formed value of field `name` (for fields named at run time, such as
    /// one checkbox per role); `None` if absent, repeated, oversized or not UTF-8.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.0.get(name)
    }

    /// The names of the well-formed fields whose value is `value`, sorted (every
    /// ticked checkbox of a group named at run time).
    pub fn names_with_value(&self, value: &str) -> Vec<&str> {
        self.0.names_with_value(value)
    }

    /// `None` if every parameter was readable; else [`UNREADABLE`] for each of
    /// `names` that was repeated, oversized or not UTF-8 (possibly none of them).
    ///
    /// [`UNREADABLE`]: crate::http::extract::fields::UNREADABLE
    pub fn unreadable(&self, names: &[&'static str]) -> Option<FieldErrors> {
        if self.0.check().is_ok() {
            return None;
        }
        Some(
            names
                .iter()
                .filter(|name| self.0.is_malformed(name))
                .map(|name| (*name, crate::http::extract::fields::UNREADABLE))
                .collect(),
        )
    }
}

impl<S, T> FromRequest<S> for CsrfForm<T>
where
    S: Send + Sync,
    AppState: FromRef<S>,
    T: DeserializeOwned,
{
    type Rejection = PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let app = AppState::from_ref(state);
        let (mut parts, body) = req.into_parts();
        let cookies = super::cookies(&mut parts, state).await?;
        let headers = parts.headers.clone();
        let RequestParams(params) =
            RequestParams::from_request(Request::from_parts(parts, body), state)
                .await
                .map_err(|_| PageError::BadRequest("error.params"))?;
        if params.too_many() {
            return Err(PageError::BadRequest(
                crate::http::extract::params::TOO_MANY_PARAMS,
            ));
        }
        if !browser::check_form(&app, &cookies, &headers, params.get("csrf_token")) {
            return Err(PageError::Forbidden);
        }
        let form = T::deserialize(Wellformed(&params))
            .map_err(|e| PageError::Internal(anyhow::anyhow!("form struct: {e}")))?;
        Ok(Self(form, FormChecks(params)))
    }
}

/// Deserializes a struct from the well-formed values of [`Params`] (by the
/// struct's field names); `()` from anything.
struct Wellformed<'a>(&'a Params);

impl<'de> Deserializer<'de> for Wellformed<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let params = self.0;
        let values = fields
            .iter()
            .filter_map(|name| params.get(name).map(|value| (*name, Value(value))));
        visitor.visit_map(MapDeserializer::new(values))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

/// One field's value: a string, also as `Some` of an `Option`.
struct Value<'a>(&'a str);

impl<'de> IntoDeserializer<'de, DeError> for Value<'_> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> Deserializer<'de> for Value<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_string(self.0.to_owned())
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_some(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(default)]
    struct Form {
        code: String,
        new_password: String,
        request_id: Option<String>,
    }

    fn read(body: &str) -> Form {
        let params = Params::parse(body.as_bytes(), 100);
        Form::deserialize(Wellformed(&params)).unwrap_or_default()
    }

    #[test]
    fn only_wellformed_fields_are_read() {
        let form = read("code=123456&new_password=a+b&request_id=r1&other=x");
        assert_eq!(
            form,
            Form {
                code: "123456".into(),
                new_password: "a b".into(),
                request_id: Some("r1".into()),
            }
        );
        let form = read("code=1&code=2&new_password=%ff&request_id=");
        assert_eq!(form, Form::default());
        assert!(<()>::deserialize(Wellformed(&Params::parse(b"a=1", 100))).is_ok());
    }
}
