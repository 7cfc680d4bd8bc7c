#pragma once

#include <memory>
#include <string>

#include "core/eval/dataset.h"

namespace lathe {

// Images .npy of shape (N,H,W) or (N,C,H,W), uint8 or float32, and labels .npy of shape (N) or (N,1), int64, int32
// or uint8. Errors name the file and field (dtype, shape) or both files when the counts differ.
Result<std::shared_ptr<const Dataset>> openNpyDataset(const std::string& imagesPath, const std::string& labelsPath,
                                                      const Preprocessing& preprocessing);

}  // namespace lathe
