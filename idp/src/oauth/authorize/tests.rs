//! Unit tests of each validation step and of [`AuthorizationRequest::decide`].

use super::steps::{self, Prompt};
use super::{AuthorizationRequest, Decision};
use crate::db::clients::ClientRow;
use crate::db::sessions::SessionRow;
use crate::oauth::client::Client;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::params::Params;

const CALLBACK: &str = "https://rp.example/cb";
/// A valid S256 challenge (43 base64url characters).
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn params(query: &str) -> Params {
    Params::parse(query.as_bytes(), 4096)
}

/// A confidential client with `redirect_uris`, the code flow and `openid profile`.
fn client(redirect_uris: &[&str]) -> Client {
    client_with(redirect_uris, r#"["authorization_code"]"#, 1)
}

fn client_with(redirect_uris: &[&str], grant_types: &str, require_pkce: i64) -> Client {
    let row = ClientRow {
        client_id: "c1".into(),
        client_name: "Client".into(),
        secret_hash: Some("hash".into()),
        token_endpoint_auth_method: "client_secret_basic".into(),
        redirect_uris: serde_json::to_string(redirect_uris).unwrap_or_default(),
        post_logout_redirect_uris: "[]".into(),
        grant_types: grant_types.into(),
        scope: "openid profile".into(),
        id_token_signed_response_alg: "RS256".into(),
        require_pkce,
        created_at: 0,
        backchannel_logout_uri: None,
    };
    Client::from_row(row).unwrap()
}

fn refused(result: Result<impl std::fmt::Debug, OAuthError>) -> (ErrorCode, String) {
    let error = result.unwrap_err();
    (error.code, error.description.into_owned())
}

fn invalid_request(description: &str) -> (ErrorCode, String) {
    (ErrorCode::InvalidRequest, description.to_owned())
}

#[test]
fn redirect_uri_matches_exactly_or_is_the_only_registered_one() {
    let one = client(&[CALLBACK]);
    let two = client(&[CALLBACK, "https://rp.example/other"]);
    let given = params(&format!("redirect_uri={CALLBACK}"));
    assert_eq!(
        steps::redirect_uri(&given, &one),
        Ok((CALLBACK.into(), true))
    );
    assert_eq!(
        steps::redirect_uri(&params(""), &one),
        Ok((CALLBACK.into(), false))
    );
    assert_eq!(
        steps::redirect_uri(&params(""), &two),
        Err("error.redirect_uri_missing")
    );
    assert_eq!(
        steps::redirect_uri(&params("redirect_uri=https://rp.example/cb/"), &one),
        Err("error.redirect_uri_unregistered")
    );
    let repeated = params(&format!("redirect_uri={CALLBACK}&redirect_uri={CALLBACK}"));
    assert_eq!(
        steps::redirect_uri(&repeated, &one),
        Err("error.redirect_uri_malformed")
    );
}

#[test]
fn state_is_echoed_only_within_its_limits() {
    assert_eq!(steps::state(&params("state=abc")).as_deref(), Some("abc"));
    assert_eq!(steps::state(&params("")), None);
    assert_eq!(steps::state(&params("state=a%0Ab")), None);
    assert_eq!(
        steps::state(&params(&format!("state={}", "x".repeat(2049)))),
        None
    );
}

#[test]
fn well_formed_refuses_repeats_long_values_and_request_objects() {
    assert_eq!(steps::well_formed(&params("scope=openid&state=s")), Ok(()));
    assert_eq!(
        refused(steps::well_formed(&params("scope=a&scope=b"))),
        invalid_request("parameter 'scope' is repeated")
    );
    assert_eq!(
        refused(steps::well_formed(&params(&format!(
            "nonce={}",
            "n".repeat(513)
        )))),
        invalid_request("parameter 'nonce' is too long (at most 512 bytes)")
    );
    assert_eq!(
        refused(steps::well_formed(&params("login_hint=a%07b"))),
        invalid_request("parameter 'login_hint' contains characters that are not allowed")
    );
    for (query, code) in [
        ("request=x", ErrorCode::RequestNotSupported),
        ("request_uri=x", ErrorCode::RequestUriNotSupported),
        ("registration=x", ErrorCode::RegistrationNotSupported),
    ] {
        assert_eq!(
            refused(steps::well_formed(&params(query))).0,
            code,
            "{query}"
        );
    }
}

#[test]
fn response_type_must_be_code_for_a_code_flow_client_in_query_mode() {
    let c = client(&[CALLBACK]);
    assert_eq!(
        steps::response_type(&params("response_type=code"), &c),
        Ok(())
    );
    assert_eq!(
        steps::response_type(&params("response_type=code&response_mode=query"), &c),
        Ok(())
    );
    assert_eq!(
        refused(steps::response_type(&params(""), &c)),
        invalid_request("missing parameter 'response_type'")
    );
    assert_eq!(
        refused(steps::response_type(&params("response_type=token"), &c)).0,
        ErrorCode::UnsupportedResponseType
    );
    assert_eq!(
        refused(steps::response_type(
            &params("response_type=code&response_mode=fragment"),
            &c
        )),
        invalid_request("only response_mode=query is supported")
    );
    let service = client_with(&[CALLBACK], r#"["client_credentials"]"#, 1);
    assert_eq!(
        refused(steps::response_type(
            &params("response_type=code"),
            &service
        ))
        .0,
        ErrorCode::UnauthorizedClient
    );
}

#[test]
fn scope_is_requested_known_and_allowed() {
    let c = client(&[CALLBACK]);
    let granted = steps::scope(&params("scope=openid%20email%20profile%20unknown"), &c);
    assert_eq!(granted.unwrap().to_string(), "openid profile");
    assert_eq!(
        refused(steps::scope(&params(""), &c)),
        invalid_request("missing parameter 'scope'")
    );
    assert_eq!(
        refused(steps::scope(&params("scope=openid%22"), &c)),
        (ErrorCode::InvalidScope, "malformed scope".into())
    );
    assert_eq!(
        refused(steps::scope(&params("scope=email"), &c)),
        (
            ErrorCode::InvalidScope,
            "none of the requested scopes is allowed".into()
        )
    );
}

#[test]
fn pkce_takes_s256_only_and_is_required_by_default() {
    let c = client(&[CALLBACK]);
    let s256 = format!("code_challenge={CHALLENGE}&code_challenge_method=S256");
    assert_eq!(steps::pkce(&params(&s256), &c), Ok(Some(CHALLENGE.into())));
    let cases = [
        (
            "code_challenge=short&code_challenge_method=S256".to_owned(),
            "malformed code_challenge",
        ),
        (
            format!("code_challenge={CHALLENGE}"),
            "code_challenge_method is required and must be S256",
        ),
        (
            "code_challenge_method=S256".to_owned(),
            "code_challenge_method without code_challenge",
        ),
        (
            format!("code_challenge={CHALLENGE}&code_challenge_method=plain"),
            "only code_challenge_method=S256 is supported",
        ),
        (String::new(), "PKCE (code_challenge with S256) is required"),
    ];
    for (query, description) in cases {
        assert_eq!(
            refused(steps::pkce(&params(&query), &c)),
            invalid_request(description),
            "{query}"
        );
    }
    let optional = client_with(&[CALLBACK], r#"["authorization_code"]"#, 0);
    assert_eq!(steps::pkce(&params(""), &optional), Ok(None));
}

#[test]
fn prompt_none_stands_alone_and_login_or_select_account_force_a_login() {
    let prompt = |q: &str| steps::prompt(&params(q));
    assert_eq!(prompt(""), Ok(Prompt::default()));
    assert_eq!(
        prompt("prompt=none"),
        Ok(Prompt {
            none: true,
            login: false
        })
    );
    for query in ["prompt=login", "prompt=select_account%20consent"] {
        assert_eq!(
            prompt(query),
            Ok(Prompt {
                none: false,
                login: true
            }),
            "{query}"
        );
    }
    assert_eq!(prompt("prompt=consent%20unknown"), Ok(Prompt::default()));
    assert_eq!(
        refused(prompt("prompt=none%20login")),
        invalid_request("prompt=none cannot be combined with other values")
    );
}

#[test]
fn max_age_is_a_non_negative_integer() {
    assert_eq!(steps::max_age(&params("")), Ok(None));
    assert_eq!(steps::max_age(&params("max_age=0")), Ok(Some(0)));
    assert_eq!(steps::max_age(&params("max_age=3600")), Ok(Some(3600)));
    for bad in ["max_age=-1", "max_age=1.5", "max_age=ten"] {
        assert_eq!(
            refused(steps::max_age(&params(bad))),
            invalid_request("max_age must be a non-negative integer"),
            "{bad}"
        );
    }
}

fn request() -> AuthorizationRequest {
    AuthorizationRequest {
        client_id: "c1".into(),
        redirect_uri: CALLBACK.into(),
        redirect_uri_given: true,
        scope: "openid".into(),
        state: None,
        nonce: None,
        code_challenge: None,
        prompt_none: false,
        prompt_login: false,
        max_age: None,
        login_hint: None,
        id_token_hint_sub: None,
        ui_locales: None,
    }
}

fn session(user_id: &str, auth_time: i64, must_change_password: bool) -> SessionRow {
    SessionRow {
        sid: "sid".into(),
        user_id: user_id.into(),
        auth_time,
        expires_at: auth_time + 3600,
        must_change_password: i64::from(must_change_password),
    }
}

const NOW: i64 = 10_000;

#[test]
fn decide_issues_a_code_for_a_sufficient_session_and_asks_for_a_login_otherwise() {
    let r = request();
    let fresh = session("u1", NOW - 10, false);
    assert_eq!(r.decide(Some(&fresh), NOW), Decision::IssueCode);
    assert_eq!(r.decide(None, NOW), Decision::Login { forced: false });
    let forced = Decision::Login { forced: true };
    let login = AuthorizationRequest {
        prompt_login: true,
        ..request()
    };
    assert_eq!(login.decide(Some(&fresh), NOW), forced);
    assert_eq!(login.decide(None, NOW), forced);
    let max_age = |max| AuthorizationRequest {
        max_age: Some(max),
        ..request()
    };
    assert_eq!(max_age(10).decide(Some(&fresh), NOW), Decision::IssueCode);
    assert_eq!(max_age(9).decide(Some(&fresh), NOW), forced);
    assert_eq!(max_age(0).decide(Some(&fresh), NOW), forced, "max_age=0");
    let hint = |sub: &str| AuthorizationRequest {
        id_token_hint_sub: Some(sub.into()),
        ..request()
    };
    assert_eq!(hint("u1").decide(Some(&fresh), NOW), Decision::IssueCode);
    assert_eq!(hint("u2").decide(Some(&fresh), NOW), forced);
}

#[test]
fn decide_sends_a_one_time_password_user_to_change_it_first() {
    let otp = session("u1", NOW - 10, true);
    assert_eq!(request().decide(Some(&otp), NOW), Decision::ChangePassword);
    let silent = AuthorizationRequest {
        prompt_none: true,
        ..request()
    };
    assert_eq!(
        silent.decide(Some(&otp), NOW),
        Decision::InteractionRequired
    );
    let login = AuthorizationRequest {
        prompt_login: true,
        ..request()
    };
    assert_eq!(
        login.decide(Some(&otp), NOW),
        Decision::Login { forced: true },
        "a forced login comes first"
    );
}

#[test]
fn decide_answers_login_required_for_prompt_none_when_a_login_is_needed() {
    let silent = |max_age| AuthorizationRequest {
        prompt_none: true,
        max_age,
        ..request()
    };
    let fresh = session("u1", NOW - 10, false);
    assert_eq!(silent(None).decide(Some(&fresh), NOW), Decision::IssueCode);
    assert_eq!(
        silent(None).decide(None, NOW),
        Decision::LoginRequired { signed_in: false }
    );
    assert_eq!(
        silent(Some(5)).decide(Some(&fresh), NOW),
        Decision::LoginRequired { signed_in: true }
    );
}

#[test]
fn satisfied_by_needs_a_login_after_the_request_when_forced_and_max_age_to_hold() {
    let r = AuthorizationRequest {
        max_age: Some(60),
        ..request()
    };
    let requested_at = NOW - 30;
    let before = session("u1", NOW - 40, false);
    let after = session("u1", NOW - 20, false);
    assert!(r.satisfied_by(&after, requested_at, true, NOW));
    assert!(!r.satisfied_by(&before, requested_at, true, NOW));
    assert!(r.satisfied_by(&before, requested_at, false, NOW));
    assert!(!r.satisfied_by(&before, requested_at, false, NOW + 30));
    assert!(request().satisfied_by(&before, requested_at, false, NOW + 3600));
}
