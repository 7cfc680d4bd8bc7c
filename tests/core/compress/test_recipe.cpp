#include <QtTest>
#include <nlohmann/json.hpp>

#include "compress_test_util.h"
#include "core/compress/recipe.h"

using namespace lathe;
using namespace lathe::testing;

namespace {

const char* kExample = R"({
  "defaults": {"prune": {"sparsity": 0.5}, "quant": {"bits": 8}},
  "layers": {"fc1": {"prune": {"threshold": 0.01}, "lowrank": {"rank": 32},
                     "quant": {"bits": 4, "granularity": "per_channel", "symmetric": true,
                               "rounding": "stochastic", "seed": 7}},
             "conv1": {"quant": {"bits": 32}},
             "conv2.weight": {"prune": {"structured": {"keep": 25}}}},
  "activations": {"mode": "static", "bits": 8, "calibration": "percentile", "samples": 512}
})";

}  // namespace

class TestRecipe : public QObject {
    Q_OBJECT
private slots:
    void parsesTheDocumentedSchema() {
        auto r = parseRecipe(kExample);
        QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
        QCOMPARE(r->defaults.prune->sparsity.value(), 0.5);
        QCOMPARE(r->defaults.quant->bits.value(), 8);
        const LayerEntry& fc1 = r->layers.at("fc1");
        QCOMPARE(fc1.prune->threshold.value(), 0.01);
        QCOMPARE(fc1.lowrank->rank.value(), int64_t(32));
        QVERIFY(fc1.quant->granularity.value() == Granularity::PerChannel);
        QVERIFY(fc1.quant->rounding.value() == Rounding::Stochastic);
        QCOMPARE(fc1.quant->seed.value(), uint64_t(7));
        QCOMPARE(r->layers.at("conv2.weight").prune->keep.value(), int64_t(25));
        QVERIFY(r->activations->mode == ActivationMode::Static);
        QVERIFY(r->activations->calibration == Calibration::Percentile);
        QVERIFY(validateRecipe(*r, makeLeNet()).ok());
    }

    void roundTripsThroughJson() {
        auto r = parseRecipe(kExample);
        QVERIFY(r.ok());
        Recipe withGlobal = *r;
        withGlobal.defaults.prune.reset();
        withGlobal.globalPruneSparsity = 0.9;
        withGlobal.layers["fc2"].lowrank.emplace().energy = 0.95;
        withGlobal.layers["fc2"].quant = QuantEntry{3, std::nullopt, false, Rounding::KMeans, std::nullopt};
        withGlobal.layers["conv1"].prune.emplace().keepFraction = 0.5;
        TrainSettings train;
        train.epochs = 3;
        train.lr = 0.02;
        train.optimizer = TrainOptimizer::Sgd;
        train.schedule = LrSchedule::Step;
        train.stepEpochs = 2;
        train.gamma = 0.5;
        train.seed = 9;
        train.samples = 5000;
        train.batchNorm = BatchNormTraining::Train;
        train.pruneSchedule = PruneSchedule{0.25, 2};
        train.centroidEpochs = 1;
        train.mode = TrainObjective::L1;
        train.l1 = L1Settings{2e-4, {{"fc1", 5e-4}}, 0.9, std::nullopt, 1};
        withGlobal.train = train;
        const std::string text = writeRecipe(withGlobal);
        auto again = parseRecipe(text);
        QVERIFY2(again.ok(), again.ok() ? "" : again.error().message.c_str());
        QCOMPARE(recipeToJson(*again), recipeToJson(withGlobal));
        QCOMPARE(writeRecipe(*again), text);
        QVERIFY(again->train);
        QCOMPARE(again->train->stepEpochs, 2);
        QCOMPARE(again->train->pruneSchedule->from, 0.25);
        QCOMPARE(again->train->samples, int64_t(5000));
        QVERIFY(again->train->batchNorm == BatchNormTraining::Train);
        QVERIFY(again->train->mode == TrainObjective::L1);
        QCOMPARE(again->train->l1->layers.at("fc1"), 5e-4);
        QCOMPARE(*again->train->l1->targetSparsity, 0.9);
    }

    void distillSectionRoundTrips() {
        auto r = parseRecipe(R"({"train": {"mode": "distill", "init": "random", "distill": {"teacher": "big.onnx",
            "temperature": 2.5, "alpha": 0.4, "hard": true}}})");
        QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
        QVERIFY(r->train->mode == TrainObjective::Distill);
        QVERIFY(r->train->init == WeightInit::Random);
        QCOMPARE(r->train->distill->teacher, std::string("big.onnx"));
        QCOMPARE(r->train->distill->temperature, 2.5);
        QCOMPARE(r->train->distill->alpha, 0.4);
        QVERIFY(r->train->distill->hard);
        auto again = parseRecipe(writeRecipe(*r));
        QVERIFY(again.ok());
        QCOMPARE(recipeToJson(*again), recipeToJson(*r));
        // The mode alone: the issue's defaults (baseline teacher, T 4, α 0.7, soft) are written out.
        auto plain = parseRecipe(R"({"train": {"mode": "distill"}})");
        QVERIFY(plain.ok());
        const nlohmann::json d = recipeToJson(*plain)["train"]["distill"];
        QCOMPARE(d["teacher"].get<std::string>(), std::string("baseline"));
        QCOMPARE(d["temperature"].get<double>(), 4.0);
        QCOMPARE(d["alpha"].get<double>(), 0.7);
        QCOMPARE(d["hard"].get<bool>(), false);
    }

    void crossValidationSectionRoundTrips() {
        auto r = parseRecipe(R"({"evaluation": {"cross_validation": {"folds": 5, "epochs": 1, "seed": 3}}})");
        QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
        QCOMPARE(r->evaluation->crossValidation->folds, 5);
        QCOMPARE(*r->evaluation->crossValidation->epochs, 1);
        QCOMPARE(r->evaluation->crossValidation->seed, uint64_t(3));
        auto again = parseRecipe(writeRecipe(*r));
        QVERIFY(again.ok());
        QCOMPARE(recipeToJson(*again), recipeToJson(*r));
    }

    void parsesTheTrainSectionOfTheIssue() {
        auto r = parseRecipe(R"({"train": {"epochs": 2, "lr": 0.01, "optimizer": "sgd", "momentum": 0.9, "batch": 64,
            "schedule": "cosine", "seed": 0, "prune_schedule": {"from": 0.5, "epochs": 2}}})");
        QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
        QCOMPARE(r->train->epochs, 2);
        QCOMPARE(r->train->batch, 64);
        QVERIFY(r->train->schedule == LrSchedule::Cosine);
        QCOMPARE(r->train->pruneSchedule->epochs, 2);
        QVERIFY(r->train->batchNorm == BatchNormTraining::Frozen);
    }

    void resolvesDefaultsThenLayer() {
        auto r = parseRecipe(kExample);
        QVERIFY(r.ok());
        const Graph g = makeLeNet();
        const LayerSettings fc1 = resolveLayerSettings(*r, g, g.nodeIndex("fc1"));
        QVERIFY(!fc1.sparsity);  // the layer's threshold replaces the default sparsity
        QCOMPARE(fc1.threshold.value(), 0.01);
        QCOMPARE(fc1.rank.value(), int64_t(32));
        QVERIFY(fc1.explicitLowRank);
        QCOMPARE(fc1.bits, 4);
        QVERIFY(fc1.granularity == Granularity::PerChannel);
        QVERIFY(fc1.rounding == Rounding::Stochastic);
        QCOMPARE(fc1.seed, uint64_t(7));
        const LayerSettings fc2 = resolveLayerSettings(*r, g, g.nodeIndex("fc2"));
        QCOMPARE(fc2.sparsity.value(), 0.5);
        QCOMPARE(fc2.bits, 8);
        QVERIFY(!fc2.rank && !fc2.keep);
        const LayerSettings conv1 = resolveLayerSettings(*r, g, g.nodeIndex("conv1"));
        QCOMPARE(conv1.bits, 32);
        QVERIFY(!conv1.quantized());
        QCOMPARE(conv1.sparsity.value(), 0.5);
        const LayerSettings conv2 = resolveLayerSettings(*r, g, g.nodeIndex("conv2"));  // named by its weight
        QCOMPARE(conv2.keep.value(), int64_t(25));
        QVERIFY(conv2.explicitStructured);
        QCOMPARE(conv2.sparsity.value(), 0.5);
    }

    void globalPruneAppliesToLayersWithoutTheirOwn() {
        auto r = parseRecipe(R"({"global_prune": {"sparsity": 0.9}, "layers": {"fc2": {"prune": {"sparsity": 0}}}})");
        QVERIFY(r.ok());
        const Graph g = makeLeNet();
        QVERIFY(resolveLayerSettings(*r, g, g.nodeIndex("fc1")).globalPrune);
        const LayerSettings fc2 = resolveLayerSettings(*r, g, g.nodeIndex("fc2"));
        QVERIFY(!fc2.globalPrune);
        QVERIFY(!fc2.pruned());
    }

    void globalPruneCorrectionRoundTrips() {
        auto r = parseRecipe(R"({"global_prune": {"sparsity": 0.7, "correction": "least_squares", "samples": 256}})");
        QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
        QVERIFY(r->globalPruneCorrection == PruneCorrection::LeastSquares);
        QCOMPARE(r->globalPruneSamples.value(), int64_t(256));
        auto again = parseRecipe(writeRecipe(*r));
        QVERIFY(again.ok());
        QVERIFY(again->globalPruneCorrection == PruneCorrection::LeastSquares);
        QCOMPARE(again->globalPruneSamples.value(), int64_t(256));
        auto plain = parseRecipe(R"({"global_prune": {"sparsity": 0.7}})");
        QVERIFY(plain.ok() && !plain->globalPruneCorrection && !plain->globalPruneSamples);
        QVERIFY(parseRecipe(R"({"global_prune": {"sparsity": 0.7, "correction": "none"}})")->globalPruneCorrection ==
                PruneCorrection::None);
    }

    void layerPruneCorrectionRoundTrips() {
        auto r = parseRecipe(
            R"({"layers": {"fc1": {"prune": {"sparsity": 0.5}}}, "prune_correction": {"method": "least_squares", "samples": 128}})");
        QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
        QVERIFY(r->layerPruneCorrection == PruneCorrection::LeastSquares);
        QCOMPARE(r->layerPruneSamples.value(), int64_t(128));
        QVERIFY(recipeRefitsPruning(*r));
        auto again = parseRecipe(writeRecipe(*r));
        QVERIFY(again.ok());
        QVERIFY(again->layerPruneCorrection == PruneCorrection::LeastSquares);
        QCOMPARE(again->layerPruneSamples.value(), int64_t(128));
        auto none = parseRecipe(R"({"layers": {"fc1": {"prune": {"sparsity": 0.5}}}, "prune_correction": {"method": "none"}})");
        QVERIFY(none.ok() && none->layerPruneCorrection == PruneCorrection::None && !recipeRefitsPruning(*none));
        // Unset: per-layer pruning is not refit; global_prune refits by default.
        QVERIFY(!recipeRefitsPruning(*parseRecipe(R"({"layers": {"fc1": {"prune": {"sparsity": 0.5}}}})")));
        QVERIFY(recipeRefitsPruning(*parseRecipe(R"({"global_prune": {"sparsity": 0.5}})")));
        QVERIFY(!recipeRefitsPruning(*parseRecipe(R"({"global_prune": {"sparsity": 0.5, "correction": "none"}})")));
    }

    void rejectsInvalidRecipes_data() {
        QTest::addColumn<QString>("json");
        QTest::addColumn<QString>("graph");  // "lenet" or "residual"
        QTest::addColumn<QString>("message");
        auto row = [](const char* name, const char* json, const char* message, const char* graph = "lenet") {
            QTest::newRow(name) << QString(json) << QString(graph) << QString::fromUtf8(message);
        };
        row("prune_correction without method", R"({"prune_correction": {"samples": 64}})",
            "prune_correction.method: missing");
        row("prune_correction method", R"({"prune_correction": {"method": "obs"}})",
            "prune_correction.method: \"obs\" is not one of none, least_squares");
        row("prune_correction samples", R"({"prune_correction": {"method": "least_squares", "samples": 0}})",
            "prune_correction.samples: 0 is outside [1, 1000000]");
        row("prune_correction key", R"({"prune_correction": {"method": "none", "damping": 1}})",
            "prune_correction.damping");
        row("bits 0", R"({"layers": {"fc1": {"quant": {"bits": 0}}}})",
            "layers.fc1.quant.bits: 0 is not a valid bit-width (2–8, or 32 for float)");
        row("bits 1", R"({"defaults": {"quant": {"bits": 1}}})", "defaults.quant.bits: 1 is not a valid bit-width");
        row("bits 16", R"({"layers": {"conv1": {"quant": {"bits": 16}}}})", "layers.conv1.quant.bits: 16 is not");
        row("bits as string", R"({"layers": {"fc1": {"quant": {"bits": "8"}}}})",
            "layers.fc1.quant.bits: expected an integer");
        row("sparsity 1", R"({"layers": {"fc1": {"prune": {"sparsity": 1.0}}}})",
            "layers.fc1.prune.sparsity: 1 is outside [0, 1)");
        row("sparsity negative", R"({"defaults": {"prune": {"sparsity": -0.1}}})",
            "defaults.prune.sparsity: -0.1 is outside [0, 1)");
        row("threshold negative", R"({"layers": {"fc1": {"prune": {"threshold": -1}}}})",
            "layers.fc1.prune.threshold: -1 must be a finite magnitude");
        row("sparsity and threshold", R"({"layers": {"fc1": {"prune": {"sparsity": 0.5, "threshold": 0.1}}}})",
            "layers.fc1.prune: set either sparsity or threshold");
        row("global sparsity 1", R"({"global_prune": {"sparsity": 1}})", "global_prune.sparsity: 1 is outside [0, 1)");
        row("global correction", R"({"global_prune": {"sparsity": 0.7, "correction": "bias"}})",
            "global_prune.correction: \"bias\" is not one of none, least_squares");
        row("global samples 0", R"({"global_prune": {"sparsity": 0.7, "samples": 0}})",
            "global_prune.samples: 0 must be >= 1");
        row("global unknown key", R"({"global_prune": {"sparsity": 0.7, "normalize": true}})",
            "global_prune.normalize: unknown key (expected one of sparsity, correction, samples)");
        row("global correction without sparsity", R"({"global_prune": {"correction": "none"}})",
            "global_prune.sparsity: missing");
        row("global with default", R"({"global_prune": {"sparsity": 0.5}, "defaults": {"prune": {"sparsity": 0.2}}})",
            "global_prune: conflicts with defaults.prune.sparsity");
        row("rank above full", R"({"layers": {"fc1": {"lowrank": {"rank": 600}}}})",
            "layers.fc1.lowrank.rank: 600 is above the full rank of fc1 (500");
        row("conv rank above full", R"({"layers": {"conv1.weight": {"lowrank": {"rank": 21}}}})",
            "layers.conv1.weight.lowrank.rank: 21 is above the full rank of conv1 (20");
        row("rank 0", R"({"layers": {"fc1": {"lowrank": {"rank": 0}}}})",
            "layers.fc1.lowrank.rank: 0 must be at least 1");
        row("energy 1.5", R"({"layers": {"fc1": {"lowrank": {"energy": 1.5}}}})",
            "layers.fc1.lowrank.energy: 1.5 is outside (0, 1]");
        row("rank and energy", R"({"layers": {"fc1": {"lowrank": {"rank": 3, "energy": 0.5}}}})",
            "layers.fc1.lowrank: set either rank or energy");
        row("unknown layer", R"({"layers": {"fc9": {"quant": {"bits": 8}}}})",
            "layers.fc9: no layer named 'fc9' in the model; layers are conv1, conv2, fc1, fc2");
        row("layer without weight", R"({"layers": {"relu1": {"quant": {"bits": 8}}}})",
            "layers.relu1: node 'relu1' (Relu) has no weight to compress");
        row("same layer twice", R"({"layers": {"fc1": {"quant": {"bits": 8}}, "fc1.weight": {"quant": {"bits": 4}}}})",
            "names the same layer as layers.");
        row("unknown key", R"({"layers": {"fc1": {"quant": {"bitz": 8}}}})",
            "layers.fc1.quant.bitz: unknown key (expected one of bits, granularity, symmetric, rounding, seed)");
        row("unknown top key", R"({"default": {}})", "default: unknown key");
        row("unknown structured key", R"({"layers": {"conv2": {"prune": {"structured": {"keep_ratio": 0.5}}}}})",
            "layers.conv2.prune.structured.keep_ratio: unknown key");
        row("granularity", R"({"defaults": {"quant": {"granularity": "per_row"}}})",
            "defaults.quant.granularity: \"per_row\" is not one of per_tensor, per_channel");
        row("rounding", R"({"defaults": {"quant": {"rounding": "up"}}})",
            "defaults.quant.rounding: \"up\" is not one of nearest, stochastic, kmeans");
        row("seed negative", R"({"defaults": {"quant": {"seed": -3}}})",
            "defaults.quant.seed: expected a non-negative");
        row("keep above channels", R"({"layers": {"conv2": {"prune": {"structured": {"keep": 60}}}}})",
            "layers.conv2.prune.structured.keep: 60 is more than the 50 channels of conv2's channel group");
        row("keep 0", R"({"layers": {"conv2": {"prune": {"structured": {"keep": 0}}}}})",
            "layers.conv2.prune.structured.keep: 0 must keep at least 1 channel");
        row("keep fraction", R"({"defaults": {"prune": {"structured": {"keep_fraction": 0}}}})",
            "defaults.prune.structured.keep_fraction: 0 is outside (0, 1]");
        row("structured on the logits", R"({"layers": {"fc2": {"prune": {"structured": {"keep": 5}}}}})",
            "layers.fc2.prune.structured: the channels of fc2 cannot be removed: its channels reach the graph output");
        row("structured into add", R"({"layers": {"conv2": {"prune": {"structured": {"keep": 2}}}}})",
            "layers.conv2.prune.structured: the channels of conv2 cannot be removed: its channels come from the graph "
            "input 'input'", "residual");
        row("unknown next to a valid one", R"({"layers": {"fc1": {"lowrank": {"rank": 2}}, "x": {}}})",
            "layers.x: no layer named 'x'");
        row("activation mode", R"({"activations": {"mode": "int8"}})",
            "activations.mode: \"int8\" is not one of none, dynamic, static");
        row("activation calibration", R"({"activations": {"calibration": "kl"}})",
            "activations.calibration: \"kl\" is not one of minmax, percentile, entropy");
        row("activation samples", R"({"activations": {"samples": 0}})", "activations.samples: 0 must be >= 1");
        row("activation bits", R"({"activations": {"bits": 0}})", "activations.bits: 0 is not a valid bit-width");
        row("not an object", R"({"layers": {"fc1": {"quant": 8}}})", "layers.fc1.quant: expected an object, got 8");
        row("not json", R"({"layers": )", "recipe: not valid JSON");
        row("train epochs 0", R"({"train": {"epochs": 0}})", "train.epochs: 0 is outside 1..10000");
        row("train lr negative", R"({"train": {"lr": -0.1}})", "train.lr: -0.1 is outside (0, 10]");
        row("train optimizer", R"({"train": {"optimizer": "rmsprop"}})",
            "train.optimizer: \"rmsprop\" is not one of sgd, adam");
        row("train unknown key", R"({"train": {"epoch": 2}})", "train.epoch: unknown key");
        row("train ramp longer than training", R"({"train": {"epochs": 2, "prune_schedule": {"from": 0.5, "epochs": 3}}})",
            "train.prune_schedule.epochs: 3 is outside 1..epochs (2)");
        row("train ramp from 1", R"({"train": {"prune_schedule": {"from": 1}}})",
            "train.prune_schedule.from: 1 is outside [0, 1)");
        row("train momentum 1", R"({"train": {"momentum": 1}})", "train.momentum: 1 is outside [0, 1)");
        row("l1 without its mode", R"({"train": {"l1": {"lambda": 0.001}}})", "train.l1: set \"mode\": \"l1\"");
        row("l1 lambda negative", R"({"train": {"mode": "l1", "l1": {"lambda": -1}}})", "train.l1.lambda: -1 is outside");
        row("l1 layer lambda not a number", R"({"train": {"mode": "l1", "l1": {"layers": {"fc1": "big"}}}})",
            "train.l1.layers.fc1: expected a number");
        row("l1 target and threshold", R"({"train": {"mode": "l1", "l1": {"target_sparsity": 0.5, "threshold": 0.1}}})",
            "train.l1: set either target_sparsity or threshold");
        row("l1 final epochs", R"({"train": {"mode": "l1", "epochs": 2, "l1": {"final_epochs": 2}}})",
            "train.l1.final_epochs: 2 is outside 0..epochs-1 (1)");
        row("distill without its mode", R"({"train": {"distill": {"alpha": 0.5}}})",
            "train.distill: set \"mode\": \"distill\"");
        row("distill alpha", R"({"train": {"mode": "distill", "distill": {"alpha": 1.5}}})",
            "train.distill.alpha: 1.5 is outside [0, 1]");
        row("distill temperature", R"({"train": {"mode": "distill", "distill": {"temperature": 0}}})",
            "train.distill.temperature: 0 is outside (0, 100]");
        row("distill teacher not a string", R"({"train": {"mode": "distill", "distill": {"teacher": 3}}})",
            "train.distill.teacher: expected \"baseline\" or the path of an ONNX file");
        row("distill unknown key", R"({"train": {"mode": "distill", "distill": {"temp": 3}}})", "train.distill.temp");
        row("init unknown", R"({"train": {"init": "zeros"}})", "train.init");
        row("cv one fold", R"({"evaluation": {"cross_validation": {"folds": 1}}})",
            "evaluation.cross_validation.folds: 1 is outside 2..100");
        row("cv epochs", R"({"evaluation": {"cross_validation": {"epochs": 0}}})",
            "evaluation.cross_validation.epochs: 0 is outside 1..10000");
        row("evaluation unknown key", R"({"evaluation": {"kfold": 5}})", "evaluation.kfold");
        row("l1 unknown layer", R"({"train": {"mode": "l1", "l1": {"layers": {"fc9": 0.1}}}})",
            "train.l1.layers.fc9: no layer named 'fc9'");
    }

    void rejectsInvalidRecipes() {
        QFETCH(QString, json);
        QFETCH(QString, graph);
        QFETCH(QString, message);
        const Graph g = graph == "residual" ? makeResidual() : makeLeNet();
        auto r = parseRecipe(json.toStdString());
        std::string error;
        if (!r.ok())
            error = r.error().message;
        else if (auto st = validateRecipe(*r, g); !st.ok())
            error = st.error().message;
        QVERIFY2(!error.empty(), "recipe was accepted");
        QVERIFY2(error.find(message.toStdString()) != std::string::npos,
                 ("got: " + error + "\nexpected to contain: " + message.toStdString()).c_str());
    }

    void listsEveryProblem() {
        auto r = parseRecipe(R"({"layers": {"fc1": {"quant": {"bits": 0}, "prune": {"sparsity": 2}}}})");
        QVERIFY(!r.ok());
        QVERIFY(r.error().message.find("layers.fc1.quant.bits") != std::string::npos);
        QVERIFY(r.error().message.find("layers.fc1.prune.sparsity") != std::string::npos);
    }

    void validatesRecipesBuiltInCode() {
        Recipe r;
        r.layers["fc2"].quant = QuantEntry{9, std::nullopt, std::nullopt, std::nullopt, std::nullopt};
        auto st = validateRecipe(r, makeLeNet());
        QVERIFY(!st.ok());
        QVERIFY(st.error().message.find("layers.fc2.quant.bits: 9") != std::string::npos);
    }

    // Issue 9: nothing in a recipe file may abort Lathe; each class of bad input is an error naming the field.
    void refusesHostileRecipes_data() {
        QTest::addColumn<QString>("json");
        QTest::addColumn<QString>("message");
        QTest::newRow("number beyond double") << R"({"global_prune": {"sparsity": 0.5, "samples": 1e400}})"
                                              << "global_prune.samples: a number does not fit a double";
        QTest::newRow("negative beyond double") << R"({"layers": {"fc1": {"prune": {"sparsity": -1e999}}}})"
                                                << "layers.fc1.prune.sparsity: a number does not fit a double";
        QTest::newRow("duplicate top-level key") << R"({"defaults": {}, "defaults": {"quant": {"bits": 4}}})"
                                                 << "duplicate key \"defaults\"";
        QTest::newRow("duplicate layer") << R"({"layers": {"fc1": {"quant": {"bits": 8}}, "fc1": {}}})"
                                         << "recipe: layers: duplicate key \"fc1\"";
        QTest::newRow("duplicate nested key") << R"({"layers": {"fc1": {"quant": {"bits": 8, "bits": 4}}}})"
                                              << "layers.fc1.quant: duplicate key \"bits\"";
        QTest::newRow("samples far too many") << R"({"global_prune": {"sparsity": 0.5, "samples": 1e11}})"
                                              << "global_prune.samples: 100000000000 is above 1000000";
        QTest::newRow("activation samples") << R"({"activations": {"mode": "static", "samples": 2000000}})"
                                            << "activations.samples: 2000000 is above 1000000";
        QTest::newRow("rank far too large") << R"({"layers": {"fc1": {"lowrank": {"rank": 1e12}}}})"
                                            << "layers.fc1.lowrank.rank: 1000000000000 is more than";
        QTest::newRow("keep far too large") << R"({"defaults": {"prune": {"structured": {"keep": 5e15}}}})"
                                            << "defaults.prune.structured.keep: 5000000000000000 is more than";
        QTest::newRow("integer beyond int64") << R"({"layers": {"fc1": {"lowrank": {"rank": 18446744073709551615}}}})"
                                              << "layers.fc1.lowrank.rank: 18446744073709551615 is too large";
        QTest::newRow("bits beyond int") << R"({"defaults": {"quant": {"bits": 1e300}}})"
                                         << "defaults.quant.bits: expected an integer";
        QTest::newRow("negative seed") << R"({"defaults": {"quant": {"seed": -1}}})"
                                       << "defaults.quant.seed: expected a non-negative integer";
        QTest::newRow("deep nesting") << QString(R"({"layers": )") + QString(200, '[') + QString(200, ']') + "}"
                                      << "nested deeper than 64 levels";
    }

    void refusesHostileRecipes() {
        QFETCH(QString, json);
        QFETCH(QString, message);
        auto r = parseRecipe(json.toStdString());
        QVERIFY2(!r.ok(), "recipe was accepted");
        QVERIFY2(r.error().message.find(message.toStdString()) != std::string::npos,
                 ("got: " + r.error().message + "\nexpected to contain: " + message.toStdString()).c_str());
    }

    void boundsStillAcceptSaneValues() {
        auto r = parseRecipe(R"({"global_prune": {"sparsity": 0.5, "samples": 1000000},
                                 "defaults": {"quant": {"seed": 18446744073709551615}}})");
        QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
        QCOMPARE(*r->globalPruneSamples, int64_t(1'000'000));
        QCOMPARE(*r->defaults.quant->seed, uint64_t(18446744073709551615ull));
    }

    void strictJsonNamesArrayPositions() {
        auto j = parseStrictJson(R"({"variants": [{}, {}, {"recipe": {"layers": {"fc1": {}, "fc1": {}}}}]})", "project");
        QVERIFY(!j.ok());
        QVERIFY2(j.error().message.find("project: variants[2].recipe.layers: duplicate key \"fc1\"") !=
                     std::string::npos,
                 j.error().message.c_str());
        auto big = parseStrictJson(R"({"a": [1, 2, 1e999]})", "doc");
        QVERIFY(!big.ok());
        QVERIFY2(big.error().message.find("doc: a[2]: a number does not fit a double") != std::string::npos,
                 big.error().message.c_str());
    }
};

QTEST_APPLESS_MAIN(TestRecipe)
#include "test_recipe.moc"
