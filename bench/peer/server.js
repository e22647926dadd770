// The peer OpenID provider of scripts/bench.sh: node-oidc-provider in one Node
// process, configured as close to ours as it allows.
//
//   PORT, ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI   (all required)
//
// - One confidential client (client_secret_basic; authorization_code, refresh_token,
//   client_credentials; ID tokens RS256; PKCE required).
// - Signing keys generated at start: RSA-2048 (RS256), P-256 (ES256), Ed25519
//   (EdDSA), the same three kinds our provider publishes, so both JWKS carry three keys.
// - Storage: adapter.js, unbounded Maps in this process (the built-in development
//   adapter is a 1000-entry LRU that evicts sessions and codes under load).
// - Access tokens are opaque by default (stored by the adapter). A client_credentials
//   request with resource=urn:bench:rs256 (or urn:bench:es256, urn:bench:eddsa) gets a
//   JWT access token (RFC 9068) signed with that algorithm instead, which is not stored.
// - A refresh token is issued by every code exchange (as ours does), not only with
//   offline_access.
// - Logins use the built-in development interactions (any username and password).
import { generateKeyPairSync, randomBytes } from 'node:crypto';

import Provider, { errors } from 'oidc-provider';

import BenchAdapter from './adapter.js';

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`missing ${name}`);
    process.exit(2);
  }
  return value;
};

const port = Number(env('PORT'));
const issuer = env('ISSUER');
// Resource indicators (RFC 8707) whose access tokens are JWTs signed with `alg`.
const JWT_RESOURCES = {
  'urn:bench:rs256': 'RS256',
  'urn:bench:es256': 'ES256',
  'urn:bench:eddsa': 'EdDSA',
};

const privateJwk = (type, options, alg) => {
  const { privateKey } = generateKeyPairSync(type, options);
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, alg, use: 'sig', kid: `${alg.toLowerCase()}-${randomBytes(4).toString('hex')}` };
};

const jwks = {
  keys: [
    privateJwk('rsa', { modulusLength: 2048 }, 'RS256'),
    privateJwk('ec', { namedCurve: 'P-256' }, 'ES256'),
    privateJwk('ed25519', {}, 'EdDSA'),
  ],
};

const account = (sub) => ({
  accountId: sub,
  async claims() {
    return {
      sub,
      name: sub,
      preferred_username: sub,
      email: `${sub}@example.com`,
      email_verified: false,
      updated_at: 0,
    };
  },
});

const provider = new Provider(issuer, {
  adapter: BenchAdapter,
  clients: [
    {
      client_id: env('CLIENT_ID'),
      client_secret: env('CLIENT_SECRET'),
      redirect_uris: [env('REDIRECT_URI')],
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    },
  ],
  jwks,
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username', 'updated_at'],
    email: ['email', 'email_verified'],
  },
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    userinfo: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (_ctx, _client, oneOf) => oneOf,
      useGrantedResource: async () => false,
      getResourceServerInfo: async (_ctx, resource) => {
        const alg = JWT_RESOURCES[resource];
        if (!alg) throw new errors.InvalidTarget();
        return {
          audience: resource,
          scope: '',
          accessTokenTTL: 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg } },
        };
      },
    },
  },
  findAccount: async (_ctx, sub) => account(sub),
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  ttl: {
    AccessToken: 600,
    AuthorizationCode: 60,
    ClientCredentials: 600,
    IdToken: 600,
    Interaction: 1800,
    Session: 8 * 3600,
    Grant: 30 * 24 * 3600,
    RefreshToken: 14 * 24 * 3600,
  },
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
