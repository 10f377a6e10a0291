// Completes a sign-in on the e2e provider (provider.mjs) in headless Debian Chromium.
//
//   node browser.mjs <authorize-url | verification_uri[_complete]> [options]
//
//   --user <login>        login to type (default alice@example.com)
//   --password <pw>       password to type (default "correct horse")
//   --deny                click Deny on the consent page (the client then gets access_denied)
//   --user-code <code>    device flow: the user code, typed if the page asks for one
//   --timeout <seconds>   overall bound (default 30)
//   --headful             do not pass --headless (debugging, needs a display)
//
// Success: prints `DONE <final-url>` on stdout and exits 0. The final URL is either the redirect
// to the client's loopback listener (http://localhost:* or http://127.0.0.1:* on another port
// than the provider's, e.g. `http://localhost:8400/?code=...&state=...` or `...?error=access_denied...`),
// after that request has been answered (or refused), or the device flow's success page.
// With --deny on a device flow, the final page is the device-error page saying it was denied.
// Failure: prints `FAIL <reason>` on stdout and exits 1. Diagnostics go to stderr.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { chromium } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

function usage(msg) {
  if (msg) console.error(`browser.mjs: ${msg}`);
  console.error('usage: node browser.mjs <url> [--deny] [--user LOGIN] [--password PW] [--user-code CODE] [--timeout SECONDS]');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = {
    url: undefined, user: 'alice@example.com', password: 'correct horse',
    deny: false, userCode: undefined, timeout: 30, headful: false,
  };
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      i += 1;
      return argv[i];
    };
    switch (a) {
      case '--deny': opts.deny = true; break;
      case '--headful': opts.headful = true; break;
      case '--user': opts.user = value(); break;
      case '--password': opts.password = value(); break;
      case '--user-code': opts.userCode = value(); break;
      case '--timeout': opts.timeout = Number(value()); break;
      case '-h': case '--help': usage(); break;
      default:
        if (a.startsWith('--')) usage(`unknown option ${a}`);
        if (opts.url) usage('only one URL');
        opts.url = a;
    }
  }
  if (!opts.url) usage('missing URL');
  if (!URL.canParse(opts.url)) usage(`not a URL: ${opts.url}`);
  if (!(opts.timeout > 0)) usage('--timeout must be a positive number of seconds');
  return opts;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const providerOrigin = new URL(opts.url).origin;
  const deadline = Date.now() + opts.timeout * 1000;
  const log = (...a) => console.error('browser.mjs:', ...a);

  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'msal-e2e-chromium-'));
  let context;
  let finished; // resolves with { ok, url|reason }
  const outcome = new Promise((resolve) => { finished = resolve; });
  const timer = setTimeout(() => finished({ ok: false, reason: `timed out after ${opts.timeout} s` }), opts.timeout * 1000);

  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: !opts.headful,
      args: CHROMIUM_FLAGS,
      timeout: Math.max(1000, deadline - Date.now()),
    });
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(Math.max(1000, deadline - Date.now()));

    // The redirect to the client's loopback listener: let it through, report it once answered.
    const isClientRedirect = (u) => {
      const parsed = URL.parse(u);
      return parsed && parsed.protocol === 'http:' && LOOPBACK_HOSTS.has(parsed.hostname)
        && parsed.origin !== providerOrigin;
    };
    let clientRedirect;
    page.on('request', (req) => {
      if (req.isNavigationRequest() && req.frame() === page.mainFrame() && isClientRedirect(req.url())) {
        clientRedirect = req.url();
        log(`redirect to the client: ${clientRedirect}`);
      }
    });
    const settle = (req) => {
      if (clientRedirect && req.url() === clientRedirect) finished({ ok: true, url: clientRedirect });
    };
    page.on('requestfinished', settle);
    page.on('requestfailed', (req) => {
      if (clientRedirect && req.url() === clientRedirect) {
        log(`the client's listener did not answer (${req.failure()?.errorText}); reporting the redirect anyway`);
      }
      settle(req);
    });

    const drive = async () => {
      log(`goto ${opts.url}`);
      await page.goto(opts.url, { waitUntil: 'domcontentloaded' }).catch((e) => {
        if (!clientRedirect) throw e;
      });
      let lastKind;
      let repeats = 0;
      for (;;) {
        if (clientRedirect) return;
        const kind = await pageKind(page, () => !!clientRedirect);
        if (clientRedirect) return;
        if (kind === lastKind) repeats += 1; else repeats = 0;
        lastKind = kind;
        if (repeats > 3) throw new Error(`stuck on the ${kind} page: ${await pageText(page)}`);
        log(`page ${kind ?? '(unknown)'} ${page.url()}`);
        switch (kind) {
          case 'login': {
            if (repeats > 0) throw new Error(`login rejected: ${await pageText(page)}`);
            await page.fill('#login', opts.user);
            await page.fill('#password', opts.password);
            await clickAndWait(page, '#submit');
            break;
          }
          case 'consent':
            await clickAndWait(page, opts.deny ? '#deny' : '#allow');
            break;
          case 'device-input':
            if (!opts.userCode) throw new Error('the page asks for a user code: pass --user-code');
            if (repeats > 0) throw new Error(`user code not accepted: ${await pageText(page)}`);
            await page.fill('#user-code', opts.userCode);
            await clickAndWait(page, '#submit');
            break;
          case 'device-error': {
            const error = await page.locator('#error').getAttribute('data-error').catch(() => undefined);
            if (opts.deny && (error === 'access_denied' || error === 'AbortedError')) {
              finished({ ok: true, url: page.url() });
              return;
            }
            throw new Error(`device flow error ${error}: ${await pageText(page)}`);
          }
          case 'device-confirm':
            await clickAndWait(page, '#confirm');
            break;
          case 'device-success':
            finished({ ok: true, url: page.url() });
            return;
          case 'error':
            throw new Error(`provider error page: ${await pageText(page)}`);
          default:
            if (clientRedirect) return;
            throw new Error(`unexpected page ${page.url()}: ${await pageText(page)}`);
        }
      }
    };
    drive().catch((e) => finished({ ok: false, reason: e.message.split('\n')[0] }));

    const result = await outcome;
    if (result.ok) {
      process.stdout.write(`DONE ${result.url}\n`);
    } else {
      process.stdout.write(`FAIL ${result.reason}\n`);
    }
    return result.ok ? 0 : 1;
  } catch (e) {
    process.stdout.write(`FAIL ${e.message.split('\n')[0]}\n`);
    return 1;
  } finally {
    clearTimeout(timer);
    await Promise.race([context?.close(), new Promise((r) => { setTimeout(r, 5000); })]).catch(() => {});
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}

// The data-e2e-page of the current page, once a page that has one has loaded. Waits through
// intermediate pages (oidc-provider's self-submitting forms, redirects) for up to 10 s.
async function pageKind(page, stop) {
  const until = Date.now() + 10000;
  while (Date.now() < until && !stop()) {
    try {
      await page.waitForSelector('body[data-e2e-page]', { timeout: 1000 });
      return await page.getAttribute('body', 'data-e2e-page', { timeout: 1000 });
    } catch {
      // not there yet, or the page navigated away meanwhile: look again
    }
  }
  return undefined;
}

async function pageText(page) {
  const text = await page.locator('body').innerText({ timeout: 2000 }).catch(() => '');
  return text.replace(/\s+/g, ' ').trim().slice(0, 300) || `(empty page at ${page.url()})`;
}

// Click and wait for the navigation the click triggers (a form post and its redirects).
async function clickAndWait(page, selector) {
  const before = page.url();
  await Promise.all([
    page.waitForEvent('framenavigated', { predicate: (f) => f === page.mainFrame() }).catch(() => {}),
    page.click(selector),
  ]);
  await page.waitForLoadState('domcontentloaded').catch(() => {});
  return before;
}

// Exit at once: pending Playwright calls of the abandoned page loop would otherwise keep Node
// alive for seconds after the browser is gone. (stdout is a file or pipe: writes are synchronous.)
process.exit(await main());
