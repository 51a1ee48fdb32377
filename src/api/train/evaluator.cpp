// The public evaluate(), evaluate_detections() and evaluate_classifier() over src/eval and
// src/classify.
#include "yolo9k/evaluator.h"

#include <algorithm>

#include "api/train/data_path.h"
#include "classify/classifier.h"
#include "core/json_read.h"
#include "data/classification_dataset.h"
#include "eval/evaluate.h"
#include "eval/results_io.h"

namespace yolo9k {
namespace {

Dataset load(const EvaluationOptions& options) {
    const bool data_file = is_darknet_data_file(options.data);
    return eval::load_eval_dataset(data_file ? options.data : "", data_file ? "" : options.data, options.split,
                                   options.names);
}

Evaluation to_public(const eval::EvalResult& r) {
    Evaluation e;
    e.map_voc = r.map_voc;
    e.map_voc07 = r.map_voc07;
    e.map_coco = r.map_coco;
    e.ap50 = r.ap50;
    e.ap75 = r.ap75;
    e.images = r.images;
    e.classes_with_truth = r.classes_with_truth;
    e.skipped = r.skipped;
    for (const eval::ClassMetrics& c : r.per_class)
        e.per_class.push_back({.name = c.name, .truths = c.truth, .ap_voc07 = c.ap_voc07, .ap_voc = c.ap_voc,
                               .ap_coco = c.ap_coco, .difficult = c.difficult, .detections = c.detections,
                               .ap50 = c.ap50, .ap75 = c.ap75});
    return e;
}

// The scores without the precision-recall curves, which only the charts need.
eval::EvalResult from_public(const Evaluation& e) {
    eval::EvalResult r;
    r.map_voc = e.map_voc;
    r.map_voc07 = e.map_voc07;
    r.map_coco = e.map_coco;
    r.ap50 = e.ap50;
    r.ap75 = e.ap75;
    r.images = e.images;
    r.classes_with_truth = e.classes_with_truth;
    r.skipped = e.skipped;
    for (const ClassAveragePrecision& c : e.per_class) {
        eval::ClassMetrics m;
        m.name = c.name;
        m.truth = c.truths;
        m.difficult = c.difficult;
        m.detections = c.detections;
        m.ap_voc07 = c.ap_voc07;
        m.ap_voc = c.ap_voc;
        m.ap_coco = c.ap_coco;
        m.ap50 = c.ap50;
        m.ap75 = c.ap75;
        r.per_class.push_back(std::move(m));
    }
    return r;
}

}  // namespace

Evaluation evaluate(Detector& detector, const EvaluationOptions& options) {
    return to_public(eval::evaluate(detector, load(options), {.progress = options.on_progress, .out_dir = options.out_dir}));
}

Evaluation evaluate_detections(const std::string& detections, const EvaluationOptions& options) {
    const eval::Truth truth = eval::truth_from_dataset(load(options));
    const std::vector<eval::ScoredBox> boxes = eval::read_detections(detections, truth);
    const eval::EvalResult r = eval::evaluate(truth, boxes);
    if (!options.out_dir.empty()) eval::write_evaluation_files(options.out_dir, truth, boxes, r);
    return to_public(r);
}

std::string to_table(const Evaluation& evaluation) { return eval::format_table(from_public(evaluation)); }
std::string to_json_text(const Evaluation& evaluation, int indent) {
    return dump_json(eval::to_json(from_public(evaluation)), indent);
}
std::string describe_skipped(const Evaluation& evaluation) { return eval::describe_skipped(evaluation.skipped); }

ClassificationDataInfo read_classification_data(const std::string& path) {
    const ClassificationDataFile f = read_classification_data_file(path);
    return {f.labels, f.top};
}

ClassifierEvaluation evaluate_classifier(Classifier& classifier, const ClassifierEvaluationOptions& options) {
    const ClassificationDataset data = load_classification_dataset(options.data, options.split, options.labels);
    int top = options.top;
    if (top <= 0) top = is_darknet_data_file(options.data) ? read_classification_data_file(options.data).top : 5;
    top = std::min(top, classifier.classes());
    const ClassifierValidation v = validate_classifier(classifier, data, top);
    ClassifierEvaluation e{.images = v.metrics.images(), .k = top, .top1 = v.metrics.top1(), .topk = v.metrics.topk(),
                           .unreadable = v.unreadable};
    for (size_t i = 0; i < data.class_names.size(); ++i) {
        const ClassAccuracy& a = v.metrics.per_class()[i];
        e.per_class.push_back({.name = data.class_names[i], .images = a.images,
                               .top1 = a.images ? double(a.top1) / a.images : 0,
                               .topk = a.images ? double(a.topk) / a.images : 0});
    }
    return e;
}

std::string to_json_text(const ClassifierEvaluation& evaluation, int indent) {
    nlohmann::json per_class = nlohmann::json::array();
    for (size_t i = 0; i < evaluation.per_class.size(); ++i) {
        const ClassAccuracyRow& a = evaluation.per_class[i];
        per_class.push_back({{"class_id", i}, {"name", a.name}, {"images", a.images}, {"top1", a.top1}, {"topk", a.topk}});
    }
    return dump_json({{"images", evaluation.images}, {"top1", evaluation.top1}, {"k", evaluation.k},
                      {"topk", evaluation.topk}, {"per_class", per_class}, {"unreadable", evaluation.unreadable}},
                     indent);
}

}  // namespace yolo9k
