#include "eval/evaluate.h"

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "eval/pr_plot.h"
#include "eval/results_io.h"
#include "io/image_reader.h"

namespace yolo9k::eval {

Dataset load_eval_dataset(const std::string& data_file, const std::string& dataset, const std::string& split,
                          const std::string& names) {
    DatasetOptions options;
    if (!names.empty()) options.class_names = read_names_file(names);
    if (!data_file.empty()) {
        if (!dataset.empty()) throw Error("give either a .data file or a dataset path, not both");
        return load_dataset_split(read_data_file(data_file), split.empty() ? "valid" : split, options);
    }
    if (dataset.empty()) throw Error("no evaluation set: give a .data file (--data) or a dataset path (--dataset)");
    options.split = split;
    return load_dataset(dataset, options);
}

Truth truth_from_dataset(const Dataset& data, const std::vector<cv::Size>* sizes,
                         const std::vector<SkippedImage>* skipped) {
    std::vector<bool> skip(data.images.size());
    if (skipped)
        for (const SkippedImage& s : *skipped)
            if (s.index < skip.size()) skip[s.index] = true;
    if (data.images.empty()) throw Error("evaluation: the dataset has no images (check the split or list file)");
    if (data.class_names.empty()) throw Error("evaluation: the dataset has no class names (give a names file)");
    Truth t;
    t.class_names = data.class_names;
    for (size_t i = 0; i < data.images.size(); ++i) {
        const LabeledImage& image = data.images[i];
        int w = image.width, h = image.height;
        if (sizes && i < sizes->size() && !(*sizes)[i].empty()) w = (*sizes)[i].width, h = (*sizes)[i].height;
        if (skip[i]) {  // in place, without objects: no effect on any AP
            t.image_ids.push_back(image.id.empty() ? std::filesystem::path(image.image_path).stem().string() : image.id);
            t.widths.push_back(std::max(w, 1));
            t.heights.push_back(std::max(h, 1));
            t.images.emplace_back();
            continue;
        }
        if (w <= 0 || h <= 0) {
            // The annotation lacks the size (darknet label files): the image has it.
            const cv::Mat m = load_image(image.image_path);
            w = m.cols, h = m.rows;
        }
        t.image_ids.push_back(image.id.empty() ? std::filesystem::path(image.image_path).stem().string() : image.id);
        t.widths.push_back(w);
        t.heights.push_back(h);
        std::vector<TruthObject> objects;
        for (const TruthBox& b : image.boxes) {
            if (b.class_id < 0 || b.class_id >= int(data.class_names.size()))
                throw Error(image.image_path + ": box of class " + std::to_string(b.class_id) + ", but there are " +
                            std::to_string(data.class_names.size()) + " class names");
            objects.push_back({b.class_id,
                               Box{(b.x - b.w / 2) * w, (b.y - b.h / 2) * h, (b.x + b.w / 2) * w, (b.y + b.h / 2) * h},
                               b.difficult});
        }
        t.images.push_back(std::move(objects));
    }
    return t;
}

std::vector<ScoredBox> detect_dataset(Detector& detector, const Dataset& data, std::vector<cv::Size>& sizes,
                                      const EvaluateOptions& options, std::vector<SkippedImage>* skipped) {
    if (data.images.empty()) throw Error("evaluation: the dataset has no images (check the split or list file)");
    if (detector.classes() != int(data.class_names.size()))
        throw Error("evaluation: the detector has " + std::to_string(detector.classes()) + " classes, the dataset " +
                    std::to_string(data.class_names.size()) + " (names file and cfg do not match)");
    sizes.assign(data.images.size(), cv::Size());
    std::vector<ScoredBox> out;
    const size_t batch = size_t(std::max(1, detector.options().batch));
    for (size_t start = 0; start < data.images.size(); start += batch) {
        std::vector<cv::Mat> images;
        std::vector<int> index;  // dataset index of each image read
        const size_t end = std::min(data.images.size(), start + batch);
        for (size_t i = start; i < end; ++i) {
            try {
                images.push_back(load_image(data.images[i].image_path));
            } catch (const Error& e) {
                if (!skipped) throw;
                skipped->push_back({i, e.what()});
                continue;
            }
            index.push_back(int(i));
            sizes[i] = images.back().size();
        }
        if (!images.empty()) {
            const auto found = detector.detect_batch(images);
            for (size_t k = 0; k < found.size(); ++k)
                for (const Detection& d : found[k]) out.push_back({index[k], d.class_id, d.score, d.box});
        }
        if (options.progress) options.progress(int(end), int(data.images.size()));
    }
    return out;
}

EvalResult evaluate(Detector& detector, const Dataset& data, const EvaluateOptions& options) {
    std::vector<cv::Size> sizes;
    std::vector<SkippedImage> skipped;
    const auto detections = detect_dataset(detector, data, sizes, options, &skipped);
    const Truth truth = truth_from_dataset(data, &sizes, &skipped);
    EvalResult result = evaluate(truth, detections);
    record_skipped(result, skipped);
    if (!options.out_dir.empty()) write_evaluation_files(options.out_dir, truth, detections, result);
    return result;
}

void write_evaluation_files(const std::string& dir, const Truth& truth, const std::vector<ScoredBox>& detections,
                            const EvalResult& result) {
    std::filesystem::create_directories(dir);
    write_comp4(dir, truth, detections);
    write_coco_results((std::filesystem::path(dir) / "coco_results.json").string(), truth, detections);
    write_pr_charts(dir, result);
}

void record_skipped(EvalResult& result, const std::vector<SkippedImage>& skipped) {
    result.images -= int(skipped.size());
    for (const SkippedImage& s : skipped) result.skipped.push_back(s.why);
}

std::string describe_skipped(const std::vector<std::string>& skipped) {
    if (skipped.empty()) return "";
    std::string s = std::to_string(skipped.size()) + " unreadable image" + (skipped.size() > 1 ? "s" : "") +
                    " skipped: " + skipped.front();
    if (skipped.size() > 1) s += " (and " + std::to_string(skipped.size() - 1) + " more)";
    return s;
}

}  // namespace yolo9k::eval
