// yolo9k::FrameStream: a ring of recent frames' JSON lines and the newest annotated JPEG,
// served to chunked HTTP replies by cpp-httplib's workers (one per open stream).
#include "yolo9k/frame_stream.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "yolo9k/error.h"

namespace yolo9k {

namespace {

constexpr const char* kBoundary = "yolo9kframe";
// How often an idle stream wakes to notice a stop or a finish it was not notified of.
constexpr auto kIdleWake = std::chrono::milliseconds(200);
// What one write to a client carries at most: a lagging client catches up in pieces.
constexpr std::size_t kMaxWriteBytes = std::size_t(1) << 20;

constexpr const char* kPage = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>yolo9k detect stream</title>
<style>body{font:14px system-ui,sans-serif;margin:16px}img{max-width:100%;display:block;margin-bottom:8px}
pre{background:#f4f4f4;padding:8px;white-space:pre-wrap}</style></head>
<body><h1>yolo9k detect stream</h1><img src="/mjpeg" alt="annotated frames">
<p id="status">Waiting for frames…</p><pre id="line"></pre>
<script>
"use strict";
(async () => {
  const reply = await fetch("/stream");
  if (!reply.ok) { document.getElementById("status").textContent = `${reply.status}: ${(await reply.json()).error}`; return; }
  const reader = reply.body.getReader(), text = new TextDecoder();
  let pending = "";
  for (;;) {
    const {value, done} = await reader.read();
    if (done) { document.getElementById("status").textContent = "The input has ended."; break; }
    pending += text.decode(value, {stream: true});
    const lines = pending.split("\n");
    pending = lines.pop();
    if (lines.length) {
      const frame = JSON.parse(lines[lines.length - 1]);
      document.getElementById("status").textContent = `frame ${frame.frame}: ${frame.detections.length} detections`;
      document.getElementById("line").textContent = JSON.stringify(frame, null, 2);
    }
  }
})();
</script></body></html>
)HTML";

void reply_error(httplib::Response& res, int status, const std::string& message) {
    res.status = status;
    res.set_content(nlohmann::json{{"error", message}, {"status", status}}.dump(-1, ' ', false,
                                                                                nlohmann::json::error_handler_t::replace),
                    "application/json");
}

void reply_full(httplib::Response& res, int max_clients) {
    res.set_header("Retry-After", "5");
    reply_error(res, 503, "stream: all " + std::to_string(max_clients) + " stream slots are taken");
}

}  // namespace

struct FrameStream::Impl {
    FrameStreamOptions options;
    httplib::Server http;
    std::thread listener;
    int bound_port = 0;

    mutable std::mutex mutex;
    std::condition_variable changed;
    std::deque<std::pair<std::int64_t, std::string>> ring;  // (sequence number, JSON line)
    std::size_t ring_bytes = 0;
    std::int64_t next_seq = 0;                              // of the next published frame
    std::shared_ptr<const std::string> jpeg;                // the newest annotated frame
    std::int64_t jpeg_seq = -1;
    int open_streams = 0, mjpeg_viewers = 0;
    bool finished = false, stopping = false;

    explicit Impl(FrameStreamOptions o) : options(std::move(o)) {
        if (options.port < 0 || options.port > 65535)
            throw Error("stream: port " + std::to_string(options.port) + ": expected 0..65535");
        if (options.max_clients < 1 || options.max_clients > 256) throw Error("stream: max clients must be in 1..256");
        if (options.ring_frames < 1 || options.ring_frames > 100000) throw Error("stream: ring must hold 1..100000 frames");
        if (options.jpeg_quality < 1 || options.jpeg_quality > 100) throw Error("stream: JPEG quality must be in 1..100");
        routes();
    }

    // A stream slot and the sequence number the client starts at (the next frame: live), or
    // nothing when all slots are taken. One lock, so no frame published meanwhile is lost.
    std::optional<std::int64_t> admit(bool mjpeg) {
        std::lock_guard lock(mutex);
        if (open_streams >= options.max_clients || stopping) return std::nullopt;
        ++open_streams;
        if (mjpeg) ++mjpeg_viewers;
        changed.notify_all();
        return next_seq;
    }

    void release(bool mjpeg) {
        std::lock_guard lock(mutex);
        --open_streams;
        if (mjpeg) --mjpeg_viewers;
        changed.notify_all();
    }

    // Waits for something to send; returns false when the reply should end.
    template <class Ready>
    bool wait(std::unique_lock<std::mutex>& lock, Ready ready) {
        changed.wait_for(lock, kIdleWake, [&] { return stopping || finished || ready(); });
        return !stopping;
    }

    void routes() {
        http.Get("/", [](const httplib::Request&, httplib::Response& res) {
            res.set_content(kPage, "text/html; charset=utf-8");
        });
        http.Get("/stream", [this](const httplib::Request& req, httplib::Response& res) {
            if (req.method == "HEAD") return res.set_header("Content-Type", "application/x-ndjson");  // not a client
            const std::optional<std::int64_t> start = admit(false);
            if (!start) return reply_full(res, options.max_clients);
            auto position = std::make_shared<std::int64_t>(*start);
            res.set_header("Cache-Control", "no-store");
            res.set_chunked_content_provider(
                "application/x-ndjson",
                [this, position](std::size_t, httplib::DataSink& sink) {
                    std::unique_lock lock(mutex);
                    if (!wait(lock, [&] { return next_seq > *position; })) return false;
                    if (next_seq > *position) {
                        if (ring.empty()) return true;
                        *position = std::max(*position, ring.front().first);  // a whole ring behind: skip ahead
                        std::string out;
                        for (const auto& [seq, line] : ring) {
                            if (seq < *position) continue;
                            if (!out.empty() && out.size() + line.size() > kMaxWriteBytes) break;
                            out += line + "\n";
                            *position = seq + 1;
                        }
                        lock.unlock();
                        return sink.write(out.data(), out.size());
                    }
                    if (finished) {
                        lock.unlock();
                        sink.done();
                    }
                    return true;
                },
                [this](bool) { release(false); });
        });
        http.Get("/mjpeg", [this](const httplib::Request& req, httplib::Response& res) {
            if (req.method == "HEAD") return res.set_header("Content-Type", std::string("multipart/x-mixed-replace; boundary=") + kBoundary);
            if (!admit(true)) return reply_full(res, options.max_clients);
            auto shown = std::make_shared<std::int64_t>(-1);
            res.set_header("Cache-Control", "no-store");
            res.set_chunked_content_provider(
                std::string("multipart/x-mixed-replace; boundary=") + kBoundary,
                [this, shown](std::size_t, httplib::DataSink& sink) {
                    std::unique_lock lock(mutex);
                    if (!wait(lock, [&] { return jpeg_seq > *shown; })) return false;
                    if (jpeg && jpeg_seq > *shown) {
                        std::shared_ptr<const std::string> frame = jpeg;  // the newest only
                        *shown = jpeg_seq;
                        lock.unlock();
                        const std::string head = std::string("--") + kBoundary + "\r\nContent-Type: image/jpeg\r\nContent-Length: " +
                                                 std::to_string(frame->size()) + "\r\n\r\n";
                        return sink.write(head.data(), head.size()) && sink.write(frame->data(), frame->size()) &&
                               sink.write("\r\n", 2);
                    }
                    if (finished) {
                        lock.unlock();
                        const std::string end = std::string("--") + kBoundary + "--\r\n";
                        if (!sink.write(end.data(), end.size())) return false;
                        sink.done();
                    }
                    return true;
                },
                [this](bool) { release(true); });
        });
        http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
            if (res.body.empty()) reply_error(res, res.status, res.status == 404 ? "no such endpoint: " + req.path + " (expected /, /stream or /mjpeg)"
                                                                                  : "HTTP error " + std::to_string(res.status));
        });
        http.set_tcp_nodelay(true);
        http.set_read_timeout(5, 0);
        http.set_write_timeout(5, 0);  // a client that stops reading is dropped after this
        // One request per connection: an idle keep-alive connection (a browser that loaded the
        // page) would otherwise hold a worker, and delay stop(), for seconds.
        http.set_keep_alive_max_count(1);
        const int workers = options.max_clients + 8;  // each open stream holds one
        http.new_task_queue = [workers] { return new httplib::ThreadPool(std::size_t(workers)); };
    }

    void stop() {
        {
            std::lock_guard lock(mutex);
            stopping = true;
            changed.notify_all();
        }
        if (listener.joinable()) {
            http.stop();
            listener.join();
        }
    }
};

FrameStream::FrameStream(FrameStreamOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

FrameStream::~FrameStream() {
    try {
        finish(std::chrono::milliseconds(0));
    } catch (...) {
    }
}

void FrameStream::start() {
    Impl& s = *impl_;
    if (s.listener.joinable()) throw Error("stream: already started");
    s.bound_port = s.options.port == 0 ? s.http.bind_to_any_port(s.options.host)
                                       : (s.http.bind_to_port(s.options.host, s.options.port) ? s.options.port : -1);
    if (s.bound_port <= 0)
        throw Error("stream: cannot listen on " + s.options.host + ":" + std::to_string(s.options.port) +
                    " (in use, or not an address of this machine)");
    s.listener = std::thread([&s] { s.http.listen_after_bind(); });
    for (int i = 0; i < 5000 && !s.http.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (!s.http.is_running()) {
        s.http.stop();
        s.listener.join();
        throw Error("stream: the server on " + s.options.host + ":" + std::to_string(s.bound_port) + " did not start");
    }
}

int FrameStream::port() const { return impl_->bound_port; }

bool FrameStream::wait_for_client(std::chrono::milliseconds timeout) {
    std::unique_lock lock(impl_->mutex);
    return impl_->changed.wait_for(lock, timeout, [this] { return impl_->open_streams > 0; });
}

int FrameStream::clients() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->open_streams;
}

void FrameStream::publish(const ImageDetections& detections, std::int64_t frame, double time_s, const cv::Mat& annotated) {
    Impl& s = *impl_;
    bool encode = false;
    std::int64_t seq = 0;
    {
        std::lock_guard lock(s.mutex);
        if (s.finished) throw Error("stream: publish() after finish()");
        // Clients start at the next frame, so with none open nothing needs the line.
        if (s.open_streams == 0) {
            ++s.next_seq;
            return;
        }
        encode = s.mjpeg_viewers > 0 && !annotated.empty();
        seq = s.next_seq;
    }
    nlohmann::json line = nlohmann::json::parse(to_json_text(detections));
    line["frame"] = frame;
    line["time_s"] = time_s;
    line["seq"] = seq;
    std::string text = line.dump();
    std::shared_ptr<const std::string> jpeg;
    if (encode) {
        std::vector<std::uint8_t> bytes;
        if (!cv::imencode(".jpg", annotated, bytes, {cv::IMWRITE_JPEG_QUALITY, s.options.jpeg_quality}))
            throw Error("stream: cannot encode frame " + std::to_string(frame) + " as JPEG");
        jpeg = std::make_shared<const std::string>(bytes.begin(), bytes.end());
    }
    std::lock_guard lock(s.mutex);
    if (s.finished) throw Error("stream: publish() after finish()");
    if (seq != s.next_seq) throw Error("stream: publish() called from two threads at once");
    s.ring_bytes += text.size();
    s.ring.emplace_back(s.next_seq, std::move(text));
    while (s.ring.size() > 1 && (int(s.ring.size()) > s.options.ring_frames || s.ring_bytes > s.options.ring_bytes)) {
        s.ring_bytes -= s.ring.front().second.size();
        s.ring.pop_front();
    }
    if (jpeg) {
        s.jpeg = std::move(jpeg);
        s.jpeg_seq = s.next_seq;
    }
    ++s.next_seq;
    s.changed.notify_all();
}

void FrameStream::finish(std::chrono::milliseconds drain_timeout) {
    Impl& s = *impl_;
    {
        std::unique_lock lock(s.mutex);
        s.finished = true;
        s.changed.notify_all();
        s.changed.wait_for(lock, drain_timeout, [&s] { return s.open_streams == 0; });
    }
    s.stop();
}

}  // namespace yolo9k
