#include "core/export/deep_compression_size.h"

#include <nlohmann/json.hpp>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace lathe {

namespace {

struct SparseCount {
    int64_t entries = 0;
    int64_t fillers = 0;
};

// Entries of the relative-index form: a gap of g zeros before a non-zero needs floor(g / 2^indexBits) fillers.
SparseCount sparseEntries(std::span<const float> values, int indexBits) {
    SparseCount c;
    const int64_t span = int64_t(1) << indexBits;
    int64_t gap = 0;
    for (float v : values) {
        if (v == 0.f) {
            ++gap;
            continue;
        }
        c.fillers += gap / span;
        c.entries += 1 + gap / span;
        gap = 0;
    }
    return c;
}

}  // namespace

DeepCompressionSize deepCompressionSize(const CompressedModel& model) {
    DeepCompressionSize size;
    size.originalBits = 8 * model.originalBytes;
    std::set<std::string> counted;
    for (const LayerReport& layer : model.layers) {
        const int indexBits = layer.opType == "Conv" ? 8 : 5;
        for (const std::string& name : layer.weights) {
            const Tensor* w = model.graph.initializer(name);
            if (!w || !counted.insert(name).second) continue;
            int codeBits = 32;
            int64_t sideBits = 0;
            if (auto c = model.codebooks.find(name); c != model.codebooks.end()) {
                codeBits = c->second.bits;
                sideBits = 32 * int64_t(c->second.codebook.size());
            } else if (auto q = model.quantized.find(name); q != model.quantized.end()) {
                codeBits = q->second.bits;
                sideBits = int64_t(q->second.scales.size()) * (q->second.symmetric ? 32 : 40);
            }
            int64_t zeros = 0;
            for (float v : w->data) zeros += v == 0.f;
            if (zeros == 0) {
                size.bits += w->numel() * codeBits + sideBits;
                size.entries += w->numel();
                continue;
            }
            const SparseCount sparse = sparseEntries(w->data, indexBits);
            size.entries += sparse.entries;
            size.fillers += sparse.fillers;
            size.bits += sparse.entries * (codeBits + indexBits) + sideBits;
        }
    }
    for (const auto& [name, t] : model.graph.initializers)
        if (!counted.count(name)) size.bits += 8 * t.byteSize();
    return size;
}

nlohmann::json deepCompressionSizeToJson(const DeepCompressionSize& size) {
    return {{"bytes", size.bytes()},
            {"original_bytes", (size.originalBits + 7) / 8},
            {"ratio", size.ratio()},
            {"entries", size.entries},
            {"fillers", size.fillers}};
}

}  // namespace lathe
