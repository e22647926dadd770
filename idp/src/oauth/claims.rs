//! Product claims behind their own scopes, beside the standard ones of
//! [`super::issue::user_claims`]:
//! - `company`: `company`, an object `{"id", "name", "domain"}` (the company's id,
//!   name and primary e-mail domain), for users of a company;
//! - `roles`: `roles`, a flat array of the user's role names released to the
//!   requesting client: `super_admin` (built in, released to every client) and each
//!   catalogue role whose `clients` list the client_id (`[[roles]]`, config::roles);
//!   a role the catalogue no longer has is dropped;
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
use crate::config::Config;
use crate::db::users::{Role, User};
use crate::state::AppState;

/// The product claims of `user` for `scope` in a token or UserInfo answer for
/// `client_id` (the ID token's `aud`, the access token's `client_id`);
/// `with_support` adds the support claims (UserInfo only). They are read from the
/// current user and company rows, so a change shows at the next refresh or login.
///
/// # Errors
/// Database or decryption failures.
pub async fn product_claims(
    state: &AppState,
    user: &User,
    scope: &Scope,
    client_id: &str,
    with_support: bool,
) -> Result<Map<String, Value>, SupportError> {
    let mut claims = Map::new();
    if scope.contains("roles") {
        claims.insert(
            "roles".into(),
            json!(released_roles(&state.config, &user.roles, client_id)),
        );
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
        claims.insert(
            "company".into(),
            json!({ "id": company.id, "name": company.name, "domain": company.domain }),
        );
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

/// The names of `roles` released to `client_id`: `super_admin` first, then by name
/// each catalogue role whose `clients` contain `client_id`; names the catalogue no
/// longer has are dropped.
pub fn released_roles<'a>(config: &Config, roles: &'a [Role], client_id: &str) -> Vec<&'a str> {
    let mut released: Vec<&Role> = roles
        .iter()
        .filter(|role| match role {
            Role::SuperAdmin => true,
            Role::Named(name) => config.role(name).is_some_and(|r| r.releases_to(client_id)),
        })
        .collect();
    released.sort();
    released.dedup();
    released.into_iter().map(Role::as_str).collect()
}
