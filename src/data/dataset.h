// Labelled detection datasets in every form yolo9k reads, normalised to one in-memory
// form: image paths with boxes as darknet's truth (centre x, y, width, height, all
// relative to the image, class id into class_names).
//
// Formats: darknet `.data` files (their `train` / `valid` list), darknet list files
// (one image path per line; labels in the matching `labels/` path with `.txt`), PASCAL
// VOC folders (Annotations/*.xml + JPEGImages/ + ImageSets/Main/<split>.txt), a plain
// folder of VOC XMLs beside the images (e.g. raccoon), and COCO-style JSON.
#pragma once

#include <cstddef>
#include <string>
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
};

// What was wrong with the data and what was done about it (policy: a bad box or a
// missing label file is skipped and counted, with the first few named on stderr; a
// malformed file that cannot be understood at all is an error naming file and line).
struct DataReport {
    size_t images = 0, boxes = 0;
    size_t skipped_boxes = 0;          // zero/negative size, out of image, unknown class
    size_t images_without_labels = 0;  // no label file / no objects
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
    std::string split;
    // Unknown class names: skip the box (counted) when true, else an error.
    bool skip_unknown_classes = true;
};

// Reads any supported form, dispatching on what `path` is. Throws yolo9k::Error naming
// the file (and line) on malformed input.
Dataset load_dataset(const std::string& path, const DatasetOptions& options = {});

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

}  // namespace yolo9k
