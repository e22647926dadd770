//! The company pages of a Super Admin (Users, Activity), the invitation's accept
//! page, and the operator's audit trail.

use serde::Serialize;

use super::account::some_errors;
use super::{FieldErrors, Page, PageBase, PasswordRules};
use crate::ui::i18n;

/// A role the Super Admin can grant: name, label and description in the page's
/// language, and whether the member (or the form) has it.
#[derive(Debug, Clone, Serialize)]
pub struct RoleOption {
    /// The role's name (`customer-portal:licenses`, `super_admin`).
    pub name: String,
    /// Its label.
    pub label: String,
    /// Its description.
    pub description: String,
    /// Checked.
    pub checked: bool,
}

/// A member row of the Users page.
#[derive(Debug, Clone, Serialize)]
pub struct MemberView {
    /// The user's subject (the action URLs).
    pub id: String,
    /// Display name.
    pub name: String,
    /// E-mail address.
    pub email: String,
    /// The labels of the member's roles.
    pub roles: Vec<String>,
    /// Every grantable role, checked where the member has it.
    pub options: Vec<RoleOption>,
    /// Disabled.
    pub disabled: bool,
    /// Last sign-in in the viewer's time zone; empty: never.
    pub last_login: String,
    /// This is the viewer.
    pub me: bool,
}

/// A pending invitation row of the Users page.
#[derive(Debug, Clone, Serialize)]
pub struct InvitationView {
    /// Id (the action URLs).
    pub id: String,
    /// The invitee's address.
    pub email: String,
    /// The labels of the roles.
    pub roles: Vec<String>,
    /// The inviter's name.
    pub invited_by: String,
    /// Expiry in the viewer's time zone.
    pub expires: String,
    /// Already expired.
    pub expired: bool,
    /// The invitee asked for a new link.
    pub renewal_asked: bool,
}

/// The invite form's values (kept after a refusal).
#[derive(Debug, Clone, Default, Serialize)]
pub struct InviteFormView {
    /// Address.
    pub email: String,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
}

/// `company_users.html`: the company's members and pending invitations, the invite
/// form, and per member the roles form and the disable/enable/remove buttons.
#[derive(Debug, Clone, Serialize)]
pub struct CompanyUsersPage {
    /// Language, title and CSRF token.
    #[serde(flatten)]
    pub base: PageBase,
    /// The company's name.
    pub company: String,
    /// The company's e-mail domains.
    pub domains: Vec<String>,
    /// Members.
    pub members: Vec<MemberView>,
    /// Pending invitations.
    pub invitations: Vec<InvitationView>,
    /// The catalogue roles for the invite form.
    pub invite_roles: Vec<RoleOption>,
    /// The invite form's values.
    pub invite: InviteFormView,
    /// The outcome of the last action, in words.
    pub notice: Option<String>,
    /// A refusal, in words.
    pub error: Option<String>,
    /// Field problems of the invite form.
    pub errors: FieldErrors,
}

impl CompanyUsersPage {
    fn sample_roles(lang: &str) -> Vec<RoleOption> {
        vec![
            RoleOption {
                name: "super_admin".into(),
                label: i18n::text(lang, "company.super_admin", &[]),
                description: String::new(),
                checked: true,
            },
            RoleOption {
                name: "customer-portal:licenses".into(),
                label: "Licenses".into(),
                description: "View licenses".into(),
                checked: false,
            },
        ]
    }
}

impl Page for CompanyUsersPage {
    const TEMPLATE: &'static str = "company_users.html";

    fn samples(lang: &'static str) -> Vec<Self> {
        let member = MemberView {
            id: "u1".into(),
            name: "Jane Doe".into(),
            email: "jane@acme.example".into(),
            roles: vec!["Super Admin".into()],
            options: Self::sample_roles(lang),
            disabled: false,
            last_login: "2026-12-01 10:00".into(),
            me: true,
        };
        let other = MemberView {
            id: "u2".into(),
            disabled: true,
            last_login: String::new(),
            me: false,
            ..member.clone()
        };
        let invitation = InvitationView {
            id: "i1".into(),
            email: "max@acme.example".into(),
            roles: vec!["Licenses".into()],
            invited_by: "Jane Doe".into(),
            expires: "2026-12-08 10:00".into(),
            expired: false,
            renewal_asked: true,
        };
        let full = Self {
            base: PageBase::sample(lang, "company.users_title"),
            company: "ACME".into(),
            domains: vec!["acme.example".into()],
            members: vec![member, other],
            invitations: vec![invitation],
            invite_roles: Self::sample_roles(lang),
            invite: InviteFormView::default(),
            notice: Some(i18n::text(
                lang,
                "company.invited",
                &[("email", "max@acme.example")],
            )),
            error: None,
            errors: FieldErrors::new(),
        };
        let refused = Self {
            invitations: Vec::new(),
            notice: None,
            error: Some(i18n::text(lang, "company.last_super_admin", &[])),
            errors: some_errors(&[("email", "form.required")]),
            ..full.clone()
        };
        vec![full, refused]
    }
}

/// An audit event as a row of the Activity and audit pages.
#[derive(Debug, Clone, Serialize)]
pub struct AuditView {
    /// Time in the viewer's time zone.
    pub at: String,
    /// Who (a member's name, or the actor as recorded).
    pub actor: String,
    /// The action's name (`member.disabled`).
    pub action: String,
    /// The action in words.
    pub action_label: String,
    /// To whom or what (an address, or the id).
    pub subject: String,
    /// The company's domain (operator page only).
    pub company: String,
    /// Client IP.
    pub ip: String,
    /// Roles before → after, or other details in words.
    pub details: String,
}

/// A choice of a filter: value and label.
#[derive(Debug, Clone, Serialize)]
pub struct FilterOption {
    /// The value.
    pub value: String,
    /// The label.
    pub label: String,
    /// Selected.
    pub selected: bool,
}

/// `company_activity.html`: the company's audit trail, newest first, filtered by
/// member and action, with a CSV export of the same filter.
#[derive(Debug, Clone, Serialize)]
pub struct ActivityPage {
    /// Language and title.
    #[serde(flatten)]
    pub base: PageBase,
    /// The company's name.
    pub company: String,
    /// Members to filter by.
    pub users: Vec<FilterOption>,
    /// Actions to filter by.
    pub actions: Vec<FilterOption>,
    /// The events.
    pub events: Vec<AuditView>,
    /// The CSV export's URL (same filter).
    pub csv_url: String,
}

fn sample_event() -> AuditView {
    AuditView {
        at: "2026-12-01 10:00".into(),
        actor: "Jane Doe".into(),
        action: "member.roles_changed".into(),
        action_label: "Roles changed".into(),
        subject: "max@acme.example".into(),
        company: "acme.example".into(),
        ip: "203.0.113.7".into(),
        details: "Licenses → Licenses, Support cases".into(),
    }
}

impl Page for ActivityPage {
    const TEMPLATE: &'static str = "company_activity.html";

    fn samples(lang: &'static str) -> Vec<Self> {
        let option = FilterOption {
            value: "u1".into(),
            label: "Jane Doe".into(),
            selected: true,
        };
        let page = Self {
            base: PageBase::sample(lang, "company.activity_title"),
            company: "ACME".into(),
            users: vec![option.clone()],
            actions: vec![option],
            events: vec![sample_event()],
            csv_url: "/company/activity.csv?user=u1".into(),
        };
        let empty = Self {
            events: Vec::new(),
            ..page.clone()
        };
        vec![page, empty]
    }
}

/// `admin_audit.html`: the whole audit trail for operators, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct AdminAuditPage {
    /// Language and title.
    #[serde(flatten)]
    pub base: PageBase,
    /// The company domain filter as given.
    pub company: String,
    /// The action filter as given.
    pub action: String,
    /// The events.
    pub events: Vec<AuditView>,
}

impl Page for AdminAuditPage {
    const TEMPLATE: &'static str = "admin_audit.html";

    fn samples(lang: &'static str) -> Vec<Self> {
        vec![Self {
            base: PageBase::sample(lang, "admin_audit.title"),
            company: "acme.example".into(),
            action: String::new(),
            events: vec![sample_event()],
        }]
    }
}

/// What the invitation page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InvitationState {
    /// The accept form.
    Form,
    /// The link expired: "ask for a new invitation".
    Expired,
    /// The link was used: sign in, or ask for a new invitation.
    Used,
    /// Unknown, revoked or replaced link.
    Invalid,
    /// A new invitation was asked for.
    Asked,
}

/// `invitation.html`: accepting an invitation (confirm the name, set a password), or
/// what became of the link.
#[derive(Debug, Clone, Serialize)]
pub struct InvitationPage {
    /// Language, title and CSRF token.
    #[serde(flatten)]
    pub base: PageBase,
    /// What to show.
    pub state: InvitationState,
    /// The link's token (hidden field; empty for an invalid link).
    pub token: String,
    /// The inviting company.
    pub company: String,
    /// The invited address (the username).
    pub email: String,
    /// Given name (proposed, or as typed).
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// The password rules.
    #[serde(flatten)]
    pub rules: PasswordRules,
    /// Where to sign in (used links).
    pub login_url: String,
    /// A refusal, in words.
    pub error: Option<String>,
    /// Field problems.
    pub errors: FieldErrors,
}

impl Page for InvitationPage {
    const TEMPLATE: &'static str = "invitation.html";

    fn samples(lang: &'static str) -> Vec<Self> {
        let form = Self {
            base: PageBase::sample(lang, "invitation.title"),
            state: InvitationState::Form,
            token: "t".into(),
            company: "ACME".into(),
            email: "max@acme.example".into(),
            given_name: "Max".into(),
            family_name: String::new(),
            rules: PasswordRules {
                min_length: 12,
                max_length: 128,
            },
            login_url: "/login".into(),
            error: Some(i18n::text(lang, "password.mismatch", &[])),
            errors: some_errors(&[("family_name", "form.required")]),
        };
        let mut all = vec![form.clone()];
        for state in [
            InvitationState::Expired,
            InvitationState::Used,
            InvitationState::Invalid,
            InvitationState::Asked,
        ] {
            all.push(Self {
                state,
                error: None,
                errors: FieldErrors::new(),
                ..form.clone()
            });
        }
        all
    }
}
