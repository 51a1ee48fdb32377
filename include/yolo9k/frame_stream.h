// Live results of a video or camera over HTTP (what `yolo9k detect --stream-port` runs; link
// yolo9k::yolo9k_serve):
//   GET /stream  newline-delimited JSON (application/x-ndjson), one complete object per frame:
//                detect --json's object plus "frame" and "time_s" (the input's own) and "seq"
//                (published frames, counted across inputs). Any client can read the frames as
//                they come, and the reply ends when the input does.
//   GET /mjpeg   the annotated frames as MJPEG (multipart/x-mixed-replace), for a browser <img>
//   GET /        a page showing both
// Publishing never waits for a client: each keeps its place in a ring of recent frames, and a
// client that falls a whole ring behind skips ahead (the "seq" numbers show the gap). The
// MJPEG view always sends the newest frame. With no client open, publish() does no work.
//
//   yolo9k::FrameStream stream({.port = 8090});
//   stream.start();
//   for (each frame) stream.publish(detections, frame_index, time_s, annotated_image);
//   stream.finish();  // the replies end once each client has read what was published
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <opencv2/core.hpp>

#include "yolo9k/detection.h"

namespace yolo9k {

struct FrameStreamOptions {
    std::string host = "127.0.0.1";
    int port = 8090;       // 0: any free port (port() tells which)
    int max_clients = 16;  // streams open at once; more get 503
    int ring_frames = 256; // frames a slow /stream client may lag before it skips ahead
    std::size_t ring_bytes = std::size_t(16) << 20;  // ...and at most this many bytes of them
    int jpeg_quality = 80; // of the /mjpeg frames
};

class FrameStream {
public:
    explicit FrameStream(FrameStreamOptions options);
    ~FrameStream();  // finishes and stops
    FrameStream(const FrameStream&) = delete;
    FrameStream& operator=(const FrameStream&) = delete;

    // Binds and serves on background threads; throws Error if the address cannot be bound.
    void start();
    int port() const;
    // Blocks until a client has opened /stream or /mjpeg, or the timeout passes (false).
    bool wait_for_client(std::chrono::milliseconds timeout);
    int clients() const;  // streams open now (a caller may skip drawing frames while 0)

    // One frame's detections, and its annotated image (JPEG-encoded only while an /mjpeg
    // client is watching; empty: none).
    void publish(const ImageDetections& detections, std::int64_t frame, double time_s, const cv::Mat& annotated);
    // No more frames: each /stream reply ends after its client has read the published frames
    // (waiting at most drain_timeout for slow clients), then the server stops.
    void finish(std::chrono::milliseconds drain_timeout = std::chrono::seconds(5));

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace yolo9k
