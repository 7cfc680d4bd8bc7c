#include "app/gui/cross_validation_dialog.h"

#include <QDialog>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

namespace lathe {

std::optional<CrossValidationChoice> askCrossValidation(QWidget* parent, const QString& variantName,
                                                        const CrossValidationChoice& initial) {
    QDialog dialog(parent);
    dialog.setWindowTitle(QObject::tr("Cross-Validate %1").arg(variantName));
    auto* intro = new QLabel(
        QObject::tr("The training data is split into K stratified folds. For each fold, %1 is trained on the other "
                    "folds (its train settings, or fine-tuning) and measured on the held-out fold; the result is "
                    "the mean ± std of top-1 over the folds.")
            .arg(variantName.toHtmlEscaped()),
        &dialog);
    intro->setWordWrap(true);
    intro->setMinimumWidth(380);
    auto* folds = new QSpinBox(&dialog);
    folds->setRange(2, 20);
    folds->setValue(initial.folds);
    folds->setToolTip(QObject::tr("K: how many folds the training data is split into; each one is held out once"));
    auto* epochs = new QSpinBox(&dialog);
    epochs->setRange(1, 100);
    epochs->setValue(initial.epochs);
    epochs->setToolTip(QObject::tr("Training epochs per fold (default: the variant's train epochs, else 1)"));
    auto* form = new QFormLayout;
    form->addRow(QObject::tr("Folds"), folds);
    form->addRow(QObject::tr("Epochs per fold"), epochs);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, &dialog);
    buttons->button(QDialogButtonBox::Ok)->setText(QObject::tr("Cross-Validate"));
    QObject::connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
    QObject::connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
    auto* layout = new QVBoxLayout(&dialog);
    layout->addWidget(intro);
    layout->addLayout(form);
    layout->addWidget(buttons);
    if (dialog.exec() != QDialog::Accepted) return std::nullopt;
    return CrossValidationChoice{folds->value(), epochs->value()};
}

}  // namespace lathe
