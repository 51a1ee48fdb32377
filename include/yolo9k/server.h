// An HTTP detection service over Detector (what `yolo9k serve` runs; link yolo9k::yolo9k_serve).
//
//   yolo9k::Server server({.models = {{.name = "voc", .cfg = "yolov2-voc.cfg",
//                                      .weights = "yolov2-voc.weights", .names = "voc.names"}}});
//   server.start();          // listening; models load and warm up in the background
//   server.wait_ready();     // throws the load error, if any
//   ... server.stop();       // drains the requests in flight
//
// Endpoints: GET / (a page to try it in a browser), POST /v1/detect and /v1/models/{name}/detect (an image body, or multipart with
// one file; query thresh, nms, hier), GET /v1/models, /healthz, /readyz, /metrics
// (Prometheus text). Concurrent requests for a model are gathered into one forward pass of up
// to max_batch images, or fewer once batch_wait_ms has passed since the first arrived.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace yolo9k {

struct ServedModel {
    std::string name;  // the {name} in /v1/models/{name}/detect
    std::string cfg, weights, names;
    int size = 0;  // input width = height; 0: the cfg's
    std::string calibration;  // with precision int8: `yolo9k calibrate`'s file for these weights
};

struct ServerOptions {
    std::vector<ServedModel> models;  // the first also answers POST /v1/detect
    std::string host = "127.0.0.1";
    int port = 8080;  // 0: any free port (port() tells which)
    // Dynamic batching: a forward pass takes up to max_batch queued requests, and waits at most
    // batch_wait_ms after the first for more to arrive. max_batch 1 turns batching off.
    int max_batch = 8;
    int batch_wait_ms = 5;
    int workers = 0;  // HTTP threads (receive, image decode, box decode, reply); 0: 4 x cores, at least 32 (a keep-alive connection holds one)
    int threads = 0;  // compute threads of each forward pass; 0: all cores
    std::size_t max_body_bytes = std::size_t(20) << 20;  // larger bodies get 413 (discarded unbuffered)
    int max_queue = 256;  // requests waiting per model beyond which new ones get 503
    float thresh = .5f, nms = .45f, hier = .5f;  // defaults for requests that give none
    std::string backend = "onednn";
    std::string precision = "f32";  // as DetectorOptions::precision
    int read_timeout_s = 10;  // a client that stalls mid-request is dropped after this
};

class Server {
public:
    explicit Server(ServerOptions options);
    ~Server();  // stops (draining) if still running
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Binds and starts serving on background threads; returns once listening. Throws Error if
    // the address cannot be bound or an option is out of range.
    void start();
    int port() const;
    // Blocks until every model is loaded and has run one warm-up forward (then /readyz is 200);
    // throws the Error that stopped a model from loading.
    void wait_ready();
    // Stops accepting connections, lets the requests in flight finish, then returns.
    void stop();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace yolo9k
