#!/usr/bin/env bash
# Installs what is missing, builds, and opens the Lathe workbench on the bundled demo model.
# Extra arguments go to `lathe` (e.g. another model path, or --screenshot FILE.png).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
lathe_setup

args=("$@")
if ((${#args[@]} == 0)) || [[ ${args[0]} == -* ]]; then
    args=("$LATHE_ROOT/resources/models/lenet5_fashion.onnx" "${args[@]}")
fi
if [[ -z ${DISPLAY:-} && -z ${WAYLAND_DISPLAY:-} ]]; then
    if [[ " ${args[*]} " == *" --screenshot "* ]]; then
        exec xvfb-run -a -s "-screen 0 1920x1080x24" "$LATHE_BUILD/app/gui/lathe" "${args[@]}"
    fi
    echo "lathe: no display (DISPLAY/WAYLAND_DISPLAY unset). Run from a desktop session, or add" >&2
    echo "       --screenshot FILE.png to render the window to an image under Xvfb." >&2
    exit 1
fi
exec "$LATHE_BUILD/app/gui/lathe" "${args[@]}"
