// Shared by the interop tests (test.mjs, rotation.mjs): the inputs ../run.sh sets,
// a scripted browser that logs the user in, and openid-client's client
// authentication for a registered client.
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';

export const env = (name) => {
  const value = process.env[name];
  assert.ok(value, `${name} is not set`);
  return value;
};
export const issuer = env('INTEROP_ISSUER');
export const clients = JSON.parse(env('INTEROP_CLIENTS'));
export const user = {
  username: env('INTEROP_USERNAME'),
  password: env('INTEROP_PASSWORD'),
  email: env('INTEROP_EMAIL'),
  givenName: env('INTEROP_GIVEN_NAME'),
  sub: env('INTEROP_SUB'),
};

export const ok = (label, what) => console.log(`ok   node ${label}: ${what}`);

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
export async function signIn(label, authorizationUrl, redirectUri) {
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

export function clientAuth(client) {
  switch (client.token_endpoint_auth_method) {
    case 'client_secret_basic': return oidc.ClientSecretBasic(client.client_secret);
    case 'client_secret_post': return oidc.ClientSecretPost(client.client_secret);
    case 'none': return oidc.None();
    default: throw new Error(`unexpected auth method ${client.token_endpoint_auth_method}`);
  }
}
