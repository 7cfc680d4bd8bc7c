#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite through CTest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
lathe_setup
export QT_QPA_PLATFORM=offscreen
cd "$LATHE_BUILD"
ctest --output-on-failure -j 2 "$@"
