// A real OpenID provider for the SSO tests (tests/test_sso.py): panva's oidc-provider, OpenID Certified,
// configured from a JSON file whose path is the first argument:
//   {"issuer", "port", "keys": [private JWKs], "clients": [client metadata], "users": {"id": {claims}},
//    "id_token_ttl": seconds, "skew_seconds": seconds added to this process's clock}
// Nothing here is a stub of the protocol: discovery, JWKS, PKCE, the token endpoint, ID token signing,
// RP-initiated and back-channel logout are the library's own. Only the login screen is scripted, so a test can
// sign in without a browser:
//   GET  /interaction/<uid>          -> JSON {"uid", "prompt", "client_id"}
//   POST /interaction/<uid>/login    login=<user id>   (no password: the test is the user)
// and two helpers for the tests:
//   POST /__test/backchannel-sink    where clients' back-channel logout tokens are sent (kept in memory)
//   GET  /__test/backchannel-tokens  the logout tokens received so far, as JSON
//   POST /__test/clock               seconds=<n>: move this provider's clock by n seconds from now on
// "skew_seconds" (or /__test/clock) moves this provider's clock: a provider whose clock is wrong issues ID tokens that
// are already expired for everyone else (the expired-ID-token test).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
let skewMs = (config.skew_seconds || 0) * 1000;
const realNow = Date.now;
Date.now = () => realNow() + skewMs;

const users = config.users || {};
const sinkTokens = [];

const provider = new Provider(config.issuer, {
  clients: config.clients,
  jwks: { keys: config.keys },
  cookies: { keys: ['xinfang-test-provider-cookie-key'] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: { enabled: true },
    backchannelLogout: { enabled: true },
  },
  pkce: { required: () => true },
  // The back-channel logout tokens go to the sink on this same loopback address, which the library's SSRF guard
  // (rightly) refuses by default: this test provider lets them through.
  fetch: (url, options) => globalThis.fetch(url, { ...options, dispatcher: undefined }),
  ttl: { IdToken: config.id_token_ttl || 600, AccessToken: 600, AuthorizationCode: 60, Interaction: 3600, Session: 7200, Grant: 3600 },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  // Consent is not what these tests are about: every requested scope and claim is granted once the user signed in.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({ accountId: ctx.oidc.session.accountId, clientId: ctx.oidc.client.clientId });
    grant.addOIDCScope(ctx.oidc.requestParamScopes ? [...ctx.oidc.requestParamScopes].join(' ') : 'openid');
    await grant.save();
    return grant;
  },
  async findAccount(ctx, id) {
    if (!users[id]) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...users[id] }; } };
  },
  renderError(ctx, out) {
    ctx.type = 'json';
    ctx.body = out;
  },
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));
provider.on('backchannel.error', (ctx, err, client) => console.error('backchannel.error', client.clientId, err.message, err.cause && err.cause.message));

function readBody(req) {
  return new Promise((resolve) => {
    let data = '';
    req.on('data', (chunk) => { data += chunk; });
    req.on('end', () => resolve(new URLSearchParams(data)));
  });
}

const providerCallback = provider.callback();
const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, config.issuer);
  try {
    const login = url.pathname.match(/^\/interaction\/([^/]+)\/login$/);
    if (req.method === 'POST' && login) {
      const body = await readBody(req);
      await provider.interactionDetails(req, res);  // refuses an interaction that is not this browser's
      if (!users[body.get('login')]) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'unknown user' }));
        return;
      }
      await provider.interactionFinished(req, res, { login: { accountId: body.get('login') } }, { mergeWithLastSubmission: false });
      return;
    }
    if (req.method === 'GET' && /^\/interaction\/[^/]+$/.test(url.pathname)) {
      const details = await provider.interactionDetails(req, res);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ uid: details.uid, prompt: details.prompt.name, client_id: details.params.client_id }));
      return;
    }
    if (req.method === 'POST' && url.pathname === '/__test/backchannel-sink') {
      const body = await readBody(req);
      sinkTokens.push(body.get('logout_token'));
      res.writeHead(200);
      res.end();
      return;
    }
    if (req.method === 'POST' && url.pathname === '/__test/clock') {
      skewMs = Number((await readBody(req)).get('seconds') || 0) * 1000;
      res.writeHead(204);
      res.end();
      return;
    }
    if (req.method === 'GET' && url.pathname === '/__test/backchannel-tokens') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(sinkTokens));
      return;
    }
  } catch (err) {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: String(err && err.message) }));
    return;
  }
  providerCallback(req, res);
});
server.listen(config.port, '127.0.0.1', () => console.log(`oidc-provider listening on ${config.issuer}`));
