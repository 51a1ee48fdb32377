// Bounds on every resource that input controls (file sizes, image pixels, network memory,
// class ids, threads). Each has a sane default and a CLI option (the README's Reliability
// section); a value over a limit is a yolo9k::Error, never an allocation the machine
// cannot make.
#pragma once

#include <cstdint>

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

// The process's limits: set them before loading anything (the CLI sets them from its
// global options before any command runs); every thread reads them.
Limits& limits();

}  // namespace yolo9k
