#include "core/eval/npy_dataset.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "core/eval/in_memory_dataset.h"
#include "core/eval/npy_reader.h"

namespace lathe {

namespace {
template <class T>
std::vector<int> toLabels(const std::vector<uint8_t>& bytes, int64_t n) {
    std::vector<int> labels(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        T v;
        std::memcpy(&v, bytes.data() + i * int64_t(sizeof(T)), sizeof(T));
        labels[size_t(i)] = int(std::clamp<int64_t>(int64_t(v), INT32_MIN, INT32_MAX));
    }
    return labels;
}
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
    std::vector<int> labelValues;
    switch (labels->dtype) {
        case DType::Int64:
            labelValues = toLabels<int64_t>(labels->bytes, n);
            break;
        case DType::Int32:
            labelValues = toLabels<int32_t>(labels->bytes, n);
            break;
        case DType::UInt8:
            labelValues = toLabels<uint8_t>(labels->bytes, n);
            break;
        default:
            return makeError(ErrorCode::Unsupported, labelsPath + ": label dtype " +
                                                         std::string(dtypeName(labels->dtype)) +
                                                         " is not supported (int64, int32 or uint8)");
    }
    auto dataset = InMemoryDataset::make(shape, std::move(pixels), std::move(labelValues), labelsPath, preprocessing);
    if (!dataset) return dataset.error();
    return std::shared_ptr<const Dataset>(std::move(*dataset));
}

}  // namespace lathe
