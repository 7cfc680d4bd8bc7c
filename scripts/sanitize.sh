#!/usr/bin/env bash
# The whole suite under AddressSanitizer + UndefinedBehaviorSanitizer (the `asan` preset: -O1, line tables only, so
# the build stays affordable on two cores). Any sanitizer report fails the test that triggered it.
# Usage: scripts/sanitize.sh [ctest arguments, e.g. -R test_recipe]
set -euo pipefail
LATHE_BUILD="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build/asan"
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
lathe_install_packages
lathe_install_ort
cd "$LATHE_ROOT"
start=$(date +%s)
cmake --preset asan >/dev/null
cmake --build --preset asan
built=$(date +%s)
export QT_QPA_PLATFORM=offscreen
# Leaks are reported by the suppressions-free LeakSanitizer except for the libraries' own start-up allocations.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=0"
export LSAN_OPTIONS="suppressions=$LATHE_ROOT/scripts/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
status=0
(cd build/asan && ctest --output-on-failure -j 2 "$@") || status=$?
done=$(date +%s)
echo "sanitize: build $((built - start)) s, tests $((done - built)) s"
exit $status
