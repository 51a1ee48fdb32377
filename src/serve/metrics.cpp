#include "serve/metrics.h"

#include <prometheus/text_serializer.h>

namespace yolo9k::serve {

Metrics::Metrics(const std::vector<std::string>& models)
    : registry_(std::make_shared<prometheus::Registry>()),
      requests_(prometheus::BuildCounter()
                    .Name("yolo9k_http_requests_total")
                    .Help("HTTP requests by endpoint and status code")
                    .Register(*registry_)),
      latency_(prometheus::BuildHistogram()
                   .Name("yolo9k_detect_duration_seconds")
                   .Help("Detect requests: from the body received to the reply ready")
                   .Register(*registry_)),
      batch_(prometheus::BuildHistogram()
                 .Name("yolo9k_batch_size")
                 .Help("Images per forward pass (dynamic batching)")
                 .Register(*registry_)),
      queue_(prometheus::BuildGauge()
                 .Name("yolo9k_queue_depth")
                 .Help("Images waiting for a forward pass")
                 .Register(*registry_)) {
    const prometheus::Histogram::BucketBoundaries seconds{.002, .005, .01, .02, .05, .1, .2, .5, 1, 2, 5, 10};
    const prometheus::Histogram::BucketBoundaries sizes{1, 2, 4, 8, 16, 32, 64};
    for (const std::string& m : models) {
        latency_by_model_[m] = &latency_.Add({{"model", m}}, seconds);
        batch_by_model_[m] = &batch_.Add({{"model", m}}, sizes);
        queue_by_model_[m] = &queue_.Add({{"model", m}});
    }
}

void Metrics::count_request(const std::string& endpoint, int status) {
    requests_.Add({{"endpoint", endpoint}, {"code", std::to_string(status)}}).Increment();
}

void Metrics::observe_detect(const std::string& model, double seconds) { latency_by_model_.at(model)->Observe(seconds); }

void Metrics::observe_batch(const std::string& model, int size) { batch_by_model_.at(model)->Observe(size); }

std::string Metrics::text(const std::function<int(const std::string&)>& queue_depth) {
    for (auto& [model, gauge] : queue_by_model_) gauge->Set(queue_depth(model));
    return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace yolo9k::serve
