#include "core/common/output_path.h"

#include <filesystem>

namespace lathe {

namespace fs = std::filesystem;

namespace {

// `path` made absolute and free of "." / ".." and symlinks as far as it exists.
fs::path resolved(const std::string& path) {
    std::error_code ec;
    fs::path p = fs::weakly_canonical(fs::absolute(path, ec), ec);
    return ec ? fs::absolute(path).lexically_normal() : p;
}

bool isInside(const fs::path& candidate, const fs::path& folder) {
    auto f = folder.begin();
    auto c = candidate.begin();
    for (; f != folder.end(); ++f, ++c) {
        if (f->empty()) continue;  // the trailing "" of "dir/"
        if (c == candidate.end() || *c != *f) return false;
    }
    return true;
}

}  // namespace

Status checkOutputPath(const std::string& output, const std::vector<InputPath>& inputs) {
    if (output.empty()) return makeError(ErrorCode::InvalidArgument, "no output file given");
    std::error_code ec;
    if (fs::is_directory(output, ec))
        return makeError(ErrorCode::InvalidArgument,
                         output + ": is a folder; give the output a file name (e.g. " +
                             (fs::path(output) / "compressed.onnx").string() + ")");
    const fs::path target = resolved(output);
    const fs::path parent = target.parent_path();
    if (!fs::is_directory(parent, ec))
        return makeError(ErrorCode::FileNotFound,
                         output + ": the folder " + parent.string() + " does not exist; create it first");
    const bool exists = fs::exists(output, ec);
    for (const InputPath& input : inputs) {
        if (input.path.empty()) continue;
        const fs::path source = resolved(input.path);
        bool same = source == target;
        if (!same && exists && fs::exists(input.path, ec)) same = fs::equivalent(output, input.path, ec) && !ec;
        if (same)
            return makeError(ErrorCode::InvalidArgument, output + ": is " + input.role +
                                                             " of this run; refusing to overwrite an input, choose "
                                                             "another output file");
        if (input.folder && isInside(target, source))
            return makeError(ErrorCode::InvalidArgument, output + ": lies inside " + input.path + ", " + input.role +
                                                             " of this run; choose an output outside it");
    }
    return Ok{};
}

}  // namespace lathe
