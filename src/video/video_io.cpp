#include "yolo9k/video.h"

#include <cmath>
#include <filesystem>
#include <system_error>

#include <opencv2/videoio.hpp>

#include "core/error.h"
#include "io/image_reader.h"

namespace yolo9k {

namespace fs = std::filesystem;

VideoSource::VideoSource(const std::string& path) : name_(path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) throw Error(path + ": no such file");
    cap_ = std::make_unique<cv::VideoCapture>();
    try {
        cap_->open(path, cv::CAP_ANY);
    } catch (const cv::Exception& e) {
        throw Error(path + ": cannot open video (" + e.what() + ")");
    }
    if (!cap_->isOpened()) throw Error(path + ": cannot open video (unsupported container or codec)");
    const double fps = cap_->get(cv::CAP_PROP_FPS);
    fps_ = std::isfinite(fps) && fps > 0 && fps < 1000 ? fps : 0;
}

VideoSource::VideoSource(int camera) : name_("camera " + std::to_string(camera)) {
    cap_ = std::make_unique<cv::VideoCapture>();
    try {
        cap_->open(camera);
    } catch (const cv::Exception& e) {
        throw Error(name_ + ": cannot open (" + e.what() + ")");
    }
    if (!cap_->isOpened()) throw Error(name_ + ": cannot open (no such device, or it is busy)");
    const double fps = cap_->get(cv::CAP_PROP_FPS);
    fps_ = std::isfinite(fps) && fps > 0 && fps < 1000 ? fps : 0;
}

VideoSource::~VideoSource() = default;
VideoSource::VideoSource(VideoSource&&) noexcept = default;
VideoSource& VideoSource::operator=(VideoSource&&) noexcept = default;

bool VideoSource::read(VideoFrame& frame) {
    if (!cap_) return false;
    cv::Mat img;
    if (!cap_->read(img) || img.empty()) return false;
    frame.image = to_bgr8(img);
    frame.index = next_++;
    frame.time_s = fps_ > 0 ? static_cast<double>(frame.index) / fps_ : 0.0;
    return true;
}

double VideoSource::fps() const { return fps_; }

std::int64_t VideoSource::frame_count() const {
    const double n = cap_ ? cap_->get(cv::CAP_PROP_FRAME_COUNT) : 0;
    return std::isfinite(n) && n > 0 ? static_cast<std::int64_t>(n) : -1;
}

int VideoSource::width() const { return cap_ ? static_cast<int>(cap_->get(cv::CAP_PROP_FRAME_WIDTH)) : 0; }
int VideoSource::height() const { return cap_ ? static_cast<int>(cap_->get(cv::CAP_PROP_FRAME_HEIGHT)) : 0; }

// ---------------------------------------------------------------------------------------------

VideoSink::VideoSink(const std::string& path, double fps, cv::Size size) : path_(path), size_(size) {
    if (!(fps > 0) || !std::isfinite(fps)) throw Error(path + ": invalid frame rate " + std::to_string(fps));
    if (size.width < 1 || size.height < 1)
        throw Error(path + ": invalid frame size " + std::to_string(size.width) + "x" + std::to_string(size.height));
    const fs::path parent = fs::path(path).parent_path();
    std::error_code ec;
    if (!parent.empty() && !fs::is_directory(parent, ec))
        throw Error(path + ": cannot write video, directory " + parent.string() + " does not exist");
    writer_ = std::make_unique<cv::VideoWriter>();
    for (const char* codec : {"mp4v", "MJPG"}) {
        try {
            const int fourcc = cv::VideoWriter::fourcc(codec[0], codec[1], codec[2], codec[3]);
            if (writer_->open(path, fourcc, fps, size, true)) {
                codec_ = codec;
                return;
            }
        } catch (const cv::Exception&) {
            // try the next codec
        }
    }
    writer_.reset();
    throw Error(path + ": cannot open video for writing (tried the mp4v and MJPG codecs)");
}

VideoSink::~VideoSink() {
    try {
        close();
    } catch (...) {
        // destructors must not throw; close() explicitly to see errors
    }
}
VideoSink::VideoSink(VideoSink&&) noexcept = default;
VideoSink& VideoSink::operator=(VideoSink&& other) noexcept {
    if (this != &other) {
        try {
            close();
        } catch (...) {
        }
        writer_ = std::move(other.writer_);
        path_ = std::move(other.path_);
        codec_ = std::move(other.codec_);
        size_ = other.size_;
        written_ = other.written_;
    }
    return *this;
}

void VideoSink::write(const cv::Mat& frame) {
    if (!writer_) throw Error(path_ + ": video is already closed");
    if (frame.cols != size_.width || frame.rows != size_.height)
        throw Error(path_ + ": frame is " + std::to_string(frame.cols) + "x" + std::to_string(frame.rows) +
                    " but the video is " + std::to_string(size_.width) + "x" + std::to_string(size_.height));
    writer_->write(to_bgr8(frame));
    ++written_;
}

void VideoSink::close() {
    if (writer_) {
        writer_->release();
        writer_.reset();
    }
}

}  // namespace yolo9k
