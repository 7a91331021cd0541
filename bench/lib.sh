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
# starts the origin the proxy benchmarks share (bench/proxy.sh, https.sh, h2.sh): one nginx
# worker serving $work/origin/small (13 bytes) and $work/origin/64k, run by `rp up` as the web
# process of the app "bench", so that rp routes to it as to any app. rp gets THREADS proxy
# threads, its HTTP listener on a free port and its HTTPS listener on HTTPS_PORT (0: none);
# `rp up`, the daemon it starts and the origin run on CPUS (`taskset -c`; empty: anywhere). Sets
# RP_PORT and ORIGIN_PORT, and puts `rp up` and the daemon in $pids.
#
# pinned_bench_start NAME TOOL... is bench_start for the benchmarks that pin (see there).
#
# And small helpers: free_port, listens PORT, wait_port PORT, to_ms LATENCY (wrk's "812.00us"
# in ms), check_cpus CPU..., thread_cpu PID..., thread_cpu_since, pinned WHAT PID CPU, measure,
# wrk_run, round_order, summarize, mean_of DECIMALS VALUE....
#
# The peers' configs, nginx_proxy_conf and haproxy_proxy_conf; check_bodies, end_runs and
# print_rp_log; and for the TLS benchmarks (bench/https.sh, bench/h2.sh) mint_leaf,
# nginx_https_conf, start_tls_peers and check_tls. Each is described where it is.

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

# pinned_bench_start NAME TOOL...: bench_start for the benchmarks that pin the client and the
# servers to separate cores (bench/proxy.sh, https.sh, h2.sh). Sets THREADS (BENCH_THREADS,
# default 1), CLIENT_CPU (BENCH_CLIENT_CPU, default 0) and SERVER_CPU (BENCH_SERVER_CPU,
# default 1), checked to be there, and ROUNDS (BENCH_ROUNDS, default 2): how many runs each
# target makes per row, in round_order.
pinned_bench_start() {
  THREADS=${BENCH_THREADS:-1}
  ROUNDS=${BENCH_ROUNDS:-2}
  [[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_ROUNDS must be a number from 1" >&2; exit 2; }
  CLIENT_CPU=${BENCH_CLIENT_CPU:-0}
  SERVER_CPU=${BENCH_SERVER_CPU:-1}
  bench_start "$@" taskset
  chmod 755 "$work"  # nginx workers run as nobody and must read the files
  check_cpus "$CLIENT_CPU" "$SERVER_CPU"
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

listens() {  # PORT -> whether something accepts on it within 10 s
  for _ in $(seq 100); do
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

wait_port() {  # PORT -> exits unless something accepts on it within 10 s
  listens "$1" || { echo "bench: nothing listens on port $1" >&2; exit 1; }
}

check_cpus() {  # CPU... -> exits unless taskset can run on each
  local cpu
  for cpu in "$@"; do
    taskset -c "$cpu" true 2>/dev/null ||
      { echo "bench: no CPU $cpu here (BENCH_CLIENT_CPU, BENCH_SERVER_CPU choose others)" >&2; exit 1; }
  done
}

# Per thread, so that a difference of two readings counts each thread's own: rp's proxy threads
# end and give way to fresh ones once quiet after a load (proxy/server.cpp, run_worker), and a
# thread that ended between two readings must not take its whole past out of the difference.
thread_cpu() {  # PID... -> a line per thread: "TID NS KERNEL_TICKS", its CPU time so far
  local pid task ns stat
  for pid in "$@"; do
    for task in /proc/"$pid"/task/*; do
      { read -r ns _ < "$task/schedstat" && stat=$(< "$task/stat"); } 2>/dev/null || continue
      stat=${stat##*) }
      # shellcheck disable=SC2086  # the fields of stat, from its third
      set -- $stat
      echo "${task##*/} $ns ${13}"
    done
  done
}

# thread_cpu_since "BEFORE" PID... -> "NS KERNEL_TICKS": what the threads used since BEFORE (an
# output of thread_cpu), a thread new since then counting whole, one gone since then not at all.
thread_cpu_since() {
  local before=$1
  shift
  thread_cpu "$@" | awk -v before="$before" '
    BEGIN { n = split(before, lines, "\n"); for (i = 1; i <= n; i++) { split(lines[i], f, " ");
            ns[f[1]] = f[2]; k[f[1]] = f[3] } }
    { s += $2 - ns[$1]; t += $3 - k[$1] }
    END { printf "%.0f %.0f", s, t }'
}

pinned() {  # WHAT PID CPU -> exits unless PID may run on CPU only
  local cpus
  cpus=$(awk '/^Cpus_allowed_list:/ {print $2}' "/proc/$2/status")
  [ "$cpus" = "$3" ] || { echo "bench: $1 (pid $2) runs on CPUs $cpus" >&2; exit 1; }
}

# measure "SERVER_PIDS" OUT COMMAND...: runs COMMAND (a benchmark client, bounded by the caller),
# its output to OUT. Sets CLIENT_PCT to the client's CPU time over the run's (in %), SERVER_NS to
# the CPU time the server's pids used meanwhile, and SERVER_KERNEL_PCT to the part of it spent in
# the kernel (in %, from the clock ticks of /proc/PID/task/*/stat: an estimate). The kernel's
# part is mostly the socket calls every proxy makes per request, a floor that no server's own
# code moves (docs/benchmarks.md, "Session 12" under HTTP).
measure() {
  local TIMEFORMAT=%P before used ticks
  # shellcheck disable=SC2086  # the pids are words
  before=$(thread_cpu $1)
  { time "${@:3}" > "$2" 2>&1 || true; } 2> "$work/client.cpu"
  # shellcheck disable=SC2086  # the pids are words
  read -r used ticks <<< "$(thread_cpu_since "$before" $1)"
  # shellcheck disable=SC2034  # the caller reads them all
  SERVER_NS=$used
  # shellcheck disable=SC2034
  SERVER_KERNEL_PCT=$(awk -v t="$ticks" -v ns="$SERVER_NS" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "%.0f", (ns > 0 ? t * 1e11 / hz / ns : 0) }')
  # shellcheck disable=SC2034
  CLIENT_PCT=$(awk '{printf "%.0f", $1}' "$work/client.cpu")
}

# The numbers of a pinned benchmark's runs, by the run's key: req/s, p50 and p99 in ms, the
# client's CPU % and the server's us/req. And the runs that failed, as "KEY: what failed".
declare -A RPS=() P50=() P99=() CPU=() COST=()
errors=()

# wrk_run KEY LABEL "SERVER_PIDS" "ENV" WRK_ARG...: one run of wrk (bench/proxy.sh, https.sh):
# one thread for $SECONDS_PER_RUN s on $CLIENT_CPU with its latency distribution, the caller
# giving the rest (connections, headers, URL); ENV, VAR=VALUE words for wrk's environment
# (LD_PRELOAD) or empty. Killed by `timeout` 30 s after its duration. Records the run under KEY
# in RPS, P50, P99, CPU and COST (SERVER_PIDS's CPU time per request, see measure), prints a
# line that starts with LABEL, and adds it to $errors (printing wrk's output) if wrk failed or
# had socket errors or non-2xx answers.
wrk_run() {
  local key=$1 label=$2 server_pids=$3 envs=$4 out failed
  shift 4
  # shellcheck disable=SC2086  # ENV is words
  measure "$server_pids" "$work/wrk.out" timeout $((SECONDS_PER_RUN + 30)) \
    taskset -c "$CLIENT_CPU" env $envs wrk -t1 -d"${SECONDS_PER_RUN}s" --latency "$@"
  out=$(cat "$work/wrk.out")
  RPS[$key]=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  P50[$key]=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
  P99[$key]=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
  CPU[$key]=$CLIENT_PCT
  COST[$key]=$(awk -v ns="$SERVER_NS" '/ requests in / { printf "%.1f", ($1 > 0 ? ns / 1000 / $1 : 0) }' <<<"$out")
  failed=$(awk '/Socket errors:/ {gsub(",", ""); n += $4 + $6 + $8 + $10}
                /Non-2xx/ {n += $NF} END {print n + 0}' <<<"$out")
  [ -n "${RPS[$key]}" ] || { RPS[$key]=0; failed="wrk failed"; }
  printf '  %s: %10s req/s  p50 %7s  p99 %7s ms  server %6s us/req (kernel %3s%%)  wrk cpu %3s%%  errors %s\n' \
    "$label" "${RPS[$key]}" "${P50[$key]}" "${P99[$key]}" "${COST[$key]:-?}" "$SERVER_KERNEL_PCT" \
    "${CPU[$key]}" "$failed"
  if [ "$failed" != 0 ]; then
    errors+=("$key: $failed")
    echo "$out" >&2
  fi
}

# round_order ROUND NAME...: the NAMEs in the order they run in round ROUND: as given in odd
# rounds, reversed in even ones, so that a drift of the machine's speed over a row weighs on all
# of them alike.
round_order() {
  local round=$1 i
  shift
  local names=("$@")
  if ((round % 2)); then
    echo "${names[@]}"
  else
    for ((i = ${#names[@]} - 1; i >= 0; i--)); do printf '%s ' "${names[i]}"; done
    echo
  fi
}

# summarize PREFIX PEER...: one row of a pinned benchmark's table, from the runs keyed
# PREFIX$name/1 .. PREFIX$name/$ROUNDS in RPS, P50, P99, COST and CPU, for each name in $TARGETS.
# Sets, in the caller's associative arrays M, L, Q and C, each target's mean req/s, "p50/p99",
# p99 and server us/req over the rounds ("n/a" unless every round has numbers); CLIENT_MAX, the
# client's highest CPU % of the row; RATIO, rp's req/s over the strongest PEER's, with that
# peer's name ("0.87 (nginx)"; "n/a" without numbers); RATIO_RANGE, the lowest and highest of
# the same ratio taken round by round ("0.81-0.95"), which shows how far the machine's noise
# reaches; and P99_RATIO, rp's p99 over the lowest of the PEERs', with that peer's name.
declare -A M=() L=() Q=() C=()
# shellcheck disable=SC2034  # the caller reads M, L, Q, C, CLIENT_MAX, RATIO, RATIO_RANGE, P99_RATIO
summarize() {
  local prefix=$1 name k r peer='' quick='' complete rps p50 p99 cost
  shift
  M=() L=() Q=() C=() CLIENT_MAX=0 RATIO=n/a RATIO_RANGE=n/a P99_RATIO=n/a
  for name in "${TARGETS[@]}"; do
    complete=1 rps='' p50='' p99='' cost=''
    for r in $(seq "$ROUNDS"); do
      k="$prefix$name/$r"
      [ -n "${RPS[$k]:-}" ] || complete=0
      rps+=" ${RPS[$k]:-0}" p50+=" ${P50[$k]:-0}" p99+=" ${P99[$k]:-0}" cost+=" ${COST[$k]:-0}"
      [ "${CPU[$k]:-0}" -gt "$CLIENT_MAX" ] && CLIENT_MAX=${CPU[$k]}
    done
    if ((complete)); then
      M[$name]=$(mean_of 2 "$rps")
      Q[$name]=$(mean_of 3 "$p99")
      L[$name]="$(mean_of 3 "$p50")/${Q[$name]}"
      C[$name]=$(mean_of 1 "$cost")
    else
      M[$name]=n/a L[$name]=n/a Q[$name]=n/a C[$name]=n/a
    fi
  done
  for name in "$@"; do
    [ "${M[$name]}" != n/a ] || continue
    if [ -z "$peer" ] || awk -v a="${M[$name]}" -v b="${M[$peer]}" 'BEGIN { exit !(a > b) }'; then
      peer=$name
    fi
    if [ -z "$quick" ] || awk -v a="${Q[$name]}" -v b="${Q[$quick]}" 'BEGIN { exit !(a < b) }'; then
      quick=$name
    fi
  done
  if [ -n "$peer" ] && [ "${M[rp]}" != n/a ]; then
    RATIO="$(awk -v a="${M[rp]}" -v b="${M[$peer]}" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }') ($peer)"
    RATIO_RANGE=$(for r in $(seq "$ROUNDS"); do
      echo "${RPS[$prefix"rp/$r"]} ${RPS[$prefix$peer/$r]}"
    done | awk '{ x = ($2 > 0 ? $1 / $2 : 0); if (NR == 1 || x < lo) lo = x; if (NR == 1 || x > hi) hi = x }
                END { printf "%.2f-%.2f", lo, hi }')
    P99_RATIO="$(awk -v a="${Q[rp]}" -v b="${Q[$quick]}" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }') ($quick)"
  fi
}

mean_of() {  # DECIMALS VALUE... -> their mean, with DECIMALS decimals
  local decimals=$1
  shift
  echo "$@" | awk -v d="$decimals" '{ for (i = 1; i <= NF; i++) t += $i; printf "%.*f", d, t / NF }'
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
  for _ in $(seq 100); do  # (rp.log may not be there yet)
    ORIGIN_PORT=$(sed -n 's/.*web\.1 started (pid [0-9]*, port \([0-9]*\)).*/\1/p' \
      "$work/rp.log" 2>/dev/null || true)
    [ -n "$ORIGIN_PORT" ] && break
    sleep 0.1
  done
  [ -n "$ORIGIN_PORT" ] || { cat "$work/rp.log" >&2; exit 1; }
  pids+=("$(cat "$work/home/rp.lock")")  # the daemon `rp up` started: it stops the origin too
  wait_port "$ORIGIN_PORT"
  wait_port "$RP_PORT"
}

# nginx as a proxy in front of the origin ($ORIGIN_PORT), $THREADS workers, upstream keep-alive,
# logging to /dev/null, its files in $NGINX_DIR (default $work/nginx); printed to stdout. $1:
# the port; $2: more for `listen` (" ssl"); $3, $4, $5: more lines for the http, server and
# location blocks.
nginx_proxy_conf() {
  local dir=${NGINX_DIR:-$work/nginx}
  cat <<EOF
worker_processes $THREADS;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 4096; }
http {
  access_log /dev/null;
  client_body_temp_path $dir;
  proxy_temp_path $dir;
  fastcgi_temp_path $dir;
  uwsgi_temp_path $dir;
  scgi_temp_path $dir;
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

# haproxy_proxy_conf PORT [BIND] [FRONTEND]: HAProxy in front of the origin ($ORIGIN_PORT),
# $THREADS threads, keep-alive on both sides, logging nothing; printed to stdout. BIND: more
# for `bind` (" ssl crt ..."); FRONTEND: more lines for the frontend.
haproxy_proxy_conf() {
  cat <<EOF
global
  nbthread $THREADS
  maxconn 8192
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
  option forwardfor
frontend fe
  bind 127.0.0.1:$1${2:-}
${3:-}
  default_backend be
backend be
  http-reuse always
  server origin 127.0.0.1:$ORIGIN_PORT
EOF
}

# --- TLS: one certificate for all, minted by rp.

# mint_leaf HTTPS_PORT: a first handshake with rp (after start_origin) for bench.test, made
# with curl trusting only rp's CA, makes rp mint bench.test's leaf. Sets CA (rp's CA), LEAF
# (certificate and key in one PEM, which nginx, HAProxy and H2O load too) and LEAF_SHA256, and
# prints what the leaf is.
mint_leaf() {
  wait_port "$1"
  CA=$work/home/ca/rp-ca.pem
  LEAF=$work/home/ca/certs/bench.test.pem
  curl -sS --fail --max-time 10 --cacert "$CA" --resolve "bench.test:$1:127.0.0.1" \
    -o /dev/null "https://bench.test:$1/small"
  [ -s "$LEAF" ] || { echo "bench: rp made no $LEAF" >&2; exit 1; }
  LEAF_SHA256=$(openssl x509 -in "$LEAF" -noout -fingerprint -sha256 | cut -d= -f2)
  local key
  key=$(openssl x509 -in "$LEAF" -noout -text | awk '/Public Key Algorithm:|NIST CURVE:/ {print $NF}' | paste -sd' ')
  echo "bench.test's leaf: $key, sha256 ${LEAF_SHA256:0:23}..."
}

# nginx_https_conf PORT [LISTEN]: nginx_proxy_conf terminating TLS with $LEAF: TLS 1.3 only
# (nginx 1.22 would also allow 1.2), the session cache as usually configured, tickets on.
# LISTEN: more for `listen` after " ssl" (" http2").
nginx_https_conf() {
  nginx_proxy_conf "$1" " ssl${2:-}" \
    "  ssl_protocols TLSv1.3;
  ssl_session_cache shared:SSL:10m;
  ssl_session_tickets on;" \
    "    ssl_certificate $LEAF;
    ssl_certificate_key $LEAF;" \
    "      proxy_set_header X-Forwarded-Proto https;"
}

# start_tls_peers CPUS [LISTEN] [BIND]: nginx (nginx_https_conf; LISTEN: more for its `listen`)
# and HAProxy (TLS 1.3 with $LEAF, its default session cache, tickets on; BIND: more for its
# `bind`) in front of the origin, on CPUS (`taskset -c`). Sets NGINX_PORT and HAPROXY_PORT, and
# puts nginx's pid, then HAProxy's, in $pids; does not wait for them to listen.
start_tls_peers() {
  NGINX_PORT=$(free_port)
  mkdir -p "$work/nginx"
  nginx_https_conf "$NGINX_PORT" "${2:-}" > "$work/nginx/nginx.conf"
  taskset -c "$1" nginx -c "$work/nginx/nginx.conf" &
  pids+=($!)
  HAPROXY_PORT=$(free_port)
  haproxy_proxy_conf "$HAPROXY_PORT" " ssl crt $LEAF ssl-min-ver TLSv1.3${3:-}" \
    "  http-request set-header X-Forwarded-Proto https" > "$work/haproxy.cfg"
  taskset -c "$1" haproxy -f "$work/haproxy.cfg" -db > "$work/haproxy.log" 2>&1 &
  pids+=($!)
}

# check_tls NAME PORT [S_CLIENT_ARGS...]: one handshake with openssl s_client (SNI bench.test,
# trusting rp's CA only), printed on a line; returns 1, having printed s_client's output, unless
# it was TLS 1.3 with the leaf $LEAF, verified. Sets TLS_ALPN to the protocol ALPN chose
# (empty: none).
check_tls() {
  local name=$1 port=$2 out=$work/s_client.out
  shift 2
  timeout 10 openssl s_client -connect "127.0.0.1:$port" -servername bench.test \
    -CAfile "$CA" "$@" < /dev/null > "$out" 2>&1 || true
  local proto suite group signature verified fingerprint chain
  proto=$(awk '/^New, / {print $2}' "$out" | tr -d ,)
  suite=$(awk '/^New, / {print $NF}' "$out")
  group=$(awk -F'[:,] *' '/^Server Temp Key:/ {print $2}' "$out")
  signature=$(awk '/^Peer signature type:/ {print $NF}' "$out")
  verified=$(awk '/Verify return code:/ {print $4, $5}' "$out" | tail -1)
  fingerprint=$(openssl x509 -in "$out" -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2)
  chain=$(grep -c '^ *[0-9]* s:' "$out" || true)
  TLS_ALPN=$(awk '/^ALPN protocol:/ {print $3}' "$out")
  printf '%-8s %s %s %s %s, %s certificate(s) sent, verify %s, same leaf: %s%s\n' "$name" \
    "$proto" "$suite" "$group" "$signature" "$chain" "$verified" \
    "$([ "$fingerprint" = "$LEAF_SHA256" ] && echo yes || echo NO)" \
    "$(case " $* " in *" -alpn "*) echo ", ALPN ${TLS_ALPN:-none}" ;; esac)"
  if [ "$proto" != TLSv1.3 ] || [ "$verified" != "0 (ok)" ] || [ "$fingerprint" != "$LEAF_SHA256" ]; then
    echo "bench: $name's handshake is not the one the others make:" >&2
    cat "$out" >&2
    return 1
  fi
}

# check_bodies NAME SCHEME PORT [CURL_ARGS...]: both bodies through NAME, as
# SCHEME://bench.test:PORT/ (over https verified with rp's CA, $CA); returns 1 unless they arrive
# whole.
check_bodies() {
  local name=$1 scheme=$2 port=$3 path ca=()
  shift 3
  [ "$scheme" != https ] || ca=(--cacert "$CA")
  for path in small 64k; do
    if ! curl -sS --fail --max-time 10 "${ca[@]}" --resolve "bench.test:$port:127.0.0.1" "$@" \
        -o "$work/body" "$scheme://bench.test:$port/$path" ||
      ! cmp -s "$work/body" "$work/origin/$path"; then
      echo "bench: $name garbles /$path" >&2
      return 1
    fi
  done
}

# end_runs: how a wrk benchmark ends (bench/proxy.sh, https.sh): rp's log (print_rp_log), then,
# if runs failed, which (from $errors) and exit 1.
end_runs() {
  print_rp_log
  if [ ${#errors[@]} -gt 0 ]; then
    echo
    echo "bench: errors in ${#errors[@]} run(s) — their numbers do not count:" >&2
    printf '  %s\n' "${errors[@]}" >&2
    exit 1
  fi
}

# print_rp_log: the warnings and errors in rp's daemon log, if any, counted.
print_rp_log() {
  local log=$work/home/logs/daemon.log
  if [ -f "$log" ] && grep -q -i -E 'error|fail|warn|HTTPS:' "$log"; then
    echo
    echo "rp's daemon log says:"
    grep -i -E 'error|fail|warn|HTTPS:' "$log" | sort | uniq -c | sort -rn | head -20
  fi
}
