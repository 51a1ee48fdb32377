// The public evaluate() over src/eval.
#include "yolo9k/evaluator.h"

#include "api/train/data_path.h"
#include "eval/evaluate.h"

namespace yolo9k {

Evaluation evaluate(Detector& detector, const EvaluationOptions& options) {
    const bool data_file = is_darknet_data_file(options.data);
    const Dataset data = eval::load_eval_dataset(data_file ? options.data : "", data_file ? "" : options.data,
                                                 options.split, options.names);
    const eval::EvalResult r = eval::evaluate(detector, data);
    Evaluation e;
    e.map_voc = r.map_voc;
    e.map_voc07 = r.map_voc07;
    e.map_coco = r.map_coco;
    e.ap50 = r.ap50;
    e.ap75 = r.ap75;
    e.images = r.images;
    e.skipped = r.skipped;
    for (const eval::ClassMetrics& c : r.per_class)
        e.per_class.push_back({c.name, c.truth, c.ap_voc07, c.ap_voc, c.ap_coco});
    return e;
}

}  // namespace yolo9k
