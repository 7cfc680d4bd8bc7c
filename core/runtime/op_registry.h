#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/runtime/kernel.h"

namespace lathe {

// The kernel factory of a default-domain ONNX op, or nullptr when the runtime has no kernel for it.
KernelFactory findKernelFactory(std::string_view opType);
// Every op type with a kernel, sorted by name.
std::vector<std::string> supportedOps();

}  // namespace lathe
