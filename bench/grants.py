"""Measures OIDC grant and introspection throughput against a release build. See bench/run."""

import base64
import glob
import json
import os
import platform
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import datetime, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, "target", "release", "gatehouse")
EXAMPLES = os.path.join(ROOT, "target", "release", "examples")
WORK = os.path.join(ROOT, "bench", "work", "grants")
OHA = os.environ.get("OHA", "oha")

DURATION = int(os.environ.get("BENCH_DURATION", "15"))  # seconds measured per case
WARMUP = int(os.environ.get("BENCH_WARMUP", "3"))  # seconds run first and thrown away
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))
CORES = os.cpu_count() or 1

ADMIN_PASSWORD = "bench-Admin-Pass-1"
CLIENT_ID = "bench-client"
CLIENT_SECRET = "bench-client-secret"
ES_CLIENT_ID = "bench-es256"
REALM = "/realms/master"
TOKEN = REALM + "/protocol/openid-connect/token"
INTROSPECT = TOKEN + "/introspect"
FORM = "application/x-www-form-urlencoded"

# Keycloak 26 sizing guide ("Concepts for sizing CPU and memory resources"): per vCPU and second.
KEYCLOAK_REFERENCE = {"client_credentials": 120, "refresh_token": 120, "password": 15}


# --- the server -------------------------------------------------------------------------------


def psql(pg_url, sql):
    """Runs `sql` on the PostgreSQL at `pg_url` with Debian's newest psql."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"))
    exe = found[-1] if found else "psql"
    subprocess.run([exe, pg_url, "-q", "-c", sql], check=True, capture_output=True)


def fresh_db_args(pg_url, name):
    """The options of a node on a new, empty database `name` at `pg_url`."""
    psql(pg_url, f"DROP DATABASE IF EXISTS {name}")
    psql(pg_url, f"CREATE DATABASE {name}")
    user, hostpath = pg_url.removeprefix("postgres://").split("@", 1)
    host = hostpath.split("/", 1)[0]
    return ["--db", "postgres", "--db-url", f"jdbc:postgresql://{host}/{name}",
            "--db-username", user]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(port):
    """One raw request to /realms/master over plain HTTP: 200 means the node serves."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(f"GET {REALM} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                      .encode())
            return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def start(args, http_port):
    env = {"PATH": os.environ.get("PATH", ""),
           "KC_BOOTSTRAP_ADMIN_USERNAME": "admin",
           "KC_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD}
    log = open(os.path.join(WORK, "server.log"), "a")
    proc = subprocess.Popen([BINARY, *args], cwd=WORK, env=env, stdout=log, stderr=log)
    t0 = time.monotonic()
    while not answers(http_port):
        if proc.poll() is not None:
            sys.exit(f"gatehouse exited with {proc.returncode}; see {log.name}")
        if time.monotonic() - t0 > 60:
            stop(proc)
            sys.exit("gatehouse did not answer in 60 s")
        time.sleep(0.02)
    return proc


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cpu_seconds(pid):
    """utime + stime of the server process, all threads."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


# --- one-off requests -------------------------------------------------------------------------

INSECURE = ssl.create_default_context()
INSECURE.check_hostname = False
INSECURE.verify_mode = ssl.CERT_NONE


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def post(url, form, auth=None):
    req = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode(),
                                 headers={"Content-Type": FORM})
    if auth:
        req.add_header("Authorization", auth)
    try:
        with urllib.request.urlopen(req, timeout=30, context=INSECURE) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def must(what, status, body):
    if status != 200:
        sys.exit(f"{what}: {status} {body}")
    return body


def jwt_claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# --- load -------------------------------------------------------------------------------------


def oha(url, body, auth=None, keepalive=True, seconds=DURATION):
    args = [OHA, "--no-tui", "--output-format", "json", "-z", f"{seconds}s",
            "-c", str(CONCURRENCY), "-w", "--insecure",
            "-m", "POST", "-T", FORM, "-d", body]
    if auth:
        args += ["-a", auth]
    if not keepalive:
        args.append("--disable-keepalive")
    args.append(url)
    out = subprocess.run(args, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"oha failed ({out.returncode}): {out.stderr}")
    return json.loads(out.stdout)


def shown(args):
    """The oha command line as a reader would retype it (secrets are the bench's own)."""
    return " ".join(a if re.fullmatch(r"[\w./:=@%-]+", a) else repr(a) for a in args)


COMMANDS = []


def measure(proc, endpoint, mode, url, body, auth=None, keepalive=True, limit=None):
    oha(url, body, auth, keepalive, seconds=WARMUP)
    cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
    r = oha(url, body, auth, keepalive)
    cpu = cpu_seconds(proc.pid) - cpu0
    wall = time.monotonic() - t0
    COMMANDS.append(shown([os.path.relpath(OHA, ROOT), "--no-tui", "--output-format", "json",
                           "-z", f"{DURATION}s", "-c", str(CONCURRENCY), "-w", "--insecure",
                           "-m", "POST", "-T", FORM, "-d", body[:60] + ("…" if len(body) > 60
                                                                         else "")]
                          + (["-a", auth] if auth else [])
                          + ([] if keepalive else ["--disable-keepalive"]) + [url]))
    summary = r["summary"]
    codes = {str(k): int(v) for k, v in (r.get("statusCodeDistribution") or {}).items()}
    failures = {str(k): int(v) for k, v in (r.get("errorDistribution") or {}).items()}
    ok = codes.get("200", 0)
    total_time = summary.get("total") or DURATION
    rate = ok / total_time
    pct = r.get("latencyPercentiles") or r.get("latency_percentiles") or {}
    row = {
        "endpoint": endpoint,
        "mode": mode,
        "rate": rate,
        "per_core": rate / CORES,
        "p50": (pct.get("p50") or 0) * 1000.0,
        "p99": (pct.get("p99") or 0) * 1000.0,
        "errors": sum(v for k, v in codes.items() if k != "200") + sum(failures.values()),
        "error_detail": {**{f"HTTP {k}": v for k, v in codes.items() if k != "200"}, **failures},
        "requests": ok,
        "limit": limit,
        "server_cpu": cpu / wall,
    }
    print(f"  {endpoint:<20} {mode:<22} {rate:9.1f}/s  p50 {row['p50']:7.2f} ms  "
          f"p99 {row['p99']:7.2f} ms  errors {row['errors']}  server CPU {row['server_cpu']:.2f}",
          flush=True)
    return row


def cases(proc, base, tls):
    """All measurements against one running node; `base` is http(s)://127.0.0.1:port."""
    scheme = "HTTPS" if tls else "HTTP"
    rows = []
    cc_body = "grant_type=client_credentials"
    client_auth = f"{CLIENT_ID}:{CLIENT_SECRET}"
    modes = [(True, f"{scheme} keep-alive"), (False, f"{scheme} new conn/request")]

    for keepalive, mode in modes:
        rows.append(measure(proc, "client_credentials", mode, base + TOKEN, cc_body, client_auth,
                            keepalive, limit=("RS256 sign", LIMITS["rs256"])))
    if not tls:
        rows.append(measure(proc, "client_credentials ES256", modes[0][1], base + TOKEN, cc_body,
                            f"{ES_CLIENT_ID}:{CLIENT_SECRET}", True,
                            limit=("ES256 sign", LIMITS["es256"])))
        pw_body = urllib.parse.urlencode({"grant_type": "password", "client_id": "admin-cli",
                                          "username": "admin", "password": ADMIN_PASSWORD})
        rows.append(measure(proc, "password", modes[0][1], base + TOKEN, pw_body,
                            limit=("argon2id hash", LIMITS["argon2"])))
        login = must("password grant", *post(base + TOKEN, {
            "grant_type": "password", "client_id": "admin-cli", "username": "admin",
            "password": ADMIN_PASSWORD}))
        rt_body = urllib.parse.urlencode({"grant_type": "refresh_token", "client_id": "admin-cli",
                                          "refresh_token": login["refresh_token"]})
        must("refresh grant", *post(base + TOKEN, {"grant_type": "refresh_token",
                                                   "client_id": "admin-cli",
                                                   "refresh_token": login["refresh_token"]}))
        rows.append(measure(proc, "refresh_token", modes[0][1], base + TOKEN, rt_body,
                            limit=("RS256 sign", LIMITS["rs256"])))

    for keepalive, mode in modes:
        # A fresh token per case: the master realm's access tokens live 60 s.
        token = must("client credentials grant", *post(
            base + TOKEN, {"grant_type": "client_credentials"}, basic(CLIENT_ID, CLIENT_SECRET)))
        access = token["access_token"]
        lifetime = jwt_claims(access)["exp"] - time.time()
        if lifetime < WARMUP + DURATION + 5:
            print(f"  warning: the introspected token expires in {lifetime:.0f} s, before the "
                  "run ends", flush=True)
        status, active = post(base + INTROSPECT, {"token": access},
                              basic(CLIENT_ID, CLIENT_SECRET))
        if status != 200 or active.get("active") is not True:
            sys.exit(f"introspection before the run: {status} {active}")
        row = measure(proc, "introspection", mode, base + INTROSPECT,
                      urllib.parse.urlencode({"token": access}), client_auth, keepalive)
        status, active = post(base + INTROSPECT, {"token": access},
                              basic(CLIENT_ID, CLIENT_SECRET))
        row["still_active"] = status == 200 and active.get("active") is True
        rows.append(row)
    return rows


# --- physical limits --------------------------------------------------------------------------

LIMITS = {}


def one_core(args):
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    return subprocess.run(pin + args, capture_output=True, text=True, check=True).stdout


def physical_limits():
    out = one_core([os.path.join(EXAMPLES, "sign_speed")])
    for line in out.splitlines():
        m = re.match(r"(\w+)\s+sign\s+([\d.]+)/s", line)
        if m and m.group(1) in ("RS256", "ES256"):
            LIMITS[m.group(1).lower()] = float(m.group(2))
    hashes = one_core([os.path.join(EXAMPLES, "hash_speed")])
    for line in hashes.splitlines():
        m = re.match(r"argon2\s+\S+\s+iterations\s+([\d.]+)\s+ms per hash", line)
        if m:
            LIMITS["argon2_ms"] = float(m.group(1))
            LIMITS["argon2"] = 1000.0 / float(m.group(1))
    if not {"rs256", "es256", "argon2"} <= LIMITS.keys():
        sys.exit(f"could not read the limits from:\n{out}\n{hashes}")
    return out, hashes


# --- report -----------------------------------------------------------------------------------


def machine():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{model}, {CORES} cores, {mem:.0f} GiB, {platform.system()} {platform.release()}"


def tool_version():
    return subprocess.run([OHA, "--version"], capture_output=True, text=True).stdout.strip()


def self_signed(folder):
    cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


def setup_clients(base):
    """Creates the benchmark's clients through the Admin REST API, as an operator would: one
    signing with the realm's RS256 key, one asking for ES256 (`access.token.signed.response.alg`).
    Each puts itself in its tokens' audience (an audience mapper), which Keycloak 26 requires
    of a client that introspects them."""
    admin = must("admin login", *post(base + TOKEN, {
        "grant_type": "password", "client_id": "admin-cli", "username": "admin",
        "password": ADMIN_PASSWORD}))
    for client_id, attributes in [(CLIENT_ID, {}),
                                  (ES_CLIENT_ID, {"access.token.signed.response.alg": "ES256"})]:
        audience = {"name": "own audience", "protocol": "openid-connect",
                    "protocolMapper": "oidc-audience-mapper",
                    "config": {"included.client.audience": client_id,
                               "access.token.claim": "true",
                               "introspection.token.claim": "true"}}
        body = json.dumps({"clientId": client_id, "secret": CLIENT_SECRET,
                           "serviceAccountsEnabled": True, "directAccessGrantsEnabled": True,
                           "attributes": attributes, "protocolMappers": [audience]}).encode()
        req = urllib.request.Request(base + "/admin/realms/master/clients", data=body, headers={
            "Content-Type": "application/json",
            "Authorization": "Bearer " + admin["access_token"]})
        with urllib.request.urlopen(req, timeout=30) as r:
            if r.status != 201:
                sys.exit(f"creating {client_id}: {r.status}")


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    load_before = os.getloadavg()
    print("physical limits on one core (taskset -c 0)", flush=True)
    sign_out, hash_out = physical_limits()
    print(f"  RS256 {LIMITS['rs256']:.0f} sign/s, ES256 {LIMITS['es256']:.0f} sign/s, "
          f"argon2id {LIMITS['argon2_ms']:.1f} ms/hash", flush=True)

    http_port = free_port()
    dev_args = ["start-dev", "--http-port", str(http_port), "--log-level", "warn"]
    proc = start(dev_args, http_port)
    rows, rss = [], {}
    try:
        setup_clients(f"http://127.0.0.1:{http_port}")
        print(f"start-dev on 127.0.0.1:{http_port}, {CONCURRENCY} connections, "
              f"{WARMUP} s warm-up + {DURATION} s per case", flush=True)
        rows += cases(proc, f"http://127.0.0.1:{http_port}", tls=False)
        rss["start-dev"] = rss_mib(proc.pid)
    finally:
        stop(proc)

    cert, key = self_signed(WORK)
    http_port, https_port = free_port(), free_port()
    prod_args = ["start", "--hostname", "localhost", "--https-certificate-file", cert,
                 "--https-certificate-key-file", key, "--https-port", str(https_port),
                 "--http-enabled", "true", "--http-port", str(http_port),
                 "--http-host", "127.0.0.1", "--cache", "local", "--log-level", "warn"]
    proc = start(prod_args, http_port)
    try:
        print(f"start (TLS) on 127.0.0.1:{https_port}", flush=True)
        rows += cases(proc, f"https://127.0.0.1:{https_port}", tls=True)
        rss["start (TLS)"] = rss_mib(proc.pid)
    finally:
        stop(proc)
    load_after = os.getloadavg()

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    rel = lambda p: os.path.relpath(p, ROOT)  # noqa: E731
    lines = [
        f"# OIDC grant benchmark, {stamp}",
        "",
        f"- commit: {commit}{' (with uncommitted changes)' if dirty else ''}",
        f"- machine: {machine()}",
        f"- load average (1 min) before / after: {load_before[0]:.2f} / {load_after[0]:.2f}"
        " (the machine is shared; anything else running shows here)",
        f"- command: `bench/run` (release build; load tool {tool_version()}, on the same "
        f"{CORES} cores as the server)",
        f"- each case: {WARMUP} s warm-up (discarded), then {DURATION} s at {CONCURRENCY} "
        "concurrent connections, in-flight requests awaited at the end (`-w`)",
        f"- HTTP cases: `{rel(BINARY)} {' '.join(dev_args)}` (SQLite `dev-file`); plain HTTP on "
        "loopback, no TLS",
        f"- HTTPS cases: `{rel(BINARY)} start --hostname localhost --https-certificate-file "
        "cert.pem --https-certificate-key-file key.pem --https-port <port> --http-enabled true "
        "--http-port <port> --http-host 127.0.0.1 --cache local --log-level warn` with a "
        "self-signed RSA-2048 certificate (openssl); \"new conn/request\" is a full TLS "
        "handshake per request",
        f"- clients `{CLIENT_ID}` (RS256) and `{ES_CLIENT_ID}` (ES256 through "
        "`access.token.signed.response.alg`), confidential with a secret, a service account and "
        "direct access grants, created through the Admin REST API (`POST "
        "/admin/realms/master/clients`)",
        f"- server RSS at the end: "
        + ", ".join(f"{k} {v:.0f} MiB" for k, v in rss.items()),
        "",
        "## Physical limits, one core",
        "",
        f"`taskset -c 0 target/release/examples/sign_speed`:",
        "",
        "```",
        sign_out.strip(),
        "```",
        "",
        f"`taskset -c 0 target/release/examples/hash_speed`:",
        "",
        "```",
        hash_out.strip(),
        "```",
        "",
        "## Results",
        "",
        f"req/s counts `200` answers only; per core = req/s / {CORES} cores (the load tool "
        "shares those cores, so this understates the server); ratio = per core / the limit on "
        "one core; server CPU = the server process's CPU time / wall time (cores busy).",
        "",
        "| endpoint | conn mode | req/s | per core | p50 ms | p99 ms | errors | ratio to limit "
        "| server CPU |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["limit"]:
            name, value = r["limit"]
            ratio = f"{r['per_core'] / value:.3f} of {name} ({value:.0f}/s)"
        else:
            ratio = "— (raw)"
        lines.append(f"| {r['endpoint']} | {r['mode']} | {r['rate']:.1f} | {r['per_core']:.1f} "
                     f"| {r['p50']:.2f} | {r['p99']:.2f} | {r['errors']} | {ratio} "
                     f"| {r['server_cpu']:.2f} |")
    detail = [r for r in rows if r["errors"]]
    if detail:
        lines += ["", "Errors:", ""]
        for r in detail:
            lines.append(f"- {r['endpoint']} / {r['mode']}: "
                         + ", ".join(f"{k}: {v}" for k, v in r["error_detail"].items()))
    stale = [r for r in rows if r.get("still_active") is False]
    for r in stale:
        lines.append(f"- {r['endpoint']} / {r['mode']}: the token was no longer active after "
                     "the run; part of it measured inactive tokens")
    lines += ["", "## Against Keycloak's sizing guide", "",
              "Keycloak 26's guide budgets per vCPU and second about 120 client-credentials or "
              "refresh grants and 15 password logins (its figures include TLS and a database "
              "on other machines).", "",
              "| endpoint | Keycloak per vCPU | Gatehouse per core (HTTP keep-alive) | × |",
              "|---|---|---|---|"]
    for endpoint, ref in KEYCLOAK_REFERENCE.items():
        ours = next((r for r in rows if r["endpoint"] == endpoint
                     and r["mode"] == "HTTP keep-alive"), None)
        if ours:
            lines.append(f"| {endpoint} | {ref} | {ours['per_core']:.1f} | "
                         f"{ours['per_core'] / ref:.1f} |")
    lines += ["", "Commands (secrets are the benchmark's own):", ""]
    lines += [f"    {c}" for c in COMMANDS]
    out = os.path.join(ROOT, "bench", "results", f"grants-{stamp}-{commit}.md")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nwritten to {os.path.relpath(out, ROOT)}")


if __name__ == "__main__":
    main()
