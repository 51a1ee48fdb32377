#include "io/image_reader.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "core/error.h"

namespace yolo9k {

namespace fs = std::filesystem;

namespace {

const char* const kDecodable = "not a decodable image (expected JPEG, PNG, BMP, TIFF or WebP)";

enum class Format { Unknown, Jpeg, Png, Bmp, Tiff, Webp };

Format sniff(const std::vector<std::uint8_t>& b) {
    auto starts = [&](std::initializer_list<int> sig, std::size_t at = 0) {
        if (b.size() < at + sig.size()) return false;
        std::size_t i = at;
        for (int v : sig)
            if (b[i++] != v) return false;
        return true;
    };
    if (starts({0xFF, 0xD8, 0xFF})) return Format::Jpeg;
    if (starts({0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A})) return Format::Png;
    if (starts({'B', 'M'})) return Format::Bmp;
    if (starts({'I', 'I', 42, 0}) || starts({'M', 'M', 0, 42})) return Format::Tiff;
    if (starts({'R', 'I', 'F', 'F'}) && starts({'W', 'E', 'B', 'P'}, 8)) return Format::Webp;
    return Format::Unknown;
}

const char* format_name(Format f) {
    switch (f) {
        case Format::Jpeg: return "JPEG";
        case Format::Png: return "PNG";
        case Format::Bmp: return "BMP";
        case Format::Tiff: return "TIFF";
        case Format::Webp: return "WebP";
        default: return "";
    }
}

enum class JpegEnd { Complete, Truncated, Unclear };

// libjpeg decodes a cut-off JPEG "successfully" (the missing part comes out grey) with only a
// warning, so walk the marker structure to the end-of-image marker ourselves. Anything odd
// that is not plainly a short file is left to the decoder to judge.
JpegEnd jpeg_end(const std::vector<std::uint8_t>& d) {
    const std::size_t n = d.size();
    std::size_t pos = 2;  // after SOI
    while (pos + 2 <= n) {
        if (d[pos] != 0xFF) return JpegEnd::Unclear;
        const std::uint8_t marker = d[pos + 1];
        if (marker == 0xFF) {  // fill byte
            ++pos;
            continue;
        }
        if (marker == 0xD9) return JpegEnd::Complete;
        if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {  // no length field
            pos += 2;
            continue;
        }
        if (pos + 4 > n) return JpegEnd::Truncated;
        const std::size_t len = (static_cast<std::size_t>(d[pos + 2]) << 8) | d[pos + 3];
        if (len < 2) return JpegEnd::Unclear;
        pos += 2 + len;
        if (pos > n) return JpegEnd::Truncated;
        if (marker == 0xDA) {
            // Entropy-coded data: a 0xFF is followed by 0x00 (stuffing), a restart marker or
            // fill; anything else is the next marker.
            while (pos + 1 < n) {
                if (d[pos] == 0xFF) {
                    const std::uint8_t next = d[pos + 1];
                    if (next != 0x00 && next != 0xFF && !(next >= 0xD0 && next <= 0xD7)) break;
                }
                ++pos;
            }
            if (pos + 1 >= n) return JpegEnd::Truncated;
        }
    }
    return JpegEnd::Truncated;
}

cv::Mat to_bgr(const cv::Mat& m) {
    if (m.type() == CV_8UC3) return m;
    cv::Mat out;
    if (m.depth() != CV_8U) {
        m.convertTo(out, CV_8U, m.depth() == CV_16U ? 1.0 / 257 : 1.0);
        return to_bgr(out);
    }
    if (m.channels() == 1) cv::cvtColor(m, out, cv::COLOR_GRAY2BGR);
    else if (m.channels() == 4) cv::cvtColor(m, out, cv::COLOR_BGRA2BGR);
    else throw Error("unsupported frame with " + std::to_string(m.channels()) + " channels");
    return out;
}

}  // namespace

cv::Mat decode_image(const std::vector<std::uint8_t>& bytes, const std::string& name) {
    if (bytes.empty()) throw Error(name + ": empty file, " + kDecodable);
    const Format f = sniff(bytes);
    if (f == Format::Jpeg && jpeg_end(bytes) == JpegEnd::Truncated)
        throw Error(name + ": truncated JPEG (the file ends before the end-of-image marker)");
    cv::Mat img;
    try {
        // IMREAD_COLOR: 8-bit BGR whatever the file holds, with EXIF orientation applied, as
        // darknet's imread-based loader sees it.
        img = cv::imdecode(bytes, cv::IMREAD_COLOR);
    } catch (const cv::Exception& e) {
        throw Error(name + ": " + kDecodable + " (decoder: " + e.what() + ")");
    }
    if (img.empty() || img.cols < 1 || img.rows < 1) {
        if (f != Format::Unknown)
            throw Error(name + ": " + kDecodable + "; it starts like a " + format_name(f) +
                        " but is damaged or unsupported");
        throw Error(name + ": " + kDecodable);
    }
    return to_bgr(img);
}

cv::Mat load_image(const std::string& path) {
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (!fs::exists(st)) throw Error(path + ": no such file");
    if (fs::is_directory(st)) throw Error(path + ": is a directory, not an image");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot read (" + std::strerror(errno) + ")");
    in.seekg(0, std::ios::end);
    const std::streamoff size = in.tellg();
    in.seekg(0, std::ios::beg);
    if (size < 0) throw Error(path + ": cannot read (not a regular file?)");
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
    if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size))
        throw Error(path + ": read error after " + std::to_string(in.gcount()) + " bytes");
    return decode_image(bytes, path);
}

// ---------------------------------------------------------------------------------------------

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
    frame.image = to_bgr(img);
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
    writer_->write(to_bgr(frame));
    ++written_;
}

void VideoSink::close() {
    if (writer_) {
        writer_->release();
        writer_.reset();
    }
}

}  // namespace yolo9k
