#include "core/eval/image_folder_dataset.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>

namespace lathe {

namespace {
namespace fs = std::filesystem;

bool isImageFile(const fs::path& p) {
    static const std::set<std::string> kExtensions = {".png", ".jpg", ".jpeg", ".bmp",  ".pgm",
                                                      ".ppm", ".pbm", ".tif",  ".tiff", ".webp"};
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return kExtensions.contains(ext);
}

bool isHidden(const fs::path& p) { return p.filename().string().starts_with('.'); }

std::vector<fs::path> sortedEntries(const fs::path& dir, bool directories) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (isHidden(entry.path())) continue;
        if (directories ? entry.is_directory() : (entry.is_regular_file() && isImageFile(entry.path())))
            out.push_back(entry.path());
    }
    std::sort(out.begin(), out.end(),
              [](const fs::path& a, const fs::path& b) { return a.filename().string() < b.filename().string(); });
    return out;
}

std::string sizeString(int width, int height) { return std::to_string(width) + "x" + std::to_string(height); }

class ImageFolderDataset : public Dataset {
public:
    ImageFolderDataset(std::vector<std::string> classNames, std::vector<std::string> files, std::vector<int> labels,
                       const Preprocessing& preprocessing, ChannelNormalizer normalizer)
        : m_classNames(std::move(classNames)),
          m_files(std::move(files)),
          m_labels(std::move(labels)),
          m_preprocessing(preprocessing),
          m_normalizer(std::move(normalizer)) {
        m_shape.channels = preprocessing.gray ? 1 : 3;
        m_shape.height = m_shape.width = preprocessing.crop;
    }

    // Without a crop the sample size is the first image's, after resizing.
    Status takeSizeFromFirstImage() {
        auto image = loadImage(0);
        if (!image) return image.error();
        m_shape.height = image->rows;
        m_shape.width = image->cols;
        return Ok{};
    }

    int64_t size() const override { return int64_t(m_files.size()); }
    int numClasses() const override { return int(m_classNames.size()); }
    SampleShape sampleShape() const override { return m_shape; }
    int label(int64_t index) const override { return m_labels[size_t(index)]; }
    std::string describeSample(int64_t index) const override { return m_files[size_t(index)]; }
    std::vector<std::string> classNames() const override { return m_classNames; }

    Result<NDArray> batch(std::span<const int64_t> indices) const override {
        NDArray out({int64_t(indices.size()), m_shape.channels, m_shape.height, m_shape.width});
        const int64_t sample = m_shape.channels * m_shape.height * m_shape.width;
        std::vector<Error> errors(indices.size());
        std::vector<char> failed(indices.size(), 0);
#pragma omp parallel for schedule(dynamic)
        for (int64_t b = 0; b < int64_t(indices.size()); ++b) {
            Status s = decodeInto(indices[size_t(b)], out.data.data() + b * sample);
            if (!s) {
                errors[size_t(b)] = s.error();
                failed[size_t(b)] = 1;
            }
        }
        for (size_t b = 0; b < indices.size(); ++b)
            if (failed[b]) return errors[b];
        return out;
    }

private:
    // Decoded, resized and cropped image (8-bit, 1 or 3 channels in OpenCV's B,G,R order).
    Result<cv::Mat> loadImage(int64_t index) const {
        const std::string& path = m_files[size_t(index)];
        try {
            return decodeAndFit(path);
        } catch (const cv::Exception& e) {
            return makeError(ErrorCode::Parse, path + ": cannot decode the image (" + e.err + ")");
        } catch (const std::exception& e) {
            // Also keeps exceptions out of the OpenMP loop in batch(), where they would terminate the process.
            return makeError(ErrorCode::Parse, path + ": cannot decode the image (" + e.what() + ")");
        }
    }

    // loadImage() without the exception handling around OpenCV.
    Result<cv::Mat> decodeAndFit(const std::string& path) const {
        cv::Mat image = cv::imread(path, m_preprocessing.gray ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
        if (image.empty()) return makeError(ErrorCode::Parse, path + ": cannot decode the image");
        if (int side = m_preprocessing.resize) {
            double scale = double(side) / std::min(image.rows, image.cols);
            cv::Size size = image.rows <= image.cols
                                ? cv::Size(std::max(side, int(std::lround(image.cols * scale))), side)
                                : cv::Size(side, std::max(side, int(std::lround(image.rows * scale))));
            cv::Mat resized;
            cv::resize(image, resized, size, 0, 0, scale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
            image = resized;
        }
        if (int crop = m_preprocessing.crop) {
            if (image.rows < crop || image.cols < crop)
                return makeError(ErrorCode::InvalidArgument, path + ": image is " + sizeString(image.cols, image.rows) +
                                                                 (m_preprocessing.resize ? " after resizing" : "") +
                                                                 ", smaller than the " + sizeString(crop, crop) +
                                                                 " crop; resize it to at least " +
                                                                 std::to_string(crop) + " first");
            image = image(cv::Rect((image.cols - crop) / 2, (image.rows - crop) / 2, crop, crop));
        }
        return image;
    }

    Status decodeInto(int64_t index, float* dst) const {
        if (index < 0 || index >= size())
            return makeError(ErrorCode::InvalidArgument, "image folder: sample index " + std::to_string(index) +
                                                             " is outside 0.." + std::to_string(size() - 1));
        auto image = loadImage(index);
        if (!image) return image.error();
        if (image->rows != m_shape.height || image->cols != m_shape.width)
            return makeError(ErrorCode::InvalidArgument,
                             m_files[size_t(index)] + ": image is " + sizeString(image->cols, image->rows) +
                                 " but the data set's images are " +
                                 sizeString(int(m_shape.width), int(m_shape.height)) +
                                 " (the first image's size); set resize and crop to give them one size");
        const int channels = int(m_shape.channels);
        const int64_t plane = m_shape.height * m_shape.width;
        for (int y = 0; y < image->rows; ++y) {
            const uint8_t* row = image->ptr<uint8_t>(y);
            for (int x = 0; x < image->cols; ++x) {
                int64_t pixel = int64_t(y) * image->cols + x;
                for (int c = 0; c < channels; ++c) {
                    int source = channels == 1 || m_preprocessing.bgr ? c : 2 - c;
                    dst[c * plane + pixel] = m_normalizer.apply(float(row[x * channels + source]), c);
                }
            }
        }
        return Ok{};
    }

    std::vector<std::string> m_classNames;
    std::vector<std::string> m_files;
    std::vector<int> m_labels;
    Preprocessing m_preprocessing;
    ChannelNormalizer m_normalizer;
    SampleShape m_shape;
};
}  // namespace

Result<std::shared_ptr<const Dataset>> openImageFolderDataset(const std::string& dir,
                                                              const Preprocessing& preprocessing) {
    if (!fs::is_directory(dir))
        return makeError(ErrorCode::FileNotFound, "folder data set: directory " + dir + " not found");
    if (auto valid = validatePreprocessing(preprocessing); !valid) return valid.error();
    auto normalizer = ChannelNormalizer::make(preprocessing, preprocessing.gray ? 1 : 3, true);
    if (!normalizer) return normalizer.error();
    std::vector<fs::path> classDirs = sortedEntries(dir, true);
    if (classDirs.empty())
        return makeError(ErrorCode::InvalidArgument,
                         "folder data set " + dir + ": no class sub-folders (expected one sub-folder per class)");
    std::vector<std::string> classNames, files;
    std::vector<int> labels;
    for (size_t c = 0; c < classDirs.size(); ++c) {
        classNames.push_back(classDirs[c].filename().string());
        for (const auto& file : sortedEntries(classDirs[c], false)) {
            files.push_back(file.string());
            labels.push_back(int(c));
        }
    }
    if (files.empty())
        return makeError(ErrorCode::InvalidArgument,
                         "folder data set " + dir + ": no images in its " + std::to_string(classDirs.size()) +
                             " class folders (looked for .png, .jpg, .jpeg, .bmp, .pgm, .ppm, .tif, .webp)");
    auto dataset = std::make_shared<ImageFolderDataset>(std::move(classNames), std::move(files), std::move(labels),
                                                        preprocessing, std::move(*normalizer));
    if (!preprocessing.crop)
        if (auto sized = dataset->takeSizeFromFirstImage(); !sized) return sized.error();
    return std::shared_ptr<const Dataset>(std::move(dataset));
}

}  // namespace lathe
