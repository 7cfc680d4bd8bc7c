#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/eval/dataset.h"

namespace lathe {

// The contents of one unsigned-byte IDX file: dimensions (big-endian on disk) and row-major data.
struct IdxArray {
    std::vector<int64_t> dims;
    std::vector<uint8_t> data;
};

// Reads an unsigned-byte IDX file, gzip-compressed or raw, that must have `expectedRank` dimensions. Memory follows
// the data actually present, never the header's claim. Errors name the file: missing, wrong magic number, truncated
// (with the header's dimensions), or corrupt gzip data.
Result<IdxArray> readIdxFile(const std::string& path, int expectedRank);

// MNIST-style directory: {t10k|train}-images-idx3-ubyte[.gz] and {t10k|train}-labels-idx1-ubyte[.gz]. Samples are
// 1xHxW; errors name the missing file, an images file holding no images, or both files when their counts differ.
Result<std::shared_ptr<const Dataset>> openIdxDataset(const std::string& dir, Split split,
                                                      const Preprocessing& preprocessing);

}  // namespace lathe
