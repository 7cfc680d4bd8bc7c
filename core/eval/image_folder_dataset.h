#pragma once

#include <memory>
#include <string>

#include "core/eval/dataset.h"

namespace lathe {

// DIR/<class>/<image>: one sub-folder per class, class index = position in sorted folder-name order. Images
// (.png .jpg .jpeg .bmp .pgm .ppm .pbm .tif .tiff .webp) are decoded with OpenCV when a batch is asked for, then
// resized (shorter side), centre-cropped, put in R,G,B (or B,G,R, or gray) order and normalised into C x H x W
// floats. Without a crop, H x W is the first image's size after resizing and every image must match it.
Result<std::shared_ptr<const Dataset>> openImageFolderDataset(const std::string& dir,
                                                              const Preprocessing& preprocessing);

}  // namespace lathe
