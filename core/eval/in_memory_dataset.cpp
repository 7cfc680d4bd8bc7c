#include "core/eval/in_memory_dataset.h"

#include <algorithm>

namespace lathe {

Result<std::shared_ptr<const InMemoryDataset>> InMemoryDataset::make(SampleShape shape, Pixels pixels,
                                                                     std::vector<int> labels, std::string labelsFile,
                                                                     const Preprocessing& preprocessing) {
    for (size_t i = 0; i < labels.size(); ++i)
        if (labels[i] < 0)
            return makeError(ErrorCode::InvalidArgument, labelsFile + ": label " + std::to_string(labels[i]) +
                                                             " at index " + std::to_string(i) +
                                                             " is negative (class labels are 0, 1, 2, …)");
    bool eightBit = std::holds_alternative<std::vector<uint8_t>>(pixels);
    auto normalizer = ChannelNormalizer::make(preprocessing, int(shape.channels), eightBit);
    if (!normalizer) return normalizer.error();
    return std::shared_ptr<const InMemoryDataset>(new InMemoryDataset(shape, std::move(pixels), std::move(labels),
                                                                      std::move(labelsFile), std::move(*normalizer)));
}

InMemoryDataset::InMemoryDataset(SampleShape shape, Pixels pixels, std::vector<int> labels, std::string labelsFile,
                                 ChannelNormalizer normalizer)
    : m_shape(shape),
      m_pixels(std::move(pixels)),
      m_labels(std::move(labels)),
      m_labelsFile(std::move(labelsFile)),
      m_normalizer(std::move(normalizer)) {
    m_numClasses = m_labels.empty() ? 0 : *std::max_element(m_labels.begin(), m_labels.end()) + 1;
    if (std::holds_alternative<std::vector<uint8_t>>(m_pixels))
        for (int c = 0; c < int(m_shape.channels); ++c)
            for (int v = 0; v < 256; ++v) m_lut.push_back(m_normalizer.apply(float(v), c));
}

Result<NDArray> InMemoryDataset::batch(std::span<const int64_t> indices) const {
    const int64_t plane = m_shape.height * m_shape.width;
    const int64_t sample = m_shape.channels * plane;
    NDArray out({int64_t(indices.size()), m_shape.channels, m_shape.height, m_shape.width});
    for (size_t b = 0; b < indices.size(); ++b) {
        int64_t index = indices[b];
        if (index < 0 || index >= size())
            return makeError(ErrorCode::InvalidArgument, m_labelsFile + ": sample index " + std::to_string(index) +
                                                             " is outside 0.." + std::to_string(size() - 1));
        float* dst = out.data.data() + int64_t(b) * sample;
        int64_t offset = index * sample;
        if (const auto* bytes = std::get_if<std::vector<uint8_t>>(&m_pixels)) {
            for (int64_t c = 0; c < m_shape.channels; ++c) {
                const float* lut = m_lut.data() + c * 256;
                const uint8_t* src = bytes->data() + offset + c * plane;
                for (int64_t i = 0; i < plane; ++i) dst[c * plane + i] = lut[src[i]];
            }
        } else {
            const float* src = std::get<std::vector<float>>(m_pixels).data() + offset;
            for (int64_t c = 0; c < m_shape.channels; ++c)
                for (int64_t i = 0; i < plane; ++i) dst[c * plane + i] = m_normalizer.apply(src[c * plane + i], int(c));
        }
    }
    return out;
}

std::string InMemoryDataset::describeSample(int64_t index) const {
    return m_labelsFile + "[" + std::to_string(index) + "]";
}

}  // namespace lathe
