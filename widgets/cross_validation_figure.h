#pragma once

#include <QString>

namespace lathe {

// A variant's cross-validated accuracy as the views show it: K stratified folds of the training data, the compressed
// model trained on the other folds and measured on each held-out one; mean ± sample standard deviation over folds.
struct CrossValidationFigure {
    int folds = 0;
    int epochs = 0;        // per fold
    double meanTop1 = 0;   // percent
    double stdTop1 = 0;    // percent
    double meanF1 = 0;     // percent
    double stdF1 = 0;      // percent
};

// "91.2 ± 0.3 (5-fold CV)"
QString crossValidationText(const CrossValidationFigure& figure);
// Whether the intervals mean ± std of the two top-1 figures overlap (touching counts as overlapping).
bool crossValidationOverlaps(const CrossValidationFigure& a, const CrossValidationFigure& b);
// What the two figures say about the variants named `nameA` and `nameB`: "A and B are not distinguishable at 5 folds
// (91.2 ± 0.3 and 91.0 ± 0.4 overlap)" or "A is better than B at 5 folds (…, the intervals do not overlap)".
QString crossValidationComparison(const QString& nameA, const CrossValidationFigure& a, const QString& nameB,
                                  const CrossValidationFigure& b);

}  // namespace lathe
