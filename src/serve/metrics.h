// The server's Prometheus metrics (prometheus-cpp's registry and text format): requests by
// endpoint and status code, detect latency, batch sizes and queue depth per model. Labels
// take only fixed endpoint names and the configured models, so a client cannot grow them.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace yolo9k::serve {

class Metrics {
public:
    explicit Metrics(const std::vector<std::string>& models);

    void count_request(const std::string& endpoint, int status);
    void observe_detect(const std::string& model, double seconds);
    void observe_batch(const std::string& model, int size);
    // The Prometheus text exposition, with each model's queue depth read now.
    std::string text(const std::function<int(const std::string&)>& queue_depth);

private:
    std::shared_ptr<prometheus::Registry> registry_;
    prometheus::Family<prometheus::Counter>& requests_;
    prometheus::Family<prometheus::Histogram>& latency_;
    prometheus::Family<prometheus::Histogram>& batch_;
    prometheus::Family<prometheus::Gauge>& queue_;
    std::map<std::string, prometheus::Histogram*> latency_by_model_, batch_by_model_;
    std::map<std::string, prometheus::Gauge*> queue_by_model_;
};

}  // namespace yolo9k::serve
