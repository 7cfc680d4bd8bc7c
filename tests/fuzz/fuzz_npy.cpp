// .npy files: the input is read as an array, then opened as the images of a data set (with valid labels), as the
// labels (with valid images) and as both; an opened data set is read back sample by sample.
#include <cstdlib>

#include "core/eval/npy_dataset.h"
#include "core/eval/npy_reader.h"
#include "tests/fuzz/fuzz_util.h"

namespace {
std::string npy(const std::string& descr, const std::string& shape, const std::string& payload) {
    std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
    while ((10 + header.size() + 1) % 64) header += ' ';
    header += '\n';
    std::string out = "\x93NUMPY\x01";
    out += '\0';
    out += char(header.size() & 0xff);
    out += char(header.size() >> 8);
    return out + header + payload;
}

void exercise(const lathe::Result<std::shared_ptr<const lathe::Dataset>>& opened) {
    if (!opened) {
        if (opened.error().message.empty()) std::abort();
        return;
    }
    const lathe::Dataset& d = **opened;
    (void)d.valueRange();
    const int64_t n = std::min<int64_t>(d.size(), 8);
    for (int64_t i = 0; i < n; ++i) {
        const int64_t index[1] = {i};
        auto b = d.batch(index);
        if (!b) std::abort();
        if (d.label(i) < 0 || d.label(i) >= d.numClasses()) std::abort();
    }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace lathe;
    static const std::filesystem::path dir = [] {
        const auto& d = fuzz::scratchDir();
        fuzz::writeFile(d / "images.npy", npy("|u1", "(2, 2, 2)", std::string("\x00\x01\x02\x03\x04\x05\x06\x07", 8)));
        fuzz::writeFile(d / "labels.npy", npy("<i8", "(2,)", std::string("\x01\0\0\0\0\0\0\0\x00\0\0\0\0\0\0\0", 16)));
        return d;
    }();
    const std::filesystem::path input = dir / "input.npy";
    fuzz::writeFile(input, data, size);
    auto array = readNpy(input.string());
    if (array && int64_t(array->bytes.size()) != array->numel() * dtypeSize(array->dtype)) std::abort();
    const Preprocessing pre;
    exercise(openNpyDataset(input.string(), (dir / "labels.npy").string(), pre));
    exercise(openNpyDataset((dir / "images.npy").string(), input.string(), pre));
    exercise(openNpyDataset(input.string(), input.string(), pre));
    return 0;
}
