// Depthwise convolution (one input channel per group) over at most two spatial dimensions, with the Conv's bias and
// fused epilogue applied as each output is stored.
#pragma once

#include <cstdint>
#include <functional>

#include "core/runtime/kernel.h"
#include "core/runtime/kernels/window.h"

namespace lathe {

// x: batch x channels x in; y: batch x filters x out, where filter f reads channel f / (filters / channels).
struct DepthwiseShape {
    int64_t batch = 0, channels = 0, filters = 0;
    WindowGeometry window;  // window.in[0] == window.out[0] == 1
};

// y = depthwise(x) with taps w (filters x kernel), then bias (may be null) and `epilogue` (may be null). `afterPlane`,
// when given, is called on the computing thread with each output plane's index (image * filters + filter) and values
// right after they are stored, while they are in cache.
using DepthwisePlaneHook = std::function<void(int64_t plane, float* values)>;
void convDepthwise(const DepthwiseShape& s, const float* x, const float* w, const float* bias, const Epilogue* epilogue,
                   float* y, Workspace& ws, const DepthwisePlaneHook& afterPlane = {});

}  // namespace lathe
