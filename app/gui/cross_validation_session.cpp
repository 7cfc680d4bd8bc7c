#include "app/gui/cross_validation_session.h"

#include <QFileInfo>

#include "app/gui/variant_jobs.h"
#include "app/gui/workbench_document.h"

namespace lathe {

CrossValidationFigure toFigure(const CrossValidationReport& report) {
    return {report.k, report.epochs, report.meanTop1, report.stdTop1, report.meanF1, report.stdF1};
}

CrossValidationSession::CrossValidationSession(WorkbenchDocument* document, QObject* parent)
    : QObject(parent), m_doc(document) {
    connect(&m_job, &Job::failed, this, [this](const QString&, const QString& message) {
        m_id.clear();
        emit failed(message);
    });
    connect(&m_job, &Job::cancelled, this, [this] {
        m_id.clear();
        emit cancelled();
    });
}

int CrossValidationSession::defaultEpochs(const QString& id) const {
    const Variant* v = m_doc->variant(id);
    return v && !v->baseline && v->recipe.train ? std::max(1, v->recipe.train->epochs) : 1;
}

bool CrossValidationSession::start(const QString& id, int folds, int epochs, QString* error) {
    QString why;
    if (isRunning())
        why = tr("A cross-validation is going on: cancel it or wait for it to finish.");
    else if (folds < 2)
        why = tr("Cross-validation needs at least 2 folds.");
    else
        why = m_doc->trainBlocker(id);
    std::optional<VariantEvaluationTask> task;
    if (why.isEmpty()) {
        const Variant* v = m_doc->variant(id);
        const TrainSettings train = v && !v->baseline && v->recipe.train ? *v->recipe.train : TrainSettings{};
        task = m_doc->trainingTask(id, train);
    }
    // A teacher that cannot be had fails now, not after the training data is opened.
    if (task && !task->teacher.error.isEmpty()) {
        why = task->teacher.error;
        task.reset();
    } else if (task && task->teacher.kind == TeacherSource::Kind::File && !QFileInfo(task->teacher.file).isFile()) {
        why = tr("The distillation teacher %1 does not exist: choose the teacher's ONNX file again (Train panel).")
                  .arg(task->teacher.file);
        task.reset();
    }
    if (!task) {
        if (error) *error = why.isEmpty() ? tr("Nothing to cross-validate.") : why;
        return false;
    }
    CrossValidationSettings cv;
    cv.folds = folds;
    cv.epochs = std::max(1, epochs);
    m_id = id;
    const OpenedData cached = m_doc->openedData();
    m_job.start<VariantCrossValidation>(
        tr("Cross-validating %1 (%2 folds)").arg(task->name).arg(folds),
        [task = std::move(*task), cv, cached](const ProgressFn& progress) {
            return crossValidateVariant(task, cv, cached, progress);
        },
        [this](VariantCrossValidation result) {
            const QString id = m_id;
            m_id.clear();
            if (!result.report) {
                if (!result.error.isEmpty())
                    emit failed(result.error);
                else
                    emit cancelled();
                return;
            }
            if (!m_doc->variant(id)) {
                emit failed(tr("The variant was deleted while it was cross-validated."));
                return;
            }
            m_doc->setCrossValidation(id, toFigure(*result.report));
            emit finished(id);
        });
    emit started(id);
    return true;
}

void CrossValidationSession::cancel() { m_job.cancel(); }

}  // namespace lathe
