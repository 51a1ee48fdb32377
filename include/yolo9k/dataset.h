// Reading a labelled detection dataset in any form yolo9k trains on: darknet .data files and
// lists (YOLO labels), PASCAL VOC folders, COCO JSON. Link yolo9k::yolo9k_train.
//
//   yolo9k::LabelledImages set = yolo9k::read_dataset({.path = "VOCdevkit/VOC2007", .split = "trainval"});
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "yolo9k/error.h"

namespace yolo9k {

struct DatasetReadOptions {
    std::string path;   // a .data file, a list file, a VOC folder or a COCO .json
    std::string names;  // a .names file fixing the class ids; empty: the data's own classes
    std::string split;  // VOC: ImageSets/Main/<split>.txt; .data: "train" (default) or "valid"
};

struct LabelledBox {
    int class_id = 0;
    float x = 0, y = 0, w = 0, h = 0;  // centre and size relative to the image, as darknet's labels
    bool difficult = false;
};

struct LabelledImage {
    std::string path;
    int width = 0, height = 0;  // when the annotation gives them, else 0
    std::vector<LabelledBox> boxes;
};

struct LabelledImages {
    std::vector<std::string> class_names;
    std::vector<LabelledImage> images;
    // What was wrong and what was done: boxes skipped (zero size, outside, unknown class)
    // or clipped, images without labels, images missing on disk; the first few named.
    size_t skipped_boxes = 0, clipped_boxes = 0, images_without_labels = 0, missing_images = 0;
    std::vector<std::string> warnings;
};

// Throws yolo9k::Error naming the file (and line) on input it cannot understand.
LabelledImages read_dataset(const DatasetReadOptions& options);

}  // namespace yolo9k
