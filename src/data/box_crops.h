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

namespace yolo9k {

struct CropOptions {
    // Context around the box: each side grows by this fraction of the box's width
    // (left/right) or height (top/bottom); 0.1 makes a 100 px box a 120 px crop.
    float context = 0;
    // Extend the shorter side (centred) to the longer one, so a resize keeps the cell's shape.
    bool square = false;
    // Boxes whose shorter side is below this many pixels (before context) are skipped.
    int min_size = 0;
    // 0: native pixels. Else the longer side becomes output_size (aspect kept; N×N when square).
    int output_size = 0;
    bool skip_difficult = false;
    int jpeg_quality = 95;
    // OUT/<split>/ from an earlier run is removed first; without it that is an Error, so
    // stale crops never mix into a new set.
    bool overwrite = false;
    bool quiet = false;  // no warnings on stderr (they are still in the report)
};

// One split of crops: the folder name under OUT ("train", "valid") and its source images.
struct CropSplit {
    std::string name;
    Dataset dataset;
};

struct CropSplitReport {
    std::string name;
    std::string list_path;               // OUT/<name>.list, absolute paths one a line
    std::vector<size_t> crops_per_class;  // index = class id
    size_t crops = 0;
    size_t images = 0;
    size_t unreadable_images = 0;  // named in warnings, their boxes not cropped
    size_t small_boxes = 0;        // below min_size, skipped
    size_t difficult_boxes = 0;    // skipped with skip_difficult
};

struct CropReport {
    std::vector<std::string> class_names;
    std::vector<CropSplitReport> splits;
    std::string labels_path, data_path;
    // Written paths where darknet's label rule (a class name found as a substring of the
    // path) finds no or several classes: darknet would train them with a wrong label.
    size_t ambiguous_label_paths = 0;
    std::vector<std::string> warnings;  // the first few of each kind
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
