// The batches come from a PrefetchQueue (data/prefetch.h); unreadable images are tracked
// by UnreadableImages, keyed by detection index, then class_only's after them.
#include "data/loader.h"

#include <optional>

#include "core/error.h"
#include "core/limits.h"
#include "data/prefetch.h"
#include "data/unreadable_images.h"
#include "io/image_reader.h"

namespace yolo9k {

struct DetectionLoader::State {
    State(Dataset dataset, Dataset class_only, LoaderOptions options)
        : dataset(std::move(dataset)),
          class_only(std::move(class_only)),
          options(std::move(options)),
          unreadable(this->options.max_failed_images, this->options.quiet) {}

    Dataset dataset;
    Dataset class_only;  // classification-only images, drawn with options.class_share
    LoaderOptions options;
    UnreadableImages unreadable;
    std::optional<PrefetchQueue<DetectionBatch>> queue;  // last: its workers stop first

    DetectionBatch make_batch(std::int64_t index) {
        DetectionBatch b;
        b.index = index;
        const NetSize size = options.size_for_batch ? options.size_for_batch(index) : options.size;
        if (size.width <= 0 || size.height <= 0)
            throw Error("batch " + std::to_string(index) + ": network size " + std::to_string(size.width) + "x" +
                        std::to_string(size.height) + " is not positive");
        b.width = size.width;
        b.height = size.height;
        const std::size_t per_image = 3ull * size.width * size.height;
        b.images.resize(per_image * options.batch);
        b.truths.resize(options.batch);
        b.paths.resize(options.batch);
        b.image_classes.assign(options.batch, -1);
        for (int slot = 0; slot < options.batch; ++slot) {
            AugmentRng rng = step_slot_rng(options.seed, index, slot, options.batch, options.step_slots);
            // Only mixed runs draw the coin, so plain detection batches keep their bytes.
            const bool classification = !class_only.images.empty() && rng.uniform(0, 1) < options.class_share;
            const Dataset& set = classification ? class_only : dataset;
            cv::Mat image;
            const std::size_t key_offset = classification ? dataset.images.size() : 0;
            const std::size_t i = unreadable.draw_readable(set.images.size(), rng, key_offset, [&](std::size_t k) {
                image = load_image(set.images[k].image_path);
            });
            const LabeledImage& item = set.images[i];
            b.paths[slot] = item.image_path;
            b.truths[slot] = augment_detection(image, item.boxes, size.width, size.height, options.augment, rng,
                                               b.images.data() + per_image * slot);
            if (classification) {
                b.truths[slot].clear();
                b.image_classes[slot] = item.image_class;
            }
        }
        return b;
    }
};

DetectionLoader::DetectionLoader(Dataset dataset, LoaderOptions options, Dataset class_only) {
    if (dataset.images.empty()) throw Error("data loader: the dataset has no images");
    if (!(options.class_share >= 0 && options.class_share < 1))
        throw Error("data loader: class_share must be in [0, 1) (some detection images are needed), got " +
                    std::to_string(options.class_share));
    for (const LabeledImage& item : class_only.images)
        if (item.image_class < 0 || !item.boxes.empty())
            throw Error("data loader: " + item.image_path +
                        ": a classification-only image needs an image class and no boxes");
    if (options.batch <= 0) throw Error("data loader: batch must be positive");
    check_thread_count(options.threads, "data loader:");
    if (options.prefetch <= 0) throw Error("data loader: prefetch must be positive");
    if (options.first_batch < 0) throw Error("data loader: first_batch must not be negative");
    if (options.step_slots.passes_per_step <= 0 || options.step_slots.first_image < 0)
        throw Error("data loader: passes_per_step must be positive and first_image not negative");
    state_ = std::make_unique<State>(std::move(dataset), std::move(class_only), std::move(options));
    const LoaderOptions& o = state_->options;
    state_->queue.emplace([s = state_.get()](std::int64_t index) { return s->make_batch(index); }, o.threads,
                          o.prefetch, o.first_batch);
}

DetectionLoader::~DetectionLoader() = default;

DetectionBatch DetectionLoader::next() { return state_->queue->next(); }

DetectionBatch DetectionLoader::make_batch(std::int64_t index) const { return state_->make_batch(index); }

std::size_t DetectionLoader::failed_images() const { return state_->unreadable.count(); }

std::vector<std::string> DetectionLoader::warnings() const { return state_->unreadable.warnings(); }

const Dataset& DetectionLoader::dataset() const { return state_->dataset; }

}  // namespace yolo9k
