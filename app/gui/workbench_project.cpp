#include "app/gui/workbench_project.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QStandardPaths>
#include <nlohmann/json.hpp>

#include "core/model/onnx_writer.h"

namespace lathe {

namespace {

using json = nlohmann::json;

QString absolute(const QString& path) { return path.isEmpty() ? path : QFileInfo(path).absoluteFilePath(); }

// The .latheproj JSON of `project`, its model's relative path taken from `projectDir`; parseProjectFile reads it back.
json toJson(const ProjectFile& project, const QString& projectDir) {
    json variants = json::array();
    for (const ProjectVariant& v : project.variants) {
        json j = {{"id", v.id.toStdString()},
                  {"name", v.name.toStdString()},
                  {"note", v.note.toStdString()},
                  {"baseline", v.baseline},
                  {"created", v.created.toString(Qt::ISODate).toStdString()},
                  {"state", v.metrics  ? "done"
                            : v.failed ? "failed"
                                       : "not_evaluated"},
                  {"recipe", recipeToJson(v.recipe)}};
        if (!v.error.isEmpty()) j["error"] = v.error.toStdString();
        if (v.metrics) j["metrics"] = variantMetricsToJson(*v.metrics);
        if (!v.parentId.isEmpty()) j["parent"] = v.parentId.toStdString();
        if (!v.history.empty()) j["train_history"] = historyToJson(v.history);
        if (v.crossValidation) j["cross_validation"] = crossValidationFigureToJson(*v.crossValidation);
        variants.push_back(std::move(j));
    }
    json classNames = json::array();
    for (const QString& c : project.classNames) classNames.push_back(c.toStdString());
    const QString& model = project.modelPath;
    const QString relative = projectDir.isEmpty() || model.isEmpty() ? model : QDir(projectDir).relativeFilePath(model);
    json out = {{"lathe_project", ProjectFile::kVersion},
            {"model",
             {{"path", model.toStdString()},
              {"relative_path", relative.toStdString()},
              {"sha256", project.modelSha256.toStdString()}}},
            {"dataset", projectDatasetToJson(project.dataset)},
            {"class_names", classNames},
            {"recipe", recipeToJson(project.recipe)},
            {"next_variant", project.nextVariant},
            {"variants", variants},
            {"view", {{"size_axis", project.sizeAxis == PlotSizeAxis::Zlib ? "zlib" : "onnx"}}}};
    if (project.evaluation) out["evaluation"] = baselineEvaluationToJson(*project.evaluation);
    if (project.sensitivity)
        out["sensitivity"] = {{"key", project.sensitivity->key.toStdString()},
                              {"result", sensitivityToJson(project.sensitivity->result)}};
    return out;
}

}  // namespace

WorkbenchProject::WorkbenchProject(std::function<ProjectFile()> state, QObject* parent)
    : QObject(parent), m_state(std::move(state)) {
    m_autosaveTimer.setInterval(kDefaultAutosaveMs);
    connect(&m_autosaveTimer, &QTimer::timeout, this, [this] {
        if (m_dirty) autosave();
    });
    m_autosaveTimer.start();
}

void WorkbenchProject::setPath(const QString& path) {
    m_path = absolute(path);
    emit pathChanged(m_path);
}

void WorkbenchProject::markDirty() {
    if (m_dirty) return;
    m_dirty = true;
    emit dirtyChanged(true);
}

void WorkbenchProject::setClean() {
    if (!m_dirty) return;
    m_dirty = false;
    emit dirtyChanged(false);
}

void WorkbenchProject::reset() {
    const bool hadPath = !m_path.isEmpty();
    m_path.clear();
    if (hadPath) emit pathChanged({});
    setClean();
}

bool WorkbenchProject::save(const QString& path, QString* error) {
    const QString abs = absolute(path);
    const std::string text = toJson(m_state(), QFileInfo(abs).absolutePath()).dump(2) + "\n";
    if (auto st = writeFileAtomically(abs.toStdString(), text); !st) {
        if (error) *error = QString::fromStdString(st.error().message);
        return false;
    }
    QFile::remove(autosavePathFor(abs));
    if (m_path.isEmpty()) QFile::remove(autosavePathFor({}));
    if (abs != m_path) {
        m_path = abs;
        emit pathChanged(abs);
    }
    setClean();
    return true;
}

std::optional<ProjectFile> WorkbenchProject::read(const QString& path, QString* error) {
    const QString abs = absolute(path);
    QFile file(abs);
    if (!file.open(QIODevice::ReadOnly)) {
        if (error) *error = tr("%1: cannot open the project file (%2)").arg(abs, file.errorString());
        return std::nullopt;
    }
    const QByteArray bytes = file.readAll();
    auto project =
        parseProjectFile(std::string_view(bytes.constData(), size_t(bytes.size())), QFileInfo(abs).absolutePath());
    if (!project) {
        if (error) *error = tr("%1: %2").arg(abs, QString::fromStdString(project.error().message));
        return std::nullopt;
    }
    return std::move(*project);
}

void WorkbenchProject::setAutosaveInterval(int ms) {
    if (ms <= 0) {
        m_autosaveTimer.stop();
        return;
    }
    m_autosaveTimer.start(ms);
}

QString WorkbenchProject::autosavePathFor(const QString& projectPath) {
    if (!projectPath.isEmpty()) return absolute(projectPath) + QStringLiteral(".autosave");
    const QString dir = QStandardPaths::writableLocation(QStandardPaths::AppLocalDataLocation);
    return QDir(dir).filePath(QStringLiteral("untitled.latheproj.autosave"));
}

bool WorkbenchProject::autosave() {
    const QString path = autosavePath();
    QDir().mkpath(QFileInfo(path).absolutePath());
    json j = toJson(m_state(), QFileInfo(m_path.isEmpty() ? path : m_path).absolutePath());
    j["autosave_of"] = m_path.toStdString();
    if (!writeFileAtomically(path.toStdString(), j.dump(2) + "\n").ok()) return false;
    emit autosaved(path);
    return true;
}

bool WorkbenchProject::hasRecoverableAutosave(const QString& projectPath) {
    const QFileInfo autosaveFile(autosavePathFor(projectPath));
    if (!autosaveFile.exists()) return false;
    if (projectPath.isEmpty()) return true;
    const QFileInfo project(projectPath);
    return !project.exists() || autosaveFile.lastModified() >= project.lastModified();
}

void WorkbenchProject::discardAutosave() { QFile::remove(autosavePath()); }

}  // namespace lathe
