#include "io/image_reader.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <system_error>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/error.h"
#include "core/limits.h"

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

struct Dimensions {
    std::uint64_t width = 0, height = 0;
};

std::uint32_t be16(const std::vector<std::uint8_t>& d, std::size_t at) { return (std::uint32_t(d[at]) << 8) | d[at + 1]; }
std::uint32_t le16(const std::vector<std::uint8_t>& d, std::size_t at) { return d[at] | (std::uint32_t(d[at + 1]) << 8); }
std::uint32_t be32(const std::vector<std::uint8_t>& d, std::size_t at) { return (be16(d, at) << 16) | be16(d, at + 2); }
std::uint32_t le32(const std::vector<std::uint8_t>& d, std::size_t at) { return le16(d, at) | (le16(d, at + 2) << 16); }

// The image size its header claims, read before decoding so that a small file claiming a huge
// image is refused instead of allocated. Empty when the header does not say plainly (the
// decoded size is checked afterwards in any case).
std::optional<Dimensions> header_dimensions(const std::vector<std::uint8_t>& d, Format f) {
    const std::size_t n = d.size();
    switch (f) {
        case Format::Jpeg: {
            std::size_t pos = 2;
            while (pos + 4 <= n && d[pos] == 0xFF) {
                const std::uint8_t m = d[pos + 1];
                if (m == 0xFF) { ++pos; continue; }
                if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) { pos += 2; continue; }
                const bool sof = m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
                if (sof) {
                    if (pos + 9 > n) return std::nullopt;
                    return Dimensions{be16(d, pos + 7), be16(d, pos + 5)};
                }
                if (m == 0xDA || m == 0xD9) return std::nullopt;
                pos += 2 + be16(d, pos + 2);
            }
            return std::nullopt;
        }
        case Format::Png:  // the first chunk must be IHDR; anything else is for the decoder to reject
            if (n < 24 || std::memcmp(d.data() + 12, "IHDR", 4) != 0) return std::nullopt;
            return Dimensions{be32(d, 16), be32(d, 20)};
        case Format::Bmp: {
            if (n < 26) return std::nullopt;
            // OpenCV's reader takes any header of 36 bytes or more as an info header (width
            // and height at 18 and 22), and 12 as the OS/2 core header.
            const std::uint32_t dib = le32(d, 14);
            if (dib != 12 && dib < 36) return std::nullopt;
            if (le32(d, 14) == 12) return Dimensions{le16(d, 18), le16(d, 20)};  // OS/2 core header
            const auto h = static_cast<std::int32_t>(le32(d, 22));              // negative: top-down
            return Dimensions{le32(d, 18), std::uint64_t(h < 0 ? -std::int64_t(h) : h)};
        }
        case Format::Webp: {
            if (n < 30) return std::nullopt;
            if (d[12] == 'V' && d[13] == 'P' && d[14] == '8' && d[15] == ' ')
                return Dimensions{le16(d, 26) & 0x3FFFu, le16(d, 28) & 0x3FFFu};
            if (d[12] == 'V' && d[13] == 'P' && d[14] == '8' && d[15] == 'L') {
                const std::uint32_t bits = le32(d, 21);
                return Dimensions{(bits & 0x3FFFu) + 1, ((bits >> 14) & 0x3FFFu) + 1};
            }
            return std::nullopt;  // VP8X never gets here: webp_decodable_by_opencv refuses it
        }
        case Format::Tiff: {  // the first image file directory's ImageWidth (256) and ImageLength (257)
            const bool little = d[0] == 'I';
            auto u16 = [&](std::size_t at) { return little ? le16(d, at) : be16(d, at); };
            auto u32 = [&](std::size_t at) { return little ? le32(d, at) : be32(d, at); };
            if (n < 8) return std::nullopt;
            const std::size_t ifd = u32(4);
            if (ifd + 2 > n) return std::nullopt;
            Dimensions dim;
            const std::size_t entries = u16(ifd);
            for (std::size_t e = 0; e < entries && ifd + 2 + 12 * (e + 1) <= n; ++e) {
                const std::size_t at = ifd + 2 + 12 * e;
                const std::uint32_t tag = u16(at), type = u16(at + 2);
                const std::uint64_t value = type == 3 ? u16(at + 8) : u32(at + 8);
                if (tag == 256) dim.width = value;
                if (tag == 257) dim.height = value;
            }
            if (dim.width && dim.height) return dim;
            return std::nullopt;
        }
        default: return std::nullopt;
    }
}

// OpenCV hands a file to its WebP decoder only when libwebp's header parse of the first 32
// bytes succeeds; otherwise it tries its other decoders, among them GDCM and GDAL, which
// assert or write temporary files on garbage. So a "WebP" must pass the same checks here:
// a simple lossy (VP8) or lossless (VP8L) file. Extended files (VP8X: alpha, animation,
// metadata) fail libwebp's 32-byte parse too, so OpenCV 4.6 cannot read them either.
bool webp_decodable_by_opencv(const std::vector<std::uint8_t>& d) {
    if (d.size() < 32) return false;
    const std::uint32_t riff = le32(d, 4), chunk = le32(d, 16);
    if (riff < 12 || riff > 0xFFFFFFF6u || chunk > riff - 12) return false;
    if (std::memcmp(d.data() + 12, "VP8 ", 4) == 0) {
        const std::uint32_t tag = d[20] | (std::uint32_t(d[21]) << 8) | (std::uint32_t(d[22]) << 16);
        const bool key_frame = !(tag & 1), known_profile = ((tag >> 1) & 7) <= 3, shown = (tag >> 4) & 1;
        const bool start_code = d[23] == 0x9D && d[24] == 0x01 && d[25] == 0x2A;
        return key_frame && known_profile && shown && (tag >> 5) < chunk && start_code && (le16(d, 26) & 0x3FFF) &&
               (le16(d, 28) & 0x3FFF);
    }
    if (std::memcmp(d.data() + 12, "VP8L", 4) == 0) return d[20] == 0x2F && (d[24] >> 5) == 0;
    return false;
}

void check_pixels(std::uint64_t width, std::uint64_t height, const std::string& name, const char* how) {
    const std::uint64_t max = limits().max_image_pixels;
    if (width * height > max || width > (1u << 30) || height > (1u << 30))
        throw ImageTooLarge(name + ": " + how + " " + std::to_string(width) + "x" + std::to_string(height) + " pixels, over the " +
                    std::to_string(max) + "-pixel limit (raise it with --max-image-pixels, in megapixels)");
}

}  // namespace

cv::Mat to_bgr8(const cv::Mat& m) {
    if (m.type() == CV_8UC3) return m;
    cv::Mat out;
    if (m.depth() != CV_8U) {
        m.convertTo(out, CV_8U, m.depth() == CV_16U ? 1.0 / 257 : 1.0);
        return to_bgr8(out);
    }
    if (m.channels() == 1) cv::cvtColor(m, out, cv::COLOR_GRAY2BGR);
    else if (m.channels() == 4) cv::cvtColor(m, out, cv::COLOR_BGRA2BGR);
    else throw Error("unsupported frame with " + std::to_string(m.channels()) + " channels");
    return out;
}

cv::Mat decode_image(const std::vector<std::uint8_t>& bytes, const std::string& name) {
    if (bytes.empty()) throw Error(name + ": empty file, " + kDecodable);
    const Format f = sniff(bytes);
    if (f == Format::Jpeg && jpeg_end(bytes) == JpegEnd::Truncated)
        throw Error(name + ": truncated JPEG (the file ends before the end-of-image marker)");
    // Only formats whose header we can size are handed to a decoder: OpenCV would also take
    // PPM, Sun raster and others, and allocate whatever their headers claim.
    if (f == Format::Unknown) throw Error(name + ": " + kDecodable);
    if (f == Format::Webp && !webp_decodable_by_opencv(bytes))
        throw Error(name + ": a WebP file this reader cannot decode (damaged, or an extended VP8X file: alpha, "
                           "animation or metadata); simple lossy and lossless WebP are supported");
    // A header whose size we cannot read is not handed to a decoder either: the decoder might
    // read a size from it that we did not check, and allocate it.
    const std::optional<Dimensions> dim = header_dimensions(bytes, f);
    if (!dim)
        throw Error(name + ": " + kDecodable + "; it starts like a " + format_name(f) +
                    " but its header does not give the image size");
    check_pixels(dim->width, dim->height, name, "the header claims");
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
    check_pixels(std::uint64_t(img.cols), std::uint64_t(img.rows), name, "decoded to");
    return to_bgr8(img);
}

cv::Mat load_image(const std::string& path) {
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (!fs::exists(st)) throw Error(path + ": no such file");
    if (fs::is_directory(st)) throw Error(path + ": is a directory, not an image");
    // A FIFO or device would block the read or never end.
    if (!fs::is_regular_file(st)) throw Error(path + ": not a regular file (a pipe, socket or device), not an image");
    const std::uintmax_t size = fs::file_size(path, ec);
    if (ec) throw Error(path + ": cannot read (" + ec.message() + ")");
    if (size > limits().max_file_bytes)
        throw Error(path + ": " + std::to_string(size) + " bytes, over the " + std::to_string(limits().max_file_bytes) +
                    "-byte limit for an image file (raise it with --max-file-mb)");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot read (" + std::strerror(errno) + ")");
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
    if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(size)))
        throw Error(path + ": read error after " + std::to_string(in.gcount()) + " bytes");
    return decode_image(bytes, path);
}

}  // namespace yolo9k
