"""Authorization code + PKCE against the provider with Authlib's OAuth2Session.

Inputs (set by ../run.sh): INTEROP_ISSUER, INTEROP_CLIENTS (a JSON array of
`idp clients create --json` outputs), INTEROP_USERNAME, INTEROP_PASSWORD,
INTEROP_EMAIL, INTEROP_GIVEN_NAME, INTEROP_SUB.

ID tokens are checked the way Authlib's own OpenID client does it (joserfc for
the signature, authlib.oidc.core.CodeIDToken for the claims), since authlib.jose
is deprecated in favour of joserfc.
"""

import json
import os
import re
import secrets
from urllib.parse import parse_qs, urljoin, urlsplit

# Authlib's metadata validation insists on https; this test talks to loopback only.
os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")

import requests  # noqa: E402
from authlib.integrations.base_client import OAuthError  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session  # noqa: E402
from authlib.oidc.core import CodeIDToken  # noqa: E402
from authlib.oidc.discovery import OpenIDProviderMetadata  # noqa: E402
from joserfc import jwt  # noqa: E402
from joserfc.jwk import KeySet  # noqa: E402
from joserfc.jws import JWSRegistry  # noqa: E402

ISSUER = os.environ["INTEROP_ISSUER"]
CLIENTS = json.loads(os.environ["INTEROP_CLIENTS"])
USER = {k: os.environ[f"INTEROP_{k.upper()}"] for k in ("username", "password", "email", "given_name", "sub")}
SCOPE = "openid profile email offline_access"


def ok(label, what):
    print(f"ok   python {label}: {what}", flush=True)


def discover():
    r = requests.get(f"{ISSUER}/.well-known/openid-configuration", timeout=10)
    assert r.status_code == 200, r.status_code
    metadata = OpenIDProviderMetadata(r.json())
    metadata.validate()
    assert metadata["issuer"] == ISSUER
    return metadata


def hidden_input(html, name):
    match = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)">', html)
    assert match, f"login form has no hidden {name}"
    return match.group(1)


def sign_in(label, authorization_url, redirect_uri):
    """Acts as the browser; returns the URL the provider redirects back to."""
    browser = requests.Session()
    r = browser.get(authorization_url, allow_redirects=False, timeout=10)
    assert r.status_code == 303, f"GET /authorize: {r.status_code}"
    login_url = urljoin(ISSUER, r.headers["Location"])
    assert urlsplit(login_url).path == "/login"
    request_id = parse_qs(urlsplit(login_url).query)["request_id"][0]

    r = browser.get(login_url, allow_redirects=False, timeout=10)
    assert r.status_code == 200, f"GET /login: {r.status_code}"
    assert hidden_input(r.text, "request_id") == request_id
    form = {
        "username": USER["username"],
        "password": USER["password"],
        "csrf_token": hidden_input(r.text, "csrf_token"),
        "request_id": request_id,
    }
    r = browser.post(f"{ISSUER}/login", data=form, allow_redirects=False, timeout=10)
    assert r.status_code == 303, f"POST /login: {r.status_code}"
    resume_url = urljoin(ISSUER, r.headers["Location"])
    assert urlsplit(resume_url).path == "/authorize/resume"
    assert parse_qs(urlsplit(resume_url).query)["request_id"] == [request_id]

    r = browser.get(resume_url, allow_redirects=False, timeout=10)
    assert r.status_code == 302, f"GET /authorize/resume: {r.status_code}"
    callback = r.headers["Location"]
    parts = urlsplit(callback)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == redirect_uri, callback
    query = parse_qs(parts.query)
    assert query.keys() >= {"code", "state", "iss"}, callback
    assert query["iss"] == [ISSUER]  # RFC 9207; Authlib itself does not check it
    ok(label, "browser login redirected to the client with code, state and iss")
    return callback


def id_token_claims(metadata, client, token, nonce):
    """Signature (JWKS), alg, iss, aud, exp, iat, nonce, azp and at_hash."""
    jwks = KeySet.import_key_set(requests.get(metadata["jwks_uri"], timeout=10).json())
    alg = client["id_token_signed_response_alg"]
    decoded = jwt.decode(token["id_token"], jwks, registry=JWSRegistry(algorithms=[alg]))
    assert decoded.header["alg"] == alg
    options = {
        "iss": {"essential": True, "value": ISSUER},
        "aud": {"essential": True, "value": client["client_id"]},
        "exp": {"essential": True},
    }
    params = {"client_id": client["client_id"], "access_token": token["access_token"], "nonce": nonce}
    claims = CodeIDToken(decoded.claims, decoded.header, options, params)
    claims.validate()
    assert claims.get("at_hash"), "ID token has at_hash"
    return claims


def run(metadata, client):
    method = client["token_endpoint_auth_method"]
    label = f"{client['client_name']} ({method}, {client['id_token_signed_response_alg']})"
    redirect_uri = client["redirect_uris"][0]
    session = OAuth2Session(
        client["client_id"],
        client.get("client_secret"),
        token_endpoint_auth_method=method,
        revocation_endpoint_auth_method=method,
        redirect_uri=redirect_uri,
        scope=SCOPE,
        code_challenge_method="S256",
    )

    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(16)
    url, state = session.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    callback = sign_in(label, url, redirect_uri)

    # Authlib checks state here (and PKCE is checked by the provider).
    token = session.fetch_token(
        metadata["token_endpoint"], authorization_response=callback, state=state, code_verifier=verifier
    )
    assert token["token_type"].lower() == "bearer"
    assert token.get("refresh_token"), "offline_access gives a refresh token"
    claims = id_token_claims(metadata, client, token, nonce)
    assert claims["sub"] == USER["sub"]
    ok(label, f"fetch_token and ID token validation (sub {claims['sub']})")

    r = session.get(metadata["userinfo_endpoint"], timeout=10)
    assert r.status_code == 200, r.status_code
    info = r.json()
    assert info["sub"] == USER["sub"]
    assert info["email"] == USER["email"]
    assert info["given_name"] == USER["given_name"]
    ok(label, "userinfo")

    refreshed = session.refresh_token(metadata["token_endpoint"], refresh_token=token["refresh_token"])
    assert refreshed["refresh_token"] != token["refresh_token"], "refresh token rotated"
    assert refreshed.get("id_token") and refreshed["id_token"] != token["id_token"], "new ID token"
    new_claims = id_token_claims(metadata, client, refreshed, None)
    assert new_claims["sub"] == claims["sub"]
    assert new_claims.get("nonce") in (None, nonce)
    ok(label, "refresh_token rotated the refresh token and issued a new ID token")

    public = client["token_endpoint_auth_method"] == "none"
    r = session.introspect_token(metadata["introspection_endpoint"], token=refreshed["access_token"])
    if public:
        # A public client cannot authenticate, so the provider refuses to introspect for it.
        assert r.status_code == 401 and r.json()["error"] == "invalid_client", r.text
        ok(label, "introspect_token: refused for a public client (invalid_client)")
    else:
        assert r.status_code == 200, r.status_code
        body = r.json()
        assert body["active"] is True, body
        assert body["sub"] == USER["sub"] and body["client_id"] == client["client_id"], body
        ok(label, "introspect_token: active")

    r = session.revoke_token(
        metadata["revocation_endpoint"], token=refreshed["refresh_token"], token_type_hint="refresh_token"
    )
    assert r.status_code == 200, r.status_code
    try:
        session.refresh_token(metadata["token_endpoint"], refresh_token=refreshed["refresh_token"])
        raise AssertionError("the revoked refresh token still works")
    except OAuthError as e:
        assert e.error == "invalid_grant", e.error
    if public:
        r = requests.get(
            metadata["userinfo_endpoint"],
            headers={"Authorization": f"Bearer {refreshed['access_token']}"},
            timeout=10,
        )
        assert r.status_code == 401, r.status_code
    else:
        r = session.introspect_token(metadata["introspection_endpoint"], token=refreshed["access_token"])
        assert r.status_code == 200 and r.json() == {"active": False}, r.text
    ok(label, "revoke_token: refresh token refused, its access token inactive")


def main():
    metadata = discover()
    ok("provider", "discovery metadata validates")
    for client in CLIENTS:
        run(metadata, client)
    print(f"python: {len(CLIENTS)} clients passed")


if __name__ == "__main__":
    main()
