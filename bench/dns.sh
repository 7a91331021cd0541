#!/usr/bin/env bash
# The DNS benchmark: in one run on this machine, dnsperf against rp's responder and against
# dnsmasq, with the same file of random *.test names (A and AAAA, alternating). Two measurements
# per server:
#   - throughput: dnsperf as fast as the server answers (100 queries in flight) for SECONDS in
#     all, in two halves taken in turns with the other server (rp, dnsmasq, rp, dnsmasq), so that
#     a slow moment of a shared machine does not fall on one server only; queries per second,
#     dnsperf's average latency under that load, the server's CPU time per query (rp: its
#     daemon and `rp up`) and dnsperf's own CPU use (near 100%, dnsperf is the limit and the
#     queries per second only a floor: the CPU per query then says which server is leaner);
#   - capacity: bench/dns_flood.c (built here), a load generator that costs much less per query
#     than dnsperf (sendmmsg/recvmmsg, 64 queries in flight), so that the server's core and not
#     the client's is the limit: queries per second, the server's CPU per query and the client's
#     CPU use, in two halves taken in turns like the throughput;
#   - latency: a fixed, moderate rate (RATE qps, default 20000), three times 4 s in turns, with
#     every answer's latency recorded; p50 and p99 of all of them.
# Prints two tables and the ratios rp/dnsmasq.
#
#   bench/dns.sh [SECONDS]      (default 20; needs build/rp: `make build`)
#
# Fair by construction: both servers answer on one thread (rp's responder runs on the daemon's
# event loop; dnsmasq is one process), both answer from memory with no upstream (dnsmasq:
# address=/test/127.0.0.1 and ::1, no resolv.conf, no hosts file), both listen on 127.0.0.1,
# dnsperf sends the same queries the same way to each, one after the other; and dnsperf runs on
# CPU 0 (BENCH_CLIENT_CPU), `rp up`, rp's daemon and dnsmasq on CPU 1 (BENCH_SERVER_CPU).
# Every process is started here and killed by pid on exit; all traffic stays on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${1:-20}
RATE=${RATE:-20000}
. bench/lib.sh
pinned_bench_start dns dnsperf dnsmasq dig cc
cc -O2 -o "$work/dns_flood" bench/dns_flood.c

# A port free for UDP and TCP on 127.0.0.1 and ::1 (rp listens on both addresses).
free_port() {
  /usr/bin/python3 - <<'EOF'
import socket
while True:
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
    port = u.getsockname()[1]
    try:
        for fam, host, kind in ((socket.AF_INET, "127.0.0.1", socket.SOCK_STREAM),
                                (socket.AF_INET6, "::1", socket.SOCK_DGRAM),
                                (socket.AF_INET6, "::1", socket.SOCK_STREAM)):
            with socket.socket(fam, kind) as s:
                s.bind((host, port))
    except OSError:
        continue
    finally:
        u.close()
    print(port)
    break
EOF
}

wait_dns() {
  for _ in $(seq 100); do
    [ "$(dig +short +time=1 +tries=1 -p "$1" @127.0.0.1 ready.test A 2>/dev/null)" = 127.0.0.1 ] &&
      return 0
    sleep 0.1
  done
  echo "bench: nothing answers DNS on port $1" >&2
  exit 1
}

# The same queries for both: random 12-letter names under .test, A and AAAA alternating.
/usr/bin/python3 - "$work/queries" <<'EOF'
import random, string, sys
rng = random.Random(1)
with open(sys.argv[1], "w") as f:
    for i in range(50000):
        name = "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(12))
        f.write(f"{name}.test {'A' if i % 2 == 0 else 'AAAA'}\n")
EOF

# rp: `rp up` on a project whose one process sleeps; only the daemon's DNS responder does work.
mkdir -p "$work/app" "$work/home"
printf 'idle: exec sleep 3600\n' > "$work/app/Procfile"
RP_PORT=$(free_port)
(cd "$work/app" && RP_HOME="$work/home" RP_DNS_PORT=$RP_PORT RP_HTTP_PORT=0 RP_HTTPS_PORT=0 \
  NO_COLOR=1 exec taskset -c "$SERVER_CPU" "$RP" up > "$work/rp.log" 2>&1) &
pids+=($!)

DNSMASQ_PORT=$(free_port)
taskset -c "$SERVER_CPU" dnsmasq --no-daemon --no-resolv --no-hosts --address=/test/127.0.0.1 --address=/test/::1 \
  --port="$DNSMASQ_PORT" --listen-address=127.0.0.1 --bind-interfaces --pid-file= \
  > "$work/dnsmasq.log" 2>&1 &
pids+=($!)

wait_dns "$RP_PORT"
wait_dns "$DNSMASQ_PORT"
pids+=("$(cat "$work/home/rp.lock")")  # the daemon `rp up` started, where the responder runs
pinned "rp's daemon" "${pids[2]}" "$SERVER_CPU"
pinned dnsmasq "${pids[1]}" "$SERVER_CPU"
echo "dnsperf on CPU $CLIENT_CPU; rp up, rp's daemon and dnsmasq on CPU $SERVER_CPU"

HALF=$(( (SECONDS_PER_RUN + 1) / 2 ))

# throughput SERVER PORT: one half-run, appending "qps avg_ms" to SERVER.throughput
# Whose CPU time is each server's: rp's daemon (where the responder runs) and `rp up`; dnsmasq.
declare -A SERVER_PIDS=([rp]="${pids[0]} ${pids[2]}" [dnsmasq]="${pids[1]}")

# One half of a server's throughput run: its qps, dnsperf's average latency, the server's CPU
# time per answered query in us, and dnsperf's CPU use in % (near 100: dnsperf's core, not the
# server, was the limit, and the qps only a floor).
throughput() {
  measure "${SERVER_PIDS[$1]}" "$work/out" timeout $((HALF + 30)) taskset -c "$CLIENT_CPU" \
    dnsperf -s 127.0.0.1 -p "$2" -d "$work/queries" -l "$HALF" -c 1 -T 1 -q 100 -t 2
  awk -v ns="$SERVER_NS" -v client="$CLIENT_PCT" '
       /Queries per second:/ {q=$4} /Average Latency \(s\):/ {a=$4*1000}
       /Queries completed:/ {n=$3}
       END {printf "%f %f %f %s\n", q, a, (n > 0 ? ns / 1000 / n : 0), client}' \
    "$work/out" >> "$work/$1.throughput"
}

# One half of a server's capacity run: dns_flood's qps, the server's CPU time per answered query
# in us, the client's CPU use in %, and the queries lost.
capacity() {
  measure "${SERVER_PIDS[$1]}" "$work/out" timeout $((HALF + 30)) taskset -c "$CLIENT_CPU" \
    "$work/dns_flood" 127.0.0.1 "$2" "$work/queries" "$HALF" 64
  awk -v ns="$SERVER_NS" -v client="$CLIENT_PCT" '
       /^sent / {printf "%f %f %s %d\n", $8, ($4 > 0 ? ns / 1000 / $4 : 0), client, $6}' \
    "$work/out" >> "$work/$1.capacity"
}

# latency SERVER PORT: one 4 s run at RATE, appending each answer's ms to SERVER.latency and the
# number of lost queries to SERVER.lost
latency() {
  timeout 60 taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$2" -d "$work/queries" -l 4 -Q "$RATE" -c 1 -T 1 -t 2 -v \
    > "$work/out" 2>&1
  awk '/^> NOERROR/ {print $5 * 1000}' "$work/out" >> "$work/$1.latency"
  awk '/Queries lost:/ {print $3}' "$work/out" >> "$work/$1.lost"
}

# summary SERVER -> "qps avg_ms p50_ms p99_ms lost"
summary() {
  read -r qps avg cpu client <<< "$(awk '{q += $1; a += $2; c += $3; if ($4 > m) m = $4}
    END {printf "%.0f %.3f %.2f %d", q / NR, a / NR, c / NR, m}' "$work/$1.throughput")"
  sort -n "$work/$1.latency" > "$work/sorted"
  read -r p50 p99 <<< "$(awk -v n="$(wc -l < "$work/sorted")" '
    NR == int(n * 0.50 + 0.5) {p50 = $1}
    NR == int(n * 0.99 + 0.5) {p99 = $1}
    END {printf "%.3f %.3f", p50, p99}' "$work/sorted")"
  echo "$qps $avg $p50 $p99 $(awk '{l += $1} END {print l}' "$work/$1.lost") $cpu $client"
}

echo "dnsperf: ${SECONDS_PER_RUN}s of throughput per server (100 queries in flight, in two" \
  "halves); dns_flood: ${SECONDS_PER_RUN}s of capacity per server (64 in flight, two halves);" \
  "then dnsperf 3x4s at ${RATE} qps for latency"
for _ in 1 2; do
  throughput rp "$RP_PORT"
  throughput dnsmasq "$DNSMASQ_PORT"
done
for _ in 1 2; do
  capacity rp "$RP_PORT"
  capacity dnsmasq "$DNSMASQ_PORT"
done
for _ in 1 2 3; do
  latency rp "$RP_PORT"
  latency dnsmasq "$DNSMASQ_PORT"
done
read -r rp_qps rp_avg rp_p50 rp_p99 rp_lost rp_cpu rp_client <<< "$(summary rp)"
read -r dm_qps dm_avg dm_p50 dm_p99 dm_lost dm_cpu dm_client <<< "$(summary dnsmasq)"

printf '\n| server  | qps | avg latency at max (ms) | server CPU per query at max (us) | dnsperf CPU at max | p50 at %s qps (ms) | p99 at %s qps (ms) | lost |\n' "$RATE" "$RATE"
printf '|---|---:|---:|---:|---:|---:|---:|---:|\n'
printf '| rp      | %s | %s | %s | %s%% | %s | %s | %s |\n' "$rp_qps" "$rp_avg" "$rp_cpu" "$rp_client" "$rp_p50" "$rp_p99" "$rp_lost"
printf '| dnsmasq | %s | %s | %s | %s%% | %s | %s | %s |\n' "$dm_qps" "$dm_avg" "$dm_cpu" "$dm_client" "$dm_p50" "$dm_p99" "$dm_lost"
awk -v a="$rp_qps" -v b="$dm_qps" 'BEGIN {printf "\nrp/dnsmasq: %.2fx the queries per second\n", a / b}'
awk -v a="$rp_cpu" -v b="$dm_cpu" 'BEGIN {printf "rp/dnsmasq: %.2fx the CPU per query (under 1: rp spends less)\n", a / b}'
# capacity SERVER -> "qps cpu_us client_pct lost"
capacity_summary() {
  awk '{q += $1; c += $2; if ($3 > m) m = $3; l += $4}
       END {printf "%.0f %.2f %d %d", q / NR, c / NR, m, l}' "$work/$1.capacity"
}
read -r rp_cap rp_cap_cpu rp_cap_client rp_cap_lost <<< "$(capacity_summary rp)"
read -r dm_cap dm_cap_cpu dm_cap_client dm_cap_lost <<< "$(capacity_summary dnsmasq)"
printf '\nCapacity (dns_flood, 64 queries in flight; the server'"'"'s core is the limit when the client'"'"'s is well under 100%%):\n\n'
printf '| server  | qps | server CPU per query (us) | dns_flood CPU | lost |\n'
printf '|---|---:|---:|---:|---:|\n'
printf '| rp      | %s | %s | %s%% | %s |\n' "$rp_cap" "$rp_cap_cpu" "$rp_cap_client" "$rp_cap_lost"
printf '| dnsmasq | %s | %s | %s%% | %s |\n' "$dm_cap" "$dm_cap_cpu" "$dm_cap_client" "$dm_cap_lost"
awk -v a="$rp_cap" -v b="$dm_cap" 'BEGIN {printf "\nrp/dnsmasq capacity: %.2fx the queries per second\n", a / b}'
printf '(%s, %s cores, %s)\n' "$(dnsmasq --version | head -1)" "$(nproc)" "$(date -u +%Y-%m-%d)"
