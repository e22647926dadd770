//! `/company/users`: the company's members and pending invitations, the invite form,
//! and the member and invitation actions. A successful action redirects back with a
//! notice naming the member or invitation by id (the page looks the address up, so
//! no text from the URL reaches the page); a refusal renders the page with the
//! message and its status (400, 403, 404, 409 or 429).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_cookies::Cookies;

use super::{invite_refusal, member_refusal, role_labels, role_options};
use crate::account::invitations::{self, Invite};
use crate::account::members::{self, Acting};
use crate::db::users::User;
use crate::db::{companies, invitations as db_invitations, members as db_members};
use crate::http::browser;
use crate::http::error::{page, PageError};
use crate::http::extract::csrf_form::{CsrfForm, FormChecks};
use crate::http::extract::signed_in::SuperAdmin;
use crate::http::lang;
use crate::http::pages::profile::local_time;
use crate::state::AppState;
use crate::ui::i18n;
use crate::ui::pages::{CompanyUsersPage, InvitationView, InviteFormView, MemberView, PageBase};

const USERS: &str = "/company/users";

/// Query of the Users page: the notice of the action just done and the id of its
/// member or invitation.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UsersQuery {
    notice: Option<String>,
    id: Option<String>,
}

/// `GET /company/users`.
pub async fn show(
    State(state): State<AppState>,
    cookies: Cookies,
    me: SuperAdmin,
    query: Result<Query<UsersQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let mut view = users_page(&state, &cookies, &me.user, &me.acting).await?;
    let q = query.map(|Query(q)| q).unwrap_or_default();
    view.notice = notice(
        &state,
        &me.acting,
        &view,
        q.notice.as_deref(),
        q.id.as_deref(),
    )
    .await?;
    Ok(page(StatusCode::OK, &view))
}

/// The notice of a finished action, naming the address of member or invitation
/// `id` of this company (nothing for an unknown notice or id).
async fn notice(
    state: &AppState,
    acting: &Acting,
    view: &CompanyUsersPage,
    notice: Option<&str>,
    id: Option<&str>,
) -> Result<Option<String>, PageError> {
    let (Some(notice), Some(id)) = (notice, id) else {
        return Ok(None);
    };
    let key = match notice {
        "invited" => "company.invited",
        "resent" => "company.resent",
        "revoked" => "company.revoked",
        "roles" => "company.roles_saved",
        "disabled" => "company.disabled_notice",
        "enabled" => "company.enabled_notice",
        "removed" => "company.removed_notice",
        _ => return Ok(None),
    };
    let company = acting.company_id.as_deref();
    let email = match notice {
        "invited" | "resent" | "revoked" => db_invitations::find(state.db.pool(), company, id)
            .await?
            .map(|i| i.email),
        "removed" => crate::db::audit::list(
            state.db.pool(),
            &crate::db::audit::Filter {
                company_id: company,
                user_id: Some(id),
                action: Some("member.removed"),
                limit: 1,
            },
        )
        .await?
        .into_iter()
        .next()
        .and_then(|e| serde_json::from_str::<serde_json::Value>(&e.details).ok())
        .and_then(|d| d.get("email")?.as_str().map(str::to_owned)),
        _ => db_members::find(state.db.pool(), company, id)
            .await?
            .map(|u| u.email),
    };
    Ok(email.map(|email| i18n::text(view.base.lang, key, &[("email", &email)])))
}

/// The Users page of `me`'s company, without notice or error.
async fn users_page(
    state: &AppState,
    cookies: &Cookies,
    me: &User,
    acting: &Acting,
) -> Result<CompanyUsersPage, PageError> {
    let lang = lang::preferred(me.locale.as_deref(), None);
    let company_id = acting.company_id.as_deref().unwrap_or_default();
    let company = companies::find(state.db.pool(), company_id)
        .await?
        .ok_or(PageError::NotFound)?;
    let zone = me.zoneinfo.as_deref();
    let members = db_members::list(state.db.pool(), company_id)
        .await?
        .into_iter()
        // Provider operators are managed by operators only (account::members).
        .filter(|u| !u.is_operator)
        .map(|u| MemberView {
            roles: role_labels(state, lang, &u.roles),
            options: role_options(state, lang, &u.roles, true),
            last_login: u
                .last_login_at
                .map(|t| local_time(t, zone))
                .unwrap_or_default(),
            me: u.id == me.id,
            name: u.display_name(),
            email: u.email,
            disabled: u.disabled,
            id: u.id,
        })
        .collect();
    let now = state.clock.now();
    let invitations = db_invitations::pending(state.db.pool(), Some(company_id))
        .await?
        .into_iter()
        .map(|i| InvitationView {
            roles: role_labels(state, lang, &i.roles),
            expires: local_time(i.expires_at, zone),
            expired: i.expires_at <= now,
            renewal_asked: i.renewal_asked_at.is_some(),
            id: i.id,
            email: i.email,
            invited_by: i.invited_by_name,
        })
        .collect();
    let csrf_token = browser::csrf_token(state, &browser::browser_id(state, cookies));
    Ok(CompanyUsersPage {
        base: PageBase::new(lang, "company.users_title", csrf_token),
        company: company.name,
        domains: companies::domains(state.db.pool(), company_id).await?,
        members,
        invitations,
        invite_roles: role_options(state, lang, &[], false),
        invite: InviteFormView::default(),
        notice: None,
        error: None,
        errors: Default::default(),
    })
}

/// The roles ticked in a form: every `role.<name>=on`, whether or not `<name>` is
/// offered, so that a forged name is refused by the catalogue check (400 naming it)
/// rather than silently dropped.
fn ticked_roles(checks: &FormChecks) -> Vec<String> {
    checks
        .names_with_value("on")
        .into_iter()
        .filter_map(|field| field.strip_prefix("role."))
        .map(str::to_owned)
        .collect()
}

fn done(notice: &str, id: &str) -> Response {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("notice", notice)
        .append_pair("id", id)
        .finish();
    Redirect::to(&format!("{USERS}?{query}")).into_response()
}

/// Renders the Users page with the refusal `key` at `status`.
async fn refused(
    state: &AppState,
    cookies: &Cookies,
    me: &SuperAdmin,
    status: StatusCode,
    key: &'static str,
) -> Result<Response, PageError> {
    let mut view = users_page(state, cookies, &me.user, &me.acting).await?;
    view.error = Some(message(state, view.base.lang, key));
    Ok(page(status, &view))
}

/// The words of `key`.
fn message(_state: &AppState, lang: &str, key: &str) -> String {
    i18n::text(lang, key, &[])
}

/// The invite form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct InviteForm {
    email: String,
    given_name: String,
    family_name: String,
}

/// `POST /company/invitations`: invites a colleague (e-mail, optional names, ticked
/// roles).
pub async fn invite(
    State(state): State<AppState>,
    cookies: Cookies,
    me: SuperAdmin,
    CsrfForm(form, checks): CsrfForm<InviteForm>,
) -> Result<Response, PageError> {
    let company_id = me.acting.company_id.clone().unwrap_or_default();
    let invite = Invite {
        email: form.email.clone(),
        given_name: form.given_name.clone(),
        family_name: form.family_name.clone(),
        roles: ticked_roles(&checks),
        // The mail and the accept page speak the language of the inviter's page
        // (their own setting, else their browser's).
        locale: Some(lang::preferred(me.user.locale.as_deref(), None).to_owned()),
        portal_url: None,
    };
    // A repeated, oversized or non-UTF-8 field says so (on the field, or for the
    // form when it was a role checkbox), rather than "required".
    let unreadable = checks.unreadable(&["email", "given_name", "family_name"]);
    let mut fields = checks.fields();
    fields.required("email");
    let missing = fields.finish().err();
    let result = match (&unreadable, missing) {
        (None, None) => Some(invitations::create(&state, &me.acting, &company_id, invite).await),
        _ => None,
    };
    let (status, field, key) = match result {
        Some(Ok(invitation)) => return Ok(done("invited", &invitation.id)),
        Some(Err(e)) => invite_refusal(&e)
            .ok_or(e)
            .map_err(|e| PageError::Internal(e.into()))?,
        None => match unreadable.as_ref().and_then(|e| e.iter().next()) {
            Some((field, key)) => (StatusCode::BAD_REQUEST, *field, *key),
            None if unreadable.is_some() => (StatusCode::BAD_REQUEST, "form", "form.unreadable"),
            None => (StatusCode::BAD_REQUEST, "email", "form.required"),
        },
    };
    let mut view = users_page(&state, &cookies, &me.user, &me.acting).await?;
    view.invite = InviteFormView {
        email: form.email.trim().to_owned(),
        given_name: form.given_name.trim().to_owned(),
        family_name: form.family_name.trim().to_owned(),
    };
    for option in &mut view.invite_roles {
        option.checked = checks.value(&format!("role.{}", option.name)) == Some("on");
    }
    if field == "form" {
        view.error = Some(message(&state, view.base.lang, key));
    } else {
        view.errors.insert(field, key);
    }
    Ok(page(status, &view))
}

/// `POST /company/invitations/{id}/resend`.
pub async fn resend(
    State(state): State<AppState>,
    cookies: Cookies,
    me: SuperAdmin,
    Path(id): Path<String>,
    CsrfForm((), _): CsrfForm,
) -> Result<Response, PageError> {
    match invitations::resend(&state, &me.acting, &id).await {
        Ok(_) => Ok(done("resent", &id)),
        Err(e) => invitation_refused(&state, &cookies, &me, e).await,
    }
}

/// `POST /company/invitations/{id}/revoke`.
pub async fn revoke(
    State(state): State<AppState>,
    cookies: Cookies,
    me: SuperAdmin,
    Path(id): Path<String>,
    CsrfForm((), _): CsrfForm,
) -> Result<Response, PageError> {
    match invitations::revoke(&state, &me.acting, &id).await {
        Ok(()) => Ok(done("revoked", &id)),
        Err(e) => invitation_refused(&state, &cookies, &me, e).await,
    }
}

async fn invitation_refused(
    state: &AppState,
    cookies: &Cookies,
    me: &SuperAdmin,
    e: invitations::InviteError,
) -> Result<Response, PageError> {
    match invite_refusal(&e) {
        Some((status, _, key)) => refused(state, cookies, me, status, key).await,
        None => Err(PageError::Internal(e.into())),
    }
}

async fn member_refused(
    state: &AppState,
    cookies: &Cookies,
    me: &SuperAdmin,
    e: members::MemberError,
) -> Result<Response, PageError> {
    if let members::MemberError::Throttled(blocked) = e {
        return Err(PageError::Blocked("company.users_title", blocked));
    }
    match member_refusal(&e) {
        Some((status, key)) => refused(state, cookies, me, status, key).await,
        None => Err(PageError::Internal(e.into())),
    }
}

/// The roles form: ticked roles, and the Super Admin's password (needed to grant
/// `super_admin`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RolesForm {
    password: String,
}

/// `POST /company/users/{id}/roles`.
pub async fn set_roles(
    State(state): State<AppState>,
    cookies: Cookies,
    me: SuperAdmin,
    Path(id): Path<String>,
    CsrfForm(form, checks): CsrfForm<RolesForm>,
) -> Result<Response, PageError> {
    let roles = ticked_roles(&checks);
    let password = Some(form.password.as_str());
    match members::set_roles(&state, &me.acting, &id, &roles, password).await {
        Ok(_) => Ok(done("roles", &id)),
        Err(e) => member_refused(&state, &cookies, &me, e).await,
    }
}

/// `POST /company/users/{id}/disable`.
pub async fn disable(
    State(state): State<AppState>,
    cookies: Cookies,
    me: SuperAdmin,
    Path(id): Path<String>,
    CsrfForm((), _): CsrfForm,
) -> Result<Response, PageError> {
    set_disabled(&state, &cookies, &me, &id, true).await
}

/// `POST /company/users/{id}/enable`.
pub async fn enable(
    State(state): State<AppState>,
    cookies: Cookies,
    me: SuperAdmin,
    Path(id): Path<String>,
    CsrfForm((), _): CsrfForm,
) -> Result<Response, PageError> {
    set_disabled(&state, &cookies, &me, &id, false).await
}

async fn set_disabled(
    state: &AppState,
    cookies: &Cookies,
    me: &SuperAdmin,
    id: &str,
    disabled: bool,
) -> Result<Response, PageError> {
    match members::set_disabled(state, &me.acting, id, disabled).await {
        Ok(_) => Ok(done(if disabled { "disabled" } else { "enabled" }, id)),
        Err(e) => member_refused(state, cookies, me, e).await,
    }
}

/// The remove form: `confirm=yes` is required.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RemoveForm {
    confirm: String,
}

/// `POST /company/users/{id}/remove` with `confirm=yes`.
pub async fn remove(
    State(state): State<AppState>,
    cookies: Cookies,
    me: SuperAdmin,
    Path(id): Path<String>,
    CsrfForm(form, _): CsrfForm<RemoveForm>,
) -> Result<Response, PageError> {
    if form.confirm != "yes" {
        return refused(
            &state,
            &cookies,
            &me,
            StatusCode::BAD_REQUEST,
            "company.confirm_required",
        )
        .await;
    }
    match members::remove(&state, &me.acting, &id).await {
        Ok(()) => Ok(done("removed", &id)),
        Err(e) => member_refused(&state, &cookies, &me, e).await,
    }
}
