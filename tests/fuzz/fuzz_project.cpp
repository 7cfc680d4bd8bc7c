// .latheproj project files: parsed by parseProjectFile (the parser WorkbenchDocument::openProject uses) with the
// fixtures folder as the project folder; what it accepts must write back and parse again.
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "app/gui/project_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace lathe;
    auto project =
        parseProjectFile(std::string_view(reinterpret_cast<const char*>(data), size), QString(LATHE_FIXTURES_DIR));
    if (!project) {
        if (project.error().message.empty()) std::abort();
        return 0;
    }
    for (const ProjectVariant& v : project->variants) {
        if (v.id.isEmpty()) std::abort();
        if (v.metrics) (void)variantMetricsToJson(*v.metrics).dump();
    }
    (void)projectDatasetToJson(project->dataset).dump();
    (void)recipeToJson(project->recipe).dump();
    return 0;
}
