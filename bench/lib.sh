# shellcheck shell=bash
# What the benchmark scripts share; bench/*.sh source it after `cd` to the repository.
#
#   bench_start NAME TOOL...
#
# checks that build/rp (or $RP_BIN) and the tools are there and sets RP to the binary; makes the
# scratch directory $work; and, when the script ends however it ends, kills every pid the script
# put in $pids (SIGTERM, then SIGKILL half a second later) and removes $work.
#
#   start_origin THREADS HTTPS_PORT [CPUS]
#
# starts the origin the proxy benchmarks share (bench/proxy.sh, bench/https.sh): one nginx
# worker serving $work/origin/small (13 bytes) and $work/origin/64k, run by `rp up` as the web
# process of the app "bench", so that rp routes to it as to any app. rp gets THREADS proxy
# threads, its HTTP listener on a free port and its HTTPS listener on HTTPS_PORT (0: none);
# `rp up`, the daemon it starts and the origin run on CPUS (`taskset -c`; empty: anywhere). Sets
# RP_PORT and ORIGIN_PORT, and puts `rp up` and the daemon in $pids.
#
# And small helpers: free_port, wait_port PORT, to_ms LATENCY (wrk's "812.00us" in ms).

bench_start() {
  local name=$1 tool
  shift
  RP=$(realpath "${RP_BIN:-build/rp}")
  [ -x "$RP" ] || { echo "bench: $RP is missing — run make build" >&2; exit 1; }
  for tool in "$@"; do
    command -v "$tool" >/dev/null ||
      { echo "bench: $tool is missing — run scripts/install-deps" >&2; exit 1; }
  done
  work=$(mktemp -d "/tmp/rp-bench-$name.XXXXXX")
  pids=()
  trap bench_cleanup EXIT
}

bench_cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  sleep 0.5
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
  for _ in $(seq 100); do
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench: nothing listens on port $1" >&2
  exit 1
}

to_ms() {  # wrk latency ("812.00us", "1.20ms", "2.00s") -> milliseconds
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
    else print v }'
}

start_origin() {
  local threads=$1 https_port=$2 cpus=${3:-}
  local pin=()
  [ -z "$cpus" ] || pin=(taskset -c "$cpus")
  mkdir -p "$work/app" "$work/home" "$work/origin"
  head -c 65536 /dev/zero | tr '\0' 'x' > "$work/origin/64k"
  printf 'hello, world\n' > "$work/origin/small"
  cat > "$work/app/origin.conf.in" <<CONF
worker_processes 1;
daemon off;
pid $work/origin/nginx.pid;
error_log $work/origin/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/origin;
  proxy_temp_path $work/origin;
  fastcgi_temp_path $work/origin;
  uwsgi_temp_path $work/origin;
  scgi_temp_path $work/origin;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:ORIGIN_PORT;
    root $work/origin;
  }
}
CONF
  cat > "$work/app/Procfile" <<PROCFILE
web: sed "s/ORIGIN_PORT/\$PORT/" origin.conf.in > origin.conf && exec nginx -c $work/app/origin.conf
PROCFILE
  printf 'name: bench\n' > "$work/app/rp.yaml"
  printf 'proxy_threads: %s\n' "$threads" > "$work/home/config.yaml"

  RP_PORT=$(free_port)
  (cd "$work/app" && RP_HOME="$work/home" RP_HTTP_PORT=$RP_PORT RP_HTTPS_PORT=$https_port \
    RP_DNS_PORT=0 NO_COLOR=1 exec "${pin[@]}" "$RP" up > "$work/rp.log" 2>&1) &
  pids+=($!)
  ORIGIN_PORT=
  for _ in $(seq 100); do
    ORIGIN_PORT=$(sed -n 's/.*web\.1 started (pid [0-9]*, port \([0-9]*\)).*/\1/p' "$work/rp.log")
    [ -n "$ORIGIN_PORT" ] && break
    sleep 0.1
  done
  [ -n "$ORIGIN_PORT" ] || { cat "$work/rp.log" >&2; exit 1; }
  pids+=("$(cat "$work/home/rp.lock")")  # the daemon `rp up` started: it stops the origin too
  wait_port "$ORIGIN_PORT"
  wait_port "$RP_PORT"
}

# nginx as a proxy in front of the origin ($ORIGIN_PORT), $THREADS workers, upstream keep-alive,
# logging to /dev/null, its files in $work/nginx; printed to stdout. $1: the port; $2: more for
# `listen` (" ssl"); $3, $4, $5: more lines for the http, server and location blocks.
nginx_proxy_conf() {
  cat <<EOF
worker_processes $THREADS;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log /dev/null;
  client_body_temp_path $work/nginx;
  proxy_temp_path $work/nginx;
  fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx;
  scgi_temp_path $work/nginx;
  keepalive_requests 1000000;
${3:-}
  upstream origin { server 127.0.0.1:$ORIGIN_PORT; keepalive 128; }
  server {
    listen 127.0.0.1:$1${2:-};
${4:-}
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
${5:-}
    }
  }
}
EOF
}
