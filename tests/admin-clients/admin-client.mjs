// Keycloak's own admin client (@keycloak/keycloak-admin-client, from npm) against Gatehouse's
// Admin REST API: the scenario an operator scripts against Keycloak, from admin login on master to
// deleting everything again, with a user's token from the realm's token endpoint in between.
// Run by scripts/test after the cargo tests; standalone:
//
//   cargo build --bin gatehouse && (cd tests/admin-clients && npm ci) && node tests/admin-clients/admin-client.mjs
//
// Prints `ok - <check>` / `not ok - <check>`, then `N passed, M failed`; exits 1 when a check
// failed. GATEHOUSE_BIN names the binary (default target/debug/gatehouse).

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import KcAdminClient from "@keycloak/keycloak-admin-client";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const GATEHOUSE_BIN = resolve(root, process.env.GATEHOUSE_BIN ?? "target/debug/gatehouse");
const ADMIN_PASSWORD = "Admin-Pass-1";
const REALM = "js-realm";
const START_TIMEOUT_MS = 30_000;

let passed = 0;
let failed = 0;
const serverLog = [];

function check(name, ok, detail) {
  if (ok) {
    passed += 1;
    console.log(`ok - ${name}`);
  } else {
    failed += 1;
    console.log(`not ok - ${name}`);
    for (const line of String(detail === undefined ? "" : JSON.stringify(detail)).split("\n")) {
      if (line) console.log(`# ${line}`);
    }
  }
}

function startGatehouse(dir) {
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
  return new Promise((resolvePort, reject) => {
    let port = null;
    let started = false;
    const timer = setTimeout(() => reject(new Error("gatehouse did not start in time")), START_TIMEOUT_MS);
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
        if (port && started) {
          clearTimeout(timer);
          resolvePort({ child, port });
        }
      });
    };
    collect(child.stdout);
    collect(child.stderr);
    child.on("exit", (code) => reject(new Error(`gatehouse exited (${code}) before starting`)));
  });
}

async function status(promise) {
  try {
    await promise;
    return 200;
  } catch (e) {
    return e.response?.status ?? String(e);
  }
}

async function userToken(base, clientId, secret, username, password) {
  const res = await fetch(`${base}/realms/${REALM}/protocol/openid-connect/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "password",
      client_id: clientId,
      client_secret: secret,
      username,
      password,
    }),
  });
  return { status: res.status, body: await res.json() };
}

function claims(jwt) {
  return JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString());
}

async function scenario(base) {
  const kc = new KcAdminClient({ baseUrl: base, realmName: "master" });
  await kc.auth({
    grantType: "password",
    clientId: "admin-cli",
    username: "admin",
    password: ADMIN_PASSWORD,
  });
  const info = await kc.serverInfo.find();
  check("server info has a version", typeof info.systemInfo?.version === "string", info.systemInfo);

  await kc.realms.create({ realm: REALM, enabled: true, displayName: "JS realm" });
  const realm = await kc.realms.findOne({ realm: REALM });
  check("realm created", realm?.displayName === "JS realm", realm);
  check(
    "duplicate realm refused with 409",
    (await status(kc.realms.create({ realm: REALM }))) === 409,
  );
  await kc.realms.update({ realm: REALM }, { ssoSessionIdleTimeout: 3600 });
  const updated = await kc.realms.findOne({ realm: REALM });
  check(
    "partial realm update keeps the rest",
    updated.ssoSessionIdleTimeout === 3600 && updated.displayName === "JS realm",
    updated,
  );
  const listed = (await kc.realms.find()).map((r) => r.realm);
  check("realm listed", listed.includes(REALM) && listed.includes("master"), listed);

  kc.setConfig({ realmName: REALM });
  const { id: clientUuid } = await kc.clients.create({
    clientId: "js-backend",
    publicClient: false,
    directAccessGrantsEnabled: true,
    serviceAccountsEnabled: true,
    redirectUris: ["https://app.example/callback"],
  });
  const found = await kc.clients.find({ clientId: "js-backend" });
  check("client created and found by clientId", found.length === 1 && found[0].id === clientUuid, found);
  const { value: secret } = await kc.clients.getClientSecret({ id: clientUuid });
  check("client secret readable", typeof secret === "string" && secret.length > 0);

  await kc.roles.create({ name: "reader", description: "reads" });
  const reader = await kc.roles.findOneByName({ name: "reader" });
  check("realm role created", reader?.description === "reads", reader);
  await kc.clients.createRole({ id: clientUuid, name: "editor" });
  const editor = await kc.clients.findRole({ id: clientUuid, roleName: "editor" });
  check("client role created", editor?.name === "editor" && editor.clientRole === true, editor);

  const { id: groupId } = await kc.groups.create({ name: "staff" });
  await kc.groups.addRealmRoleMappings({ id: groupId, roles: [{ id: reader.id, name: reader.name }] });
  const group = await kc.groups.findOne({ id: groupId });
  check("group created", group?.path === "/staff", group);

  const { id: userId } = await kc.users.create({
    username: "alice",
    email: "alice@example.com",
    firstName: "Alice",
    lastName: "Liddell",
    enabled: true,
    credentials: [{ type: "password", value: "Wonder-1", temporary: false }],
  });
  const { id: bobId } = await kc.users.create({ username: "bob", enabled: true });
  await kc.users.resetPassword({
    id: bobId,
    credential: { type: "password", value: "Builder-1", temporary: false },
  });
  check(
    "duplicate username refused with 409",
    (await status(kc.users.create({ username: "alice", enabled: true }))) === 409,
  );
  const search = await kc.users.find({ search: "lidd" });
  check("user search", search.length === 1 && search[0].id === userId, search);
  check("user count", (await kc.users.count()) === 2);
  await kc.users.update({ id: userId }, { firstName: "Alicia" });
  const alice = await kc.users.findOne({ id: userId });
  check(
    "partial user update",
    alice.firstName === "Alicia" && alice.email === "alice@example.com",
    alice,
  );
  await kc.users.addToGroup({ id: userId, groupId });
  const groups = await kc.users.listGroups({ id: userId });
  check("user in group", groups.length === 1 && groups[0].id === groupId, groups);
  await kc.users.addClientRoleMappings({
    id: userId,
    clientUniqueId: clientUuid,
    roles: [{ id: editor.id, name: editor.name }],
  });
  await kc.users.addRealmRoleMappings({ id: bobId, roles: [{ id: reader.id, name: reader.name }] });
  const composite = await kc.users.listCompositeRealmRoleMappings({ id: userId });
  check(
    "realm role through the group is effective",
    composite.some((r) => r.name === "reader"),
    composite,
  );

  const token = await userToken(base, "js-backend", secret, "alice", "Wonder-1");
  check("user gets a token", token.status === 200, token.body);
  const c = claims(token.body.access_token);
  check(
    "token carries the mapped roles",
    c.realm_access.roles.includes("reader") && c.resource_access["js-backend"].roles.includes("editor"),
    c,
  );
  const bob = await userToken(base, "js-backend", secret, "bob", "Builder-1");
  check("bob logs in with the reset password", bob.status === 200, bob.body);

  const sessions = await kc.users.listSessions({ id: userId });
  check(
    "session listed with its client",
    sessions.length === 1 && Object.values(sessions[0].clients).includes("js-backend"),
    sessions,
  );
  const clientSessions = await kc.clients.listSessions({ id: clientUuid });
  check("client lists both users' sessions", clientSessions.length === 2, clientSessions);
  await kc.users.logout({ id: userId });
  check("logout ends the sessions", (await kc.users.listSessions({ id: userId })).length === 0);

  await kc.users.del({ id: userId });
  await kc.users.del({ id: bobId });
  check("deleted user is gone", (await kc.users.findOne({ id: userId })) === null);
  await kc.groups.del({ id: groupId });
  await kc.roles.delByName({ name: "reader" });
  await kc.clients.del({ id: clientUuid });
  check("client deleted", (await kc.clients.find({ clientId: "js-backend" })).length === 0);
  kc.setConfig({ realmName: "master" });
  await kc.realms.del({ realm: REALM });
  check("realm deleted", (await kc.realms.findOne({ realm: REALM })) === null);
}

const dir = mkdtempSync(join(tmpdir(), "gatehouse-admin-client-"));
let child;
try {
  const started = await startGatehouse(dir);
  child = started.child;
  await scenario(`http://127.0.0.1:${started.port}`);
} catch (e) {
  check("scenario ran to its end", false, `${e.stack ?? e}\n${e.response ? `HTTP ${e.response.status} ${e.response.url}` : ""}`);
  console.log("# server log:");
  for (const line of serverLog.slice(-40)) console.log(`#   ${line}`);
} finally {
  if (child && child.exitCode === null) {
    const exited = new Promise((done) => child.once("exit", done));
    child.kill("SIGTERM");
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
