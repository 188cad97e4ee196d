#!/usr/bin/env bash
# fuzz.sh BUILD SECONDS [NAME...] — runs the libFuzzer harnesses built in
# BUILD/fuzz (`make fuzz`; all of tests/fuzz/fuzz_*.c when no NAME is
# given) one after the other, SECONDS each, and prints one line per
# harness: runs, exec/s, coverage, corpus. Fails if any found a crash, a
# leak, undefined behaviour, a broken invariant or a hang, naming the
# harness, the reproducer and the command that replays it.
#
# Seeds: tests/fuzz/corpus/NAME/ and the proto/examples/ a harness reads.
# What libFuzzer adds goes to BUILD/fuzz-corpus/NAME/ (kept between runs,
# never checked in); reproducers to BUILD/fuzz-artifacts/NAME/; the whole
# output to BUILD/fuzz-logs/NAME.log.
set -euo pipefail
cd "$(dirname "$0")/.."
build=$1
secs=$2
shift 2
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
    for f in tests/fuzz/fuzz_*.c; do
        n=${f##*/fuzz_}
        names+=("${n%.c}")
    done
fi

# The largest input worth trying: what the caller can hand the parser.
max_len() {
    case $1 in
    item) echo 17000 ;;      # ITEM_MAX_BYTES and a little more
    cframe) echo 4096 ;;     # FRAMES_CLIENT_MAX
    proxyproto) echo 1100 ;; # PROXYPROTO_MAX and a little more
    grant) echo 2048 ;;      # GRANT_TOKEN_MAX
    *) echo 4096 ;;
    esac
}

seeds() {
    [ ! -d "tests/fuzz/corpus/$1" ] || echo "tests/fuzz/corpus/$1"
    case $1 in
    item) echo proto/examples/valid proto/examples/invalid ;;
    cframe) echo proto/examples/frames ;;
    esac
}

failed=()
for name in "${names[@]}"; do
    bin=$build/fuzz/fuzz_$name
    work=$build/fuzz-corpus/$name
    art=$build/fuzz-artifacts/$name
    log=$build/fuzz-logs/$name.log
    [ -x "$bin" ] || { echo "fuzz: no harness $bin" >&2; exit 2; }
    mkdir -p "$work" "$art" "$(dirname "$log")"
    opts=(-max_total_time="$secs" -max_len="$(max_len "$name")" -timeout=10
          -rss_limit_mb=1024 -artifact_prefix="$art/" -print_final_stats=1)
    [ ! -f "tests/fuzz/$name.dict" ] || opts+=(-dict="tests/fuzz/$name.dict")
    # shellcheck disable=SC2046 # the seed directories are words
    rc=0
    "$bin" "${opts[@]}" "$work" $(seeds "$name") >"$log" 2>&1 || rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -n 1 || true)
    corpus=$(find "$work" -type f | wc -l)
    if [ "$rc" -eq 0 ]; then
        echo "fuzz: $name ${secs}s: ${runs:-?} runs, ${speed:-?} exec/s, ${cov:-cov: ?}, corpus $corpus: ok"
        continue
    fi
    repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    echo "fuzz: $name FAILED (exit $rc) after ${runs:-?} runs; log: $log" >&2
    grep -m 3 -E 'ERROR: |runtime error:|invariant broken' "$log" | sed 's/^/fuzz:   /' >&2 || true
    if [ -n "$repro" ]; then
        echo "fuzz:   reproducer: $repro" >&2
        echo "fuzz:   replay:     $bin $repro" >&2
    fi
    failed+=("$name")
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: FAILED: ${failed[*]}" >&2
    exit 1
fi
