// yolo9k::Server: cpp-httplib's server, a ModelRunner per model, Prometheus metrics.
// A request's image is decoded, letterboxed and (after its forward pass) its boxes decoded
// on the HTTP worker that received it; only the forward pass runs on a model's compute thread.
#include "yolo9k/server.h"

#include <atomic>
#include <charconv>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <nlohmann/json.hpp>

#include "serve/metrics.h"
#include "serve/model_runner.h"
#include "serve/web_page.h"
#include "yolo9k/error.h"
#include "yolo9k/image.h"

namespace yolo9k {

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// A client's mistake or a server state, answered with this status and a JSON error.
struct HttpError {
    int status;
    std::string message;
};

// Debian's httplib listens with a backlog of 5, compiled into the library. When inference holds
// both cores, the acceptor thread lags, a burst of new connections (wrk reconnecting at
// concurrency 16) overflows the accept queue (the kernel's ListenOverflows counter rises) and a
// client can see its connection reset. listen() again on the bound socket raises the backlog.
void widen_listen_backlog(int port) {
    for (int fd = 3; fd < 4096; ++fd) {
        int listening = 0;
        socklen_t size = sizeof listening;
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) != 0 || !listening) continue;
        sockaddr_storage address{};
        socklen_t address_size = sizeof address;
        if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &address_size) != 0) continue;
        int bound = -1;
        if (address.ss_family == AF_INET) bound = ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
        if (address.ss_family == AF_INET6) bound = ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
        if (bound == port) ::listen(fd, SOMAXCONN);
    }
}

void reply_json(httplib::Response& res, int status, const json& body) {
    res.status = status;
    // Error messages quote the request (a Content-Type, a model name), whose bytes need not be
    // UTF-8: replace those (U+FFFD) rather than let the JSON writer throw.
    res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void reply_error(httplib::Response& res, int status, const std::string& message) {
    reply_json(res, status, {{"error", message}, {"status", status}});
}

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// thresh / nms / hier from the query string: a number in [0, 1], or absent.
std::optional<float> threshold_param(const httplib::Request& req, const char* key) {
    if (!req.has_param(key)) return std::nullopt;
    const std::string text = req.get_param_value(key);
    float v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || !(v >= 0 && v <= 1))
        throw HttpError{400, std::string("query parameter ") + key + "='" + text + "': expected a number in [0, 1]"};
    return v;
}

bool is_image_type(const std::string& content_type) {
    const std::string type = content_type.substr(0, content_type.find(';'));
    return type == "image/jpeg" || type == "image/png" || type == "image/bmp" || type == "image/x-ms-bmp" ||
           type == "application/octet-stream";
}

const char* kImageTypes = "image/jpeg, image/png, image/bmp (or multipart/form-data with one such file)";

// The uploaded image's bytes and a name for messages: the body, or the multipart file.
std::pair<const std::string*, std::string> uploaded_image(const httplib::Request& req) {
    if (req.is_multipart_form_data()) {
        if (req.files.empty()) throw HttpError{400, "multipart body has no file (expected one image)"};
        const auto& part = req.has_file("image") ? req.files.find("image")->second : req.files.begin()->second;
        if (!part.content_type.empty() && !is_image_type(part.content_type))
            throw HttpError{415, "multipart file '" + part.name + "' has Content-Type " + part.content_type +
                                     " (expected " + kImageTypes + ")"};
        return {&part.content, part.filename.empty() ? "multipart file '" + part.name + "'" : part.filename};
    }
    const std::string type = req.get_header_value("Content-Type");
    if (!is_image_type(type))
        throw HttpError{415, "Content-Type " + (type.empty() ? std::string("missing") : "'" + type + "'") +
                                 " (expected " + kImageTypes + ")"};
    if (req.body.empty()) throw HttpError{400, "empty body (expected an image)"};
    return {&req.body, "request body"};
}

}  // namespace

struct Server::Impl {
    ServerOptions options;
    httplib::Server http;
    std::mutex compute;  // one forward pass at a time across models
    std::unique_ptr<serve::Metrics> metrics;
    std::map<std::string, std::unique_ptr<serve::ModelRunner>> runners;  // filled by the loader
    std::vector<std::string> model_names;
    std::atomic<bool> ready{false}, draining{false};
    std::promise<void> loaded;
    std::shared_future<void> loaded_future = loaded.get_future().share();
    std::thread listener, loader;
    int bound_port = 0;

    explicit Impl(ServerOptions o) : options(std::move(o)) {
        if (options.models.empty()) throw Error("serve: no model given (expected --cfg/--weights or --model)");
        for (const ServedModel& m : options.models) {
            if (m.name.empty() || m.name.find_first_of("/?#% ") != std::string::npos)
                throw Error("serve: model name '" + m.name + "': expected a non-empty name without / ? # % or spaces");
            for (const std::string& n : model_names)
                if (n == m.name) throw Error("serve: two models are named '" + m.name + "'");
            model_names.push_back(m.name);
        }
        if (options.max_batch < 1 || options.max_batch > 64) throw Error("serve: max batch must be in 1..64");
        if (options.batch_wait_ms < 0 || options.batch_wait_ms > 10000)
            throw Error("serve: batch wait must be in 0..10000 ms");
        if (options.max_queue < 1) throw Error("serve: max queue must be at least 1");
        if (options.workers < 0 || options.workers > 1024) throw Error("serve: workers must be in 0..1024");
        metrics = std::make_unique<serve::Metrics>(model_names);
        routes();
    }

    serve::ModelRunner* runner(const std::string& name) {
        if (!ready) return nullptr;
        const auto it = runners.find(name);
        return it == runners.end() ? nullptr : it->second.get();
    }

    void load_models() {
        try {
            for (const ServedModel& m : options.models) {
                serve::BatchingOptions b{.max_batch = options.max_batch,
                                         .wait = std::chrono::milliseconds(options.batch_wait_ms),
                                         .max_queue = options.max_queue,
                                         .threads = options.threads,
                                         .backend = options.backend,
                                         .precision = options.precision,
                                         .thresh = options.thresh,
                                         .nms = options.nms,
                                         .hier = options.hier,
                                         .on_batch = [this, name = m.name](int n) { metrics->observe_batch(name, n); }};
                runners[m.name] = std::make_unique<serve::ModelRunner>(m, b, compute);
            }
            ready = true;
            loaded.set_value();
        } catch (...) {
            loaded.set_exception(std::current_exception());
        }
    }

    void detect(const httplib::Request& req, httplib::Response& res, const std::string& model) {
        const auto start = Clock::now();
        if (draining) throw HttpError{503, "the server is shutting down"};
        serve::ModelRunner* r = runner(model);
        if (!r) {
            if (!ready) throw HttpError{503, "the models are still loading (see /readyz)"};
            throw HttpError{404, "no model named '" + model + "' (GET /v1/models lists them)"};
        }
        const DetectThresholds thresholds{threshold_param(req, "thresh"), threshold_param(req, "nms"),
                                          threshold_param(req, "hier")};
        const auto [bytes, name] = uploaded_image(req);
        cv::Mat image;
        try {
            image = decode_image(std::vector<std::uint8_t>(bytes->begin(), bytes->end()), name);
        } catch (const ImageTooLarge& e) {
            throw HttpError{413, e.what()};
        } catch (const Error& e) {
            throw HttpError{400, e.what()};
        }
        const double decode_ms = ms_since(start);
        auto prepared = std::make_shared<Detector::PreparedImage>(r->detector().prepare(image));
        std::future<serve::InferenceResult> pending;
        try {
            pending = r->submit(prepared);
        } catch (const serve::ModelRunner::QueueFull&) {
            res.set_header("Retry-After", "1");
            throw HttpError{503, "model '" + model + "' has " + std::to_string(options.max_queue) +
                                     " requests waiting; try again"};
        }
        serve::InferenceResult result = pending.get();
        const auto post_start = Clock::now();
        ImageDetections found{name, image.cols, image.rows, r->detector().decode(result.output, *prepared, thresholds)};
        json body = json::parse(to_json_text(found));
        body["model"] = model;
        body["batch_size"] = result.batch_size;
        body["timing_ms"] = {{"image_decode", decode_ms},
                             {"queue", result.queue_ms},
                             {"inference", result.infer_ms},
                             {"postprocess", ms_since(post_start)},
                             {"total", ms_since(start)}};
        metrics->observe_detect(model, ms_since(start) / 1000);
        reply_json(res, 200, body);
    }

    json models_json() {
        json list = json::array();
        for (const ServedModel& m : options.models) {
            json entry{{"name", m.name}, {"cfg", m.cfg}, {"weights", m.weights}, {"precision", options.precision},
                       {"backend", options.backend}, {"ready", bool(ready)}};
            if (serve::ModelRunner* r = runner(m.name)) {
                const Detector& d = r->detector();
                entry["classes"] = d.classes();
                entry["class_names"] = d.class_names();
                entry["input_width"] = d.input_width();
                entry["input_height"] = d.input_height();
                entry["batch_sizes"] = r->batch_sizes();
            }
            list.push_back(entry);
        }
        return {{"models", list}, {"max_batch", options.max_batch}, {"batch_wait_ms", options.batch_wait_ms}};
    }

    // Wraps a handler: HttpError and yolo9k::Error become JSON errors; counted by endpoint.
    httplib::Server::Handler handler(const std::string& endpoint,
                                     std::function<void(const httplib::Request&, httplib::Response&)> body) {
        return [this, endpoint, body = std::move(body)](const httplib::Request& req, httplib::Response& res) {
            try {
                body(req, res);
            } catch (const HttpError& e) {
                reply_error(res, e.status, e.message);
            } catch (const Error& e) {
                reply_error(res, 500, e.what());
            } catch (const std::exception& e) {
                reply_error(res, 500, std::string("internal error: ") + e.what());
            }
            metrics->count_request(endpoint, res.status);
        };
    }

    httplib::Server::Handler method_not_allowed(const std::string& endpoint, const char* allowed) {
        return handler(endpoint, [allowed](const httplib::Request& req, httplib::Response& res) {
            res.set_header("Allow", allowed);
            throw HttpError{405, req.method + " is not allowed here (expected " + allowed + ")"};
        });
    }

    void routes() {
        const std::string model_detect = R"(/v1/models/([^/]+)/detect)";
        http.Post("/v1/detect", handler("detect", [this](const auto& req, auto& res) {
                      detect(req, res, options.models.front().name);
                  }));
        http.Post(model_detect, handler("detect", [this](const auto& req, auto& res) {
                      detect(req, res, req.matches[1].str());
                  }));
        http.Get("/", handler("page", [](const auto&, auto& res) {
                     res.set_content(std::string(serve::web_page_html()), "text/html; charset=utf-8");
                 }));
        http.Get("/v1/models", handler("models", [this](const auto&, auto& res) { reply_json(res, 200, models_json()); }));
        http.Get("/healthz", handler("healthz", [](const auto&, auto& res) { reply_json(res, 200, {{"status", "ok"}}); }));
        http.Get("/readyz", handler("readyz", [this](const auto&, auto& res) {
                     const bool ok = ready && !draining;
                     reply_json(res, ok ? 200 : 503,
                                {{"ready", ok}, {"status", draining ? "draining" : ready ? "ready" : "loading"}});
                 }));
        http.Get("/metrics", handler("metrics", [this](const auto&, auto& res) {
                     res.set_content(metrics->text([this](const std::string& m) {
                         serve::ModelRunner* r = runner(m);
                         return r ? r->queue_depth() : 0;
                     }),
                                     "text/plain; version=0.0.4");
                 }));
        for (const std::string& path : {std::string("/v1/detect"), model_detect}) {
            http.Get(path, method_not_allowed("detect", "POST"));
            http.Put(path, method_not_allowed("detect", "POST"));
            http.Patch(path, method_not_allowed("detect", "POST"));
            http.Delete(path, method_not_allowed("detect", "POST"));
        }
        for (const char* path : {"/", "/v1/models", "/healthz", "/readyz", "/metrics"}) {
            http.Post(path, method_not_allowed("other", "GET"));
            http.Put(path, method_not_allowed("other", "GET"));
            http.Patch(path, method_not_allowed("other", "GET"));
            http.Delete(path, method_not_allowed("other", "GET"));
        }
        // What httplib answers itself (no route: 404; a body over the limit: 413; a bad
        // request line or header: 400) gets the same JSON error shape.
        http.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
            if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;  // ours already
            std::string message = "HTTP error " + std::to_string(res.status);
            if (res.status == 400) message = "malformed request";
            if (res.status == 404) message = "no such endpoint: " + req.method + " " + req.path;
            if (res.status == 413)
                message = "body over the " + std::to_string(options.max_body_bytes) + "-byte limit (--max-body)";
            if (res.status == 414) message = "request URI too long";
            reply_error(res, res.status, message);
            metrics->count_request("other", res.status);
            return httplib::Server::HandlerResponse::Handled;
        }));
        // Replies go out at once: with Nagle's algorithm a small reply waits for the client's
        // delayed ACK (about 40 ms on Linux), which doubled latency at low concurrency.
        http.set_tcp_nodelay(true);
        http.set_payload_max_length(options.max_body_bytes);
        http.set_read_timeout(options.read_timeout_s, 0);
        http.set_write_timeout(options.read_timeout_s, 0);
        const int workers = options.workers > 0
                                ? options.workers
                                : std::max(32, 4 * int(std::max(1u, std::thread::hardware_concurrency())));
        http.new_task_queue = [workers] { return new httplib::ThreadPool(size_t(workers)); };
    }
};

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Server::~Server() {
    try {
        stop();
    } catch (...) {
    }
}

void Server::start() {
    Impl& s = *impl_;
    if (s.listener.joinable()) throw Error("serve: already started");
    if (s.options.port < 0 || s.options.port > 65535)
        throw Error("serve: port " + std::to_string(s.options.port) + ": expected 0..65535");
    if (s.options.port == 0) {
        s.bound_port = s.http.bind_to_any_port(s.options.host);
        if (s.bound_port < 0) s.bound_port = 0;
    } else {
        s.bound_port = s.http.bind_to_port(s.options.host, s.options.port) ? s.options.port : 0;
    }
    if (s.bound_port <= 0)
        throw Error("serve: cannot listen on " + s.options.host + ":" + std::to_string(s.options.port) +
                    " (in use, or not an address of this machine)");
    widen_listen_backlog(s.bound_port);
    s.listener = std::thread([&s] { s.http.listen_after_bind(); });
    // stop() only reaches a server that is running: wait until it is (a few ms).
    for (int i = 0; i < 5000 && !s.http.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    s.loader = std::thread([&s] { s.load_models(); });
}

int Server::port() const { return impl_->bound_port; }

void Server::wait_ready() {
    if (!impl_->loader.joinable()) throw Error("serve: wait_ready() before start()");
    impl_->loaded_future.get();  // rethrows the load error
}

void Server::stop() {
    Impl& s = *impl_;
    s.draining = true;
    // httplib stops accepting, lets each worker finish the request it is in, then joins them;
    // the requests in flight still need their models, which are stopped after.
    if (s.listener.joinable()) {
        s.http.stop();
        s.listener.join();
    }
    if (s.loader.joinable()) s.loader.join();
    s.runners.clear();  // each finishes its queue first
}

}  // namespace yolo9k
