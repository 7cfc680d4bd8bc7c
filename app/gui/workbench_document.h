#pragma once

#include <QDateTime>
#include <QFutureWatcher>
#include <QObject>
#include <QString>
#include <QStringList>
#include <QThreadPool>
#include <memory>
#include <optional>
#include <vector>

#include "app/gui/job.h"
#include "app/gui/project_file.h"
#include "app/gui/recipe_editor.h"
#include "app/gui/variant_evaluation_queue.h"
#include "app/gui/variant_jobs.h"
#include "app/gui/workbench_project.h"
#include "core/compress/prune/channel_groups.h"
#include "core/compress/recipe.h"
#include "core/export/onnx_export.h"
#include "core/model/graph.h"
#include "widgets/compare_view.h"
#include "widgets/dataset_panel.h"
#include "widgets/layer_inspector.h"
#include "widgets/tradeoff_plot.h"
#include "widgets/variants_panel.h"

namespace lathe {

// A named set of settings and, once evaluated, its metrics.
struct Variant {
    using State = VariantRow::State;
    QString id;
    QString name;
    QString note;
    bool baseline = false;  // the float model as read
    Recipe recipe;
    State state = State::NotEvaluated;
    float progress = 0;
    QString error;
    std::optional<VariantMetrics> metrics;
    QDateTime created;
    QString parentId;                   // the variant it was trained from (TrainingSession); empty: none
    std::vector<EpochRecord> history;  // its training epochs (saved with the project)
    // The trained weights of a recipe with a train section, in memory only (export reuses them; after reopening a
    // project, evaluating trains again, seeded: the same weights on the same machine).
    std::shared_ptr<const CompressedModel> trained;
    // Its cross-validated accuracy (CrossValidationSession), saved with the project.
    std::optional<CrossValidationFigure> crossValidation;
};

// The workbench state behind the compression views, and the one object they talk to (through the functions and signals
// below): the model and data set, the recipe being edited (RecipeEditor: undo, merged slider moves), the variants and
// their evaluations (VariantEvaluationQueue: one Job off the UI thread with progress and Cancel), export of a variant,
// and the project file (WorkbenchProject: saved atomically, dirty flag, autosave). It owns the variant list: the
// evaluation queue and any other job change variants only through it.
class WorkbenchDocument : public QObject {
    Q_OBJECT

public:
    static constexpr int kProjectVersion = ProjectFile::kVersion;
    static constexpr int kDefaultAutosaveMs = WorkbenchProject::kDefaultAutosaveMs;

    explicit WorkbenchDocument(QObject* parent = nullptr);
    ~WorkbenchDocument() override;

    // --- Model ----------------------------------------------------------------------------------------------------
    // The model being compressed. The same path as the project's model keeps recipe and variants (after open());
    // another path starts a fresh project. Null clears. `channelGroups` are the model's when known already (the
    // window finds them while loading); otherwise they are found here.
    void setModel(std::shared_ptr<const Graph> model, const QString& path,
                  std::shared_ptr<const ChannelGroups> channelGroups = {});
    std::shared_ptr<const Graph> graph() const { return m_editor.graph(); }
    QString modelPath() const { return m_modelPath; }
    // SHA-256 (hex) of the model file; empty until computed (off the UI thread) or when unreadable.
    QString modelSha256() const;
    // Node names of the compressible layers, in node order.
    QStringList layerNames() const { return m_editor.layerNames(); }
    // The compressible layer of node `nodeIndex` (its node name), or empty.
    QString layerOfNode(int nodeIndex) const;
    int nodeOfLayer(const QString& layer) const { return m_editor.nodeOfLayer(layer); }
    // The layer as the inspector needs it; an empty weight when `layer` is not compressible.
    InspectorLayer inspectorLayer(const QString& layer) const;

    // --- Data set -------------------------------------------------------------------------------------------------
    void setEvaluationSettings(const EvaluationSettings& settings);
    const EvaluationSettings& evaluationSettings() const { return m_evalSettings; }
    // Training data of folder:/npy: data sets (a second SPEC; IDX sets train on their train split). Saved.
    void setTrainDataSpec(const QString& spec);
    QString trainDataSpec() const { return m_evalSettings.specText.isEmpty() ? QString() : m_trainSpec; }
    // What Model ▸ Evaluate measured on the current model: saved with the project (the Evaluation panel shows it again
    // after reopening) and reused as the float baseline's accuracy by evaluateCurrent() while the data set settings
    // are the same (no second run). Dropped with the model. Marks the project dirty.
    void setBaselineEvaluation(const EvaluationSettings& settings, const QStringList& classNames,
                               const EvalReport& report);
    const std::optional<BaselineEvaluation>& baselineEvaluation() const { return m_baselineEvaluation; }
    // The settings `evaluation` ran with, as the data set panel holds them.
    static EvaluationSettings settingsOf(const BaselineEvaluation& evaluation);
    // Whether two evaluation settings measure the same thing (data set, split, preprocessing, limit, order, folds,
    // seed, backend, latency samples).
    static bool sameEvaluation(const EvaluationSettings& a, const EvaluationSettings& b);
    // The trade-off plot's size axis, saved with the project (a view setting: it does not mark the project dirty).
    // The last sensitivity scan, kept with the project (SensitivitySession stores and restores it).
    void setSensitivity(const ProjectSensitivity& sensitivity);
    const std::optional<ProjectSensitivity>& sensitivity() const { return m_sensitivity; }
    void setPlotSizeAxis(PlotSizeAxis axis) { m_sizeAxis = axis; }
    PlotSizeAxis plotSizeAxis() const { return m_sizeAxis; }

    // --- Recipe (undoable) ----------------------------------------------------------------------------------------
    const Recipe& recipe() const { return m_editor.recipe(); }
    LayerSettings settingsOf(const QString& layer) const { return m_editor.settingsOf(layer); }
    // The global_prune magnitude cut of the current recipe (nullopt without a global sparsity).
    std::optional<double> globalThreshold() const { return m_editor.globalThreshold(); }
    QUndoStack* undoStack() const { return m_editor.undoStack(); }
    // Replaces the recipe as one undo step.
    void setRecipe(const Recipe& recipe, const QString& description) { m_editor.setRecipe(recipe, description); }
    // Recipe of a preset for this model. Deep Compression: per layer, sparsity 30 % and 8-bit k-means (< 2,000
    // weights), 75 % and 5 bits (the classifier), 85 % and 5 bits (Conv), 95 % and 4 bits (others); its train section
    // ramps the sparsity from 50 % over the first of 3 epochs (cosine, lr 0.02), then retrains the centroids 1 epoch.
    // On the demo LeNet-5: 42x smaller by the paper's count at 90.85 % (float 91.53 %).
    Recipe presetRecipe(RecipePreset preset) const { return m_editor.presetRecipe(preset); }
    // One-line summary per compressed layer, for tooltips ("fc1  80 % zeros · 5-bit k-means").
    QString recipeSummary(const Recipe& recipe) const { return m_editor.recipeSummary(recipe); }
    // The settings of one layer in `recipe` as one line ("80 % zeros · 5-bit k-means"); empty when it stays float.
    QString layerSummary(const Recipe& recipe, const QString& layer) const {
        return m_editor.layerSummary(recipe, layer);
    }

public slots:
    // Applies `edit` to the own entries of `layers` as one undo step (merged with the previous step when both carry the
    // same merge key and no sealEdit() came between).
    void editLayers(const QStringList& layers, const lathe::LayerEdit& edit) { m_editor.editLayers(layers, edit); }
    // Ends the running merge (a slider was released).
    void sealEdit() { m_editor.sealEdit(); }
    // Removes the own entries of `layers`.
    void resetLayers(const QStringList& layers) { m_editor.resetLayers(layers); }
    // Sets or clears the whole-model sparsity; consecutive changes merge until sealEdit().
    void setGlobalSparsity(std::optional<double> sparsity) { m_editor.setGlobalSparsity(sparsity); }
    void applyPreset(lathe::RecipePreset preset) { m_editor.applyPreset(preset); }

public:
    // --- Variants -------------------------------------------------------------------------------------------------
    // Turns the current recipe into a variant named `name` (default "Variant N") and queues its evaluation (and the
    // float baseline's, first, when there is none yet). Returns its id; empty without a model.
    QString evaluateCurrent(const QString& name = {});
    // Queues the evaluation of an existing variant again.
    void reevaluate(const QString& id);
    // Stops the running evaluation and drops the queue; those variants become "not evaluated".
    void cancelEvaluation();
    bool isEvaluating() const { return m_evaluations.isRunning(); }
    // The job evaluating variants (title, progress, cancel) for a TaskProgress strip.
    Job* evaluationJob() { return m_evaluations.job(); }
    QString runningVariant() const { return m_evaluations.running(); }

    const std::vector<Variant>& variants() const { return m_variants; }
    const Variant* variant(const QString& id) const;
    QString baselineId() const;
    void renameVariant(const QString& id, const QString& name);
    void setVariantNote(const QString& id, const QString& note);
    // Adds `variant` under a new id (its own is ignored), created now, right after variant `after` (at the end when
    // there is none); a queued or running state becomes "not evaluated". Marks the project dirty, emits
    // variantsChanged() and returns the new id. For jobs that make variants (duplicate, a training run).
    QString addVariant(Variant variant, const QString& after = {});
    // Copies a variant (recipe, metrics, note) as "<name> copy" right after it; returns the new id.
    QString duplicateVariant(const QString& id);
    // Deletes variants (a running or queued one is cancelled first).
    void removeVariants(const QStringList& ids);
    // Puts the variant's recipe into the editor (undoable).
    void loadVariant(const QString& id);
    // Why variant `id` cannot be trained now (no model, no such variant, no data set, no training data); empty: it can.
    QString trainBlocker(const QString& id) const;
    // What training variant `id` with `settings` needs (its recipe with the train section; the data set settings and
    // data opened before); nullopt when trainBlocker() says why not.
    std::optional<VariantEvaluationTask> trainingTask(const QString& id, const TrainSettings& settings) const;
    OpenedData openedData() const { return m_evaluations.cached(m_evalSettings); }
    // The distillation teacher of `recipe` (its train section in distill mode): the model itself for "baseline" or
    // no distillation, a variant of this project for "variant:<id>" (variantTeacherKey), else an ONNX file (a relative
    // path is read from the project's folder). `error` says why a variant teacher cannot serve (not in the project, or
    // trained and its weights no longer in memory).
    TeacherSource teacherSource(const Recipe& recipe) const;
    // Stores the cross-validated figure of variant `id` (marks the project dirty, emits variantsChanged()).
    void setCrossValidation(const QString& id, const CrossValidationFigure& figure);
    // "fine-tuned from <parent name>" for a trained variant; empty otherwise.
    QString lineage(const QString& id) const;
    // Class names of the evaluation data (empty: numbers).
    QStringList classNames() const { return m_classNames; }

    // --- Views ----------------------------------------------------------------------------------------------------
    std::vector<TradeoffPoint> tradeoffPoints() const;
    std::vector<VariantRow> variantRows() const;
    // Evaluated variants among `ids`, in that order.
    std::vector<CompareColumn> compareColumns(const QStringList& ids) const;
    // The weights of `layer` as each variant among `ids` leaves them (previewLayer), for the compare overlay.
    std::vector<std::shared_ptr<const std::vector<float>>> layerValues(const QStringList& ids,
                                                                       const QString& layer) const;

    // --- Export ---------------------------------------------------------------------------------------------------
    // Writes variant `id` as `format` to `path` off the UI thread (static activations calibrate on the data set), reads
    // the file back and evaluates it; ends with exportFinished() or exportFailed().
    void exportVariant(const QString& id, ExportFormat format, const QString& path);
    void cancelExport() { m_exportJob.cancel(); }
    Job* exportJob() { return &m_exportJob; }

    // --- Project --------------------------------------------------------------------------------------------------
    QString projectPath() const { return m_project.path(); }
    bool isDirty() const { return m_project.isDirty(); }
    // Writes the project atomically; false with `error` naming the file and problem.
    bool saveProject(const QString& path, QString* error = nullptr) { return m_project.save(path, error); }
    // Reads a project: recipe, variants, data set and model path. When that model is not the one set already, graph()
    // is null until the window has opened it and called setModel() with that path (which keeps everything). False with
    // `error` naming the file and the field; the current project is then unchanged.
    bool openProject(const QString& path, QString* error = nullptr);
    // Forgets everything but the model (File ▸ New Project).
    void newProject();
    // The model path stored in the project just opened, resolved (absolute, else relative to the project file).
    QString projectModelPath() const { return m_modelPath; }

    // Autosave: every `ms` milliseconds while dirty (0 turns it off).
    void setAutosaveInterval(int ms) { m_project.setAutosaveInterval(ms); }
    // Where autosave writes: "<project>.autosave", or untitled.latheproj.autosave in the app data folder.
    QString autosavePath() const { return m_project.autosavePath(); }
    static QString autosavePathFor(const QString& projectPath) {
        return WorkbenchProject::autosavePathFor(projectPath);
    }
    // Writes the autosave file now; false when it cannot.
    bool autosave() { return m_project.autosave(); }
    // An autosave newer than `projectPath` (or of an untitled project when empty) exists.
    static bool hasRecoverableAutosave(const QString& projectPath) {
        return WorkbenchProject::hasRecoverableAutosave(projectPath);
    }
    // Opens the autosave of `projectPath` as that project, marked dirty.
    bool recoverAutosave(const QString& projectPath, QString* error = nullptr);
    // Deletes the autosave file (the user chose to discard the changes).
    void discardAutosave() { m_project.discardAutosave(); }

signals:
    void modelChanged();
    void recipeChanged();
    // The list changed (added, removed, renamed, state or metrics).
    void variantsChanged();
    // A variant's evaluation progressed.
    void variantProgress(const QString& id, float fraction);
    void variantEvaluated(const QString& id);
    void variantFailed(const QString& id, const QString& message);
    void dirtyChanged(bool dirty);
    void projectPathChanged(const QString& path);
    // A project was opened: the window should open `modelPath` in the ModelDocument and push the data set settings.
    void projectOpened(const QString& modelPath);
    // The model file differs from the one the project was made with (hash mismatch) or is missing.
    void modelMismatch(const QString& message);
    void autosaved(const QString& path);
    void exportFinished(const lathe::ExportSummary& summary);
    void exportFailed(const QString& message);
    // Something the user asked for cannot be done (no model, no data set).
    void errorOccurred(const QString& message);

private:
    void startNextEvaluation();
    std::optional<VariantEvaluationTask> evaluationTask(const QString& id);
    void onEvaluated(const VariantEvaluation& result);
    Variant* find(const QString& id);
    QString newId();
    void resetProject();
    void hashModel();
    ProjectFile projectFile() const;
    void applyProject(ProjectFile project);

    QString m_modelPath;
    QString m_expectedSha;  // from the project file
    // Hashing a large model (1 s for 346 MB) runs in a pool of its own: on the shared one it held back the
    // histogram, preview and spectrum of the layer the window opens on.
    QThreadPool m_hashPool;
    mutable QFutureWatcher<QString> m_hashWatcher;
    QString m_sha;
    EvaluationSettings m_evalSettings;
    QString m_trainSpec;
    std::optional<BaselineEvaluation> m_baselineEvaluation;
    PlotSizeAxis m_sizeAxis = PlotSizeAxis::Onnx;
    std::optional<ProjectSensitivity> m_sensitivity;
    RecipeEditor m_editor;  // also holds the graph
    // Of the model, found once per setModel: what structured pruning removes together, and the model's totals.
    std::shared_ptr<const ChannelGroups> m_channelGroups;
    int64_t m_modelMacs = 0;
    int64_t m_modelParams = 0;

    std::vector<Variant> m_variants;
    int m_nextId = 1;
    QStringList m_classNames;
    VariantEvaluationQueue m_evaluations;
    Job m_exportJob;

    WorkbenchProject m_project;
};

}  // namespace lathe
