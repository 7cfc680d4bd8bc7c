#include "core/export/model_size.h"

#include <zlib.h>

#include <fstream>
#include <iterator>
#include <vector>

namespace lathe {

Result<int64_t> zlibCompressedSize(std::string_view data, int level) {
    uLongf size = compressBound(uLong(data.size()));
    std::vector<Bytef> out(size);
    const int rc = compress2(out.data(), &size, reinterpret_cast<const Bytef*>(data.data()), uLong(data.size()), level);
    if (rc != Z_OK) return makeError(ErrorCode::Internal, "zlib compress2 failed with code " + std::to_string(rc));
    return int64_t(size);
}

FileSize measureBytes(std::string_view data) {
    FileSize size;
    size.onnxBytes = int64_t(data.size());
    auto z = zlibCompressedSize(data, 9);
    size.zlibBytes = z ? z.value() : 0;
    return size;
}

Result<FileSize> measureFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return makeError(ErrorCode::FileNotFound, path + ": cannot open the file to measure its size");
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) return makeError(ErrorCode::Io, path + ": read failed");
    return measureBytes(bytes);
}

}  // namespace lathe
