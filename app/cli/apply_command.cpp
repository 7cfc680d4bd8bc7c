#include "app/cli/apply_command.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "app/cli/dataset_arguments.h"
#include "app/cli/eval_command.h"
#include "app/cli/terminal_output.h"
#include "core/compress/apply_recipe.h"
#include "core/compress/calibrate/calibrate_activations.h"
#include "core/common/output_path.h"
#include "core/eval/evaluator.h"
#include "core/export/deep_compression_size.h"
#include "core/export/onnx_export.h"
#include "core/model/onnx_reader.h"
#include "core/train/cross_validation.h"
#include "core/train/fine_tune.h"

namespace lathe {

namespace {

using cli::fail;
using cli::parseInteger;
using cli::TerminalProgress;
using cli::UsageError;

constexpr const char* kApplyUsage =
    "usage: lathe-cli apply MODEL --recipe R.json -o OUT.onnx [options]\n"
    "compresses MODEL by the recipe (pruning, quantization, low-rank), writes OUT.onnx and reports per-layer error,\n"
    "file sizes (raw and zlib -9) and, with --data, the accuracy of the written file\n"
    "  --format F           float (default): float weights as compressed, for any runtime\n"
    "                       qdq: int8 weights + DequantizeLinear (+ activation Q/DQ): ONNX Runtime, TensorRT\n"
    "                       qop: QLinearConv/QLinearMatMul, static activations only: OpenCV DNN\n"
    "  --data SPEC          idx:DIR, folder:DIR or npy:IMAGES.npy,LABELS.npy: calibrates static activations on\n"
    "                       the recipe's `samples` and evaluates the written file; the least-squares correction\n"
    "                       of pruning (global_prune, prune_correction) calibrates on the IDX train split\n"
    "                       (other kinds: the data set itself)\n"
    "  --split test|train   IDX files to read (default test); calibration and evaluation use this split\n"
    "  --train-data SPEC    training data of the recipe's \"train\" section (default for idx: the train split)\n"
    "  --student S.onnx     compress and train S instead of MODEL; MODEL is then the distillation teacher\n"
    "                       (\"distill\": {\"teacher\": \"baseline\"}); a teacher path in the recipe is read\n"
    "                       relative to the recipe's folder\n"
    "  --cv K               stratified K-fold cross-validation on the training data: per fold, train the\n"
    "                       compressed model on the other folds (the recipe's train settings, else 1 epoch)\n"
    "                       and measure it on the held-out fold; prints mean +- std (also the recipe's\n"
    "                       \"evaluation\": {\"cross_validation\": {\"folds\": K, \"epochs\": E}})\n"
    "  --limit N            evaluate the first N samples (default all)\n"
    "  --backend B          runtime of the evaluation: auto (default), builtin or opencv\n"
    "  --seed S             seed of the calibration subsets (default 0)\n"
    "  --batch B            batch size (default 100)\n"
    "  --threads T          inference threads (default: all cores)\n"
    "  --scale F, --mean M[,M,M], --std S[,S,S]   preprocessing, as in lathe-cli eval\n"
    "  --json               machine-readable output\n";

struct ApplyArgs : cli::DatasetArguments {
    std::string model;
    std::string trainData;
    std::string student;
    int cvFolds = 0;
    std::string recipe;
    std::string output;
    ExportFormat format = ExportFormat::Float;
    uint64_t seed = 0;
    bool json = false;
};

ApplyArgs parseArgs(const std::vector<std::string>& args) {
    ApplyArgs out;
    const cli::OptionSwitches switches = {{"--json", [&] { out.json = true; }}};
    cli::OptionSetters withValue = cli::datasetOptionSetters(out);
    withValue.insert({
        {"--recipe", [&](auto&, auto& v) { out.recipe = v; }},
        {"-o", [&](auto&, auto& v) { out.output = v; }},
        {"--train-data", [&](auto&, auto& v) { out.trainData = v; }},
        {"--student", [&](auto&, auto& v) { out.student = v; }},
        {"--cv", [&](auto& o, auto& v) { out.cvFolds = parseInteger<int>(o, v, 2); }},
        {"--output", [&](auto&, auto& v) { out.output = v; }},
        {"--format",
         [&](auto&, auto& v) {
             auto f = parseExportFormat(v);
             if (!f) throw UsageError{"--format is float, qdq or qop, got '" + v + "'"};
             out.format = *f;
         }},
        {"--seed", [&](auto& o, auto& v) { out.seed = parseInteger<uint64_t>(o, v, 0); }},
    });
    out.model = cli::parseCommandLine(args, switches, withValue);
    if (out.recipe.empty()) throw UsageError{"no recipe given (--recipe R.json)"};
    if (out.output.empty()) throw UsageError{"no output file given (-o OUT.onnx)"};
    out.spec = cli::datasetSpec(out);
    if (!out.trainData.empty() && !out.spec) throw UsageError{"--train-data needs --data SPEC (the evaluation data)"};
    return out;
}

Result<Recipe> readRecipeFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return makeError(ErrorCode::FileNotFound, path + ": cannot open the recipe file");
    std::stringstream text;
    text << in.rdbuf();
    auto recipe = parseRecipe(text.str());
    if (!recipe) return makeError(recipe.error().code, path + ": " + recipe.error().message);
    return recipe;
}

double percentOf(int64_t part, int64_t whole) { return whole > 0 ? 100.0 * double(part) / double(whole) : 0.0; }

void printText(std::ostream& out, const ApplyArgs& args, const CompressedModel& model, const ExportResult& written,
               const FileSize& baseline, const ActivationRanges& ranges, const std::optional<EvalReport>& eval) {
    out << "model:     " << args.model << '\n';
    if (!args.student.empty()) out << "student:   " << args.student << '\n';
    out << "recipe:    " << args.recipe << "\nwritten:   " << written.path << " ("
        << toString(written.format) << ")\n\n";
    out << std::left << std::setw(18) << "layer" << std::right << std::setw(10) << "sparsity" << std::setw(6)
        << "bits" << std::setw(6) << "rank" << std::setw(11) << "rel.error" << std::setw(10) << "SQNR dB"
        << std::setw(10) << "params" << std::setw(11) << "bytes" << '\n';
    for (const LayerReport& r : model.layers) {
        out << std::left << std::setw(18) << r.name << std::right << std::fixed << std::setprecision(2)
            << std::setw(9) << 100.0 * r.sparsity << '%' << std::setw(6) << r.bits << std::setw(6)
            << (r.rank ? std::to_string(r.rank) : "-") << std::setprecision(4) << std::setw(11) << r.relError
            << std::setprecision(1) << std::setw(10)
            << (std::isfinite(r.sqnrDb) ? (std::ostringstream() << std::fixed << std::setprecision(1) << r.sqnrDb).str()
                                         : std::string("inf"))
            << std::setw(10) << r.params << std::setw(11) << r.bytes << '\n';
    }
    out << "\nsize:      " << written.size.onnxBytes << " bytes (" << std::setprecision(1)
        << percentOf(written.size.onnxBytes, baseline.onnxBytes) << "% of " << baseline.onnxBytes << "), zlib -9 "
        << written.size.zlibBytes << " bytes (" << percentOf(written.size.zlibBytes, baseline.zlibBytes) << "% of "
        << baseline.zlibBytes << ")\n";
    out << "weights:   " << written.weightBytes << " bytes in the file\n";
    const DeepCompressionSize paper = deepCompressionSize(model);
    out << "deep compression count: " << paper.bytes() << " bytes (sparse entries with relative indices, codes, "
        << "codebooks), " << std::setprecision(1) << paper.ratio() << "x smaller than the float model\n";
    if (ranges.mode != ActivationMode::None) {
        out << "activations: " << toString(ranges.mode);
        if (ranges.mode == ActivationMode::Static)
            out << ", " << toString(ranges.calibration) << " calibration on " << ranges.samples << " samples, "
                << ranges.tensors.size() << " tensors";
        if (ranges.calibrationTop1 >= 0)
            out << "; top-1 on them " << ranges.calibrationTop1 << "% (min-max ranges: " << ranges.minMaxTop1 << "%)";
        out << '\n';
    }
    for (const auto& warning : ranges.warnings) out << "warning:   " << warning << '\n';
    if (model.correction.method != PruneCorrection::None) {
        out << "correction: " << toString(model.correction.method) << " refit of the kept weights on "
            << model.correction.samples << " samples of " << model.correction.data << " (seed " << model.correction.seed
            << "); relative output error pruned -> corrected:\n";
        for (const LayerReport& r : model.layers)
            if (r.corrected)
                out << "            " << std::left << std::setw(14) << r.name << std::right << std::setprecision(4)
                    << r.prunedOutputError << " -> " << r.correctedOutputError << '\n';
    } else if (model.globalThreshold > 0 && !model.correction.reason.empty()) {
        out << "correction: none (" << model.correction.reason << ")\n";
    }
    for (const auto& note : written.notes) out << "note:      " << note << '\n';
    for (const auto& warning : model.warnings) out << "warning:   " << warning << '\n';
    if (eval) {
        out << "\naccuracy of " << written.path << " (reloaded):\n";
        printEvalReport(out, *eval, {});
        for (const auto& note : eval->notes) out << "note:      " << note << '\n';
    }
}

}  // namespace

int runApplyCommand(const std::vector<std::string>& args) {
    ApplyArgs parsed;
    if (auto exitCode = cli::parseCommand("apply", kApplyUsage, args, [&] { parsed = parseArgs(args); }))
        return *exitCode;
    const std::optional<DatasetSpec>& spec = parsed.spec;

    // Every input is read and checked before anything is written: on any failure an existing output stays as it was.
    // With --student the student is what gets compressed and trained, MODEL its default teacher.
    auto model = readOnnxModel(parsed.model);
    if (!model) return fail(model.error());
    auto recipe = readRecipeFile(parsed.recipe);
    if (!recipe) return fail(recipe.error());
    std::vector<InputPath> inputs = {{parsed.model, "the model", false}, {parsed.recipe, "the recipe", false}};
    for (const std::string& file : model->externalDataFiles)
        inputs.push_back({file, "an external-data file of the model", false});
    if (!parsed.student.empty() && !recipe->train)
        return fail(parsed.recipe + ": --student trains the student; the recipe needs a \"train\" section");
    Result<Graph> graph = std::move(model);
    std::shared_ptr<const Graph> teacher;
    if (!parsed.student.empty()) {
        teacher = std::make_shared<const Graph>(std::move(*graph));
        graph = readOnnxModel(parsed.student);
        if (!graph) return fail(graph.error());
        inputs.push_back({parsed.student, "the student model", false});
        for (const std::string& file : graph->externalDataFiles)
            inputs.push_back({file, "an external-data file of the student", false});
    }
    const std::string& trainedFile = parsed.student.empty() ? parsed.model : parsed.student;
    if (recipe->train && recipe->train->mode == TrainObjective::Distill) {
        const DistillSettings distill = recipe->train->distill.value_or(DistillSettings{});
        if (distill.teacher != "baseline") {
            const std::filesystem::path teacherPath =
                std::filesystem::path(distill.teacher).is_absolute()
                    ? std::filesystem::path(distill.teacher)
                    : std::filesystem::path(parsed.recipe).parent_path() / distill.teacher;
            auto opened = readOnnxModel(teacherPath.string());
            if (!opened)
                return fail(parsed.recipe + ": train.distill.teacher: " + opened.error().message);
            inputs.push_back({teacherPath.string(), "the teacher model", false});
            teacher = std::make_shared<const Graph>(std::move(*opened));
        }
    } else {
        teacher.reset();  // only distillation reads a teacher
    }
    if (spec)
        for (InputPath& input : datasetInputPaths(*spec)) inputs.push_back(std::move(input));
    if (auto output = checkOutputPath(parsed.output, inputs); !output) return fail(output.error());
    const ActivationSettings activations = recipe->activations.value_or(ActivationSettings{});
    if (activations.mode == ActivationMode::Static && !spec)
        return fail(parsed.recipe + ": activations.mode: static quantization calibrates on data; pass --data SPEC");
    if (parsed.format == ExportFormat::QOperator && activations.mode != ActivationMode::Static)
        return fail(parsed.recipe + ": activations.mode: --format qop needs static activations (\"activations\": "
                                    "{\"mode\": \"static\"}); got " + std::string(toString(activations.mode)));
    std::shared_ptr<const Dataset> dataset;
    if (spec) {
        auto opened = openDataset(*spec, parsed.datasetOptions);
        if (!opened) return fail(opened.error());
        dataset = *opened;
        for (const std::string& w : scaleWarnings(*dataset, parsed.datasetOptions.preprocessing))
            std::cerr << "warning: " << w << '\n';
        if (auto evaluable = checkEvaluation(*graph, *dataset, parsed.evalOptions); !evaluable)
            return fail(evaluable.error());
    }

    // Cross-validation: --cv K, else the recipe's evaluation.cross_validation.
    std::optional<CrossValidationSettings> crossValidation;
    if (recipe->evaluation && recipe->evaluation->crossValidation) crossValidation = recipe->evaluation->crossValidation;
    if (parsed.cvFolds > 0) {
        if (!crossValidation) crossValidation = CrossValidationSettings{};
        crossValidation->folds = parsed.cvFolds;
    }
    // The written model is the one trained on all folds: without a train section, it and every fold fine-tune with
    // the default settings.
    std::string cvNote;
    if (crossValidation && !recipe->train) {
        recipe->train = TrainSettings{};
        recipe->train->epochs = crossValidation->epochs.value_or(1);
        cvNote = "the recipe has no train section: each fold and the written model fine-tune " +
                 std::to_string(recipe->train->epochs) + " epoch(s) with the default train settings";
    }

    // The "train" section (and cross-validation) train on --train-data, else on the IDX train split; never on the
    // evaluation images.
    TrainData trainData;
    if (recipe->train) {
        if (!spec)
            return fail(parsed.recipe + (cvNote.empty() ? ": train" : ": cross-validation") +
                        ": training needs data; pass --data SPEC (and --train-data SPEC unless it is idx: with a train "
                        "split)");
        std::optional<DatasetSpec> trainSpec;
        if (!parsed.trainData.empty()) {
            auto parsedSpec = parseDatasetSpec(parsed.trainData);
            if (!parsedSpec) return fail("--train-data: " + parsedSpec.error().message);
            trainSpec = *parsedSpec;
        } else if (spec->kind != DatasetKind::Idx) {
            return fail(parsed.recipe + ": train: " + parsed.data + " has no train split; pass --train-data SPEC "
                                        "(other images than the evaluation data)");
        } else if (parsed.datasetOptions.split == Split::Train) {
            return fail("--split train: the evaluation would use the training images; evaluate on the test split "
                        "or pass --train-data SPEC");
        }
        auto opened = openTrainingData(*spec, parsed.data, parsed.datasetOptions, trainSpec, parsed.trainData);
        if (!opened) return fail(opened.error());
        trainData.train = opened->dataset;
        trainData.trainName = opened->name;
        for (InputPath& input : datasetInputPaths(trainSpec ? *trainSpec : *spec)) inputs.push_back(std::move(input));
        trainData.evaluation = dataset;
        trainData.evalLimit = parsed.evalOptions.limit;
        trainData.threads = parsed.evalOptions.threads;
        trainData.teacher = teacher;
        if (auto output = checkOutputPath(parsed.output, inputs); !output) return fail(output.error());
    }

    // The least-squares correction of pruning calibrates on training data when the data set has a split.
    ApplyOptions applyOptions;
    applyOptions.seed = parsed.seed;
    applyOptions.threads = parsed.evalOptions.threads;
    const bool correction = recipeRefitsPruning(*recipe);
    if (recipe->globalPruneCorrection == PruneCorrection::LeastSquares && !spec)
        return fail(parsed.recipe + ": global_prune.correction: least_squares calibrates on data; pass --data SPEC");
    if (recipe->layerPruneCorrection == PruneCorrection::LeastSquares && !spec)
        return fail(parsed.recipe + ": prune_correction: least_squares calibrates on data; pass --data SPEC");
    if (correction && spec) {
        auto calibration = openCalibrationData(*spec, parsed.datasetOptions, dataset);
        if (!calibration) return fail(calibration.error().message);
        applyOptions.calibration = calibration->dataset;
        applyOptions.calibrationName = calibration->name;
    }

    TerminalProgress terminal;
    std::optional<TrainedModel> trained;
    Result<CompressedModel> compressed = makeError(ErrorCode::Internal, "not compressed");
    if (recipe->train) {
        auto result = trainRecipe(*graph, *recipe, trainData, applyOptions, terminal.callback(), [&](const EpochRecord& e) {
            if (parsed.json) return;
            terminal.clear();
            std::cerr << "epoch " << e.epoch << " (" << e.phase << "): loss " << e.loss;
            if (e.top1 >= 0) std::cerr << ", top-1 " << e.top1 << "%";
            if (e.penalty > 0) std::cerr << ", L1 penalty " << e.penalty;
            if (e.distillation) std::cerr << ", distillation " << *e.distillation;
            std::cerr << ", sparsity " << 100.0 * e.sparsity << "%, " << std::lround(e.imagesPerSecond)
                      << " images/s, " << e.seconds << " s\n";
        });
        terminal.clear();
        if (!result) return fail(Error{result.error().code, parsed.recipe + ": " + result.error().message});
        trained = std::move(*result);
        compressed = std::move(trained->model);  // the rest reads trained's history and notes only
    } else {
        compressed = applyRecipe(*graph, *recipe, applyOptions, terminal.callback());
        terminal.clear();
    }
    if (!compressed) return fail(Error{compressed.error().code, parsed.recipe + ": " + compressed.error().message});

    CalibrationOptions calibration;
    calibration.seed = parsed.seed;
    calibration.threads = parsed.evalOptions.threads;
    auto ranges = calibrateActivations(compressed->graph, dataset, activations, calibration, terminal.callback());
    terminal.clear();
    if (!ranges) return fail(ranges.error());
    auto baseline = measureFile(trainedFile);
    if (!baseline) return fail(baseline.error());

    auto written = exportModel(*compressed, *ranges, parsed.format, parsed.output);
    if (!written) return fail(written.error());

    std::optional<EvalReport> eval;
    if (dataset) {
        auto reloaded = readOnnxModel(parsed.output);
        if (!reloaded) return fail("reloading the written file: " + reloaded.error().message);
        auto report = evaluate(*reloaded, *dataset, parsed.evalOptions, terminal.callback());
        terminal.clear();
        if (!report) return fail(report.error());
        eval = std::move(report.value());
    }

    std::optional<CrossValidationReport> cvReport;
    if (crossValidation) {
        auto cv = crossValidate(*graph, *recipe, *crossValidation, trainData, applyOptions, terminal.callback(),
                                [&](const FoldResult& f) {
                                    if (parsed.json) return;
                                    terminal.clear();
                                    std::cerr << "fold " << f.fold << " of " << crossValidation->folds << ": top-1 "
                                              << f.top1 << "%, macro-F1 " << f.macroF1 << "% on " << f.heldOut
                                              << " held-out images (trained on " << f.trainSamples << "), " << f.seconds
                                              << " s\n";
                                });
        terminal.clear();
        if (!cv) return fail(Error{cv.error().code, parsed.recipe + ": cross-validation: " + cv.error().message});
        cvReport = std::move(*cv);
    }

    if (!parsed.json) {
        if (trained) {
            std::cout << "training:  " << trained->history.size() << " epoch(s) on " << trainData.trainName << '\n';
            for (const std::string& note : trained->notes) std::cout << "note:      " << note << '\n';
        }
        printText(std::cout, parsed, *compressed, *written, *baseline, *ranges, eval);
        if (cvReport) {
            std::cout << std::fixed << std::setprecision(2) << "\ncross-validation: " << cvReport->k
                      << "-fold stratified on " << trainData.trainName << ", " << cvReport->epochs
                      << " epoch(s) per fold\n  top-1    " << cvReport->meanTop1 << "% +- " << cvReport->stdTop1
                      << "%\n  macro-F1 " << cvReport->meanF1 << "% +- " << cvReport->stdF1 << "%\n";
            if (!cvNote.empty()) std::cout << "note:      " << cvNote << '\n';
            for (const std::string& note : cvReport->notes) std::cout << "note:      " << note << '\n';
        }
        return 0;
    }
    nlohmann::ordered_json j;
    const nlohmann::json report = reportToJson(*compressed);
    j["layers"] = report.at("layers");
    j["size"] = {{"onnx_bytes", written->size.onnxBytes},
                 {"zlib_bytes", written->size.zlibBytes},
                 {"baseline_onnx_bytes", baseline->onnxBytes},
                 {"baseline_zlib_bytes", baseline->zlibBytes},
                 {"weight_bytes", written->weightBytes},
                 {"deep_compression", deepCompressionSizeToJson(deepCompressionSize(*compressed))}};
    if (eval) j["eval"] = nlohmann::ordered_json::parse(evalJson(*eval));
    j["format"] = toString(parsed.format);
    j["output"] = parsed.output;
    j["params"] = report.at("params");
    j["original_params"] = report.at("original_params");
    if (report.contains("global_threshold")) j["global_threshold"] = report.at("global_threshold");
    if (report.contains("correction")) j["correction"] = report.at("correction");
    j["activations"] = activationRangesToJson(*ranges);
    if (!written->notes.empty()) j["notes"] = written->notes;
    if (!compressed->warnings.empty()) j["warnings"] = compressed->warnings;
    if (trained) {
        nlohmann::ordered_json train;
        train["data"] = trainData.trainName;
        if (!parsed.student.empty()) train["student"] = parsed.student;
        if (recipe->train->mode == TrainObjective::Distill)
            train["teacher"] = trainData.teacher ? trainData.teacher->sourcePath : parsed.model;
        train["history"] = historyToJson(trained->history);
        train["cancelled"] = trained->cancelled;
        if (!trained->notes.empty()) train["notes"] = trained->notes;
        j["train"] = train;
    }
    if (cvReport) {
        j["cross_validation"] = crossValidationToJson(*cvReport);
        if (!cvNote.empty()) j["cross_validation"]["notes"].push_back(cvNote);
    }
    std::cout << j.dump(2) << '\n';
    return 0;
}

}  // namespace lathe
