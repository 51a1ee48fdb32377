// Bounds on every resource that input controls. Each has a sane default and a CLI option
// (see the README's Reliability section); a value over a limit is a clear Error, never an
// allocation the machine cannot make.
#pragma once

#include <cstdint>
#include <string>

namespace yolo9k {

struct Limits {
    // Files read whole: cfg, names, lists, label files, XML, JSON, .tree/.map, images.
    std::uint64_t max_file_bytes = std::uint64_t(1) << 30;  // 1 GiB: COCO's train JSON is ~450 MB
    // Decoded images (width x height), checked from the header before decoding.
    std::uint64_t max_image_pixels = std::uint64_t(64) << 20;  // 67 Mpx: 8192 x 8192
    // A network's weights plus one image's activations, as the cfg (and --size) describe them:
    // darknet's largest published network (yolov2 at 608) needs about 0.3 GiB.
    std::uint64_t max_network_bytes = std::uint64_t(4) << 30;
    // Class ids in darknet label files (names are made per id) and class counts in cfgs.
    int max_class_id = 1 << 16;
    // --threads and loader threads.
    int max_threads = 256;
};

// The process's limits; the CLI sets them from its global options before any command runs.
Limits& limits();

// True when `bytes` of weights and activations exceed limits().max_network_bytes.
bool over_network_limit(std::uint64_t bytes);

// The message for that case; `what` says what needs the bytes. Callers throw it with their
// cfg line.
std::string network_limit_message(std::uint64_t bytes, const std::string& what);

// Throws Error unless 1 <= threads <= limits().max_threads; `what` names the option.
void check_thread_count(int threads, const std::string& what);

}  // namespace yolo9k
