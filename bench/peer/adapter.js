// An unbounded in-memory storage adapter for node-oidc-provider.
//
// The built-in development adapter is an LRU of 1000 entries shared by every model:
// a benchmark that issues thousands of codes or opaque tokens evicts the session, the
// grant and the codes themselves before they are used. This one keeps everything
// until it expires (a sweep every 10 s drops expired entries), in plain Maps.

const GRANTABLE = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
]);

const models = new Map(); // model name -> Map(id -> { payload, expiresAt })
const sessionIdByUid = new Map();
const idByUserCode = new Map();
const membersByGrant = new Map(); // grantId -> Set of [model, id]

function storeOf(model) {
  let store = models.get(model);
  if (!store) {
    store = new Map();
    models.set(model, store);
  }
  return store;
}

export default class BenchAdapter {
  constructor(model) {
    this.model = model;
    this.store = storeOf(model);
  }

  lookup(id) {
    const entry = id === undefined ? undefined : this.store.get(id);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.store.delete(id);
      return undefined;
    }
    return entry.payload;
  }

  async upsert(id, payload, expiresIn) {
    const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Infinity;
    this.store.set(id, { payload, expiresAt });
    if (this.model === 'Session' && payload.uid) sessionIdByUid.set(payload.uid, id);
    if (payload.userCode) idByUserCode.set(payload.userCode, id);
    if (payload.grantId && GRANTABLE.has(this.model)) {
      let members = membersByGrant.get(payload.grantId);
      if (!members) {
        members = new Set();
        membersByGrant.set(payload.grantId, members);
      }
      members.add([this.model, id]);
    }
  }

  async find(id) {
    return this.lookup(id);
  }

  async findByUid(uid) {
    return this.lookup(sessionIdByUid.get(uid));
  }

  async findByUserCode(userCode) {
    return this.lookup(idByUserCode.get(userCode));
  }

  async consume(id) {
    const payload = this.lookup(id);
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    this.store.delete(id);
  }

  async revokeByGrantId(grantId) {
    const members = membersByGrant.get(grantId);
    if (!members) return;
    for (const [model, id] of members) storeOf(model).delete(id);
    membersByGrant.delete(grantId);
  }
}

setInterval(() => {
  const now = Date.now();
  for (const store of models.values()) {
    for (const [id, entry] of store) {
      if (entry.expiresAt <= now) store.delete(id);
    }
  }
  for (const [grantId, members] of membersByGrant) {
    for (const member of members) {
      if (!storeOf(member[0]).has(member[1])) members.delete(member);
    }
    if (members.size === 0) membersByGrant.delete(grantId);
  }
}, 10_000).unref();
