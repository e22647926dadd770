//! The provider's product claims as openidconnect `AdditionalClaims`, and the profile
//! a portal shows.
//!
//! Which claim comes from where (see the provider's docs/api.md):
//! - ID token: `sid` (the provider's browser session), `company` (an object
//!   `{"id", "name", "domain"}`) and `roles` (the role names released to this
//!   portal's client_id, `super_admin` included) when those scopes were granted;
//! - UserInfo (OIDC Core §5.3): the same plus `support_level`, `support_phone` and
//!   `support_pin` for the `support` scope, which the provider releases only for
//!   support levels with phone support (by default plus and priority); without them
//!   the portal shows "no priority support".

use openidconnect::core::CoreGenderClaim;
use openidconnect::{AdditionalClaims, UserInfoClaims};
use serde::{Deserialize, Serialize};

/// The provider's claims beyond OIDC Core's standard ones. Every member is optional:
/// a claim is present only when its scope was granted.
#[derive(Clone, Default, Deserialize, Serialize)]
pub struct PortalClaims {
    /// The provider's browser session id (OIDC Back-Channel Logout 1.0 §2.1); ID token.
    pub sid: Option<String>,
    /// The user's company (`company` scope).
    pub company: Option<Company>,
    /// Role names released to this portal, such as `super_admin` (`roles` scope).
    pub roles: Option<Vec<String>>,
    /// none | standard | plus | priority (`support` scope; UserInfo only).
    pub support_level: Option<String>,
    /// The support phone number of the company's region (`support` scope; UserInfo only).
    pub support_phone: Option<String>,
    /// The user's support PIN, digits (`support` scope; UserInfo only).
    pub support_pin: Option<String>,
}

impl AdditionalClaims for PortalClaims {}

/// The `company` claim: `{"id", "name", "domain"}`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct Company {
    /// The provider's id of the company.
    pub id: String,
    /// The company's name.
    pub name: String,
    /// The company's primary e-mail domain.
    pub domain: String,
}

/// Debug output never shows the support PIN.
impl std::fmt::Debug for PortalClaims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortalClaims")
            .field("sid", &self.sid)
            .field("company", &self.company)
            .field("roles", &self.roles)
            .field("support_level", &self.support_level)
            .field("support_phone", &self.support_phone)
            .field("support_pin", &self.support_pin.as_ref().map(|_| "…"))
            .finish()
    }
}

/// UserInfo claims with the product claims.
pub type PortalUserInfo = UserInfoClaims<PortalClaims, CoreGenderClaim>;

/// What the portal pages show about the signed-in user; built once at login from
/// the verified ID token and UserInfo.
#[derive(Clone, Serialize)]
pub struct Profile {
    /// The provider's stable subject identifier.
    pub sub: String,
    /// A display name: `name`, else given + family name, else the username or e-mail.
    pub name: String,
    /// The e-mail address, if the `email` scope was granted.
    pub email: Option<String>,
    /// The company's name.
    pub company: Option<String>,
    /// The company's primary e-mail domain.
    pub company_domain: Option<String>,
    /// Role names released to this portal.
    pub roles: Vec<String>,
    /// Support information, when the `support` scope was granted.
    pub support: Option<Support>,
}

/// A company's support information as the Customer Portal shows it.
#[derive(Clone, Serialize)]
pub struct Support {
    /// The raw level: none | standard | plus | priority.
    pub level: String,
    /// The level for people: "Plus", "Priority", ...
    pub label: String,
    /// Whether the level includes the priority support line (Plus or Priority).
    pub priority: bool,
    /// The number to call.
    pub phone: Option<String>,
    /// The PIN that authenticates the call.
    pub pin: Option<String>,
}

impl Support {
    /// The support information from UserInfo claims; `None` without `support_level`.
    pub fn from_claims(claims: &PortalClaims) -> Option<Self> {
        let level = claims.support_level.clone()?;
        let label = match level.as_str() {
            "none" => "None".to_owned(),
            "standard" => "Standard".to_owned(),
            "plus" => "Plus".to_owned(),
            "priority" => "Priority".to_owned(),
            other => other.to_owned(),
        };
        Some(Self {
            priority: matches!(level.as_str(), "plus" | "priority"),
            level,
            label,
            phone: claims.support_phone.clone(),
            pin: claims.support_pin.clone(),
        })
    }
}

impl Profile {
    /// The profile from verified UserInfo claims, with the ID token's product claims
    /// as a fallback.
    pub fn from_claims(info: &PortalUserInfo, id_token_claims: &PortalClaims) -> Self {
        let extra = info.additional_claims();
        let company = extra.company.as_ref().or(id_token_claims.company.as_ref());
        let given = info
            .given_name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str());
        let family = info
            .family_name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str());
        let email = info.email().map(|e| e.as_str().to_owned());
        let name = info
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_owned())
            .filter(|n| !n.trim().is_empty())
            .or_else(|| {
                let joined = [given, family]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ");
                (!joined.trim().is_empty()).then_some(joined)
            })
            .or_else(|| info.preferred_username().map(|u| u.as_str().to_owned()))
            .or_else(|| email.clone())
            .unwrap_or_else(|| info.subject().as_str().to_owned());
        Self {
            sub: info.subject().as_str().to_owned(),
            name,
            email,
            company: company.map(|c| c.name.clone()),
            company_domain: company.map(|c| c.domain.clone()),
            roles: extra
                .roles
                .clone()
                .or_else(|| id_token_claims.roles.clone())
                .unwrap_or_default(),
            support: Support::from_claims(extra),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(l: &str) -> Support {
        Support::from_claims(&PortalClaims {
            support_level: Some(l.into()),
            ..PortalClaims::default()
        })
        .unwrap()
    }

    #[test]
    fn only_plus_and_priority_are_priority_support() {
        assert!(level("priority").priority);
        assert_eq!(level("priority").label, "Priority");
        assert!(level("plus").priority);
        assert_eq!(level("plus").label, "Plus");
        assert!(!level("standard").priority);
        assert!(!level("none").priority);
        assert!(Support::from_claims(&PortalClaims::default()).is_none());
    }

    #[test]
    fn the_company_claim_is_an_object() {
        let claims: PortalClaims = serde_json::from_value(serde_json::json!({
            "company": { "id": "c1", "name": "ACME Demo", "domain": "acme-demo.example" },
            "roles": ["super_admin", "customer-portal:licenses"],
        }))
        .unwrap();
        let company = claims.company.unwrap();
        assert_eq!(company.name, "ACME Demo");
        assert_eq!(company.domain, "acme-demo.example");
        assert_eq!(claims.roles.unwrap().len(), 2);
    }

    #[test]
    fn debug_hides_the_pin() {
        let claims = PortalClaims {
            support_pin: Some("123456".into()),
            ..PortalClaims::default()
        };
        assert!(!format!("{claims:?}").contains("123456"));
    }
}
