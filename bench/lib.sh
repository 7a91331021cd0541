# What the benchmark scripts share; bench/*.sh source it after `cd` to the repository.
#
#   bench_start NAME TOOL...
#
# checks that build/rp (or $RP_BIN) and the tools are there and sets RP to the binary; makes the
# scratch directory $work; and, when the script ends however it ends, kills every pid the script
# put in $pids (SIGTERM, then SIGKILL half a second later) and removes $work.

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
