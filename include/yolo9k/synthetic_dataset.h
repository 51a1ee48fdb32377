// A labelled detection dataset that yolo9k draws itself (`yolo9k dataset synth`), so a fresh
// clone can train and evaluate a real detector with no download and no shared data (the
// demo's main job).
//
// Five classes, each a distinct shape with a distinct texture:
//   disc (concentric rings), square (stripes), triangle (checkerboard),
//   star (speckled), cross (dots).
// Colours: by default each class has its own hue family (see SyntheticPalette); with
// SyntheticPalette::random any class takes any colour, so only shape and texture tell them apart.
// Each object gets a random size (small to large), aspect ratio, rotation and colour pair;
// objects overlap and occlude each other and may be cut by the image border. Backgrounds
// are gradients with low-frequency noise, random lines, outlines and filled distractor
// blobs (shapes of no class); every image gets pixel noise, sometimes blur, and random
// JPEG quality.
//
// Labels follow PASCAL VOC's conventions: a box is the object's full extent (clipped to the
// image) even where it is occluded; an object less than half visible (occluded, or cut by
// the border) is marked `difficult`, which evaluation ignores, as the VOC devkit does.
//
// Every image derives from (seed, image index) alone, so a set is reproducible whatever the
// thread count, and the same seed always gives the same files.
//
// Link yolo9k::yolo9k_train.
//
//   yolo9k::write_synthetic_dataset({.out = "synth", .images = 2000});
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "yolo9k/error.h"

namespace yolo9k {

enum class SyntheticLayout {
    voc,      // Annotations/*.xml, JPEGImages/*.jpg, ImageSets/Main/{train,val,trainval,test}.txt
    darknet,  // images/<split>/*.jpg, labels/<split>/*.txt, <split>.txt lists, synth.data
};

enum class SyntheticPalette {
    // Each class has its own hue family (a bright and a dark shade of it), as real classes
    // often have typical colours; shape and texture still differ, and clutter of every hue
    // surrounds the objects. A detector trained from scratch learns this in minutes.
    per_class,
    // Any colour for any class: only shape and texture tell the classes apart (a harder set).
    random,
};

struct SyntheticOptions {
    std::string out;  // output folder (created)
    int images = 1000;  // over all splits
    uint64_t seed = 1;
    SyntheticLayout layout = SyntheticLayout::voc;
    SyntheticPalette palette = SyntheticPalette::per_class;
    // Fractions of the images in the validation and test splits; the rest is train.
    float valid_fraction = 0.1f, test_fraction = 0.2f;
    // Image sizes, drawn per image in [min, max] pixels.
    int min_width = 256, max_width = 384, min_height = 224, max_height = 320;
    int min_objects = 1, max_objects = 6;
    // Object size: the longer side of its box, as a fraction of the image's shorter side.
    float min_object_size = 0.12f, max_object_size = 0.6f;
    int min_jpeg_quality = 35, max_jpeg_quality = 95;
    // An existing non-empty output folder is an Error unless this is set (then it is
    // replaced), so a stale set never mixes with a new one.
    bool overwrite = false;
};

struct SyntheticSplitReport {
    std::string name;  // train, val, test
    size_t images = 0, boxes = 0, difficult_boxes = 0;
    std::vector<size_t> boxes_per_class;
};

struct SyntheticReport {
    std::string out;
    std::vector<std::string> class_names;
    std::string names_path;  // OUT/synth.names
    std::string data_path;   // darknet layout: OUT/synth.data; VOC: empty
    std::vector<SyntheticSplitReport> splits;
};

// The class names, in id order.
const std::vector<std::string>& synthetic_class_names();

// Writes the whole set; `progress(done, total)` is called after each image. Throws
// yolo9k::Error naming the path on a write failure or an existing output folder.
SyntheticReport write_synthetic_dataset(const SyntheticOptions& options,
                                        const std::function<void(int, int)>& progress = {});

}  // namespace yolo9k
