// The batches come from a PrefetchQueue (data/prefetch.h), as DetectionLoader's; unreadable
// images are tracked by UnreadableImages.
#include "data/classification_loader.h"

#include <algorithm>
#include <optional>

#include "core/error.h"
#include "core/limits.h"
#include "data/prefetch.h"
#include "data/unreadable_images.h"
#include "io/image_reader.h"

namespace yolo9k {

struct ClassificationLoader::State {
    State(ClassificationDataset dataset, ClassificationLoaderOptions options)
        : dataset(std::move(dataset)),
          options(options),
          unreadable(options.max_failed_images, options.quiet) {}

    ClassificationDataset dataset;
    ClassificationLoaderOptions options;
    UnreadableImages unreadable;
    std::optional<PrefetchQueue<ClassificationBatch>> queue;  // last: its workers stop first

    ClassificationBatch make_batch(std::int64_t index) {
        ClassificationBatch b;
        b.index = index;
        b.size = options.size;
        const size_t per_image = size_t(3) * options.size * options.size;
        b.images.resize(per_image * options.batch);
        for (int slot = 0; slot < options.batch; ++slot) {
            AugmentRng rng = step_slot_rng(options.seed, index, slot, options.batch, options.step_slots);
            const std::size_t i = unreadable.draw_readable(dataset.images.size(), rng, 0, [&](std::size_t k) {
                const cv::Mat image = load_image(dataset.images[k].path);
                augment_classification(image, options.size, options.augment, rng, b.images.data() + per_image * slot);
            });
            b.labels.push_back(dataset.images[i].label);
            b.paths.push_back(dataset.images[i].path);
        }
        return b;
    }
};

ClassificationLoader::ClassificationLoader(ClassificationDataset dataset, ClassificationLoaderOptions options) {
    if (dataset.images.empty()) throw Error("classification loader: the dataset has no images");
    if (options.threads != 0) check_thread_count(options.threads, "data loader:");
    if (options.batch <= 0 || options.size <= 0 || options.threads < 0)
        throw Error("classification loader: batch and size must be positive");
    if (options.step_slots.passes_per_step <= 0 || options.step_slots.first_image < 0)
        throw Error("classification loader: passes_per_step must be positive and first_image not negative");
    options.prefetch = std::max(options.prefetch, std::max(1, options.threads));
    state_ = std::make_unique<State>(std::move(dataset), options);
    state_->queue.emplace([s = state_.get()](std::int64_t index) { return s->make_batch(index); }, options.threads,
                          options.prefetch, options.first_batch);
}

ClassificationLoader::~ClassificationLoader() = default;

ClassificationBatch ClassificationLoader::next() { return state_->queue->next(); }

ClassificationBatch ClassificationLoader::make_batch(std::int64_t index) const { return state_->make_batch(index); }

std::size_t ClassificationLoader::failed_images() const { return state_->unreadable.count(); }

std::vector<std::string> ClassificationLoader::warnings() const { return state_->unreadable.warnings(); }

}  // namespace yolo9k
