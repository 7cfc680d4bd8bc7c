#pragma once

#include <string>

// Synthetic ONNX models for benchmarks, written with libonnx's protobuf so that both runtimes load the same file.
namespace lathe::bench {

// VGG-style stack on [N,3,64,64]: 2x(Conv3x3 32 + Relu), MaxPool, 2x(Conv3x3 64 + Relu), MaxPool,
// GlobalAveragePool, Flatten, Gemm 64->10. Random weights (fixed seed).
void writeVggBlock(const std::string& path);

// MobileNet-style stack on [N,32,56,56]: 3x(depthwise Conv3x3 + BatchNormalization + Relu, pointwise Conv1x1 64 +
// BatchNormalization + Relu), GlobalAveragePool, Flatten, Gemm 64->10.
void writeMobileBlock(const std::string& path);

}  // namespace lathe::bench
