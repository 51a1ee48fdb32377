// Labelled detection datasets in every form yolo9k reads, normalised to one in-memory
// form: image paths with boxes as darknet's truth (centre x, y, width, height, all
// relative to the image, class id into class_names).
//
// Formats: darknet `.data` files (their `train` / `valid` list), darknet list files
// (one image path per line; labels in the matching `labels/` path with `.txt`), PASCAL
// VOC folders (Annotations/*.xml + JPEGImages/ + ImageSets/Main/<split>.txt), a plain
// folder of VOC XMLs beside the images (e.g. raccoon), and COCO-style JSON.
//
// Bad-data policy (every case is counted in DataReport; the first few of each kind are
// named "file:line: what" in report.warnings and, unless options.quiet, on stderr):
//   - zero or negative size boxes (VOC xmax <= xmin, YOLO w or h <= 0): skipped;
//   - boxes reaching outside the image: clipped to it (counted when they moved by more
//     than a pixel, or 0.001 for relative labels); skipped when nothing is left;
//   - class ids out of range, unknown class names: skipped (an Error instead when
//     options.skip_unknown_classes is false);
//   - a list entry without a label file: the image is kept with no boxes;
//   - an image that is not where the annotation says: kept (the loader reports it);
//   - malformed XML / JSON / label lines, or a missing list / annotation file: Error
//     naming the file and the line (JSON: the element).
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace yolo9k {

struct TruthBox {
    int class_id = 0;
    float x = 0, y = 0, w = 0, h = 0;  // centre and size, relative to the image [0, 1]
    bool difficult = false;            // VOC `difficult`: ignored by evaluation, trained on
};

struct LabeledImage {
    std::string id;          // VOC id / COCO file name stem / list entry stem
    std::string image_path;  // may not exist (annotation-only sets such as voc-annotations)
    int width = 0, height = 0;  // pixels when the annotation gives them, else 0
    std::vector<TruthBox> boxes;
    // A classification-only image (YOLO9000's joint training): the class the whole image
    // shows, with no boxes; -1 for a detection image.
    int image_class = -1;
};

// What was wrong with the data and what was done about it (policy: a bad box or a
// missing label file is skipped and counted, with the first few named on stderr; a
// malformed file that cannot be understood at all is an error naming file and line).
struct DataReport {
    size_t images = 0, boxes = 0;
    size_t skipped_boxes = 0;          // zero/negative size, out of image, unknown class
    size_t images_without_labels = 0;  // no label file / no objects
    size_t clipped_boxes = 0;          // reached outside the image, clipped and kept
    size_t missing_images = 0;         // image file not found where the annotation says
    std::vector<std::string> warnings;  // "file:line: what", the first few of each kind
};

struct Dataset {
    std::vector<std::string> class_names;
    std::vector<LabeledImage> images;
    DataReport report;
};

struct DatasetOptions {
    // Class names fixing the ids (from a .names file). Empty: discover from the data
    // (VOC: sorted names as they appear; COCO: categories in id order).
    std::vector<std::string> class_names;
    // VOC split (ImageSets/Main/<split>.txt); empty: every annotation in Annotations/.
    // For a .data file: which list, "train" (also when empty) or "valid".
    std::string split;
    // Unknown class names: skip the box (counted) when true, else an error.
    bool skip_unknown_classes = true;
    // Where COCO `file_name`s live; empty: the JSON file's directory.
    std::string image_root;
    // Do not echo warnings to stderr (they are still in the report).
    bool quiet = false;
};

// Reads any supported form, dispatching on what `path` is:
//   *.data → darknet data file (options.split picks train/valid), *.json → COCO,
//   a directory with Annotations/ → VOC, another directory holding *.xml (or
//   annotations/*.xml) → VOC XMLs beside images, any other file → darknet list file.
// Throws yolo9k::Error naming the file (and line) on malformed input.
Dataset load_dataset(const std::string& path, const DatasetOptions& options = {});

// Several datasets as one: classes are merged by name (options.class_names, when given,
// fix the ids; otherwise the union in order of first appearance), reports are summed.
Dataset load_datasets(const std::vector<std::string>& paths, const DatasetOptions& options = {});

// Darknet's label file for an image: "/images/" → "/labels/" and "/JPEGImages/" →
// "/labels/" (first occurrence, as darknet), extension → ".txt".
std::string darknet_label_path(const std::string& image_path);

// Boxes per class id (size = class_names.size()).
std::vector<size_t> count_boxes_per_class(const Dataset& dataset);

// darknet `.data` file (key = value per line).
struct DataFile {
    std::string path;
    int classes = 0;
    std::string train, valid, names, backup, labels, map;
    std::string eval;
    int top = 0;
    std::string get(const std::string& key) const;  // any other key, "" if absent
    std::vector<std::pair<std::string, std::string>> entries;
};
DataFile read_data_file(const std::string& path);

// The `train` or `valid` list of a .data file (its `names` give the classes unless
// options.class_names does). Relative paths are taken as given (darknet: from the working
// directory) and, failing that, from the .data file's directory.
Dataset load_dataset_split(const DataFile& data, const std::string& split,
                           const DatasetOptions& options = {});

}  // namespace yolo9k
