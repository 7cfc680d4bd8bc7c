#include "widgets/op_metadata.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>
#include <cstdio>

#include "widgets/lathe_resources.h"

namespace lathe {

namespace {
Error metadataError(const QString& what) { return makeError(ErrorCode::Parse, "op metadata: " + what.toStdString()); }
}  // namespace

Result<OpMetadata> OpMetadata::fromJson(const QByteArray& json) {
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(json, &parseError);
    if (parseError.error != QJsonParseError::NoError)
        return metadataError(
            QStringLiteral("invalid JSON at offset %1: %2").arg(parseError.offset).arg(parseError.errorString()));
    const QJsonObject root = doc.object();
    OpMetadata meta;
    QHash<QString, int> indexOfName;
    const QJsonArray categories = root.value("categories").toArray();
    if (categories.isEmpty()) return metadataError("\"categories\" is missing or empty");
    for (const QJsonValue& value : categories) {
        const QJsonObject object = value.toObject();
        OpCategory category{object.value("name").toString(), QColor(object.value("color").toString()),
                            object.value("description").toString()};
        if (category.name.isEmpty()) return metadataError("a category has no \"name\"");
        if (!category.color.isValid())
            return metadataError("category \"" + category.name + "\" has an invalid \"color\"");
        const int index = int(meta.m_categories.size());
        indexOfName.insert(category.name, index);
        for (const QJsonValue& op : object.value("ops").toArray()) {
            if (meta.m_categoryOfOp.contains(op.toString()))
                return metadataError("op \"" + op.toString() + "\" is listed in two categories");
            meta.m_categoryOfOp.insert(op.toString(), index);
        }
        meta.m_categories.push_back(std::move(category));
    }
    for (auto [key, target] : {std::pair{"fallback", &meta.m_fallback}, std::pair{"unknown", &meta.m_unknown}}) {
        const QString name = root.value(key).toString();
        if (!indexOfName.contains(name))
            return metadataError(QStringLiteral("\"%1\" names no category (\"%2\")").arg(key, name));
        *target = indexOfName.value(name);
    }
    const QJsonObject inputs = root.value("inputs").toObject();
    for (auto it = inputs.begin(); it != inputs.end(); ++it) {
        if (!it.value().isArray()) return metadataError("\"inputs\" of \"" + it.key() + "\" is not a list");
        QStringList names;
        for (const QJsonValue& name : it.value().toArray()) names << name.toString();
        meta.m_inputNames.insert(it.key(), names);
    }
    return meta;
}

const OpMetadata& OpMetadata::builtin() {
    static const OpMetadata metadata = [] {
        initLatheResources();
        QFile file(QStringLiteral(":/lathe/op_metadata.json"));
        Result<OpMetadata> parsed =
            file.open(QIODevice::ReadOnly)
                ? fromJson(file.readAll())
                : Result<OpMetadata>(metadataError("resource :/lathe/op_metadata.json missing"));
        if (!parsed) {
            // A broken build resource: keep drawing with one neutral category rather than failing the view.
            std::fprintf(stderr, "lathe: %s\n", parsed.error().message.c_str());
            OpMetadata neutral;
            neutral.m_categories.push_back({QStringLiteral("Other"), QColor(0x5f6b73), {}});
            return neutral;
        }
        return std::move(parsed).value();
    }();
    return metadata;
}

QString OpMetadata::inputName(const QString& opType, int slot) const {
    const QStringList names = m_inputNames.value(opType);
    return slot >= 0 && slot < names.size() ? names[slot] : QString();
}

const OpCategory& OpMetadata::categoryOf(const QString& opType, bool knownOp) const {
    if (!knownOp) return m_categories[size_t(m_unknown)];
    return m_categories[size_t(m_categoryOfOp.value(opType, m_fallback))];
}

}  // namespace lathe
