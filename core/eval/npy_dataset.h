#pragma once

#include <memory>
#include <string>

#include "core/eval/dataset.h"

namespace lathe {

// Images .npy of shape (N,H,W) or (N,C,H,W), uint8 or float32, N >= 1 and C <= 4096, and labels .npy of shape (N) or
// (N,1), int64, int32 or uint8, each label in 0..999999. Errors name the file and field (dtype, shape), the index and
// real value of a bad label, or both files when the counts differ. The data set's valueRange() is the min/max of the
// raw image values (float images holding 0..255 need scale 1/255; callers should say so).
Result<std::shared_ptr<const Dataset>> openNpyDataset(const std::string& imagesPath, const std::string& labelsPath,
                                                      const Preprocessing& preprocessing);

}  // namespace lathe
