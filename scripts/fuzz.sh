#!/usr/bin/env bash
# Coverage-guided fuzzing of every decoder input reaches (Docs/fuzzing.md).
#
#   scripts/fuzz.sh SECONDS [TARGET…]    each target (default: all) for SECONDS with libFuzzer and AddressSanitizer
#   scripts/fuzz.sh --seeds              (re)write the seeds into Tests/Fuzz/corpus/
#
# The build is its own (.build-fuzz, --sanitize=fuzzer --sanitize=address). Each target starts from its committed
# corpus (Tests/Fuzz/corpus/TARGET) and its regressions (Tests/Fuzz/regressions/TARGET); what it finds new goes to
# .build-fuzz/corpus/TARGET, and an input that crashes or breaks a property to .build-fuzz/crashes/TARGET/, which
# this script prints with the command that replays it. It exits non-zero if any target found something.
set -euo pipefail
cd "$(dirname "$0")/.."

SWIFT=${SWIFT:-swift}
scratch=.build-fuzz
binary=$scratch/debug/TwinFuzz

# swiftc keeps only the last -sanitize= flag it is given, so SwiftPM's two (--sanitize=fuzzer --sanitize=address)
# would leave the Swift code with AddressSanitizer and no coverage; the combined flag after them gives both.
build_flags=(--sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address --scratch-path "$scratch" --product TwinFuzz)

build() {
    echo "fuzz: building TwinFuzz with libFuzzer and AddressSanitizer ($scratch)"
    "$SWIFT" build "${build_flags[@]}" 2>&1 \
        | grep -Ev '^\[[0-9]+/[0-9]+\]|unhandled; explicitly declare' || true
    [ -x "$binary" ] || { echo "fuzz: the build failed (rerun: $SWIFT build ${build_flags[*]})"; exit 1; }
}

# Swift's own crash backtracer would take the signal before libFuzzer saves the input.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/scripts/lsan.supp}

if [ "${1:-}" = "--seeds" ]; then
    build
    # Leak checking is for the fuzzing loop (per input); the seed writer exits holding its fixtures.
    ASAN_OPTIONS=detect_leaks=0 TWINFUZZ_WRITE_SEEDS=Tests/Fuzz/corpus "$binary"
    exit 0
fi

seconds=${1:?usage: scripts/fuzz.sh SECONDS [TARGET...] | --seeds}
shift
if [ $# -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(ls Tests/Fuzz/corpus); fi

build
failed=()
summary=()
for target in "${targets[@]}"; do
    [ -d "Tests/Fuzz/corpus/$target" ] || { echo "fuzz: no target $target (Tests/Fuzz/corpus/$target is missing)"; exit 2; }
    mkdir -p "$scratch/corpus/$target" "$scratch/crashes/$target"
    inputs=("$scratch/corpus/$target" "Tests/Fuzz/corpus/$target")
    [ -d "Tests/Fuzz/regressions/$target" ] && inputs+=("Tests/Fuzz/regressions/$target")
    log="$scratch/fuzz-$target.log"
    echo "fuzz: $target for ${seconds}s"
    status=0
    # -timeout: one input taking longer is a finding (the ABE target pairs points; under ASan that is tens of ms).
    TWINFUZZ_TARGET=$target "$binary" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=4096 -print_final_stats=1 \
        -artifact_prefix="$scratch/crashes/$target/" "${inputs[@]}" > "$log" 2>&1 || status=$?
    runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+$' || echo "?")
    coverage=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+' || echo "?")
    if [ $status -ne 0 ]; then
        artifact=$(grep -Eo "Test unit written to [^ ]+" "$log" | tail -1 | sed 's/Test unit written to //')
        failed+=("$target")
        summary+=("$(printf '%-12s FAILED after %s runs: %s' "$target" "$runs" "${artifact:-see $log}")")
        grep -E "$target: |ERROR: |SUMMARY: |Fatal error|deadly signal|timeout" "$log" | head -5 | sed 's/^/    /'
        [ -n "$artifact" ] && echo "    replay: TWINFUZZ_TARGET=$target SWIFT_BACKTRACE=enable=no $binary $artifact"
    else
        summary+=("$(printf '%-12s clean: %s runs in %ss, %s coverage points' "$target" "$runs" "$seconds" "$coverage")")
    fi
done
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: findings in ${failed[*]}: each becomes a regression input in Tests/Fuzz/regressions/TARGET/ once fixed (Docs/fuzzing.md)"
    exit 1
fi
