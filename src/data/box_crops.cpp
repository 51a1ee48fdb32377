#include "data/box_crops.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <set>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/log.h"
#include "io/image_reader.h"

namespace yolo9k {

namespace fs = std::filesystem;

namespace {

constexpr size_t kWarningsPerKind = 5;

void check_class_names(const std::vector<std::string>& names) {
    if (names.empty()) throw Error("crops: the dataset has no classes");
    std::set<std::string> seen;
    for (const std::string& n : names) {
        if (n.empty() || n == "." || n == ".." || n.find('/') != std::string::npos || n.find('\0') != std::string::npos)
            throw Error("crops: class name '" + n + "' cannot be a folder name (expected no '/', not empty, not . or ..)");
        if (!seen.insert(n).second) throw Error("crops: class name '" + n + "' appears twice");
    }
}

// A file-name-safe stem for an image: its id (VOC id, list stem) with path separators
// replaced, so COCO ids such as "train/0001" stay one file name.
std::string image_stem(const LabeledImage& image) {
    std::string stem = image.id.empty() ? fs::path(image.image_path).stem().string() : image.id;
    std::replace(stem.begin(), stem.end(), '/', '_');
    std::replace(stem.begin(), stem.end(), '\\', '_');
    return stem.empty() ? "image" : stem;
}

// Removes (with overwrite) or refuses an earlier run's OUT/<split>/.
void prepare_split_dir(const fs::path& dir, bool overwrite) {
    std::error_code ec;
    if (fs::exists(dir, ec) && !fs::is_empty(dir, ec)) {
        if (!overwrite)
            throw Error(dir.string() + ": already holds crops from an earlier run (expected an empty folder; "
                                       "--overwrite replaces it)");
        fs::remove_all(dir, ec);
        if (ec) throw Error(dir.string() + ": cannot remove (" + ec.message() + ")");
    }
}

void note(CropReport& report, size_t& kind_count, const std::string& message, bool quiet) {
    if (kind_count++ < kWarningsPerKind) {
        report.warnings.push_back(message);
        if (!quiet) log_message(LogLevel::warning, message);
    }
}

}  // namespace

cv::Rect crop_rect(const TruthBox& box, cv::Size image_size, const CropOptions& options) {
    const double W = image_size.width, H = image_size.height;
    double w = box.w * W * (1 + 2.0 * options.context);
    double h = box.h * H * (1 + 2.0 * options.context);
    if (options.square) w = h = std::max(w, h);
    const double cx = box.x * W, cy = box.y * H;
    const int x0 = static_cast<int>(std::lround(cx - w / 2)), y0 = static_cast<int>(std::lround(cy - h / 2));
    const int x1 = static_cast<int>(std::lround(cx + w / 2)), y1 = static_cast<int>(std::lround(cy + h / 2));
    // At least one pixel: a sub-pixel box still names a place in the image.
    return {x0, y0, std::max(x1 - x0, 1), std::max(y1 - y0, 1)};
}

cv::Mat extract_crop(const cv::Mat& image, const TruthBox& box, const CropOptions& options) {
    const cv::Rect want = crop_rect(box, image.size(), options);
    const cv::Rect inside = want & cv::Rect(0, 0, image.cols, image.rows);
    cv::Mat crop(want.size(), image.type(), cv::Scalar::all(128));
    if (inside.area() > 0) image(inside).copyTo(crop(inside - want.tl()));
    if (options.output_size <= 0) return crop;
    const double scale = double(options.output_size) / std::max(crop.cols, crop.rows);
    const cv::Size size(std::max(1, int(std::lround(crop.cols * scale))), std::max(1, int(std::lround(crop.rows * scale))));
    cv::Mat resized;
    cv::resize(crop, resized, size, 0, 0, scale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
    return resized;
}

int darknet_label_matches(const std::string& path, const std::vector<std::string>& class_names) {
    int matches = 0;
    for (const std::string& name : class_names)
        if (!name.empty() && path.find(name) != std::string::npos) ++matches;
    return matches;
}

CropReport write_box_crops(const std::vector<CropSplit>& splits, const std::vector<std::string>& class_names,
                           const std::string& out_dir, const CropOptions& options) {
    check_class_names(class_names);
    if (splits.empty()) throw Error("crops: no split to write");
    std::set<std::string> split_names;
    for (const CropSplit& s : splits)
        if (s.name.empty() || s.name.find('/') != std::string::npos || !split_names.insert(s.name).second)
            throw Error("crops: split name '" + s.name + "' is empty, has a '/' or appears twice");

    // Absolute paths in the lists: darknet opens them relative to its working directory.
    const fs::path out = fs::absolute(out_dir).lexically_normal();
    std::error_code ec;
    fs::create_directories(out, ec);
    if (ec) throw Error(out.string() + ": cannot create (" + ec.message() + ")");

    CropReport report;
    report.class_names = class_names;
    size_t unreadable_notes = 0, ambiguous_notes = 0;
    const std::vector<int> jpeg_params = {cv::IMWRITE_JPEG_QUALITY, options.jpeg_quality};

    for (const CropSplit& split : splits) {
        const fs::path split_dir = out / split.name;
        prepare_split_dir(split_dir, options.overwrite);
        for (const std::string& c : class_names) {
            fs::create_directories(split_dir / c, ec);
            if (ec) throw Error((split_dir / c).string() + ": cannot create (" + ec.message() + ")");
        }
        CropSplitReport sr;
        sr.name = split.name;
        sr.crops_per_class.assign(class_names.size(), 0);
        std::string list;
        std::set<std::string> used;  // two images with one stem (merged sets) must not collide
        for (const LabeledImage& image : split.dataset.images) {
            ++sr.images;
            if (image.boxes.empty()) continue;
            cv::Mat pixels;
            try {
                pixels = load_image(image.image_path);
            } catch (const Error& e) {
                ++sr.unreadable_images;
                note(report, unreadable_notes, std::string(e.what()) + " (its boxes are not cropped)", options.quiet);
                continue;
            }
            const std::string stem = image_stem(image);
            for (size_t k = 0; k < image.boxes.size(); ++k) {
                const TruthBox& box = image.boxes[k];
                if (box.class_id < 0 || size_t(box.class_id) >= class_names.size())
                    throw Error(image.image_path + ": box " + std::to_string(k) + " has class id " +
                                std::to_string(box.class_id) + " (expected 0.." +
                                std::to_string(class_names.size() - 1) + ")");
                if (options.skip_difficult && box.difficult) {
                    ++sr.difficult_boxes;
                    continue;
                }
                if (std::min(box.w * pixels.cols, box.h * pixels.rows) < options.min_size) {
                    ++sr.small_boxes;
                    continue;
                }
                std::string name = stem + "_" + std::to_string(k);
                for (int dup = 2; !used.insert(class_names[box.class_id] + "/" + name).second; ++dup)
                    name = stem + "_" + std::to_string(k) + "_" + std::to_string(dup);
                const fs::path file = split_dir / class_names[box.class_id] / (name + ".jpg");
                if (!cv::imwrite(file.string(), extract_crop(pixels, box, options), jpeg_params))
                    throw Error(file.string() + ": cannot write JPEG");
                ++sr.crops_per_class[box.class_id];
                ++sr.crops;
                list += file.string() + "\n";
                if (const int matches = darknet_label_matches(file.string(), class_names); matches != 1) {
                    ++report.ambiguous_label_paths;
                    note(report, ambiguous_notes,
                         file.string() + ": darknet would find " + std::to_string(matches) +
                             " class names in this path (expected exactly 1: a class name is a substring of the "
                             "output folder or another class name; choose another --out)",
                         options.quiet);
                }
            }
        }
        sr.list_path = (out / (split.name + ".list")).string();
        write_file_atomically(sr.list_path, list);
        report.splits.push_back(std::move(sr));
    }

    report.labels_path = (out / "labels.txt").string();
    std::string labels;
    for (const std::string& c : class_names) labels += c + "\n";
    write_file_atomically(report.labels_path, labels);

    // darknet's classifier reads train/valid/labels/top/backup; `names` is there for tools
    // that look for the detection key.
    auto list_of = [&](const std::string& name) -> std::string {
        for (const CropSplitReport& s : report.splits)
            if (s.name == name) return s.list_path;
        return {};
    };
    const int classes = int(class_names.size());
    std::string data = "classes = " + std::to_string(classes) + "\n";
    if (!list_of("train").empty()) data += "train = " + list_of("train") + "\n";
    if (!list_of("valid").empty()) data += "valid = " + list_of("valid") + "\n";
    data += "labels = " + report.labels_path + "\nnames = " + report.labels_path + "\n";
    data += "backup = " + (out / "backup").string() + "\n";
    data += "top = " + std::to_string(std::max(1, std::min(5, classes - 1))) + "\n";
    report.data_path = (out / "crops.data").string();
    write_file_atomically(report.data_path, data);
    return report;
}

}  // namespace yolo9k
