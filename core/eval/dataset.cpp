#include "core/eval/dataset.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <random>
#include <sstream>

#include <opencv2/core/utils/logger.hpp>

#include "core/eval/idx_dataset.h"
#include "core/eval/image_folder_dataset.h"
#include "core/eval/npy_dataset.h"

namespace lathe {

namespace {
constexpr const char* kSpecForms = "idx:DIR, folder:DIR or npy:IMAGES.npy,LABELS.npy";

// Unbiased integer in [0, bound) from the raw generator (no implementation-defined distribution).
uint64_t boundedRandom(std::mt19937_64& rng, uint64_t bound) {
    const uint64_t threshold = (0 - bound) % bound;
    for (;;) {
        uint64_t r = rng();
        if (r >= threshold) return r % bound;
    }
}

class SubsetDataset : public Dataset {
public:
    SubsetDataset(std::shared_ptr<const Dataset> parent, std::vector<int64_t> indices)
        : m_parent(std::move(parent)), m_indices(std::move(indices)) {}

    int64_t size() const override { return int64_t(m_indices.size()); }
    int numClasses() const override { return m_parent->numClasses(); }
    SampleShape sampleShape() const override { return m_parent->sampleShape(); }
    int label(int64_t index) const override { return m_parent->label(m_indices[size_t(index)]); }
    std::string describeSample(int64_t index) const override {
        return m_parent->describeSample(m_indices[size_t(index)]);
    }
    std::vector<std::string> classNames() const override { return m_parent->classNames(); }

    Result<NDArray> batch(std::span<const int64_t> indices) const override {
        std::vector<int64_t> mapped;
        mapped.reserve(indices.size());
        for (int64_t i : indices) {
            if (i < 0 || i >= size())
                return makeError(ErrorCode::InvalidArgument, "subset: sample index " + std::to_string(i) +
                                                                 " is outside 0.." + std::to_string(size() - 1));
            mapped.push_back(m_indices[size_t(i)]);
        }
        return m_parent->batch(mapped);
    }

    SubsetOf view() const { return {m_parent, &m_indices}; }

private:
    std::shared_ptr<const Dataset> m_parent;
    std::vector<int64_t> m_indices;
};
}  // namespace

std::string SampleShape::toString() const {
    return std::to_string(channels) + "x" + std::to_string(height) + "x" + std::to_string(width);
}

Result<DatasetSpec> parseDatasetSpec(std::string_view spec) {
    size_t colon = spec.find(':');
    std::string kind(spec.substr(0, colon == std::string_view::npos ? 0 : colon));
    std::string rest(colon == std::string_view::npos ? std::string_view{} : spec.substr(colon + 1));
    auto invalid = [&](const std::string& why) {
        return makeError(ErrorCode::InvalidArgument,
                         "data set '" + std::string(spec) + "': " + why + " (expected " + kSpecForms + ")");
    };
    if (kind.empty()) return invalid("no kind given");
    if (rest.empty()) return invalid("no path given");
    DatasetSpec out;
    if (kind == "idx" || kind == "folder") {
        out.kind = kind == "idx" ? DatasetKind::Idx : DatasetKind::Folder;
        out.path = rest;
    } else if (kind == "npy") {
        size_t comma = rest.find(',');
        if (comma == std::string::npos || comma == 0 || comma + 1 == rest.size())
            return invalid("npy needs the images and the labels file separated by a comma");
        out.kind = DatasetKind::Npy;
        out.path = rest.substr(0, comma);
        out.labelsPath = rest.substr(comma + 1);
    } else {
        return invalid("unknown kind '" + kind + "'");
    }
    return out;
}

Status validateDatasetOptions(const DatasetSpec& spec, const DatasetOptions& options) {
    if (options.split && spec.kind != DatasetKind::Idx)
        return makeError(ErrorCode::InvalidArgument, "a train/test split applies to idx: data sets only");
    if (options.preprocessing.hasImageOptions() && spec.kind != DatasetKind::Folder)
        return makeError(ErrorCode::InvalidArgument,
                         "resize, crop, bgr and gray apply to folder: data sets only (IDX and .npy samples are used "
                         "at their stored size and channel count)");
    return validatePreprocessing(options.preprocessing);
}

std::vector<InputPath> datasetInputPaths(const DatasetSpec& spec) {
    switch (spec.kind) {
        case DatasetKind::Idx: {
            std::vector<InputPath> files;
            for (const char* split : {"t10k", "train"})
                for (const char* kind : {"-images-idx3-ubyte", "-labels-idx1-ubyte"})
                    for (const char* suffix : {"", ".gz"})
                        files.push_back({(std::filesystem::path(spec.path) / (std::string(split) + kind + suffix)).string(),
                                         "a file of the data set (--data idx:" + spec.path + ")", false});
            return files;
        }
        case DatasetKind::Folder:
            return {{spec.path, "the image folder of the data set (--data folder:" + spec.path + ")", true}};
        case DatasetKind::Npy:
            return {{spec.path, "the images file of the data set (--data)", false},
                    {spec.labelsPath, "the labels file of the data set (--data)", false}};
    }
    return {};
}

std::vector<std::string> scaleWarnings(const Dataset& dataset, const Preprocessing& preprocessing) {
    const std::optional<ValueRange> raw = dataset.valueRange();
    if (!raw || preprocessing.scale || raw->max <= 2.0 || dataset.size() == 0) return {};
    // The values the model sees: the first samples, preprocessed.
    std::vector<int64_t> first(size_t(std::min<int64_t>(dataset.size(), 16)));
    std::iota(first.begin(), first.end(), int64_t(0));
    auto batch = dataset.batch(first);
    if (!batch || batch->data.empty()) return {};
    const float seen = *std::max_element(batch->data.begin(), batch->data.end());
    if (seen <= 2.f) return {};  // 8-bit data at the default 1/255
    std::ostringstream text;
    text << "the images hold values " << raw->min << ".." << raw->max << " and are read at scale 1 (float data), so "
         << "the model sees inputs up to " << seen << "; if they are 8-bit pixels and the model was trained on "
         << "pixel/255, set the scale to 1/255 (Data Set panel; lathe-cli --scale 0.00392157)";
    return {text.str()};
}

Result<std::shared_ptr<const Dataset>> openDataset(const DatasetSpec& spec, const DatasetOptions& options) {
    if (auto valid = validateDatasetOptions(spec, options); !valid) return valid.error();
    switch (spec.kind) {
        case DatasetKind::Idx:
            return openIdxDataset(spec.path, options.split.value_or(Split::Test), options.preprocessing);
        case DatasetKind::Folder:
            // OpenCV's decoders log their complaints to stderr; Lathe reports an undecodable image in its own words.
            cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
            // A header claiming a huge image (a 120-byte JPEG 2000 asked for 2.6 GB under fuzzing) is refused by the
            // decoder above 2^26 pixels (8192 x 8192), unless the user set the limit; read by OpenCV on first use.
            setenv("OPENCV_IO_MAX_IMAGE_PIXELS", "67108864", 0);
            return openImageFolderDataset(spec.path, options.preprocessing);
        case DatasetKind::Npy:
            return openNpyDataset(spec.path, spec.labelsPath, options.preprocessing);
    }
    return makeError(ErrorCode::Internal, "unknown data set kind");
}

Result<CalibrationData> openCalibrationData(const DatasetSpec& spec, const DatasetOptions& options,
                                            std::shared_ptr<const Dataset> evaluation) {
    if (spec.kind != DatasetKind::Idx) {
        if (!evaluation) {
            auto opened = openDataset(spec, options);
            if (!opened) return opened.error();
            evaluation = *opened;
        }
        return CalibrationData{std::move(evaluation), "the evaluation data (" + spec.path + ")"};
    }
    DatasetOptions train = options;
    train.split = Split::Train;
    auto opened = openDataset(spec, train);
    if (!opened) return opened.error();
    return CalibrationData{*opened, "idx:" + spec.path + " (train split)"};
}

Result<CalibrationData> openTrainingData(const DatasetSpec& evaluation, const std::string& evaluationText,
                                         const DatasetOptions& options, const std::optional<DatasetSpec>& trainSpec,
                                         const std::string& trainText) {
    const DatasetSpec& spec = trainSpec ? *trainSpec : evaluation;
    DatasetOptions train = options;
    train.split = spec.kind == DatasetKind::Idx ? std::optional(Split::Train) : std::nullopt;
    if (spec.kind != DatasetKind::Folder) {
        train.preprocessing.resize = 0;
        train.preprocessing.crop = 0;
        train.preprocessing.bgr = false;
        train.preprocessing.gray = false;
    }
    auto opened = openDataset(spec, train);
    if (!opened) return opened.error();
    return CalibrationData{*opened, trainSpec ? trainText : evaluationText + " (train split)"};
}

std::vector<int64_t> shuffledIndices(int64_t n, uint64_t seed) {
    std::vector<int64_t> indices(size_t(std::max<int64_t>(n, 0)));
    std::iota(indices.begin(), indices.end(), int64_t(0));
    std::mt19937_64 rng(seed);
    for (int64_t i = n - 1; i > 0; --i) std::swap(indices[size_t(i)], indices[boundedRandom(rng, uint64_t(i) + 1)]);
    return indices;
}

std::shared_ptr<const Dataset> subsetDataset(std::shared_ptr<const Dataset> parent, std::vector<int64_t> indices) {
    return std::make_shared<SubsetDataset>(std::move(parent), std::move(indices));
}

std::optional<SubsetOf> subsetOf(const Dataset& data) {
    if (const auto* subset = dynamic_cast<const SubsetDataset*>(&data)) return subset->view();
    return std::nullopt;
}

std::shared_ptr<const Dataset> calibrationSubset(std::shared_ptr<const Dataset> parent, int64_t n, uint64_t seed) {
    std::vector<int64_t> indices = shuffledIndices(parent->size(), seed);
    indices.resize(size_t(std::clamp<int64_t>(n, 0, parent->size())));
    return subsetDataset(std::move(parent), std::move(indices));
}

}  // namespace lathe
