#pragma once

#include <ostream>
#include <string>

#include "core/model/graph.h"
#include "core/model/model_summary.h"

namespace lathe {

// The `lathe-cli info` report: per-layer table (text) or the documented JSON object.
std::string infoJson(const Graph& graph, const ModelSummary& summary);
void printInfoTable(std::ostream& out, const Graph& graph, const ModelSummary& summary);

}  // namespace lathe
