// Labelled images for classifier training (darknet's `classifier train|valid`), read from
//   - a darknet classification .data file (`train`, `valid`, `labels` or `names`, `classes`,
//     `top`, `backup`): list files of image paths, the label derived from each path;
//   - a darknet list file (one image path per line) with a labels file;
//   - a folder per class: DIR/<class>/*.jpg, or DIR/<split>/<class>/*.jpg with a split
//     (train, valid). Class names are the sorted folder names (or a given labels file).
//
// Label from a path (darknet's fill_truth): a label matches when its string occurs
// anywhere in the path. Darknet sets every matching label to 1 (and only warns "Too many
// or too few labels" when none or several match). We need exactly one class per image, so:
//   - no label matches: an Error naming the image (darknet would train on an all-zero truth);
//   - several match: the longest matching label wins ("wildcat" over "cat"); two different
//     labels of the same longest length is an Error naming the image and both labels.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace yolo9k {

// The image files directly in `dir` (by extension), sorted.
std::vector<std::filesystem::path> images_in(const std::filesystem::path& dir);

struct ClassifiedImage {
    std::string path;
    int label = -1;
};

struct ClassificationDataset {
    std::vector<std::string> class_names;
    std::vector<ClassifiedImage> images;
};

struct ClassificationDataFile {
    std::string path;
    int classes = 0;
    int top = 1;  // darknet's `top` (top-k accuracy reported beside top-1)
    std::string train, valid, labels, backup;  // resolved: as given, else beside the .data
};
ClassificationDataFile read_classification_data_file(const std::string& path);

// The label index of an image path (rule above). `where` prefixes errors ("list.txt:12").
int label_from_path(const std::string& path, const std::vector<std::string>& labels, const std::string& where);

// A list file: one image per line, blank lines skipped, relative paths taken as given and
// otherwise beside the list. Every image must exist and carry exactly one label.
ClassificationDataset load_classification_list(const std::string& list_file, const std::vector<std::string>& labels);

// DIR/<class>/* (or DIR/<split>/<class>/* when split is not empty). With `labels` empty the
// sorted folder names are the classes; otherwise every folder must be one of the labels.
// An empty class folder is an Error naming it.
ClassificationDataset load_class_folders(const std::string& dir, const std::string& split,
                                         const std::vector<std::string>& labels = {});

// Any of the three: a `.data` (split "train" or "valid"), a folder, or a list file (needs
// labels_file). labels_file overrides the .data's labels.
ClassificationDataset load_classification_dataset(const std::string& path, const std::string& split,
                                                  const std::string& labels_file = "");

}  // namespace yolo9k
