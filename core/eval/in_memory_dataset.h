#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "core/eval/dataset.h"

namespace lathe {

// Samples held in memory as raw NCHW pixels (8-bit or float) plus int labels: what IDX and .npy files load into.
class InMemoryDataset : public Dataset {
public:
    using Pixels = std::variant<std::vector<uint8_t>, std::vector<float>>;

    // `pixels` holds labels.size() samples of `shape`; `labelsFile` names the samples in messages. Fails when a
    // label is negative or the preprocessing does not fit the channel count.
    static Result<std::shared_ptr<const InMemoryDataset>> make(SampleShape shape, Pixels pixels,
                                                               std::vector<int> labels, std::string labelsFile,
                                                               const Preprocessing& preprocessing);

    int64_t size() const override { return int64_t(m_labels.size()); }
    int numClasses() const override { return m_numClasses; }
    SampleShape sampleShape() const override { return m_shape; }
    int label(int64_t index) const override { return m_labels[size_t(index)]; }
    Result<NDArray> batch(std::span<const int64_t> indices) const override;
    std::string describeSample(int64_t index) const override;

private:
    InMemoryDataset(SampleShape shape, Pixels pixels, std::vector<int> labels, std::string labelsFile,
                    ChannelNormalizer normalizer);

    SampleShape m_shape;
    Pixels m_pixels;
    std::vector<int> m_labels;
    std::string m_labelsFile;
    ChannelNormalizer m_normalizer;
    std::vector<float> m_lut;  // 8-bit pixels: 256 normalised values per channel
    int m_numClasses = 0;
};

}  // namespace lathe
