#include "classify/classifier.h"

#include "core/error.h"
#include "data/classification_augment.h"
#include "io/image_reader.h"

namespace yolo9k {

ClassifierValidation validate_classifier(Classifier& classifier, const ClassificationDataset& data, int k) {
    if (classifier.width() != classifier.height())
        throw Error("classifier valid: the centre crop needs a square network input, got " +
                    std::to_string(classifier.width()) + "x" + std::to_string(classifier.height()));
    if (int(data.class_names.size()) != classifier.classes())
        throw Error("classifier valid: the network has " + std::to_string(classifier.classes()) +
                    " outputs but the data has " + std::to_string(data.class_names.size()) + " classes");
    ClassifierValidation v{ClassificationMetrics(classifier.classes(), k), {}};
    std::vector<float> input(size_t(3) * classifier.width() * classifier.height());
    for (size_t i = 0; i < data.images.size(); ++i) {
        try {
            center_crop_input(load_image(data.images[i].path), classifier.width(), input.data());
        } catch (const Error& e) {
            v.unreadable.push_back(e.what());
            continue;
        }
        const std::vector<float> p = classifier.predict_input(input.data());
        v.metrics.add(p.data(), data.images[i].label);
    }
    return v;
}

}  // namespace yolo9k
