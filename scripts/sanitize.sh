#!/usr/bin/env bash
# make test-sanitize: the whole suite and the self-check under one sanitizer, in its own build folder
# (.build-asan, .build-tsan). The real-process tests start the sanitized binary (TWINLEDGER_BIN); every process,
# the test runner included, writes its sanitizer reports to $scratch/reports/report.<pid> (log_path), and the script
# fails if any was written or the suite failed.
#   scripts/sanitize.sh address|thread
set -euo pipefail
cd "$(dirname "$0")/.."
sanitizer=${1:?usage: scripts/sanitize.sh address|thread}
case "$sanitizer" in
    address) scratch=.build-asan ;;
    thread) scratch=.build-tsan ;;
    *) echo "sanitize: unknown sanitizer $sanitizer" >&2; exit 2 ;;
esac
echo "sanitize: building with the $sanitizer sanitizer ($scratch)"
swift build --build-tests --sanitize="$sanitizer" --scratch-path "$scratch"
reports="$PWD/$scratch/reports"
rm -rf "$reports"
mkdir -p "$reports"
export ASAN_OPTIONS="detect_leaks=1 log_path=$reports/report"
export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp print_suppressions=0"
export TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 suppressions=$PWD/scripts/tsan.supp print_suppressions=0 log_path=$reports/report"
# Tests that read glibc's heap statistics skip that check: the sanitizer's malloc leaves them empty.
export TWINLEDGER_SANITIZER="$sanitizer"
log="$scratch/sanitize-$sanitizer.log"
status=0
"$scratch/debug/twinledger" selfcheck > "$log" 2>&1 || status=$?
TWINLEDGER_BIN="$PWD/$scratch/debug/twinledger" \
    swift test --skip-build --sanitize="$sanitizer" --scratch-path "$scratch" >> "$log" 2>&1 || status=$?
# A report file that only lists the suppressions it used is not a finding (print_suppressions=0 should prevent it).
count=$( (grep -l -E "ERROR: |WARNING: ThreadSanitizer" -r "$reports" 2>/dev/null || true) | wc -l)
grep -E "Test run with" "$log" | tail -1 || true
echo "sanitize: $sanitizer: $count process(es) reported (in $reports), suite status $status; output in $log"
[ "$status" -eq 0 ] && [ "$count" -eq 0 ]
