# shellcheck shell=bash
# A throwaway PostgreSQL for tests and benchmarks: installed from Debian's packages when missing,
# initialised in a temp folder, owned by an unprivileged user (PostgreSQL refuses to run as root),
# listening on loopback only. Source this file, then call pg_start; pg_stop removes everything.

pg_bin_dir() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$dir" ]; then
        echo "PostgreSQL is not installed; installing it from Debian's packages" >&2
        if [ "$(id -u)" -ne 0 ]; then
            echo "error: need root to install the 'postgresql' package (or install it yourself)" >&2
            return 1
        fi
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2
        apt-get install -y -qq postgresql >&2
        dir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    fi
    echo "$dir"
}

# Runs a command as the unprivileged PostgreSQL owner (or as ourselves when not root).
pg_as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        su gatehouse-pg -s /bin/sh -c "$*"
    else
        sh -c "$*"
    fi
}

pg_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Starts PostgreSQL and exports GATEHOUSE_TEST_PG_URL (a superuser URL) and PG_DIR.
pg_start() {
    local bin port
    bin=$(pg_bin_dir) || return 1
    if [ "$(id -u)" -eq 0 ] && ! id gatehouse-pg >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /bin/false gatehouse-pg
    fi
    PG_DIR=$(mktemp -d /tmp/gatehouse-pg.XXXXXX)
    chmod 755 "$PG_DIR"
    [ "$(id -u)" -eq 0 ] && chown gatehouse-pg "$PG_DIR"
    port=$(pg_free_port)
    pg_as_owner "'$bin/initdb' -D '$PG_DIR/data' -U postgres -E UTF8 --locale=C.UTF-8 --auth=trust >'$PG_DIR/initdb.log' 2>&1" || {
        cat "$PG_DIR/initdb.log" >&2
        return 1
    }
    pg_as_owner "'$bin/pg_ctl' -D '$PG_DIR/data' -l '$PG_DIR/server.log' -w -t 60 -o \"-p $port -k '$PG_DIR' -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off\" start >/dev/null" || {
        cat "$PG_DIR/server.log" >&2
        return 1
    }
    export PG_DIR PG_BIN="$bin" PG_PORT="$port"
    export GATEHOUSE_TEST_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
    echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $PG_DIR)" >&2
}

pg_stop() {
    [ -n "${PG_DIR:-}" ] || return 0
    pg_as_owner "'$PG_BIN/pg_ctl' -D '$PG_DIR/data' -m fast -w stop >/dev/null" || true
    rm -rf "$PG_DIR"
    unset PG_DIR
}
