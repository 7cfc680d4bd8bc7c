#include "core/runtime/kernels/window.h"

#include <algorithm>

#include "core/runtime/kernels/kernel_util.h"

namespace lathe {

Result<WindowAttributes> readWindowAttributes(const Node& node, size_t rank, std::vector<int64_t> kernel) {
    WindowAttributes a;
    const std::string autoPad = node.attrString("auto_pad", "NOTSET");
    if (autoPad == "SAME_UPPER")
        a.autoPad = AutoPad::SameUpper;
    else if (autoPad == "SAME_LOWER")
        a.autoPad = AutoPad::SameLower;
    else if (autoPad == "VALID")
        a.autoPad = AutoPad::Valid;
    else if (autoPad != "NOTSET" && !autoPad.empty())
        return unsupportedAttribute("auto_pad '" + autoPad + "' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
    a.ceilMode = node.attrInt("ceil_mode", 0) != 0;
    a.kernel = node.attrInts("kernel_shape", std::move(kernel));
    a.strides = node.attrInts("strides", std::vector<int64_t>(rank, 1));
    a.dilations = node.attrInts("dilations", std::vector<int64_t>(rank, 1));
    a.pads = node.attrInts("pads", std::vector<int64_t>(2 * rank, 0));
    if (rank < 1 || rank > 3)
        return unsupportedAttribute(std::to_string(rank) + " spatial dimensions; only 1-D, 2-D and 3-D windows run");
    if (a.kernel.size() != rank || a.strides.size() != rank || a.dilations.size() != rank || a.pads.size() != 2 * rank)
        return invalidInput("kernel_shape, strides, dilations and pads must have " + std::to_string(rank) + ", " +
                            std::to_string(rank) + ", " + std::to_string(rank) + " and " + std::to_string(2 * rank) +
                            " values for this input");
    for (size_t i = 0; i < rank; ++i)
        if (a.kernel[i] < 1 || a.strides[i] < 1 || a.dilations[i] < 1 || a.pads[i] < 0 || a.pads[rank + i] < 0)
            return invalidInput("kernel_shape, strides and dilations must be positive and pads non-negative");
    return a;
}

Result<WindowGeometry> resolveWindow(const WindowAttributes& a, std::span<const int64_t> inSpatial) {
    const size_t rank = a.kernel.size();
    if (inSpatial.size() != rank)
        return invalidInput("the input has " + std::to_string(inSpatial.size()) +
                            " spatial dimensions but the window " + std::to_string(rank));
    WindowGeometry g;
    const size_t offset = 3 - rank;
    for (size_t i = 0; i < rank; ++i) {
        const size_t d = offset + i;
        const int64_t in = inSpatial[i], stride = a.strides[i];
        const int64_t extent = (a.kernel[i] - 1) * a.dilations[i] + 1;
        g.in[d] = in;
        g.kernel[d] = a.kernel[i];
        g.stride[d] = stride;
        g.dilation[d] = a.dilations[i];
        int64_t out = 0;
        if (a.autoPad == AutoPad::SameUpper || a.autoPad == AutoPad::SameLower) {
            out = (in + stride - 1) / stride;
            const int64_t total = std::max<int64_t>(0, (out - 1) * stride + extent - in);
            const int64_t small = total / 2;
            g.padBegin[d] = a.autoPad == AutoPad::SameUpper ? small : total - small;
            g.padEnd[d] = total - g.padBegin[d];
        } else {
            if (a.autoPad == AutoPad::NotSet) {
                g.padBegin[d] = a.pads[i];
                g.padEnd[d] = a.pads[rank + i];
            }
            const int64_t span = in + g.padBegin[d] + g.padEnd[d] - extent;
            if (span < 0)
                return invalidInput(
                    "the window (extent " + std::to_string(extent) + ") is larger than the padded input (" +
                    std::to_string(in + g.padBegin[d] + g.padEnd[d]) + ") in spatial dimension " + std::to_string(i));
            out = (a.ceilMode ? (span + stride - 1) / stride : span / stride) + 1;
            if (a.ceilMode && (out - 1) * stride >= in + g.padBegin[d]) --out;
        }
        g.out[d] = out;
    }
    return g;
}

}  // namespace lathe
