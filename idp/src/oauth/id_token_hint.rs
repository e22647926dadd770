//! The `id_token_hint` of the authorization endpoint (OIDC Core §3.1.2.1) and the
//! end_session_endpoint (RP-Initiated Logout 1.0 §2): only an ID token this provider
//! issued is taken, told apart from our other JWTs by explicit typing (RFC 8725
//! §3.11). One check serves both endpoints.

use serde_json::{Map, Value};

use crate::db::clients;
use crate::error::Internal;
use crate::oauth::client::Client;
use crate::state::AppState;

/// What a valid id_token_hint says.
#[derive(Debug)]
pub struct IdTokenHint {
    /// The user (`sub`).
    pub sub: String,
    /// The registered client the ID token was issued to (`azp`, or the single `aud`).
    pub client: Client,
}

/// Verifies an id_token_hint: our signature with an allowed algorithm, header `typ`
/// `JWT` (an access token, `at+jwt`, or a logout token, `logout+jwt`, is refused),
/// `iss` our issuer, a `sub`, integer `iat` and `exp` (an expired hint is fine, OIDC
/// Core §3.1.2.1), no `events` claim (logout tokens carry one, Back-Channel Logout 1.0
/// §2.4), and an audience naming a registered client: `aud` a string, or an array
/// with `azp` in it when it has several members. `None` when any check fails.
///
/// # Errors
/// Database errors looking the client up, or a stored client that does not parse.
pub async fn verify(state: &AppState, token: &str) -> Result<Option<IdTokenHint>, Internal> {
    let Ok(claims) = state.keys.verify_id_token_hint(token) else {
        return Ok(None);
    };
    let Some((sub, client_id)) = check_claims(&claims, &state.config.issuer) else {
        return Ok(None);
    };
    let Some(row) = clients::find(&state.db, &client_id).await? else {
        return Ok(None);
    };
    Ok(Some(IdTokenHint {
        sub,
        client: Client::from_row(row)?,
    }))
}

/// The `sub` and client of ID-token claims issued by `issuer`, if they have the
/// shape of an ID token (OIDC Core §2).
fn check_claims(claims: &Map<String, Value>, issuer: &str) -> Option<(String, String)> {
    let string = |name: &str| claims.get(name).and_then(Value::as_str);
    if string("iss") != Some(issuer) || claims.contains_key("events") {
        return None;
    }
    if !["iat", "exp"]
        .iter()
        .all(|name| claims.get(*name).is_some_and(Value::is_i64))
    {
        return None;
    }
    let sub = string("sub").filter(|s| !s.is_empty())?;
    let azp = string("azp");
    let client_id = match claims.get("aud")? {
        Value::String(aud) => aud.as_str(),
        Value::Array(list) => {
            let list: Vec<&str> = list.iter().map(Value::as_str).collect::<Option<_>>()?;
            match (list.as_slice(), azp) {
                ([only], None) => only,
                (_, Some(azp)) if list.contains(&azp) => azp,
                _ => return None,
            }
        }
        _ => return None,
    };
    if azp.is_some_and(|azp| azp != client_id) {
        return None;
    }
    Some((sub.to_owned(), client_id.to_owned()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::check_claims;

    const ISS: &str = "https://id.example";

    fn claims(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn an_id_token_names_its_user_and_client() {
        let ok = |v| check_claims(&claims(v), ISS);
        let base = json!({"iss": ISS, "sub": "u1", "aud": "c1", "azp": "c1", "iat": 1, "exp": 2});
        assert_eq!(ok(base.clone()), Some(("u1".into(), "c1".into())));
        let mut several = base.clone();
        several["aud"] = json!(["c2", "c1"]);
        assert_eq!(ok(several), Some(("u1".into(), "c1".into())));
        let mut single = base.clone();
        single["aud"] = json!(["c1"]);
        if let Some(m) = single.as_object_mut() {
            m.remove("azp");
        }
        assert_eq!(ok(single), Some(("u1".into(), "c1".into())));
    }

    #[test]
    fn anything_else_is_refused() {
        let base = json!({"iss": ISS, "sub": "u1", "aud": "c1", "iat": 1, "exp": 2});
        let mut cases = Vec::new();
        for name in ["iss", "sub", "aud", "iat", "exp"] {
            let mut c = base.clone();
            if let Some(m) = c.as_object_mut() {
                m.remove(name);
            }
            cases.push(c);
        }
        let mut other_issuer = base.clone();
        other_issuer["iss"] = json!("https://evil.example");
        let mut logout = base.clone();
        logout["events"] = json!({"http://schemas.openid.net/event/backchannel-logout": {}});
        let mut string_time = base.clone();
        string_time["exp"] = json!("2");
        let mut several_without_azp = base.clone();
        several_without_azp["aud"] = json!(["c1", "c2"]);
        let mut azp_elsewhere = base.clone();
        azp_elsewhere["azp"] = json!("c9");
        let mut empty_sub = base.clone();
        empty_sub["sub"] = json!("");
        let mut numeric_aud = base.clone();
        numeric_aud["aud"] = json!([1]);
        cases.extend([
            other_issuer,
            logout,
            string_time,
            several_without_azp,
            azp_elsewhere,
            empty_sub,
            numeric_aud,
        ]);
        for c in cases {
            assert_eq!(check_claims(&claims(c.clone()), ISS), None, "{c}");
        }
    }
}
