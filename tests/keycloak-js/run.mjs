// Keycloak's own JavaScript adapter (keycloak-js, from npm) against Gatehouse in a real browser
// (Debian's Chromium driven by playwright-core): login-required sign-in with PKCE, a forced
// token refresh (a cross-origin fetch, so CORS), the session iframe and the third-party cookie
// check, then logout. Run by scripts/test after the cargo tests; standalone:
//
//   cargo build --bin gatehouse --examples && (cd tests/keycloak-js && npm ci) && node tests/keycloak-js/run.mjs
//
// Prints `ok - <check>` / `not ok - <check>` and ends with `N passed, M failed`; exits 1 when a
// check failed. Environment: GATEHOUSE_BIN (default target/debug/gatehouse), REGISTER_CLIENT_BIN
// (default target/debug/examples/register_client), CHROMIUM (default /usr/bin/chromium).

import { spawn, execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const GATEHOUSE_BIN = resolve(root, process.env.GATEHOUSE_BIN ?? "target/debug/gatehouse");
const REGISTER_CLIENT_BIN = resolve(
  root,
  process.env.REGISTER_CLIENT_BIN ?? "target/debug/examples/register_client",
);
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const KEYCLOAK_JS = join(here, "node_modules/keycloak-js/lib/keycloak.js");
const TOTAL_TIMEOUT_MS = 120_000;
const STEP_TIMEOUT_MS = 20_000;
const ADMIN_PASSWORD = "Admin-Pass-1";
const CLIENT_ID = "js-app";

let passed = 0;
let failed = 0;
const cleanups = [];
const serverLog = [];
const browserErrors = [];

function report(ok, name, detail) {
  if (ok) {
    passed += 1;
    console.log(`ok - ${name}`);
  } else {
    failed += 1;
    console.log(`not ok - ${name}`);
    for (const line of String(detail ?? "").split("\n").filter(Boolean)) {
      console.log(`# ${line}`);
    }
  }
}

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

// ---------------------------------------------------------------------------------------------
// Gatehouse

async function startGatehouse(dir) {
  const child = spawn(GATEHOUSE_BIN, ["start-dev", "--http-port", "0"], {
    cwd: dir,
    env: {
      ...process.env,
      KC_BOOTSTRAP_ADMIN_USERNAME: "admin",
      KC_BOOTSTRAP_ADMIN_PASSWORD: ADMIN_PASSWORD,
      NO_COLOR: "1",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  cleanups.push(() => stopProcess(child));
  let port = null;
  let started = false;
  const waiters = [];
  const wake = () => waiters.splice(0).forEach((w) => w());
  const collect = (stream) => {
    let partial = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk) => {
      partial += chunk;
      const lines = partial.split("\n");
      partial = lines.pop();
      for (const line of lines) {
        serverLog.push(line);
        const match = /Listening on: http:\/\/127\.0\.0\.1:(\d+)/.exec(line);
        if (match) port = Number(match[1]);
        if (line.includes(" started in ")) started = true;
      }
      wake();
    });
  };
  collect(child.stdout);
  collect(child.stderr);
  child.on("exit", wake);
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  while (!(port && started)) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`gatehouse exited (${child.exitCode ?? child.signalCode}) before starting`);
    }
    if (Date.now() > deadline) throw new Error("gatehouse did not start in time");
    await new Promise((w) => {
      waiters.push(w);
      setTimeout(w, 200);
    });
  }
  return port;
}

async function stopProcess(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once("exit", done));
  child.kill("SIGTERM");
  if (await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)])) return;
  child.kill("SIGKILL");
  await exited;
}

async function registerClient(dataDir, appOrigin) {
  if (!existsSync(REGISTER_CLIENT_BIN)) {
    throw new Error(`${REGISTER_CLIENT_BIN} is missing: run \`cargo build --examples\``);
  }
  await promisify(execFile)(
    REGISTER_CLIENT_BIN,
    [
      dataDir,
      CLIENT_ID,
      `${appOrigin}/*`,
      appOrigin,
      "public",
      "pkce.code.challenge.method=S256",
      "post.logout.redirect.uris=+",
    ],
    { timeout: STEP_TIMEOUT_MS },
  );
}

// ---------------------------------------------------------------------------------------------
// The application: one page using keycloak-js, and a probe page that asks the session iframe
// one question. Served on the registered origin, and the probe also on a foreign origin.

function appPage(gatehouseUrl) {
  return `<!doctype html>
<html>
<head><meta charset="utf-8"><link rel="icon" href="data:,"><title>loading</title></head>
<body>
<p>user: <span id="user"></span></p>
<p>status: <span id="status"></span></p>
<button id="refresh">refresh</button>
<button id="logout">logout</button>
<script type="module">
  import Keycloak from "/keycloak.js";

  const gatehouse = ${JSON.stringify(gatehouseUrl)};
  const origin = new URL(gatehouse).origin;
  // What the test inspects: callbacks keycloak-js fired and messages the iframes posted.
  window.seen = { events: [], frames: [] };
  window.addEventListener("message", (event) => {
    if (event.origin === origin && typeof event.data === "string") {
      window.seen.frames.push(event.data);
    }
  });
  const kc = new Keycloak({ url: gatehouse, realm: "master", clientId: ${JSON.stringify(CLIENT_ID)} });
  window.kc = kc;
  for (const name of ["onAuthSuccess", "onAuthError", "onAuthRefreshSuccess", "onAuthRefreshError", "onAuthLogout", "onTokenExpired"]) {
    kc[name] = () => window.seen.events.push(name);
  }
  const status = document.getElementById("status");
  document.getElementById("refresh").addEventListener("click", async () => {
    status.textContent = "refreshing";
    try {
      status.textContent = "refreshed:" + (await kc.updateToken(-1));
    } catch (error) {
      status.textContent = "refresh-error:" + (error?.message ?? error);
    }
  });
  document.getElementById("logout").addEventListener("click", () => kc.logout());
  try {
    await kc.init({ onLoad: "login-required", pkceMethod: "S256" });
    document.title = "token:" + !!kc.token;
    document.getElementById("user").textContent = kc.tokenParsed?.preferred_username ?? "";
  } catch (error) {
    document.title = "init-error";
    status.textContent = "init-error:" + (error?.message ?? error);
  }
</script>
</body>
</html>
`;
}

// /probe.html?client=...&sid=...: embeds the session iframe, posts "<client> <sid>" once it has
// loaded, and puts the answer in the title.
function probePage(gatehouseUrl) {
  const iframe = `${gatehouseUrl}/realms/master/protocol/openid-connect/login-status-iframe.html`;
  return `<!doctype html>
<html>
<head><meta charset="utf-8"><link rel="icon" href="data:,"><title>waiting</title></head>
<body>
<script type="module">
  const src = ${JSON.stringify(iframe)};
  const params = new URLSearchParams(location.search);
  const frame = document.createElement("iframe");
  frame.src = src;
  window.addEventListener("message", (event) => {
    if (event.source === frame.contentWindow) document.title = "answer:" + event.data;
  });
  frame.addEventListener("load", () => {
    frame.contentWindow.postMessage(params.get("client") + " " + params.get("sid"), new URL(src).origin);
  });
  document.body.append(frame);
</script>
</body>
</html>
`;
}

function startApp(pages) {
  const server = http.createServer((req, res) => {
    const path = new URL(req.url, "http://app").pathname;
    const send = (status, type, body) => {
      res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
      res.end(body);
    };
    if (path === "/" || path === "/index.html") {
      send(200, "text/html; charset=utf-8", pages.app());
    } else if (path === "/probe.html") {
      send(200, "text/html; charset=utf-8", pages.probe());
    } else if (path === "/keycloak.js") {
      send(200, "text/javascript; charset=utf-8", readFileSync(KEYCLOAK_JS));
    } else {
      send(404, "text/plain", "not found");
    }
  });
  cleanups.push(() => new Promise((done) => server.close(done)).then(() => {}));
  return new Promise((ready, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => ready(server.address().port));
  });
}

// ---------------------------------------------------------------------------------------------
// The checks

async function main() {
  if (!existsSync(GATEHOUSE_BIN)) throw new Error(`${GATEHOUSE_BIN} is missing: run \`cargo build\``);
  if (!existsSync(KEYCLOAK_JS)) throw new Error(`${KEYCLOAK_JS} is missing: run \`npm ci\` in ${here}`);
  const { chromium } = await import("playwright-core");

  const dir = mkdtempSync(join(tmpdir(), "gatehouse-keycloak-js-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));

  const gatehousePort = await startGatehouse(dir);
  const gatehouse = `http://127.0.0.1:${gatehousePort}`;
  const pages = { app: () => appPage(gatehouse), probe: () => probePage(gatehouse) };
  const appPort = await startApp(pages);
  const foreignPort = await startApp(pages);
  const app = `http://127.0.0.1:${appPort}`;
  await registerClient(join(dir, "data"), app);

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
    timeout: STEP_TIMEOUT_MS,
  });
  cleanups.push(() =>
    Promise.race([browser.close(), sleep(10_000)]).catch(() => {}),
  );
  const context = await browser.newContext();
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  const page = await context.newPage();
  page.on("console", (message) => {
    // A browser asks every origin for /favicon.ico; neither server has one.
    if (message.type() === "error" && !message.location().url.endsWith("/favicon.ico")) {
      browserErrors.push(`console: ${message.text()} (${message.location().url})`);
    }
  });
  page.on("pageerror", (error) => browserErrors.push(`page error: ${error.message}`));

  const appState = () =>
    page.evaluate(() => ({
      title: document.title,
      user: document.getElementById("user")?.textContent,
      status: document.getElementById("status")?.textContent,
      sid: window.kc?.sessionId,
      token: window.kc?.token,
      events: window.seen?.events ?? [],
      frames: window.seen?.frames ?? [],
    }));

  // Each step throws to fail; the first failure ends the run (later steps depend on it).
  const steps = [
    ["the app redirects to the login page", async () => {
      await page.goto(`${app}/`);
      await page.waitForSelector("#kc-form-login");
      if (!page.url().startsWith(`${gatehouse}/realms/master/`)) {
        throw new Error(`on ${page.url()}`);
      }
    }],
    ["sign-in returns to the app with a token for admin", async () => {
      await page.fill("#username", "admin");
      await page.fill("#password", ADMIN_PASSWORD);
      await Promise.all([page.waitForURL(`${app}/**`), page.click("#kc-login")]);
      await page.waitForFunction(() => document.title !== "loading");
      const state = await appState();
      if (state.title !== "token:true" || state.user !== "admin") {
        throw new Error(JSON.stringify(state));
      }
    }],
    ["the third-party cookie check answers supported", async () => {
      const { frames } = await appState();
      if (!frames.includes("supported")) throw new Error(`frames: ${JSON.stringify(frames)}`);
    }],
    ["a forced refresh gets a new token for the same session", async () => {
      const before = await appState();
      await page.click("#refresh");
      await page.waitForFunction(() => !/^refreshing$|^$/.test(document.getElementById("status").textContent));
      const after = await appState();
      if (after.status !== "refreshed:true" || after.token === before.token || after.sid !== before.sid) {
        throw new Error(JSON.stringify({ status: after.status, events: after.events, sid: [before.sid, after.sid] }));
      }
    }],
    ["the session iframe keeps answering unchanged", async () => {
      // keycloak-js asks before the refresh and then every 5 seconds.
      await sleep(6_000);
      const state = await appState();
      const answers = state.frames.filter((f) => ["unchanged", "changed", "error"].includes(f));
      const problems = [];
      if (answers.filter((a) => a === "unchanged").length < 2) problems.push("fewer than 2 unchanged");
      if (answers.some((a) => a !== "unchanged")) problems.push("a changed/error answer");
      if (state.events.includes("onAuthLogout")) problems.push("onAuthLogout fired");
      if (state.title !== "token:true") problems.push(`title ${state.title}`);
      if (browserErrors.length) problems.push(...browserErrors);
      if (problems.length) throw new Error([...problems, `answers: ${answers}`, `events: ${state.events}`].join("\n"));
    }],
    ["the session iframe answers changed for another session", async () => {
      const answer = await probe(context, `${app}/probe.html?client=${CLIENT_ID}&sid=not-this-session`);
      if (answer !== "changed") throw new Error(`answered ${answer}`);
    }],
    ["the session iframe answers error to an origin the client does not allow", async () => {
      const { sid } = await appState();
      const answer = await probe(context, `http://127.0.0.1:${foreignPort}/probe.html?client=${CLIENT_ID}&sid=${sid}`);
      if (answer !== "error") throw new Error(`answered ${answer}`);
    }],
    ["logout sends the app back to the login page", async () => {
      await page.click("#logout");
      await page.waitForURL(`${gatehouse}/realms/master/**`);
      await page.waitForSelector("#kc-form-login");
      const cookies = await context.cookies(gatehouse);
      const sso = cookies.filter((c) => ["KEYCLOAK_IDENTITY", "KEYCLOAK_SESSION"].includes(c.name) && c.value);
      if (sso.length) throw new Error(`SSO cookies left: ${sso.map((c) => c.name)}`);
    }],
  ];

  for (const [index, [name, run]] of steps.entries()) {
    try {
      await run();
      report(true, name);
    } catch (error) {
      report(false, name, error?.stack ?? error);
      for (const [later] of steps.slice(index + 1)) report(false, `${later} (not run)`);
      break;
    }
  }
}

async function probe(context, url) {
  const page = await context.newPage();
  try {
    await page.goto(url);
    await page.waitForFunction(() => document.title.startsWith("answer:"));
    return (await page.title()).slice("answer:".length);
  } finally {
    await page.close();
  }
}

async function cleanup() {
  for (const step of cleanups.splice(0).reverse()) {
    try {
      await step();
    } catch (error) {
      console.log(`# cleanup: ${error?.message ?? error}`);
    }
  }
}

let timer;
const timeout = new Promise((_, fail) => {
  timer = setTimeout(() => fail(new Error(`timed out after ${TOTAL_TIMEOUT_MS / 1000} s`)), TOTAL_TIMEOUT_MS);
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, async () => {
    await cleanup();
    process.exit(1);
  });
}
try {
  await Promise.race([main(), timeout]);
} catch (error) {
  report(false, "run to the end", error?.stack ?? error);
} finally {
  clearTimeout(timer);
  if (failed && serverLog.length) {
    console.log("# gatehouse log (last 30 lines):");
    for (const line of serverLog.slice(-30)) console.log(`#   ${line}`);
  }
  await cleanup();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
