#!/usr/bin/env bash
# Runs one fuzz target: scripts/fuzz.sh TARGET [SECONDS]   (targets: onnx recipe npy idx image_folder project)
# Builds build/fuzz with clang + libFuzzer + ASan/UBSan (LATHE_FUZZ=ON) when needed, then fuzzes TARGET for SECONDS
# (default 60) starting from tests/fuzz/corpus/TARGET and its regressions. New inputs go to a scratch corpus outside
# the tree ($LATHE_FUZZ_WORK, default /tmp/lathe-fuzz/TARGET); a crash input is copied to
# tests/fuzz/regressions/TARGET/, which the normal test suite replays (ctest -R fuzz_replay).
# LATHE_FUZZ_NO_BUILD=1 skips the build when the fuzzer exists already.
set -euo pipefail

TARGETS=(onnx recipe npy idx image_folder project)
target=${1:-}
seconds=${2:-60}
if [[ -z $target || ! " ${TARGETS[*]} " =~ " $target " ]]; then
    echo "usage: scripts/fuzz.sh TARGET [SECONDS]; TARGET is one of: ${TARGETS[*]}" >&2
    exit 2
fi

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${LATHE_FUZZ_BUILD:-$ROOT/build/fuzz}
WORK=${LATHE_FUZZ_WORK:-/tmp/lathe-fuzz/$target}

# clang, libFuzzer/sanitizer runtimes; the rest of the build needs what scripts/setup.sh installs.
packages=(clang-14 libclang-rt-14-dev)
missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    echo "fuzz: installing ${missing[*]}"
    sudo=()
    [[ $(id -u) -ne 0 ]] && sudo=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [[ ! -f $BUILD/CMakeCache.txt ]]; then
    CC=clang-14 CXX=clang++-14 cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLATHE_FUZZ=ON
fi
# LATHE_FUZZ_NO_BUILD=1 fuzzes the binary built before (e.g. while the tree is being edited).
if [[ ${LATHE_FUZZ_NO_BUILD:-0} != 1 || ! -x $BUILD/tests/fuzz/fuzz_$target ]]; then
    cmake --build "$BUILD" -j2 --target "fuzz_$target"
fi

# Inputs larger than this only slow the search down.
case $target in
    onnx) max_len=16384 ;;
    image_folder) max_len=8192 ;;
    *) max_len=4096 ;;
esac

# OpenCV decodes images up to 2^30 pixels (3 GB in colour), beyond what ASan lets one allocation take; a smaller
# limit turns such files into the decode error they become at OpenCV's own limit (the replay test sets the same).
if [[ $target == image_folder ]]; then
    export OPENCV_IO_MAX_IMAGE_PIXELS=${OPENCV_IO_MAX_IMAGE_PIXELS:-67108864}
fi

corpus=$ROOT/tests/fuzz/corpus/$target
regressions=$ROOT/tests/fuzz/regressions/$target
artifacts=$WORK/artifacts
# Artifacts of earlier runs were kept already; count only this run's.
rm -rf "$artifacts"
mkdir -p "$WORK/corpus" "$artifacts" "$regressions"
rm -f "$artifacts"/*  # findings of an earlier run are in $regressions already; count only this run's
log=$WORK/fuzz.log
echo "fuzz: $target for ${seconds}s (max_len $max_len), new inputs in $WORK/corpus, log $log"
(cd "$WORK" && "$BUILD/tests/fuzz/fuzz_$target" "$WORK/corpus" "$corpus" "$regressions" \
    -max_total_time="$seconds" -max_len="$max_len" -timeout=20 -rss_limit_mb=2560 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" >"$log" 2>&1) || true
grep -E "ERROR|SUMMARY|^Done|INITED" "$log" || true

found=0
for crash in "$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-* "$artifacts"/oom-*; do
    [[ -e $crash ]] || continue
    cp "$crash" "$regressions/"
    echo "fuzz: kept $(basename "$crash") in tests/fuzz/regressions/$target/"
    found=$((found + 1))
done
execs=$(grep -E "stat::number_of_executed_units" "$log" | awk '{print $2}' | tail -1)
time=$(grep -E "^Done [0-9]+ runs in [0-9]+ second" "$log" | awk '{print $5}' | tail -1)
echo "fuzz: $target: ${execs:-?} executions in ${time:-$seconds} s, $found finding(s)"
((found == 0))
