#!/usr/bin/env bash
# The proxy benchmark: in one run on this machine, wrk against the same origin four ways —
# direct, through rp, through nginx and through HAProxy — with 1 and 50 connections, a small
# body and a 64 KiB body. Prints req/s, p50, p99 and each proxy's ratio to nginx.
#
#   bench/proxy.sh [SECONDS_PER_ROW]      (default 8; needs build/rp: `make build`)
#
# Fair by construction: the origin is one nginx worker that rp starts as its app's web process
# (so rp routes to it as it would to any app); nginx and HAProxy proxy to that same port with
# as many workers/threads as rp has proxy threads, and keep-alive upstream connections.
# wrk and the servers share all cores (no pinning, unlike bench/https.sh), as when the numbers in
# docs/benchmarks.md were taken, so that new runs compare with them.
# Every process is started here and killed by pid on exit; all traffic stays on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_ROW=${1:-8}
THREADS=${BENCH_THREADS:-$(nproc)}
. bench/lib.sh
bench_start proxy wrk nginx haproxy
chmod 755 "$work"  # nginx workers run as nobody and must read the files

# --- the origin: one nginx worker, run by rp as the app "bench" (HTTP only: no HTTPS listener).
start_origin "$THREADS" 0

# --- nginx as the proxy: same threads, upstream keep-alive, access log as rp writes one.
NGINX_PORT=$(free_port)
mkdir -p "$work/nginx"
nginx_proxy_conf "$NGINX_PORT" > "$work/nginx/nginx.conf"
nginx -c "$work/nginx/nginx.conf" &
pids+=($!)

# --- HAProxy: same threads, keep-alive both sides.
HAPROXY_PORT=$(free_port)
haproxy_proxy_conf "$HAPROXY_PORT" > "$work/haproxy.cfg"
haproxy -f "$work/haproxy.cfg" -db > "$work/haproxy.log" 2>&1 &
pids+=($!)
wait_port "$NGINX_PORT"
wait_port "$HAPROXY_PORT"

# --- the runs.
declare -A RPS P50 P99
run() {  # name port connections path
  local name=$1 port=$2 conns=$3 path=$4 threads out
  threads=$(( conns < THREADS ? conns : THREADS ))
  out=$(wrk -t"$threads" -c"$conns" -d"${SECONDS_PER_ROW}s" --latency -H "Host: bench.test" \
    "http://127.0.0.1:$port/$path")
  local key="$name/$conns/$path"
  RPS[$key]=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  P50[$key]=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
  P99[$key]=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
  if grep -q "Non-2xx" <<<"$out"; then echo "bench: $key had errors:" >&2; echo "$out" >&2; fi
}

for path in small 64k; do
  for conns in 1 50; do
    run direct "$ORIGIN_PORT" "$conns" "$path"
    run rp "$RP_PORT" "$conns" "$path"
    run nginx "$NGINX_PORT" "$conns" "$path"
    run haproxy "$HAPROXY_PORT" "$conns" "$path"
  done
done

echo
echo "Proxy benchmark: $(nproc) cores, $THREADS proxy threads/workers, ${SECONDS_PER_ROW}s per row, $(date -u +%F)"
printf '| %-8s | %-5s | %-5s | %10s | %8s | %8s | %14s | %14s |\n' \
  proxy conns body "req/s" "p50 ms" "p99 ms" "req/s vs nginx" "p99 vs nginx"
printf '|%s|\n' "----------|-------|-------|------------|----------|----------|----------------|----------------"
for path in small 64k; do
  for conns in 1 50; do
    base="nginx/$conns/$path"
    for name in direct rp nginx haproxy; do
      key="$name/$conns/$path"
      ratio=$(awk -v a="${RPS[$key]}" -v b="${RPS[$base]}" 'BEGIN { printf "%.2f", a / b }')
      lat=$(awk -v a="${P99[$key]}" -v b="${P99[$base]}" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
      printf '| %-8s | %-5s | %-5s | %10s | %8s | %8s | %14s | %14s |\n' \
        "$name" "$conns" "$path" "${RPS[$key]}" "${P50[$key]}" "${P99[$key]}" "$ratio" "$lat"
    done
  done
done
