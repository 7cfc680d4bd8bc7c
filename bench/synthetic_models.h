#pragma once

#include <string>

// Synthetic ONNX models for benchmarks, written with libonnx's protobuf so that both runtimes load the same file.
namespace lathe::bench {

// VGG-style stack on [N,3,64,64]: 2x(Conv3x3 32 + Relu), MaxPool, 2x(Conv3x3 64 + Relu), MaxPool,
// GlobalAveragePool, Flatten, Gemm 64->10. Random weights (fixed seed).
void writeVggBlock(const std::string& path);

// LeNet-300-100 on Fashion-MNIST's shape [N,1,28,28]: Flatten, Gemm 784->300 + Relu, Gemm 300->100 + Relu,
// Gemm 100->10. Random weights (fixed seed).
void writeMlp(const std::string& path);

// MobileNet-style stack on [N,32,56,56]: 3x(depthwise Conv3x3 + BatchNormalization + Relu, pointwise Conv1x1 64 +
// BatchNormalization + Relu), GlobalAveragePool, Flatten, Gemm 64->10.
void writeMobileBlock(const std::string& path);

}  // namespace lathe::bench
