// Labelled detection datasets in any form yolo9k trains on (darknet .data files and lists with
// YOLO labels, PASCAL VOC folders, COCO JSON): reading and merging them, checking that every
// image decodes, and cutting box crops into a classification set. Link yolo9k::yolo9k_train.
//
//   yolo9k::LabelledImages set = yolo9k::read_dataset({.path = "VOCdevkit/VOC2007", .split = "trainval"});
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "yolo9k/error.h"

namespace yolo9k {

struct DatasetReadOptions {
    std::string path;  // a .data file, a list file, a VOC folder or a COCO .json
    // More datasets merged after `path` (or alone when it is empty). Each one's classes map
    // onto the merged names by name; a name not seen before is appended.
    std::vector<std::string> more_paths;
    std::string names;  // a .names file fixing the class ids; empty: the data's own classes
    std::vector<std::string> class_names;  // the same, given in memory (used when `names` is empty)
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
    std::string id;  // the dataset's name for it: VOC id, COCO file stem, list entry stem
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

// Boxes per class id (difficult ones included).
std::vector<size_t> count_boxes_per_class(const LabelledImages& set);

// ---- Checking images before a run trips over them (`yolo9k dataset --check`) ----

struct UnreadableImage {
    size_t index = 0;  // in the set's images
    std::string why;   // the reader's message, naming the file (truncated JPEG, not an image, missing ...)
};
// Decodes every image with `threads` workers, as training and evaluation read them (with
// the same pixel limits); returns the ones that fail, in order. `progress(done, total)` is
// called now and then.
std::vector<UnreadableImage> find_unreadable_images(const LabelledImages& set, int threads,
                                                    const std::function<void(size_t, size_t)>& progress = {});

// ---- Box crops: a classification set cut from a detection set (`yolo9k dataset crops`) ----
//
// One image per box, folder per class: OUT/<split>/<class>/<image-stem>_<k>.jpg (k = the box's
// index in its image), plus darknet's classification files (OUT/labels.txt, OUT/<split>.list,
// OUT/crops.data), so darknet's own `classifier train` reads the same set. This gives the
// high-resolution classifier a pretraining set from data that only has boxes.

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
    bool quiet = false;  // no warnings to the log sink (they are still in the report)
};

// One split of crops: its folder under OUT ("train", "valid") and its source images.
struct CropSplitSource {
    std::string name;
    LabelledImages images;
};

struct CropSplitReport {
    std::string name;
    std::string list_path;                // OUT/<name>.list, absolute paths one a line
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

// Writes the crops of every split and the darknet files under out_dir. Every split must
// number its classes alike (read them with the same names); the names must be usable as
// folder names (no '/', not empty, not "." or ".."): otherwise an Error. Unreadable images
// are counted and named, not fatal. The .data file's `top` is min(5, classes - 1), at
// least 1: with few classes, top-k over all of them would always be 100%.
CropReport write_box_crops(const std::vector<CropSplitSource>& splits, const std::string& out_dir,
                           const CropOptions& options = {});

}  // namespace yolo9k
