#pragma once

#include <string>
#include <vector>

#include "core/common/result.h"

namespace lathe {

// Something a run reads: a file, or a folder whose whole contents are read (an image-folder data set).
struct InputPath {
    std::string path;
    std::string role;  // what the user named it as: "the model", "the recipe", "the labels of --data"
    bool folder = false;
};

// Whether `output` may be written by a run that reads `inputs`. Fails, naming the input and its role, when `output`
// is one of them (same file through any path, link or hard link) or lies inside a folder input; fails when `output`
// is a folder or its folder does not exist. Nothing is written.
Status checkOutputPath(const std::string& output, const std::vector<InputPath>& inputs);

}  // namespace lathe
