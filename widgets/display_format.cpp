#include "widgets/display_format.h"

#include <QLocale>
#include <QStringList>
#include <array>
#include <cmath>

namespace lathe {

namespace {
const QLocale& numberLocale() {
    static const QLocale locale(QLocale::English, QLocale::UnitedStates);
    return locale;
}

QString withSuffix(double value, const std::array<const char*, 5>& suffixes, double base) {
    int i = 0;
    double v = value;
    while (std::abs(v) >= base && i + 1 < int(suffixes.size())) {
        v /= base;
        ++i;
    }
    if (i == 0) return numberLocale().toString(qint64(value)) + (suffixes[0][0] ? QString(" ") + suffixes[0] : "");
    return numberLocale().toString(v, 'f',
                                   std::abs(v) < 10    ? 2
                                   : std::abs(v) < 100 ? 1
                                                       : 0) +
           " " + suffixes[size_t(i)];
}
}  // namespace

QString formatCount(int64_t value) { return numberLocale().toString(qint64(value)); }

QString formatBytes(int64_t bytes) { return withSuffix(double(bytes), {"B", "kB", "MB", "GB", "TB"}, 1000.0); }

QString formatCompact(int64_t value) { return withSuffix(double(value), {"", "k", "M", "G", "T"}, 1000.0); }

QString formatReal(double value) {
    if (value == 0.0) return QStringLiteral("0");
    return QString::number(value, 'g', 4);
}

QString formatPercent(double fraction) { return QString::number(100.0 * fraction, 'f', 1) + QStringLiteral(" %"); }

QString formatShape(std::span<const int64_t> shape) {
    if (shape.empty()) return QStringLiteral("scalar");
    QStringList dims;
    for (int64_t d : shape) dims << (d >= 0 ? QString::number(d) : QStringLiteral("?"));
    return dims.join(QChar(0x00D7));
}

QString formatValueShape(const ValueInfo& value) {
    if (!value.hasShape) return {};
    if (value.shape.empty()) return QStringLiteral("scalar");
    QStringList dims;
    for (size_t i = 0; i < value.shape.size(); ++i) {
        if (value.shape[i] >= 0)
            dims << QString::number(value.shape[i]);
        else if (i < value.dimParams.size() && !value.dimParams[i].empty())
            dims << QString::fromStdString(value.dimParams[i]);
        else
            dims << QStringLiteral("?");
    }
    return dims.join(QChar(0x00D7));
}

QString formatTypedShape(DType dtype, std::span<const int64_t> shape) {
    return QString::fromStdString(std::string(dtypeName(dtype)) + ' ' + shapeToString(shape));
}

}  // namespace lathe
