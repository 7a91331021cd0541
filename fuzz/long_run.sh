#!/usr/bin/env bash
# The long run (docs/benchmarks.md, "Fuzzing: long runs"): each target in turn, never two at
# once, at the lowest priority, until 10 million executions or 20 minutes, whichever comes first;
# then one line per target: executions, executions per second, time, coverage, findings.
#   fuzz/long_run.sh                  # every target
#   fuzz/long_run.sh procfile yaml    # some of them
# RUNS and SECONDS_EACH change the limits. Each run's output is in build-fuzz/long-run/TARGET.log; a
# finding is written to build-fuzz/crash-… (or leak-…, timeout-…) and stops its target's run.
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-10000000}
seconds=${SECONDS_EACH:-1200}
targets=("$@")
[ ${#targets[@]} -eq 0 ] &&
  targets=(http dns tls h2 procfile dotenv yaml control project dashboard_gate)
mkdir -p build-fuzz/long-run
# The project target writes a project's files for every input: in memory when /dev/shm is there
# (on this machine's disk it ran a third slower).
[ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ] && export TMPDIR=/dev/shm
summary=()
for target in "${targets[@]}"; do
  log=build-fuzz/long-run/$target.log
  start=$(date +%s)
  nice -n 19 fuzz/run.sh "$target" "$seconds" -runs="$runs" > "$log" 2>&1
  status=$?
  elapsed=$(($(date +%s) - start))  # with the build; libFuzzer's own count when it finished
  ran=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log")
  elapsed=${ran:-$elapsed}
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  per_second=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  coverage=$(grep -E '^#[0-9]+' "$log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+')
  findings=none
  [ "$status" -ne 0 ] && findings="exit $status, see $log"
  line="$target: ${executions:-?} executions, ${per_second:-?}/s, ${elapsed} s, ${coverage:-?}, findings: $findings"
  echo "$line"
  summary+=("$line")
done
echo
printf '%s\n' "${summary[@]}"
