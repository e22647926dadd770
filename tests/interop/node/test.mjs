// Authorization code + PKCE against the provider with openid-client v6.
// Inputs (set by ../run.sh): INTEROP_ISSUER, INTEROP_CLIENTS (a JSON array of
// `idp clients create --json` outputs), INTEROP_USERNAME, INTEROP_PASSWORD,
// INTEROP_EMAIL, INTEROP_GIVEN_NAME, INTEROP_SUB.
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { clientAuth, clients, issuer, ok, signIn, user } from './common.mjs';

async function run(client) {
  const label = `${client.client_name} (${client.token_endpoint_auth_method}, ${client.id_token_signed_response_alg})`;
  const redirectUri = client.redirect_uris[0];
  const config = await oidc.discovery(
    new URL(issuer),
    client.client_id,
    { id_token_signed_response_alg: client.id_token_signed_response_alg },
    clientAuth(client),
    { execute: [oidc.allowInsecureRequests] }, // plain http, loopback only
  );
  assert.equal(config.serverMetadata().issuer, issuer);
  // Without this, openid-client takes ID tokens from the token endpoint on the
  // strength of TLS (OIDC Core §3.1.3.7) and does not check their signatures.
  oidc.enableNonRepudiationChecks(config);
  ok(label, 'discovery');

  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const authorizationUrl = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid profile email offline_access',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  const callback = await signIn(label, authorizationUrl, redirectUri);

  // Checks state, iss, PKCE, nonce, the ID token claims, at_hash and (with the
  // non-repudiation checks) its signature against the JWKS.
  const tokens = await oidc.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  assert.equal(claims.sub, user.sub);
  assert.equal(claims.aud, client.client_id);
  assert.ok(claims.at_hash, 'ID token has at_hash');
  assert.ok(tokens.refresh_token, 'offline_access gives a refresh token');
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  ok(label, `authorizationCodeGrant (ID token ${client.id_token_signed_response_alg}, sub ${claims.sub})`);

  const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.equal(info.sub, user.sub);
  assert.equal(info.email, user.email);
  assert.equal(info.given_name, user.givenName);
  ok(label, 'fetchUserInfo');

  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
  assert.ok(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token, 'refresh token rotated');
  assert.ok(refreshed.id_token && refreshed.id_token !== tokens.id_token, 'new ID token');
  assert.equal(refreshed.claims().sub, claims.sub);
  ok(label, 'refreshTokenGrant rotated the refresh token and issued a new ID token');

  const isPublic = client.token_endpoint_auth_method === 'none';
  if (isPublic) {
    // A public client cannot authenticate, so the provider refuses to introspect for it.
    await assert.rejects(oidc.tokenIntrospection(config, refreshed.access_token), (err) => {
      // 401 with WWW-Authenticate: Basic (invalid_client).
      assert.equal(err.status ?? err.response?.status, 401, String(err));
      return true;
    });
    ok(label, 'tokenIntrospection: refused for a public client (invalid_client)');
  } else {
    const active = await oidc.tokenIntrospection(config, refreshed.access_token);
    assert.equal(active.active, true);
    assert.equal(active.sub, user.sub);
    assert.equal(active.client_id, client.client_id);
    ok(label, 'tokenIntrospection: active');
  }

  await oidc.tokenRevocation(config, refreshed.refresh_token);
  await assert.rejects(oidc.refreshTokenGrant(config, refreshed.refresh_token), (err) => {
    assert.ok(err instanceof oidc.ResponseBodyError, String(err));
    assert.equal(err.error, 'invalid_grant');
    return true;
  });
  if (isPublic) {
    await assert.rejects(oidc.fetchUserInfo(config, refreshed.access_token, claims.sub));
  } else {
    const revoked = await oidc.tokenIntrospection(config, refreshed.access_token);
    assert.equal(revoked.active, false);
  }
  ok(label, 'tokenRevocation: refresh token refused, its access token inactive');
}

for (const client of clients) await run(client);
console.log(`node: ${clients.length} clients passed`);
