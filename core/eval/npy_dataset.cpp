#include "core/eval/npy_dataset.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <variant>
#include <cstdint>
#include <cstring>

#include "core/eval/in_memory_dataset.h"
#include "core/eval/npy_reader.h"

namespace lathe {

namespace {
constexpr int64_t kMaxLabel = 999'999;
constexpr int64_t kMaxChannels = 4096;

template <class T>
Result<std::vector<int>> toLabels(const std::vector<uint8_t>& bytes, int64_t n, const std::string& path) {
    std::vector<int> labels(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        T v;
        std::memcpy(&v, bytes.data() + i * int64_t(sizeof(T)), sizeof(T));
        if (int64_t(v) < 0 || int64_t(v) > kMaxLabel)
            return makeError(ErrorCode::InvalidArgument,
                             path + ": label " + std::to_string(int64_t(v)) + " at index " + std::to_string(i) +
                                 (int64_t(v) < 0 ? " is negative" : " is too large") + " (class labels are 0.." +
                                 std::to_string(kMaxLabel) + ")");
        labels[size_t(i)] = int(v);
    }
    return labels;
}

ValueRange rangeOf(const InMemoryDataset::Pixels& pixels) {
    ValueRange r{std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
    std::visit(
        [&](const auto& values) {
            for (auto v : values) {
                if (!std::isfinite(double(v))) continue;
                r.min = std::min(r.min, double(v));
                r.max = std::max(r.max, double(v));
            }
        },
        pixels);
    if (r.min > r.max) r = ValueRange{};
    return r;
}

// The in-memory set plus the raw value range of its images.
class NpyDataset : public Dataset {
public:
    NpyDataset(std::shared_ptr<const InMemoryDataset> data, ValueRange range)
        : m_data(std::move(data)), m_range(range) {}

    int64_t size() const override { return m_data->size(); }
    int numClasses() const override { return m_data->numClasses(); }
    SampleShape sampleShape() const override { return m_data->sampleShape(); }
    int label(int64_t index) const override { return m_data->label(index); }
    Result<NDArray> batch(std::span<const int64_t> indices) const override { return m_data->batch(indices); }
    std::string describeSample(int64_t index) const override { return m_data->describeSample(index); }
    std::optional<ValueRange> valueRange() const override { return m_range; }

private:
    std::shared_ptr<const InMemoryDataset> m_data;
    ValueRange m_range;
};
}  // namespace

Result<std::shared_ptr<const Dataset>> openNpyDataset(const std::string& imagesPath, const std::string& labelsPath,
                                                      const Preprocessing& preprocessing) {
    auto images = readNpy(imagesPath);
    if (!images) return images.error();
    auto labels = readNpy(labelsPath);
    if (!labels) return labels.error();

    const auto& s = images->shape;
    if (s.size() != 3 && s.size() != 4)
        return makeError(ErrorCode::InvalidArgument,
                         imagesPath + ": shape " + shapeToString(s) + " is not (N,H,W) or (N,C,H,W)");
    SampleShape shape = s.size() == 3 ? SampleShape{1, s[1], s[2]} : SampleShape{s[1], s[2], s[3]};
    if (s[0] < 1 || shape.channels < 1 || shape.height < 1 || shape.width < 1)
        return makeError(ErrorCode::InvalidArgument,
                         imagesPath + ": shape " + shapeToString(s) + " holds no images (every dimension must be >= 1)");
    if (shape.channels > kMaxChannels)
        return makeError(ErrorCode::InvalidArgument, imagesPath + ": shape " + shapeToString(s) + " has " +
                                                         std::to_string(shape.channels) + " channels (at most " +
                                                         std::to_string(kMaxChannels) + "); is it (N,H,W,C)?");
    InMemoryDataset::Pixels pixels;
    if (images->dtype == DType::UInt8) {
        pixels = std::move(images->bytes);
    } else if (images->dtype == DType::Float) {
        std::vector<float> values(size_t(images->numel()));
        std::memcpy(values.data(), images->bytes.data(), images->bytes.size());
        pixels = std::move(values);
    } else {
        return makeError(ErrorCode::Unsupported, imagesPath + ": image dtype " + std::string(dtypeName(images->dtype)) +
                                                     " is not supported (uint8 or float32)");
    }

    const auto& ls = labels->shape;
    if (!(ls.size() == 1 || (ls.size() == 2 && ls[1] == 1)))
        return makeError(ErrorCode::InvalidArgument,
                         labelsPath + ": shape " + shapeToString(ls) + " is not (N) or (N,1)");
    int64_t n = ls[0];
    if (n != s[0])
        return makeError(ErrorCode::InvalidArgument, labelsPath + " has " + std::to_string(n) + " labels but " +
                                                         imagesPath + " has " + std::to_string(s[0]) + " images");
    Result<std::vector<int>> labelValues = std::vector<int>{};
    switch (labels->dtype) {
        case DType::Int64:
            labelValues = toLabels<int64_t>(labels->bytes, n, labelsPath);
            break;
        case DType::Int32:
            labelValues = toLabels<int32_t>(labels->bytes, n, labelsPath);
            break;
        case DType::UInt8:
            labelValues = toLabels<uint8_t>(labels->bytes, n, labelsPath);
            break;
        default:
            return makeError(ErrorCode::Unsupported, labelsPath + ": label dtype " +
                                                         std::string(dtypeName(labels->dtype)) +
                                                         " is not supported (int64, int32 or uint8)");
    }
    if (!labelValues) return labelValues.error();
    const ValueRange range = rangeOf(pixels);
    auto dataset = InMemoryDataset::make(shape, std::move(pixels), std::move(*labelValues), labelsPath, preprocessing);
    if (!dataset) return dataset.error();
    return std::shared_ptr<const Dataset>(std::make_shared<NpyDataset>(std::move(*dataset), range));
}

}  // namespace lathe
