# Shared set-up for run.sh and test.sh: install missing Debian packages and ONNX Runtime for node (the tests' second
# runtime, from npm into the build tree), configure and build (Release). Sourced, not executed. Exposes LATHE_ROOT and
# LATHE_BUILD.

LATHE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LATHE_BUILD=${LATHE_BUILD:-$LATHE_ROOT/build/release}

# libopenblas0-openmp: Debian's libtorch calls the system libblas.so.3, which without it is the netlib reference
# implementation (training ran 3-10x slower with it). python3-torchvision: tools/export_torchvision.py writes the
# torchvision architectures test_torchvision_models runs against ONNX Runtime (at test time, into the build tree).
LATHE_PACKAGES=(
    build-essential cmake pkg-config
    qt6-base-dev qt6-base-dev-tools qt6-svg-dev libgl-dev libqcustomplot-dev
    libonnx-dev libprotobuf-dev protobuf-compiler
    libeigen3-dev libopencv-dev libgraphviz-dev graphviz nlohmann-json3-dev zlib1g-dev
    libtorch-dev libopenblas0-openmp
    dataset-fashion-mnist libonnx-testdata python3-torchvision
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

LATHE_ORT_VERSION=1.30.0

# onnxruntime-node into $LATHE_BUILD/ort/node_modules (found there by tests/ort/CMakeLists.txt); skipped when that
# version is already there. ONNXRUNTIME_NODE_INSTALL=skip: the CPU library ships in the package; nothing else is
# fetched.
lathe_install_ort() {
    local prefix="$LATHE_BUILD/ort"
    local manifest="$prefix/node_modules/onnxruntime-node/package.json"
    if [[ -f "$manifest" ]] && grep -q "\"version\": \"$LATHE_ORT_VERSION\"" "$manifest"; then
        return 0
    fi
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        echo "lathe: node and npm (Node.js 20) are needed to install onnxruntime-node@$LATHE_ORT_VERSION for the" \
             "tests' second runtime; install Node.js 20 (with npm) and run this script again" >&2
        return 1
    fi
    echo "lathe: installing onnxruntime-node@$LATHE_ORT_VERSION into $prefix (npm)"
    mkdir -p "$prefix"
    if ! ONNXRUNTIME_NODE_INSTALL=skip npm install --no-save --no-audit --no-fund --prefix "$prefix" \
            "onnxruntime-node@$LATHE_ORT_VERSION"; then
        echo "lathe: npm could not install onnxruntime-node@$LATHE_ORT_VERSION into $prefix (see npm's message" \
             "above; the npm registry must be reachable)" >&2
        return 1
    fi
}

lathe_build() {
    cmake -S "$LATHE_ROOT" -B "$LATHE_BUILD" -DCMAKE_BUILD_TYPE=Release
    cmake --build "$LATHE_BUILD" -j "$(nproc)"
}

lathe_setup() {
    lathe_install_packages
    lathe_install_ort || echo "lathe: continuing without onnxruntime-node; the build and the window work, and" \
                              "test_ort_exports will fail until it is installed" >&2
    lathe_build
}
