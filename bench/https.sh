#!/usr/bin/env bash
# The HTTPS benchmark: in one run on this machine, wrk over TLS against rp, nginx and HAProxy,
# each terminating TLS with the same certificate and proxying to the same origin as
# bench/proxy.sh. Prints, per row, each server's req/s, p50 and p99, and rp's ratio to the
# stronger of nginx and HAProxy.
#
#   bench/https.sh [SECONDS_PER_RUN]      (default 5; needs build/rp: `make build`)
#
# Rows: keep-alive requests (1 and 50 connections; a 13-byte and a 64 KiB body); a new
# connection per request with a full handshake each (`handshake`); and a new connection per
# request resuming the TLS session, as a browser coming back does (`resumed`). Every row runs
# BENCH_ROUNDS times per server (default 2), interleaved (rp, nginx, HAProxy, then HAProxy,
# nginx, rp, and so on), and shows the mean, and the lowest and highest of rp's ratio taken
# round by round (`per round`). Before the rows, one warm-up run per server (kept alive, 50
# connections, small body), shown and not counted.
#
# Set up as bench/proxy.sh (pinned the same way, the same origin, wrk run and measured by the
# same helpers in bench/lib.sh), with TLS in front.
#
# What is aligned between the three servers, and checked before the runs (openssl s_client
# against each prints what was negotiated, and the script stops if one differs):
# - the certificate: rp mints bench.test's leaf (ECDSA P-256, signed by rp's CA) on a first
#   handshake made here with curl trusting only that CA; nginx and HAProxy load that very file
#   (RP_HOME/ca/certs/bench.test.pem, certificate and key in one PEM). Each sends the leaf alone.
# - TLS 1.3 (nginx 1.22's default would also allow 1.2, and wrk then picks 1.2; HAProxy is told
#   `ssl-min-ver TLSv1.3`; rp allows 1.2 and 1.3 and negotiates 1.3 with an OpenSSL 3 client).
# - OpenSSL's default ciphersuites and groups everywhere (none of the three is configured
#   otherwise): TLS_AES_256_GCM_SHA384 with an X25519 key exchange.
# - resumption as each is normally run: TLS 1.3 tickets (OpenSSL's default of two per
#   handshake) in all three; nginx with `ssl_session_cache shared:SSL:10m`, HAProxy with its
#   default session cache, rp with OpenSSL's internal one.
# - the proxying as in bench/proxy.sh: keep-alive to the origin, nginx's access log to
#   /dev/null, HAProxy logging nothing, rp streaming access lines to an attached `rp up`.
# - parallelism: BENCH_THREADS (default 1) proxy threads, nginx workers and HAProxy threads, as
#   the servers share one core.
#
# The client: wrk (Debian's, linked with OpenSSL 3), one thread, on CPU 0 (BENCH_CLIENT_CPU);
# rp (`rp up`, its daemon and its proxy threads), nginx, HAProxy and the origin on CPU 1
# (BENCH_SERVER_CPU). wrk sends SNI bench.test (the URL's host; a small Lua script connects it
# to 127.0.0.1, as bench.test is not in DNS) and `Host: bench.test`. Left alone, wrk resumes the
# session on every reconnection (`-H "Connection: close"` makes a new connection per request,
# but SSL_clear keeps the session and its ticket); for the full handshakes it runs with
# bench/wrk_no_resume.c preloaded, which drops the session before each reconnection.
#
# Two columns say where the time went, as the machine may be busy with other work: `server
# us/req` is each server's CPU time per request (from /proc/PID/task/*/schedstat; rp's daemon
# and `rp up`, nginx's master and workers, HAProxy; not the origin's), steadier than req/s on a
# shared machine; `wrk cpu` is wrk's CPU time over the run's (the highest of the row): near 100%,
# wrk's core is the limit rather than the server's.
#
# Every process is started here and killed by pid on exit; all traffic stays on loopback; every
# wrk run is bounded by its duration (and by `timeout`).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${1:-5}
. bench/lib.sh
pinned_bench_start https wrk nginx haproxy openssl curl cc

# --- the client's helpers.
cc -O2 -shared -fPIC -o "$work/wrk_no_resume.so" bench/wrk_no_resume.c -lssl
cat > "$work/resolve.lua" <<'EOF'
-- bench.test is not in DNS: connect to 127.0.0.1, while wrk still sends the URL's host as SNI.
function wrk.resolve(host, service)
  wrk.addrs = wrk.lookup("127.0.0.1", service)
end
EOF

# --- rp and the origin; then bench.test's certificate, minted by a first handshake.
RP_HTTPS_PORT=$(free_port)
start_origin "$THREADS" "$RP_HTTPS_PORT" "$SERVER_CPU"
mint_leaf "$RP_HTTPS_PORT"

# --- nginx and HAProxy terminating TLS: TLS 1.3, session caches as usually configured, tickets on.
start_tls_peers "$SERVER_CPU"
wait_port "$NGINX_PORT"
wait_port "$HAPROXY_PORT"

TARGETS=(rp nginx haproxy)
declare -A PORT=([rp]=$RP_HTTPS_PORT [nginx]=$NGINX_PORT [haproxy]=$HAPROXY_PORT)
# Whose CPU time is each server's (the origin's, the same for all, is not counted): rp's daemon
# and the attached `rp up` it streams access lines to; nginx's master and workers; HAProxy.
declare -A SERVER_PIDS=([rp]="${pids[0]} ${pids[1]}" [haproxy]="${pids[3]}"
  [nginx]="${pids[2]} $(pgrep -P "${pids[2]}" | paste -sd' ')")

# --- the checks: everything on its core; the same handshake from all three.
pinned "rp up" "${pids[0]}" "$SERVER_CPU"
pinned "rp's daemon" "${pids[1]}" "$SERVER_CPU"
pinned "the origin" "$(cat "$work/origin/nginx.pid")" "$SERVER_CPU"
pinned nginx "${pids[2]}" "$SERVER_CPU"
pinned haproxy "${pids[3]}" "$SERVER_CPU"

for name in "${TARGETS[@]}"; do
  check_tls "$name" "${PORT[$name]}" || exit 1
  check_bodies "$name" https "${PORT[$name]}" || exit 1  # and the bodies arrive whole
done
echo "wrk on CPU $CLIENT_CPU; rp up, rp's daemon, the origin, nginx and HAProxy on CPU $SERVER_CPU"

# --- the runs.
run() {  # test name connections path round
  local test=$1 name=$2 conns=$3 path=$4 round=$5 args=() preload=''
  case $test in
    resumed) args=(-H "Connection: close") ;;
    handshake) args=(-H "Connection: close"); preload="LD_PRELOAD=$work/wrk_no_resume.so" ;;
  esac
  wrk_run "$test/$conns/$path/$name/$round" \
    "$(printf '%-9s %-8s %2s %-5s round %s' "$test" "$name" "$conns" "$path" "$round")" \
    "${SERVER_PIDS[$name]}" "$preload" -c"$conns" -H "Host: bench.test" -s "$work/resolve.lua" \
    "${args[@]}" "https://bench.test:${PORT[$name]}/$path"
}

# A warm-up run per server first, not counted: the first seconds of load after the servers start
# are slow for all of them alike (half the req/s in session 13's HTTPS run), which the server
# measured first would otherwise carry alone.
for name in rp nginx haproxy; do run keepalive "$name" 50 small warm-up; done

ROWS=("keepalive 1 small" "keepalive 50 small" "keepalive 1 64k" "keepalive 50 64k"
  "handshake 1 small" "handshake 50 small" "resumed 1 small" "resumed 50 small")
for row in "${ROWS[@]}"; do
  read -r test conns path <<<"$row"
  for round in $(seq "$ROUNDS"); do
    for name in $(round_order "$round" rp nginx haproxy); do
      run "$test" "$name" "$conns" "$path" "$round"
    done
  done
done


echo
echo "HTTPS benchmark: $(nproc) cores (wrk on CPU $CLIENT_CPU, servers on CPU $SERVER_CPU)," \
  "$THREADS proxy thread(s)/worker(s), ${SECONDS_PER_RUN}s per run, mean of $ROUNDS rounds, $(date -u +%F)"
echo "$(nginx -v 2>&1 | sed 's/.*\///;s/^/nginx /'), HAProxy $(haproxy -v | awk 'NR == 1 {print $3}')," \
  "$(openssl version | cut -d' ' -f1-2), wrk $(wrk -v 2>&1 | awk 'NR == 1 {print $2}')"
printf '| %-9s | %-5s | %-5s | %10s | %11s | %13s | %-18s | %-11s | %-15s | %-15s | %-15s | %-21s | %7s |\n' \
  test conns body "rp req/s" "nginx req/s" "haproxy req/s" "rp / stronger peer" "per round" \
  "rp p50/p99 ms" "nginx p50/p99" "haproxy p50/p99" "server us/req r/n/h" "wrk cpu"
printf '|%s|\n' "-----------|-------|-------|------------|-------------|---------------|--------------------|-------------|-----------------|-----------------|-----------------|-----------------------|---------"
for row in "${ROWS[@]}"; do
  read -r test conns path <<<"$row"
  summarize "$test/$conns/$path/" nginx haproxy
  printf '| %-9s | %-5s | %-5s | %10s | %11s | %13s | %-18s | %-11s | %-15s | %-15s | %-15s | %-21s | %6s%% |\n' \
    "$test" "$conns" "$path" "${M[rp]}" "${M[nginx]}" "${M[haproxy]}" "$RATIO" "$RATIO_RANGE" \
    "${L[rp]}" "${L[nginx]}" "${L[haproxy]}" "${C[rp]}/${C[nginx]}/${C[haproxy]}" "$CLIENT_MAX"
done

end_runs
