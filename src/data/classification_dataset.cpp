#include "data/classification_dataset.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "core/error.h"
#include "core/text.h"
#include "data/dataset.h"
#include "data/dataset_readers.h"
#include "yolo9k/inputs.h"
#include "yolo9k/detector.h"  // read_names_file

namespace yolo9k {
namespace fs = std::filesystem;
using data_detail::resolve_beside;

std::vector<fs::path> images_in(const fs::path& dir) {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.is_regular_file() && is_image_path(e.path())) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

ClassificationDataFile read_classification_data_file(const std::string& path) {
    const DataFile d = read_data_file(path);
    ClassificationDataFile f;
    f.path = path;
    f.classes = d.classes;
    f.top = d.top > 0 ? d.top : 1;
    f.train = resolve_beside(d.train, path);
    f.valid = resolve_beside(d.valid, path);
    // darknet's classifier reads `labels`; detection .data files call it `names`.
    f.labels = resolve_beside(d.labels.empty() ? d.names : d.labels, path);
    f.backup = d.backup;
    if (f.labels.empty()) throw Error(path + ": has no 'labels' (or 'names') entry: the class names are needed");
    return f;
}

int label_from_path(const std::string& path, const std::vector<std::string>& labels, const std::string& where) {
    int best = -1;
    int tie = -1;  // another label as long as the best
    for (int i = 0; i < int(labels.size()); ++i) {
        if (labels[i].empty() || path.find(labels[i]) == std::string::npos) continue;
        if (best < 0 || labels[i].size() > labels[best].size()) {
            best = i;
            tie = -1;
        } else if (labels[i].size() == labels[best].size() && labels[i] != labels[best]) {
            tie = i;
        }
    }
    if (best < 0)
        throw Error(where + ": no label matches the image path '" + path +
                    "' (the label of an image is the class name that occurs in its path)");
    if (tie >= 0)
        throw Error(where + ": the image path '" + path + "' matches two labels of the same length, '" +
                    labels[best] + "' and '" + labels[tie] + "': the label is ambiguous");
    return best;
}

ClassificationDataset load_classification_list(const std::string& list_file, const std::vector<std::string>& labels) {
    if (labels.empty()) throw Error(list_file + ": no class labels given for this list");
    ClassificationDataset ds;
    ds.class_names = labels;
    std::istringstream in(data_detail::read_text_file(list_file));
    int line_no = 0;
    for (std::string raw; std::getline(in, raw);) {
        ++line_no;
        const std::string line = trim(raw);
        if (line.empty()) continue;
        const std::string where = list_file + ":" + std::to_string(line_no);
        const std::string image = resolve_beside(line, list_file);
        if (!fs::exists(image)) throw Error(where + ": image '" + line + "' not found");
        // The label comes from the path as written in the list (darknet matches that string).
        ds.images.push_back({image, label_from_path(line, labels, where)});
    }
    return ds;
}

ClassificationDataset load_class_folders(const std::string& dir, const std::string& split,
                                         const std::vector<std::string>& labels) {
    fs::path root = dir;
    if (!split.empty()) root /= split;
    if (!fs::is_directory(root)) throw Error(root.string() + ": not a folder (expected one folder per class)");
    std::vector<std::string> folders;
    for (const auto& e : fs::directory_iterator(root))
        if (e.is_directory()) folders.push_back(e.path().filename().string());
    std::sort(folders.begin(), folders.end());
    if (folders.empty()) throw Error(root.string() + ": no class folders (expected " + root.string() + "/<class>/*.jpg)");
    ClassificationDataset ds;
    ds.class_names = labels.empty() ? folders : labels;
    for (const std::string& f : folders) {
        const auto it = std::find(ds.class_names.begin(), ds.class_names.end(), f);
        if (it == ds.class_names.end())
            throw Error((root / f).string() + ": folder '" + f + "' is not one of the " +
                        std::to_string(ds.class_names.size()) + " labels");
        const auto files = images_in(root / f);
        if (files.empty()) throw Error((root / f).string() + ": empty class folder (no images)");
        for (const auto& p : files) ds.images.push_back({p.string(), int(it - ds.class_names.begin())});
    }
    return ds;
}

ClassificationDataset load_classification_dataset(const std::string& path, const std::string& split,
                                                  const std::string& labels_file) {
    if (fs::path(path).extension() == ".data") {
        const ClassificationDataFile f = read_classification_data_file(path);
        const std::string which = split.empty() ? "train" : split;
        if (which != "train" && which != "valid") throw Error(path + ": split must be train or valid, got '" + which + "'");
        const std::string list = which == "train" ? f.train : f.valid;
        if (list.empty()) throw Error(path + ": has no '" + which + "' entry");
        const auto labels = read_names_file(labels_file.empty() ? f.labels : labels_file);
        if (f.classes > 0 && int(labels.size()) != f.classes)
            throw Error(path + ": classes = " + std::to_string(f.classes) + " but " +
                        (labels_file.empty() ? f.labels : labels_file) + " has " + std::to_string(labels.size()) +
                        " labels");
        return load_classification_list(list, labels);
    }
    const std::vector<std::string> labels = labels_file.empty() ? std::vector<std::string>{} : read_names_file(labels_file);
    if (fs::is_directory(path)) {
        // DIR/train, DIR/valid splits when present, else DIR itself holds the class folders.
        const std::string want = split.empty() ? "train" : split;
        const bool has_split = fs::is_directory(fs::path(path) / want);
        if (!has_split && want != "train") throw Error(path + ": no '" + want + "' folder");
        return load_class_folders(path, has_split ? want : "", labels);
    }
    if (!fs::exists(path)) throw Error(path + ": no such file or folder");
    if (labels.empty()) throw Error(path + ": a list file needs a labels file (--labels)");
    return load_classification_list(path, labels);
}

}  // namespace yolo9k
