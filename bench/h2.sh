#!/usr/bin/env bash
# The HTTP/2 benchmark: in one run on this machine, h2load against rp, nginx, H2O and HAProxy,
# each speaking HTTP/2 over TLS (ALPN h2) with the same certificate and proxying over HTTP/1.1
# to the same origin as bench/proxy.sh and bench/https.sh. Prints, per row, each server's req/s,
# p50 and p99, and rp's ratio to the strongest of nginx, H2O and HAProxy.
#
#   bench/h2.sh [SECONDS_PER_RUN]      (default 5; needs build/rp: `make build`)
#
# Rows: 1 connection with 100 concurrent streams, and 50 connections with 10 streams each; a
# 13-byte and a 64 KiB body. Every row runs BENCH_ROUNDS times per server (default 2),
# interleaved (rp, nginx, H2O, HAProxy, then HAProxy, H2O, nginx, rp, and so on), and shows the
# mean. Before the rows, one warm-up run per server (50 x 10, small body), shown and not counted.
#
# A target that does not speak h2 (rp before its HTTP/2 landed, say), or fails a run, gets
# "n/a" in its cells, and the script goes on with the others; it then exits 1, as it does when a
# run had failed requests or non-2xx answers.
#
# What is aligned between the four servers, and checked before the runs (openssl s_client and
# curl against each, as in bench/https.sh; the script stops if the TLS differs):
# - the certificate: the leaf rp mints for bench.test (ECDSA P-256, signed by rp's CA) on a
#   first handshake made here with curl; nginx, H2O and HAProxy load that very file
#   (RP_HOME/ca/certs/bench.test.pem, certificate and key in one PEM).
# - TLS 1.3 (nginx `ssl_protocols TLSv1.3`, HAProxy `ssl-min-ver TLSv1.3`; H2O and rp, left at
#   their defaults, negotiate 1.3), with TLS_AES_256_GCM_SHA384 and X25519: h2load is given
#   OpenSSL's default order of TLS 1.3 suites (`--tls13-ciphers`), as its own puts AES-128
#   first, and nginx and H2O follow the client's order where rp and HAProxy follow their own.
#   Every h2load run is checked for TLSv1.3, that suite and ALPN h2 in what h2load prints.
# - HTTP/2 only: h2load offers ALPN h2 alone (`--npn-list=h2`), so a server without h2 fails
#   rather than being measured over HTTP/1.1. Each server keeps its own HTTP/2 settings (most
#   concurrent streams: rp and nginx 128, H2O and HAProxy 100 — never fewer than h2load opens).
# - the proxying: HTTP/1.1 keep-alive to the origin in all four (nginx `keepalive 128`,
#   HAProxy `http-reuse always`, H2O's default 2 s keep-alive, rp's pool); nginx's and H2O's
#   access logs to /dev/null, HAProxy logging nothing, rp streaming access lines to an attached
#   `rp up`. H2O runs with `ocsp-update-interval: 0` (its OCSP updater would run a helper
#   that fetches from the network). H2O 2.2 does its private-key operations in a child process
#   (neverbleed), with no switch to do them in-process as the others do; that child's CPU time
#   counts as H2O's, and it only works at handshakes, a few per run here.
# - parallelism: BENCH_THREADS (default 1) proxy threads, nginx workers, H2O threads and
#   HAProxy threads, as the servers share one core.
#
# The client: h2load (nghttp2's, linked with OpenSSL 3), one thread, on CPU 0
# (BENCH_CLIENT_CPU); rp (`rp up`, its daemon and its proxy threads), nginx, H2O, HAProxy and
# the origin on CPU 1 (BENCH_SERVER_CPU), with `taskset`, checked in /proc before the runs.
# h2load connects to 127.0.0.1 (`--connect-to`) and sends the URL's host, bench.test, as SNI
# and :authority (bench.test is not in DNS); the SNI is checked once before the runs with a
# small TLS server that prints the name h2load's ClientHello carries.
#
# Latency: h2load's --log-file has each request's time from its start to the end of its
# response; p50 and p99 are taken over all the 2xx requests of a run. With 100 streams in
# flight on one connection, that time is mostly waiting behind the other 99.
#
# Two columns say where the time went, as in bench/https.sh: `server us/req` is each server's
# CPU time per request (from /proc/PID/task/*/schedstat; rp's daemon and `rp up`, nginx's
# master and workers, H2O and its children, HAProxy; not the origin's), steadier than req/s on
# a shared machine; `h2load cpu` is h2load's CPU time over the run's (the highest of the row):
# near 100%, h2load's core is the limit rather than the server's.
#
# Every process is started here (H2O is not the system's service: a copy of its own, on a config
# in the scratch directory) and killed by pid on exit; all traffic stays on loopback; every
# h2load run is bounded by its duration (`-D`), gives up a connection silent for 3 s (`-N`; its
# requests then count as failed) and is killed by `timeout` 15 s after its duration.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${1:-5}
SUITES=TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256
. bench/lib.sh
pinned_bench_start h2 h2load nginx h2o haproxy openssl curl

# --- rp and the origin; then bench.test's certificate, minted by a first handshake.
RP_HTTPS_PORT=$(free_port)
start_origin "$THREADS" "$RP_HTTPS_PORT" "$SERVER_CPU"
mint_leaf "$RP_HTTPS_PORT"

# --- nginx and HAProxy terminating TLS as in bench/https.sh, with HTTP/2: nginx 1.22's syntax
# is `listen ... ssl http2`; HAProxy offers h2 by ALPN.
start_tls_peers "$SERVER_CPU" " http2" " alpn h2,http/1.1"
NGINX_PID=${pids[2]} HAPROXY_PID=${pids[3]}

# --- H2O: its own copy (not the system's service), HTTP/2 by ALPN, proxying to the origin.
H2O_PORT=$(free_port)
mkdir -p "$work/h2o"
cat > "$work/h2o/h2o.conf" <<EOF
num-threads: $THREADS
error-log: $work/h2o/error.log
access-log: /dev/null
hosts:
  "bench.test":
    listen:
      host: 127.0.0.1
      port: $H2O_PORT
      ssl:
        certificate-file: $LEAF
        key-file: $LEAF
        ocsp-update-interval: 0
    paths:
      /:
        proxy.reverse.url: http://127.0.0.1:$ORIGIN_PORT/
        proxy.preserve-host: ON
EOF
taskset -c "$SERVER_CPU" h2o -c "$work/h2o/h2o.conf" > "$work/h2o/h2o.log" 2>&1 &
H2O_PID=$!
pids+=("$H2O_PID")

TARGETS=(rp nginx h2o haproxy)
declare -A PORT=([rp]=$RP_HTTPS_PORT [nginx]=$NGINX_PORT [h2o]=$H2O_PORT [haproxy]=$HAPROXY_PORT)
declare -A LOG=([rp]=$work/rp.log [nginx]=$work/nginx/error.log [h2o]=$work/h2o/h2o.log
  [haproxy]=$work/haproxy.log)
declare -A DOWN=()  # target -> why it has no numbers
for name in "${TARGETS[@]}"; do
  listens "${PORT[$name]}" && continue
  DOWN[$name]="nothing listens on port ${PORT[$name]}"
  { echo "bench: $name does not listen; its log says:"; cat "${LOG[$name]}"; } >&2 || true
done
# H2O's children, killed by pid too: neverbleed, the process that holds the private key and
# signs for the handshakes (H2O 2.2 has no switch for it), and its crash handler, idle.
h2o_children=$(pgrep -P "$H2O_PID" | paste -sd' ' || true)
# shellcheck disable=SC2206  # the pids are words
pids+=($h2o_children)

# Whose CPU time is each server's (the origin's, the same for all, is not counted): rp's daemon
# and the attached `rp up` it streams access lines to; nginx's master and workers; H2O and its
# children; HAProxy.
declare -A SERVER_PIDS=([rp]="${pids[0]} ${pids[1]}" [h2o]="$H2O_PID $h2o_children"
  [haproxy]=$HAPROXY_PID [nginx]="$NGINX_PID $(pgrep -P "$NGINX_PID" | paste -sd' ')")

# --- the checks: everything on its core; the same handshake from all four, and h2.
pinned "the origin" "$(cat "$work/origin/nginx.pid")" "$SERVER_CPU"
for name in "${TARGETS[@]}"; do
  [ -z "${DOWN[$name]:-}" ] || continue
  for pid in ${SERVER_PIDS[$name]}; do pinned "$name" "$pid" "$SERVER_CPU"; done
  check_tls "$name" "${PORT[$name]}" -alpn h2,http/1.1 || exit 1
  if [ "$TLS_ALPN" != h2 ]; then
    DOWN[$name]="ALPN chose ${TLS_ALPN:-nothing}, not h2"
  elif [ "$(curl -sS --http2 --max-time 10 --cacert "$CA" -o /dev/null -w '%{http_version}' \
      --resolve "bench.test:${PORT[$name]}:127.0.0.1" "https://bench.test:${PORT[$name]}/small")" != 2 ]; then
    DOWN[$name]="curl --http2 did not get HTTP/2"
  elif ! check_bodies "$name" https "${PORT[$name]}" --http2; then  # whole bodies, over h2
    DOWN[$name]="garbles a body over h2"
  fi
done

# h2load's arguments for a target, the same in the SNI check and in the runs.
h2load_args() {  # name
  echo "--npn-list=h2 --tls13-ciphers=$SUITES --connect-to=127.0.0.1:${PORT[$1]}"
}
# The SNI h2load sends, as a TLS server sees it (and that it offers h2 alone).
SNI_PORT=$(free_port)
cat > "$work/sni.py" <<'EOF'
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[2])
ctx.set_alpn_protocols(["h2"])
names = []
ctx.sni_callback = lambda sock, name, context: names.append(name)
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", int(sys.argv[1])))
server.listen(1)
open(sys.argv[3], "w").close()  # listening
server.settimeout(10)
conn, _ = server.accept()
conn.settimeout(10)
try:
    tls = ctx.wrap_socket(conn, server_side=True)
    print(names[0] if names else "(none)", tls.selected_alpn_protocol())
except (OSError, ssl.SSLError) as e:
    print(names[0] if names else "(none)", "failed:", e)
EOF
timeout 15 /usr/bin/python3 "$work/sni.py" "$SNI_PORT" "$LEAF" "$work/sni.ready" > "$work/sni.out" 2>&1 &
sni_pid=$!
pids+=("$sni_pid")
for _ in $(seq 100); do [ -e "$work/sni.ready" ] && break; sleep 0.1; done
PORT[sni]=$SNI_PORT
# shellcheck disable=SC2046  # the arguments are words
timeout 10 h2load -n1 $(h2load_args sni) "https://bench.test:$SNI_PORT/small" > /dev/null 2>&1 || true
wait "$sni_pid" || true
read -r sni alpn < "$work/sni.out" || true
echo "h2load's ClientHello: SNI ${sni:-?}, ALPN ${alpn:-?}"
if [ "$sni" != bench.test ] || [ "$alpn" != h2 ]; then
  echo "bench: h2load does not send SNI bench.test with ALPN h2:" >&2
  cat "$work/sni.out" >&2
  exit 1
fi

for name in "${TARGETS[@]}"; do
  [ -z "${DOWN[$name]:-}" ] || echo "bench: $name: ${DOWN[$name]} — its cells will say n/a" >&2
done
echo "h2load on CPU $CLIENT_CPU; rp up, rp's daemon, the origin, nginx, H2O and HAProxy on CPU $SERVER_CPU"

# --- the runs.
run() {  # name connections streams path round
  local name=$1 conns=$2 streams=$3 path=$4 round=$5 key="$2/$3/$4/$1/$5" out
  if [ -n "${DOWN[$name]:-}" ]; then return; fi
  rm -f "$work/h2load.log"
  # shellcheck disable=SC2046  # the arguments are words
  measure "${SERVER_PIDS[$name]}" "$work/h2load.out" timeout $((SECONDS_PER_RUN + 15)) \
    taskset -c "$CLIENT_CPU" h2load -t1 -c"$conns" -m"$streams" -D"$SECONDS_PER_RUN" -N3s \
    $(h2load_args "$name") --log-file="$work/h2load.log" "https://bench.test:${PORT[$name]}/$path"
  out=$(cat "$work/h2load.out")
  local done2xx failed tls
  done2xx=$(awk '/^status codes:/ {print $3}' <<<"$out")
  failed=$(awk '/^requests:/ {n += $10 + $12 + $14} /^status codes:/ {n += $5 + $7 + $9}
                END {print n + 0}' <<<"$out")
  tls=$(awk -F': ' '/^TLS Protocol:|^Cipher:|^Application protocol:/ {print $2}' <<<"$out" | paste -sd' ')
  if ! grep -q '^finished in ' <<<"$out"; then
    failed="h2load did not finish (killed by timeout?)"
  elif [ -z "$tls" ]; then
    failed="no connection"
  elif [ "$tls" != "TLSv1.3 TLS_AES_256_GCM_SHA384 h2" ]; then
    failed="h2load got \"$tls\", not TLSv1.3 TLS_AES_256_GCM_SHA384 h2"
  elif [ -z "$done2xx" ] || [ "$done2xx" = 0 ]; then
    failed="no request succeeded"
  fi
  CPU[$key]=$CLIENT_PCT
  if [ "$failed" = 0 ]; then
    RPS[$key]=$(awk '/^finished in / {print $4}' <<<"$out")
    local p50 p99
    read -r p50 p99 < <(awk '$2 ~ /^2/ {print $3}' "$work/h2load.log" | sort -n |
      awk '{ t[NR] = $1 / 1000 }
           END { printf "%.3f %.3f\n", t[int(NR * 0.50 + 0.5)], t[int(NR * 0.99 + 0.5)] }')
    P50[$key]=$p50 P99[$key]=$p99
    COST[$key]=$(awk -v ns="$SERVER_NS" -v n="$done2xx" 'BEGIN { printf "%.1f", ns / 1000 / n }')
  fi
  printf '  %-8s %2s x %-3s %-5s round %s: %10s req/s  p50 %7s  p99 %7s ms  server %6s us/req (kernel %3s%%)  h2load cpu %3s%%  errors %s\n' \
    "$name" "$conns" "$streams" "$path" "$round" "${RPS[$key]:-n/a}" "${P50[$key]:-n/a}" \
    "${P99[$key]:-n/a}" "${COST[$key]:-n/a}" "$SERVER_KERNEL_PCT" "${CPU[$key]}" "$failed"
  if [ "$failed" != 0 ]; then
    errors+=("$key: $failed")
    echo "$out" >&2
  fi
}

# A warm-up run per server first, not counted: the first seconds of load after the servers start
# are slow for all of them alike (half the req/s in session 13's HTTPS run), which the server
# measured first would otherwise carry alone.
for name in rp nginx h2o haproxy; do run "$name" 50 10 small warm-up; done

ROWS=("1 100 small" "50 10 small" "1 100 64k" "50 10 64k")
for row in "${ROWS[@]}"; do
  read -r conns streams path <<<"$row"
  for round in $(seq "$ROUNDS"); do
    for name in $(round_order "$round" rp nginx h2o haproxy); do
      run "$name" "$conns" "$streams" "$path" "$round"
    done
  done
done

echo
echo "HTTP/2 benchmark: $(nproc) cores (h2load on CPU $CLIENT_CPU, servers on CPU $SERVER_CPU)," \
  "$THREADS proxy thread(s)/worker(s), ${SECONDS_PER_RUN}s per run, mean of $ROUNDS rounds, $(date -u +%F)"
echo "$(nginx -v 2>&1 | sed 's/.*\///;s/^/nginx /'), H2O $(h2o --version | awk 'NR == 1 {print $3}')," \
  "HAProxy $(haproxy -v | awk 'NR == 1 {print $3}'), $(openssl version | cut -d' ' -f1-2)," \
  "h2load $(h2load --version | awk '{print $2}' | sed 's/.*\///')"
printf '| %-13s | %-5s | %10s | %11s | %10s | %13s | %-19s | %-15s | %-15s | %-15s | %-15s | %-21s | %10s |\n' \
  "conns x strms" body "rp req/s" "nginx req/s" "h2o req/s" "haproxy req/s" "rp / strongest peer" \
  "rp p50/p99 ms" "nginx p50/p99" "h2o p50/p99" "haproxy p50/p99" "server us/req r/n/o/h" "h2load cpu"
printf '|%s|\n' "---------------|-------|------------|-------------|------------|---------------|---------------------|-----------------|-----------------|-----------------|-----------------|-----------------------|------------"
for row in "${ROWS[@]}"; do
  read -r conns streams path <<<"$row"
  summarize "$conns/$streams/$path/" nginx h2o haproxy
  printf '| %-13s | %-5s | %10s | %11s | %10s | %13s | %-19s | %-15s | %-15s | %-15s | %-15s | %-21s | %9s%% |\n' \
    "$conns x $streams" "$path" "${M[rp]}" "${M[nginx]}" "${M[h2o]}" "${M[haproxy]}" "$RATIO" \
    "${L[rp]}" "${L[nginx]}" "${L[h2o]}" "${L[haproxy]}" "${C[rp]}/${C[nginx]}/${C[h2o]}/${C[haproxy]}" \
    "$CLIENT_MAX"
done

print_rp_log
problems=("${errors[@]}")
for name in "${TARGETS[@]}"; do
  [ -z "${DOWN[$name]:-}" ] || problems+=("$name: ${DOWN[$name]}")
done
if [ ${#problems[@]} -gt 0 ]; then
  echo
  echo "bench: no numbers, or errors, in ${#problems[@]} place(s) — those numbers do not count:" >&2
  printf '  %s\n' "${problems[@]}" >&2
  exit 1
fi
