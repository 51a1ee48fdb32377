// `--weights yolov2-voc`: a name of darknet's published weights stands for its cached copy.
// One function so that every command taking --weights resolves names the same way.
#pragma once

#include <string>

#include "weights_cache/published_weights.h"

namespace yolo9k::cli {

// When `weights` is a published name and no such path exists: replaces it with the cached
// file (Error when it is not there yet, saying how to get it), and fills an empty `cfg` and,
// when given, an empty `*names` with Debian's darknet files for it. Returns the table entry,
// or nullptr when `weights` is an ordinary path (all three left alone).
const PublishedWeights* resolve_weights_name(std::string& weights, std::string& cfg, std::string* names = nullptr);

// The error for a command run without --cfg that did not get one from --weights NAME.
std::string missing_cfg_message();

}  // namespace yolo9k::cli
