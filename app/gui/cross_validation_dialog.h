#pragma once

#include <optional>

class QWidget;
class QString;

namespace lathe {

// What the Cross-Validate dialog asks: folds and epochs per fold.
struct CrossValidationChoice {
    int folds = 5;
    int epochs = 1;
};

// Asks for the folds (default `initial.folds`) and epochs per fold (default `initial.epochs`) of cross-validating
// `variantName`; nullopt when the user cancelled.
std::optional<CrossValidationChoice> askCrossValidation(QWidget* parent, const QString& variantName,
                                                        const CrossValidationChoice& initial);

}  // namespace lathe
