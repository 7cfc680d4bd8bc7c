#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/output_path.h"
#include "core/common/result.h"
#include "core/eval/preprocessing.h"
#include "core/runtime/ndarray.h"

namespace lathe {

// Channels, height and width of one preprocessed sample.
struct SampleShape {
    int64_t channels = 0;
    int64_t height = 0;
    int64_t width = 0;

    std::string toString() const;  // "1x28x28"
    bool operator==(const SampleShape&) const = default;
};

// Smallest and largest raw value a data set stores (before preprocessing; NaN and infinities left out).
struct ValueRange {
    double min = 0;
    double max = 0;
};

// A labelled image classification set. Implementations are immutable after opening, so every const member
// (batch() included) may be called from several threads at once.
class Dataset {
public:
    virtual ~Dataset() = default;

    virtual int64_t size() const = 0;
    // Label values lie in [0, numClasses()): max label + 1 (IDX, .npy) or the number of class folders.
    virtual int numClasses() const = 0;
    virtual SampleShape sampleShape() const = 0;
    virtual int label(int64_t index) const = 0;
    // The preprocessed samples at `indices` as float NCHW [indices.size(), C, H, W]; fails naming the file that
    // cannot be decoded or has the wrong size.
    virtual Result<NDArray> batch(std::span<const int64_t> indices) const = 0;
    // Where a sample comes from, for messages: "…/t10k-labels-idx1-ubyte.gz[12]" or an image path.
    virtual std::string describeSample(int64_t index) const = 0;
    // Folder names of an image-folder set (class index = position); empty for other formats.
    virtual std::vector<std::string> classNames() const { return {}; }
    // Range of the raw stored values when known without decoding (.npy sets); callers warn when float data looks
    // like 0..255 pixels read at the default scale 1. nullopt for formats that do not know it (IDX, image folders).
    virtual std::optional<ValueRange> valueRange() const { return std::nullopt; }
};

enum class DatasetKind { Idx, Folder, Npy };
enum class Split { Test, Train };

// A parsed data set SPEC: "idx:DIR", "folder:DIR" or "npy:IMAGES.npy,LABELS.npy".
struct DatasetSpec {
    DatasetKind kind = DatasetKind::Idx;
    std::string path;        // the directory, or the images .npy
    std::string labelsPath;  // npy only
};

// Fails with InvalidArgument naming the SPEC and the accepted forms.
Result<DatasetSpec> parseDatasetSpec(std::string_view spec);

struct DatasetOptions {
    std::optional<Split> split;  // idx only: train-* or t10k-* files (unset = test)
    Preprocessing preprocessing;
};

// Options that do not fit the data set kind (a split for non-IDX data, image options for non-folder data).
Status validateDatasetOptions(const DatasetSpec& spec, const DatasetOptions& options);
// The files (or, for an image folder, the folder) that opening `spec` may read, both IDX splits included: what a
// command must not overwrite.
std::vector<InputPath> datasetInputPaths(const DatasetSpec& spec);

// Warnings about the scale raw values are read at: float data holding 0..255 pixels read at scale 1 (no scale given)
// gives the model inputs up to 255, which a model trained on pixel/255 cannot classify. Names the raw and the scaled
// range and the option that fixes it. Empty when the data set does not know its raw range or the scale fits.
std::vector<std::string> scaleWarnings(const Dataset& dataset, const Preprocessing& preprocessing);

// Opens (and for IDX/.npy reads into memory) the data set; errors name the missing or broken file.
Result<std::shared_ptr<const Dataset>> openDataset(const DatasetSpec& spec, const DatasetOptions& options);

// Data to calibrate compression passes on, kept apart from the evaluation data where the data set allows it.
struct CalibrationData {
    std::shared_ptr<const Dataset> dataset;
    std::string name;  // "idx:DIR (train split)", for reports
};
// IDX: the train split (same preprocessing); other kinds have no split, so `evaluation` (opened when null) is used.
Result<CalibrationData> openCalibrationData(const DatasetSpec& spec, const DatasetOptions& options,
                                            std::shared_ptr<const Dataset> evaluation = nullptr);

// The images a recipe's "train" section trains on: `trainSpec` when given, else `evaluation` (which must then be IDX:
// callers check that, in their own words). An IDX spec reads its train split; image options (resize, crop, bgr, gray)
// carry over to folders only, scale/mean/std to every kind. `name` reads "<evaluationText> (train split)" or
// `trainText`.
Result<CalibrationData> openTrainingData(const DatasetSpec& evaluation, const std::string& evaluationText,
                                         const DatasetOptions& options, const std::optional<DatasetSpec>& trainSpec,
                                         const std::string& trainText);

// 0..n-1 in a seeded Fisher-Yates order; the same (n, seed) gives the same order on every platform.
std::vector<int64_t> shuffledIndices(int64_t n, uint64_t seed);
// A view of `parent` holding the samples parent[indices[0]], parent[indices[1]], …
std::shared_ptr<const Dataset> subsetDataset(std::shared_ptr<const Dataset> parent, std::vector<int64_t> indices);
// When `data` was made by subsetDataset: its parent and the parent's index of each of its samples; else nullopt.
struct SubsetOf {
    std::shared_ptr<const Dataset> parent;
    const std::vector<int64_t>* indices = nullptr;
};
std::optional<SubsetOf> subsetOf(const Dataset& data);
// The first min(n, size) samples after a seeded shuffle: the calibration set of static quantization.
std::shared_ptr<const Dataset> calibrationSubset(std::shared_ptr<const Dataset> parent, int64_t n, uint64_t seed);

}  // namespace lathe
