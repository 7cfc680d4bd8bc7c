#include "core/eval/idx_dataset.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "core/eval/in_memory_dataset.h"

namespace lathe {

namespace {
namespace fs = std::filesystem;

constexpr int64_t kMaxIdxBytes = int64_t(1) << 33;

class GzFile {
public:
    explicit GzFile(const std::string& path) : m_file(gzopen(path.c_str(), "rb")) {
        if (m_file) gzbuffer(m_file, 1 << 17);
    }
    ~GzFile() {
        if (m_file) gzclose(m_file);
    }
    GzFile(const GzFile&) = delete;
    GzFile& operator=(const GzFile&) = delete;

    bool isOpen() const { return m_file != nullptr; }
    // Not gzip data: zlib passes the bytes through as they are.
    bool isDirect() const { return gzdirect(m_file) == 1; }
    // Bytes read (fewer at end of data), or -1 on a zlib error (see error()).
    int64_t read(void* dst, int64_t bytes) {
        int64_t total = 0;
        auto* out = static_cast<unsigned char*>(dst);
        while (total < bytes) {
            unsigned chunk = unsigned(std::min<int64_t>(bytes - total, 1 << 30));
            int n = gzread(m_file, out + total, chunk);
            if (n < 0) return -1;
            if (n == 0) break;
            total += n;
        }
        return total;
    }
    std::string error() const {
        int code = 0;
        const char* message = gzerror(m_file, &code);
        return message ? message : "unknown zlib error";
    }

private:
    gzFile m_file;
};

std::string hex32(uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08x", v);
    return buf;
}

std::string dimsText(const std::vector<int64_t>& dims) {
    std::string s;
    for (size_t i = 0; i < dims.size(); ++i) s += (i ? " x " : "") + std::to_string(dims[i]);
    return s;
}

Error corrupt(const std::string& path, const GzFile& file) {
    return makeError(ErrorCode::Parse, path + ": corrupt gzip data (" + file.error() + ")");
}

// First existing of DIR/NAME.gz and DIR/NAME.
Result<std::string> findIdxFile(const std::string& dir, const std::string& name) {
    for (const char* suffix : {".gz", ""}) {
        fs::path p = fs::path(dir) / (name + suffix);
        if (fs::is_regular_file(p)) return p.string();
    }
    return makeError(ErrorCode::FileNotFound, "idx data set " + dir + ": missing " + name + "[.gz]");
}
}  // namespace

Result<IdxArray> readIdxFile(const std::string& path, int expectedRank) {
    if (!fs::is_regular_file(path)) return makeError(ErrorCode::FileNotFound, path + ": file not found");
    GzFile file(path);
    if (!file.isOpen()) return makeError(ErrorCode::Io, path + ": cannot open");
    unsigned char magic[4];
    int64_t got = file.read(magic, 4);
    if (got < 0) return corrupt(path, file);
    if (got < 4)
        return makeError(ErrorCode::Parse, path + ": too short for an IDX file (" + std::to_string(got) + " bytes)");
    uint32_t magicValue = uint32_t(magic[0]) << 24 | uint32_t(magic[1]) << 16 | uint32_t(magic[2]) << 8 | magic[3];
    uint32_t expected = 0x800u | uint32_t(expectedRank);
    if (magicValue != expected)
        return makeError(ErrorCode::Parse, path + ": not an unsigned-byte IDX file with " +
                                               std::to_string(expectedRank) + " dimension(s) (magic number " +
                                               hex32(magicValue) + ", expected " + hex32(expected) + ")");
    IdxArray array;
    int64_t total = 1;
    for (int d = 0; d < expectedRank; ++d) {
        unsigned char b[4];
        got = file.read(b, 4);
        if (got < 0) return corrupt(path, file);
        if (got < 4) return makeError(ErrorCode::Parse, path + ": truncated in the IDX header");
        int64_t dim = int64_t(uint32_t(b[0]) << 24 | uint32_t(b[1]) << 16 | uint32_t(b[2]) << 8 | b[3]);
        array.dims.push_back(dim);
        // dim < 2^32 and total <= 2^33 before this step, so the product needs 65 bits at worst: check it.
        const std::optional<int64_t> product = checkedMul(total, dim);
        if (!product || *product > kMaxIdxBytes)
            return makeError(ErrorCode::Parse, path + ": implausible IDX dimensions " + dimsText(array.dims) +
                                                   " (over 8 GiB of data)");
        total = *product;
    }
    // Never allocate more than the file can hold: raw files are compared with their size first, gzip data (whose
    // size is only known once inflated) grows in chunks as it is read.
    const int64_t headerBytes = 4 + 4 * int64_t(expectedRank);
    if (file.isDirect()) {
        std::error_code ec;
        const int64_t available = int64_t(fs::file_size(path, ec)) - headerBytes;
        if (!ec && total > available)
            return makeError(ErrorCode::Parse, path + ": dimensions " + dimsText(array.dims) +
                                                   " truncated (header promises " + std::to_string(total) +
                                                   " data bytes, file has " +
                                                   std::to_string(std::max<int64_t>(available, 0)) + ")");
    }
    constexpr int64_t kChunk = int64_t(1) << 24;
    got = 0;
    while (got < total) {
        const int64_t want = std::min(kChunk, total - got);
        array.data.resize(size_t(got + want));
        const int64_t n = file.read(array.data.data() + got, want);
        if (n < 0) return corrupt(path, file);
        got += n;
        if (n < want) break;
    }
    if (got < total)
        return makeError(ErrorCode::Parse, path + ": dimensions " + dimsText(array.dims) +
                                               " truncated (header promises " + std::to_string(total) +
                                               " data bytes, file has " + std::to_string(got) + ")");
    unsigned char extra;
    if (file.read(&extra, 1) < 0) return corrupt(path, file);  // reaching the end verifies the gzip checksum
    return array;
}

Result<std::shared_ptr<const Dataset>> openIdxDataset(const std::string& dir, Split split,
                                                      const Preprocessing& preprocessing) {
    if (!fs::is_directory(dir))
        return makeError(ErrorCode::FileNotFound, "idx data set: directory " + dir + " not found");
    std::string prefix = split == Split::Train ? "train" : "t10k";
    auto imagesPath = findIdxFile(dir, prefix + "-images-idx3-ubyte");
    if (!imagesPath) return imagesPath.error();
    auto labelsPath = findIdxFile(dir, prefix + "-labels-idx1-ubyte");
    if (!labelsPath) return labelsPath.error();
    auto images = readIdxFile(*imagesPath, 3);
    if (!images) return images.error();
    auto labels = readIdxFile(*labelsPath, 1);
    if (!labels) return labels.error();
    if (images->dims[0] != labels->dims[0])
        return makeError(ErrorCode::InvalidArgument, *labelsPath + " has " + std::to_string(labels->dims[0]) +
                                                         " labels but " + *imagesPath + " has " +
                                                         std::to_string(images->dims[0]) + " images");
    if (images->dims[0] < 1 || images->dims[1] < 1 || images->dims[2] < 1)
        return makeError(ErrorCode::InvalidArgument, *imagesPath + ": its dimensions " + dimsText(images->dims) +
                                                         " hold no images (every dimension must be >= 1)");
    SampleShape shape{1, images->dims[1], images->dims[2]};
    std::vector<int> labelValues(labels->data.begin(), labels->data.end());
    auto dataset =
        InMemoryDataset::make(shape, std::move(images->data), std::move(labelValues), *labelsPath, preprocessing);
    if (!dataset) return dataset.error();
    return std::shared_ptr<const Dataset>(std::move(*dataset));
}

}  // namespace lathe
