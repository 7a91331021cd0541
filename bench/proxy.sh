#!/usr/bin/env bash
# The proxy benchmark: in one run on this machine, wrk against rp, nginx with one worker, nginx
# with `worker_processes auto` and HAProxy, each proxying plain HTTP/1.1 to the same origin, and
# against the origin itself (`direct`, for scale). Prints, per row, each one's req/s, p99 and
# CPU time per request, and rp's req/s, p99 and CPU per request against its peers'.
#
#   bench/proxy.sh [SECONDS_PER_RUN]      (default 5; needs build/rp, or RP_BIN: `make build`)
#
# Rows: keep-alive requests with 1 and 50 connections, for a 13-byte body (`small`) and a 64 KiB
# body (`64k`). Every row runs BENCH_ROUNDS times per target (default 2), interleaved (direct,
# rp, nginx-1, nginx-auto, HAProxy, then back, and so on), and shows the mean; the per-run lines
# it prints as it goes show the spread between the rounds. Before the rows, one warm-up run per target (50
# connections, small body), shown and not counted.
#
# Fair by construction:
# - one origin for all: an nginx with one worker and its access log off, serving two static
#   files, started by rp as its app's web process (so rp routes to it as to any app, `PORT` and
#   all); nginx and HAProxy proxy to that same port.
# - keep-alive on both sides: nginx with `proxy_http_version 1.1`, an empty `Connection` and
#   `keepalive 128` upstream; HAProxy with `http-keep-alive` and `http-reuse always`; rp's pool.
# - logging as users run each: rp streams an access line per request to the attached `rp up`,
#   whose output goes to a file; nginx's access log goes to /dev/null; HAProxy logs nothing.
# - parallelism: BENCH_THREADS (default 1) proxy threads for rp, workers for `nginx-1` and
#   threads for HAProxy; `nginx-auto` has `worker_processes auto` (as many as the machine has
#   cores, 2 on the development machine), to show whether more processes on the one core help.
#
# The client: wrk, one thread, on CPU 0 (BENCH_CLIENT_CPU); `rp up`, rp's daemon (its proxy
# threads too), both nginx, HAProxy and the origin on CPU 1 (BENCH_SERVER_CPU), with `taskset`,
# checked in /proc before the runs, and curl checks that each passes both bodies through whole.
#
# Where the time went, as the machine may be busy with other work: `µs/req` is each target's
# CPU time per request (from /proc/PID/task/*/schedstat: rp's daemon and the attached `rp up`
# together; nginx's master and workers; HAProxy; for `direct`, the origin's; the proxies' counts
# leave the origin's out), steadier than req/s on a shared machine. `wrk cpu` is wrk's CPU time
# over the run's (the highest of the row): near 100%, wrk's core is the limit.
#
# Every process is started here and killed by pid on exit; all traffic stays on loopback; every
# wrk run is bounded by its duration (and by `timeout`). It exits 1 if a run had socket errors or
# non-2xx answers.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${1:-5}
. bench/lib.sh
pinned_bench_start proxy wrk nginx haproxy curl

# --- the origin, and rp in front of it (HTTP only: no HTTPS listener).
start_origin "$THREADS" 0 "$SERVER_CPU"
ORIGIN_PID=$(cat "$work/origin/nginx.pid")

# --- the peers: nginx with $THREADS workers and with `auto`, and HAProxy, all on CPU 1.
start_nginx() {  # NAME WORKERS -> sets PORT[NAME] and SERVER_PIDS[NAME] to its master
  local dir=$work/$1
  PORT[$1]=$(free_port)
  mkdir -p "$dir"
  THREADS=$2 NGINX_DIR=$dir nginx_proxy_conf "${PORT[$1]}" > "$dir/nginx.conf"
  taskset -c "$SERVER_CPU" nginx -c "$dir/nginx.conf" &
  pids+=($!)
  SERVER_PIDS[$1]=$!
}
declare -A PORT=([direct]=$ORIGIN_PORT [rp]=$RP_PORT) SERVER_PIDS=([rp]="${pids[0]} ${pids[1]}")
start_nginx nginx-1 "$THREADS"
start_nginx nginx-auto auto
PORT[haproxy]=$(free_port)
haproxy_proxy_conf "${PORT[haproxy]}" > "$work/haproxy.cfg"
taskset -c "$SERVER_CPU" haproxy -f "$work/haproxy.cfg" -db > "$work/haproxy.log" 2>&1 &
pids+=($!)
SERVER_PIDS[haproxy]=$!

TARGETS=(direct rp nginx-1 nginx-auto haproxy)
for name in "${TARGETS[@]}"; do
  wait_port "${PORT[$name]}"
  check_bodies "$name" http "${PORT[$name]}" || exit 1
done

# Whose CPU time is each target's: with a request served, nginx's workers are there to count.
SERVER_PIDS[direct]="$ORIGIN_PID $(pgrep -P "$ORIGIN_PID" | paste -sd' ')"
for name in nginx-1 nginx-auto; do
  SERVER_PIDS[$name]="${SERVER_PIDS[$name]} $(pgrep -P "${SERVER_PIDS[$name]}" | paste -sd' ')"
done
AUTO_WORKERS=$(( $(wc -w <<<"${SERVER_PIDS[nginx-auto]}") - 1 ))

# --- the checks: everything on its core.
for name in "${TARGETS[@]}"; do
  for pid in ${SERVER_PIDS[$name]}; do pinned "$name" "$pid" "$SERVER_CPU"; done
done
echo "wrk on CPU $CLIENT_CPU; rp up, rp's daemon, the origin, nginx ($THREADS and" \
  "$AUTO_WORKERS workers) and HAProxy on CPU $SERVER_CPU"

# --- the runs.
run() {  # name connections path round
  local name=$1 conns=$2 path=$3 round=$4
  wrk_run "$conns/$path/$name/$round" \
    "$(printf '%-10s %2s %-5s round %s' "$name" "$conns" "$path" "$round")" \
    "${SERVER_PIDS[$name]}" '' -c"$conns" -H "Host: bench.test" \
    "http://127.0.0.1:${PORT[$name]}/$path"
}

# A warm-up run per server first, not counted: the first seconds of load after the servers start
# are slow for all of them alike (half the req/s in session 13's HTTPS run), which the server
# measured first would otherwise carry alone.
for name in direct rp nginx-1 nginx-auto haproxy; do run "$name" 50 small warm-up; done

ROWS=("1 small" "50 small" "1 64k" "50 64k")
for row in "${ROWS[@]}"; do
  read -r conns path <<<"$row"
  for round in $(seq "$ROUNDS"); do
    for name in $(round_order "$round" direct rp nginx-1 nginx-auto haproxy); do
      run "$name" "$conns" "$path" "$round"
    done
  done
done

echo
echo "Proxy benchmark: $(nproc) cores (wrk on CPU $CLIENT_CPU, servers on CPU $SERVER_CPU)," \
  "$THREADS proxy thread(s)/worker(s) (nginx-auto: $AUTO_WORKERS), ${SECONDS_PER_RUN}s per run," \
  "mean of $ROUNDS rounds, $(date -u +%F)"
echo "$(nginx -v 2>&1 | sed 's/.*\///;s/^/nginx /'), HAProxy $(haproxy -v | awk 'NR == 1 {print $3}')," \
  "wrk $(wrk -v 2>&1 | awk 'NR == 1 {print $2}'). Each cell: req/s · p99 ms · server CPU µs/req."
echo
cell() {  # name -> "req/s · p99 · µs/req" of the row summarize last read
  printf '%s · %s · %s' "$(awk -v r="${M[$1]}" 'BEGIN { printf (r == "n/a" ? r : "%.0f"), r }')" \
    "${Q[$1]}" "${C[$1]}"
}
echo "| conns | body | direct | rp | nginx 1 worker | nginx auto | HAProxy | rp / strongest peer, req/s | rp / best peer, p99 | rp / nginx 1 worker, CPU per req | wrk cpu |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for row in "${ROWS[@]}"; do
  read -r conns path <<<"$row"
  summarize "$conns/$path/" nginx-1 nginx-auto haproxy
  cpu_ratio=$(awk -v a="${C[rp]}" -v b="${C[nginx-1]}" \
    'BEGIN { if (a == "n/a" || b == "n/a" || b == 0) print "n/a"; else printf "%.2f", a / b }')
  echo "| $conns | $path | $(cell direct) | $(cell rp) | $(cell nginx-1) | $(cell nginx-auto) |" \
    "$(cell haproxy) | $RATIO | $P99_RATIO | $cpu_ratio | $CLIENT_MAX% |"
done

end_runs
