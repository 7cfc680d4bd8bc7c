#include "widgets/cross_validation_figure.h"

#include <QObject>
#include <algorithm>

namespace lathe {

QString crossValidationText(const CrossValidationFigure& f) {
    return QObject::tr("%1 ± %2 (%3-fold CV)").arg(f.meanTop1, 0, 'f', 1).arg(f.stdTop1, 0, 'f', 1).arg(f.folds);
}

bool crossValidationOverlaps(const CrossValidationFigure& a, const CrossValidationFigure& b) {
    const double loA = a.meanTop1 - a.stdTop1, hiA = a.meanTop1 + a.stdTop1;
    const double loB = b.meanTop1 - b.stdTop1, hiB = b.meanTop1 + b.stdTop1;
    return std::max(loA, loB) <= std::min(hiA, hiB);
}

QString crossValidationComparison(const QString& nameA, const CrossValidationFigure& a, const QString& nameB,
                                  const CrossValidationFigure& b) {
    const QString folds = a.folds == b.folds ? QObject::tr("%1 folds").arg(a.folds)
                                             : QObject::tr("%1 and %2 folds").arg(a.folds).arg(b.folds);
    const QString figures = QObject::tr("%1 and %2").arg(crossValidationText(a), crossValidationText(b));
    if (crossValidationOverlaps(a, b))
        return QObject::tr("%1 and %2 are not distinguishable at %3: their intervals (mean ± std) overlap, %4.")
            .arg(nameA, nameB, folds, figures);
    const bool aBetter = a.meanTop1 > b.meanTop1;
    return QObject::tr("%1 is better than %2 at %3: their intervals (mean ± std) do not overlap, %4.")
        .arg(aBetter ? nameA : nameB, aBetter ? nameB : nameA, folds, figures);
}

}  // namespace lathe
