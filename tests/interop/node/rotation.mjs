// A signing-key rotation under a running openid-client v6 relying party: one
// Configuration, discovered once, logs in (ID token by key A); `idp keys rotate`
// starts a rotation on the running provider; once the new key B signs, the same
// Configuration logs in again and openid-client, which caches the JWKS, fetches it
// again by itself for the unknown kid. The old ID token still verifies against the
// JWKS fetched after the rotation (A is retired, still published), and UserInfo
// takes both access tokens. Neither the provider nor the client restarts.
//
// Inputs (set by ../run.sh): those of test.mjs, plus INTEROP_IDP, a command that
// runs the `idp` CLI on the provider's database and configuration.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import { clientAuth, clients, env, issuer, ok, signIn, user } from './common.mjs';

// openid-client (oauth4webapi) fetches the JWKS again for an unknown kid only once
// its cached copy is at least this old (in seconds), and always after 300 s.
const REFETCH_AGE = 60;

const idp = env('INTEROP_IDP');
const keys = (...args) => JSON.parse(execFileSync(idp, ['keys', ...args, '--json'], { encoding: 'utf8' }));
const kidOf = (jwt) => jose.decodeProtectedHeader(jwt).kid;
const now = () => Math.floor(Date.now() / 1000);

const client = clients.find(
  (c) => c.token_endpoint_auth_method === 'client_secret_basic' && c.id_token_signed_response_alg === 'RS256',
);
assert.ok(client, 'an RS256 client_secret_basic client');
const label = `rotation ${client.client_name}`;
const redirectUri = client.redirect_uris[0];

// The relying party, created once.
const config = await oidc.discovery(
  new URL(issuer),
  client.client_id,
  { id_token_signed_response_alg: 'RS256' },
  clientAuth(client),
  { execute: [oidc.allowInsecureRequests] }, // plain http, loopback only
);
// openid-client takes an ID token from the token endpoint on the strength of TLS
// (OIDC Core §3.1.3.7) unless told to verify its signature: do, with its JWKS cache.
oidc.enableNonRepudiationChecks(config);

// A login: openid-client checks state, iss, PKCE, nonce and the ID token (claims,
// at_hash, and the signature by a key of its cached JWKS).
async function logIn() {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid profile email',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  const callback = await signIn(label, url, redirectUri);
  const tokens = await oidc.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  assert.equal(tokens.claims().sub, user.sub);
  return tokens;
}

async function userInfoWorks(accessToken) {
  const info = await oidc.fetchUserInfo(config, accessToken, user.sub);
  assert.equal(info.sub, user.sub);
  assert.equal(info.email, user.email);
}

// Before: key A signs; openid-client fetched and cached the JWKS to verify it.
const first = await logIn();
const kidA = kidOf(first.id_token);
const cached = oidc.getJwksCache(config);
assert.ok(cached, 'openid-client cached the JWKS');
// The cache object is openid-client's own and changes on a refetch: copy what counts.
const firstFetch = cached.uat;
assert.ok(cached.jwks.keys.some((k) => k.kid === kidA));
await userInfoWorks(first.access_token);
ok(label, `login before the rotation: ID token by ${kidA}, UserInfo`);

// The operator rotates RS256 on the running provider.
const [rotated] = keys('rotate', '--alg', 'RS256');
assert.equal(rotated.alg, 'RS256');
const kidB = rotated.kid;
assert.notEqual(kidB, kidA);
ok(label, `idp keys rotate: ${kidB} published, signs from ${rotated.activates_at}`);

// The provider starts signing with B by itself at activates_at.
const deadline = now() + 60;
for (;;) {
  const listed = keys('list');
  const state = (kid) => listed.find((k) => k.kid === kid)?.state;
  if (state(kidB) === 'active') {
    assert.equal(state(kidA), 'retired');
    break;
  }
  assert.ok(now() < deadline, `${kidB} did not start signing: ${JSON.stringify(listed)}`);
  await sleep(250);
}
ok(label, `${kidB} active, ${kidA} retired`);

// openid-client refuses an unknown kid while its JWKS copy is younger than
// REFETCH_AGE. With the default keys.publish_margin_seconds (60) a key is published
// at least 62 s before it signs, so a copy without it is always old enough by then;
// this test's rotation takes 3 s (margin 0), so it waits out the rest of the minute.
const wait = firstFetch + REFETCH_AGE - now();
if (wait > 0) {
  console.log(`wait ${wait}s: openid-client refetches a JWKS for an unknown kid once its copy is ${REFETCH_AGE}s old`);
  await sleep(wait * 1000);
}

// After: the same Configuration logs in; the ID token names B, which openid-client
// did not have: it fetched the JWKS again itself, and verified.
const second = await logIn();
assert.equal(kidOf(second.id_token), kidB, 'the new key signs');
const refetched = oidc.getJwksCache(config);
assert.ok(refetched.uat > firstFetch, 'openid-client fetched the JWKS again');
const kids = refetched.jwks.keys.map((k) => k.kid);
assert.ok(kids.includes(kidA) && kids.includes(kidB), `JWKS after the rotation: ${kids}`);
ok(label, `login after the rotation: ID token by ${kidB}, verified after openid-client refetched the JWKS`);

// The old ID token still verifies against the JWKS fetched after the rotation.
const old = await jose.jwtVerify(first.id_token, jose.createLocalJWKSet(refetched.jwks), {
  issuer,
  audience: client.client_id,
  algorithms: ['RS256'],
});
assert.equal(old.protectedHeader.kid, kidA);
assert.equal(old.payload.sub, user.sub);
ok(label, `the ID token by ${kidA} verifies against the JWKS fetched after the rotation`);

// Both access tokens (JWTs by A and by B) work at UserInfo.
assert.equal(kidOf(first.access_token), kidA);
assert.equal(kidOf(second.access_token), kidB);
await userInfoWorks(first.access_token);
await userInfoWorks(second.access_token);
ok(label, 'UserInfo takes the access tokens by both keys');
console.log('node rotation: passed');
