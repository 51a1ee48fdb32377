#include "data/class_only_images.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/file_read.h"
#include "core/text.h"
#include "data/classification_dataset.h"
#include "yolo9k/inputs.h"

namespace yolo9k {

namespace fs = std::filesystem;

Dataset load_class_only_images(const std::string& path, const std::vector<std::string>& class_names) {
    if (class_names.empty()) throw Error(path + ": classification-only images need the class names (a names file)");
    Dataset out;
    out.class_names = class_names;
    auto class_of = [&](const fs::path& image) {
        const std::string folder = image.parent_path().filename().string();
        const auto it = std::find(class_names.begin(), class_names.end(), folder);
        return it == class_names.end() ? -1 : int(it - class_names.begin());
    };
    auto add = [&](const fs::path& image, int cls) {
        LabeledImage item;
        item.id = image.stem().string();
        item.image_path = image.string();
        item.image_class = cls;
        out.images.push_back(std::move(item));
    };

    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        std::vector<fs::path> folders;
        for (const auto& e : fs::directory_iterator(path))
            if (e.is_directory()) folders.push_back(e.path());
        std::sort(folders.begin(), folders.end());  // a stable order whatever the file system
        for (const fs::path& folder : folders) {
            const std::vector<fs::path> images = images_in(folder);
            if (images.empty()) continue;
            const int cls = class_of(images.front());
            if (cls < 0)
                throw Error(folder.string() + ": folder name \"" + folder.filename().string() +
                            "\" is not one of the " + std::to_string(class_names.size()) + " class names");
            for (const fs::path& image : images) add(image, cls);
        }
    } else {
        std::istringstream in(read_text_file_bounded(path, "classification image list (or folder)"));
        int line_no = 0;
        for (std::string line; std::getline(in, line);) {
            ++line_no;
            const std::string entry = trim(line);
            if (entry.empty() || entry[0] == '#') continue;
            fs::path image = entry;
            if (image.is_relative() && !fs::exists(image, ec)) image = fs::path(path).parent_path() / image;
            const int cls = class_of(image);
            if (cls < 0)
                throw error_at(path, line_no, "the folder of " + entry + " (\"" +
                                                  image.parent_path().filename().string() +
                                                  "\") is not a class name; the folder names an image's class");
            add(image, cls);
        }
    }
    if (out.images.empty()) throw Error(path + ": no classification images found (expected <class name>/<image> files)");
    out.report.images = out.images.size();
    return out;
}

}  // namespace yolo9k
