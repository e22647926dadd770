//! Product claims behind their own scopes, beside the standard ones of
//! [`super::issue::user_claims`]:
//! - `company`: `company` (the company's name) and `company_domain`;
//! - `roles`: `roles`, an array of role names (`super_admin`, ...);
//! - `support` (UserInfo only, never in the ID token): `support_level`,
//!   `support_phone` (the region's number, when the company has a region) and
//!   `support_pin`, only for users of a company whose level includes phone support
//!   (`support.phone_levels`, default plus and priority). For other levels none of
//!   the three is released, not even `support_level`: the support line, the PIN and
//!   the company's level are what the user guide shows Plus and Priority customers
//!   only, and a missing `support_level` already tells a relying party "no phone
//!   support".

use serde_json::{json, Map, Value};

use super::scope::Scope;
use crate::account::support::{self, SupportError};
use crate::db::users::User;
use crate::state::AppState;

/// The product claims of `user` for `scope`; `with_support` adds the support claims
/// (UserInfo only).
///
/// # Errors
/// Database or decryption failures.
pub async fn product_claims(
    state: &AppState,
    user: &User,
    scope: &Scope,
    with_support: bool,
) -> Result<Map<String, Value>, SupportError> {
    let mut claims = Map::new();
    if scope.contains("roles") {
        claims.insert("roles".into(), json!(user.roles));
    }
    let wants_company = scope.contains("company");
    let wants_support = with_support && scope.contains("support");
    if !(wants_company || wants_support) {
        return Ok(claims);
    }
    let Some(company) = support::company(state, user).await? else {
        return Ok(claims);
    };
    if wants_company {
        claims.insert("company".into(), json!(company.name));
        claims.insert("company_domain".into(), json!(company.domain));
    }
    if wants_support {
        if let Some(info) = support::info(state, user).await? {
            claims.insert("support_level".into(), json!(info.level));
            if let Some(phone) = info.phone {
                claims.insert("support_phone".into(), json!(phone));
            }
            claims.insert("support_pin".into(), json!(info.pin));
        }
    }
    Ok(claims)
}
