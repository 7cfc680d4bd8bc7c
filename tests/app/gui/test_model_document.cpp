#include <QTemporaryDir>
#include <QThreadPool>
#include <QtTest>
#include <atomic>
#include <thread>

#include "widgets/background_pool.h"
#include "app/gui/model_document.h"
#include "widget_test_support.h"

using namespace lathe;
using namespace lathe::test;

class TestModelDocument : public QObject {
    Q_OBJECT

private:
    static bool openAndWait(ModelDocument& document, const QString& path) {
        QSignalSpy changed(&document, &ModelDocument::modelChanged);
        QSignalSpy failed(&document, &ModelDocument::errorOccurred);
        document.open(path);
        return QTest::qWaitFor([&] { return changed.count() + failed.count() > 0; }, 60000) && changed.count() == 1;
    }

private slots:
    void opensDemoModel() {
        ModelDocument document;
        QSignalSpy started(&document, &ModelDocument::loadingStarted);
        QSignalSpy selection(&document, &ModelDocument::selectionChanged);
        QVERIFY(!document.hasModel());
        QVERIFY(openAndWait(document, demoModelPath()));
        QCOMPARE(started.count(), 1);
        QVERIFY(!document.isLoading());
        QCOMPARE(document.path(), QFileInfo(demoModelPath()).absoluteFilePath());
        QCOMPARE(document.graph()->nodes.size(), size_t(8));
        QCOMPARE(document.summary().layers.size(), size_t(4));
        QCOMPARE(document.summary().totalParams, int64_t(431080));
        QCOMPARE(document.selectedNode(), -1);
        QCOMPARE(selection.count(), 1);  // a new model resets the selection
    }

    void selection() {
        ModelDocument document;
        QVERIFY(openAndWait(document, demoModelPath()));
        QSignalSpy selection(&document, &ModelDocument::selectionChanged);
        const int conv2 = document.graph()->nodeIndex("conv2");
        document.selectNode(conv2);
        QCOMPARE(selection.count(), 1);
        QCOMPARE(selection.back().front().toInt(), conv2);
        document.selectNode(conv2);
        QCOMPARE(selection.count(), 1);  // no change, no signal
        QVERIFY(document.layerOfNode(conv2));
        QCOMPARE(document.layerOfNode(conv2)->name, std::string("conv2"));
        QVERIFY(!document.layerOfNode(document.graph()->nodeIndex("pool1")));
        document.selectNode(999);
        QCOMPARE(document.selectedNode(), -1);
        QCOMPARE(selection.back().front().toInt(), -1);
    }

    void badFileKeepsPreviousModel_data() {
        QTest::addColumn<QString>("path");
        QTest::newRow("truncated") << fixturePath("truncated.onnx");
        QTest::newRow("not onnx") << fixturePath("not_onnx.onnx");
        QTest::newRow("empty") << fixturePath("empty.onnx");
        QTest::newRow("missing external data") << fixturePath("missing_external.onnx");
        QTest::newRow("no such file") << fixturePath("does_not_exist.onnx");
    }
    void badFileKeepsPreviousModel() {
        QFETCH(QString, path);
        ModelDocument document;
        QVERIFY(openAndWait(document, demoModelPath()));
        const auto before = document.graph();
        document.selectNode(2);

        QSignalSpy failed(&document, &ModelDocument::errorOccurred);
        QSignalSpy changed(&document, &ModelDocument::modelChanged);
        document.open(path);
        QVERIFY(document.isLoading());
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 60000);
        QCOMPARE(changed.count(), 0);
        QCOMPARE(failed.front().at(0).toString(), QFileInfo(path).absoluteFilePath());
        const QString message = failed.front().at(1).toString();
        QVERIFY2(message.contains(QFileInfo(path).fileName()), qPrintable(message));
        QVERIFY(!document.isLoading());
        QCOMPARE(document.graph(), before);
        QCOMPARE(document.path(), QFileInfo(demoModelPath()).absoluteFilePath());
        QCOMPARE(document.selectedNode(), 2);
    }

    void junkFileNamesTheFile() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString path = dir.filePath("junk model.onnx");
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        static const char junk[] = "\x08\x07\x12\xff\xff\xff\xff garbage that is not protobuf";
        file.write(QByteArray(junk, sizeof junk - 1));
        file.close();
        ModelDocument document;
        QSignalSpy failed(&document, &ModelDocument::errorOccurred);
        document.open(path);
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 60000);
        QVERIFY(failed.front().at(1).toString().contains("junk model.onnx"));
        QVERIFY(!document.hasModel());
    }

    void unknownOpOpensWithWarnings() {
        ModelDocument document;
        QSignalSpy warnings(&document, &ModelDocument::warningsReported);
        QVERIFY(openAndWait(document, fixturePath("unknown_op.onnx")));
        QCOMPARE(warnings.count(), 1);
        const QStringList list = warnings.front().front().toStringList();
        QVERIFY(!list.isEmpty());
        QVERIFY(list.join('\n').contains("FancyNorm"));
        QCOMPARE(document.graph()->nodes.size(), size_t(3));
    }

    void newerOpenWins() {
        ModelDocument document;
        QSignalSpy changed(&document, &ModelDocument::modelChanged);
        document.open(demoModelPath());
        document.open(fixturePath("residual.onnx"));
        QCOMPARE(document.loadingPath(), QFileInfo(fixturePath("residual.onnx")).absoluteFilePath());
        QTRY_VERIFY_WITH_TIMEOUT(!document.isLoading(), 60000);
        QCOMPARE(changed.count(), 1);
        QCOMPARE(document.path(), QFileInfo(fixturePath("residual.onnx")).absoluteFilePath());
    }

    void progressEndsAtDone() {
        ModelDocument document;
        QSignalSpy progress(document.loadJob(), &Job::progressChanged);
        QVERIFY(openAndWait(document, demoModelPath()));
        QVERIFY(progress.count() >= 1);
        QCOMPARE(progress.back().at(0).toFloat(), 1.f);
        QCOMPARE(progress.back().at(1).toString(), QStringLiteral("done"));
        QCOMPARE(document.loadJob()->title(), QStringLiteral("Opening lenet5_fashion.onnx"));
    }

    void cancelWhileReadingKeepsPreviousModel() {
        ModelDocument document;
        QVERIFY(openAndWait(document, demoModelPath()));
        const auto before = document.graph();
        QSignalSpy cancelled(&document, &ModelDocument::loadingCancelled);
        QSignalSpy changed(&document, &ModelDocument::modelChanged);
        QSignalSpy failed(&document, &ModelDocument::errorOccurred);
        document.open(fixturePath("residual.onnx"));
        QVERIFY(document.isLoading());
        document.cancelLoading();
        QCOMPARE(cancelled.count(), 1);
        QCOMPARE(cancelled.front().front().toString(), QFileInfo(fixturePath("residual.onnx")).absoluteFilePath());
        QVERIFY(!document.isLoading());
        QVERIFY(backgroundPool()->waitForDone(60000));
        QCoreApplication::processEvents();
        QCOMPARE(changed.count(), 0);
        QCOMPARE(failed.count(), 0);
        QCOMPARE(document.graph(), before);
        QCOMPARE(document.path(), QFileInfo(demoModelPath()).absoluteFilePath());
    }

    // The model named on the command line is read while the window is built; open() of that file takes the read
    // over: the file is not read again (here it is gone by then), and the preparer still runs on the graph.
    void openTakesOverThePrefetchedRead() {
        QTemporaryDir dir;
        const QString copy = dir.filePath(QStringLiteral("prefetched.onnx"));
        QVERIFY(QFile::copy(demoModelPath(), copy));
        ModelDocument::prefetch(copy);
        QTRY_VERIFY_WITH_TIMEOUT(ModelDocument::prefetchFinished(), 60000);
        QVERIFY(QFile::remove(copy));
        ModelDocument document;
        std::atomic<int> prepared{0};
        document.setViewPreparer([&](const Graph& graph) {
            ++prepared;
            return std::static_pointer_cast<const void>(std::make_shared<const size_t>(graph.nodes.size()));
        });
        QSignalSpy progress(document.loadJob(), &Job::progressChanged);
        QVERIFY(openAndWait(document, copy));
        QCOMPARE(document.path(), QFileInfo(copy).absoluteFilePath());
        QCOMPARE(document.graph()->nodes.size(), size_t(8));
        QCOMPARE(document.summary().totalParams, int64_t(431080));
        QVERIFY(document.channelGroups());
        QCOMPARE(prepared.load(), 1);
        QCOMPARE(progress.back().at(1).toString(), QStringLiteral("done"));

        // Without a prefetch the same open reads the file, which is gone.
        QSignalSpy failed(&document, &ModelDocument::errorOccurred);
        document.open(copy);
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 60000);
        QVERIFY(failed.front().at(1).toString().contains(QStringLiteral("not found")));
    }

    // A prefetch of another file is dropped by open(): the opened file is the one shown.
    void openOfAnotherFileDropsThePrefetch() {
        ModelDocument::prefetch(demoModelPath());
        ModelDocument document;
        QVERIFY(openAndWait(document, fixturePath("residual.onnx")));
        QCOMPARE(document.path(), QFileInfo(fixturePath("residual.onnx")).absoluteFilePath());
        QVERIFY(backgroundPool()->waitForDone(60000));
        // The dropped read is not taken over by a later open of its file either: that one reads it again.
        QVERIFY(openAndWait(document, demoModelPath()));
        QCOMPARE(document.graph()->nodes.size(), size_t(8));
    }

    // The preparer (the graph layout in the app) cannot be interrupted: Cancel drops what it made.
    void cancelDuringPreparationDiscardsTheResult() {
        ModelDocument document;
        std::atomic<bool> gateOpen{true};
        std::atomic<int> entered{0};
        document.setViewPreparer([&](const Graph& graph) {
            ++entered;
            while (!gateOpen) std::this_thread::yield();
            return std::static_pointer_cast<const void>(std::make_shared<const size_t>(graph.nodes.size()));
        });
        QVERIFY(openAndWait(document, demoModelPath()));
        QCOMPARE(entered.load(), 1);
        QCOMPARE(*std::static_pointer_cast<const size_t>(document.preparedView()), size_t(8));
        const auto before = document.graph();
        const auto preparedBefore = document.preparedView();

        gateOpen = false;
        QSignalSpy changed(&document, &ModelDocument::modelChanged);
        QSignalSpy cancelled(&document, &ModelDocument::loadingCancelled);
        document.open(fixturePath("residual.onnx"));
        QTRY_COMPARE_WITH_TIMEOUT(entered.load(), 2, 60000);
        QTRY_COMPARE_WITH_TIMEOUT(document.loadJob()->stage(), QStringLiteral("laying out graph"), 10000);
        document.cancelLoading();
        QCOMPARE(cancelled.count(), 1);
        gateOpen = true;
        QVERIFY(backgroundPool()->waitForDone(60000));
        QCoreApplication::processEvents();
        QCOMPARE(changed.count(), 0);
        QCOMPARE(document.graph(), before);
        QCOMPARE(document.preparedView(), preparedBefore);
    }
};

QTEST_GUILESS_MAIN(TestModelDocument)
#include "test_model_document.moc"
