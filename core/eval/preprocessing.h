#pragma once

#include <optional>
#include <vector>

#include "core/common/result.h"

namespace lathe {

// How raw pixels become the model's input tensor. Every sample: value = (raw * scale - mean[c]) / stddev[c].
// resize, crop, bgr and gray only apply to image folders (decoded with OpenCV); IDX and .npy samples keep their size.
struct Preprocessing {
    int resize = 0;  // scale the shorter image side to this many pixels (aspect kept); 0 keeps the decoded size
    int crop = 0;    // centre crop to crop x crop after resizing; 0 = no crop
    std::optional<float> scale;  // multiplier on raw values; unset = 1/255 for 8-bit pixels, 1 for float data
    std::vector<float> mean;     // empty (0), one value for every channel, or one per tensor channel
    std::vector<float> stddev;   // empty (1), one value for every channel, or one per tensor channel
    bool bgr = false;            // tensor channels in B,G,R order (default R,G,B)
    bool gray = false;           // decode as one grayscale channel

    bool hasImageOptions() const { return resize || crop || bgr || gray; }
};

// The per-channel map raw -> (raw * scale - mean[c]) / stddev[c], resolved for a channel count. The default 8-bit
// scale divides by 255 (bit-identical to the usual `pixel / 255.0f` of training scripts).
class ChannelNormalizer {
public:
    // Fails naming the field when mean/stddev have neither 0, 1 nor `channels` values, or a stddev is 0.
    static Result<ChannelNormalizer> make(const Preprocessing& preprocessing, int channels, bool eightBitPixels);

    float apply(float raw, int channel) const {
        float x = m_divide ? raw / m_scale : raw * m_scale;
        return (x - m_mean[size_t(channel)]) / m_stddev[size_t(channel)];
    }

private:
    bool m_divide = false;
    float m_scale = 1.f;
    std::vector<float> m_mean;
    std::vector<float> m_stddev;
};

// Non-negative resize/crop; the checks that need no channel count.
Status validatePreprocessing(const Preprocessing& preprocessing);

}  // namespace lathe
