#include "weights_cache/published_weights.h"

#include <cstdlib>
#include <filesystem>

#include "core/error.h"
#include "network/network.h"

namespace yolo9k {
namespace {

namespace fs = std::filesystem;

std::string darknet_cfg(const char* name) { return std::string(kDarknetShareDir) + "/cfg/" + name; }
std::string darknet_data(const char* name) { return std::string(kDarknetShareDir) + "/data/" + name; }

}  // namespace

const std::vector<PublishedWeights>& published_weights() {
    // darknet's README and the YOLOv2 page name these files; the classifiers' labels are
    // imagenet1k.data's names=.
    static const std::vector<PublishedWeights> table = {
        {"yolov2", "yolov2.weights", darknet_cfg("yolov2.cfg"), 0, darknet_data("coco.names")},
        {"yolov2-voc", "yolov2-voc.weights", darknet_cfg("yolov2-voc.cfg"), 0, darknet_data("voc.names")},
        {"yolov2-tiny", "yolov2-tiny.weights", darknet_cfg("yolov2-tiny.cfg"), 0, darknet_data("coco.names")},
        {"yolov2-tiny-voc", "yolov2-tiny-voc.weights", darknet_cfg("yolov2-tiny-voc.cfg"), 0, darknet_data("voc.names")},
        {"yolo9000", "yolo9000.weights", darknet_cfg("yolo9000.cfg"), 0, darknet_data("9k.names")},
        {"darknet19", "darknet19.weights", darknet_cfg("darknet19.cfg"), 0, darknet_data("imagenet.shortnames.list")},
        {"darknet19_448", "darknet19_448.weights", darknet_cfg("darknet19_448.cfg"), 0,
         darknet_data("imagenet.shortnames.list")},
        // The paper's pretrained backbone for training detectors: darknet's `partial ... 23`.
        {"darknet19_448.conv.23", "darknet19_448.conv.23", darknet_cfg("darknet19_448.cfg"), 23, ""},
    };
    return table;
}

const PublishedWeights* find_published_weights(std::string_view name) {
    for (const auto& w : published_weights())
        if (w.name == name) return &w;
    return nullptr;
}

std::string published_weights_names() {
    std::string all;
    for (const auto& w : published_weights()) all += (all.empty() ? "" : ", ") + w.name;
    return all;
}

std::string weights_base_url(const std::string& base_url) {
    std::string url = base_url;
    if (url.empty())
        if (const char* env = std::getenv("YOLO9K_WEIGHTS_URL"); env && *env) url = env;
    if (url.empty()) url = kDarknetWeightsUrl;
    while (url.size() > 1 && url.back() == '/') url.pop_back();
    return url;
}

std::string yolo9k_home() {
    if (const char* env = std::getenv("YOLO9K_HOME"); env && *env) return env;
    const char* home = std::getenv("HOME");
    if (!home || !*home) throw Error("neither YOLO9K_HOME nor HOME is set: nowhere to keep downloaded weights");
    return (fs::path(home) / ".cache" / "yolo9k").string();
}

std::string cached_weights_path(const PublishedWeights& w, const std::string& home) {
    return (fs::path(home) / "weights" / w.file).string();
}

void check_weights_file(const PublishedWeights& w, const std::string& path) {
    Network net = Network::from_cfg_file(w.cfg);
    if (w.layers == 0) {
        net.load_weights(path);
        return;
    }
    // The reader accepts any prefix that ends at a layer boundary; a published partial
    // file must end at exactly its layer.
    net.load_weights(path, /*allow_prefix=*/true);
    std::error_code ec;
    const uintmax_t actual = fs::file_size(path, ec);
    const size_t expected = net.weights_file_bytes(w.layers);
    if (ec || actual != expected)
        throw Error(path + ": " + std::to_string(actual) + " bytes, but the first " + std::to_string(w.layers) +
                    " layers of " + w.cfg + " need exactly " + std::to_string(expected));
}

}  // namespace yolo9k
