#pragma once

#include <QByteArray>
#include <QColor>
#include <QHash>
#include <QString>
#include <QStringList>
#include <vector>

#include "core/common/result.h"

namespace lathe {

struct OpCategory {
    QString name;
    QColor color;
    QString description;
};

// Presentation data for ops (category and colour), read from resources/op_metadata.json.
class OpMetadata {
public:
    // Parses the op_metadata.json format; the error names the offending field.
    static Result<OpMetadata> fromJson(const QByteArray& json);
    // The metadata compiled into the application (":/lathe/op_metadata.json").
    static const OpMetadata& builtin();

    // Category for an op type; ops without a schema (knownOp == false) always get the "unknown" category.
    const OpCategory& categoryOf(const QString& opType, bool knownOp = true) const;
    const std::vector<OpCategory>& categories() const { return m_categories; }
    // Name of input `slot` of `opType` (e.g. Conv 1 -> "W"), or an empty string when the metadata does not say.
    QString inputName(const QString& opType, int slot) const;

private:
    std::vector<OpCategory> m_categories;
    QHash<QString, int> m_categoryOfOp;
    QHash<QString, QStringList> m_inputNames;
    int m_fallback = 0;
    int m_unknown = 0;
};

}  // namespace lathe
