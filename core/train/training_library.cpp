#include "core/train/training_library.h"

#include <dlfcn.h>

#include <filesystem>
#include <mutex>
#include <string>

namespace lathe {

namespace {
constexpr const char* kLibrary = "liblathe_train.so";
}  // namespace

Result<const TrainingLibrary*> loadTrainingLibrary() {
    static std::once_flag once;
    static const TrainingLibrary* library = nullptr;
    static std::string failure;
    std::call_once(once, [] {
        // The build puts it next to liblathe_core.so (this code); it links that library, which this program has loaded
        // already, so both sides share one copy of core.
        std::string path = kLibrary;
        Dl_info self;
        if (::dladdr(reinterpret_cast<void*>(&loadTrainingLibrary), &self) && self.dli_fname)
            path = (std::filesystem::path(self.dli_fname).parent_path() / kLibrary).string();
        void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!handle) {
            const char* why = ::dlerror();
            failure = "cannot load the training engine " + path + ": " + (why ? why : "unknown error");
            return;
        }
        using Entry = const TrainingLibrary* (*)();
        auto entry = reinterpret_cast<Entry>(::dlsym(handle, "lathe_training_library"));
        if (!entry) {
            failure = std::string(kLibrary) + " has no entry point lathe_training_library; it does not match this build";
            return;
        }
        library = entry();
    });
    if (!library) return makeError(ErrorCode::Io, failure);
    return library;
}

}  // namespace lathe
