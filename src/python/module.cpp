// The `yolo9k` Python module: a thin pybind11 layer over the public C++ API (include/yolo9k/).
// Images come in as numpy arrays (H x W x 3 uint8 BGR, or RGB with rgb=True; H x W grey;
// H x W x 4 BGRA) and are read in place; compute runs with the GIL released, so several
// Python threads can share one Detector (its calls run one at a time, as in C++).
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <opencv2/imgproc.hpp>

#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "yolo9k/anchors.h"
#include "yolo9k/calibration.h"
#include "yolo9k/detector.h"
#include "yolo9k/error.h"
#include "yolo9k/evaluator.h"
#include "yolo9k/image.h"
#include "yolo9k/trainer.h"

namespace py = pybind11;
using namespace yolo9k;

namespace {

// One detection as a numpy structured-array row (Detector.detect(..., as_numpy=True)).
struct DetectionRow {
    int32_t class_id;
    float score, objectness, x1, y1, x2, y2;
};

// A view of the array's pixels (no copy) when it is uint8 with contiguous pixels; RGB input is
// converted to BGR (one copy), as is anything OpenCV cannot view.
cv::Mat image_from_array(const py::array& array, bool rgb) {
    if (!py::isinstance<py::array_t<uint8_t>>(array) || array.dtype().kind() != 'u' || array.itemsize() != 1)
        throw py::type_error("expected a uint8 image array, got dtype " + std::string(py::str(array.dtype())));
    const py::buffer_info b = array.request();
    int channels = 1;
    if (b.ndim == 3) channels = int(b.shape[2]);
    if (!(b.ndim == 2 || (b.ndim == 3 && (channels == 3 || channels == 4))))
        throw py::value_error("expected an H x W, H x W x 3 or H x W x 4 image array");
    if (b.shape[0] < 1 || b.shape[1] < 1) throw py::value_error("the image array is empty");
    // OpenCV's sizes are int (the array exists already, so no pixel limit is needed here).
    if (b.shape[0] > std::numeric_limits<int>::max() || b.shape[1] > std::numeric_limits<int>::max())
        throw py::value_error("the image array is larger than an image can be");
    const bool packed = b.strides[1] == channels && (b.ndim == 2 || b.strides[2] == 1) && b.strides[0] > 0;
    cv::Mat view;
    if (packed) {
        view = cv::Mat(int(b.shape[0]), int(b.shape[1]), CV_8UC(channels), b.ptr, size_t(b.strides[0]));
    } else {  // any other stride pattern: a contiguous copy
        py::array_t<uint8_t, py::array::c_style | py::array::forcecast> copy(array);
        const py::buffer_info c = copy.request();
        view = cv::Mat(int(c.shape[0]), int(c.shape[1]), CV_8UC(channels), c.ptr).clone();
    }
    if (rgb && channels >= 3) {
        cv::Mat bgr;
        cv::cvtColor(view, bgr, channels == 3 ? cv::COLOR_RGB2BGR : cv::COLOR_RGBA2BGRA);
        return bgr;
    }
    return view;
}

cv::Mat image_from(const py::object& image, bool rgb) {
    if (py::isinstance<py::str>(image) || py::hasattr(image, "__fspath__")) {
        const std::string path = py::str(py::module_::import("os").attr("fspath")(image));
        py::gil_scoped_release nogil;
        return load_image(path);
    }
    return image_from_array(py::array::ensure(image), rgb);
}

DetectThresholds thresholds(std::optional<float> thresh, std::optional<float> nms, std::optional<float> hier) {
    return {thresh, nms, hier};
}

py::object detections_out(const std::vector<Detection>& found, bool as_numpy) {
    if (!as_numpy) return py::cast(found);
    py::array_t<DetectionRow> rows(py::ssize_t(found.size()));
    auto r = rows.mutable_unchecked<1>();
    for (size_t i = 0; i < found.size(); ++i) {
        const Detection& d = found[i];
        r(py::ssize_t(i)) = {d.class_id, d.score, d.objectness, d.box.x1, d.box.y1, d.box.x2, d.box.y2};
    }
    return rows;
}

// Runs a trainer with the GIL released; progress reaches Python with it held. An exception
// raised by the callback (KeyboardInterrupt included) cancels the run, which saves the step,
// and is raised again once it has stopped.
template <typename Trainer, typename Progress>
auto run_trainer(Trainer& trainer, const std::function<void(const Progress&)>& callback) {
    std::optional<py::error_already_set> raised;
    trainer.on_progress([&](const Progress& p) {
        py::gil_scoped_acquire gil;
        if (raised) return;
        try {
            if (callback) callback(p);
            if (PyErr_CheckSignals() != 0) throw py::error_already_set();
        } catch (py::error_already_set& e) {
            raised = std::move(e);
            trainer.cancel();
        }
    });
    auto summary = [&] {
        py::gil_scoped_release nogil;
        return trainer.run();
    }();
    if (raised) throw std::move(*raised);
    return summary;
}

py::dict summary_dict(const TrainingSummary& s) {
    py::dict d;
    d["iterations"] = s.iterations;
    d["iterations_this_run"] = s.iterations_this_run;
    d["final_average_loss"] = s.final_average_loss;
    d["final_weights"] = s.final_weights;
    d["seconds"] = s.seconds;
    d["images_per_second"] = s.images_per_second;
    d["cancelled"] = s.cancelled;
    return d;
}

}  // namespace

PYBIND11_MODULE(yolo9k, m) {
    m.doc() = "YOLOv2 / YOLO9000 detection, training and evaluation, darknet-compatible (yolo9k's C++ API)";
    PYBIND11_NUMPY_DTYPE(DetectionRow, class_id, score, objectness, x1, y1, x2, y2);
    // yolo9k::Error (bad files, bad input) as yolo9k.Error, a RuntimeError with the C++ message.
    py::register_exception<Error>(m, "Error", PyExc_RuntimeError);

    py::class_<Detection>(m, "Detection", "One detected object: class, scores, box in image pixels")
        .def_readonly("class_id", &Detection::class_id)
        .def_readonly("name", &Detection::name)
        .def_readonly("score", &Detection::score, "objectness x class probability")
        .def_readonly("objectness", &Detection::objectness)
        .def_property_readonly("box", [](const Detection& d) { return py::make_tuple(d.box.x1, d.box.y1, d.box.x2, d.box.y2); },
                               "(x1, y1, x2, y2) in pixels of the image")
        .def("__repr__", [](const Detection& d) {
            return "Detection(" + d.name + ", score=" + std::to_string(d.score) + ", box=(" + std::to_string(d.box.x1) +
                   ", " + std::to_string(d.box.y1) + ", " + std::to_string(d.box.x2) + ", " + std::to_string(d.box.y2) + "))";
        });

    py::class_<Detector>(m, "Detector", "A YOLOv2 / YOLO9000 detector (darknet .cfg + .weights)")
        .def(py::init([](const std::string& cfg, const std::string& weights, std::optional<std::string> names, int size,
                         float thresh, float nms, float hier, int batch, std::optional<int> threads, const std::string& backend,
                         bool letterbox, const std::string& precision, const std::string& calibration) {
                 DetectorOptions o{.cfg = cfg, .weights = weights, .names = names.value_or(""), .size = size,
                                   .thresh = thresh, .nms = nms, .letterbox = letterbox, .batch = batch,
                                   .threads = threads.value_or(0), .backend = backend};
                 o.hier = hier;
                 o.precision = precision;
                 o.calibration = calibration;
                 py::gil_scoped_release nogil;
                 return std::make_unique<Detector>(o);
             }),
             py::arg("cfg"), py::arg("weights"), py::arg("names") = py::none(), py::arg("size") = 0,
             py::arg("thresh") = .5f, py::arg("nms") = .45f, py::arg("hier") = .5f, py::arg("batch") = 1,
             py::arg("threads") = py::none(), py::arg("backend") = "onednn", py::arg("letterbox") = true,
             py::arg("precision") = "f32", py::arg("calibration") = "")
        .def(
            "detect",
            [](Detector& d, const py::object& image, std::optional<float> thresh, std::optional<float> nms,
               std::optional<float> hier, bool rgb, bool as_numpy) {
                const cv::Mat mat = image_from(image, rgb);  // keeps `image`'s buffer: the caller holds it
                std::vector<Detection> found;
                {
                    py::gil_scoped_release nogil;
                    found = d.detect(mat, thresholds(thresh, nms, hier));
                }
                return detections_out(found, as_numpy);
            },
            py::arg("image"), py::arg("thresh") = py::none(), py::arg("nms") = py::none(), py::arg("hier") = py::none(),
            py::arg("rgb") = false, py::arg("as_numpy") = false,
            "Detects objects in a path or an image array; returns a list of Detection, or a structured array")
        .def(
            "detect_batch",
            [](Detector& d, const std::vector<py::object>& images, std::optional<float> thresh, std::optional<float> nms,
               std::optional<float> hier, bool rgb, bool as_numpy) {
                std::vector<cv::Mat> mats;
                for (const py::object& image : images) mats.push_back(image_from(image, rgb));
                std::vector<std::vector<Detection>> found;
                {
                    py::gil_scoped_release nogil;
                    found = d.detect_batch(mats, thresholds(thresh, nms, hier));
                }
                py::list out;
                for (const auto& f : found) out.append(detections_out(f, as_numpy));
                return out;
            },
            py::arg("images"), py::arg("thresh") = py::none(), py::arg("nms") = py::none(), py::arg("hier") = py::none(),
            py::arg("rgb") = false, py::arg("as_numpy") = false)
        .def_property_readonly("class_names", &Detector::class_names)
        .def_property_readonly("classes", &Detector::classes)
        .def_property_readonly("input_width", &Detector::input_width)
        .def_property_readonly("input_height", &Detector::input_height);

    m.def(
        "load_image",
        [](const std::string& path) {
            cv::Mat image;
            {
                py::gil_scoped_release nogil;
                image = load_image(path);  // with yolo9k's header checks and pixel limit
            }
            py::array_t<uint8_t> out({image.rows, image.cols, image.channels()});
            for (int y = 0; y < image.rows; ++y)
                std::memcpy(out.mutable_data(y), image.ptr(y), size_t(image.cols) * image.channels());
            return out;
        },
        py::arg("path"), "Reads an image file as an H x W x 3 uint8 BGR array");

    py::class_<TrainingProgress>(m, "TrainingProgress")
        .def_readonly("iteration", &TrainingProgress::iteration)
        .def_readonly("max_batches", &TrainingProgress::max_batches)
        .def_readonly("loss", &TrainingProgress::loss)
        .def_readonly("average_loss", &TrainingProgress::average_loss)
        .def_readonly("learning_rate", &TrainingProgress::learning_rate)
        .def_readonly("images_per_second", &TrainingProgress::images_per_second)
        .def_readonly("eta_seconds", &TrainingProgress::eta_seconds)
        .def_readonly("width", &TrainingProgress::width)
        .def_readonly("height", &TrainingProgress::height)
        .def_readonly("average_iou", &TrainingProgress::average_iou)
        .def_readonly("recall50", &TrainingProgress::recall50)
        .def_readonly("objectness", &TrainingProgress::objectness)
        .def_readonly("no_objectness", &TrainingProgress::no_objectness);

    m.def(
        "train",
        [](const std::string& cfg, const std::string& data, const std::string& names, const std::string& split,
           const std::string& weights, const std::string& backup_dir, const std::string& name, bool resume, uint64_t seed,
           int threads, int batch, int subdivisions, int max_batches, int size, float learning_rate, int burn_in,
           int multiscale, bool augment, int checkpoint_every, int map_every, bool chart,
           const std::function<void(const TrainingProgress&)>& on_progress) {
            Trainer trainer({.cfg = cfg, .data = data, .names = names, .split = split, .weights = weights,
                             .backup_dir = backup_dir, .name = name, .resume = resume, .seed = seed, .threads = threads,
                             .batch = batch, .subdivisions = subdivisions, .max_batches = max_batches, .size = size,
                             .learning_rate = learning_rate, .burn_in = burn_in, .multiscale = multiscale,
                             .augment = augment, .checkpoint_every = checkpoint_every, .map_every = map_every,
                             .chart = chart, .quiet = true});
            return summary_dict(run_trainer<Trainer, TrainingProgress>(trainer, on_progress));
        },
        py::arg("cfg"), py::arg("data"), py::kw_only(), py::arg("names") = "", py::arg("split") = "",
        py::arg("weights") = "", py::arg("backup_dir") = "", py::arg("name") = "", py::arg("resume") = false,
        py::arg("seed") = 1, py::arg("threads") = 0, py::arg("batch") = 0, py::arg("subdivisions") = 0,
        py::arg("max_batches") = 0, py::arg("size") = 0, py::arg("learning_rate") = 0.f, py::arg("burn_in") = -1,
        py::arg("multiscale") = -1, py::arg("augment") = true, py::arg("checkpoint_every") = 100,
        py::arg("map_every") = 0, py::arg("chart") = false, py::arg("on_progress") = nullptr,
        "Trains a detector as `yolo9k train` does (0 / -1 keep the cfg's values); on_progress(p) runs after every "
        "step, and an exception it raises (or Ctrl-C) stops the run with the step saved");

    m.def(
        "calibrate",
        [](const std::string& cfg, const std::string& weights, const std::vector<std::string>& images,
           const std::string& out, int count, const std::string& method, double percentile, int size, int threads) {
            CalibrationSummary s;
            {
                py::gil_scoped_release nogil;
                s = calibrate({.cfg = cfg, .weights = weights, .size = size, .images = images, .count = count,
                               .method = method, .percentile = percentile, .threads = threads},
                              out);
            }
            py::dict d;
            d["images"] = s.images;
            d["method"] = s.method;
            d["widest_range"] = s.widest_range;
            d["widest_layer"] = s.widest_layer;
            return d;
        },
        py::arg("cfg"), py::arg("weights"), py::arg("images"), py::arg("out"), py::kw_only(), py::arg("count") = 200,
        py::arg("method") = "minmax", py::arg("percentile") = 99.99, py::arg("size") = 0, py::arg("threads") = 0,
        "Records activation ranges on images (files, folders, list files) for Detector(..., precision=\"int8\", "
        "calibration=out), as `yolo9k calibrate` does");

    m.def(
        "evaluate",
        [](Detector& detector, const std::string& data, const std::string& names, const std::string& split) {
            Evaluation e;
            {
                py::gil_scoped_release nogil;
                e = yolo9k::evaluate(detector, {.data = data, .names = names, .split = split});
            }
            py::dict d;
            d["map50"] = e.map_voc;
            d["map50_voc07"] = e.map_voc07;
            d["map_coco"] = e.map_coco;
            d["ap50"] = e.ap50;
            d["ap75"] = e.ap75;
            d["images"] = e.images;
            d["skipped"] = e.skipped;
            py::list per_class;
            for (const ClassAveragePrecision& c : e.per_class) {
                py::dict row;
                row["name"] = c.name;
                row["truths"] = c.truths;
                row["ap50"] = c.ap_voc;
                row["ap50_voc07"] = c.ap_voc07;
                row["ap_coco"] = c.ap_coco;
                per_class.append(row);
            }
            d["per_class"] = per_class;
            return d;
        },
        py::arg("detector"), py::arg("data"), py::kw_only(), py::arg("names") = "", py::arg("split") = "",
        "mAP of a Detector on a labelled set, as `yolo9k eval` (build the Detector with thresh=0.005 to match darknet)");

    m.def(
        "anchors",
        [](const std::vector<std::string>& datasets, int k, const std::string& split, int size, int stride, uint64_t seed) {
            AnchorClusters c;
            {
                py::gil_scoped_release nogil;
                c = fit_anchors({.datasets = datasets, .split = split, .k = k, .network_size = size, .stride = stride,
                                 .seed = seed});
            }
            py::list anchors;
            for (const Anchor& a : c.anchors) anchors.append(py::make_tuple(a.w, a.h));
            py::dict d;
            d["anchors"] = anchors;
            d["counts"] = c.counts;
            d["average_iou"] = c.average_iou;
            d["boxes"] = c.boxes;
            d["cfg_line"] = format_anchors(c.anchors);
            return d;
        },
        py::arg("datasets"), py::kw_only(), py::arg("k") = 5, py::arg("split") = "", py::arg("size") = 416,
        py::arg("stride") = 32, py::arg("seed") = 1,
        "Dimension clusters (k-means, d = 1 - IoU) on the boxes of one or more datasets, as `yolo9k anchors`");
}
