#pragma once

#include <QString>
#include <cstdint>
#include <span>

#include "core/model/graph.h"

namespace lathe {

// Integer with thousands separators, e.g. "431,080" (same separators in every locale, like the CLI).
QString formatCount(int64_t value);
// Byte size with a binary-free SI unit, e.g. "1.72 MB".
QString formatBytes(int64_t bytes);
// Large count with an SI suffix, e.g. "2.29 M" (used for MACs and params in summaries).
QString formatCompact(int64_t value);
// Floating-point value with 4 significant digits, e.g. "-0.1234" or "1.2e-05".
QString formatReal(double value);
// Percentage with one decimal, e.g. "92.9 %".
QString formatPercent(double fraction);
// Shape as "50×20×5×5"; a scalar is "scalar".
QString formatShape(std::span<const int64_t> shape);
// Edge shape as "N×1×28×28" (symbolic dims by name, unknown as "?"); empty when the shape is unknown.
QString formatValueShape(const ValueInfo& value);
// "float32 [50, 20, 5, 5]": dtype and ONNX-style shape, for property panels.
QString formatTypedShape(DType dtype, std::span<const int64_t> shape);

}  // namespace lathe
