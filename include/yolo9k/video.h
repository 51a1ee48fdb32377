// Reading and writing video files and cameras, with errors that name the file. A library
// of its own (link yolo9k::yolo9k_video), so only programs that use video load
// OpenCV's videoio.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <opencv2/core.hpp>

namespace cv {
class VideoCapture;
class VideoWriter;
}  // namespace cv

namespace yolo9k {

struct VideoFrame {
    cv::Mat image;          // 8-bit BGR
    std::int64_t index = 0; // 0-based frame number
    double time_s = 0;      // index / fps (0 when fps is unknown)
};

// Frames of a video file or a camera.
class VideoSource {
public:
    explicit VideoSource(const std::string& path);  // throws "PATH: cannot open video ..."
    explicit VideoSource(int camera);               // throws "camera N: cannot open ..."
    ~VideoSource();
    VideoSource(VideoSource&&) noexcept;
    VideoSource& operator=(VideoSource&&) noexcept;

    // Next frame; false at the end of the stream.
    bool read(VideoFrame& frame);

    double fps() const;                // 0 when the container does not say
    std::int64_t frame_count() const;  // -1 when unknown (cameras, some containers)
    int width() const;
    int height() const;
    const std::string& name() const { return name_; }

private:
    std::unique_ptr<cv::VideoCapture> cap_;
    std::string name_;
    std::int64_t next_ = 0;
    double fps_ = 0;
};

// Writes BGR frames to a video file: mp4v, falling back to MJPG when the backend lacks it.
class VideoSink {
public:
    VideoSink(const std::string& path, double fps, cv::Size size);  // throws naming the file
    ~VideoSink();
    VideoSink(VideoSink&&) noexcept;
    VideoSink& operator=(VideoSink&&) noexcept;

    // Frames must have the size given at construction (gray/BGRA are converted).
    void write(const cv::Mat& frame);
    void close();  // finishes the file; also done by the destructor

    const std::string& path() const { return path_; }
    const std::string& codec() const { return codec_; }  // "mp4v" or "MJPG"
    std::int64_t frames_written() const { return written_; }

private:
    std::unique_ptr<cv::VideoWriter> writer_;
    std::string path_;
    std::string codec_;
    cv::Size size_;
    std::int64_t written_ = 0;
};

}  // namespace yolo9k
