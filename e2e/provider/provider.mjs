// A loopback OpenID Connect provider for msal-rs's end-to-end tests, built on oidc-provider
// (OpenID Certified). It behaves like Microsoft Entra ID towards a public client: see ../README.md.
// It also serves a proof-of-possession protected resource, GET /resource/... (see "PoP" below).
//
//   PORT=0 node provider.mjs      # prints exactly one stdout line: READY http://127.0.0.1:{port}
//
// Environment (all optional):
//   PORT             port on 127.0.0.1 (default 0: a free port)
//   AT_TTL           access token lifetime in seconds (default 3600)
//   ID_TTL           ID token lifetime in seconds (default 3600)
//   RT_TTL           refresh token lifetime in seconds (default 86400)
//   DEVICE_INTERVAL  device flow polling interval in seconds (default 5), announced as `interval`
//                    and enforced with `slow_down`
//   DEVICE_CODE_TTL  device code lifetime in seconds (default 600)
//   CLIENT_INFO      1 (default): answer `client_info=1` token requests with Entra's `client_info`;
//                    0: never send client_info
//   REDIRECT_URIS    extra redirect URIs for msal-rs-e2e, comma-separated
//
// Everything but the READY line goes to stderr.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import querystring from 'node:querystring';

// oidc-provider prints its notices with console.info (stdout); stdout is reserved for READY.
console.log = console.error;
console.info = console.error;

const { default: Provider, errors, interactionPolicy } = await import('oidc-provider');
const jose = await import('jose');

// ---------------------------------------------------------------------------------------------
// Settings

function intEnv(name, fallback, min = 0) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) {
    console.error(`provider.mjs: ${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return n;
}

const PORT = intEnv('PORT', 0);
const AT_TTL = intEnv('AT_TTL', 3600, 1);
const ID_TTL = intEnv('ID_TTL', 3600, 1);
const RT_TTL = intEnv('RT_TTL', 86400, 1);
const DEVICE_INTERVAL = intEnv('DEVICE_INTERVAL', 5, 1);
const DEVICE_CODE_TTL = intEnv('DEVICE_CODE_TTL', 600, 1);
const CLIENT_INFO = process.env.CLIENT_INFO !== '0';
const EXTRA_REDIRECT_URIS = (process.env.REDIRECT_URIS || '').split(',').map((s) => s.trim()).filter(Boolean);

export const PUBLIC_CLIENT_ID = 'msal-rs-e2e';
export const CONFIDENTIAL_CLIENT_ID = 'msal-rs-e2e-confidential';
export const CONFIDENTIAL_CLIENT_SECRET = 'e2e-secret';
// A confidential client authenticating with a certificate (private_key_jwt): its key is the
// public key of the committed test certificate msal-tests/data/certs/cert.pem.
export const CERTIFICATE_CLIENT_ID = 'msal-rs-e2e-certificate';
const CERTIFICATE_PUBLIC_KEY = crypto.createPublicKey(
  fs.readFileSync(new URL('../../msal-tests/data/certs/public.pem', import.meta.url)),
).export({ format: 'jwk' });
const TENANT_ID = 'e2e00000-0000-4000-8000-000000000000'; // utid in client_info
const API_RESOURCE = 'api://e2e';
const API_SCOPES = ['api://e2e/read', 'api://e2e/write', 'api://e2e/.default'];

// The one test user.
const USERS = new Map([
  ['alice', {
    accountId: 'alice',
    login: 'alice@example.com',
    password: 'correct horse',
    claims: {
      sub: 'alice',
      email: 'alice@example.com',
      email_verified: true,
      preferred_username: 'alice@example.com',
      name: 'Alice Example',
    },
  }],
]);

// ---------------------------------------------------------------------------------------------
// Small HTML helpers. Every page carries data-e2e-page on <body> so automation knows where it is.

const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
}[c]));

function page(kind, title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font-family:sans-serif;max-width:28em;margin:2em auto}input,button{display:block;margin:.5em 0;font-size:1em}.error{color:#b00}</style>
</head>
<body data-e2e-page="${kind}">
<h1>${esc(title)}</h1>
${body}
</body>
</html>
`;
}

// ---------------------------------------------------------------------------------------------
// PoP (proof of possession, Entra's signed HTTP request tokens)

// The key id a token request binds its token to: undefined without token_type=pop, else the `kid`
// of req_cnf = base64url({"kid": "<RFC 7638 thumbprint>"}); a malformed req_cnf is invalid_request.
// oidc-provider keeps only the grant's own parameters in ctx.oidc.params, so this reads the body.
function popKid(body) {
  if (body?.token_type !== 'pop') return undefined;
  let kid;
  try {
    ({ kid } = JSON.parse(Buffer.from(String(body.req_cnf ?? ''), 'base64url').toString()));
  } catch {
    kid = undefined;
  }
  if (typeof kid !== 'string' || !/^[\w-]{16,128}$/.test(kid)) {
    throw new errors.InvalidRequest('token_type=pop needs req_cnf: base64url of {"kid":"<JWK thumbprint>"}');
  }
  return kid;
}

// ---------------------------------------------------------------------------------------------
// Configuration

// Entra accepts prompt=select_account; oidc-provider only knows the prompts of its policy.
// Register it (requestable: when asked for, the End-User goes through the login page again).
const policy = interactionPolicy.base();
policy.add(new interactionPolicy.Prompt({ name: 'select_account', requestable: true }), 0);
// oidc-provider asks native clients for consent on every authorization request (check
// native_client_prompt); Entra asks only for what was not granted yet.
policy.get('consent').checks.remove('native_client_prompt');

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = {
  ...privateKey.export({ format: 'jwk' }),
  kid: crypto.randomBytes(8).toString('hex'),
  alg: 'RS256',
  use: 'sig',
};

// Original prompt values, stashed by the middleware below (see "offline_access").
const STASH_PARAM = 'x_e2e_prompt';
const STASH_ABSENT = '-';
const SUPPORTED_PROMPTS = new Set(['none', 'login', 'consent', 'select_account']);

const configuration = {
  clients: [
    {
      client_id: PUBLIC_CLIENT_ID,
      client_name: 'msal-rs e2e (public)',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
      response_types: ['code'],
      // Native client + loopback: any port is accepted (RFC 8252 §7.3); the path must match.
      redirect_uris: [
        'http://localhost', 'http://localhost/',
        'http://127.0.0.1', 'http://127.0.0.1/',
        ...EXTRA_REDIRECT_URIS,
      ],
    },
    {
      client_id: CONFIDENTIAL_CLIENT_ID,
      client_name: 'msal-rs e2e (confidential)',
      client_secret: CONFIDENTIAL_CLIENT_SECRET,
      application_type: 'web',
      token_endpoint_auth_method: 'client_secret_post', // client_secret_basic is accepted as well
      grant_types: ['client_credentials', 'authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://localhost/', 'http://127.0.0.1/'],
    },
    {
      client_id: CERTIFICATE_CLIENT_ID,
      client_name: 'msal-rs e2e (confidential, certificate)',
      application_type: 'web',
      // Client assertion JWTs signed with the certificate's key: RS256 (what msal-rs sends a
      // generic OIDC provider) or PS256 (what it sends Entra), verified against `jwks`.
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [{ ...CERTIFICATE_PUBLIC_KEY, use: 'sig' }] },
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    },
  ],

  async findAccount(_ctx, sub) {
    const user = USERS.get(sub);
    if (!user) return undefined;
    return {
      accountId: user.accountId,
      async claims() {
        return { ...user.claims };
      },
    };
  },

  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
  },
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  // Like Entra: the ID token carries the profile/email claims itself.
  conformIdTokenClaims: false,

  // Keys: one fresh RS256 signing key per run (Entra signs with RS256).
  jwks: { keys: [signingKey] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },

  pkce: { required: () => true }, // S256 only is oidc-provider's default

  features: {
    devInteractions: { enabled: false }, // our own login/consent pages below
    deviceFlow: {
      enabled: true,
      charset: 'base-20',
      mask: '****-****',
      userCodeInputSource,
      userCodeConfirmSource,
      successSource,
    },
    resourceIndicators: {
      enabled: true,
      // Entra derives the resource from the scopes (api://e2e/read -> api://e2e); so do we.
      async defaultResource(ctx, _client, oneOf) {
        if (oneOf) return oneOf;
        const scopes = String(ctx.oidc.params?.scope || '').split(' ');
        return scopes.some((s) => s.startsWith(`${API_RESOURCE}/`)) ? API_RESOURCE : undefined;
      },
      useGrantedResource: () => true,
      async getResourceServerInfo(_ctx, resourceIndicator) {
        if (resourceIndicator !== API_RESOURCE) throw new errors.InvalidTarget();
        return {
          scope: API_SCOPES.join(' '),
          audience: API_RESOURCE,
          accessTokenTTL: AT_TTL,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
    clientCredentials: { enabled: true },
    revocation: { enabled: true },
    userinfo: { enabled: true },
  },

  // Entra issues a refresh token whenever offline_access is granted; so does oidc-provider once
  // offline_access survives the authorization request (see the middleware below).
  async issueRefreshToken(_ctx, client, code) {
    return client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access');
  },
  rotateRefreshToken: true,

  ttl: {
    AccessToken: AT_TTL,
    ClientCredentials: AT_TTL,
    IdToken: ID_TTL,
    RefreshToken: RT_TTL,
    AuthorizationCode: 300,
    DeviceCode: DEVICE_CODE_TTL,
    Interaction: 3600,
    Session: 14 * 24 * 3600,
    Grant: 14 * 24 * 3600,
  },

  // PoP like Entra: a token request with token_type=pop binds the access token to the key named
  // by req_cnf (its `cnf.kid`); the response's token_type is set by the middleware below.
  async extraTokenClaims(ctx) {
    const kid = popKid(ctx?.oidc?.body);
    return kid === undefined ? undefined : { cnf: { kid } };
  },

  // Restores the prompt stashed by the middleware, after checkScope has kept offline_access.
  extraParams: {
    async [STASH_PARAM](ctx, value) {
      if (value === undefined || ctx.oidc.route !== 'authorization') return;
      ctx.oidc.params[STASH_PARAM] = undefined;
      const original = value === STASH_ABSENT ? undefined : value;
      if (original !== undefined) {
        const prompts = new Set(original.split(' ').filter(Boolean));
        for (const p of prompts) {
          if (!SUPPORTED_PROMPTS.has(p)) throw new errors.InvalidRequest('unsupported prompt value requested');
        }
        if (prompts.has('none') && prompts.size !== 1) {
          throw new errors.InvalidRequest('prompt none must only be used alone');
        }
        // max_age=0 adds login (checkMaxAge ran before us): keep that.
        if (ctx.oidc.params.prompt?.split(' ').includes('login')) prompts.add('login');
        ctx.oidc.params.prompt = [...prompts].join(' ') || undefined;
      } else {
        const kept = (ctx.oidc.params.prompt || '').split(' ').filter((p) => p === 'login');
        ctx.oidc.params.prompt = kept.length ? kept.join(' ') : undefined;
      }
    },
  },

  interactions: {
    policy,
    url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
  },

  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('error', 'Error', `<p id="error" class="error">${esc(out.error)}</p>
<p id="error-description">${esc(out.error_description)}</p>`);
  },
};

// ---------------------------------------------------------------------------------------------
// Device flow pages (oidc-provider renders the forms; we wrap them with stable ids)

async function userCodeInputSource(ctx, form, _out, err) {
  // Without an error: the code input page. With one (wrong code, or the request was aborted or
  // denied after the code was accepted): the same form under an error message, page kind device-error.
  let msg = '<p>Enter the code displayed on your device</p>';
  if (err) {
    let text = 'There was an error processing your request';
    if (err.userCode || err.name === 'NoCodeError') text = 'The code you entered is incorrect. Try again';
    else if (err.name === 'AbortedError') text = 'The sign-in request was aborted';
    else if (err.error === 'access_denied') text = 'The sign-in request was denied';
    const code = err.error || err.name;
    msg = `<p id="error" class="error" data-error="${esc(code)}">${esc(text)}</p>`;
    console.error(`device flow page error: ${code}: ${err.error_description || err.message}`);
  }
  ctx.type = 'html';
  ctx.body = page(err ? 'device-error' : 'device-input', 'Device sign-in', `${msg}
${form.replace('name="user_code"', 'id="user-code" name="user_code"')}
<button id="submit" type="submit" form="op.deviceInputForm">Continue</button>`);
}

async function userCodeConfirmSource(ctx, form, client, _deviceInfo, userCode) {
  ctx.type = 'html';
  ctx.body = page('device-confirm', 'Confirm device', `<p><strong id="client">${esc(client.clientName || client.clientId)}</strong>
is asking to sign in. The code shown on the device should be <code id="code">${esc(userCode)}</code>.</p>
${form}
<button id="confirm" type="submit" form="op.deviceConfirmForm">Continue</button>
<button id="abort" type="submit" form="op.deviceConfirmForm" name="abort" value="yes">Abort</button>`);
}

async function successSource(ctx) {
  ctx.type = 'html';
  ctx.body = page('device-success', 'Sign-in success', '<p id="success">You are signed in on your device. You can close this page.</p>');
}

// ---------------------------------------------------------------------------------------------
// Provider

const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(PORT, '127.0.0.1', resolve);
});
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, configuration);
provider.proxy = false;

// Log every request and every server error to stderr.
provider.use(async (ctx, next) => {
  const started = Date.now();
  try {
    await next();
  } finally {
    console.error(`${new Date().toISOString()} ${ctx.method} ${ctx.path} -> ${ctx.status} (${Date.now() - started} ms)`
      + (ctx.body?.error ? ` ${ctx.body.error}: ${ctx.body.error_description ?? ''}` : ''));
  }
});
provider.on('server_error', (_ctx, err) => console.error('server_error', err));

// offline_access: oidc-provider's checkScope drops it from an authorization request unless the
// prompt includes consent (OpenID Connect Core §11); Entra grants it whatever the prompt. So, for
// authorization requests asking for offline_access without prompt=consent, swap the prompt for
// `consent` and stash the original in x_e2e_prompt; the extraParams validator above, which runs
// after checkScope, puts it back (so prompt=none/login keep their meaning).
provider.use(async (ctx, next) => {
  if (ctx.method === 'GET' && ctx.path === '/auth') {
    const q = new URLSearchParams(ctx.querystring);
    const scopes = (q.get('scope') || '').split(' ');
    const prompts = (q.get('prompt') || '').split(' ').filter(Boolean);
    if (scopes.includes('offline_access') && !prompts.includes('consent') && !q.has(STASH_PARAM)) {
      q.set(STASH_PARAM, prompts.length ? prompts.join(' ') : STASH_ABSENT);
      q.set('prompt', 'consent');
      ctx.querystring = q.toString();
    }
  }
  await next();
});

// Device flow like Entra: `interval` and a `message` in the device authorization response, and
// slow_down (RFC 8628 §3.5) for a client that polls faster than the interval (which then grows by 5 s).
const devicePolls = new Map(); // device_code -> { last: ms, interval: s }
provider.use(async (ctx, next) => {
  await next();
  if (ctx.method !== 'POST') return;
  if (ctx.path === '/device/auth' && ctx.status === 200 && ctx.body?.device_code) {
    ctx.body = {
      ...ctx.body,
      interval: DEVICE_INTERVAL,
      message: `To sign in, use a web browser to open the page ${ctx.body.verification_uri} and enter the code ${ctx.body.user_code} to authenticate.`,
    };
    devicePolls.set(ctx.body.device_code, { last: 0, interval: DEVICE_INTERVAL });
  } else if (ctx.path === '/token' && ctx.oidc?.body?.grant_type === 'urn:ietf:params:oauth:grant-type:device_code') {
    const code = ctx.oidc.body.device_code;
    const now = Date.now();
    const state = devicePolls.get(code) || { last: 0, interval: DEVICE_INTERVAL };
    const tooSoon = state.last && now - state.last < state.interval * 1000 - 250;
    state.last = now;
    devicePolls.set(code, state);
    if (tooSoon && ctx.status === 400 && ctx.body?.error === 'authorization_pending') {
      state.interval += 5;
      ctx.body = { error: 'slow_down', error_description: `poll no more often than every ${state.interval} seconds` };
    }
  }
});

// client_info, like Entra, for token requests with client_info=1: base64url({"uid","utid"}).
provider.use(async (ctx, next) => {
  await next();
  if (!CLIENT_INFO || ctx.method !== 'POST' || ctx.path !== '/token' || ctx.status !== 200) return;
  if (ctx.oidc?.body?.client_info !== '1' || !ctx.body?.id_token) return;
  const payload = JSON.parse(Buffer.from(ctx.body.id_token.split('.')[1], 'base64url').toString());
  const clientInfo = Buffer.from(JSON.stringify({ uid: payload.sub, utid: TENANT_ID })).toString('base64url');
  ctx.body = { ...ctx.body, client_info: clientInfo };
});

// PoP, token endpoint: a token_type=pop request gets token_type pop (the token carries cnf.kid,
// see extraTokenClaims and popKid); other requests are left as they are (Bearer).
provider.use(async (ctx, next) => {
  await next();
  if (ctx.method !== 'POST' || ctx.path !== '/token' || ctx.status !== 200) return;
  if (ctx.oidc?.body?.token_type !== 'pop' || !ctx.body?.access_token) return;
  ctx.body = { ...ctx.body, token_type: 'pop' };
});

// PoP, resource: any request under /resource/ needs `Authorization: PoP <signed HTTP request>`
// (Bearer is refused), checked with jose alone (neither msal-rs's nor oidc-provider's code):
//   signature  the SHR (a JWS, RS256) verifies with the public key it carries, cnf.jwk
//   typ        its header's typ is "pop"
//   at         its `at` is a JWT access token of this issuer (its JWKS) for audience api://e2e
//   cnf.kid    that token is bound to the SHR's key: its cnf.kid is cnf.jwk's RFC 7638 thumbprint
//   m, u, p    the SHR is for this request: method, Host (with the port), path (not the query)
//   ts         it was signed within SHR_MAX_AGE_S of now (either way)
// 200 {"ok":true,"sub":...} or 401 {"ok":false,"error":"invalid_token","check":<the check above,
// or "scheme">,"error_description":...} with a WWW-Authenticate: PoP challenge.
const SHR_MAX_AGE_S = 300;
const accessTokenKeys = jose.createLocalJWKSet({
  keys: [{ ...crypto.createPublicKey(privateKey).export({ format: 'jwk' }), kid: signingKey.kid, alg: 'RS256', use: 'sig' }],
});

class Refused extends Error {
  constructor(check, reason) {
    super(`${check}: ${reason}`);
    this.check = check;
  }
}
const refuse = (check, reason) => { throw new Refused(check, reason); };

// The `at` token's claims if `Authorization` holds a valid SHR for this request; else throws Refused.
async function checkSignedHttpRequest(ctx) {
  const [scheme, shr, ...rest] = (ctx.get('authorization') || '').split(' ');
  if (scheme?.toLowerCase() !== 'pop' || !shr || rest.length) {
    refuse('scheme', 'this resource requires Authorization: PoP <signed HTTP request>');
  }
  let jwk;
  try {
    jwk = jose.decodeJwt(shr).cnf?.jwk;
  } catch (e) {
    refuse('signature', `not a JWS: ${e.message}`);
  }
  if (jwk?.kty !== 'RSA' || jwk.d !== undefined) refuse('signature', 'cnf.jwk is not an RSA public key');
  let verified;
  try {
    verified = await jose.compactVerify(shr, await jose.importJWK(jwk, 'RS256'), { algorithms: ['RS256'] });
  } catch (e) {
    refuse('signature', e.message);
  }
  if (verified.protectedHeader.typ !== 'pop') refuse('typ', `header typ is ${JSON.stringify(verified.protectedHeader.typ)}`);
  const shrClaims = JSON.parse(new TextDecoder().decode(verified.payload));
  let at;
  try {
    ({ payload: at } = await jose.jwtVerify(String(shrClaims.at), accessTokenKeys, {
      issuer, audience: API_RESOURCE, algorithms: ['RS256'],
    }));
  } catch (e) {
    refuse('at', e.message);
  }
  if (at.cnf?.kid !== await jose.calculateJwkThumbprint(jwk, 'sha256')) {
    refuse('cnf.kid', 'the access token is not bound to the key that signed the request');
  }
  if (shrClaims.m !== ctx.method) refuse('m', `signed for ${shrClaims.m}, sent with ${ctx.method}`);
  if (shrClaims.u !== ctx.host) refuse('u', `signed for ${shrClaims.u}, sent to ${ctx.host}`);
  if (shrClaims.p !== ctx.path) refuse('p', `signed for ${shrClaims.p}, sent for ${ctx.path}`);
  if (typeof shrClaims.ts !== 'number' || Math.abs(Date.now() / 1000 - shrClaims.ts) > SHR_MAX_AGE_S) {
    refuse('ts', `signed at ${shrClaims.ts}, more than ${SHR_MAX_AGE_S} s from now`);
  }
  return at;
}

provider.use(async (ctx, next) => {
  if (!ctx.path.startsWith('/resource/')) return next();
  ctx.set('cache-control', 'no-store');
  try {
    const at = await checkSignedHttpRequest(ctx);
    ctx.body = { ok: true, sub: at.sub };
  } catch (e) {
    if (!(e instanceof Refused)) throw e;
    const description = e.message.replace(/["\\]/g, "'");
    ctx.status = 401;
    ctx.set('www-authenticate', `PoP realm="e2e", error="invalid_token", error_description="${description}"`);
    ctx.body = { ok: false, error: 'invalid_token', check: e.check, error_description: description };
  }
});

// ---------------------------------------------------------------------------------------------
// Interactions: login (#login, #password, #submit) and consent (#allow, #deny)

async function readForm(ctx) {
  const chunks = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('form too large');
    chunks.push(chunk);
  }
  return querystring.parse(Buffer.concat(chunks).toString());
}

function loginPage(uid, { login = '', error } = {}) {
  return page('login', 'Sign in', `${error ? `<p id="error" class="error">${esc(error)}</p>` : ''}
<form id="login-form" method="post" action="/interaction/${esc(uid)}/login" autocomplete="off">
<label>Email <input id="login" name="login" type="text" value="${esc(login)}" autofocus></label>
<label>Password <input id="password" name="password" type="password"></label>
<button id="submit" type="submit">Sign in</button>
</form>`);
}

function consentPage(uid, clientName, details, params) {
  const scopes = [
    ...(details.missingOIDCScope || []),
    ...Object.values(details.missingResourceScopes || {}).flat(),
  ];
  const items = scopes.map((s) => `<li class="scope">${esc(s)}</li>`).join('');
  return page('consent', 'Permissions requested', `<p><strong id="client">${esc(clientName)}</strong> would like to:</p>
<ul id="scopes">${items || `<li class="scope">${esc(params.scope || '')}</li>`}</ul>
<form id="allow-form" method="post" action="/interaction/${esc(uid)}/confirm"><button id="allow" type="submit">Continue</button></form>
<form id="deny-form" method="post" action="/interaction/${esc(uid)}/abort"><button id="deny" type="submit">Deny</button></form>`);
}

provider.use(async (ctx, next) => {
  const m = /^\/interaction\/([\w-]+)(?:\/(login|confirm|abort))?$/.exec(ctx.path);
  if (!m) return next();
  const [, uid, action] = m;
  ctx.set('cache-control', 'no-store');
  ctx.type = 'html';
  try {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.uid !== uid) throw new Error('interaction mismatch');
    const { prompt, params, session } = details;
    const finish = async (result) => {
      const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
      ctx.status = 303;
      ctx.redirect(returnTo);
    };

    if (ctx.method === 'GET' && !action) {
      if (prompt.name === 'login' || prompt.name === 'select_account') {
        ctx.body = loginPage(uid, { login: params.login_hint || '' });
        return;
      }
      if (prompt.name === 'consent') {
        const client = await provider.Client.find(params.client_id);
        ctx.body = consentPage(uid, client?.clientName || params.client_id, prompt.details, params);
        return;
      }
      throw new Error(`unexpected prompt ${prompt.name}`);
    }
    if (ctx.method !== 'POST') {
      ctx.status = 405;
      ctx.body = page('error', 'Error', '<p id="error" class="error">method not allowed</p>');
      return;
    }

    if (action === 'login') {
      if (prompt.name !== 'login' && prompt.name !== 'select_account') throw new Error(`login posted during ${prompt.name}`);
      const form = await readForm(ctx);
      const login = String(form.login || '').trim();
      const user = [...USERS.values()].find((u) => u.login.toLowerCase() === login.toLowerCase());
      if (!user || form.password !== user.password) {
        console.error(`interaction ${uid}: failed login for ${JSON.stringify(login)}`);
        ctx.status = 200;
        ctx.body = loginPage(uid, { login, error: 'Invalid email or password.' });
        return;
      }
      const result = { login: { accountId: user.accountId, amr: ['pwd'] } };
      if (prompt.name === 'select_account' || (params.prompt || '').split(' ').includes('select_account')) {
        result.select_account = {};
      }
      await finish(result);
      return;
    }

    if (action === 'confirm') {
      if (prompt.name !== 'consent') throw new Error(`consent posted during ${prompt.name}`);
      const { details: missing } = prompt;
      let { grantId } = details;
      const grant = grantId
        ? await provider.Grant.find(grantId)
        : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes || {})) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
      grantId = await grant.save();
      const consent = details.grantId ? {} : { grantId };
      await finish({ consent });
      return;
    }

    // abort: the End-User denied. The client gets error=access_denied.
    await finish({ error: 'access_denied', error_description: 'End-User denied the request' });
  } catch (err) {
    console.error(`interaction ${uid}${action ? `/${action}` : ''}:`, err);
    ctx.status = err.statusCode || err.status || 400;
    ctx.body = page('error', 'Error', `<p id="error" class="error">${esc(err.error || err.name)}</p>
<p id="error-description">${esc(err.error_description || err.message)}</p>`);
  }
});

server.on('request', provider.callback());

const shutdown = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

console.error(`provider.mjs: issuer ${issuer} (AT_TTL=${AT_TTL} ID_TTL=${ID_TTL} RT_TTL=${RT_TTL} DEVICE_INTERVAL=${DEVICE_INTERVAL})`);
process.stdout.write(`READY ${issuer}\n`);
