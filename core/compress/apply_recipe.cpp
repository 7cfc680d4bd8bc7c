#include "core/compress/apply_recipe.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <set>

#include "core/compress/compressible_layer.h"
#include "core/compress/lowrank/decompose_layer.h"
#include "core/compress/lowrank/svd_decompose.h"
#include "core/compress/prune/channel_groups.h"
#include "core/compress/prune/magnitude_prune.h"
#include "core/compress/prune/prune_reconstruction.h"
#include "core/compress/quantize/fold_batch_norm.h"

namespace lathe {

namespace {

// One compressible layer of the source model while the stages run.
struct Track {
    LayerWeight source;
    LayerSettings settings;
    Tensor original;
    int64_t originalBiasParams = 0;
    std::vector<std::string> nodes;
    std::vector<std::string> weights;
    std::vector<int64_t> decomposedShape;      // weight shape the factors replace
    std::optional<LayerDecomposition> factors;  // when decomposed
    bool shared = false;  // its weight is also another layer's, compressed there
    LayerReport report;
};

bool isWeightTensor(const Tensor& t) { return !isIntegerType(t.dtype) && t.dtype != DType::String; }

int64_t codebookBytes(const CodebookTensor& c) {
    return (int64_t(c.indices.size()) * c.bits + 7) / 8 + int64_t(c.codebook.size()) * 4;
}

// Scatters `t` (the original tensor with slices removed) back into `shape`, removed slices as zeros.
Tensor expand(const Tensor& t, const std::vector<int64_t>& shape, const std::vector<std::vector<int64_t>>& kept) {
    bool sliced = false;
    for (const auto& k : kept) sliced |= !k.empty();
    if (!sliced || t.shape == shape) return t;
    Tensor out;
    out.shape = shape;
    out.data.assign(size_t(shapeNumel(shape)), 0.f);
    const size_t rank = shape.size();
    std::vector<int64_t> strides(rank, 1);
    for (size_t a = rank; a-- > 1;) strides[a - 1] = strides[a] * shape[a];
    std::vector<int64_t> index(rank, 0);
    for (float v : t.data) {
        int64_t offset = 0;
        for (size_t a = 0; a < rank; ++a) {
            const int64_t i = a < kept.size() && !kept[a].empty() ? kept[a][size_t(index[a])] : index[a];
            offset += i * strides[a];
        }
        out.data[size_t(offset)] = v;
        for (size_t a = rank; a-- > 0;) {
            if (++index[a] < t.shape[a]) break;
            index[a] = 0;
        }
    }
    return out;
}

class Compressor {
public:
    Compressor(const Graph& graph, const Recipe& recipe, const ApplyOptions& options, const ProgressFn& progress)
        : m_source(graph), m_recipe(recipe), m_options(options), m_progress(progress) {}

    Result<CompressedModel> run() {
        if (auto st = validateRecipe(m_recipe, m_source); !st) return st.error();
        m_model.graph = m_source;
        Graph& g = m_model.graph;
        // Static int8 activations: the int8 kernel of a Conv/Gemm cannot include a BatchNormalization after it, so fold
        // it into the weights before they are quantized (as ONNX Runtime's quantizer, AIMET and NNCF do).
        std::map<std::string, std::string> foldedInto;  // layer → the BatchNormalization folded into it
        if (m_recipe.activations && m_recipe.activations->mode == ActivationMode::Static)
            for (const auto& f : foldBatchNorms(g)) foldedInto[f.layer] = f.batchNorm;
        std::set<std::string> seenWeights;
        for (const auto& lw : compressibleLayers(g)) {
            Track t;
            t.source = lw;
            t.settings = resolveLayerSettings(m_recipe, lw.nodeName, lw.weight);
            t.original = g.initializers.at(lw.weight);
            const LayerSettings& s = t.settings;
            const bool compressed = s.pruned() || s.quantized() || s.keep || s.keepFraction || s.decomposed();
            for (float v : t.original.data)
                if (compressed && !std::isfinite(v))
                    return makeError(ErrorCode::InvalidModel, "layer " + lw.nodeName + ": weight '" + lw.weight +
                                                                  "' contains NaN or infinite values; fix the model "
                                                                  "before compressing it");
            if (!lw.bias.empty()) t.originalBiasParams = g.initializers.at(lw.bias).numel();
            t.nodes = {lw.nodeName};
            t.weights = {lw.weight};
            t.report.name = lw.nodeName;
            t.report.opType = lw.opType;
            t.report.originalShape = t.original.shape;
            t.report.originalParams = t.original.numel() + t.originalBiasParams;
            t.report.originalBytes = 4 * t.report.originalParams;
            if (auto f = foldedInto.find(lw.nodeName); f != foldedInto.end())
                t.report.notes.push_back("BatchNormalization '" + f->second +
                                         "' folded into its weight and bias (static activations are quantized after "
                                         "the layer, as int8 runtimes run it)");
            if (!seenWeights.insert(lw.weight).second) {
                t.report.notes.push_back("shares its weight '" + lw.weight +
                                         "' with an earlier layer; compressed there");
                t.shared = true;
            }
            m_tracks.push_back(std::move(t));
        }
        if (auto st = structuredStage(); !st) return st.error();
        if (auto st = lowRankStage(); !st) return st.error();
        if (auto st = pruneStage(); !st) return st.error();
        if (auto st = retrainStage(); !st) return st.error();
        if (auto st = quantStage(); !st) return st.error();
        report();
        reportProgress(m_progress, 1.f, "done");
        return std::move(m_model);
    }

private:
    Status progress(float from, float to, size_t i, const char* stage) {
        const float f = from + (to - from) * (m_tracks.empty() ? 1.f : float(i) / float(m_tracks.size()));
        if (!reportProgress(m_progress, f, stage)) return makeError(ErrorCode::Cancelled, "compression cancelled");
        return Ok{};
    }

    // Structured pruning by channel group: a layer's keep/keep_fraction prunes the group whose channels it makes
    // (every maker, normalization and reader of those channels loses them together); global_structured ranks the
    // channels of every other prunable group together. One cut of the graph for all groups.
    Status structuredStage() {
        Graph& g = m_model.graph;
        bool wanted = false;
        for (const Track& t : m_tracks) wanted |= !t.shared && (t.settings.keep || t.settings.keepFraction || t.settings.globalStructured);
        if (!wanted) return Ok{};
        if (auto st = progress(0.f, 0.2f, 0, "structured pruning"); !st) return st;
        const ChannelGroups groups = findChannelGroups(g);
        std::map<int, std::vector<Track*>> members;  // group → its makers' tracks
        std::map<int, Track*> setBy;                 // group → the track whose setting it takes
        std::vector<int> global;
        for (Track& t : m_tracks) {
            const LayerSettings& s = t.settings;
            if (t.shared || (!s.keep && !s.keepFraction && !s.globalStructured)) continue;
            const int gi = groups.groupMadeBy(t.source.nodeName);
            if (gi < 0) continue;  // a default on a layer that makes no followable channels: nothing to do
            members[gi].push_back(&t);
            const ChannelGroup& group = groups.groups[size_t(gi)];
            if (!group.blocker.empty()) {
                const std::string why =
                    "structured pruning of " + t.source.nodeName + " skipped: " + group.blocker;
                if (s.explicitStructured)
                    return makeError(ErrorCode::Unsupported,
                                     "layers." + t.source.nodeName + ".prune.structured: " + why);
                t.report.notes.push_back(why);
                // A default reaching the model's output (its logits) is expected to stay; anything else is news.
                if (!group.atGraphOutput &&
                    std::find(m_model.warnings.begin(), m_model.warnings.end(), why) == m_model.warnings.end())
                    m_model.warnings.push_back(why);
                continue;
            }
            Track*& owner = setBy[gi];
            // An explicit setting beats a default or the global ranking; the first maker's otherwise.
            if (!owner || (s.explicitStructured && !owner->settings.explicitStructured)) owner = &t;
        }
        std::vector<GroupCut> cuts;
        std::map<int, std::vector<double>> importance;
        for (const auto& [gi, owner] : setBy) {
            const ChannelGroup& group = groups.groups[size_t(gi)];
            const LayerSettings& s = owner->settings;
            importance[gi] = channelImportance(g, group, s.importance);
            if (s.globalStructured) {
                global.push_back(gi);
                continue;
            }
            const int64_t keep =
                s.keep ? *s.keep : std::max<int64_t>(1, std::llround(*s.keepFraction * double(group.channels)));
            if (keep >= group.channels) {
                if (keep > group.channels)
                    owner->report.notes.push_back("structured keep " + std::to_string(keep) + " ≥ the " +
                                                  std::to_string(group.channels) +
                                                  " channels of its group: nothing removed");
                continue;
            }
            cuts.push_back({gi, strongestChannels(importance[gi], keep)});
        }
        if (!global.empty()) globalCuts(groups, global, importance, cuts);
        if (cuts.empty()) return Ok{};
        auto r = pruneChannelGroups(g, groups, cuts);
        if (!r) return r.error();
        for (const GroupCut& cut : cuts) {
            const ChannelGroup& group = groups.groups[size_t(cut.group)];
            std::string with;
            for (const auto& layer : group.layers) with += (with.empty() ? "" : ", ") + layer;
            for (Track* t : members[cut.group]) {
                t->report.channels = group.channels;
                t->report.keptChannels = int64_t(cut.kept.size());
                if (group.layers.size() > 1)
                    t->report.notes.push_back("structured: its channel group (" + with + ") keeps " +
                                              std::to_string(cut.kept.size()) + " of " +
                                              std::to_string(group.channels) + " channels");
            }
        }
        for (const auto& slice : r->slices) {
            auto& axes = m_kept[slice.initializer];
            if (axes.size() <= size_t(slice.axis)) axes.resize(size_t(slice.axis) + 1);
            axes[size_t(slice.axis)] = slice.kept;
        }
        return Ok{};
    }

    // global_structured: each group's importances over their mean, ranked together; the weakest go until
    // keep_fraction of the channels stay (at least one per group).
    void globalCuts(const ChannelGroups& groups, const std::vector<int>& global,
                    std::map<int, std::vector<double>>& importance, std::vector<GroupCut>& cuts) const {
        struct Entry {
            double score;
            int group;
            int64_t channel;
        };
        std::vector<Entry> all;
        for (int gi : global) {
            const auto& imp = importance[gi];
            const double mean = std::accumulate(imp.begin(), imp.end(), 0.0) / double(std::max<size_t>(imp.size(), 1));
            for (size_t c = 0; c < imp.size(); ++c) all.push_back({mean > 0 ? imp[c] / mean : 0.0, gi, int64_t(c)});
        }
        const int64_t keepTotal =
            std::max<int64_t>(int64_t(global.size()), std::llround(*m_recipe.globalStructuredKeep * double(all.size())));
        std::stable_sort(all.begin(), all.end(), [](const Entry& a, const Entry& b) { return a.score > b.score; });
        std::map<int, std::vector<int64_t>> kept;
        for (int gi : global) {  // each group's strongest channel stays whatever the ranking says
            const auto& imp = importance[gi];
            kept[gi].push_back(int64_t(std::max_element(imp.begin(), imp.end()) - imp.begin()));
        }
        int64_t count = int64_t(global.size());
        for (const Entry& e : all) {
            if (count >= keepTotal) break;
            auto& k = kept[e.group];
            if (std::find(k.begin(), k.end(), e.channel) != k.end()) continue;
            k.push_back(e.channel);
            ++count;
        }
        for (auto& [gi, k] : kept) {
            if (int64_t(k.size()) == groups.groups[size_t(gi)].channels) continue;
            std::sort(k.begin(), k.end());
            cuts.push_back({gi, k});
        }
    }

    Status lowRankStage() {
        Graph& g = m_model.graph;
        for (size_t i = 0; i < m_tracks.size(); ++i) {
            if (auto st = progress(0.2f, 0.5f, i, "low-rank decomposition"); !st) return st;
            Track& t = m_tracks[i];
            const LayerSettings& s = t.settings;
            if (!s.decomposed() || t.shared) continue;
            const int idx = g.nodeIndex(t.source.nodeName);
            if (const std::string why = decompositionRefusal(g, idx, s.lowRankMethod); !why.empty()) {
                // Explicit requests were refused by the recipe's check; a default Tucker-2/spatial that does not
                // fit is noted (the channel SVD's defaults skip layers it cannot factor quietly, as before).
                if (s.lowRankMethod != LowRankMethod::Channel)
                    t.report.notes.push_back("default low-rank skipped: " + why);
                continue;
            }
            if (useCount(g, t.source.weight) != 1) {
                t.report.notes.push_back("low-rank skipped: its weight is shared with other nodes");
                continue;
            }
            if (auto errors = checkDecompositionRanks(g, idx, s, "layers." + t.source.nodeName + ".lowrank");
                !errors.empty()) {
                std::string why = errors.front();
                if (m_kept.count(t.source.weight)) why += " after structured pruning";
                if (s.explicitLowRank) return makeError(ErrorCode::InvalidArgument, why);
                t.report.notes.push_back("default low-rank skipped: " + why);
                continue;
            }
            t.decomposedShape = g.initializers.at(t.source.weight).shape;
            auto r = decomposeLayer(g, idx, s);
            if (!r) return makeError(r.error().code, "layer " + t.source.nodeName + ": " + r.error().message);
            if (!r->applied) continue;
            t.nodes = r->nodes;
            t.weights = r->weights;
            t.report.lowRankMethod = r->method;
            t.report.rank = r->rank;
            t.report.fullRank = r->fullRank;
            t.report.rankIn = r->rankIn;
            t.report.fullRankIn = r->fullRankIn;
            t.report.singularValues = r->singularValues;
            t.report.lowRankError = r->relError;
            t.factors = std::move(*r);
        }
        return Ok{};
    }

    Status pruneStage() {
        Graph& g = m_model.graph;
        const bool ownPruning = std::any_of(m_tracks.begin(), m_tracks.end(), [](const Track& t) {
            const LayerSettings& s = t.settings;
            return !t.shared && !s.globalPrune &&
                   ((s.sparsity && *s.sparsity > 0) || (s.threshold && *s.threshold > 0));
        });
        const bool correctGlobal = m_recipe.globalPruneSparsity && wantsGlobalCorrection();
        const bool correctLayers = ownPruning && wantsLayerCorrection();  // no copy, no warning when nothing to refit
        std::optional<Graph> unpruned;
        if (correctGlobal || correctLayers) unpruned = g;
        std::vector<std::span<float>> pool;
        std::vector<Track*> pooled, ownCut;
        for (size_t i = 0; i < m_tracks.size(); ++i) {
            if (auto st = progress(0.5f, 0.55f, i, "pruning"); !st) return st;
            Track& t = m_tracks[i];
            if (t.shared) continue;
            const LayerSettings& s = t.settings;
            if (s.globalPrune) {
                for (const auto& w : t.weights) pool.emplace_back(g.initializers.at(w).data);
                pooled.push_back(&t);
                continue;
            }
            for (const auto& w : t.weights) {
                std::span<float> data = g.initializers.at(w).data;
                double cut = 0;
                if (s.sparsity && *s.sparsity > 0)
                    cut = pruneToSparsity(data, *s.sparsity).threshold;
                else if (s.threshold && *s.threshold > 0)
                    cut = pruneByThreshold(data, *s.threshold).threshold;
                t.report.threshold = std::max(t.report.threshold, cut);
            }
            if (t.report.threshold > 0) ownCut.push_back(&t);
        }
        if (m_recipe.globalPruneSparsity && !pool.empty()) {
            auto stats = pruneGlobal(pool, *m_recipe.globalPruneSparsity);
            m_model.globalThreshold = stats.front().threshold;
            for (Track* t : pooled) t->report.threshold = m_model.globalThreshold;
        }
        // One refit over every corrected layer, in node order, each fed the layers before it as corrected.
        std::vector<Track*> corrected;
        if (correctGlobal && !pool.empty()) corrected = pooled;
        if (correctLayers) corrected.insert(corrected.end(), ownCut.begin(), ownCut.end());
        if (corrected.empty()) return Ok{};
        int64_t samples = 0;
        if (correctGlobal && !pool.empty()) samples = m_recipe.globalPruneSamples.value_or(ReconstructionOptions{}.samples);
        if (correctLayers && !ownCut.empty())
            samples = std::max(samples, m_recipe.layerPruneSamples.value_or(ReconstructionOptions{}.samples));
        const char* label = !correctLayers ? "global_prune.correction" : !correctGlobal ? "prune_correction"
                                                                                         : "prune correction";
        return correctionStage(*unpruned, corrected, samples, label);
    }

    // Whether global_prune's least-squares correction runs; sets the report's reason when it does not.
    bool wantsGlobalCorrection() {
        CorrectionReport& c = m_model.correction;
        const auto asked = m_recipe.globalPruneCorrection;
        if (asked == PruneCorrection::None) {
            c.reason = "global_prune.correction is none";
            return false;
        }
        if (!m_options.calibration) {
            c.reason = "no calibration data";
            if (asked)
                m_model.warnings.push_back("global_prune.correction: least_squares needs calibration data and none "
                                           "was given; the pruned weights are left as cut");
            return false;
        }
        if (*m_recipe.globalPruneSparsity <= 0) {
            c.reason = "global_prune.sparsity is 0";
            return false;
        }
        return true;
    }

    // Whether prune_correction refits the layers pruned by their own settings.
    bool wantsLayerCorrection() {
        if (m_recipe.layerPruneCorrection != PruneCorrection::LeastSquares) return false;
        if (!m_options.calibration) {
            m_model.warnings.push_back("prune_correction: least_squares needs calibration data and none was given; "
                                       "the pruned weights are left as cut");
            if (m_model.correction.reason.empty()) m_model.correction.reason = "no calibration data";
            return false;
        }
        return true;
    }

    Status correctionStage(const Graph& unpruned, const std::vector<Track*>& tracks, int64_t samples,
                           const std::string& label) {
        std::vector<std::string> nodes;
        for (const Track* t : tracks) nodes.insert(nodes.end(), t->nodes.begin(), t->nodes.end());
        ReconstructionOptions options;
        options.samples = samples;
        options.seed = m_options.seed;
        options.threads = m_options.threads;
        const ProgressFn scaled = [this](float f, std::string_view stage) {
            return reportProgress(m_progress, 0.55f + 0.15f * f, stage);
        };
        auto r = reconstructPrunedLayers(m_model.graph, unpruned, nodes, m_options.calibration, options, scaled);
        if (!r) return makeError(r.error().code, label + ": " + r.error().message);
        CorrectionReport& c = m_model.correction;
        c.method = PruneCorrection::LeastSquares;
        c.samples = r->samples;
        c.seed = m_options.seed;
        c.data = m_options.calibrationName;
        c.reason.clear();
        for (Track* t : tracks)
            for (const auto& layer : r->layers) {
                if (std::find(t->nodes.begin(), t->nodes.end(), layer.node) == t->nodes.end()) continue;
                if (!layer.applied) {
                    t->report.notes.push_back(layer.note);
                    continue;
                }
                t->report.corrected = true;
                t->report.prunedOutputError = layer.relErrorBefore;  // the last node: the layer's output
                t->report.correctedOutputError = layer.relErrorAfter;
            }
        return Ok{};
    }

    Status retrainStage() {
        if (!m_options.retrain) return Ok{};
        std::vector<RetrainLayer> layers;
        for (const Track& t : m_tracks)
            layers.push_back({t.source.nodeName, t.nodes, t.weights, t.source.bias, t.settings, t.shared});
        auto trained = m_options.retrain(m_model.graph, layers, m_progress);
        if (!trained) return trained.error();
        m_trainedCodebooks = std::move(*trained);
        return Ok{};
    }

    Status quantStage() {
        Graph& g = m_model.graph;
        for (size_t i = 0; i < m_tracks.size(); ++i) {
            if (auto st = progress(0.7f, 0.95f, i, "quantization"); !st) return st;
            Track& t = m_tracks[i];
            const LayerSettings& s = t.settings;
            if (!s.quantized() || t.shared) continue;
            t.report.bits = s.bits;
            t.report.rounding = s.rounding;
            t.report.granularity = s.granularity;
            t.report.symmetric = s.symmetric;
            for (const auto& nodeName : t.nodes) {
                const int idx = g.nodeIndex(nodeName);
                if (s.rounding == Rounding::KMeans) {
                    const auto lw = layerWeight(g, idx);
                    if (auto trained = lw ? m_trainedCodebooks.find(lw->weight) : m_trainedCodebooks.end();
                        trained != m_trainedCodebooks.end()) {
                        m_model.codebooks[lw->weight] = std::move(trained->second);
                        continue;
                    }
                    CodebookTensor c = kmeansShare(g, idx, s.bits);
                    m_model.codebooks[c.name] = std::move(c);
                } else {
                    QuantizedTensor q = uniformQuantize(g, idx, toUniformQuantSettings(s));
                    m_model.quantized[q.name] = std::move(q);
                }
            }
        }
        return Ok{};
    }

    int64_t storedBytes(const std::string& name, const Tensor& t) const {
        if (auto it = m_model.quantized.find(name); it != m_model.quantized.end())
            return quantizedBytes(t.numel(), it->second.bits, int64_t(it->second.scales.size()), it->second.symmetric);
        if (auto it = m_model.codebooks.find(name); it != m_model.codebooks.end()) return codebookBytes(it->second);
        return t.byteSize();
    }

    void report() {
        const Graph& g = m_model.graph;
        for (auto& t : m_tracks) {
            LayerReport& r = t.report;
            r.nodes = t.nodes;
            r.weights = t.weights;
            int64_t zeros = 0, count = 0, bytes = 0;
            for (const auto& w : t.weights) {
                const Tensor& tensor = g.initializers.at(w);
                zeros += countZeros(tensor.data);
                count += tensor.numel();
                bytes += storedBytes(w, tensor);
            }
            int64_t biasParams = 0;
            const std::string& biasName = t.source.bias;
            if (!biasName.empty() && g.initializer(biasName)) biasParams = g.initializers.at(biasName).numel();
            r.sparsity = count ? double(zeros) / double(count) : 0.0;
            r.params = count + biasParams;
            r.bytes = bytes + 4 * biasParams;

            Tensor current =
                t.factors ? recomposeLayer(g, *t.factors, t.decomposedShape) : g.initializers.at(t.weights[0]);
            auto kept = m_kept.find(t.source.weight);
            const Tensor approx = kept == m_kept.end() ? current : expand(current, t.original.shape, kept->second);
            double err = 0, norm = 0;
            for (size_t i = 0; i < t.original.data.size(); ++i) {
                const double w = t.original.data[i];
                const double e = w - double(approx.data[i]);
                err += e * e;
                norm += w * w;
            }
            r.relError = norm > 0 ? std::sqrt(err / norm) : (err > 0 ? 1.0 : 0.0);
            r.sqnrDb = err > 0 ? 10.0 * std::log10(norm / err) : std::numeric_limits<double>::infinity();
            m_model.layers.push_back(std::move(r));
        }
        for (const auto& [name, tensor] : m_source.initializers)
            if (isWeightTensor(tensor)) {
                m_model.originalParams += tensor.numel();
                m_model.originalBytes += tensor.byteSize();
            }
        for (const auto& [name, tensor] : g.initializers)
            if (isWeightTensor(tensor)) {
                m_model.params += tensor.numel();
                m_model.bytes += storedBytes(name, tensor);
            }
    }

    const Graph& m_source;
    const Recipe& m_recipe;
    const ApplyOptions& m_options;
    const ProgressFn& m_progress;
    CompressedModel m_model;
    std::vector<Track> m_tracks;
    std::map<std::string, CodebookTensor> m_trainedCodebooks;  // from the retrain step, by weight name
    std::map<std::string, std::vector<std::vector<int64_t>>> m_kept;  // original weight → kept indices per axis
};

}  // namespace

Result<CompressedModel> applyRecipe(const Graph& graph, const Recipe& recipe, const ApplyOptions& options,
                                    const ProgressFn& progress) {
    return Compressor(graph, recipe, options, progress).run();
}

Result<CompressedModel> applyRecipe(const Graph& graph, const Recipe& recipe, const ProgressFn& progress) {
    return applyRecipe(graph, recipe, ApplyOptions{}, progress);
}

nlohmann::json reportToJson(const CompressedModel& model) {
    using nlohmann::json;
    json layers = json::array();
    for (const auto& r : model.layers) {
        json l = {{"name", r.name},
                  {"op", r.opType},
                  {"nodes", r.nodes},
                  {"weights", r.weights},
                  {"original_shape", r.originalShape},
                  {"sparsity", r.sparsity},
                  {"threshold", r.threshold},
                  {"bits", r.bits},
                  {"rank", r.rank},
                  {"rel_error", r.relError},
                  {"sqnr_db", std::isfinite(r.sqnrDb) ? json(r.sqnrDb) : json(nullptr)},
                  {"params", r.params},
                  {"bytes", r.bytes},
                  {"original_params", r.originalParams},
                  {"original_bytes", r.originalBytes}};
        if (r.bits != 32) {
            l["rounding"] = toString(r.rounding);
            if (r.rounding != Rounding::KMeans) {
                l["granularity"] = toString(r.granularity);
                l["symmetric"] = r.symmetric;
            }
        }
        if (r.rank) {
            l["lowrank_method"] = toString(r.lowRankMethod);
            if (r.lowRankMethod == LowRankMethod::Tucker2) {
                l["rank_in"] = r.rankIn;
                l["full_rank_in"] = r.fullRankIn;
            }
            l["full_rank"] = r.fullRank;
            l["low_rank_error"] = r.lowRankError;
            l["singular_values"] = r.singularValues;
        }
        if (r.channels) {
            l["channels"] = r.channels;
            l["kept_channels"] = r.keptChannels;
        }
        if (r.corrected) {
            l["pruned_output_error"] = r.prunedOutputError;
            l["corrected_output_error"] = r.correctedOutputError;
        }
        if (!r.notes.empty()) l["notes"] = r.notes;
        layers.push_back(std::move(l));
    }
    json j = {{"layers", layers},
              {"params", model.params},
              {"bytes", model.bytes},
              {"original_params", model.originalParams},
              {"original_bytes", model.originalBytes}};
    if (model.globalThreshold > 0) j["global_threshold"] = model.globalThreshold;
    if (model.correction.method != PruneCorrection::None)
        j["correction"] = {{"method", toString(model.correction.method)},
                           {"samples", model.correction.samples},
                           {"seed", model.correction.seed},
                           {"data", model.correction.data}};
    else if (!model.correction.reason.empty())
        j["correction"] = {{"method", "none"}, {"reason", model.correction.reason}};
    if (!model.warnings.empty()) j["warnings"] = model.warnings;
    return j;
}

}  // namespace lathe
