#!/usr/bin/env bash
# Builds a libFuzzer target with clang, ASan and UBSan (in build-fuzz/) and runs it for a while:
#   fuzz/run.sh http 10                     # `make test` runs a short run like this
#   fuzz/run.sh http 3600                   # a longer hunt; findings are written to build-fuzz/
#   fuzz/run.sh http 1200 -runs=10000000    # more libFuzzer flags after the seconds
# TARGET is one of fuzz/*_fuzz.cpp without the suffix: http, dns, tls, h2, procfile, dotenv,
# yaml, control, project, dashboard_gate. fuzz/long_run.sh runs them all to 10 million
# executions each.
# The corpus grows in build-fuzz/corpus/TARGET, seeded from fuzz/seeds/TARGET.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: fuzz/run.sh TARGET [SECONDS [LIBFUZZER FLAGS...]]}
seconds=${2:-20}
shift $(($# < 2 ? $# : 2))
# The targets share build-fuzz/ and its object libraries: configured once (ninja re-runs cmake
# when a CMakeLists.txt changes), and each run builds only what its target still lacks.
if [ ! -f build-fuzz/build.ninja ]; then
  cmake -S . -B build-fuzz -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DRP_FUZZ=ON > build-fuzz.log 2>&1 || { cat build-fuzz.log >&2; exit 1; }
fi
cmake --build build-fuzz -j2 --target "${target}_fuzz" >> build-fuzz.log 2>&1 ||
  { cat build-fuzz.log >&2; exit 1; }
rm -f build-fuzz.log
corpus=build-fuzz/corpus/$target
mkdir -p "$corpus"
seeds=()
[ -d "fuzz/seeds/$target" ] && seeds=("fuzz/seeds/$target")
cd build-fuzz
"./fuzz/${target}_fuzz" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix=./ \
  "$@" "../$corpus" "${seeds[@]/#/../}"
