// IDX files, gzip-compressed or raw: the first input byte picks the file name (.gz or not; both are read through
// zlib, which passes raw data through), the rest is the file. Read as a rank-1 and a rank-3 file, then opened as the
// images of an MNIST-style directory with valid labels.
#include <cstdlib>

#include "core/eval/idx_dataset.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace lathe;
    if (size < 1) return 0;
    static const std::filesystem::path dir = [] {
        const auto& d = fuzz::scratchDir();
        // Two labels (0 and 1) in a raw rank-1 IDX file.
        fuzz::writeFile(d / "t10k-labels-idx1-ubyte", std::string("\0\0\x08\x01\0\0\0\x02\x00\x01", 10));
        return d;
    }();
    const bool gz = data[0] & 1;
    std::filesystem::remove(dir / "t10k-images-idx3-ubyte");
    std::filesystem::remove(dir / "t10k-images-idx3-ubyte.gz");
    const std::filesystem::path input = dir / (gz ? "t10k-images-idx3-ubyte.gz" : "t10k-images-idx3-ubyte");
    fuzz::writeFile(input, data + 1, size - 1);
    for (int rank : {1, 3}) {
        auto array = readIdxFile(input.string(), rank);
        if (!array) continue;
        int64_t n = 1;
        for (int64_t d : array->dims) n *= d;
        if (int64_t(array->dims.size()) != rank || int64_t(array->data.size()) != n) std::abort();
    }
    auto opened = openIdxDataset(dir.string(), Split::Test, Preprocessing{});
    if (!opened) return 0;
    const Dataset& d = **opened;
    for (int64_t i = 0; i < d.size(); ++i) {
        const int64_t index[1] = {i};
        if (!d.batch(index)) std::abort();
    }
    return 0;
}
