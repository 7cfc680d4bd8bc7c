#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "core/common/result.h"
#include "core/model/graph.h"

// Sliding-window geometry shared by Conv and the pools: kernel size, strides, dilations, pads and auto_pad.
namespace lathe {

enum class AutoPad { NotSet, SameUpper, SameLower, Valid };

// Window attributes of a node with `rank` spatial dimensions, validated (lengths, positive values).
struct WindowAttributes {
    AutoPad autoPad = AutoPad::NotSet;
    bool ceilMode = false;
    std::vector<int64_t> kernel;
    std::vector<int64_t> strides;
    std::vector<int64_t> dilations;
    std::vector<int64_t> pads;  // begin values for every dimension, then end values
};

// Reads kernel_shape (or `kernel` when the attribute is absent), strides, dilations, pads, auto_pad, ceil_mode.
Result<WindowAttributes> readWindowAttributes(const Node& node, size_t rank, std::vector<int64_t> kernel);

// A window resolved for concrete input sizes, padded to three spatial dimensions with leading size-1 dimensions.
struct WindowGeometry {
    std::array<int64_t, 3> in{1, 1, 1};
    std::array<int64_t, 3> out{1, 1, 1};
    std::array<int64_t, 3> kernel{1, 1, 1};
    std::array<int64_t, 3> stride{1, 1, 1};
    std::array<int64_t, 3> dilation{1, 1, 1};
    std::array<int64_t, 3> padBegin{0, 0, 0};
    std::array<int64_t, 3> padEnd{0, 0, 0};

    int64_t inSize() const { return in[0] * in[1] * in[2]; }
    int64_t outSize() const { return out[0] * out[1] * out[2]; }
    int64_t kernelSize() const { return kernel[0] * kernel[1] * kernel[2]; }
    // Output spatial shape in the original rank.
    std::vector<int64_t> outShape(size_t rank) const { return std::vector<int64_t>(out.end() - long(rank), out.end()); }
};

// Output sizes and effective pads for `inSpatial`; fails when the window does not fit the input.
Result<WindowGeometry> resolveWindow(const WindowAttributes& attributes, std::span<const int64_t> inSpatial);

// Taps k in [first, last) of a window starting at `start` with `dilation` that land inside [0, size).
inline std::pair<int64_t, int64_t> validTaps(int64_t start, int64_t dilation, int64_t taps, int64_t size) {
    const int64_t first = start >= 0 ? 0 : std::min(taps, (-start + dilation - 1) / dilation);
    const int64_t last = start >= size ? 0 : std::min(taps, (size - 1 - start) / dilation + 1);
    return {first, std::max(first, last)};
}

}  // namespace lathe
