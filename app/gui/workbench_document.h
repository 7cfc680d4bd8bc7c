#pragma once

#include <QDateTime>
#include <QFutureWatcher>
#include <QObject>
#include <QString>
#include <QStringList>
#include <QTimer>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <memory>
#include <optional>
#include <vector>

#include "app/gui/job.h"
#include "app/gui/project_file.h"
#include "core/compress/apply_recipe.h"
#include "core/compress/recipe.h"
#include "core/eval/dataset.h"
#include "core/eval/metrics.h"
#include "core/export/model_size.h"
#include "core/export/onnx_export.h"
#include "core/model/graph.h"
#include "widgets/compare_view.h"
#include "widgets/dataset_panel.h"
#include "widgets/layer_inspector.h"
#include "widgets/tradeoff_plot.h"
#include "widgets/variants_panel.h"

class QUndoStack;

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
};

// What exportVariant wrote and how the file it wrote performs when read back.
struct ExportSummary {
    QString variantId;
    QString path;
    ExportFormat format = ExportFormat::Float;
    FileSize size;
    FileSize originalSize;  // the float model file
    int64_t weightBytes = 0;
    QStringList notes;
    std::optional<double> reloadedTop1;  // percent, on the evaluation data; unset when no data set was given
    int64_t reloadedSamples = 0;
};

// The workbench state behind the compression views: the recipe being edited (with a QUndoStack, one command per
// settings change, consecutive slider moves merged), the variants and their evaluations (applyRecipe + export sizes +
// evaluate, queued and run off the UI thread through one Job with progress and Cancel), export of a variant, and the
// project file (model path + SHA-256, data set, recipe, variants with metrics) saved atomically, with a dirty flag
// and autosave. Views talk to it only through the functions and signals below.
class WorkbenchDocument : public QObject {
    Q_OBJECT

public:
    static constexpr int kProjectVersion = ProjectFile::kVersion;
    static constexpr int kDefaultAutosaveMs = 2 * 60 * 1000;

    explicit WorkbenchDocument(QObject* parent = nullptr);
    ~WorkbenchDocument() override;

    // --- Model ----------------------------------------------------------------------------------------------------
    // The model being compressed. The same path as the project's model keeps recipe and variants (after open());
    // another path starts a fresh project. Null clears.
    void setModel(std::shared_ptr<const Graph> graph, const QString& path);
    std::shared_ptr<const Graph> graph() const { return m_graph; }
    QString modelPath() const { return m_modelPath; }
    // SHA-256 (hex) of the model file; empty until computed (off the UI thread) or when unreadable.
    QString modelSha256() const;
    // Node names of the compressible layers, in node order.
    QStringList layerNames() const;
    // The compressible layer of node `nodeIndex` (its node name), or empty.
    QString layerOfNode(int nodeIndex) const;
    int nodeOfLayer(const QString& layer) const;
    // The layer as the inspector needs it; an empty weight when `layer` is not compressible.
    InspectorLayer inspectorLayer(const QString& layer) const;

    // --- Data set -------------------------------------------------------------------------------------------------
    void setEvaluationSettings(const EvaluationSettings& settings);
    const EvaluationSettings& evaluationSettings() const { return m_evalSettings; }

    // --- Recipe (undoable) ----------------------------------------------------------------------------------------
    const Recipe& recipe() const { return m_recipe; }
    LayerSettings settingsOf(const QString& layer) const;
    // The global_prune magnitude cut of the current recipe (nullopt without a global sparsity).
    std::optional<double> globalThreshold() const { return m_globalThreshold; }
    QUndoStack* undoStack() const { return m_undo; }
    // Replaces the recipe as one undo step.
    void setRecipe(const Recipe& recipe, const QString& description);
    // Recipe of a preset for this model. Deep Compression: per layer, sparsity 20 % (< 2,000 weights), 50 % (the
    // classifier), 60 % (Conv) or 80 % (others), then k-means sharing with 8 bits (Conv) or 5 bits (others).
    Recipe presetRecipe(RecipePreset preset) const;
    // One-line summary per compressed layer, for tooltips ("fc1  80 % zeros · 5-bit k-means").
    QString recipeSummary(const Recipe& recipe) const;
    // The settings of one layer in `recipe` as one line ("80 % zeros · 5-bit k-means"); empty when it stays float.
    QString layerSummary(const Recipe& recipe, const QString& layer) const;

public slots:
    // Applies `edit` to the own entries of `layers` as one undo step (merged with the previous step when both carry the
    // same merge key and no sealEdit() came between).
    void editLayers(const QStringList& layers, const lathe::LayerEdit& edit);
    // Ends the running merge (a slider was released).
    void sealEdit();
    // Removes the own entries of `layers`.
    void resetLayers(const QStringList& layers);
    // Sets or clears the whole-model sparsity; consecutive changes merge until sealEdit().
    void setGlobalSparsity(std::optional<double> sparsity);
    void applyPreset(lathe::RecipePreset preset);

public:
    // --- Variants -------------------------------------------------------------------------------------------------
    // Turns the current recipe into a variant named `name` (default "Variant N") and queues its evaluation (and the
    // float baseline's, first, when there is none yet). Returns its id; empty without a model.
    QString evaluateCurrent(const QString& name = {});
    // Queues the evaluation of an existing variant again.
    void reevaluate(const QString& id);
    // Stops the running evaluation and drops the queue; those variants become "not evaluated".
    void cancelEvaluation();
    bool isEvaluating() const { return m_evalJob.isRunning(); }
    // The job evaluating variants (title, progress, cancel) for a TaskProgress strip.
    Job* evaluationJob() { return &m_evalJob; }
    QString runningVariant() const { return m_running; }

    const std::vector<Variant>& variants() const { return m_variants; }
    const Variant* variant(const QString& id) const;
    QString baselineId() const;
    void renameVariant(const QString& id, const QString& name);
    void setVariantNote(const QString& id, const QString& note);
    // Copies a variant (recipe, metrics, note) as "<name> copy"; returns the new id.
    QString duplicateVariant(const QString& id);
    // Deletes variants (a running or queued one is cancelled first).
    void removeVariants(const QStringList& ids);
    // Puts the variant's recipe into the editor (undoable).
    void loadVariant(const QString& id);
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
    void cancelExport();
    Job* exportJob() { return &m_exportJob; }

    // --- Project --------------------------------------------------------------------------------------------------
    QString projectPath() const { return m_projectPath; }
    bool isDirty() const { return m_dirty; }
    // Writes the project atomically; false with `error` naming the file and problem.
    bool saveProject(const QString& path, QString* error = nullptr);
    // Reads a project: recipe, variants, data set and model path. When that model is not the one set already, graph()
    // is null until the window has opened it and called setModel() with that path (which keeps everything). False with
    // `error` naming the file and the field; the current project is then unchanged.
    bool openProject(const QString& path, QString* error = nullptr);
    // Forgets everything but the model (File ▸ New Project).
    void newProject();
    // The model path stored in the project just opened, resolved (absolute, else relative to the project file).
    QString projectModelPath() const { return m_modelPath; }

    // Autosave: every `ms` milliseconds while dirty (0 turns it off).
    void setAutosaveInterval(int ms);
    // Where autosave writes: "<project>.autosave", or untitled.latheproj.autosave in the app data folder.
    QString autosavePath() const;
    static QString autosavePathFor(const QString& projectPath);
    // Writes the autosave file now; false when it cannot.
    bool autosave();
    // An autosave newer than `projectPath` (or of an untitled project when empty) exists.
    static bool hasRecoverableAutosave(const QString& projectPath);
    // Opens the autosave of `projectPath` as that project, marked dirty.
    bool recoverAutosave(const QString& projectPath, QString* error = nullptr);
    // Deletes the autosave file (the user chose to discard the changes).
    void discardAutosave();

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
    friend class RecipeCommand;
    struct Evaluated;
    struct Exported;

    void pushRecipe(Recipe after, const QString& description, const QString& mergeKey);
    void setRecipeState(const Recipe& recipe);
    void updateGlobalThreshold();
    void markDirty();
    void setClean();
    void startNext();
    void onEvaluated(Evaluated result);
    Variant* find(const QString& id);
    QString newId();
    void resetProject();
    void hashModel();
    std::optional<double> globalThresholdFor(const Recipe& recipe) const;
    nlohmann::json toJson(const QString& projectDir) const;
    void applyProject(ProjectFile project);

    std::shared_ptr<const Graph> m_graph;
    QString m_modelPath;
    QString m_expectedSha;  // from the project file
    mutable QFutureWatcher<QString> m_hashWatcher;
    QString m_sha;
    EvaluationSettings m_evalSettings;
    Recipe m_recipe;
    std::optional<double> m_globalThreshold;
    QUndoStack* m_undo;
    int m_editSequence = 0;

    std::vector<Variant> m_variants;
    int m_nextId = 1;
    QStringList m_queue;
    QString m_running;
    Job m_evalJob;
    Job m_exportJob;
    QString m_datasetKey;
    std::shared_ptr<const Dataset> m_dataset;
    CalibrationData m_calibration;  // global_prune's refit data for m_datasetKey, opened once
    QStringList m_classNames;

    QString m_projectPath;
    bool m_dirty = false;
    QTimer m_autosaveTimer;
};

}  // namespace lathe

Q_DECLARE_METATYPE(lathe::ExportSummary)
