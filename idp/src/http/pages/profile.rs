//! The user's profile (the seed's "User Profile Settings"): user information,
//! analytics on/off, time zone and language, Security (change password), and the
//! browsers where the user is signed in, with a way to end the others.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_cookies::Cookies;

use crate::account::support::SupportError;
use crate::db::users::{self, User};
use crate::db::{audit, companies, sessions};
use crate::error::internal_from;
use crate::http::browser;
use crate::http::error::{page, PageError};
use crate::http::extract::csrf_form::CsrfForm;
use crate::http::extract::signed_in::SignedIn;
use crate::http::lang;
use crate::state::AppState;
use crate::ui::i18n;
use crate::ui::pages::{PageBase, ProfilePage, ProfileUser, SessionView};

const PROFILE: &str = "/profile";

/// Why a profile page or action failed: an error page in the user's language.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// 400, `profile.invalid_settings`: the settings form names a language or a
    /// time zone that does not exist.
    #[error("unknown language or time zone")]
    InvalidSettings,
    /// 403, `support.not_included`: the user's company has no phone support, so
    /// no support PIN.
    #[error("the user's company has no phone support")]
    NoPhoneSupport,
    /// 500 error page (logged).
    #[error(transparent)]
    Internal(anyhow::Error),
}

internal_from!(ProfileError: sqlx::Error, anyhow::Error, crate::error::Internal);

impl From<SupportError> for ProfileError {
    /// The profile's support calls (the support information, a new PIN) refuse
    /// only for want of phone support; anything else is internal.
    fn from(e: SupportError) -> Self {
        match e {
            SupportError::NoPhoneSupport => ProfileError::NoPhoneSupport,
            SupportError::Internal(e) => ProfileError::Internal(e.into()),
            e => ProfileError::Internal(e.into()),
        }
    }
}

impl IntoResponse for ProfileError {
    fn into_response(self) -> Response {
        match self {
            ProfileError::InvalidSettings => PageError::BadRequest("profile.invalid_settings"),
            ProfileError::NoPhoneSupport => PageError::NotAllowed("support.not_included"),
            ProfileError::Internal(e) => PageError::Internal(e),
        }
        .into_response()
    }
}

/// Query of the profile page.
#[derive(Deserialize)]
pub struct ProfileQuery {
    notice: Option<String>,
}

/// "Chrome 131 on Linux" from a User-Agent (woothee), or the raw text shortened.
pub fn browser_name(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent else {
        return "?".to_owned();
    };
    match woothee::parser::Parser::new().parse(ua) {
        Some(r) if r.name != "UNKNOWN" => {
            let version = r.version.split('.').next().unwrap_or_default();
            format!("{} {} · {}", r.name, version, r.os)
                .trim()
                .to_owned()
        }
        _ => ua.chars().take(60).collect(),
    }
}

/// A Unix time shown in the user's time zone, `YYYY-MM-DD HH:MM` (UTC if unknown).
pub(crate) fn local_time(unix: i64, zoneinfo: Option<&str>) -> String {
    use chrono::TimeZone as _;
    let Some(utc) = chrono::DateTime::from_timestamp(unix, 0) else {
        return String::new();
    };
    match zoneinfo.and_then(|z| z.parse::<chrono_tz::Tz>().ok()) {
        Some(tz) => tz
            .from_utc_datetime(&utc.naive_utc())
            .format("%Y-%m-%d %H:%M")
            .to_string(),
        None => format!("{} UTC", utc.format("%Y-%m-%d %H:%M")),
    }
}

/// `GET /profile`.
pub async fn show(
    State(state): State<AppState>,
    cookies: Cookies,
    SignedIn {
        user,
        session: current,
    }: SignedIn,
    query: Result<Query<ProfileQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ProfileError> {
    let lang = lang::preferred(user.locale.as_deref(), None);
    let sessions = session_views(&state, &user, &current.sid).await?;
    let company = match &user.company_id {
        Some(id) => companies::find(state.db.pool(), id).await?.map(|c| c.name),
        None => None,
    };
    let support = crate::account::support::info(&state, &user).await?;
    let notice = query
        .ok()
        .and_then(|Query(q)| q.notice)
        .and_then(|n| notice_text(lang, &n));
    let browser = browser::browser_id(&state, &cookies);
    let profile = ProfilePage {
        base: PageBase::new(lang, "profile.title", browser::csrf_token(&state, &browser)),
        user: profile_user(user, lang, company),
        languages: i18n::LANGUAGES,
        time_zones: ProfilePage::time_zones(),
        sessions,
        support,
        notice,
    };
    Ok(page(StatusCode::OK, &profile))
}

/// The user's live browser sessions, times in the user's time zone; `current_sid`
/// is this browser's.
async fn session_views(
    state: &AppState,
    user: &User,
    current_sid: &str,
) -> Result<Vec<SessionView>, ProfileError> {
    let now = state.clock.now();
    let zone = user.zoneinfo.as_deref();
    let list = sessions::list_for_user(&state.db, &user.id, now, state.config.session.idle_seconds)
        .await?;
    Ok(list
        .into_iter()
        .map(|s| SessionView {
            current: s.sid == current_sid,
            browser: browser_name(s.user_agent.as_deref()),
            ip: s.ip.unwrap_or_default(),
            last_seen: local_time(s.last_seen_at, zone),
            signed_in: local_time(s.auth_time, zone),
            sid: s.sid,
        })
        .collect())
}

/// The text in `lang` of the `notice` a profile action redirects with; `None` for
/// an unknown one.
fn notice_text(lang: &'static str, notice: &str) -> Option<String> {
    let key = match notice {
        "password_changed" => "profile.password_changed",
        "saved" => "profile.saved",
        "session_ended" => "profile.session_ended",
        "pin_rotated" => "support.pin_rotated",
        _ => return None,
    };
    Some(i18n::text(lang, key, &[]))
}

/// The user as the profile shows them; `lang` is the page's language (the locale
/// shown when the user has none), `company` the name of their company.
fn profile_user(user: User, lang: &'static str, company: Option<String>) -> ProfileUser {
    ProfileUser {
        name: user.display_name(),
        roles: user.roles.iter().map(ToString::to_string).collect(),
        locale: user.locale.as_deref().unwrap_or(lang).to_owned(),
        zoneinfo: user.zoneinfo.as_deref().unwrap_or("UTC").to_owned(),
        analytics: user.analytics_consent,
        operator: user.is_operator,
        super_admin: user.company_id.is_some()
            && user.roles.contains(&crate::db::users::Role::SuperAdmin),
        username: user.username,
        email: user.email,
        company,
        job_title: user.job_title,
        phone: user.phone,
    }
}

/// The settings form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SettingsForm {
    locale: String,
    zoneinfo: String,
    analytics: Option<String>,
}

/// `POST /profile/settings`: language, time zone, analytics.
pub async fn save_settings(
    State(state): State<AppState>,
    SignedIn { user, session: _ }: SignedIn,
    CsrfForm(form, _): CsrfForm<SettingsForm>,
) -> Result<Response, ProfileError> {
    let (locale, zoneinfo) = (form.locale.as_str(), form.zoneinfo.as_str());
    if !i18n::LANGUAGES.contains(&locale) || zoneinfo.parse::<chrono_tz::Tz>().is_err() {
        return Err(ProfileError::InvalidSettings);
    }
    // Consent is only the checkbox's own value; anything else is no consent.
    let analytics = form.analytics.as_deref() == Some("on");
    let now = state.clock.now();
    users::update_settings(&state.db, &user.id, locale, zoneinfo, analytics, now).await?;
    audit::record(
        state.db.pool(),
        now,
        &format!("user:{}", user.id),
        "profile.settings",
        &user.id,
        &serde_json::json!({ "locale": locale, "zoneinfo": zoneinfo, "analytics": analytics }),
    )
    .await?;
    Ok(Redirect::to(&format!("{PROFILE}?notice=saved")).into_response())
}

/// `POST /profile/sessions/{sid}/end`: ends one of the user's sessions (and tells
/// the relying parties of that session over the back channel).
pub async fn end_session(
    State(state): State<AppState>,
    SignedIn { user, session: _ }: SignedIn,
    Path(sid): Path<String>,
    CsrfForm((), _): CsrfForm,
) -> Result<Response, ProfileError> {
    let ended =
        crate::account::sessions::end_session(&state, &user.id, &sid, &format!("user:{}", user.id))
            .await?;
    Ok(Redirect::to(if ended {
        "/profile?notice=session_ended"
    } else {
        PROFILE
    })
    .into_response())
}

/// `POST /profile/sessions/end-others`: ends every session but this one.
pub async fn end_others(
    State(state): State<AppState>,
    SignedIn {
        user,
        session: current,
    }: SignedIn,
    CsrfForm((), _): CsrfForm,
) -> Result<Response, ProfileError> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let ended = crate::account::sessions::end_other_sessions(
        &mut tx,
        &state,
        &user.id,
        Some(&current.sid),
        now,
    )
    .await?;
    audit::record(
        &mut *tx,
        now,
        &format!("user:{}", user.id),
        "session.ended_others",
        &user.id,
        &serde_json::json!({ "ended": ended }),
    )
    .await?;
    tx.commit().await?;
    state.logout_wakeup.notify_one();
    Ok(Redirect::to(&format!("{PROFILE}?notice=session_ended")).into_response())
}

/// `POST /profile/support-pin`: a new support PIN; 403 page for a user whose
/// company's level has no phone support (and so no PIN).
pub async fn rotate_pin(
    State(state): State<AppState>,
    SignedIn { user, session: _ }: SignedIn,
    CsrfForm((), _): CsrfForm,
) -> Result<Response, ProfileError> {
    match crate::account::support::rotate_pin(&state, &user).await? {
        Some(_) => Ok(Redirect::to(&format!("{PROFILE}?notice=pin_rotated")).into_response()),
        // Only levels with phone support have a PIN.
        None => Err(ProfileError::NoPhoneSupport),
    }
}
