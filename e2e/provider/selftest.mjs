// Self-test of the e2e provider and browser automation, without Rust:
//
//   node e2e/provider/selftest.mjs
//
// Starts provider.mjs on a free loopback port, then checks discovery, authorization code + PKCE
// sign-ins through browser.mjs (headless Chromium), code redemption, refresh token rotation and
// reuse detection, consent denial, a wrong password, the device flow (pending, slow_down, success,
// denial) and client credentials. Prints PASS/FAIL per step; exits 1 if any step failed.

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CLIENT_ID = 'msal-rs-e2e';
const AT_TTL = 310;
const DEVICE_INTERVAL = 2;
const VERBOSE = process.env.SELFTEST_VERBOSE === '1';

let failures = 0;
let provider;
let issuer;
const cleanups = [];

function b64url(buf) { return Buffer.from(buf).toString('base64url'); }
function decodeJwt(jwt) { return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString()); }
function sleep(ms) { return new Promise((r) => { setTimeout(r, ms); }); }
function assert(cond, msg) { if (!cond) throw new Error(msg); }

async function step(name, fn) {
  const started = Date.now();
  try {
    const note = await fn();
    console.log(`PASS ${name}${note ? ` (${note})` : ''} [${((Date.now() - started) / 1000).toFixed(1)} s]`);
    return true;
  } catch (e) {
    failures += 1;
    console.log(`FAIL ${name}: ${e.message}`);
    return false;
  }
}

// ---------------------------------------------------------------------------------------------

function startProvider() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(HERE, 'provider.mjs')], {
      env: { ...process.env, PORT: '0', AT_TTL: String(AT_TTL), DEVICE_INTERVAL: String(DEVICE_INTERVAL) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stderr = [];
    child.stderr.on('data', (d) => { stderr.push(d); if (VERBOSE) process.stderr.write(d); });
    const timer = setTimeout(() => reject(new Error(`no READY within 20 s: ${Buffer.concat(stderr)}`)), 20000);
    const lines = readline.createInterface({ input: child.stdout });
    const stdoutLines = [];
    lines.on('line', (line) => {
      stdoutLines.push(line);
      const m = /^READY (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
      if (m && stdoutLines.length === 1) {
        clearTimeout(timer);
        resolve({ child, issuer: m[1], stdoutLines, stderr });
      } else {
        reject(new Error(`unexpected stdout line: ${line}`));
      }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`provider exited (${code}): ${Buffer.concat(stderr)}`)); });
  });
}

// A stand-in for the Rust loopback listener: records the first request's URL.
async function loopbackListener(host = '127.0.0.1') {
  let gotUrl;
  const server = http.createServer((req, res) => {
    gotUrl ??= req.url;
    res.setHeader('content-type', 'text/html');
    res.end('<!DOCTYPE html><html><body data-e2e-page="client">Signed in; you can close this window.</body></html>');
  });
  await new Promise((r) => { server.listen(0, host, r); });
  cleanups.push(() => server.close());
  return { port: server.address().port, url: () => gotUrl, close: () => server.close() };
}

function runBrowser(args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(HERE, 'browser.mjs'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; if (VERBOSE) process.stderr.write(d); });
    child.on('exit', (code) => resolve({ code, out: out.trim(), err }));
  });
}

async function form(url, params, headers = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = { raw: text }; }
  return { status: res.status, json };
}

function pkce() {
  const verifier = b64url(crypto.randomBytes(32));
  const challenge = b64url(crypto.createHash('sha256').update(verifier).digest());
  return { verifier, challenge };
}

function authorizeUrl(disco, { redirectUri, scope, state, nonce, challenge, prompt, method = 'S256' }) {
  const u = new URL(disco.authorization_endpoint);
  u.search = new URLSearchParams({
    client_id: CLIENT_ID,
    response_type: 'code',
    redirect_uri: redirectUri,
    scope,
    state,
    nonce,
    ...(challenge ? { code_challenge: challenge, code_challenge_method: method } : {}),
    ...(prompt ? { prompt } : {}),
    client_info: '1',
  }).toString();
  return u.href;
}

// A whole interactive sign-in: authorize in the browser, redeem the code. Returns the tokens.
async function signIn(disco, { host = 'localhost', slash = '/', scope, prompt }) {
  const listener = await loopbackListener('127.0.0.1');
  const redirectUri = `http://${host}:${listener.port}${slash}`;
  const { verifier, challenge } = pkce();
  const state = b64url(crypto.randomBytes(12));
  const nonce = b64url(crypto.randomBytes(12));
  const url = authorizeUrl(disco, { redirectUri, scope, state, nonce, challenge, prompt });
  const browser = await runBrowser([url]);
  listener.close();
  assert(browser.code === 0, `browser.mjs exited ${browser.code}: ${browser.out} ${browser.err.slice(-500)}`);
  const m = /^DONE (\S+)$/.exec(browser.out);
  assert(m, `browser.mjs printed ${JSON.stringify(browser.out)}`);
  const final = new URL(m[1]);
  assert(final.origin === new URL(redirectUri).origin, `final URL ${final.href} is not at ${redirectUri}`);
  assert(listener.url(), 'the loopback listener got no request');
  assert(new URL(listener.url(), redirectUri).href === final.href, `listener got ${listener.url()}, browser reported ${final.href}`);
  const q = final.searchParams;
  assert(!q.get('error'), `error=${q.get('error')} ${q.get('error_description')}`);
  assert(q.get('state') === state, `state ${q.get('state')} != ${state}`);
  assert(q.get('code'), 'no code');
  const { status, json } = await form(disco.token_endpoint, {
    grant_type: 'authorization_code',
    code: q.get('code'),
    code_verifier: verifier,
    redirect_uri: redirectUri,
    client_id: CLIENT_ID,
    scope, // MSAL sends the scopes again when redeeming the code
    client_info: '1',
  });
  assert(status === 200, `token endpoint ${status}: ${JSON.stringify(json)}`);
  return { tokens: json, nonce, code: q.get('code'), verifier, redirectUri };
}

function checkTokens(tokens, { nonce, scope, refresh = true }) {
  for (const k of ['access_token', 'id_token', 'scope', 'token_type', 'expires_in']) {
    assert(tokens[k] !== undefined, `no ${k} in ${JSON.stringify(Object.keys(tokens))}`);
  }
  if (refresh) assert(tokens.refresh_token, 'no refresh_token');
  assert(tokens.token_type === 'Bearer', `token_type ${tokens.token_type}`);
  assert(tokens.expires_in === AT_TTL, `expires_in ${tokens.expires_in} != AT_TTL ${AT_TTL}`);
  for (const s of scope) assert(tokens.scope.split(' ').includes(s), `scope "${tokens.scope}" lacks ${s}`);
  const id = decodeJwt(tokens.id_token);
  assert(id.iss === issuer, `id_token iss ${id.iss}`);
  assert(id.aud === CLIENT_ID, `id_token aud ${id.aud}`);
  assert(id.sub === 'alice', `id_token sub ${id.sub}`);
  assert(id.preferred_username === 'alice@example.com', `preferred_username ${id.preferred_username}`);
  if (nonce !== undefined) assert(id.nonce === nonce, `id_token nonce ${id.nonce} != ${nonce}`);
  assert(tokens.client_info, 'no client_info');
  const ci = JSON.parse(Buffer.from(tokens.client_info, 'base64url').toString());
  assert(ci.uid === 'alice' && ci.utid, `client_info ${JSON.stringify(ci)}`);
  return id;
}

// ---------------------------------------------------------------------------------------------

async function main() {
  let disco;
  let first;

  const started = await step('start provider.mjs (READY line on stdout)', async () => {
    provider = await startProvider();
    issuer = provider.issuer;
    return issuer;
  });
  if (!started) return;

  await step('discovery: exact issuer and endpoints', async () => {
    const res = await fetch(`${issuer}/.well-known/openid-configuration`);
    assert(res.status === 200, `status ${res.status}`);
    disco = await res.json();
    assert(disco.issuer === issuer, `issuer ${JSON.stringify(disco.issuer)} != ${JSON.stringify(issuer)}`);
    assert(!disco.issuer.endsWith('/'), 'issuer ends with /');
    for (const k of ['authorization_endpoint', 'token_endpoint', 'device_authorization_endpoint', 'jwks_uri', 'userinfo_endpoint', 'end_session_endpoint']) {
      assert(typeof disco[k] === 'string' && disco[k].startsWith(`${issuer}/`), `${k}: ${disco[k]}`);
    }
    assert(disco.code_challenge_methods_supported?.includes('S256'), 'no S256');
    assert(disco.grant_types_supported.includes('urn:ietf:params:oauth:grant-type:device_code'), 'no device_code grant');
    const jwks = await (await fetch(disco.jwks_uri)).json();
    assert(jwks.keys?.length === 1 && jwks.keys[0].alg === 'RS256' && !jwks.keys[0].d, 'jwks');
    return `issuer ${disco.issuer}`;
  });
  if (!disco) return;

  await step('PKCE is required (authorize without code_challenge -> invalid_request at the redirect)', async () => {
    const url = authorizeUrl(disco, { redirectUri: 'http://localhost:1234/', scope: 'openid', state: 's', nonce: 'n' });
    const res = await fetch(url, { redirect: 'manual' });
    const loc = new URL(res.headers.get('location'));
    assert(res.status === 303 && loc.origin === 'http://localhost:1234', `status ${res.status} location ${loc}`);
    assert(loc.searchParams.get('error') === 'invalid_request', `error ${loc.searchParams.get('error')}`);
    return loc.searchParams.get('error_description');
  });

  await step('PKCE plain is refused', async () => {
    const url = authorizeUrl(disco, {
      redirectUri: 'http://localhost:1234/', scope: 'openid', state: 's', nonce: 'n', challenge: 'x'.repeat(43), method: 'plain',
    });
    const res = await fetch(url, { redirect: 'manual' });
    const loc = new URL(res.headers.get('location'));
    assert(loc.searchParams.get('error') === 'invalid_request', `error ${loc.searchParams.get('error')}`);
  });

  await step('prompt=none with offline_access and no session -> login_required (prompt kept)', async () => {
    const url = authorizeUrl(disco, {
      redirectUri: 'http://localhost:1234/', scope: 'openid offline_access', state: 's', nonce: 'n', challenge: pkce().challenge, prompt: 'none',
    });
    const res = await fetch(url, { redirect: 'manual' });
    const loc = new URL(res.headers.get('location'));
    assert(loc.searchParams.get('error') === 'login_required', `error ${loc.searchParams.get('error')}`);
  });

  await step('unsupported prompt value -> invalid_request', async () => {
    const url = authorizeUrl(disco, {
      redirectUri: 'http://localhost:1234/', scope: 'openid offline_access', state: 's', nonce: 'n', challenge: pkce().challenge, prompt: 'bogus',
    });
    const res = await fetch(url, { redirect: 'manual' });
    const loc = new URL(res.headers.get('location'));
    assert(loc.searchParams.get('error') === 'invalid_request', `error ${loc.searchParams.get('error')}`);
  });

  await step('unregistered redirect URI is refused (error page, no redirect)', async () => {
    const url = authorizeUrl(disco, {
      redirectUri: 'http://localhost:1234/callback', scope: 'openid', state: 's', nonce: 'n', challenge: pkce().challenge,
    });
    const res = await fetch(url, { redirect: 'manual' });
    const body = await res.text();
    assert(res.status === 400 && body.includes('invalid_redirect_uri'), `status ${res.status}`);
  });

  const scope = ['openid', 'profile', 'offline_access', 'api://e2e/read'];
  await step('auth code + PKCE sign-in in Chromium, redirect to http://localhost:{port}/, code redeemed', async () => {
    first = await signIn(disco, { scope: scope.join(' ') });
    const id = checkTokens(first.tokens, { nonce: first.nonce, scope: ['api://e2e/read'] });
    const at = decodeJwt(first.tokens.access_token);
    assert(at.aud === 'api://e2e' && at.scope === 'api://e2e/read', `access token ${JSON.stringify(at)}`);
    return `scope "${first.tokens.scope}", id_token nonce ok, name "${id.name}"`;
  });

  if (first) {
    let second;
    await step('refresh: new access token and a rotated refresh token', async () => {
      const { status, json } = await form(disco.token_endpoint, {
        grant_type: 'refresh_token', refresh_token: first.tokens.refresh_token, client_id: CLIENT_ID,
        scope: scope.join(' '), client_info: '1',
      });
      assert(status === 200, `${status} ${JSON.stringify(json)}`);
      checkTokens(json, { scope: ['api://e2e/read'] });
      assert(json.refresh_token !== first.tokens.refresh_token, 'refresh token not rotated');
      assert(json.access_token !== first.tokens.access_token, 'same access token');
      second = json;
      return `scope "${json.scope}"`;
    });

    await step('reusing the rotated refresh token -> invalid_grant, and the whole grant is revoked', async () => {
      const reuse = await form(disco.token_endpoint, {
        grant_type: 'refresh_token', refresh_token: first.tokens.refresh_token, client_id: CLIENT_ID,
      });
      assert(reuse.status === 400 && reuse.json.error === 'invalid_grant', `${reuse.status} ${JSON.stringify(reuse.json)}`);
      const latest = await form(disco.token_endpoint, {
        grant_type: 'refresh_token', refresh_token: second.refresh_token, client_id: CLIENT_ID,
      });
      assert(latest.status === 400 && latest.json.error === 'invalid_grant', `newest RT still works: ${latest.status}`);
    });
  }

  if (first) {
    await step('authorization code cannot be redeemed twice (invalid_grant)', async () => {
      const { status, json } = await form(disco.token_endpoint, {
        grant_type: 'authorization_code', code: first.code, code_verifier: first.verifier, redirect_uri: first.redirectUri, client_id: CLIENT_ID,
      });
      assert(status === 400 && json.error === 'invalid_grant', `${status} ${JSON.stringify(json)}`);
    });

  }

  await step('prompt=select_account, redirect http://127.0.0.1:{port} (no path): refresh token still issued', async () => {
    const r = await signIn(disco, { host: '127.0.0.1', slash: '', scope: 'openid profile email offline_access', prompt: 'select_account' });
    const id = checkTokens(r.tokens, { nonce: r.nonce, scope: ['openid', 'offline_access'] });
    assert(id.email === 'alice@example.com', `email ${id.email}`);
    const { status, json } = await form(disco.token_endpoint, {
      grant_type: 'refresh_token', refresh_token: r.tokens.refresh_token, client_id: CLIENT_ID,
    });
    assert(status === 200 && json.refresh_token, `refresh ${status} ${JSON.stringify(json)}`);
    return `scope "${r.tokens.scope}"`;
  });

  await step('prompt=login also keeps offline_access', async () => {
    const r = await signIn(disco, { scope: 'openid profile offline_access api://e2e/write', prompt: 'login' });
    checkTokens(r.tokens, { nonce: r.nonce, scope: ['api://e2e/write'] });
  });

  await step('consent denied (--deny) -> error=access_denied at the redirect', async () => {
    const listener = await loopbackListener();
    const redirectUri = `http://localhost:${listener.port}/`;
    const url = authorizeUrl(disco, { redirectUri, scope: 'openid offline_access api://e2e/read', state: 'deny-state', nonce: 'n', challenge: pkce().challenge });
    const b = await runBrowser([url, '--deny']);
    listener.close();
    assert(b.code === 0, `browser.mjs exited ${b.code}: ${b.out}`);
    const final = new URL(b.out.replace(/^DONE /, ''));
    assert(final.searchParams.get('error') === 'access_denied', `final URL ${final}`);
    assert(final.searchParams.get('state') === 'deny-state', 'state');
    return final.search;
  });

  await step('wrong password -> browser.mjs fails (exit 1, FAIL login rejected)', async () => {
    const url = authorizeUrl(disco, { redirectUri: 'http://localhost:1/', scope: 'openid', state: 's', nonce: 'n', challenge: pkce().challenge });
    const b = await runBrowser([url, '--password', 'wrong', '--timeout', '20']);
    assert(b.code === 1 && /^FAIL login rejected/.test(b.out), `exit ${b.code}: ${b.out}`);
    return b.out;
  });

  // Device flow.
  const deviceAuth = async (scopeStr) => {
    const { status, json } = await form(disco.device_authorization_endpoint, { client_id: CLIENT_ID, scope: scopeStr });
    assert(status === 200, `device authorization ${status} ${JSON.stringify(json)}`);
    return json;
  };
  const poll = (deviceCode) => form(disco.token_endpoint, {
    grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: deviceCode, client_id: CLIENT_ID, client_info: '1',
  });

  let da;
  await step('device authorization response (user_code, verification_uri, interval, message)', async () => {
    da = await deviceAuth('openid profile offline_access api://e2e/read');
    for (const k of ['device_code', 'user_code', 'verification_uri', 'verification_uri_complete', 'expires_in', 'interval', 'message']) {
      assert(da[k] !== undefined, `no ${k}`);
    }
    assert(da.interval === DEVICE_INTERVAL, `interval ${da.interval}`);
    assert(da.verification_uri.startsWith(`${issuer}/`), `verification_uri ${da.verification_uri}`);
    return `user_code ${da.user_code}, interval ${da.interval}`;
  });

  if (da) {
    let lastPoll;
    await step('device flow: authorization_pending, then slow_down when polling too fast', async () => {
      const p1 = await poll(da.device_code);
      assert(p1.status === 400 && p1.json.error === 'authorization_pending', `first poll ${p1.status} ${JSON.stringify(p1.json)}`);
      const p2 = await poll(da.device_code);
      lastPoll = Date.now();
      assert(p2.status === 400 && p2.json.error === 'slow_down', `second poll ${p2.status} ${JSON.stringify(p2.json)}`);
    });

    await step('device flow: browser.mjs enters the user code on verification_uri, signs in, consents', async () => {
      const b = await runBrowser([da.verification_uri, '--user-code', da.user_code]);
      assert(b.code === 0, `browser.mjs exited ${b.code}: ${b.out}`);
      return b.out;
    });

    await step('device flow: tokens after the (interval + 5 s) wait', async () => {
      const wait = (DEVICE_INTERVAL + 5) * 1000 - (Date.now() - lastPoll);
      if (wait > 0) await sleep(wait);
      const p = await poll(da.device_code);
      assert(p.status === 200, `${p.status} ${JSON.stringify(p.json)}`);
      checkTokens(p.json, { scope: ['api://e2e/read'] });
      const again = await poll(da.device_code);
      assert(again.status === 400 && again.json.error === 'invalid_grant', `second redemption ${again.status} ${JSON.stringify(again.json)}`);
      return `scope "${p.json.scope}"`;
    });
  }

  await step('device flow denied (verification_uri_complete --deny) -> access_denied when polling', async () => {
    const d = await deviceAuth('openid offline_access api://e2e/read');
    const b = await runBrowser([d.verification_uri_complete, '--deny']);
    assert(b.code === 0, `browser.mjs exited ${b.code}: ${b.out}`);
    const p = await poll(d.device_code);
    assert(p.status === 400 && p.json.error === 'access_denied', `${p.status} ${JSON.stringify(p.json)}`);
    return b.out;
  });

  await step('device flow: a wrong user code -> browser.mjs fails (exit 1)', async () => {
    const b = await runBrowser([`${issuer}/device`, '--user-code', 'BCDF-GHJK', '--timeout', '20']);
    assert(b.code === 1 && /^FAIL device flow error/.test(b.out), `exit ${b.code}: ${b.out}`);
    return b.out;
  });

  await step('client credentials (confidential client, client_secret_post and client_secret_basic)', async () => {
    const post = await form(disco.token_endpoint, {
      grant_type: 'client_credentials', client_id: 'msal-rs-e2e-confidential', client_secret: 'e2e-secret', scope: 'api://e2e/.default',
    });
    assert(post.status === 200 && post.json.access_token && !post.json.refresh_token, `post ${post.status} ${JSON.stringify(post.json)}`);
    const basic = await form(disco.token_endpoint, { grant_type: 'client_credentials', scope: 'api://e2e/.default' }, {
      authorization: `Basic ${Buffer.from('msal-rs-e2e-confidential:e2e-secret').toString('base64')}`,
    });
    assert(basic.status === 200 && basic.json.access_token, `basic ${basic.status} ${JSON.stringify(basic.json)}`);
    const bad = await form(disco.token_endpoint, {
      grant_type: 'client_credentials', client_id: 'msal-rs-e2e-confidential', client_secret: 'nope', scope: 'api://e2e/.default',
    });
    assert(bad.status === 401 && bad.json.error === 'invalid_client', `bad secret ${bad.status} ${JSON.stringify(bad.json)}`);
    return `scope "${post.json.scope}", aud ${decodeJwt(post.json.access_token).aud}`;
  });

  await step('client credentials (certificate client, private_key_jwt RS256 and PS256; a foreign key is refused)', async () => {
    const certs = path.join(HERE, '../../msal-tests/data/certs');
    const assertion = (keyFile, alg) => {
      const now = Math.floor(Date.now() / 1000);
      const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
      const input = `${b64({ alg, typ: 'JWT' })}.${b64({
        iss: 'msal-rs-e2e-certificate', sub: 'msal-rs-e2e-certificate', aud: disco.token_endpoint,
        jti: crypto.randomUUID(), iat: now, nbf: now, exp: now + 600,
      })}`;
      const key = crypto.createPrivateKey(fs.readFileSync(path.join(certs, keyFile)));
      const signature = alg === 'PS256'
        ? crypto.sign('sha256', Buffer.from(input), { key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 })
        : crypto.sign('sha256', Buffer.from(input), key);
      return `${input}.${signature.toString('base64url')}`;
    };
    const request = (keyFile, alg) => form(disco.token_endpoint, {
      grant_type: 'client_credentials', client_id: 'msal-rs-e2e-certificate', scope: 'api://e2e/.default',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion(keyFile, alg),
    });
    for (const alg of ['RS256', 'PS256']) {
      const ok = await request('key-pkcs8.pem', alg);
      assert(ok.status === 200 && ok.json.access_token, `${alg} ${ok.status} ${JSON.stringify(ok.json)}`);
    }
    const foreign = await request('other-key.pem', 'RS256');
    assert(foreign.status === 401 && foreign.json.error === 'invalid_client', `foreign key ${foreign.status} ${JSON.stringify(foreign.json)}`);
  });

  await step('provider wrote nothing but READY on stdout', async () => {
    assert(provider.stdoutLines.length === 1, `stdout lines: ${JSON.stringify(provider.stdoutLines)}`);
  });
}

try {
  await main();
} catch (e) {
  failures += 1;
  console.log(`FAIL selftest crashed: ${e.stack}`);
} finally {
  for (const c of cleanups) { try { c(); } catch { /* already closed */ } }
  if (provider?.child && provider.child.exitCode === null) {
    provider.child.removeAllListeners('exit');
    provider.child.kill('SIGTERM');
  }
}
console.log(failures ? `FAILED: ${failures} step(s)` : 'ALL PASSED');
process.exit(failures ? 1 : 0);
