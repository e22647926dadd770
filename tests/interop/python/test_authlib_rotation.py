"""A signing-key rotation under a running Authlib relying party.

One Authlib OpenID Connect client app, created once, loads the provider's metadata
and logs in (ID token by key A); `idp keys rotate` starts a rotation on the running
provider; once the new key B signs, the same app logs in again. Authlib keeps the
JWKS it fetched and, for a kid it does not hold, fetches it again by itself
(``OpenIDMixin.parse_id_token``). The old ID token still verifies against the JWKS
fetched after the rotation (A is retired, still published), and UserInfo takes both
access tokens. Neither the provider nor the client restarts.

Inputs (set by ../run.sh): those of test_authlib.py, plus INTEROP_IDP, a command
that runs the `idp` CLI on the provider's database and configuration.
"""

import base64
import json
import os
import subprocess
import time
from urllib.parse import parse_qs, urlsplit

from test_authlib import ISSUER, CLIENTS, USER, ok, sign_in  # also sets AUTHLIB_INSECURE_TRANSPORT

from authlib.integrations.base_client import BaseApp, FrameworkIntegration, OAuth2Mixin, OpenIDMixin
from authlib.integrations.requests_client import OAuth2Session

IDP = os.environ["INTEROP_IDP"]


class RelyingParty(OAuth2Mixin, OpenIDMixin, BaseApp):
    """Authlib's OpenID Connect client app: what its Flask integration registers
    (``FlaskOAuth2App`` is these classes plus Flask's session), without a web
    framework. It keeps the server metadata and the JWKS between logins."""

    client_cls = OAuth2Session


def keys(*args):
    out = subprocess.run([IDP, "keys", *args, "--json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def kid_of(jwt):
    header = jwt.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


def cached_kids(rp):
    return {k["kid"] for k in rp.server_metadata["jwks"]["keys"]}


def main():
    client = next(
        c
        for c in CLIENTS
        if c["token_endpoint_auth_method"] == "client_secret_basic" and c["id_token_signed_response_alg"] == "RS256"
    )
    label = f"rotation {client['client_name']}"
    redirect_uri = client["redirect_uris"][0]
    rp = RelyingParty(
        FrameworkIntegration("interop"),
        name="interop",
        client_id=client["client_id"],
        client_secret=client["client_secret"],
        server_metadata_url=f"{ISSUER}/.well-known/openid-configuration",
        client_kwargs={
            "scope": "openid profile email",
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": "client_secret_basic",
        },
    )
    claims_options = {
        "iss": {"essential": True, "value": ISSUER},
        "aud": {"essential": True, "value": client["client_id"]},
        "exp": {"essential": True},
    }

    def log_in():
        """Authorization request, browser, code exchange (Authlib checks state), ID
        token (signature by the cached JWKS, iss, aud, exp, nonce, at_hash)."""
        request = rp.create_authorization_url(redirect_uri)
        callback = sign_in(label, request["url"], redirect_uri)
        assert parse_qs(urlsplit(callback).query)["state"] == [request["state"]]
        token = rp.fetch_access_token(
            redirect_uri=redirect_uri,
            authorization_response=callback,
            state=request["state"],
            code_verifier=request["code_verifier"],
        )
        claims = rp.parse_id_token(token, request["nonce"], claims_options=claims_options)
        assert claims["sub"] == USER["sub"]
        return token, request["nonce"]

    def userinfo_works(token):
        info = rp.userinfo(token=token)
        assert info["sub"] == USER["sub"] and info["email"] == USER["email"], info

    # Before: key A signs; Authlib fetched and kept the JWKS to verify it.
    first, first_nonce = log_in()
    kid_a = kid_of(first["id_token"])
    assert kid_a in cached_kids(rp)
    userinfo_works(first)
    ok(label, f"login before the rotation: ID token by {kid_a}, UserInfo")

    # The operator rotates RS256 on the running provider.
    [rotated] = keys("rotate", "--alg", "RS256")
    kid_b = rotated["kid"]
    assert rotated["alg"] == "RS256" and kid_b != kid_a, rotated
    assert kid_b not in cached_kids(rp)
    ok(label, f"idp keys rotate: {kid_b} published, signs from {rotated['activates_at']}")

    # The provider starts signing with B by itself at activates_at.
    deadline = time.monotonic() + 60
    while True:
        states = {k["kid"]: k["state"] for k in keys("list")}
        if states.get(kid_b) == "active":
            assert states.get(kid_a) == "retired", states
            break
        assert time.monotonic() < deadline, f"{kid_b} did not start signing: {states}"
        time.sleep(0.25)
    ok(label, f"{kid_b} active, {kid_a} retired")

    # After: the same app logs in; the ID token names B, which the kept JWKS lacked:
    # Authlib fetched it again by itself, and verified.
    assert kid_b not in cached_kids(rp), "nothing refetched the JWKS yet"
    second, _ = log_in()
    assert kid_of(second["id_token"]) == kid_b, "the new key signs"
    assert {kid_a, kid_b} <= cached_kids(rp), cached_kids(rp)
    ok(label, f"login after the rotation: ID token by {kid_b}, verified after Authlib refetched the JWKS")

    # The old ID token still verifies against the JWKS fetched after the rotation.
    after = rp.server_metadata["jwks"]
    old = rp.parse_id_token(first, first_nonce, claims_options=claims_options)
    assert old["sub"] == USER["sub"]
    assert rp.server_metadata["jwks"] is after, "verified without another fetch"
    ok(label, f"the ID token by {kid_a} verifies against the JWKS fetched after the rotation")

    # Both access tokens (JWTs by A and by B) work at UserInfo.
    assert kid_of(first["access_token"]) == kid_a
    assert kid_of(second["access_token"]) == kid_b
    userinfo_works(first)
    userinfo_works(second)
    ok(label, "UserInfo takes the access tokens by both keys")
    print("python rotation: passed")


if __name__ == "__main__":
    main()
