#pragma once

#include <QObject>
#include <QString>
#include <QStringList>
#include <memory>
#include <optional>

#include "core/compress/recipe.h"
#include "core/model/graph.h"
#include "widgets/layer_inspector.h"

class QUndoStack;

namespace lathe {

// "80.0 %" for 0.8.
QString percentText(double fraction, int decimals = 1);
// "float32", "5-bit k-means", "int8 sym per-channel", "int4 asym per-tensor stochastic".
QString quantText(int bits, Rounding rounding, Granularity granularity, bool symmetric);

// The recipe being edited for one model, with its undo history: one QUndoStack command per settings change,
// consecutive changes carrying the same merge key merged until sealEdit(). Every change through an edit, undo or redo
// emits changed().
class RecipeEditor : public QObject {
    Q_OBJECT

public:
    explicit RecipeEditor(QObject* parent = nullptr);

    // The model the recipe is for (null: none); keeps the recipe and recomputes the global threshold.
    void setGraph(std::shared_ptr<const Graph> graph);
    const std::shared_ptr<const Graph>& graph() const { return m_graph; }
    // Node names of the compressible layers, in node order.
    QStringList layerNames() const;
    // The node of compressible layer `layer`, or -1.
    int nodeOfLayer(const QString& layer) const;

    const Recipe& recipe() const { return m_recipe; }
    // Replaces the recipe and forgets the undo history, without changed() (a new or opened project).
    void reset(Recipe recipe = {});
    LayerSettings settingsOf(const QString& layer) const;
    // The global_prune magnitude cut of the current recipe (nullopt without a global sparsity).
    std::optional<double> globalThreshold() const { return m_globalThreshold; }
    // The global_prune magnitude cut `recipe` gives on this model (nullopt without a global sparsity).
    std::optional<double> globalThresholdFor(const Recipe& recipe) const;
    QUndoStack* undoStack() const { return m_undo; }

    // Replaces the recipe as one undo step.
    void setRecipe(const Recipe& recipe, const QString& description);
    // Applies `edit` to the own entries of `layers` as one undo step (merged with the previous step when both carry the
    // same merge key and no sealEdit() came between).
    void editLayers(const QStringList& layers, const LayerEdit& edit);
    // Ends the running merge (a slider was released).
    void sealEdit();
    // Removes the own entries of `layers`.
    void resetLayers(const QStringList& layers);
    // Sets or clears the whole-model sparsity; consecutive changes merge until sealEdit().
    void setGlobalSparsity(std::optional<double> sparsity);
    void applyPreset(RecipePreset preset);

    // Recipe of a preset for this model. Deep Compression: per layer, sparsity 30 % and 8-bit k-means (< 2,000
    // weights), 75 % and 5 bits (the classifier), 85 % and 5 bits (Conv), 95 % and 4 bits (others); its train section
    // ramps the sparsity from 50 % over the first of 3 epochs (cosine, lr 0.02), then retrains the centroids 1 epoch.
    // On the demo LeNet-5: 42x smaller by the paper's count at 90.85 % (float 91.53 %).
    Recipe presetRecipe(RecipePreset preset) const;
    // One-line summary per compressed layer, for tooltips ("fc1  80 % zeros · 5-bit k-means").
    QString recipeSummary(const Recipe& recipe) const;
    // The settings of one layer in `recipe` as one line ("80 % zeros · 5-bit k-means"); empty when it stays float.
    QString layerSummary(const Recipe& recipe, const QString& layer) const;

signals:
    void changed();

private:
    friend class RecipeCommand;

    void pushRecipe(Recipe after, const QString& description, const QString& mergeKey);
    void setRecipeState(const Recipe& recipe);

    std::shared_ptr<const Graph> m_graph;
    Recipe m_recipe;
    std::optional<double> m_globalThreshold;
    QUndoStack* m_undo;
    int m_editSequence = 0;
};

}  // namespace lathe
