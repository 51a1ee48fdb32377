#include "cli/resolve_weights.h"

#include <filesystem>

#include "yolo9k/error.h"

namespace yolo9k::cli {

const PublishedWeights* resolve_weights_name(std::string& weights, std::string& cfg, std::string* names) {
    const PublishedWeights* w = find_published_weights(weights);
    std::error_code ec;
    if (!w || std::filesystem::exists(weights, ec)) return nullptr;  // a file of that name wins
    const std::string cached = cached_weights_path(*w, yolo9k_home());
    if (!std::filesystem::is_regular_file(cached, ec))
        throw Error(w->name + ": darknet's published weights are not downloaded yet (no " + cached +
                    "); get them with `yolo9k weights get " + w->name + "`");
    weights = cached;
    if (cfg.empty()) cfg = w->cfg;
    if (names && names->empty()) *names = w->names;
    return w;
}

std::string missing_cfg_message() {
    return "--cfg is required, unless --weights names darknet's published weights (" + published_weights_names() +
           "; see `yolo9k weights list`)";
}

}  // namespace yolo9k::cli
