//! A Super Admin's company pages: Users (members, invitations, the invite form and
//! the member actions) and Activity (the company's audit trail, with CSV export).
//! Every handler takes the [`SuperAdmin`] extractor, so it acts only on the Super
//! Admin's own company; an id of another company's user or invitation answers 404
//! like an id that does not exist.
//!
//! [`SuperAdmin`]: crate::http::extract::signed_in::SuperAdmin

pub mod activity;
pub mod users;

use crate::account::invitations::{role_label, InviteError};
use crate::account::members::MemberError;
use crate::db::users::Role;
use crate::state::AppState;
use crate::ui::pages::RoleOption;
use axum::http::StatusCode;

/// The roles a Super Admin can grant: `super_admin`, then the catalogue, each
/// checked if `has` holds it.
pub(crate) fn role_options(
    state: &AppState,
    lang: &str,
    has: &[Role],
    with_admin: bool,
) -> Vec<RoleOption> {
    let mut options = Vec::new();
    if with_admin {
        options.push(RoleOption {
            name: Role::SUPER_ADMIN.to_owned(),
            label: crate::ui::i18n::text(lang, "company.super_admin", &[]),
            description: crate::ui::i18n::text(lang, "company.super_admin_description", &[]),
            checked: has.contains(&Role::SuperAdmin),
        });
    }
    for def in &state.config.roles {
        options.push(RoleOption {
            name: def.name.clone(),
            label: def.label.get(lang).to_owned(),
            description: def.description.get(lang).to_owned(),
            checked: has.iter().any(|r| r.as_str() == def.name),
        });
    }
    options
}

/// The labels of `roles` in `lang`.
pub(crate) fn role_labels(state: &AppState, lang: &str, roles: &[Role]) -> Vec<String> {
    roles.iter().map(|r| role_label(state, r, lang)).collect()
}

/// A refused member action: its status and message key; `None` for internal
/// failures (the caller's `?` logs them) and throttling (the 429 page).
pub(crate) fn member_refusal(e: &MemberError) -> Option<(StatusCode, &'static str)> {
    Some(match e {
        MemberError::NotFound => (StatusCode::NOT_FOUND, "company.not_found"),
        MemberError::UnknownRole(_) => (StatusCode::BAD_REQUEST, "company.unknown_role"),
        MemberError::LastSuperAdmin => (StatusCode::CONFLICT, "company.last_super_admin"),
        MemberError::Reauthenticate => (StatusCode::FORBIDDEN, "company.reauthenticate"),
        MemberError::Throttled(_) | MemberError::Internal(_) => return None,
    })
}

/// A refused invitation action: its status, the field it is about (`form` when
/// none) and message key; `None` for internal failures.
pub(crate) fn invite_refusal(e: &InviteError) -> Option<(StatusCode, &'static str, &'static str)> {
    Some(match e {
        InviteError::NotFound => (StatusCode::NOT_FOUND, "form", "company.not_found"),
        InviteError::InvalidEmail(r) => (StatusCode::BAD_REQUEST, "email", r.message_key()),
        InviteError::ForeignDomain => (StatusCode::BAD_REQUEST, "email", "company.foreign_domain"),
        InviteError::UnknownRole(_) => (StatusCode::BAD_REQUEST, "form", "company.unknown_role"),
        InviteError::SuperAdminRole => (
            StatusCode::BAD_REQUEST,
            "form",
            "company.super_admin_invite",
        ),
        InviteError::InvalidText(field, key) => (StatusCode::BAD_REQUEST, field, key),
        // The pages never set a portal address; only the CLI does.
        InviteError::InvalidPortalUrl => (StatusCode::BAD_REQUEST, "form", "form.unreadable"),
        InviteError::NotPending => (StatusCode::CONFLICT, "form", "company.not_pending"),
        InviteError::Throttled => (StatusCode::TOO_MANY_REQUESTS, "form", "company.too_many"),
        InviteError::Internal(_) => return None,
    })
}
