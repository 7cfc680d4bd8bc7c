#include <QSignalSpy>
#include <QtTest>
#include <map>

#include "app/gui/variant_evaluation_queue.h"
#include "widget_test_support.h"

using namespace lathe;

namespace {

constexpr int kEvalTimeoutMs = 240000;

EvaluationSettings settingsFor(const QString& spec, int64_t limit) {
    EvaluationSettings s;
    s.specText = spec;
    s.spec = *parseDatasetSpec(spec.toStdString());
    s.dataset.split = Split::Test;
    s.eval.limit = limit;
    s.eval.latencySamples = 0;
    return s;
}

}  // namespace

// The queue on its own: order, skipped ids, cancel, failures, and the data set kept for the next evaluation.
class TestVariantEvaluationQueue : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() {
        QString error;
        m_graph = test::loadGraph(test::demoModelPath(), &error);
        QVERIFY2(m_graph, qPrintable(error));
    }

    // Ids run in the order queued; one the task function no longer knows is skipped; an error comes back as the
    // result's error; nothing starts before startNext().
    void runsInOrderAndSkipsGoneIds() {
        const EvaluationSettings missing = settingsFor("idx:/nonexistent/lathe-data", 10);
        QStringList asked;
        VariantEvaluationQueue queue([&](const QString& id) -> std::optional<VariantEvaluationTask> {
            asked << id;
            if (id == "gone") return std::nullopt;
            return VariantEvaluationTask{id, id, m_graph, test::demoModelPath(), Recipe{}, true, missing, {}, nullptr,
                                         {}, std::nullopt};
        });
        QSignalSpy started(&queue, &VariantEvaluationQueue::started);
        QStringList finished;
        QStringList errors;
        connect(&queue, &VariantEvaluationQueue::finished, this, [&](const VariantEvaluation& result) {
            finished << result.id;
            errors << result.error;
            QVERIFY(!result.metrics);
            QVERIFY(queue.running().isEmpty());
            queue.startNext();
        });
        for (const char* id : {"a", "gone", "b"}) queue.enqueue(id);
        QVERIFY(!queue.isRunning());
        QVERIFY(asked.isEmpty());
        queue.startNext();
        QVERIFY(queue.isRunning());
        QCOMPARE(queue.running(), QStringLiteral("a"));
        QCOMPARE(queue.job()->title(), QStringLiteral("Evaluating a"));
        queue.startNext();  // one at a time
        QCOMPARE(asked, QStringList{"a"});
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 2, kEvalTimeoutMs);
        QCOMPARE(finished, (QStringList{"a", "b"}));
        QCOMPARE(asked, (QStringList{"a", "gone", "b"}));
        QCOMPARE(started.count(), 2);
        for (const QString& e : errors) QVERIFY2(e.contains("/nonexistent/lathe-data"), qPrintable(e));
        QVERIFY(!queue.isRunning());
        QVERIFY(!queue.cached(missing).dataset);
    }

    void cancelReturnsWhatWasStopped() {
        const EvaluationSettings settings = settingsFor("idx:/usr/share/datasets/fashion-mnist", 10000);
        VariantEvaluationQueue queue([&](const QString& id) -> std::optional<VariantEvaluationTask> {
            return VariantEvaluationTask{id, id, m_graph, test::demoModelPath(), Recipe{}, true, settings, {}, nullptr,
                                         {}, std::nullopt};
        });
        QSignalSpy finished(&queue, &VariantEvaluationQueue::finished);
        QVERIFY(queue.cancel().isEmpty());
        for (const char* id : {"a", "b", "c"}) queue.enqueue(id);
        queue.startNext();
        queue.remove({"b"});
        QCOMPARE(queue.cancel(), (QStringList{"c", "a"}));
        QVERIFY(!queue.isRunning());
        QVERIFY(queue.running().isEmpty());
        queue.startNext();
        QVERIFY(!queue.isRunning());
        QTest::qWait(200);
        QCOMPARE(finished.count(), 0);
    }

    // The first evaluation opens the data set; the queue keeps it for the same settings (and only for those), and the
    // second evaluation on it measures the same.
    void keepsTheOpenedDataSet() {
        const EvaluationSettings settings = settingsFor("idx:/usr/share/datasets/fashion-mnist", 200);
        VariantEvaluationQueue queue([&](const QString& id) -> std::optional<VariantEvaluationTask> {
            return VariantEvaluationTask{id, id, m_graph, test::demoModelPath(), Recipe{}, true, settings, {}, nullptr,
                                         {}, std::nullopt};
        });
        std::map<QString, VariantEvaluation> results;
        connect(&queue, &VariantEvaluationQueue::finished, this, [&](const VariantEvaluation& result) {
            results[result.id] = result;
            queue.startNext();
        });
        queue.enqueue("first");
        queue.enqueue("second");
        queue.startNext();
        QTRY_COMPARE_WITH_TIMEOUT(results.size(), size_t(2), kEvalTimeoutMs);
        const VariantEvaluation& first = results.at("first");
        const VariantEvaluation& second = results.at("second");
        QVERIFY2(first.metrics && second.metrics, qPrintable(first.error + second.error));
        QCOMPARE(first.metrics->samples, int64_t(200));
        QCOMPARE(second.metrics->top1, first.metrics->top1);
        QCOMPARE(first.classNames.size(), 10);
        QVERIFY(first.opened.dataset);
        QCOMPARE(second.opened.dataset, first.opened.dataset);  // reused, not opened again
        QCOMPARE(queue.cached(settings).dataset, first.opened.dataset);
        EvaluationSettings other = settings;
        other.dataset.split = Split::Train;
        QVERIFY(!queue.cached(other).dataset);
    }

private:
    std::shared_ptr<const Graph> m_graph;
};

QTEST_MAIN(TestVariantEvaluationQueue)
#include "test_variant_evaluation_queue.moc"
