// A classification dataset cut from a detection dataset: one image per annotated box,
// folder-per-class (OUT/<split>/<class>/<image-stem>_<k>.jpg, k = the box's index in its
// image), plus darknet's classification files (OUT/labels.txt, OUT/<split>.list,
// OUT/crops.data) so darknet's own `classifier train` reads the same set.
//
// This is how the high-resolution classifier pipeline gets a pretraining set from data
// that only has boxes (e.g. BCCD's blood cells): train a classifier on the crops, cut its
// convolutional stack with `partial`, start the detector from it.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "data/dataset.h"
#include "yolo9k/dataset.h"  // CropOptions, CropReport

namespace yolo9k {

// One split of crops, as the library reads datasets (the public CropSplitSource holds
// LabelledImages instead).
struct CropSplit {
    std::string name;
    Dataset dataset;
};

// The crop's rectangle in image pixels (may reach outside the image: that part is filled
// grey, as darknet's letterbox canvas, so context and squareness stay exact at the edges).
cv::Rect crop_rect(const TruthBox& box, cv::Size image_size, const CropOptions& options);

// The crop itself, 8-bit BGR, resized as options.output_size says.
cv::Mat extract_crop(const cv::Mat& image, const TruthBox& box, const CropOptions& options);

// How many class names darknet's classifier would find in `path` (it labels an image with
// every class name that is a substring of its path; exactly one is right).
int darknet_label_matches(const std::string& path, const std::vector<std::string>& class_names);

// Writes the crops of every split and the darknet files under out_dir. Class names must be
// usable as folder names (no '/', not empty, not "." or ".."): otherwise an Error. Unreadable
// images are counted and named, not fatal. The .data file's `top` is min(5, classes - 1)
// (at least 1): with few classes, top-k over all of them would always be 100%.
CropReport write_box_crops(const std::vector<CropSplit>& splits, const std::vector<std::string>& class_names,
                           const std::string& out_dir, const CropOptions& options = {});

}  // namespace yolo9k
