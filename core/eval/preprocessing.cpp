#include "core/eval/preprocessing.h"

#include <string>

namespace lathe {

namespace {
Result<std::vector<float>> perChannel(const std::vector<float>& values, int channels, float fallback,
                                      const char* field) {
    if (values.empty()) return std::vector<float>(size_t(channels), fallback);
    if (values.size() == 1) return std::vector<float>(size_t(channels), values[0]);
    if (int(values.size()) == channels) return values;
    return makeError(ErrorCode::InvalidArgument, "preprocessing: " + std::to_string(values.size()) + " " + field +
                                                     " values for " + std::to_string(channels) +
                                                     "-channel samples (give 1 or " + std::to_string(channels) + ")");
}
}  // namespace

Status validatePreprocessing(const Preprocessing& p) {
    if (p.resize < 0) return makeError(ErrorCode::InvalidArgument, "preprocessing: resize must be >= 0");
    if (p.crop < 0) return makeError(ErrorCode::InvalidArgument, "preprocessing: crop must be >= 0");
    return Ok{};
}

Result<ChannelNormalizer> ChannelNormalizer::make(const Preprocessing& p, int channels, bool eightBitPixels) {
    auto mean = perChannel(p.mean, channels, 0.f, "mean");
    if (!mean) return mean.error();
    auto stddev = perChannel(p.stddev, channels, 1.f, "std");
    if (!stddev) return stddev.error();
    for (int c = 0; c < channels; ++c)
        if ((*stddev)[size_t(c)] == 0.f)
            return makeError(ErrorCode::InvalidArgument,
                             "preprocessing: std of channel " + std::to_string(c) + " is 0");
    ChannelNormalizer n;
    n.m_divide = !p.scale && eightBitPixels;
    n.m_scale = p.scale ? *p.scale : (eightBitPixels ? 255.f : 1.f);
    n.m_mean = std::move(*mean);
    n.m_stddev = std::move(*stddev);
    return n;
}

}  // namespace lathe
