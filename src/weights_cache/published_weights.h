// darknet's published weights (pjreddie.com): which file, which cfg it belongs to, and
// where yolo9k keeps its copy. The one table behind `yolo9k weights` and behind every
// command that accepts a name for --weights.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace yolo9k {

struct PublishedWeights {
    std::string name;   // what the user types: "yolov2-voc"
    std::string file;   // the file's name on the server and in the cache: "yolov2-voc.weights"
    std::string cfg;    // the cfg the file must match (and `detect`'s default --cfg)
    int layers = 0;     // a partial file holds the first `layers` layers' weights; 0: all of them
    std::string names;  // default class names (detect, classifier); empty: none
};

inline constexpr const char* kDarknetWeightsUrl = "https://pjreddie.com/media/files";
inline constexpr const char* kDarknetShareDir = "/usr/share/darknet";  // Debian's darknet package

// The table, against Debian's darknet cfgs.
const std::vector<PublishedWeights>& published_weights();
const PublishedWeights* find_published_weights(std::string_view name);  // nullptr: unknown
std::string published_weights_names();  // "yolov2, yolov2-voc, ..." for messages

// `base_url` when given, else $YOLO9K_WEIGHTS_URL, else darknet's; no trailing '/'.
std::string weights_base_url(const std::string& base_url = "");
// $YOLO9K_HOME, else ~/.cache/yolo9k.
std::string yolo9k_home();
// <home>/weights/<file>; an unfinished download sits beside it as <file>.part.
std::string cached_weights_path(const PublishedWeights& w, const std::string& home);
inline constexpr const char* kPartSuffix = ".part";

// Throws Error with the weights reader's message unless `path` holds exactly what w.cfg
// expects: every layer's weights, or for a partial file the first w.layers layers'.
void check_weights_file(const PublishedWeights& w, const std::string& path);

}  // namespace yolo9k
