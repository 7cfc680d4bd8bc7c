#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/common/result.h"

namespace lathe {

// Size of an ONNX file as shipped: its bytes, and its bytes after zlib (deflate) at level 9.
struct FileSize {
    int64_t onnxBytes = 0;
    int64_t zlibBytes = 0;
};

// Bytes of `data` compressed by zlib's compress2 at `level`.
Result<int64_t> zlibCompressedSize(std::string_view data, int level = 9);
FileSize measureBytes(std::string_view data);
// Reads the file and measures it; errors name the file.
Result<FileSize> measureFile(const std::string& path);

}  // namespace lathe
