// Time MSAL Node's silent cache hit over a cache fixture written by msal-bench-fixtures.
//
//     node bench_hit.mjs --cache FILE [--warmup S] [--min-time S] [--min-batches K]
//                        [--max-account-lookup N] [--loader entrywise]
//     node bench_hit.mjs --cache FILE --check-entrywise 1   (self-test of the entrywise parser)
//
// Reads FILE (unified token cache, MSAL Python dialect, which MSAL Node reads) and
// FILE.meta.json (client id, authority, the probe account and its expected access token),
// deserializes the file into a PublicClientApplication's token cache, and times
// acquireTokenSilent({ account, scopes: ["User.Read"] }) for the probe (middle) account with
// the same batch rules as msal-rs's runner (msal-bench/src/timing.rs). Prints one JSON
// line.
//
// Nothing leaves the machine: the app is configured with `authorityMetadata` and
// `cloudDiscoveryMetadata` (so it needs no discovery), and with `system.networkClient` set to a
// stub INetworkModule that answers discovery GETs with the same canned JSON and throws on
// anything else. Once the first hit has been served the stub is frozen: any request at all
// during warm-up or measurement fails the run. Every timed result is checked for
// `fromCache === true` and the expected access token.
//
// Loading: `getTokenCache().deserialize(string)` is MSAL Node's API, and one V8 string holds
// at most 2^29 - 24 characters (~512 MiB). A larger file (100,000 accounts is ~600 MB) cannot
// be handed to it, so for those this script performs deserialize()'s own steps
// (Deserializer.deserializeAllCache over the parsed JSON, then the storage's
// setInMemoryCache), parsing the file entry by entry instead of with one JSON.parse. The cache
// MSAL Node ends up with, and so the timed hit, is the same; the result line says
// `"loader": "entrywise"`.

import { readFileSync, openSync, readSync, closeSync, fstatSync } from "node:fs";
import { constants as bufferConstants } from "node:buffer";
import { PublicClientApplication, internals } from "@azure/msal-node";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const msalNodeVersion = require("@azure/msal-node/package.json").version;

function parseArgs(argv) {
    const args = { warmup: 0.5, minTime: 2.0, minBatches: 5, maxAccountLookup: 1000 };
    for (let i = 0; i < argv.length; i += 2) {
        const [flag, value] = [argv[i], argv[i + 1]];
        if (flag === "--cache") args.cache = value;
        else if (flag === "--warmup") args.warmup = Number(value);
        else if (flag === "--min-time") args.minTime = Number(value);
        else if (flag === "--min-batches") args.minBatches = Number(value);
        else if (flag === "--max-account-lookup") args.maxAccountLookup = Number(value);
        else if (flag === "--loader") args.loader = value; // "entrywise" forces it (for tests)
        else if (flag === "--check-entrywise") args.checkEntrywise = value;
        else throw new Error(`unknown argument ${flag}`);
    }
    if (!args.cache) throw new Error("--cache FILE is required");
    return args;
}

// What login.microsoftonline.com's instance discovery answers for the public cloud.
function cloudDiscovery(host, tenant) {
    return {
        tenant_discovery_endpoint: `https://${host}/${tenant}/v2.0/.well-known/openid-configuration`,
        "api-version": "1.1",
        metadata: [
            {
                preferred_network: "login.microsoftonline.com",
                preferred_cache: "login.windows.net",
                aliases: [
                    "login.microsoftonline.com",
                    "login.windows.net",
                    "login.microsoft.com",
                    "sts.windows.net",
                ],
            },
        ],
    };
}

// The tenant's OpenID configuration (the fields MSAL reads).
function openidConfiguration(host, tenant) {
    const base = `https://${host}/${tenant}`;
    return {
        token_endpoint: `${base}/oauth2/v2.0/token`,
        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
        device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
        end_session_endpoint: `${base}/oauth2/v2.0/logout`,
        issuer: `https://${host}/${tenant}/v2.0`,
        jwks_uri: `${base}/discovery/v2.0/keys`,
        response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
        scopes_supported: ["openid", "profile", "email", "offline_access"],
        subject_types_supported: ["pairwise"],
        id_token_signing_alg_values_supported: ["RS256"],
        tenant_region_scope: "EU",
        cloud_instance_name: "microsoftonline.com",
    };
}

// An INetworkModule that never touches the network.
class StubNetwork {
    constructor(host, tenant) {
        this.host = host;
        this.tenant = tenant;
        this.requests = [];
        this.frozen = false;
    }
    record(method, url) {
        this.requests.push(`${method} ${url}`);
        if (this.frozen) throw new Error(`network request during the timed hits: ${method} ${url}`);
    }
    async sendGetRequestAsync(url) {
        this.record("GET", url);
        const ok = (body) => ({ headers: {}, body, status: 200 });
        if (url.includes("/common/discovery/instance")) return ok(cloudDiscovery(this.host, this.tenant));
        if (url.includes("/.well-known/openid-configuration")) return ok(openidConfiguration(this.host, this.tenant));
        throw new Error(`unexpected GET ${url}`);
    }
    async sendPostRequestAsync(url) {
        this.record("POST", url);
        throw new Error(`a token request was made (POST ${url}): not a cache hit`);
    }
}

// Parse a `{ "Section": { "key": {entry}, ... }, ... }` document from a file, one entry at a
// time, so no string longer than one entry is ever built.
function parseEntrywise(path) {
    const fd = openSync(path, "r");
    const size = fstatSync(fd).size;
    const result = {};
    const chunkSize = Number(process.env.MSAL_BENCH_CHUNK || 64 << 20);
    let buf = Buffer.alloc(0);
    let offset = 0; // file offset of buf[0]
    let fileOffset = 0;
    let depth = 0;
    let inString = false;
    let escaped = false;
    let stringStart = -1;
    let lastString = null; // the last complete string at depth 1 or 2 (a section name or key)
    let section = null;
    let entryKey = null;
    let entryStart = -1; // absolute file offset where the current entry object starts
    let i = 0; // index into buf
    while (true) {
        if (i >= buf.length) {
            if (fileOffset >= size) break;
            // Keep the unfinished entry (or string) in the buffer.
            const keepFrom = Math.min(
                entryStart >= 0 ? entryStart : Infinity,
                inString && stringStart >= 0 ? stringStart : Infinity,
                offset + buf.length,
            );
            const kept = buf.subarray(keepFrom - offset);
            const chunk = Buffer.alloc(Math.min(chunkSize, size - fileOffset));
            const read = readSync(fd, chunk, 0, chunk.length, fileOffset);
            if (read === 0) throw new Error("entrywise parser: short read");
            fileOffset += read;
            buf = Buffer.concat([kept, chunk.subarray(0, read)]);
            i = kept.length; // continue at the first new byte
            offset = keepFrom;
            continue;
        }
        const c = buf[i];
        if (inString) {
            if (escaped) escaped = false;
            else if (c === 0x5c) escaped = true; // backslash
            else if (c === 0x22) {
                inString = false;
                if (depth <= 2) lastString = JSON.parse(buf.toString("utf8", stringStart - offset, i + 1));
            }
        } else if (c === 0x22) {
            inString = true;
            stringStart = offset + i;
        } else if (c === 0x7b) { // {
            depth += 1;
            if (depth === 2) {
                section = lastString;
                result[section] = {};
            } else if (depth === 3) {
                entryKey = lastString;
                entryStart = offset + i;
            }
        } else if (c === 0x7d) { // }
            if (depth === 3) {
                result[section][entryKey] = JSON.parse(buf.toString("utf8", entryStart - offset, i + 1));
                entryStart = -1;
            }
            depth -= 1;
        } else if (c === 0x5b && depth < 3) {
            throw new Error("entrywise parser: unexpected array outside an entry");
        }
        i += 1;
    }
    closeSync(fd);
    if (depth !== 0) throw new Error("entrywise parser: truncated document");
    return result;
}

function loadCache(pca, path, loader) {
    const tokenCache = pca.getTokenCache();
    const fd = openSync(path, "r");
    const size = fstatSync(fd).size;
    closeSync(fd);
    // A file of this many bytes decodes to at most that many UTF-16 units.
    if (loader !== "entrywise" && size < bufferConstants.MAX_STRING_LENGTH) {
        tokenCache.deserialize(readFileSync(path, "utf8"));
        return "deserialize";
    }
    // TokenCache.deserialize()'s steps without the one big string (see the header).
    const json = parseEntrywise(path);
    const inMemory = internals.Deserializer.deserializeAllCache(tokenCache.overlayDefaults(json));
    tokenCache.storage.setInMemoryCache(inMemory);
    return "entrywise";
}

function quantile(sorted, q) {
    const rank = Math.ceil(q * sorted.length);
    return sorted[Math.min(Math.max(rank, 1), sorted.length) - 1];
}

// The same rules as msal-bench/src/timing.rs.
async function measure(runBatch, warmup, minTime, minBatches, batchTarget = 0.010) {
    const now = () => Number(process.hrtime.bigint()) / 1e9;
    const start = now();
    let warm = 0;
    while (warm === 0 || now() - start < warmup) {
        await runBatch(1);
        warm += 1;
    }
    const perCall = (now() - start) / warm;
    const size = Math.min(Math.max(Math.floor(batchTarget / Math.max(perCall, 1e-9)), 1), 1_000_000);
    const samples = [];
    const measuring = now();
    while (samples.length < minBatches || now() - measuring < minTime) {
        const t = process.hrtime.bigint();
        await runBatch(size);
        samples.push(Number(process.hrtime.bigint() - t) / 1e3 / size);
    }
    samples.sort((a, b) => a - b);
    return {
        median_us: quantile(samples, 0.5),
        p90_us: quantile(samples, 0.9),
        min_us: samples[0],
        batch_size: size,
        batches: samples.length,
        iterations: size * samples.length,
    };
}

async function main() {
    const args = parseArgs(process.argv.slice(2));
    if (args.checkEntrywise) {
        // Self-test: the entrywise parser must agree with JSON.parse on a file both can read.
        const a = JSON.stringify(parseEntrywise(args.cache));
        const b = JSON.stringify(JSON.parse(readFileSync(args.cache, "utf8")));
        if (a !== b) throw new Error("entrywise parser disagrees with JSON.parse");
        console.log(JSON.stringify({ entrywise_check: "ok", bytes: a.length }));
        return;
    }
    const meta = JSON.parse(readFileSync(`${args.cache}.meta.json`, "utf8"));
    const { environment: host, tenant_id: tenant, scopes } = meta;
    const expected = meta.probe_access_token;

    const t = process.hrtime.bigint();
    const network = new StubNetwork(host, tenant);
    const pca = new PublicClientApplication({
        auth: {
            clientId: meta.client_id,
            authority: meta.authority,
            cloudDiscoveryMetadata: JSON.stringify(cloudDiscovery(host, tenant)),
            authorityMetadata: JSON.stringify(openidConfiguration(host, tenant)),
        },
        system: { networkClient: network },
    });
    const loader = loadCache(pca, args.cache, args.loader);
    // The probe account as MSAL Node's AccountInfo, from the cache's Account entry. Not from
    // getAccountByHomeId(): that builds every account (getAllAccounts), each with a lookup of
    // its ID tokens that re-classifies the whole cache, so it is quadratic in the number of
    // accounts (~7 s at 1,000; hours at 100,000). Where that is affordable it is called and
    // must agree.
    const account = {
        homeAccountId: meta.probe_home_account_id,
        environment: host,
        tenantId: tenant,
        username: meta.probe_username,
        localAccountId: meta.probe_local_account_id,
        authorityType: "MSSTS",
    };
    let accountLookupS = null;
    if (meta.accounts <= args.maxAccountLookup) {
        const tl = process.hrtime.bigint();
        const found = await pca.getTokenCache().getAccountByHomeId(meta.probe_home_account_id);
        accountLookupS = Number(process.hrtime.bigint() - tl) / 1e9;
        for (const field of ["homeAccountId", "environment", "tenantId", "username", "localAccountId"]) {
            if (!found || found[field] !== account[field]) {
                throw new Error(`getAccountByHomeId disagrees on ${field}: ${found && found[field]}`);
            }
        }
    }
    const request = { account, scopes };
    const first = await pca.acquireTokenSilent(request);
    const loadS = Number(process.hrtime.bigint() - t) / 1e9;
    if (!first || first.fromCache !== true || first.accessToken !== expected) {
        throw new Error("the first call was not the expected cache hit");
    }
    const setupRequests = [...network.requests];
    network.frozen = true;

    const runBatch = async (k) => {
        for (let j = 0; j < k; j++) {
            const r = await pca.acquireTokenSilent(request);
            if (r.fromCache !== true || r.accessToken !== expected) {
                throw new Error("a hit was not the expected cache hit");
            }
        }
    };
    const summary = await measure(runBatch, args.warmup, args.minTime, args.minBatches);
    console.log(JSON.stringify({
        lib: "msal-node",
        version: msalNodeVersion,
        store: "memory",
        n: meta.accounts,
        ...summary,
        load_s: loadS,
        max_rss_mb: process.resourceUsage().maxRSS / 1024,
        network_requests: network.requests.length - setupRequests.length,
        setup_requests: setupRequests,
        loader,
        account_lookup_s: accountLookupS,
    }));
}

main().catch((e) => {
    console.error(e && e.stack ? e.stack : e);
    process.exit(1);
});
