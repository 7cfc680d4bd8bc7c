#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>

#include "core/compress/apply_recipe.h"

namespace lathe {

// Storage as Deep Compression (Han et al., ICLR 2016) counts it: each compressible weight in compressed sparse form,
// one entry per non-zero weight holding its code (k-means index or uniform code bits; 32 for float) plus a relative
// position index (8 bits for Conv, 5 for the others, as in the paper), with a filler entry wherever a gap between
// non-zeros does not fit the index; dense weights store codes only. Codebooks count 32 bits per centroid, uniform
// scales 32 bits (+8 per zero point), biases and every other initializer at their size in the file.
struct DeepCompressionSize {
    int64_t bits = 0;
    int64_t originalBits = 0;  // every initializer of the source model at 32 bits
    int64_t entries = 0;       // stored sparse entries, fillers included
    int64_t fillers = 0;
    double ratio() const { return bits > 0 ? double(originalBits) / double(bits) : 0.0; }
    int64_t bytes() const { return (bits + 7) / 8; }
};

DeepCompressionSize deepCompressionSize(const CompressedModel& model);
// {"bytes", "original_bytes", "ratio", "entries", "fillers"}.
nlohmann::json deepCompressionSizeToJson(const DeepCompressionSize& size);

}  // namespace lathe
