// checkOutputPath (core/common/output_path.h): an output never replaces an input of the run, through any path.
#include <QtTest>

#include <filesystem>
#include <fstream>

#include "core/common/output_path.h"

using namespace lathe;
namespace fs = std::filesystem;

namespace {

void touch(const fs::path& path, const std::string& text = "input") { std::ofstream(path) << text; }

QString messageOf(const Status& s) { return s.ok() ? QString() : QString::fromStdString(s.error().message); }

}  // namespace

class TestOutputPath : public QObject {
    Q_OBJECT
private slots:
    void init() {
        m_dir = std::make_unique<QTemporaryDir>();
        m_root = fs::path(m_dir->path().toStdString());
        touch(m_root / "recipe.json");
        fs::create_directory(m_root / "images");
        touch(m_root / "images" / "a.png");
        m_inputs = {{(m_root / "recipe.json").string(), "the recipe", false},
                    {(m_root / "images").string(), "the image folder of the data set", true}};
    }

    void newFileBesideTheInputsIsAllowed() {
        QVERIFY(checkOutputPath((m_root / "out.onnx").string(), m_inputs).ok());
        touch(m_root / "out.onnx", "an older export");
        QVERIFY(checkOutputPath((m_root / "out.onnx").string(), m_inputs).ok());  // replacing an earlier output
    }

    // The same file through a relative path with "..", a symbolic link and a hard link: all refused, nothing written.
    void anInputUnderAnyNameIsRefused_data() {
        QTest::addColumn<QString>("how");
        QTest::newRow("same path") << "same";
        QTest::newRow("dot-dot path") << "dotdot";
        QTest::newRow("symbolic link") << "symlink";
        QTest::newRow("hard link") << "hardlink";
    }
    void anInputUnderAnyNameIsRefused() {
        QFETCH(QString, how);
        fs::path output = m_root / "recipe.json";
        if (how == "dotdot") output = m_root / "images" / ".." / "recipe.json";
        if (how == "symlink") {
            output = m_root / "link.json";
            fs::create_symlink(m_root / "recipe.json", output);
        }
        if (how == "hardlink") {
            output = m_root / "hard.json";
            fs::create_hard_link(m_root / "recipe.json", output);
        }
        const Status s = checkOutputPath(output.string(), m_inputs);
        QVERIFY(!s.ok());
        QCOMPARE(s.error().code, ErrorCode::InvalidArgument);
        QVERIFY2(messageOf(s).contains("the recipe") && messageOf(s).contains("refusing to overwrite"),
                 qPrintable(messageOf(s)));
        std::ifstream in(m_root / "recipe.json");
        std::string text;
        in >> text;
        QCOMPARE(text, std::string("input"));
    }

    void insideAFolderInputIsRefused() {
        const Status s = checkOutputPath((m_root / "images" / "new.onnx").string(), m_inputs);
        QVERIFY(!s.ok());
        QVERIFY2(messageOf(s).contains("lies inside") && messageOf(s).contains("image folder"),
                 qPrintable(messageOf(s)));
        // A sibling folder whose name starts like the input's is not inside it.
        fs::create_directory(m_root / "images2");
        QVERIFY(checkOutputPath((m_root / "images2" / "out.onnx").string(), m_inputs).ok());
    }

    void aFolderOrAMissingFolderIsNamed() {
        const Status folder = checkOutputPath(m_root.string(), m_inputs);
        QVERIFY(!folder.ok());
        QVERIFY2(messageOf(folder).contains("is a folder") && messageOf(folder).contains("compressed.onnx"),
                 qPrintable(messageOf(folder)));
        const Status missing = checkOutputPath((m_root / "no" / "such" / "out.onnx").string(), m_inputs);
        QVERIFY(!missing.ok());
        QCOMPARE(missing.error().code, ErrorCode::FileNotFound);
        QVERIFY2(messageOf(missing).contains("does not exist"), qPrintable(messageOf(missing)));
    }

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    fs::path m_root;
    std::vector<InputPath> m_inputs;
};

QTEST_APPLESS_MAIN(TestOutputPath)
#include "test_output_path.moc"
