#!/usr/bin/env bash
# Run each libFuzzer target of BUILD_DIR for SECONDS under ASan+UBSan,
# seeded with tests/data (the .dat fixtures) and tests/fuzz/seeds_options,
# and write one TAP line per target to TAP_FILE (tests/summarize.py counts
# them). A crash, leak, UB report or timeout is a failure; its input is
# kept next to TAP_FILE as <target>-crash-*. Run from the source root.
#   bash tests/fuzz/run.sh BUILD_DIR TAP_FILE [SECONDS]
set -uo pipefail
build=$1 tap=$2 secs=${3:-30}
out=$(dirname "$tap")
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
declare -A seeds=([dat]=tests/data/protocol [options]=tests/fuzz/seeds_options)
n=0 bad=0
: >"$tap"
for target in dat options; do
  n=$((n + 1))
  corpus=$work/$target
  mkdir -p "$corpus"
  cp "${seeds[$target]}"/* "$corpus"/
  log=$out/fuzz_$target.log
  if UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
     ASAN_OPTIONS=detect_leaks=1 \
     "$build/tests/fuzz/fuzz_$target" -max_total_time="$secs" -timeout=10 \
       -rss_limit_mb=2048 -artifact_prefix="$out/fuzz_$target-" \
       "$corpus" >"$log" 2>&1; then
    runs=$(grep -o 'Done [0-9]* runs' "$log" | tail -1)
    echo "ok $n - fuzz_$target: ${runs:-done} in ${secs} s" >>"$tap"
  else
    bad=$((bad + 1))
    echo "not ok $n - fuzz_$target: see $log" >>"$tap"
    tail -30 "$log"
  fi
done
echo "1..$n" >>"$tap"
cat "$tap"
exit $((bad > 0))
