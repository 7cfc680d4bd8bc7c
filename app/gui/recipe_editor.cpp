#include "app/gui/recipe_editor.h"

#include <QUndoCommand>
#include <QUndoStack>
#include <algorithm>
#include <nlohmann/json.hpp>
#include <span>
#include <vector>

#include "core/compress/compressible_layer.h"
#include "core/compress/layer_preview.h"

namespace lathe {

namespace {

QString qs(const std::string& s) { return QString::fromStdString(s); }

bool sameRecipe(const Recipe& a, const Recipe& b) { return recipeToJson(a) == recipeToJson(b); }

}  // namespace

QString percentText(double fraction, int decimals) {
    return QStringLiteral("%1 %").arg(fraction * 100.0, 0, 'f', decimals);
}

QString quantText(int bits, Rounding rounding, Granularity granularity, bool symmetric) {
    if (bits == 32) return QObject::tr("float32");
    if (rounding == Rounding::KMeans) return QObject::tr("%1-bit k-means").arg(bits);
    return QObject::tr("int%1 %2 %3%4")
        .arg(bits)
        .arg(symmetric ? QObject::tr("sym") : QObject::tr("asym"))
        .arg(granularity == Granularity::PerChannel ? QObject::tr("per-channel") : QObject::tr("per-tensor"))
        .arg(rounding == Rounding::Stochastic ? QObject::tr(" stochastic") : QString());
}

// One settings change: the recipe before and after. Consecutive changes with the same merge key and edit sequence
// (no sealEdit() between) merge into one step.
class RecipeCommand : public QUndoCommand {
public:
    RecipeCommand(RecipeEditor* editor, Recipe before, Recipe after, const QString& text, QString mergeKey,
                  int sequence)
        : QUndoCommand(text),
          m_editor(editor),
          m_before(std::move(before)),
          m_after(std::move(after)),
          m_key(std::move(mergeKey)),
          m_sequence(sequence) {}

    int id() const override { return m_key.isEmpty() ? -1 : 0x1a7e; }
    bool mergeWith(const QUndoCommand* other) override {
        const auto* o = static_cast<const RecipeCommand*>(other);
        if (o->m_key != m_key || o->m_sequence != m_sequence) return false;
        m_after = o->m_after;
        setText(o->text());
        setObsolete(sameRecipe(m_before, m_after));
        return true;
    }
    void undo() override { m_editor->setRecipeState(m_before); }
    void redo() override { m_editor->setRecipeState(m_after); }

private:
    RecipeEditor* m_editor;
    Recipe m_before;
    Recipe m_after;
    QString m_key;
    int m_sequence;
};

RecipeEditor::RecipeEditor(QObject* parent) : QObject(parent), m_undo(new QUndoStack(this)) {}

void RecipeEditor::setGraph(std::shared_ptr<const Graph> graph) {
    m_graph = std::move(graph);
    m_globalThreshold = globalThresholdFor(m_recipe);
}

QStringList RecipeEditor::layerNames() const {
    QStringList names;
    if (!m_graph) return names;
    for (const LayerWeight& l : compressibleLayers(*m_graph)) names << qs(l.nodeName);
    return names;
}

int RecipeEditor::nodeOfLayer(const QString& layer) const {
    return m_graph ? findLayerNode(*m_graph, layer.toStdString()) : -1;
}

void RecipeEditor::reset(Recipe recipe) {
    m_recipe = std::move(recipe);
    m_undo->clear();
    m_globalThreshold = globalThresholdFor(m_recipe);
}

LayerSettings RecipeEditor::settingsOf(const QString& layer) const {
    const int node = nodeOfLayer(layer);
    if (node < 0) return resolveLayerSettings(m_recipe, layer.toStdString(), std::string());
    return resolveLayerSettings(m_recipe, *m_graph, node);
}

std::optional<double> RecipeEditor::globalThresholdFor(const Recipe& recipe) const {
    if (!m_graph || !recipe.globalPruneSparsity) return std::nullopt;
    std::vector<std::span<const float>> weights;
    for (const LayerWeight& l : compressibleLayers(*m_graph)) {
        if (!resolveLayerSettings(recipe, l.nodeName, l.weight).globalPrune) continue;
        if (const Tensor* t = m_graph->initializer(l.weight)) weights.emplace_back(t->data);
    }
    if (weights.empty()) return std::nullopt;
    return globalPruneThreshold(weights, *recipe.globalPruneSparsity);
}

void RecipeEditor::setRecipeState(const Recipe& recipe) {
    m_recipe = recipe;
    m_globalThreshold = globalThresholdFor(m_recipe);
    emit changed();
}

void RecipeEditor::pushRecipe(Recipe after, const QString& description, const QString& mergeKey) {
    normalizeRecipe(after);
    if (sameRecipe(after, m_recipe)) return;
    m_undo->push(new RecipeCommand(this, m_recipe, std::move(after), description, mergeKey, m_editSequence));
}

void RecipeEditor::setRecipe(const Recipe& recipe, const QString& description) {
    sealEdit();
    pushRecipe(recipe, description, {});
}

void RecipeEditor::editLayers(const QStringList& layers, const LayerEdit& edit) {
    if (!edit.apply) return;
    Recipe after = m_recipe;
    for (const QString& layer : layers) {
        QString weight;
        if (const int node = nodeOfLayer(layer); node >= 0)
            if (auto lw = layerWeight(*m_graph, node)) weight = qs(lw->weight);
        edit.apply(recipeEntry(after, layer, weight));
    }
    pushRecipe(std::move(after), edit.description, edit.mergeKey);
}

void RecipeEditor::sealEdit() { ++m_editSequence; }

void RecipeEditor::resetLayers(const QStringList& layers) {
    Recipe after = m_recipe;
    for (const QString& layer : layers) {
        after.layers.erase(layer.toStdString());
        if (const int node = nodeOfLayer(layer); node >= 0)
            if (auto lw = layerWeight(*m_graph, node)) after.layers.erase(lw->weight);
    }
    sealEdit();
    pushRecipe(std::move(after),
               layers.size() == 1 ? tr("%1: reset").arg(layers.front()) : tr("reset %1 layers").arg(layers.size()), {});
}

void RecipeEditor::setGlobalSparsity(std::optional<double> sparsity) {
    Recipe after = m_recipe;
    after.globalPruneSparsity = sparsity;
    pushRecipe(std::move(after),
               sparsity ? tr("global sparsity %1").arg(percentText(*sparsity)) : tr("global sparsity off"),
               QStringLiteral("global"));
}

void RecipeEditor::applyPreset(RecipePreset preset) {
    static const char* names[] = {"float", "int8", "4-bit weights", "Deep Compression"};
    sealEdit();
    pushRecipe(presetRecipe(preset), tr("preset: %1").arg(QLatin1String(names[int(preset)])), {});
}

Recipe RecipeEditor::presetRecipe(RecipePreset preset) const {
    Recipe r;
    switch (preset) {
        case RecipePreset::Float:
            break;
        case RecipePreset::Int8:
        case RecipePreset::Int4Weights: {
            QuantEntry q;
            q.bits = preset == RecipePreset::Int8 ? 8 : 4;
            q.granularity = Granularity::PerChannel;
            q.symmetric = true;
            q.rounding = Rounding::Nearest;
            r.defaults.quant = q;
            break;
        }
        case RecipePreset::DeepCompression: {
            // Deep Compression's pipeline (its LeNet rates, by layer kind): big layers pruned hard, small ones and the
            // classifier gently, the sparsity ramped while retraining with the masks; k-means weight sharing; then
            // retraining the centroids. Sized for a laptop CPU: 3 epochs of fine-tuning, 1 of centroids.
            if (!m_graph) break;
            r.train.emplace();
            r.train->epochs = 3;
            r.train->centroidEpochs = 1;
            r.train->lr = 0.02;
            r.train->schedule = LrSchedule::Cosine;
            r.train->pruneSchedule = PruneSchedule{0.5, 1};
            for (const LayerWeight& l : compressibleLayers(*m_graph)) {
                const bool conv = l.opType == "Conv" || l.opType == "ConvTranspose";
                const Tensor* w = m_graph->initializer(l.weight);
                const Node& node = m_graph->nodes[size_t(l.node)];
                const bool classifier =
                    std::any_of(node.outputs.begin(), node.outputs.end(), [&](const std::string& o) {
                        return std::find(m_graph->outputs.begin(), m_graph->outputs.end(), o) != m_graph->outputs.end();
                    });
                LayerEntry e;
                e.prune.emplace();
                const bool small = w && w->numel() < 2000;
                e.prune->sparsity = small ? 0.3 : classifier ? 0.75 : conv ? 0.85 : 0.95;
                e.quant.emplace();
                e.quant->bits = small ? 8 : classifier || conv ? 5 : 4;
                e.quant->rounding = Rounding::KMeans;
                r.layers[l.nodeName] = e;
            }
            break;
        }
    }
    return r;
}

QString RecipeEditor::layerSummary(const Recipe& recipe, const QString& layer) const {
    if (!m_graph) return {};
    for (const LayerWeight& l : compressibleLayers(*m_graph)) {
        if (qs(l.nodeName) != layer) continue;
        const LayerSettings s = resolveLayerSettings(recipe, l.nodeName, l.weight);
        QStringList parts;
        if (s.globalPrune)
            parts << tr("global %1").arg(percentText(recipe.globalPruneSparsity.value_or(0), 0));
        else if (s.sparsity && *s.sparsity > 0)
            parts << tr("%1 zeros").arg(percentText(*s.sparsity, 0));
        else if (s.threshold && *s.threshold > 0)
            parts << tr("|w| < %1").arg(*s.threshold, 0, 'g', 3);
        if (s.keep) parts << tr("%1 channels").arg(*s.keep);
        if (s.keepFraction) parts << tr("%1 of channels").arg(percentText(*s.keepFraction, 0));
        if (s.decomposed() && s.lowRankMethod != LowRankMethod::Channel)
            parts << (s.lowRankMethod == LowRankMethod::Tucker2 ? tr("Tucker-2") : tr("spatial SVD"));
        if (s.rank) parts << tr("rank %1").arg(*s.rank);
        if (s.rankOut && s.rankIn) parts << tr("ranks %1 × %2").arg(*s.rankOut).arg(*s.rankIn);
        if (s.energy) parts << tr("energy %1").arg(percentText(*s.energy, 0));
        if (s.quantized()) parts << quantText(s.bits, s.rounding, s.granularity, s.symmetric);
        return parts.join(QStringLiteral(" · "));
    }
    return {};
}

QString RecipeEditor::recipeSummary(const Recipe& recipe) const {
    QStringList lines;
    if (recipe.globalPruneSparsity) lines << tr("global sparsity %1").arg(percentText(*recipe.globalPruneSparsity));
    for (const QString& layer : layerNames()) {
        const QString text = layerSummary(recipe, layer);
        if (!text.isEmpty()) lines << QStringLiteral("%1  %2").arg(layer, -8).arg(text);
    }
    if (lines.isEmpty()) lines << tr("no compression (float weights)");
    return lines.join(QLatin1Char('\n'));
}

}  // namespace lathe
