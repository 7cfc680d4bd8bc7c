#include "app/gui/workbench_controller.h"

#include <QAction>
#include <QActionGroup>
#include <QDir>
#include <QFileDialog>
#include <QFile>
#include <QFileInfo>
#include <QLocale>
#include <QMessageBox>
#include <QRegularExpression>
#include <QUndoStack>

#include "app/gui/cross_validation_dialog.h"
#include "app/gui/cross_validation_session.h"
#include "app/gui/dialog_folders.h"
#include "app/gui/guidance_controller.h"
#include "app/gui/model_document.h"
#include "app/gui/training_session.h"
#include "app/gui/workbench_document.h"
#include "widgets/compare_view.h"
#include "widgets/dataset_panel.h"
#include "widgets/display_format.h"
#include "widgets/layer_inspector.h"
#include "widgets/layer_table.h"
#include "widgets/tradeoff_plot.h"
#include "widgets/train_panel.h"
#include "widgets/variants_panel.h"

namespace lathe {

namespace {

const QString kProjectFilter = QStringLiteral("Lathe projects (*.latheproj);;All files (*)");

QString formatName(ExportFormat format) {
    switch (format) {
        case ExportFormat::Float: return QObject::tr("float ONNX");
        case ExportFormat::Qdq: return QObject::tr("QDQ int8 ONNX (ONNX Runtime, TensorRT)");
        case ExportFormat::QOperator: return QObject::tr("QOperator int8 ONNX (OpenCV DNN, ONNX Runtime)");
    }
    return {};
}

}  // namespace

WorkbenchController::WorkbenchController(ModelDocument* model, LayerTable* layerTable, DatasetPanel* datasetPanel,
                                         QWidget* window)
    : QObject(window),
      m_model(model),
      m_layerTable(layerTable),
      m_datasetPanel(datasetPanel),
      m_window(window),
      m_doc(new WorkbenchDocument(this)),
      m_inspector(new LayerInspector),
      m_plot(new TradeoffPlot),
      m_variants(new VariantsPanel),
      m_compare(new CompareView),
      m_trainPanel(new TrainPanel),
      m_training(new TrainingSession(m_doc, this)),
      m_crossValidation(new CrossValidationSession(m_doc, this)),
      m_guidance(new GuidanceController(m_doc, model, m_inspector, datasetPanel, window)) {
    createActions();
    connect(m_guidance, &GuidanceController::statusMessage, this, &WorkbenchController::statusMessage);
    connect(m_guidance, &GuidanceController::layerSensitivityChanged, m_layerTable, &LayerTable::setSensitivity);

    connect(m_model, &ModelDocument::modelChanged, this, &WorkbenchController::onModelChanged);
    connect(m_model, &ModelDocument::selectionChanged, this, &WorkbenchController::showLayer);
    connect(m_layerTable, &LayerTable::selectionNodesChanged, this, &WorkbenchController::updateTargets);

    connect(m_inspector, &LayerInspector::layerEdited, m_doc, &WorkbenchDocument::editLayers);
    connect(m_inspector, &LayerInspector::editFinished, m_doc, &WorkbenchDocument::sealEdit);
    connect(m_inspector, &LayerInspector::resetRequested, m_doc, &WorkbenchDocument::resetLayers);
    connect(m_inspector, &LayerInspector::globalSparsityEdited, m_doc, &WorkbenchDocument::setGlobalSparsity);
    connect(m_inspector, &LayerInspector::presetRequested, m_doc, &WorkbenchDocument::applyPreset);

    connect(m_doc, &WorkbenchDocument::recipeChanged, this, [this] {
        m_inspector->setGlobalThreshold(m_doc->globalThreshold());
        m_inspector->setRecipe(m_doc->recipe());
        QMap<int, QString> text;
        for (const QString& layer : m_doc->layerNames()) {
            const QString summary = m_doc->layerSummary(m_doc->recipe(), layer);
            if (!summary.isEmpty()) text.insert(m_doc->nodeOfLayer(layer), summary);
        }
        m_layerTable->setCompressionText(text);
        const auto& a = m_doc->recipe().activations;
        const int mode = !a || a->mode == ActivationMode::None ? 0
                         : a->mode == ActivationMode::Dynamic  ? 1
                                                               : 2 + int(a->calibration);
        m_activationGroup->actions()[mode]->setChecked(true);
        updateActions();
    });
    connect(m_doc, &WorkbenchDocument::variantsChanged, this, [this] {
        m_plot->setPoints(m_doc->tradeoffPoints());
        m_variants->setVariants(m_doc->variantRows());
        // Variants change on every progress tick of an evaluation; the comparison (whose weight overlay runs
        // previewLayer per variant) is redrawn only when what it shows changed.
        if (!m_compared.isEmpty() && comparedState() != m_comparedState) showCompared();
        updateTeacherChoices();
        updateActions();
    });
    connect(m_doc, &WorkbenchDocument::modelChanged, this,
            [this] { m_trainPanel->setLayerNames(m_doc->graph() ? m_doc->layerNames() : QStringList()); });
    connect(m_doc, &WorkbenchDocument::variantEvaluated, this, [this](const QString& id) {
        if (const Variant* v = m_doc->variant(id); v && v->metrics)
            emit statusMessage(tr("%1: top-1 %2 %, ONNX file %3, zlib of the file %4")
                                   .arg(v->name)
                                   .arg(v->metrics->top1, 0, 'f', 2)
                                   .arg(formatBytes(v->metrics->onnxBytes), formatBytes(v->metrics->zlibBytes)),
                               15000);
    });
    connect(m_doc, &WorkbenchDocument::variantFailed, this, [this](const QString& id, const QString& message) {
        const Variant* v = m_doc->variant(id);
        emit statusMessage(tr("%1 failed: %2").arg(v ? v->name : id, message), 20000);
    });
    connect(m_doc, &WorkbenchDocument::dirtyChanged, this, &WorkbenchController::titleChanged);
    connect(m_doc, &WorkbenchDocument::projectPathChanged, this, &WorkbenchController::titleChanged);
    connect(m_doc, &WorkbenchDocument::projectOpened, this, &WorkbenchController::onProjectOpened);
    connect(m_doc, &WorkbenchDocument::modelMismatch, this,
            [this](const QString& message) { error(tr("Model Changed"), message); });
    connect(m_doc, &WorkbenchDocument::errorOccurred, this,
            [this](const QString& message) { error(tr("Cannot Do That"), message); });
    connect(m_doc, &WorkbenchDocument::exportFinished, this, &WorkbenchController::onExportFinished);
    connect(m_doc, &WorkbenchDocument::exportFailed, this,
            [this](const QString& message) { error(tr("Export Failed"), message); });
    connect(m_doc, &WorkbenchDocument::autosaved, this, [this](const QString& path) {
        emit statusMessage(tr("Autosaved to %1").arg(QFileInfo(path).fileName()), 4000);
    });

    connect(m_plot, &TradeoffPlot::pointClicked, this, [this](const QString& id) {
        m_doc->loadVariant(id);
        m_variants->setCurrentId(id);
        if (const Variant* v = m_doc->variant(id)) emit statusMessage(tr("Loaded the settings of %1").arg(v->name), 5000);
    });
    connect(m_plot, &TradeoffPlot::sizeMetricChanged, this, [this](TradeoffPlot::SizeMetric metric) {
        m_doc->setPlotSizeAxis(metric == TradeoffPlot::SizeMetric::Zlib ? PlotSizeAxis::Zlib : PlotSizeAxis::Onnx);
    });
    connect(m_variants, &VariantsPanel::currentChanged, m_plot, &TradeoffPlot::setCurrent);
    connect(m_variants, &VariantsPanel::currentChanged, this, [this] { updateActions(); });
    connect(m_variants, &VariantsPanel::renameRequested, m_doc, &WorkbenchDocument::renameVariant);
    connect(m_variants, &VariantsPanel::noteEdited, m_doc, &WorkbenchDocument::setVariantNote);
    connect(m_variants, &VariantsPanel::duplicateRequested, m_doc, &WorkbenchDocument::duplicateVariant);
    connect(m_variants, &VariantsPanel::deleteRequested, m_doc, &WorkbenchDocument::removeVariants);
    connect(m_variants, &VariantsPanel::loadRequested, m_doc, &WorkbenchDocument::loadVariant);
    connect(m_variants, &VariantsPanel::evaluateRequested, m_doc, &WorkbenchDocument::reevaluate);
    connect(m_variants, &VariantsPanel::compareRequested, this, &WorkbenchController::compare);
    connect(m_variants, &VariantsPanel::exportRequested, this, [this](const QString& id) { exportVariant(id); });
    connect(m_variants, &VariantsPanel::selectionChanged, this, [this] { updateActions(); });
    connect(m_variants, &VariantsPanel::trainRequested, this, [this](const QString& id) { openTrainPanel(id); });
    connect(m_variants, &VariantsPanel::crossValidateRequested, this, [this](const QString& id) { crossValidate(id); });
    connect(m_crossValidation, &CrossValidationSession::started, this, [this] { updateActions(); });
    connect(m_crossValidation, &CrossValidationSession::finished, this, [this](const QString& id) {
        updateActions();
        if (const Variant* v = m_doc->variant(id); v && v->crossValidation)
            emit statusMessage(tr("%1: cross-validated top-1 %2").arg(v->name, crossValidationText(*v->crossValidation)),
                               20000);
    });
    connect(m_crossValidation, &CrossValidationSession::failed, this, [this](const QString& message) {
        updateActions();
        error(tr("Cross-Validation Failed"), message);
    });
    connect(m_crossValidation, &CrossValidationSession::cancelled, this, [this] {
        updateActions();
        emit statusMessage(tr("Cross-validation cancelled: nothing was stored."), 8000);
    });
    connect(m_datasetPanel, &DatasetPanel::settingsChanged, this, [this] { updateActions(); });

    // Training: the panel asks, the session runs, the document receives the new variant.
    connect(m_trainPanel, &TrainPanel::startRequested, this, &WorkbenchController::startTraining);
    connect(m_trainPanel, &TrainPanel::cancelRequested, m_training, &TrainingSession::cancel);
    connect(m_trainPanel, &TrainPanel::trainSpecChanged, this, [this](const QString& spec) {
        m_doc->setTrainDataSpec(spec);
        updateTrainState();
    });
    connect(m_training, &TrainingSession::started, this, [this] {
        m_trainPanel->setRunning(true);
        updateTrainState();
    });
    connect(m_training->job(), &Job::progressChanged, m_trainPanel, &TrainPanel::setProgress);
    connect(m_training, &TrainingSession::epochFinished, this,
            [this](const EpochRecord& e) { m_trainPanel->addEpoch(toEpochPoint(e)); });
    connect(m_training, &TrainingSession::finished, this, [this](const QString& id) {
        m_trainPanel->setRunning(false);
        if (const Variant* v = m_doc->variant(id); v && v->metrics) {
            const Variant* parent = m_doc->variant(v->parentId);
            QString text = tr("Added %1: top-1 %2 %").arg(v->name).arg(v->metrics->top1, 0, 'f', 2);
            if (parent && parent->metrics)
                text += tr(" (%1: %2 %)").arg(parent->name).arg(parent->metrics->top1, 0, 'f', 2);
            if (!v->note.isEmpty()) text += QStringLiteral(" — ") + v->note;
            m_trainPanel->setStatus(text);
            emit statusMessage(text, 15000);
            m_variants->setCurrentId(id);
        }
        updateTrainState();
    });
    connect(m_training, &TrainingSession::failed, this, [this](const QString& message) {
        m_trainPanel->setRunning(false);
        m_trainPanel->setStatus(tr("Training failed: %1").arg(message));
        updateTrainState();
        error(tr("Training Failed"), message);
    });
    connect(m_training, &TrainingSession::cancelled, this, [this] {
        m_trainPanel->setRunning(false);
        m_trainPanel->setStatus(tr("Cancelled before the first epoch finished: nothing was added."));
        updateTrainState();
    });
    updateActions();
}

void WorkbenchController::createActions() {
    m_newProject = new QAction(tr("&New Project"), this);
    m_newProject->setShortcut(QKeySequence::New);
    m_newProject->setToolTip(tr("Forget the variants and settings; keep the open model (Ctrl+N)"));
    connect(m_newProject, &QAction::triggered, this, [this] {
        if (confirmDiscard()) m_doc->newProject();
    });
    m_openProject = new QAction(tr("Open &Project…"), this);
    m_openProject->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
    m_openProject->setToolTip(tr("Open a Lathe project: its model, data set, settings and variants (Ctrl+Shift+O)"));
    connect(m_openProject, &QAction::triggered, this, [this] {
        if (!confirmDiscard()) return;
        const QString fallback = m_doc->projectPath().isEmpty() ? QFileInfo(m_doc->modelPath()).absolutePath()
                                                                : QFileInfo(m_doc->projectPath()).absolutePath();
        const QString path = QFileDialog::getOpenFileName(
            m_window, tr("Open Project"), lastDialogFolder(DialogFolder::Project, fallback), kProjectFilter);
        if (path.isEmpty()) return;
        rememberDialogFolder(DialogFolder::Project, path);
        openProject(path);
    });
    m_saveProject = new QAction(QIcon(QStringLiteral(":/lathe/icons/save.svg")), tr("&Save Project"), this);
    m_saveProject->setShortcut(QKeySequence::Save);
    m_saveProject->setToolTip(tr("Save the model path, data set, settings and variants (Ctrl+S)"));
    connect(m_saveProject, &QAction::triggered, this, &WorkbenchController::saveProject);
    m_saveProjectAs = new QAction(tr("Save Project &As…"), this);
    m_saveProjectAs->setShortcut(QKeySequence::SaveAs);
    connect(m_saveProjectAs, &QAction::triggered, this, [this] { saveProjectAs(); });

    m_export = new QAction(QIcon(QStringLiteral(":/lathe/icons/export.svg")), tr("E&xport Variant…"), this);
    m_export->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_X));
    m_export->setToolTip(tr("Write the current variant as float, QDQ or QOperator ONNX and check the file (Ctrl+Shift+X)"));
    connect(m_export, &QAction::triggered, this, [this] { exportVariant(); });

    m_undo = m_doc->undoStack()->createUndoAction(this, tr("&Undo"));
    m_undo->setShortcut(QKeySequence::Undo);
    m_redo = m_doc->undoStack()->createRedoAction(this, tr("&Redo"));
    m_redo->setShortcut(QKeySequence::Redo);

    m_evaluateVariant =
        new QAction(QIcon(QStringLiteral(":/lathe/icons/variant.svg")), tr("Evaluate &Variant"), this);
    m_evaluateVariant->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    m_evaluateVariant->setToolTip(
        tr("Turn the current settings into a named variant and measure its accuracy and size in the background "
           "(Ctrl+R)"));
    m_evaluateVariant->setStatusTip(m_evaluateVariant->toolTip());
    connect(m_evaluateVariant, &QAction::triggered, this, &WorkbenchController::evaluateVariant);

    // Activations: one checkable choice for the whole model, stored in the recipe (undoable).
    m_activationGroup = new QActionGroup(this);
    const QList<std::pair<QString, std::optional<Calibration>>> modes = {
        {tr("Float Activations"), std::nullopt},
        {tr("Dynamic 8-bit (ranges at run time)"), std::nullopt},
        {tr("Static 8-bit, Min-Max Calibration"), Calibration::MinMax},
        {tr("Static 8-bit, Percentile Calibration"), Calibration::Percentile},
        {tr("Static 8-bit, Entropy Calibration"), Calibration::Entropy}};
    for (int i = 0; i < modes.size(); ++i) {
        QAction* a = m_activationGroup->addAction(modes[i].first);
        a->setCheckable(true);
        a->setData(i);
        connect(a, &QAction::triggered, this, [this, i, calibration = modes[i].second] {
            Recipe r = m_doc->recipe();
            if (i == 0) {
                r.activations.reset();
            } else {
                ActivationSettings settings = r.activations.value_or(ActivationSettings{});
                settings.mode = i == 1 ? ActivationMode::Dynamic : ActivationMode::Static;
                if (calibration) settings.calibration = *calibration;
                r.activations = settings;
            }
            m_doc->setRecipe(r, tr("activations: %1").arg(m_activationGroup->actions()[i]->text()));
        });
    }
    m_activationGroup->actions().front()->setChecked(true);

    m_compareAction = new QAction(tr("&Compare Selected Variants"), this);
    m_compareAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C));
    m_compareAction->setToolTip(tr("Show the variants selected in the list side by side (Ctrl+Shift+C)"));
    connect(m_compareAction, &QAction::triggered, this, [this] { compare(m_variants->selectedIds()); });

    m_train = new QAction(tr("&Train…"), this);
    m_train->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_T));
    connect(m_train, &QAction::triggered, this, [this] { openTrainPanel(); });

    m_crossValidate = new QAction(tr("Cross-&Validate…"), this);
    m_crossValidate->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_T));
    connect(m_crossValidate, &QAction::triggered, this, [this] { crossValidate(); });
}

void WorkbenchController::crossValidate(const QString& id, int folds, int epochs) {
    const QString target = id.isEmpty() ? m_variants->currentId() : id;
    const std::optional<EvaluationSettings> settings = m_datasetPanel->validate();
    if (!settings) {
        error(tr("Cannot Cross-Validate"), tr("Cannot cross-validate: %1").arg(m_datasetPanel->firstError()));
        return;
    }
    m_doc->setEvaluationSettings(*settings);
    m_doc->setTrainDataSpec(m_trainPanel->trainSpec());
    const Variant* v = m_doc->variant(target);
    if (folds <= 0) {
        CrossValidationChoice choice{5, epochs > 0 ? epochs : m_crossValidation->defaultEpochs(target)};
        if (m_dialogsEnabled && v) {
            const auto asked = askCrossValidation(m_window, v->name, choice);
            if (!asked) return;
            choice = *asked;
        }
        folds = choice.folds;
        epochs = choice.epochs;
    }
    if (epochs <= 0) epochs = m_crossValidation->defaultEpochs(target);
    QString why;
    if (!m_crossValidation->start(target, folds, epochs, &why)) error(tr("Cannot Cross-Validate"), why);
}

QList<QAction*> WorkbenchController::activationActions() const { return m_activationGroup->actions(); }

void WorkbenchController::onModelChanged() {
    m_doc->setModel(m_model->graph(), m_model->path(), m_model->channelGroups());
    m_inspector->clearLayer();
    m_compared.clear();
    m_comparedState.clear();
    m_compare->clear();
    updateActions();
    emit titleChanged();
}

void WorkbenchController::showLayer(int nodeIndex) {
    const QString layer = m_doc->layerOfNode(nodeIndex);
    if (layer.isEmpty()) {
        m_inspector->clearLayer();
        return;
    }
    m_inspector->setLayer(m_doc->inspectorLayer(layer), m_doc->recipe());
    m_inspector->setGlobalThreshold(m_doc->globalThreshold());
    updateTargets();
}

void WorkbenchController::updateTargets() {
    QStringList targets;
    for (int node : m_layerTable->selectedNodes()) {
        const QString layer = m_doc->layerOfNode(node);
        if (!layer.isEmpty()) targets << layer;
    }
    m_inspector->setTargetLayers(targets);
}

void WorkbenchController::updateActions() {
    const bool hasModel = m_doc->graph() != nullptr;
    updateTrainState();
    m_evaluateVariant->setEnabled(hasModel);
    m_export->setEnabled(hasModel && !m_doc->variants().empty());
    m_compareAction->setEnabled(m_variants->selectedIds().size() >= 2);
    m_saveProject->setEnabled(hasModel);
    m_saveProjectAs->setEnabled(hasModel);
}

void WorkbenchController::updateTrainState() {
    QString why;
    if (!m_doc->graph())
        why = tr("Open a model first: training starts from one of its variants.");
    else if (m_datasetPanel->specText().trimmed().isEmpty())
        why = tr("Choose a data set first (Data Set panel): training needs images and labels.");
    m_train->setEnabled(why.isEmpty());
    m_train->setToolTip(why.isEmpty() ? tr("Train the current variant with its compression kept (fine-tuning, L1 "
                                           "sparsification, distillation, ...); the result is a new variant (Ctrl+T)")
                                      : why);
    m_train->setStatusTip(m_train->toolTip());
    const QString cvWhy = !why.isEmpty()                     ? why
                          : m_crossValidation->isRunning()   ? tr("A cross-validation is going on (Cancel in the status bar).")
                          : m_variants->currentId().isEmpty() ? tr("Select a variant to cross-validate.")
                                                              : QString();
    m_crossValidate->setEnabled(cvWhy.isEmpty());
    m_crossValidate->setToolTip(
        cvWhy.isEmpty() ? tr("Cross-validate the current variant: train it on K−1 stratified folds of the training "
                             "data and measure it on the held-out fold, K times; its top-1 as mean ± std "
                             "(Ctrl+Shift+T)")
                        : cvWhy);
    m_crossValidate->setStatusTip(m_crossValidate->toolTip());
    if (m_training->isRunning()) return;
    const EvaluationSettings& settings = m_doc->evaluationSettings();
    const bool noSplit = !settings.specText.isEmpty() && settings.spec.kind != DatasetKind::Idx;
    m_trainPanel->setTrainSpecNeeded(
        noSplit, tr("%1 has no train split. Give other images to train on (a second SPEC): training on the "
                    "evaluation images would make the accuracy measured after training meaningless.")
                     .arg(settings.specText));
    m_trainPanel->setTrainSpec(m_doc->trainDataSpec());
    QString blocker = !why.isEmpty() ? why : m_doc->trainBlocker(m_trainId);
    if (noSplit && m_doc->trainDataSpec().isEmpty()) blocker.clear();  // the SPEC field says what is missing
    m_trainPanel->setBlocker(blocker);
}

void WorkbenchController::openTrainPanel(const QString& id) {
    const QString target = id.isEmpty() ? m_variants->currentId() : id;
    if (const std::optional<EvaluationSettings> settings = m_datasetPanel->validate())
        m_doc->setEvaluationSettings(*settings);
    if (!m_training->isRunning()) {
        m_trainId = target;
        const Variant* v = m_doc->variant(target);
        m_trainPanel->setVariantName(v ? v->name : QString());
        if (v && v->recipe.train) m_trainPanel->setSettings(*v->recipe.train);
    }
    updateTrainState();
    emit trainPanelShown();
}

void WorkbenchController::startTraining(const TrainSettings& settings) {
    const std::optional<EvaluationSettings> evaluation = m_datasetPanel->validate();
    if (!evaluation) {
        m_trainPanel->setStatus(tr("Cannot train: %1").arg(m_datasetPanel->firstError()));
        return;
    }
    m_doc->setEvaluationSettings(*evaluation);
    m_doc->setTrainDataSpec(m_trainPanel->trainSpec());
    QString why;
    if (!m_training->start(m_trainId, settings, &why)) {
        m_trainPanel->setStatus(tr("Cannot train: %1").arg(why));
        emit statusMessage(tr("Cannot train: %1").arg(why), 20000);
        updateTrainState();
    }
}

void WorkbenchController::updateTeacherChoices() {
    // Every variant but the baseline (which is the teacher "Baseline" already); rebuilt only when names or ids change,
    // not on every progress tick.
    std::vector<TeacherChoice> choices;
    QStringList state;
    for (const Variant& v : m_doc->variants()) {
        if (v.baseline) continue;
        choices.push_back({variantTeacherKey(v.id), v.name});
        state << v.id << v.name;
    }
    if (state == m_teacherChoicesState) return;
    m_teacherChoicesState = state;
    m_trainPanel->setTeacherChoices(choices);
}

QString WorkbenchController::titleText() const {
    const QString project =
        m_doc->projectPath().isEmpty() ? tr("Untitled project") : QFileInfo(m_doc->projectPath()).fileName();
    return project + QStringLiteral("[*]");
}

void WorkbenchController::error(const QString& title, const QString& message) {
    emit statusMessage(message, 20000);
    if (!m_dialogsEnabled) return;
    auto* box = new QMessageBox(QMessageBox::Warning, title, message, QMessageBox::Ok, m_window);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

void WorkbenchController::evaluateVariant() {
    if (!m_doc->graph()) return;
    const std::optional<EvaluationSettings> settings = m_datasetPanel->validate();
    if (!settings) {
        error(tr("Cannot Evaluate"), tr("Cannot evaluate a variant: %1").arg(m_datasetPanel->firstError()));
        return;
    }
    m_doc->setEvaluationSettings(*settings);
    // A recipe that is exactly a preset is named after it; others get "Variant N" (rename in the list).
    QString name;
    const std::string current = writeRecipe(m_doc->recipe());
    const QList<std::pair<RecipePreset, QString>> presets = {{RecipePreset::Int8, tr("int8 per-channel")},
                                                             {RecipePreset::Int4Weights, tr("4-bit weights")},
                                                             {RecipePreset::DeepCompression, tr("Deep Compression")}};
    for (const auto& [preset, presetName] : presets)
        if (writeRecipe(m_doc->presetRecipe(preset)) == current) name = presetName;
    const QString id = m_doc->evaluateCurrent(name);
    if (!id.isEmpty()) m_variants->setCurrentId(id);
}

QStringList WorkbenchController::comparedState() const {
    QStringList state;
    for (const QString& id : m_compared)
        if (const Variant* v = m_doc->variant(id); v && v->metrics)
            state << id + '\t' + v->name + '\t' + QString::number(v->metrics->top1, 'g', 17) + '\t' +
                         QString::number(v->metrics->onnxBytes) + '\t' +
                         (v->crossValidation ? crossValidationText(*v->crossValidation) : QString());
    return state;
}

void WorkbenchController::showCompared() {
    // Deleted or re-queued variants leave the comparison.
    QStringList still;
    for (const QString& id : m_compared)
        if (const Variant* v = m_doc->variant(id); v && v->metrics) still << id;
    m_compared = still;
    m_comparedState = comparedState();
    if (m_compared.size() < 2) {
        m_compared.clear();
        m_comparedState.clear();
        m_compare->clear();
        return;
    }
    m_compare->setColumns(m_doc->compareColumns(m_compared), m_doc->classNames(),
                          [doc = m_doc, ids = m_compared](const QString& layer) { return doc->layerValues(ids, layer); });
}

void WorkbenchController::compare(const QStringList& ids) {
    QStringList evaluated;
    for (const QString& id : ids)
        if (const Variant* v = m_doc->variant(id); v && v->metrics) evaluated << id;
    if (evaluated.size() < 2) {
        error(tr("Compare Variants"), tr("Select two or more evaluated variants in the Variants list to compare them."));
        return;
    }
    m_compared = evaluated;
    showCompared();
    const QString layer = m_doc->layerOfNode(m_model->selectedNode());
    if (!layer.isEmpty()) m_compare->setHistogramLayer(layer);
    emit compareShown();
}

void WorkbenchController::exportVariant(const QString& requestedId, const QString& requestedPath,
                                        const QString& requestedFormat) {
    QString id = requestedId.isEmpty() ? m_variants->currentId() : requestedId;
    if (id.isEmpty() && !m_doc->variants().empty()) id = m_doc->variants().back().id;
    const Variant* v = m_doc->variant(id);
    if (!v) {
        error(tr("Export"), tr("Evaluate a variant first (Ctrl+R), then choose it in the Variants list to export it."));
        return;
    }
    const bool quantized = v->metrics ? v->metrics->format == QStringLiteral("qdq") : false;
    const bool staticActivations =
        v->recipe.activations && v->recipe.activations->mode == ActivationMode::Static;
    QString path = requestedPath;
    ExportFormat format = quantized ? ExportFormat::Qdq : ExportFormat::Float;
    if (!requestedFormat.isEmpty()) {
        if (auto parsed = parseExportFormat(requestedFormat.toStdString())) format = *parsed;
    }
    if (path.isEmpty()) {
        const QStringList filters{tr("Float ONNX (*.onnx)"), tr("QDQ int8 ONNX — ONNX Runtime, TensorRT (*.onnx)"),
                                  tr("QOperator int8 ONNX — OpenCV DNN (*.onnx)")};
        QString selected = filters[format == ExportFormat::Qdq ? 1 : 0];
        if (staticActivations) selected = filters[1];
        path = QFileDialog::getSaveFileName(m_window, tr("Export %1").arg(v->name), suggestedExportPath(id),
                                            filters.join(";;"), &selected);
        if (path.isEmpty()) return;
        rememberDialogFolder(DialogFolder::Export, path);
        if (!path.endsWith(QStringLiteral(".onnx"), Qt::CaseInsensitive)) path += QStringLiteral(".onnx");
        format = selected == filters[2] ? ExportFormat::QOperator
                 : selected == filters[1] ? ExportFormat::Qdq
                                          : ExportFormat::Float;
    }
    if (QFileInfo(path).absoluteFilePath() == QFileInfo(m_doc->modelPath()).absoluteFilePath()) {
        error(tr("Export"), tr("%1 is the model you opened; Lathe never overwrites it. Choose another file name.")
                                .arg(path));
        return;
    }
    if (const std::optional<EvaluationSettings> settings = m_datasetPanel->validate())
        m_doc->setEvaluationSettings(*settings);
    emit statusMessage(tr("Exporting %1 as %2…").arg(v->name, formatName(format)), 0);
    m_doc->exportVariant(id, format, path);
}

void WorkbenchController::onExportFinished(const ExportSummary& s) {
    const Variant* v = m_doc->variant(s.variantId);
    QStringList lines;
    lines << tr("Wrote %1").arg(QDir::toNativeSeparators(s.path));
    lines << tr("Format: %1").arg(formatName(s.format));
    const auto pct = [](int64_t a, int64_t b) { return b > 0 ? 100.0 * double(a) / double(b) : 0.0; };
    lines << tr("ONNX file: %1 (%2 % of the original's %3)")
                 .arg(formatBytes(s.size.onnxBytes))
                 .arg(pct(s.size.onnxBytes, s.originalSize.onnxBytes), 0, 'f', 1)
                 .arg(formatBytes(s.originalSize.onnxBytes));
    lines << tr("zlib of the file (level 9): %1 (%2 % of the original's %3)")
                 .arg(formatBytes(s.size.zlibBytes))
                 .arg(pct(s.size.zlibBytes, s.originalSize.zlibBytes), 0, 'f', 1)
                 .arg(formatBytes(s.originalSize.zlibBytes));
    if (s.weightBytes > 0)
        lines << tr("Weights at their bits: %1 (bits × weights / 8, before the file format)")
                     .arg(formatBytes(s.weightBytes));
    if (s.reloadedTop1) {
        QString line = tr("Read back and evaluated: top-1 %1 % on %2 images").arg(*s.reloadedTop1, 0, 'f', 2)
                           .arg(formatCount(s.reloadedSamples));
        if (v && v->metrics) line += tr(" (the variant measured %1 %)").arg(v->metrics->top1, 0, 'f', 2);
        lines << line;
    } else {
        lines << tr("Not evaluated after writing: no data set.");
    }
    for (const QString& note : s.notes) lines << QStringLiteral("• ") + note;
    const QString text = lines.join('\n');
    emit exportSummaryReady(text);
    emit statusMessage(tr("Exported %1 to %2").arg(v ? v->name : QString(), QFileInfo(s.path).fileName()), 15000);
    if (!m_dialogsEnabled) return;
    auto* box = new QMessageBox(QMessageBox::Information, tr("Export Finished"),
                                tr("Exported %1.").arg(v ? v->name : QFileInfo(s.path).fileName()), QMessageBox::Ok,
                                m_window);
    box->setInformativeText(text);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

bool WorkbenchController::openProject(const QString& path) {
    QString why;
    if (m_dialogsEnabled && QFileInfo::exists(path) && WorkbenchDocument::hasRecoverableAutosave(path) &&
        QMessageBox::question(m_window, tr("Recover Unsaved Work"),
                              tr("%1 has autosaved changes newer than the file. Open those instead?")
                                  .arg(QFileInfo(path).fileName()),
                              QMessageBox::Yes | QMessageBox::No, QMessageBox::Yes) == QMessageBox::Yes) {
        if (m_doc->recoverAutosave(path, &why)) {
            emit statusMessage(tr("Recovered the autosaved changes of %1").arg(QFileInfo(path).fileName()), 8000);
            return true;
        }
        error(tr("Cannot Recover"), why);
    }
    if (!m_doc->openProject(path, &why)) {
        error(tr("Cannot Open Project"), why);
        return false;
    }
    emit statusMessage(tr("Opened project %1").arg(QFileInfo(path).fileName()), 8000);
    return true;
}

void WorkbenchController::onProjectOpened(const QString& modelPath) {
    pushDatasetToPanel();
    m_plot->setSizeMetric(m_doc->plotSizeAxis() == PlotSizeAxis::Zlib ? TradeoffPlot::SizeMetric::Zlib
                                                                      : TradeoffPlot::SizeMetric::Onnx);
    if (!modelPath.isEmpty() && QFileInfo(modelPath).absoluteFilePath() != QFileInfo(m_model->path()).absoluteFilePath())
        m_model->open(modelPath);
    else if (m_model->selectedNode() >= 0)
        showLayer(m_model->selectedNode());
    emit titleChanged();
}

void WorkbenchController::pushDatasetToPanel() {
    const EvaluationSettings& s = m_doc->evaluationSettings();
    if (s.specText.isEmpty()) return;
    m_datasetPanel->setSpecText(s.specText);
    if (s.dataset.split) m_datasetPanel->setSplit(*s.dataset.split);
    m_datasetPanel->setLimit(int(s.eval.limit));
    m_datasetPanel->setBatchSize(int(s.eval.batchSize));
    m_datasetPanel->setBackend(s.eval.backend);
    m_datasetPanel->setFolds(int(s.eval.folds));
}

bool WorkbenchController::saveProject() {
    if (m_doc->projectPath().isEmpty()) return saveProjectAs();
    QString why;
    if (!m_doc->saveProject(m_doc->projectPath(), &why)) {
        error(tr("Cannot Save Project"), why);
        return false;
    }
    emit statusMessage(tr("Saved %1").arg(QFileInfo(m_doc->projectPath()).fileName()), 5000);
    return true;
}

bool WorkbenchController::saveProjectAs(const QString& requestedPath) {
    QString path = requestedPath;
    if (path.isEmpty()) {
        path = QFileDialog::getSaveFileName(m_window, tr("Save Project"), suggestedProjectPath(), kProjectFilter);
        if (path.isEmpty()) return false;
        rememberDialogFolder(DialogFolder::Project, path);
        if (!path.endsWith(QStringLiteral(".latheproj"))) path += QStringLiteral(".latheproj");
    }
    if (const std::optional<EvaluationSettings> settings = m_datasetPanel->validate())
        m_doc->setEvaluationSettings(*settings);
    QString why;
    if (!m_doc->saveProject(path, &why)) {
        error(tr("Cannot Save Project"), why);
        return false;
    }
    emit statusMessage(tr("Saved %1").arg(QFileInfo(path).fileName()), 5000);
    return true;
}

QString WorkbenchController::suggestedProjectPath() const {
    if (!m_doc->projectPath().isEmpty()) return m_doc->projectPath();
    const QFileInfo model(m_doc->modelPath());
    const QString name = (model.completeBaseName().isEmpty() ? QStringLiteral("untitled") : model.completeBaseName()) +
                         QStringLiteral(".latheproj");
    return QDir(lastDialogFolder(DialogFolder::Project, model.absolutePath())).filePath(name);
}

QString WorkbenchController::suggestedExportPath(const QString& id) const {
    const Variant* v = m_doc->variant(id);
    const QFileInfo model(m_doc->modelPath());
    QString stem = v ? v->name : QStringLiteral("variant");
    stem.replace(QRegularExpression(QStringLiteral("[^A-Za-z0-9_.-]+")), QStringLiteral("_"));
    return QDir(lastDialogFolder(DialogFolder::Export, model.absolutePath()))
        .filePath(model.completeBaseName() + '_' + stem + ".onnx");
}

bool WorkbenchController::offerRecovery() {
    if (!m_dialogsEnabled || !WorkbenchDocument::hasRecoverableAutosave({})) return false;
    const QFileInfo file(WorkbenchDocument::autosavePathFor({}));
    const auto answer = QMessageBox::question(
        m_window, tr("Recover Unsaved Work"),
        tr("Lathe found settings and variants autosaved at %1 that were never saved to a project. Recover them?")
            .arg(QLocale().toString(file.lastModified(), QLocale::ShortFormat)),
        QMessageBox::Yes | QMessageBox::Discard, QMessageBox::Yes);
    if (answer != QMessageBox::Yes) {
        QFile::remove(file.absoluteFilePath());
        return false;
    }
    QString why;
    if (m_doc->recoverAutosave({}, &why)) return true;
    error(tr("Cannot Recover"), why);
    return false;
}

bool WorkbenchController::confirmDiscard() {
    if (!m_doc->isDirty()) return true;
    if (!m_dialogsEnabled) return true;
    const auto answer = QMessageBox::question(
        m_window, tr("Unsaved Changes"),
        tr("The project has unsaved settings or variants. Save them first?"),
        QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel, QMessageBox::Save);
    if (answer == QMessageBox::Cancel) return false;
    if (answer == QMessageBox::Save) return saveProject();
    m_doc->discardAutosave();
    return true;
}

}  // namespace lathe
