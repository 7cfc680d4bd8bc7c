# Shared set-up for run.sh and test.sh: install missing Debian packages, configure and build (Release).
# Sourced, not executed. Exposes LATHE_ROOT and LATHE_BUILD.

LATHE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LATHE_BUILD=${LATHE_BUILD:-$LATHE_ROOT/build/release}

LATHE_PACKAGES=(
    build-essential cmake pkg-config
    qt6-base-dev qt6-base-dev-tools qt6-svg-dev libgl-dev libqcustomplot-dev
    libonnx-dev libprotobuf-dev protobuf-compiler
    libeigen3-dev libopencv-dev libgraphviz-dev graphviz nlohmann-json3-dev zlib1g-dev
    dataset-fashion-mnist libonnx-testdata
    xvfb xauth fonts-dejavu-core
)

lathe_install_packages() {
    local missing=()
    for pkg in "${LATHE_PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$pkg")
        fi
    done
    if ((${#missing[@]} == 0)); then
        return 0
    fi
    echo "lathe: installing ${#missing[@]} missing Debian packages: ${missing[*]}"
    local sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        sudo=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}

lathe_build() {
    cmake -S "$LATHE_ROOT" -B "$LATHE_BUILD" -DCMAKE_BUILD_TYPE=Release
    cmake --build "$LATHE_BUILD" -j "$(nproc)"
}

lathe_setup() {
    lathe_install_packages
    lathe_build
}
