"""Cluster benchmark: invalidating writes and warm-cache reads, three nodes vs one. See bench/cluster."""

import json
import os
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grants  # noqa: E402  (the server, request and oha helpers)

ROOT = grants.ROOT
WORK = os.path.join(ROOT, "bench", "work", "cluster")
grants.WORK = WORK
PG_URL = os.environ["BENCH_PG_URL"]
DURATION, WARMUP, CONCURRENCY = grants.DURATION, grants.WARMUP, grants.CONCURRENCY
TOKEN = "/realms/bench/protocol/openid-connect/token"
COMMANDS = []


def db_args(name):
    return grants.fresh_db_args(PG_URL, name)


def node_args(db, name, http_port, cache):
    return ["start", "--hostname-strict", "false", "--http-enabled", "true",
            "--http-host", "127.0.0.1", "--http-port", str(http_port), "--node-name", name,
            "--cache", cache, "--cache-embedded-network-bind-address", "127.0.0.1",
            "--cache-embedded-network-bind-port", "0", "--log-level", "warn", *db]


def admin_token(base):
    return grants.must("admin login", *grants.post(base + "/realms/master/protocol/openid-connect/token", {
        "grant_type": "password", "client_id": "admin-cli", "username": "admin",
        "password": grants.ADMIN_PASSWORD}))["access_token"]


def call(method, url, token, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method=method, headers={
        "Content-Type": "application/json", "Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status


def setup(base):
    """A realm `bench` with a confidential client that has a service account; admin tokens that
    outlive the run."""
    token = admin_token(base)
    call("PUT", base + "/admin/realms/master", token, {"accessTokenLifespan": 3600})
    token = admin_token(base)
    call("POST", base + "/admin/realms", token, {"realm": "bench", "enabled": True})
    call("POST", base + "/admin/realms/bench/clients", token, {
        "clientId": grants.CLIENT_ID, "secret": grants.CLIENT_SECRET,
        "serviceAccountsEnabled": True})
    return token


def oha(args):
    out = subprocess.run([grants.OHA, "--no-tui", "--output-format", "json", *args],
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"oha failed ({out.returncode}): {out.stderr}")
    return json.loads(out.stdout)


def measure(label, procs, args, ok_status):
    oha(["-z", f"{WARMUP}s", *args])
    cpu0 = sum(grants.cpu_seconds(p.pid) for p in procs)
    t0 = time.monotonic()
    r = oha(["-z", f"{DURATION}s", *args])
    cpu = sum(grants.cpu_seconds(p.pid) for p in procs) - cpu0
    wall = time.monotonic() - t0
    shown = [a if not a.startswith("Authorization") else "Authorization: Bearer <admin token>"
             for a in args]
    COMMANDS.append(grants.shown([os.path.relpath(grants.OHA, ROOT), "--no-tui", "-z",
                                  f"{DURATION}s", *shown]))
    codes = {str(k): int(v) for k, v in (r.get("statusCodeDistribution") or {}).items()}
    failures = sum(int(v) for v in (r.get("errorDistribution") or {}).values())
    ok = codes.get(str(ok_status), 0)
    rate = ok / (r["summary"].get("total") or DURATION)
    pct = r.get("latencyPercentiles") or {}
    row = {"case": label, "rate": rate, "p50": (pct.get("p50") or 0) * 1000,
           "p99": (pct.get("p99") or 0) * 1000,
           "errors": sum(v for k, v in codes.items() if k != str(ok_status)) + failures,
           "cpu": cpu / wall}
    print(f"  {label:<48} {rate:9.1f}/s  p50 {row['p50']:7.2f} ms  p99 {row['p99']:7.2f} ms  "
          f"errors {row['errors']}  servers' CPU {row['cpu']:.2f}", flush=True)
    return row


def cases(label, base_write, base_read, token, procs):
    write = ["-c", str(CONCURRENCY), "-w", "-m", "PUT", "-T", "application/json",
             "-d", json.dumps({"accessTokenLifespan": 300}),
             "-H", f"Authorization: Bearer {token}", base_write + "/admin/realms/bench"]
    read = ["-c", str(CONCURRENCY), "-w", "-m", "POST", "-T", grants.FORM,
            "-d", f"grant_type=client_credentials&client_id={grants.CLIENT_ID}"
                  f"&client_secret={grants.CLIENT_SECRET}", base_read + TOKEN]
    return [measure(f"{label}: realm updates (invalidating writes)", procs, write, 204),
            measure(f"{label}: client_credentials, warm caches", procs, read, 200)]


def main():
    import shutil
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    load_before = os.getloadavg()
    rows = []

    db = db_args("bench_cluster")
    ports = [grants.free_port() for _ in range(3)]
    procs = [grants.start(node_args(db, "node1", ports[0], "ispn"), ports[0])]
    procs += [grants.start(node_args(db, f"node{i + 1}", ports[i], "ispn"), ports[i])
              for i in (1, 2)]
    try:
        base = [f"http://127.0.0.1:{p}" for p in ports]
        time.sleep(3)  # the view forms
        token = setup(base[0])
        print(f"three nodes ({', '.join(base)}), {CONCURRENCY} connections, "
              f"{WARMUP} s warm-up + {DURATION} s per case", flush=True)
        rows += cases("3 nodes, write on node1, read on node2", base[0], base[1], token, procs)
    finally:
        for p in procs:
            grants.stop(p)

    db = db_args("bench_local")
    port = grants.free_port()
    proc = grants.start(node_args(db, "solo", port, "local"), port)
    try:
        base = f"http://127.0.0.1:{port}"
        token = setup(base)
        print(f"one node, --cache local ({base})", flush=True)
        rows += cases("1 node, --cache local", base, base, token, [proc])
    finally:
        grants.stop(proc)
    load_after = os.getloadavg()

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    lines = [
        f"# Cluster benchmark, {stamp}",
        "",
        f"- commit: {commit}{' (with uncommitted changes)' if dirty else ''}",
        f"- machine: {grants.machine()}",
        f"- load average (1 min) before / after: {load_before[0]:.2f} / {load_after[0]:.2f}",
        f"- command: `bench/cluster` (release build; load tool {grants.tool_version()}; every "
        "node, PostgreSQL and the load tool share the same cores)",
        "- nodes: `target/release/gatehouse start --hostname-strict false --http-enabled true "
        "--http-port <port> --node-name <name> --cache ispn|local "
        "--cache-embedded-network-bind-address 127.0.0.1 --cache-embedded-network-bind-port 0 "
        "--log-level warn --db postgres ...`, one fresh database per configuration",
        "- writes: `PUT /admin/realms/bench` (each commits, moves the cache revision on and, in "
        "the cluster, is answered only after both other nodes acknowledged the invalidation)",
        "- reads: `client_credentials` grants of a confidential client with a service account "
        "(realm, client, scope plan, user and role mappings all from the caches)",
        f"- each case: {WARMUP} s warm-up (discarded), then {DURATION} s at {CONCURRENCY} "
        "concurrent keep-alive connections",
        "",
        "| case | ok/s | p50 ms | p99 ms | errors | servers' CPU (cores) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['case']} | {r['rate']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | "
                     f"{r['errors']} | {r['cpu']:.2f} |")
    lines += ["", "Commands:", "", "```", *COMMANDS, "```", ""]
    out = os.path.join(ROOT, "bench", "results", f"cluster-{stamp}-{commit}.md")
    with open(out, "w") as f:
        f.write("\n".join(lines))
    print(f"wrote {os.path.relpath(out, ROOT)}")


if __name__ == "__main__":
    main()
