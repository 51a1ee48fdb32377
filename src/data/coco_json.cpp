// COCO-style JSON: images {id, file_name, width, height}, annotations {image_id, bbox
// [x, y, w, h] in pixels, category_id, iscrowd, optional ignore}, categories {id, name}.
// Crowd regions are not object boxes and are left out; `ignore` (detectron's PASCAL
// conversion) marks difficult boxes.
#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_read.h"
#include "data/dataset_readers.h"

namespace yolo9k::data_detail {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Reads `key` of element `what` (e.g. "annotations[3]") as T, or throws naming both.
template <typename T>
T get(const std::string& file, const json& obj, const char* key, const std::string& what) {
    const auto it = obj.find(key);
    if (it == obj.end()) throw Error(file + ": " + what + ": missing \"" + key + "\"");
    if constexpr (std::is_arithmetic_v<T>) {
        if (const std::optional<T> v = json_number<T>(*it)) return *v;
        throw Error(file + ": " + what + ": \"" + key + "\" expected " +
                    (std::is_integral_v<T> ? "an integer in range" : "a finite number") + ", got " + brief_json(*it));
    } else {
        try {
            return it->get<T>();
        } catch (const json::exception&) {
            throw Error(file + ": " + what + ": \"" + key + "\" has the wrong type (" + brief_json(*it) + ")");
        }
    }
}

// An optional 0/1 flag (iscrowd, ignore): absent is false; true, false or a number otherwise.
bool flag(const std::string& where, const json& obj, const char* key) {
    const auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return false;
    if (it->is_boolean()) return it->get<bool>();
    if (const std::optional<double> v = json_number<double>(*it)) return *v != 0;
    throw Error(where + ": \"" + key + "\" expected 0 or 1, got " + brief_json(*it));
}

const json& array_of(const std::string& file, const json& root, const char* key) {
    const auto it = root.find(key);
    if (it == root.end() || !it->is_array())
        throw Error(file + ": expected a COCO object with a \"" + key + "\" array");
    return *it;
}

}  // namespace

Dataset read_coco_json(const std::string& path, const DatasetOptions& options) {
    const std::string text = read_text_file(path);
    const json root = parse_json_file_text(text, path);
    if (!root.is_object()) throw Error(path + ": expected a COCO object, got " + std::string(root.type_name()));

    Dataset dataset;
    ReportBuilder report(dataset.report, options.quiet);

    // Categories in id order; their names are mapped onto the fixed names when given.
    std::map<long long, std::string> category_names;
    const json& categories = array_of(path, root, "categories");
    for (size_t i = 0; i < categories.size(); ++i) {
        const std::string what = "categories[" + std::to_string(i) + "]";
        category_names[get<long long>(path, categories[i], "id", what)] =
            get<std::string>(path, categories[i], "name", what);
    }
    dataset.class_names = options.class_names;
    if (dataset.class_names.empty())
        for (const auto& [id, name] : category_names) dataset.class_names.push_back(name);
    const ClassIndex classes(dataset.class_names, options.skip_unknown_classes);

    const fs::path image_root = options.image_root.empty() ? fs::path(path).parent_path() : fs::path(options.image_root);
    std::map<long long, size_t> image_index;
    const json& images = array_of(path, root, "images");
    for (size_t i = 0; i < images.size(); ++i) {
        const std::string what = "images[" + std::to_string(i) + "]";
        LabeledImage image;
        const std::string file_name = get<std::string>(path, images[i], "file_name", what);
        image.image_path = (image_root / file_name).string();
        image.id = fs::path(file_name).stem().string();
        image.width = get<int>(path, images[i], "width", what);
        image.height = get<int>(path, images[i], "height", what);
        if (image.width <= 0 || image.height <= 0) throw Error(path + ": " + what + ": width and height must be positive");
        if (!image_index.emplace(get<long long>(path, images[i], "id", what), dataset.images.size()).second)
            throw Error(path + ": " + what + ": duplicate image id");
        if (!fs::exists(image.image_path))
            report.note(ReportBuilder::MissingImage, path + ": " + what, "image " + image.image_path + " not found");
        dataset.images.push_back(std::move(image));
    }

    const json& annotations = array_of(path, root, "annotations");
    for (size_t i = 0; i < annotations.size(); ++i) {
        const json& a = annotations[i];
        const std::string what = "annotations[" + std::to_string(i) + "]";
        const std::string where = path + ": " + what;
        const auto img = image_index.find(get<long long>(path, a, "image_id", what));
        if (img == image_index.end()) throw Error(where + ": image_id names no image");
        if (flag(where, a, "iscrowd")) continue;  // crowd regions are not object boxes
        const auto bbox = get<std::vector<double>>(path, a, "bbox", what);
        if (bbox.size() != 4) throw Error(where + ": bbox: expected [x, y, w, h]");
        const auto cat = category_names.find(get<long long>(path, a, "category_id", what));
        if (cat == category_names.end()) {
            report.note(ReportBuilder::UnknownClass, where, "category_id names no category, box skipped");
            continue;
        }
        const int id = classes.find(cat->second, where, report);
        if (id < 0) continue;
        LabeledImage& image = dataset.images[img->second];
        const double w = image.width, h = image.height;
        TruthBox box;
        box.class_id = id;
        box.difficult = flag(where, a, "ignore");
        if (!accept_box(static_cast<float>(bbox[0] / w), static_cast<float>(bbox[1] / h),
                        static_cast<float>((bbox[0] + bbox[2]) / w), static_cast<float>((bbox[1] + bbox[3]) / h),
                        static_cast<float>(1.5 / w), static_cast<float>(1.5 / h), where, report, box))
            continue;
        image.boxes.push_back(box);
        ++dataset.report.boxes;
    }
    for (const LabeledImage& image : dataset.images)
        if (image.boxes.empty()) report.note(ReportBuilder::MissingLabels, image.image_path, "no boxes");
    dataset.report.images = dataset.images.size();
    return dataset;
}

}  // namespace yolo9k::data_detail
