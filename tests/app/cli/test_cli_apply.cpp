// End-to-end: drives `lathe-cli apply` on the demo model and the real Fashion-MNIST test split, and on bad inputs.
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>
#include <cmath>

#include "cli_test_support.h"

using namespace lathe::testing;

namespace {
const QString kFashion = "idx:/usr/share/datasets/fashion-mnist";

QJsonObject parse(const QByteArray& json) {
    QJsonParseError error;
    QJsonObject o = QJsonDocument::fromJson(json, &error).object();
    if (error.error != QJsonParseError::NoError) qWarning("bad JSON: %s", qPrintable(error.errorString()));
    return o;
}
}  // namespace

class TestCliApply : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    // The documented JSON: per-layer report, sizes of the written file and the baseline, and the written file's
    // accuracy with the same fields as `lathe-cli eval --json` on it.
    void jsonReport() {
        const QString recipe = write("int8.json", R"({"defaults": {"quant": {"bits": 8, "granularity": "per_channel"}}})");
        const QString out = m_dir.filePath("int8_qdq.onnx");
        CliRun r = runCli({"apply", LATHE_DEMO_MODEL, "--recipe", recipe, "-o", out, "--format", "qdq", "--data",
                           kFashion, "--limit", "1000", "--json"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QVERIFY2(r.err.isEmpty(), r.err.constData());
        const QJsonObject root = parse(r.out);
        const QJsonArray layers = root["layers"].toArray();
        QCOMPARE(layers.size(), 4);
        for (const auto& value : layers) {
            const QJsonObject l = value.toObject();
            for (const char* key : {"name", "sparsity", "bits", "rank", "rel_error", "sqnr_db", "params", "bytes"})
                QVERIFY2(l.contains(key), key);
            QCOMPARE(l["bits"].toInt(), 8);
            QVERIFY(l["rel_error"].toDouble() > 0 && l["rel_error"].toDouble() < 0.02);
            QVERIFY(l["sqnr_db"].toDouble() > 35);
        }
        QCOMPARE(layers[2].toObject()["name"].toString(), QString("fc1"));
        QCOMPARE(layers[2].toObject()["params"].toInteger(), 400500);
        QCOMPARE(layers[2].toObject()["bytes"].toInteger(), 400000 + 500 * 4 + 500 * 4);
        const QJsonObject size = root["size"].toObject();
        QCOMPARE(size["onnx_bytes"].toInteger(), QFileInfo(out).size());
        QCOMPARE(size["baseline_onnx_bytes"].toInteger(), QFileInfo(LATHE_DEMO_MODEL).size());
        QVERIFY(size["zlib_bytes"].toInteger() < size["onnx_bytes"].toInteger());
        QVERIFY(size["baseline_zlib_bytes"].toInteger() < size["baseline_onnx_bytes"].toInteger());
        QVERIFY(size["onnx_bytes"].toInteger() < size["baseline_onnx_bytes"].toInteger() * 26 / 100);
        const QJsonObject eval = root["eval"].toObject();
        CliRun direct = runCli({"eval", out, "--data", kFashion, "--limit", "1000", "--json"});
        QCOMPARE(direct.exitCode, 0);
        const QJsonObject expected = parse(direct.out);
        QCOMPARE(eval.keys(), expected.keys());
        QCOMPARE(eval["top1"].toDouble(), expected["top1"].toDouble());
        QCOMPARE(eval["n"].toInteger(), 1000);
        QVERIFY(eval["top1"].toDouble() > 85);
        QCOMPARE(root["format"].toString(), QString("qdq"));
    }

    // Static activations calibrate on the data; the QOperator file then runs in OpenCV DNN with the reported accuracy.
    void staticQOperatorRunsInOpenCv() {
        const QString recipe = write("static.json", R"({"defaults": {"quant": {"bits": 8, "granularity": "per_channel"}},
                                                        "activations": {"mode": "static", "samples": 256}})");
        const QString out = m_dir.filePath("static_qop.onnx");
        CliRun r = runCli({"apply", LATHE_DEMO_MODEL, "--recipe", recipe, "-o", out, "--format", "qop", "--data",
                           kFashion, "--limit", "2000", "--json"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const QJsonObject root = parse(r.out);
        const QJsonObject activations = root["activations"].toObject();
        QCOMPARE(activations["mode"].toString(), QString("static"));
        QCOMPARE(activations["samples"].toInteger(), 256);
        QCOMPARE(activations["tensors"].toObject().size(), 7);
        CliRun cv = runCli({"eval", out, "--data", kFashion, "--limit", "2000", "--backend", "opencv", "--json"});
        QVERIFY2(cv.exitCode == 0, cv.err.constData());
        QVERIFY(std::fabs(parse(cv.out)["top1"].toDouble() - root["eval"].toObject()["top1"].toDouble()) <= 0.05);
    }

    void textReport() {
        const QString recipe = write("sparse.json", R"({"global_prune": {"sparsity": 0.5}})");
        const QString out = m_dir.filePath("sparse.onnx");
        CliRun r = runCli({"apply", LATHE_DEMO_MODEL, "--recipe", recipe, "-o", out, "--data", kFashion, "--limit",
                           "200"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QVERIFY(r.out.contains("fc1"));
        QVERIFY(r.out.contains("zlib -9"));
        QVERIFY(r.out.contains("top-1:"));
        // Without --data: no evaluation, still the report and the file.
        CliRun noData = runCli({"apply", LATHE_DEMO_MODEL, "--recipe", recipe, "-o", out});
        QCOMPARE(noData.exitCode, 0);
        QVERIFY(!noData.out.contains("top-1:"));
        QVERIFY(QFileInfo::exists(out));
    }

    void usageErrors_data() {
        QTest::addColumn<QStringList>("args");
        QTest::newRow("no recipe") << QStringList{"apply", LATHE_DEMO_MODEL, "-o", "x.onnx"};
        QTest::newRow("no output") << QStringList{"apply", LATHE_DEMO_MODEL, "--recipe", "r.json"};
        QTest::newRow("no model") << QStringList{"apply", "--recipe", "r.json", "-o", "x.onnx"};
        QTest::newRow("bad format") << QStringList{"apply", LATHE_DEMO_MODEL, "--recipe", "r.json", "-o", "x.onnx",
                                                   "--format", "int8"};
        QTest::newRow("unknown option") << QStringList{"apply", LATHE_DEMO_MODEL, "--recipe", "r.json", "-o",
                                                       "x.onnx", "--fast"};
        QTest::newRow("bad spec") << QStringList{"apply", LATHE_DEMO_MODEL, "--recipe", "r.json", "-o", "x.onnx",
                                                 "--data", "csv:/tmp"};
        QTest::newRow("limit without data") << QStringList{"apply", LATHE_DEMO_MODEL, "--recipe", "r.json", "-o",
                                                           "x.onnx", "--limit", "5"};
    }

    void usageErrors() {
        QFETCH(QStringList, args);
        CliRun r = runCli(args);
        QCOMPARE(r.exitCode, 2);
        QVERIFY(r.err.contains("usage: lathe-cli apply"));
    }

    // Bad input: exit 1 and one line on stderr naming the file or the field.
    void inputErrors_data() {
        QTest::addColumn<QString>("recipeJson");
        QTest::addColumn<QString>("format");
        QTest::addColumn<bool>("withData");
        QTest::addColumn<QString>("expected");
        QTest::newRow("zero bits") << R"({"layers": {"fc1": {"quant": {"bits": 0}}}})" << "float" << false
                                   << "layers.fc1.quant.bits";
        QTest::newRow("unknown layer") << R"({"layers": {"fc9": {"quant": {"bits": 8}}}})" << "float" << false
                                       << "fc9";
        QTest::newRow("rank too high") << R"({"layers": {"fc2": {"lowrank": {"rank": 11}}}})" << "float" << false
                                       << "rank";
        QTest::newRow("not json") << "{bits: 8" << "float" << false << "bad.json";
        QTest::newRow("static without data") << R"({"activations": {"mode": "static"}})" << "qdq" << false
                                             << "--data";
        QTest::newRow("qop without static") << R"({"defaults": {"quant": {"bits": 8}}})" << "qop" << true
                                            << "activations.mode";
        QTest::newRow("train without data") << R"({"train": {"epochs": 1}})" << "float" << false
                                            << "train: training needs data; pass --data SPEC";
    }

    void inputErrors() {
        QFETCH(QString, recipeJson);
        QFETCH(QString, format);
        QFETCH(bool, withData);
        QFETCH(QString, expected);
        const QString recipe = write("bad.json", recipeJson.toUtf8());
        QStringList args{"apply", LATHE_DEMO_MODEL, "--recipe", recipe, "-o", m_dir.filePath("bad.onnx"), "--format",
                         format};
        if (withData) args << "--data" << kFashion << "--limit" << "10";
        CliRun r = runCli(args);
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(expected.toUtf8()), r.err.constData());
        QCOMPARE(r.err.count('\n'), 1);
        QVERIFY(r.out.isEmpty());
        QVERIFY(!QFileInfo::exists(m_dir.filePath("bad.onnx")));
    }

    void missingFiles() {
        CliRun noRecipe = runCli({"apply", LATHE_DEMO_MODEL, "--recipe", m_dir.filePath("none.json"), "-o",
                                  m_dir.filePath("x.onnx")});
        QCOMPARE(noRecipe.exitCode, 1);
        QVERIFY(noRecipe.err.contains("none.json"));
        const QString recipe = write("ok.json", "{}");
        CliRun noModel = runCli({"apply", m_dir.filePath("absent.onnx"), "--recipe", recipe, "-o",
                                 m_dir.filePath("x.onnx")});
        QCOMPARE(noModel.exitCode, 1);
        QVERIFY(noModel.err.contains("absent.onnx"));
    }

    // -o naming the input model is refused and the model is untouched.
    void neverOverwritesTheModel() {
        const QString model = m_dir.filePath("model.onnx");
        QVERIFY(QFile::copy(LATHE_DEMO_MODEL, model));
        const QByteArray before = [&] {
            QFile f(model);
            f.open(QIODevice::ReadOnly);
            return f.readAll();
        }();
        const QString recipe = write("q.json", R"({"defaults": {"quant": {"bits": 8}}})");
        CliRun r = runCli({"apply", model, "--recipe", recipe, "-o", model, "--format", "qdq"});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains("refusing to overwrite"), r.err.constData());
        QFile f(model);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll(), before);

        // The model's external-data file is part of the model.
        QTemporaryDir dir;
        for (const char* name : {"external_data.onnx", "external_data.bin"})
            QVERIFY(QFile::copy(QString(LATHE_FIXTURES_DIR) + "/" + name, dir.filePath(name)));
        const QByteArray data = readFile(dir.filePath("external_data.bin"));
        CliRun external = runCli({"apply", dir.filePath("external_data.onnx"), "--recipe", recipe, "-o",
                                  dir.filePath("external_data.bin")});
        QCOMPARE(external.exitCode, 1);
        QVERIFY2(external.err.contains("an external-data file of the model"), external.err.constData());
        QCOMPARE(readFile(dir.filePath("external_data.bin")), data);
    }

    // -o naming any input of the run (not only the model) is refused before anything is written.
    // A "train" section fine-tunes on the IDX train split and evaluates on the test split; --json has the history.
    void trainsWithTheTrainSection() {
        const QString recipe = write("train.json", R"({"global_prune": {"sparsity": 0.8, "correction": "none"},
            "train": {"epochs": 2, "lr": 0.01, "samples": 1000, "seed": 1}})");
        const QString out = m_dir.filePath("trained.onnx");
        CliRun r = runCli({"apply", LATHE_DEMO_MODEL, "--recipe", recipe, "-o", out, "--data", kFashion, "--limit",
                           "500", "--threads", "2", "--json"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const QJsonObject j = parse(r.out);
        const QJsonObject train = j["train"].toObject();
        QCOMPARE(train["data"].toString(), kFashion + " (train split)");
        QCOMPARE(train["cancelled"].toBool(), false);
        const QJsonArray history = train["history"].toArray();
        QCOMPARE(history.size(), 2);
        for (int e = 0; e < 2; ++e) {
            const QJsonObject h = history[e].toObject();
            QCOMPARE(h["epoch"].toInt(), e + 1);
            QVERIFY(h["loss"].toDouble() > 0);
            QVERIFY(h["top1"].toDouble() > 50);
            QCOMPARE(h["evaluated"].toInt(), 500);
            QVERIFY(std::fabs(h["sparsity"].toDouble() - 0.8) < 0.01);
            QVERIFY(h["seconds"].toDouble() > 0);
        }
        // The last epoch's figure is the written file's, reloaded and evaluated.
        QCOMPARE(history[1].toObject()["top1"].toDouble(), j["eval"].toObject()["top1"].toDouble());
        QVERIFY(j["size"].toObject()["deep_compression"].toObject()["ratio"].toDouble() > 4);
    }

    // --student trains the half-width student with MODEL as its teacher; a teacher path in the recipe is read relative
    // to the recipe's folder; the output may not overwrite the student or the teacher.
    void distillsIntoAStudent() {
        const QString student = QString(LATHE_FIXTURES_DIR) + "/lenet5_half_student.onnx";
        const QString recipe = write("distill.json", R"({"train": {"mode": "distill", "distill": {"temperature": 4,
            "alpha": 0.7}, "epochs": 1, "lr": 0.01, "batch": 32, "samples": 3000, "seed": 1}})");
        const QString out = m_dir.filePath("student.onnx");
        CliRun r = runCli({"apply", LATHE_DEMO_MODEL, "--student", student, "--recipe", recipe, "-o", out, "--data",
                           kFashion, "--limit", "500", "--threads", "2", "--json"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const QJsonObject j = parse(r.out);
        const QJsonObject train = j["train"].toObject();
        QCOMPARE(train["student"].toString(), student);
        QCOMPARE(train["teacher"].toString(), QString(LATHE_DEMO_MODEL));
        const QJsonObject epoch = train["history"].toArray()[0].toObject();
        QCOMPARE(epoch["phase"].toString(), QString("distill"));
        QVERIFY(epoch["distillation"].toDouble() > 0);
        QVERIFY2(epoch["top1"].toDouble() > 60, QByteArray::number(epoch["top1"].toDouble()).constData());
        QCOMPARE(j["original_params"].toInt(), 109295);  // the student's, not the teacher's
        // A teacher file next to the recipe, named relatively.
        QVERIFY(QFile::copy(LATHE_DEMO_MODEL, m_dir.filePath("teacher.onnx")));
        const QString byPath = write("distill_path.json", R"({"train": {"mode": "distill", "distill": {"teacher":
            "teacher.onnx", "hard": true}, "epochs": 1, "lr": 0.01, "samples": 500}})");
        CliRun p = runCli({"apply", LATHE_DEMO_MODEL, "--student", student, "--recipe", byPath, "-o", out, "--data",
                           kFashion, "--limit", "200", "--json"});
        QVERIFY2(p.exitCode == 0, p.err.constData());
        QCOMPARE(parse(p.out)["train"].toObject()["teacher"].toString(), m_dir.filePath("teacher.onnx"));
        const QString missing = write("distill_missing.json",
                                      R"({"train": {"mode": "distill", "distill": {"teacher": "nowhere.onnx"}}})");
        CliRun m = runCli({"apply", LATHE_DEMO_MODEL, "--student", student, "--recipe", missing, "-o", out, "--data",
                           kFashion, "--limit", "10"});
        QCOMPARE(m.exitCode, 1);
        QVERIFY2(m.err.contains("train.distill.teacher") && m.err.contains("nowhere.onnx"), m.err.constData());
        CliRun overwrite = runCli({"apply", LATHE_DEMO_MODEL, "--student", student, "--recipe", recipe, "-o", student,
                                   "--data", kFashion});
        QCOMPARE(overwrite.exitCode, 1);
        QVERIFY2(overwrite.err.contains("the student model"), overwrite.err.constData());
        CliRun noTrain = runCli({"apply", LATHE_DEMO_MODEL, "--student", student, "--recipe",
                                 write("q.json", R"({"defaults": {"quant": {"bits": 8}}})"), "-o", out});
        QCOMPARE(noTrain.exitCode, 1);
        QVERIFY2(noTrain.err.contains("--student trains the student"), noTrain.err.constData());
    }

    // --cv K: stratified folds of the training split, a model trained per fold, mean +- std; --json lists each fold.
    void crossValidates() {
        const QString recipe = write("cv.json", R"({"defaults": {"quant": {"bits": 4, "granularity": "per_channel"}},
            "train": {"epochs": 1, "lr": 0.005, "samples": 600, "seed": 1}})");
        const QString out = m_dir.filePath("cv.onnx");
        CliRun r = runCli({"apply", LATHE_DEMO_MODEL, "--recipe", recipe, "-o", out, "--data", kFashion, "--limit",
                           "300", "--threads", "2", "--cv", "3", "--json"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const QJsonObject cv = parse(r.out)["cross_validation"].toObject();
        QCOMPARE(cv["folds"].toInt(), 3);
        const QJsonArray perFold = cv["per_fold"].toArray();
        QCOMPARE(perFold.size(), 3);
        double sum = 0;
        for (const QJsonValue& v : perFold) {
            const QJsonObject f = v.toObject();
            QCOMPARE(f["held_out"].toInt(), 20000);  // 60,000 training images in 3 stratified folds
            QCOMPARE(f["train_samples"].toInt(), 40000);
            QVERIFY2(f["top1"].toDouble() > 85, QByteArray::number(f["top1"].toDouble()).constData());
            sum += f["top1"].toDouble();
        }
        QVERIFY(std::fabs(cv["top1"].toObject()["mean"].toDouble() - sum / 3) < 1e-9);
        QVERIFY(cv["top1"].toObject()["std"].toDouble() > 0);
        // The same as text, and the recipe's evaluation section asks for it too.
        const QString byRecipe = write("cv2.json", R"({"evaluation": {"cross_validation": {"folds": 2, "epochs": 1}},
            "train": {"epochs": 2, "lr": 0.005, "samples": 300}})");
        CliRun t = runCli({"apply", LATHE_DEMO_MODEL, "--recipe", byRecipe, "-o", out, "--data", kFashion, "--limit",
                           "100"});
        QVERIFY2(t.exitCode == 0, t.err.constData());
        QVERIFY2(t.out.contains("cross-validation: 2-fold stratified") && t.out.contains("1 epoch(s) per fold") &&
                     t.out.contains("% +- "),
                 t.out.constData());
        QVERIFY2(t.err.contains("fold 2 of 2: top-1"), t.err.constData());
    }

    void trainingDataRules() {
        const QString recipe = write("train1.json", R"({"train": {"epochs": 1, "samples": 100}})");
        const QString out = m_dir.filePath("rules.onnx");
        CliRun trainSplit = runCli({"apply", LATHE_DEMO_MODEL, "--recipe", recipe, "-o", out, "--data", kFashion,
                                    "--split", "train", "--limit", "10"});
        QCOMPARE(trainSplit.exitCode, 1);
        QVERIFY2(trainSplit.err.contains("--split train: the evaluation would use the training images"),
                 trainSplit.err.constData());
        QTemporaryDir dir;
        const QString x = dir.filePath("x.npy"), y = dir.filePath("y.npy");
        writeNpy(x, "|u1", "(4, 28, 28)", QByteArray(4 * 784, '\x10'));
        writeNpy(y, "|u1", "(4,)", QByteArray("\x00\x01\x02\x03", 4));
        CliRun npy = runCli({"apply", LATHE_DEMO_MODEL, "--recipe", recipe, "-o", out, "--data", "npy:" + x + "," + y});
        QCOMPARE(npy.exitCode, 1);
        QVERIFY2(npy.err.contains("has no train split; pass --train-data SPEC"), npy.err.constData());
        // With --train-data the npy set trains (here on the IDX train split) and the npy set is evaluated.
        CliRun ok = runCli({"apply", LATHE_DEMO_MODEL, "--recipe", recipe, "-o", out, "--data", "npy:" + x + "," + y,
                            "--train-data", kFashion, "--json"});
        QVERIFY2(ok.exitCode == 0, ok.err.constData());
        QCOMPARE(parse(ok.out)["train"].toObject()["data"].toString(), kFashion);
        QVERIFY(!QFileInfo::exists(out + ".tmp"));
    }

    void neverOverwritesAnInput_data() {
        QTest::addColumn<QString>("target");
        QTest::addColumn<QString>("role");
        QTest::newRow("recipe") << "recipe" << "the recipe";
        QTest::newRow("npy images") << "images" << "the images file";
        QTest::newRow("npy labels") << "labels" << "the labels file";
        QTest::newRow("idx labels") << "idx" << "a file of the data set";
    }
    void neverOverwritesAnInput() {
        QFETCH(QString, target);
        QFETCH(QString, role);
        QTemporaryDir dir;
        const QString recipe = dir.filePath("r.json"), x = dir.filePath("x.npy"), y = dir.filePath("y.npy");
        QFile::copy(write("r.json", R"({"defaults": {"quant": {"bits": 8}}})"), recipe);
        writeNpy(x, "|u1", "(4, 28, 28)", QByteArray(4 * 784, '\x10'));
        writeNpy(y, "|u1", "(4,)", QByteArray("\x00\x01\x02\x03", 4));
        QString data = "npy:" + x + "," + y;
        QString output = target == "recipe" ? recipe : target == "images" ? x : y;
        if (target == "idx") {
            for (const char* name : {"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"})
                QVERIFY(QFile::copy(QString("/usr/share/datasets/fashion-mnist/") + name, dir.filePath(name)));
            data = "idx:" + dir.path();
            output = dir.filePath("t10k-labels-idx1-ubyte.gz");
        }
        const QByteArray before = readFile(output);
        CliRun r = runCli({"apply", LATHE_DEMO_MODEL, "--recipe", recipe, "-o", output, "--data", data, "--limit",
                           "4"});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains("refusing to overwrite") && r.err.contains(role.toUtf8()), r.err.constData());
        QCOMPARE(r.err.count('\n'), 1);
        QCOMPARE(readFile(output), before);
    }

    // A label the model cannot output is found before the export: the earlier output file is left as it was.
    void failedRunLeavesTheOldOutput() {
        QTemporaryDir dir;
        const QString x = dir.filePath("x.npy"), y = dir.filePath("y.npy"), out = dir.filePath("out.onnx");
        writeNpy(x, "|u1", "(4, 28, 28)", QByteArray(4 * 784, '\x10'));
        writeNpy(y, "|u1", "(4,)", QByteArray("\x00\x01\x0c\x03", 4));
        QFile old(out);
        QVERIFY(old.open(QIODevice::WriteOnly));
        old.write("an earlier export");
        old.close();
        const QString recipe = write("q8.json", R"({"defaults": {"quant": {"bits": 8}}})");
        CliRun r = runCli({"apply", LATHE_DEMO_MODEL, "--recipe", recipe, "-o", out, "--data",
                           "npy:" + x + "," + y});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains("label 12") && r.err.contains("y.npy[2]"), r.err.constData());
        QCOMPARE(readFile(out), QByteArray("an earlier export"));
        const QStringList left = QDir(dir.path()).entryList(QDir::Files);
        QCOMPARE(left, (QStringList{"out.onnx", "x.npy", "y.npy"}));  // no temporary file left behind
    }

    void outputFolderIsNamed() {
        const QString recipe = write("q8b.json", R"({"defaults": {"quant": {"bits": 8}}})");
        CliRun r = runCli({"apply", LATHE_DEMO_MODEL, "--recipe", recipe, "-o", m_dir.path()});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains("is a folder") && !r.err.contains("Success"), r.err.constData());
    }

    // An op that neither the built-in executor nor OpenCV DNN runs: exit code 3 from eval and apply, one line of
    // Lathe's own on stderr (OpenCV's log stays in its worker).
    void unsupportedOpExitsThree() {
        QTemporaryDir dir;
        const QString x = dir.filePath("x.npy"), y = dir.filePath("y.npy");
        writeNpy(x, "|u1", "(4, 2, 2)", QByteArray(16, '\x10'));
        writeNpy(y, "|u1", "(4,)", QByteArray("\x00\x01\x02\x03", 4));
        const QString model = QString(LATHE_FIXTURES_DIR) + "/unknown_op.onnx";
        const QString data = "npy:" + x + "," + y;
        const QString recipe = write("empty.json", "{}");
        for (const QStringList& args :
             {QStringList{"eval", model, "--data", data, "--folds", "2"},
              QStringList{"apply", model, "--recipe", recipe, "-o", dir.filePath("o.onnx"), "--data", data}}) {
            CliRun r = runCli(args);
            QCOMPARE(r.exitCode, 3);
            QVERIFY2(r.err.startsWith("error: ") && r.err.contains("FancyNorm"), r.err.constData());
            QCOMPARE(r.err.count('\n'), 1);
            QVERIFY2(!r.err.contains("[ERROR") && !r.err.contains("global ./modules"), r.err.constData());
        }
        QVERIFY(!QFileInfo::exists(dir.filePath("o.onnx")));
    }

private:
    QString write(const QString& name, const QByteArray& text) {
        const QString path = m_dir.filePath(name);
        QFile f(path);
        if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate)) qFatal("cannot write %s", qPrintable(path));
        f.write(text);
        return path;
    }

    QTemporaryDir m_dir;
};

QTEST_GUILESS_MAIN(TestCliApply)
#include "test_cli_apply.moc"
