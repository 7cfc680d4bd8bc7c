// Image folders: one class folder holding one image whose extension the first input byte picks and whose bytes are
// the rest; the second byte picks the preprocessing (gray, resize, crop). Opened and decoded through the data set,
// as evaluation does.
#include <cstdlib>

#include "core/eval/image_folder_dataset.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace lathe;
    if (size < 2) return 0;
    static const char* const kExtensions[] = {".png", ".jpg", ".bmp", ".pgm", ".ppm", ".pbm", ".tif", ".webp"};
    const std::filesystem::path root = fuzz::scratchDir() / "images";
    const std::filesystem::path classDir = root / "class_a";
    std::filesystem::remove_all(root);
    std::filesystem::create_directories(classDir);
    fuzz::writeFile(classDir / (std::string("image") + kExtensions[data[0] % 8]), data + 2, size - 2);
    Preprocessing pre;
    pre.gray = data[1] & 1;
    pre.resize = (data[1] & 2) ? 12 : 0;
    pre.crop = (data[1] & 4) ? 8 : 0;
    pre.bgr = data[1] & 8;
    auto opened = openImageFolderDataset(root.string(), pre);
    if (!opened) {
        if (opened.error().message.empty()) std::abort();
        return 0;
    }
    const int64_t index[1] = {0};
    (void)(*opened)->batch(index);
    return 0;
}
