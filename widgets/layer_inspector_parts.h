#pragma once
// Shared by layer_inspector.cpp (controls) and layer_inspector_plots.cpp (histograms and spectrum).

#include <QObject>
#include <QString>

#include "core/compress/recipe.h"
#include "widgets/layer_inspector.h"

namespace lathe::inspector {

inline constexpr int kBins = 120;
inline constexpr int kFullHeightLevels = 64;  // more levels are drawn as a rug along the axis

inline QString percent(double fraction, int decimals = 1) {
    return QStringLiteral("%1 %").arg(fraction * 100.0, 0, 'f', decimals);
}

inline QString quantText(const LayerSettings& s) {
    if (!s.quantized()) return QObject::tr("float32");
    if (s.rounding == Rounding::KMeans) return QObject::tr("%1-bit k-means (%2 clusters)").arg(s.bits).arg(1 << s.bits);
    return QObject::tr("int%1 %2 %3%4")
        .arg(s.bits)
        .arg(s.symmetric ? QObject::tr("sym") : QObject::tr("asym"))
        .arg(s.granularity == Granularity::PerChannel ? QObject::tr("per-channel") : QObject::tr("per-tensor"))
        .arg(s.rounding == Rounding::Stochastic ? QObject::tr(", stochastic") : QString());
}

}  // namespace lathe::inspector

namespace lathe {

// One preview computed off the UI thread.
struct LayerInspector::PreviewResult {
    int generation = 0;
    std::shared_ptr<const Tensor> weight;  // the layer it was computed for
    LayerPreview preview;
    std::shared_ptr<const std::vector<int64_t>> beforeCounts;  // set when computed by this job
    double lo = 0, hi = 0;
    std::vector<int64_t> afterCounts;
    int64_t afterZeros = 0;
    double ms = 0;
};

}  // namespace lathe
