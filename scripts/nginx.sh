# shellcheck shell=bash
# A throwaway nginx for tests and benchmarks: installed from Debian's packages when missing, run
# from a temp prefix with the caller's config only (nothing from /etc/nginx), its own pid, log and
# temp files, listening where the caller's config says (loopback in every config of ours); as
# root, its workers run as an unprivileged user. Source this file; nginx_bin finds (or installs)
# it, nginx_start <file> starts it, nginx_stop stops it and removes everything.

# Prints the nginx binary, installing Debian's package when there is none.
nginx_bin() {
    local bin
    bin=$(command -v nginx || ls /usr/sbin/nginx 2>/dev/null || true)
    if [ -z "$bin" ]; then
        echo "nginx is not installed; installing it from Debian's packages" >&2
        if [ "$(id -u)" -ne 0 ]; then
            echo "error: need root to install the 'nginx' package (or install it yourself)" >&2
            return 1
        fi
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2
        apt-get install -y -qq nginx >&2
        bin=/usr/sbin/nginx
    fi
    echo "$bin"
}

# A whole config around the contents of an `http` block (file $1): pid file, logs and temp
# folders under the prefix $2 (Debian's build points them at /run, /var/log and /var/lib/nginx),
# and an unprivileged worker user when the master runs as root.
nginx_config() {
    local body=$1 prefix=$2
    if [ "$(id -u)" -eq 0 ]; then echo "user nobody nogroup;"; fi
    cat <<EOF
pid $prefix/nginx.pid;
error_log $prefix/error.log notice;
worker_processes 1;
events { worker_connections 1024; }
http {
    access_log $prefix/access.log;
    client_body_temp_path $prefix/tmp/body;
    proxy_temp_path $prefix/tmp/proxy;
    fastcgi_temp_path $prefix/tmp/fastcgi;
    uwsgi_temp_path $prefix/tmp/uwsgi;
    scgi_temp_path $prefix/tmp/scgi;
EOF
    cat "$body"
    echo "}"
}

# Starts nginx (as a daemon) with the contents of an `http` block from file $1: upstreams and
# servers. Exports NGINX_DIR, which holds nginx.conf, access.log and error.log.
nginx_start() {
    local bin body=$1
    bin=$(nginx_bin) || return 1
    NGINX_DIR=$(mktemp -d /tmp/gatehouse-nginx.XXXXXX)
    chmod 755 "$NGINX_DIR"
    # Workers (nobody, when root) write request bodies and buffered responses here.
    mkdir -m 1777 "$NGINX_DIR/tmp"
    nginx_config "$body" "$NGINX_DIR" >"$NGINX_DIR/nginx.conf"
    "$bin" -p "$NGINX_DIR" -e "$NGINX_DIR/error.log" -c "$NGINX_DIR/nginx.conf" || {
        cat "$NGINX_DIR/error.log" >&2
        return 1
    }
    export NGINX_DIR NGINX_BIN="$bin"
    echo "$("$bin" -v 2>&1 | sed 's|.*: ||') from $NGINX_DIR" >&2
}

nginx_stop() {
    [ -n "${NGINX_DIR:-}" ] || return 0
    local pid _
    pid=$(cat "$NGINX_DIR/nginx.pid" 2>/dev/null || true)
    # SIGQUIT: graceful; the master waits for its workers, then exits.
    [ -n "$pid" ] && kill -QUIT "$pid" 2>/dev/null
    for _ in $(seq 100); do
        [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    rm -rf "$NGINX_DIR"
    unset NGINX_DIR
}
