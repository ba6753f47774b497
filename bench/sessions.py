"""Session benchmark: browser logins and refresh grants through nginx, one to three nodes,
round-robin and sticky routing. See bench/sessions."""

import glob
import html
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grants  # noqa: E402  (the server start/stop and machine helpers)

ROOT = grants.ROOT
WORK = os.path.join(ROOT, "bench", "work", "sessions")
grants.WORK = WORK
PG_URL = os.environ["BENCH_PG_URL"]
NGINX_BIN = os.environ.get("NGINX_BIN", "nginx")
# Small defaults: 6 cases x 2 measurements x (warm-up + duration) plus three cluster starts stay
# well under ten minutes on two cores.
DURATION = int(os.environ.get("BENCH_DURATION", "10"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "2"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "8"))

REALM = "bench"
CLIENT = ("app", "app-secret")
USER = ("walter", "Walter-Pass-1")
CALLBACK = "http://127.0.0.1:9/callback"
TOKEN = f"/realms/{REALM}/protocol/openid-connect/token"
AUTH = (f"/realms/{REALM}/protocol/openid-connect/auth?client_id={CLIENT[0]}&response_type=code"
        f"&scope=openid&state=s-1&redirect_uri={urllib.parse.quote(CALLBACK, safe='')}")
FORM = "application/x-www-form-urlencoded"
NAMES = ["node1", "node2", "node3"]


# --- nodes and nginx --------------------------------------------------------------------------


def db_args(name):
    """A fresh database, so each node count starts without the sessions of the one before."""
    return grants.fresh_db_args(PG_URL, name)


def node_args(db, name, http_port, public):
    # --hostname names nginx, so the login form posts back through it (as in tests/e2e/nginx.rs).
    return ["start", "--hostname", public, "--http-enabled", "true",
            "--http-host", "127.0.0.1", "--http-port", str(http_port), "--node-name", name,
            "--cache", "ispn", "--cache-embedded-network-bind-address", "127.0.0.1",
            "--cache-embedded-network-bind-port", "0", "--log-level", "warn", *db]


def upstream(name, own, others):
    # Keep-alive to the nodes, as a production proxy would run; without it every proxied request
    # pays a TCP handshake on the same two cores.
    lines = [f"upstream {name} {{", f"  server 127.0.0.1:{own};"]
    lines += [f"  server 127.0.0.1:{p} backup;" for p in others]
    lines += ["  keepalive 32;", "}"]
    return "\n".join(lines) + "\n"


def server_block(port, pool):
    return (f"server {{\n  listen 127.0.0.1:{port};\n  location / {{\n"
            f"    proxy_pass http://{pool};\n    proxy_http_version 1.1;\n"
            f"    proxy_set_header Connection \"\";\n    proxy_set_header Host $http_host;\n"
            f"    proxy_next_upstream error timeout;\n    proxy_connect_timeout 2s;\n"
            f"    add_header X-Upstream $upstream_addr always;\n  }}\n}}\n")


def nginx_config(port, nodes, sticky):
    """The two configurations of tests/e2e/nginx.rs: round-robin over every node, or sticky on the
    route after the first `.` of AUTH_SESSION_ID (an upstream per node, the others its backups;
    no cookie or an unknown route: round-robin)."""
    servers = "".join(f"  server 127.0.0.1:{p};\n" for _, p in nodes)
    out = f"upstream all {{\n{servers}  keepalive 32;\n}}\n"
    if not sticky:
        return out + server_block(port, "all")
    for name, own in nodes:
        out += upstream(name, own, [p for n, p in nodes if n != name])
    out += ("map $cookie_AUTH_SESSION_ID $route {\n  default \"\";\n"
            "  \"~^[^.]+\\.(?<r>.+)$\" $r;\n}\n")
    out += "map $route $pool {\n  default all;\n"
    out += "".join(f"  {name} {name};\n" for name, _ in nodes) + "}\n"
    return out + server_block(port, "$pool")


def nginx_start(config):
    """Starts nginx through scripts/nginx.sh; returns its prefix folder."""
    body = os.path.join(WORK, "nginx-http.conf")
    with open(body, "w") as f:
        f.write(config)
    out = subprocess.run(["bash", "-c", 'source scripts/nginx.sh && nginx_start "$1" >/dev/null '
                          '2>&1 && echo "$NGINX_DIR"', "_", body],
                         cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"nginx did not start: {out.stdout}{out.stderr}")
    return out.stdout.strip()


def nginx_stop(prefix):
    subprocess.run(["bash", "-c", 'source scripts/nginx.sh && NGINX_DIR=$1 nginx_stop', "_",
                    prefix], cwd=ROOT, check=True)


def nginx_pids(prefix):
    """The master and its workers, for the CPU they use."""
    with open(os.path.join(prefix, "nginx.pid")) as f:
        master = int(f.read().strip())
    pids = [master]
    for task in glob.glob(f"/proc/{master}/task/*/children"):
        with open(task) as f:
            pids += [int(p) for p in f.read().split()]
    return pids


def cpu_seconds(pids):
    total = 0.0
    for pid in pids:
        try:
            total += grants.cpu_seconds(pid)
        except OSError:
            pass
    return total


def postgres_cpu():
    """CPU seconds of PostgreSQL's postmaster and its children (the backends) by pid: backends
    that come during a measurement count from zero."""
    data = os.path.join(os.environ.get("PG_DIR", ""), "data", "postmaster.pid")
    try:
        with open(data) as f:
            master = int(f.readline())
    except (OSError, ValueError):
        return {}
    pids = [master]
    for task in glob.glob(f"/proc/{master}/task/*/children"):
        with open(task) as f:
            pids += [int(p) for p in f.read().split()]
    return {pid: cpu_seconds([pid]) for pid in pids}


def machine_busy():
    """CPU seconds the whole machine spent busy (every process, ours or not), from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


# --- setup through the admin API --------------------------------------------------------------


def admin_call(base, token, method, path, body):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method=method,
                                 headers={"Content-Type": "application/json",
                                          "Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status


def setup_realm(base):
    """The realm of tests/e2e/nginx.rs without single-use refresh tokens (the realm default), so
    a worker's refresh token stays valid if an answer is lost; each worker still carries the
    latest one on."""
    token = grants.must("admin login", *grants.post(
        base + "/realms/master/protocol/openid-connect/token",
        {"grant_type": "password", "client_id": "admin-cli", "username": "admin",
         "password": grants.ADMIN_PASSWORD}))["access_token"]
    admin_call(base, token, "POST", "/admin/realms", {"realm": REALM, "enabled": True})
    admin_call(base, token, "POST", f"/admin/realms/{REALM}/clients", {
        "clientId": CLIENT[0], "secret": CLIENT[1], "redirectUris": [CALLBACK],
        "directAccessGrantsEnabled": True})
    admin_call(base, token, "POST", f"/admin/realms/{REALM}/users", {
        "username": USER[0], "enabled": True, "email": "walter@example.org",
        "emailVerified": True, "firstName": "Walter", "lastName": "White",
        "credentials": [{"type": "password", "value": USER[1], "temporary": False}]})


# --- the load ---------------------------------------------------------------------------------


class Failed(Exception):
    pass


def attribute(page, marker, attr):
    """The attribute of the tag holding `marker` (as tests/e2e/browser.rs reads it)."""
    at = page.find(marker)
    if at < 0:
        raise Failed(f"no {marker} in the page")
    tag = page[page.rfind("<", 0, at):page.find(">", at)]
    m = re.search(attr + r'="([^"]*)"', tag)
    if not m:
        raise Failed(f"no {attr} in {tag}")
    return html.unescape(m.group(1))


class Worker:
    """One browser and its relying party: a keep-alive connection each to nginx. The browser's
    cookie jar is emptied before every login, so each login is a new browser that types the
    password (a kept KEYCLOAK_IDENTITY would turn the next one into an SSO redirect)."""

    def __init__(self, port, node_ports=None):
        # node name -> "127.0.0.1:<port>", to tell whether a request reached the login's owner
        self.node_ports = node_ports or {}
        self.port = port
        self.browser = None
        self.rp = None
        self.jar = {}
        self.refresh_token = None
        self.same_node = 0  # logins whose form post reached the node their route names (the owner)

    def request(self, which, method, path, body=None, headers=None):
        conn = getattr(self, which)
        for attempt in (0, 1):
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                setattr(self, which, conn)
            try:
                conn.request(method, path, body=body, headers=headers or {})
                r = conn.getresponse()
                data = r.read()
                return r, data
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # nginx closed an idle keep-alive connection: one retry on a new one.
                conn.close()
                conn = None
                setattr(self, which, None)
                if attempt:
                    raise

    def browse(self, method, path, body=None):
        headers = {}
        if self.jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        if body is not None:
            headers["Content-Type"] = FORM
        r, data = self.request("browser", method, path, body, headers)
        for c in r.headers.get_all("Set-Cookie") or []:
            name, _, rest = c.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in c or not value:
                self.jar.pop(name, None)
            else:
                self.jar[name] = value
        return r, data

    def token(self, form):
        r, data = self.request("rp", "POST", TOKEN, urllib.parse.urlencode(form), {
            "Content-Type": FORM, "Authorization": grants.basic(*CLIENT)})
        if r.status != 200:
            raise Failed(f"token {form['grant_type']}: HTTP {r.status}")
        return json.loads(data)

    def login(self):
        self.jar = {}
        r, page = self.browse("GET", AUTH)
        if r.status != 200:
            raise Failed(f"login page: HTTP {r.status}")
        page = page.decode()
        # AUTH_SESSION_ID is <id>.<route>; the route names the login's primary owner.
        route = self.jar.get("AUTH_SESSION_ID", "").partition(".")[2]
        owner = self.node_ports.get(route)
        action = attribute(page, 'id="kc-form-login"', "action")
        csrf = attribute(page, 'name="csrf"', "value")
        parts = urllib.parse.urlsplit(action)
        r, _ = self.browse("POST", f"{parts.path}?{parts.query}", urllib.parse.urlencode(
            {"username": USER[0], "password": USER[1], "csrf": csrf}))
        if r.status != 302:
            raise Failed(f"form post: HTTP {r.status}")
        if owner is not None and r.headers.get("X-Upstream", "").rsplit(", ", 1)[-1] == owner:
            self.same_node += 1
        location = r.headers.get("Location", "")
        code = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query).get("code")
        if not code:
            raise Failed("form post: no code in the redirect")
        tokens = self.token({"grant_type": "authorization_code", "code": code[0],
                             "redirect_uri": CALLBACK})
        self.refresh_token = tokens["refresh_token"]

    def refresh(self):
        tokens = self.token({"grant_type": "refresh_token", "refresh_token": self.refresh_token})
        self.refresh_token = tokens["refresh_token"]


def run(workers, action, seconds):
    """Every worker repeats `action` for `seconds`; returns the latencies (s) of the successes,
    the failures by message and the wall time. An operation running at the deadline is finished
    and counted, as oha's `-w`."""
    deadline = time.monotonic() + seconds
    latencies, errors, lock = [], {}, threading.Lock()

    def loop(w):
        mine, failed = [], {}
        while time.monotonic() < deadline:
            t0 = time.monotonic()
            try:
                getattr(w, action)()
                mine.append(time.monotonic() - t0)
            except (Failed, OSError, http.client.HTTPException, ValueError, KeyError) as e:
                key = str(e) if isinstance(e, Failed) else type(e).__name__
                failed[key] = failed.get(key, 0) + 1
        with lock:
            latencies.extend(mine)
            for k, v in failed.items():
                errors[k] = errors.get(k, 0) + v

    t0 = time.monotonic()
    threads = [threading.Thread(target=loop, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors, time.monotonic() - t0


def percentile(values, p):
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, int(p / 100 * len(s)))]


def measure(label, what, workers, action, servers, nginx):
    run(workers, action, WARMUP)
    for w in workers:
        w.same_node = 0
    cpu0, ng0, me0 = cpu_seconds(servers), cpu_seconds(nginx), time.process_time()
    pg0, all0 = postgres_cpu(), machine_busy()
    latencies, errors, wall = run(workers, action, DURATION)
    pg1, busy = postgres_cpu(), (machine_busy() - all0) / wall
    row = {"case": label, "what": what, "rate": len(latencies) / wall,
           "p50": percentile(latencies, 50) * 1000, "p99": percentile(latencies, 99) * 1000,
           "errors": sum(errors.values()), "error_detail": errors,
           "cpu": (cpu_seconds(servers) - cpu0) / wall,
           "nginx_cpu": (cpu_seconds(nginx) - ng0) / wall,
           "tool_cpu": (time.process_time() - me0) / wall,
           "pg_cpu": sum(v - pg0.get(k, 0.0) for k, v in pg1.items()) / wall,
           "busy": busy,
           "same": (sum(w.same_node for w in workers) / len(latencies)
                    if action == "login" and latencies else None)}
    same = "" if row["same"] is None else f"  form post on the login's owner {row['same']:.0%}"
    print(f"  {label:<24} {what:<9} {row['rate']:8.1f}/s  p50 {row['p50']:7.2f} ms  "
          f"p99 {row['p99']:7.2f} ms  errors {row['errors']}  servers' CPU {row['cpu']:.2f}  "
          f"nginx {row['nginx_cpu']:.2f}  PostgreSQL {row['pg_cpu']:.2f}  load tool "
          f"{row['tool_cpu']:.2f}  machine {row['busy']:.2f}{same}", flush=True)
    if errors:
        print(f"    errors: {errors}", flush=True)
    return row


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    load_before = os.getloadavg()
    rows = []
    nginx_port = grants.free_port()
    public = f"http://127.0.0.1:{nginx_port}"
    print(f"nginx on {public}, {CONCURRENCY} workers, {WARMUP} s warm-up + {DURATION} s per "
          "measurement", flush=True)
    for count in (1, 2, 3):
        db = db_args(f"bench_sessions_{count}")
        ports = [grants.free_port() for _ in range(count)]
        names = NAMES[:count]
        procs = []
        try:
            for name, port in zip(names, ports):
                procs.append(grants.start(node_args(db, name, port, public), port))
            if count > 1:
                time.sleep(3)  # the view forms
            setup_realm(f"http://127.0.0.1:{ports[0]}")
            nodes = list(zip(names, ports))
            pids = [p.pid for p in procs]
            for sticky in (False, True):
                routing = "sticky" if sticky else "round-robin"
                label = f"{count} node{'s' if count > 1 else ''}, {routing}"
                prefix = nginx_start(nginx_config(nginx_port, nodes, sticky))
                try:
                    ng = nginx_pids(prefix)
                    owners = {name: f"127.0.0.1:{port}" for name, port in nodes}
                    workers = [Worker(nginx_port, owners) for _ in range(CONCURRENCY)]
                    rows.append(measure(label, "logins", workers, "login", pids, ng))
                    # The sessions to refresh: each worker's latest login (one more for a worker
                    # whose logins all failed).
                    for w in workers:
                        if w.refresh_token is None:
                            w.login()
                    rows.append(measure(label, "refreshes", workers, "refresh", pids, ng))
                finally:
                    nginx_stop(prefix)
        finally:
            for p in procs:
                grants.stop(p)
    load_after = os.getloadavg()
    report(rows, load_before, load_after)


def report(rows, load_before, load_after):
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    nginx_version = subprocess.run([NGINX_BIN, "-v"], capture_output=True,
                                   text=True).stderr.strip().split("/")[-1]
    lines = [
        f"# Session benchmark behind nginx, {stamp}",
        "",
        f"- commit: {commit}{' (with uncommitted changes)' if dirty else ''}",
        f"- machine: {grants.machine()}; every node, PostgreSQL, nginx and the load tool run on "
        "this machine and share its cores",
        f"- load average (1 min) before / after: {load_before[0]:.2f} / {load_after[0]:.2f}",
        f"- command: `bench/sessions` (release build; nginx {nginx_version} with one worker "
        "through scripts/nginx.sh; the load tool is bench/sessions.py, Python threads with "
        "http.client)",
        "- nodes: `target/release/gatehouse start --hostname http://127.0.0.1:<nginx port> "
        "--http-enabled true --http-host 127.0.0.1 --http-port <port> --node-name nodeN "
        "--cache ispn --cache-embedded-network-bind-address 127.0.0.1 "
        "--cache-embedded-network-bind-port 0 --log-level warn --db postgres ...`; the nodes are "
        "stopped and a fresh database is made between node counts",
        "- nginx: round-robin over every node, or sticky as in tests/e2e/nginx.rs (a `map` from "
        "the route after the first `.` of `AUTH_SESSION_ID` to an upstream per node, the others "
        "its backups; no cookie: round-robin); keep-alive to the nodes (`keepalive 32`)",
        "- login: a new cookie jar, `GET /realms/bench/protocol/openid-connect/auth` (login "
        "page, sets `AUTH_SESSION_ID`), `POST` of the form with username, password and csrf "
        "(302 with the code), code exchange at the token endpoint by the confidential client; "
        "one row of ok/s counts whole logins (three requests) and the latencies are a whole "
        "login's",
        "- refresh: `refresh_token` grants on the sessions the logins made, each worker "
        "carrying its latest refresh token on (realm without `revokeRefreshToken`); the "
        "relying party's back-channel requests carry no cookie, so nginx sends them "
        "round-robin in both configurations",
        f"- each measurement: {WARMUP} s warm-up (discarded), then {DURATION} s with "
        f"{CONCURRENCY} workers, each with its own keep-alive connections (browser and relying "
        "party)",
        "- CPU columns: cores used during the measurement by the nodes together, nginx, "
        "PostgreSQL, the load tool, and the whole machine (from /proc/stat: anything above the "
        "sum of the others is someone else's work on the shared machine)",
        "",
        "| nodes, routing | measured | ok/s | p50 ms | p99 ms | errors | form post on the "
        "login's owner (the route's node) | CPU (cores): servers | nginx | PostgreSQL | load tool | whole machine |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        same = "" if r["same"] is None else f"{r['same']:.0%}"
        lines.append(f"| {r['case']} | {r['what']} | {r['rate']:.1f} | {r['p50']:.2f} | "
                     f"{r['p99']:.2f} | {r['errors']} | {same} | {r['cpu']:.2f} | "
                     f"{r['nginx_cpu']:.2f} | {r['pg_cpu']:.2f} | {r['tool_cpu']:.2f} | "
                     f"{r['busy']:.2f} |")
    failed = [r for r in rows if r["error_detail"]]
    if failed:
        lines += ["", "Errors:", ""]
        lines += [f"- {r['case']}, {r['what']}: {r['error_detail']}" for r in failed]
    lines.append("")
    out = os.path.join(ROOT, "bench", "results", f"sessions-{stamp}-{commit}.md")
    with open(out, "w") as f:
        f.write("\n".join(lines))
    print(f"wrote {os.path.relpath(out, ROOT)}")


if __name__ == "__main__":
    main()
