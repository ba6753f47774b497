"""python-keycloak (from PyPI) against Gatehouse's Admin REST API.

The scenario an operator scripts against Keycloak: log in to master as the bootstrap admin,
create a realm, a confidential client, realm and client roles, a group, users with passwords and
role mappings; then a user gets a token from the realm's token endpoint, the user's sessions are
listed and logged out, and everything is deleted again. Run by scripts/test; standalone:

    cargo build --bin gatehouse && python3 -m venv /tmp/venv && /tmp/venv/bin/pip install \
        -r tests/admin-clients/requirements.txt && /tmp/venv/bin/python tests/admin-clients/python_keycloak.py

Prints `ok - <check>` / `not ok - <check>`, then `N passed, M failed`; exits 1 when a check
failed. GATEHOUSE_BIN names the binary (default target/debug/gatehouse).
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

from keycloak import KeycloakAdmin, KeycloakOpenID
from keycloak.exceptions import KeycloakError

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.join(ROOT, os.environ.get("GATEHOUSE_BIN", "target/debug/gatehouse"))
ADMIN_PASSWORD = "Admin-Pass-1"
REALM = "py-realm"

passed = 0
failed = 0


def check(name, condition, detail=""):
    global passed, failed
    if condition:
        passed += 1
        print(f"ok - {name}")
    else:
        failed += 1
        print(f"not ok - {name}")
        for line in str(detail).splitlines():
            print(f"# {line}")


def start_gatehouse(workdir):
    env = dict(os.environ)
    env.update(
        KC_BOOTSTRAP_ADMIN_USERNAME="admin",
        KC_BOOTSTRAP_ADMIN_PASSWORD=ADMIN_PASSWORD,
        NO_COLOR="1",
    )
    proc = subprocess.Popen(
        [BIN, "start-dev", "--http-port", "0"],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    state = {"port": None, "started": False, "log": []}
    ready = threading.Event()

    def pump():
        for line in proc.stdout:
            state["log"].append(line.rstrip())
            match = re.search(r"Listening on: http://127\.0\.0\.1:(\d+)", line)
            if match:
                state["port"] = int(match.group(1))
            if " started in " in line:
                state["started"] = True
            if state["port"] and state["started"]:
                ready.set()
        ready.set()

    threading.Thread(target=pump, daemon=True).start()
    if not ready.wait(30) or not state["port"]:
        proc.kill()
        raise RuntimeError("gatehouse did not start:\n" + "\n".join(state["log"]))
    return proc, state


def scenario(base):
    admin = KeycloakAdmin(
        server_url=base,
        username="admin",
        password=ADMIN_PASSWORD,
        realm_name="master",
        user_realm_name="master",
    )
    realms = [r["realm"] for r in admin.get_realms()]
    check("admin sees the master realm", "master" in realms, realms)

    admin.create_realm({"realm": REALM, "enabled": True, "displayName": "Python realm"})
    check("realm created", admin.get_realm(REALM)["displayName"] == "Python realm")
    admin.create_realm({"realm": REALM, "enabled": True}, skip_exists=True)
    try:
        admin.create_realm({"realm": REALM, "enabled": True})
        check("a second realm of the same name is refused", False, "no error")
    except KeycloakError as e:
        check("a second realm of the same name is refused", e.response_code == 409, e)
    admin.update_realm(REALM, {"accessTokenLifespan": 600})
    realm = admin.get_realm(REALM)
    check(
        "partial realm update keeps the rest",
        realm["accessTokenLifespan"] == 600 and realm["displayName"] == "Python realm",
        realm,
    )

    admin.change_current_realm(REALM)
    client_uuid = admin.create_client(
        {
            "clientId": "py-app",
            "publicClient": False,
            "directAccessGrantsEnabled": True,
            "serviceAccountsEnabled": True,
            "redirectUris": ["https://app.example/callback"],
        }
    )
    check("client created", admin.get_client_id("py-app") == client_uuid)
    secret = admin.get_client_secrets(client_uuid)["value"]
    check("client secret readable", bool(secret))
    service_account = admin.get_client_service_account_user(client_uuid)
    check(
        "service-account user exists",
        service_account["username"] == "service-account-py-app",
        service_account,
    )

    admin.create_realm_role({"name": "reader", "description": "reads"})
    check("realm role created", admin.get_realm_role("reader")["description"] == "reads")
    admin.create_client_role(client_uuid, {"name": "editor"})
    check(
        "client role created",
        [r["name"] for r in admin.get_client_roles(client_uuid)] == ["editor"],
    )
    group_id = admin.create_group({"name": "staff"})
    admin.assign_group_realm_roles(group_id, [admin.get_realm_role("reader")])
    check("group created", admin.get_group(group_id)["path"] == "/staff")

    user_id = admin.create_user(
        {
            "username": "Alice",
            "email": "alice@example.com",
            "firstName": "Alice",
            "lastName": "Liddell",
            "enabled": True,
            "credentials": [{"type": "password", "value": "Wonder-1", "temporary": False}],
        }
    )
    bob_id = admin.create_user({"username": "bob", "enabled": True})
    admin.set_user_password(bob_id, "Builder-1", temporary=False)
    check("users created", admin.get_user_id("alice") == user_id)
    check("users counted", admin.users_count() == 2, admin.users_count())
    found = admin.get_users({"search": "lidd"})
    check("user search", [u["username"] for u in found] == ["alice"], found)
    admin.update_user(user_id, {"firstName": "Alicia"})
    alice = admin.get_user(user_id)
    check(
        "partial user update",
        alice["firstName"] == "Alicia" and alice["email"] == "alice@example.com",
        alice,
    )
    admin.group_user_add(user_id, group_id)
    members = [m["username"] for m in admin.get_group_members(group_id)]
    check("group member", members == ["alice"], members)
    admin.assign_client_role(user_id, client_uuid, admin.get_client_role(client_uuid, "editor"))
    admin.assign_realm_roles(bob_id, [admin.get_realm_role("reader")])
    effective = [r["name"] for r in admin.get_composite_realm_roles_of_user(user_id)]
    check("role through the group is effective", "reader" in effective, effective)

    oidc = KeycloakOpenID(
        server_url=base, realm_name=REALM, client_id="py-app", client_secret_key=secret
    )
    token = oidc.token("alice", "Wonder-1")
    claims = oidc.decode_token(token["access_token"], validate=False)
    check(
        "user token carries the mapped roles",
        "reader" in claims["realm_access"]["roles"]
        and "editor" in claims["resource_access"]["py-app"]["roles"],
        claims,
    )
    check("bob logs in", bool(oidc.token("bob", "Builder-1")["access_token"]))
    sessions = admin.get_sessions(user_id)
    check("session listed", len(sessions) == 1 and "py-app" in sessions[0]["clients"].values(), sessions)
    admin.user_logout(user_id)
    check("logout ends the sessions", admin.get_sessions(user_id) == [])
    try:
        oidc.refresh_token(token["refresh_token"])
        check("refresh after logout is refused", False, "refresh worked")
    except KeycloakError as e:
        check("refresh after logout is refused", e.response_code == 400, e)

    admin.delete_user(user_id)
    admin.delete_user(bob_id)
    admin.delete_group(group_id)
    admin.delete_realm_role("reader")
    admin.delete_client(client_uuid)
    check("everything in the realm deleted", admin.get_client_id("py-app") is None)
    admin.change_current_realm("master")
    admin.delete_realm(REALM)
    check("realm deleted", REALM not in [r["realm"] for r in admin.get_realms()])


def main():
    if not os.path.exists(BIN):
        print(f"error: {BIN} not found; build it with `cargo build --bin gatehouse`", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as workdir:
        proc, state = start_gatehouse(workdir)
        try:
            scenario(f"http://127.0.0.1:{state['port']}/")
        except Exception:
            check("scenario ran to its end", False, traceback.format_exc())
            print("# server log:")
            for line in state["log"][-40:]:
                print(f"#   {line}")
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
