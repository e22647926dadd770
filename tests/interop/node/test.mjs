// Authorization code + PKCE against the provider with openid-client v6.
// Inputs (set by ../run.sh): INTEROP_ISSUER, INTEROP_CLIENTS (a JSON array of
// `idp clients create --json` outputs), INTEROP_USERNAME, INTEROP_PASSWORD,
// INTEROP_EMAIL, INTEROP_GIVEN_NAME, INTEROP_SUB.
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';

const env = (name) => {
  const value = process.env[name];
  assert.ok(value, `${name} is not set`);
  return value;
};
const issuer = env('INTEROP_ISSUER');
const clients = JSON.parse(env('INTEROP_CLIENTS'));
const user = {
  username: env('INTEROP_USERNAME'),
  password: env('INTEROP_PASSWORD'),
  email: env('INTEROP_EMAIL'),
  givenName: env('INTEROP_GIVEN_NAME'),
  sub: env('INTEROP_SUB'),
};

const ok = (label, what) => console.log(`ok   node ${label}: ${what}`);

// The browser: fetch without following redirects, plus a minimal cookie jar.
function browser() {
  const jar = new Map();
  return async function get(url, init = {}) {
    const headers = new Headers(init.headers);
    if (jar.size) headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(new URL(url, issuer), { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair.indexOf('=');
      jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    return res;
  };
}

function hiddenInput(html, name) {
  const match = html.match(new RegExp(`<input type="hidden" name="${name}" value="([^"]*)">`));
  assert.ok(match, `login form has no hidden ${name}`);
  return match[1];
}

// Logs in as the user and returns the URL the provider redirects back to.
async function signIn(label, authorizationUrl, redirectUri) {
  const get = browser();
  let res = await get(authorizationUrl);
  assert.equal(res.status, 303, 'GET /authorize');
  const loginUrl = new URL(res.headers.get('location'), issuer);
  assert.equal(loginUrl.pathname, '/login');
  const requestId = loginUrl.searchParams.get('request_id');
  assert.ok(requestId);

  res = await get(loginUrl);
  assert.equal(res.status, 200, 'GET /login');
  const html = await res.text();
  assert.equal(hiddenInput(html, 'request_id'), requestId);
  const form = new URLSearchParams({
    username: user.username,
    password: user.password,
    csrf_token: hiddenInput(html, 'csrf_token'),
    request_id: requestId,
  });
  res = await get('/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form,
  });
  assert.equal(res.status, 303, 'POST /login');
  const resume = new URL(res.headers.get('location'), issuer);
  assert.equal(resume.pathname, '/authorize/resume');
  assert.equal(resume.searchParams.get('request_id'), requestId);

  res = await get(resume);
  assert.equal(res.status, 302, 'GET /authorize/resume');
  const callback = new URL(res.headers.get('location'));
  assert.equal(`${callback.origin}${callback.pathname}`, redirectUri);
  for (const p of ['code', 'state', 'iss']) assert.ok(callback.searchParams.get(p), `callback has ${p}`);
  ok(label, 'browser login redirected to the client with code, state and iss');
  return callback;
}

function clientAuth(client) {
  switch (client.token_endpoint_auth_method) {
    case 'client_secret_basic': return oidc.ClientSecretBasic(client.client_secret);
    case 'client_secret_post': return oidc.ClientSecretPost(client.client_secret);
    case 'none': return oidc.None();
    default: throw new Error(`unexpected auth method ${client.token_endpoint_auth_method}`);
  }
}

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

  // Checks state, iss, PKCE, nonce, the ID token signature, claims and at_hash.
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
