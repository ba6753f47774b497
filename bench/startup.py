"""Measures gatehouse start-up and memory against a release build. See bench/startup."""

import os
import platform
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, "target", "release", "gatehouse")
WORK = os.path.join(ROOT, "bench", "work", "startup")
USERS = 10_000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ready(port):
    """One raw HTTP request: cheaper and more precise than a client library in a tight loop."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
            s.sendall(b"GET /health/ready HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def start(env_extra=None):
    mgmt = free_port()
    env = {"PATH": os.environ.get("PATH", ""), **(env_extra or {})}
    args = [BINARY, "start-dev", "--http-port", str(free_port()), "--health-enabled", "true",
            "--http-management-port", str(mgmt), "--log-level", "warn"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, cwd=WORK, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    while not ready(mgmt):
        if proc.poll() is not None:
            sys.exit(f"gatehouse exited with {proc.returncode}")
        if time.perf_counter() - t0 > 60:
            proc.kill()
            sys.exit("gatehouse not ready in 60 s")
        time.sleep(0.001)
    return proc, (time.perf_counter() - t0) * 1000.0


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)


def measure(label, runs):
    times, idle = [], []
    for _ in range(runs):
        proc, ms = start()
        times.append(ms)
        time.sleep(2)  # idle: what the node holds with nothing to do
        idle.append(rss_kib(proc.pid))
        stop(proc)
    times.sort()
    return {
        "label": label,
        "median_ms": statistics.median(times),
        "p90_ms": times[int(0.9 * (len(times) - 1))],
        "min_ms": times[0],
        "max_ms": times[-1],
        "idle_rss_mib": statistics.median(idle) / 1024.0,
    }


def add_users(n):
    """Inserts users straight into the SQLite file: the admin API that would create them comes
    with a later issue, and the rows are what the schema holds either way."""
    db = sqlite3.connect(os.path.join(WORK, "data", "gatehouse.db"))
    realm = db.execute("SELECT id FROM realm WHERE name = 'master'").fetchone()[0]
    now = int(time.time() * 1000)
    db.executemany(
        "INSERT INTO user_entity (id, realm_id, username, email, first_name, last_name, enabled,"
        " email_verified, created_timestamp, not_before) VALUES (?,?,?,?,?,?,1,1,?,0)",
        [(str(uuid.uuid4()), realm, f"user{i:05d}", f"user{i:05d}@example.com", "Bench",
          f"User {i}", now) for i in range(n)],
    )
    db.commit()
    count = db.execute("SELECT count(*) FROM user_entity").fetchone()[0]
    db.close()
    return count


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
    return f"{model}, {os.cpu_count()} cores, {mem:.0f} GiB, {platform.system()} {platform.release()}"


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    # First start creates the data folder, the master realm and the admin; not measured.
    proc, first_ms = start({"KC_BOOTSTRAP_ADMIN_USERNAME": "admin",
                            "KC_BOOTSTRAP_ADMIN_PASSWORD": "bench-admin"})
    stop(proc)
    results = [measure("existing data folder, master realm + admin", runs)]
    count = add_users(USERS)
    results.append(measure(f"{count} users in the master realm", runs))

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    lines = [
        f"# Start-up benchmark, {stamp}",
        "",
        f"- commit: {commit}{' (with uncommitted changes)' if dirty else ''}",
        f"- machine: {machine()}",
        f"- command: `bench/startup {runs}` (release build, SQLite `dev-file`, {runs} starts per case)",
        f"- first start on an empty folder (migrations, master realm, admin): {first_ms:.1f} ms",
        "- measured: process spawn to the first `200` from `/health/ready`, polled every 1 ms;",
        "  RSS (VmRSS) 2 s after ready with no traffic.",
        "",
        "| case | median ms | p90 ms | min ms | max ms | idle RSS MiB |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(f"| {r['label']} | {r['median_ms']:.1f} | {r['p90_ms']:.1f} | "
                     f"{r['min_ms']:.1f} | {r['max_ms']:.1f} | {r['idle_rss_mib']:.1f} |")
    lines += ["", "Targets (issue 3): ready in < 100 ms, idle RSS < 50 MB."]
    out = os.path.join(ROOT, "bench", "results", f"startup-{stamp}-{commit}.md")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nwritten to {os.path.relpath(out, ROOT)}")


if __name__ == "__main__":
    main()
