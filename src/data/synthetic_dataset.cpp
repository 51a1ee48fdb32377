#include "data/synthetic_dataset.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <random>
#include <sstream>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <pugixml.hpp>

#include "core/atomic_file.h"
#include "core/error.h"

namespace yolo9k {
namespace fs = std::filesystem;

namespace {

enum ShapeClass { kDisc, kSquare, kTriangle, kStar, kCross, kClassCount };

// Objects of an image are placed so each stays at least this visible (occlusion by later
// objects, cut by the border); below kDifficultBelow it is labelled difficult.
constexpr double kMinVisible = 0.35;
constexpr double kDifficultBelow = 0.5;
constexpr int kPlacementTries = 12;

// splitmix64: decorrelates (seed, index) into a generator seed.
uint64_t mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

class Random {
public:
    explicit Random(uint64_t seed) : engine_(seed) {}
    double uniform(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(engine_); }
    int integer(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(engine_); }  // [lo, hi]
    bool chance(double p) { return uniform(0, 1) < p; }
    cv::Vec3b colour() { return {uchar(integer(0, 255)), uchar(integer(0, 255)), uchar(integer(0, 255))}; }
    std::mt19937_64& engine() { return engine_; }

private:
    std::mt19937_64 engine_;
};

double luminance(const cv::Vec3b& c) { return 0.114 * c[0] + 0.587 * c[1] + 0.299 * c[2]; }

// A colour of hue `hue` (degrees) ± `spread`, saturation and value drawn from [lo, hi].
cv::Vec3b colour_of_hue(Random& rng, double hue, double spread, double v_lo, double v_hi) {
    double h = std::fmod(hue + rng.uniform(-spread, spread) + 360.0, 360.0);
    cv::Mat hsv(1, 1, CV_32FC3, cv::Scalar(h, rng.uniform(0.55, 1.0), rng.uniform(v_lo, v_hi))), bgr;
    cv::cvtColor(hsv, bgr, cv::COLOR_HSV2BGR);
    const cv::Vec3f c = bgr.at<cv::Vec3f>(0, 0);
    return {cv::saturate_cast<uchar>(c[0] * 255), cv::saturate_cast<uchar>(c[1] * 255), cv::saturate_cast<uchar>(c[2] * 255)};
}

// A colour whose luminance differs from `other` by at least `contrast`.
cv::Vec3b contrasting_colour(Random& rng, double other, double contrast) {
    cv::Vec3b c = rng.colour();
    for (int i = 0; i < 20 && std::abs(luminance(c) - other) < contrast; ++i) c = rng.colour();
    return c;
}

// The class's outline in local coordinates, inside [-1, 1]^2.
std::vector<cv::Point2d> unit_outline(int shape) {
    std::vector<cv::Point2d> p;
    switch (shape) {
        case kDisc:
            for (int i = 0; i < 64; ++i) {
                const double a = 2 * std::numbers::pi * i / 64;
                p.push_back({std::cos(a), std::sin(a)});
            }
            break;
        case kSquare: p = {{-1, -1}, {1, -1}, {1, 1}, {-1, 1}}; break;
        case kTriangle:
            for (int i = 0; i < 3; ++i) {
                const double a = -std::numbers::pi / 2 + 2 * std::numbers::pi * i / 3;
                p.push_back({std::cos(a), std::sin(a)});
            }
            break;
        case kStar:
            for (int i = 0; i < 10; ++i) {
                const double a = -std::numbers::pi / 2 + std::numbers::pi * i / 5, r = i % 2 ? 0.45 : 1.0;
                p.push_back({r * std::cos(a), r * std::sin(a)});
            }
            break;
        case kCross: {
            const double w = 0.35;  // half the arm width
            p = {{-w, -1}, {w, -1}, {w, -w}, {1, -w}, {1, w}, {w, w}, {w, 1}, {-w, 1}, {-w, w}, {-1, w}, {-1, -w}, {-w, -w}};
            break;
        }
    }
    return p;
}

// Texture value in [0, 1] at local coordinates (u, v): which of the object's two colours.
// Patterns live in the object's own frame, so they rotate and stretch with it.
float texture(int shape, double u, double v, double frequency, uint64_t salt) {
    switch (shape) {
        case kDisc: {  // concentric rings
            const double r = std::sqrt(u * u + v * v) * frequency;
            return r - std::floor(r) < 0.5 ? 0.f : 1.f;
        }
        case kSquare: {  // stripes
            const double s = u * frequency;
            return s - std::floor(s) < 0.5 ? 0.f : 1.f;
        }
        case kTriangle: {  // checkerboard
            const long a = long(std::floor(u * frequency)), b = long(std::floor(v * frequency));
            return (a + b) & 1 ? 1.f : 0.f;
        }
        case kStar: {  // speckled: sparse random flecks on a plain body
            const uint64_t cell = mix(salt ^ (uint64_t(long(std::floor(u * 14)) + 64) << 8) ^ uint64_t(long(std::floor(v * 14)) + 64));
            return (cell & 0xff) < 56 ? 1.f : 0.f;
        }
        case kCross: {  // dots on a lattice
            const double du = u * frequency - std::floor(u * frequency) - 0.5,
                         dv = v * frequency - std::floor(v * frequency) - 0.5;
            return du * du + dv * dv < 0.09 ? 1.f : 0.f;
        }
    }
    return 0.f;
}

// One object's pose and its rasterised coverage (0-255, anti-aliased) inside `roi`.
struct PlacedObject {
    int shape = 0;
    cv::Point2d centre;
    double half_w = 0, half_h = 0, angle = 0;  // local [-1, 1] → ±half_w, ±half_h, then rotated
    double frequency = 3;
    cv::Vec3b colour_a, colour_b;
    uint64_t salt = 0;
    std::vector<cv::Point2d> outline;  // image coordinates
    cv::Rect roi;                      // outline's bounding box inside the image
    cv::Mat coverage;                  // CV_8U, roi-sized
    double full_area = 0;              // outline area, unclipped
};

cv::Point2d to_image(const PlacedObject& o, cv::Point2d local) {
    const double c = std::cos(o.angle), s = std::sin(o.angle);
    const double x = local.x * o.half_w, y = local.y * o.half_h;
    return {o.centre.x + c * x - s * y, o.centre.y + s * x + c * y};
}

cv::Point2d to_local(const PlacedObject& o, cv::Point2d image) {
    const double c = std::cos(o.angle), s = std::sin(o.angle);
    const double dx = image.x - o.centre.x, dy = image.y - o.centre.y;
    return {(c * dx + s * dy) / o.half_w, (-s * dx + c * dy) / o.half_h};
}

// Draws the pose; false when the object would fall (almost) outside the image.
bool place(PlacedObject& o, Random& rng, const SyntheticOptions& opt, int width, int height) {
    const double shorter = std::min(width, height);
    // Log-uniform size, so small objects are as common as large ones.
    const double size = shorter * std::exp(rng.uniform(std::log(opt.min_object_size), std::log(opt.max_object_size)));
    const double aspect = std::exp(rng.uniform(std::log(0.65), std::log(1.0 / 0.65)));
    o.half_w = size / 2 * std::min(1.0, aspect);
    o.half_h = size / 2 * std::min(1.0, 1.0 / aspect);
    o.angle = rng.uniform(0, 2 * std::numbers::pi);
    o.centre = {rng.uniform(0, width), rng.uniform(0, height)};
    o.frequency = rng.uniform(2.0, 3.5);
    o.salt = rng.engine()();
    o.outline.clear();
    for (const cv::Point2d& p : unit_outline(o.shape)) o.outline.push_back(to_image(o, p));
    std::vector<cv::Point2f> as_float(o.outline.begin(), o.outline.end());
    o.full_area = cv::contourArea(as_float);
    const cv::Rect bounds = cv::boundingRect(as_float);
    o.roi = (bounds + cv::Size(2, 2)) & cv::Rect(0, 0, width, height);
    if (o.roi.area() == 0 || o.full_area < 16) return false;
    // Sub-pixel rasterisation (4 fractional bits), anti-aliased edges.
    constexpr int kShift = 4;
    std::vector<cv::Point> fixed;
    for (const cv::Point2d& p : o.outline)
        fixed.emplace_back(int(std::lround((p.x - o.roi.x) * (1 << kShift))), int(std::lround((p.y - o.roi.y) * (1 << kShift))));
    o.coverage = cv::Mat::zeros(o.roi.size(), CV_8U);
    cv::fillPoly(o.coverage, std::vector<std::vector<cv::Point>>{fixed}, cv::Scalar(255), cv::LINE_AA, kShift);
    return true;
}

// Pixels of `o` that are inside the image and owned by it in `owner` (the topmost object).
double owned_pixels(const PlacedObject& o, const cv::Mat& owner, int id) {
    return double(cv::countNonZero(owner(o.roi) == id));
}

void draw_background(cv::Mat& img, Random& rng) {
    const cv::Vec3b a = rng.colour(), b = rng.colour();
    const double angle = rng.uniform(0, 2 * std::numbers::pi), c = std::cos(angle), s = std::sin(angle);
    const double norm = std::abs(c) * img.cols + std::abs(s) * img.rows;
    // Low-frequency noise: a small random image blown up smoothly.
    cv::Mat blobs(rng.integer(3, 8), rng.integer(3, 8), CV_32F);
    for (int y = 0; y < blobs.rows; ++y)
        for (int x = 0; x < blobs.cols; ++x) blobs.at<float>(y, x) = float(rng.uniform(-40, 40));
    cv::resize(blobs, blobs, img.size(), 0, 0, cv::INTER_CUBIC);
    for (int y = 0; y < img.rows; ++y)
        for (int x = 0; x < img.cols; ++x) {
            double t = ((x - img.cols / 2.0) * c + (y - img.rows / 2.0) * s) / norm + 0.5;
            t = std::clamp(t, 0.0, 1.0);
            cv::Vec3b& p = img.at<cv::Vec3b>(y, x);
            for (int k = 0; k < 3; ++k) p[k] = cv::saturate_cast<uchar>(a[k] * (1 - t) + b[k] * t + blobs.at<float>(y, x));
        }
    // Clutter: lines, outlines and filled blobs that belong to no class.
    const int shorter = std::min(img.cols, img.rows);
    const int lines = rng.integer(4, 14);
    for (int i = 0; i < lines; ++i)
        cv::line(img, {rng.integer(0, img.cols), rng.integer(0, img.rows)}, {rng.integer(0, img.cols), rng.integer(0, img.rows)},
                 cv::Scalar(rng.colour()), rng.integer(1, 3), cv::LINE_AA);
    const int outlines = rng.integer(0, 4);
    for (int i = 0; i < outlines; ++i)
        cv::ellipse(img, cv::Point(rng.integer(0, img.cols), rng.integer(0, img.rows)),
                    cv::Size(rng.integer(4, shorter / 4), rng.integer(4, shorter / 4)), rng.uniform(0, 180), 0,
                    rng.uniform(90, 360), cv::Scalar(rng.colour()), rng.integer(1, 2), cv::LINE_AA);
    const int blobs_count = rng.integer(1, 5);
    for (int i = 0; i < blobs_count; ++i) {
        const cv::Point2d centre(rng.uniform(0, img.cols), rng.uniform(0, img.rows));
        const double radius = shorter * rng.uniform(0.03, 0.15);
        const int vertices = rng.integer(7, 12);
        std::vector<cv::Point> poly;
        for (int v = 0; v < vertices; ++v) {
            // Rounded, not spiky: clutter should not pass for a star.
            const double a = 2 * std::numbers::pi * (v + rng.uniform(-0.3, 0.3)) / vertices, r = radius * rng.uniform(0.75, 1.0);
            poly.emplace_back(int(centre.x + r * std::cos(a)), int(centre.y + r * std::sin(a)));
        }
        cv::fillPoly(img, std::vector<std::vector<cv::Point>>{poly}, cv::Scalar(rng.colour()), cv::LINE_AA);
    }
}

void draw_object(cv::Mat& img, const PlacedObject& o) {
    for (int y = 0; y < o.roi.height; ++y)
        for (int x = 0; x < o.roi.width; ++x) {
            const uchar cover = o.coverage.at<uchar>(y, x);
            if (cover == 0) continue;
            const cv::Point2d local = to_local(o, {o.roi.x + x + 0.5, o.roi.y + y + 0.5});
            const float t = texture(o.shape, local.x, local.y, o.frequency, o.salt);
            const float alpha = cover / 255.f;
            cv::Vec3b& p = img.at<cv::Vec3b>(o.roi.y + y, o.roi.x + x);
            for (int k = 0; k < 3; ++k) {
                const float colour = o.colour_a[k] * (1 - t) + o.colour_b[k] * t;
                p[k] = cv::saturate_cast<uchar>(p[k] * (1 - alpha) + colour * alpha);
            }
        }
}

void add_noise(cv::Mat& img, Random& rng) {
    if (rng.chance(0.3)) cv::GaussianBlur(img, img, cv::Size(3, 3), rng.uniform(0.3, 1.0));
    cv::Mat noise(img.size(), CV_16SC3);
    // Seeded from the image's own generator (cv::randn would use OpenCV's global one).
    cv::RNG pixel_rng(rng.engine()());
    const double sigma = rng.uniform(2, 12);
    pixel_rng.fill(noise, cv::RNG::NORMAL, 0, sigma);
    cv::Mat wide;
    img.convertTo(wide, CV_16SC3);
    wide += noise;
    wide.convertTo(img, CV_8UC3);  // saturating
}

// The VOC box (1-based pixels, as the devkit's XML) of an outline, clipped to the image.
struct PixelBox {
    int xmin, ymin, xmax, ymax;
};
PixelBox voc_box(const std::vector<cv::Point2d>& outline, int width, int height) {
    double x0 = 1e9, y0 = 1e9, x1 = -1e9, y1 = -1e9;
    for (const cv::Point2d& p : outline) {
        x0 = std::min(x0, p.x), y0 = std::min(y0, p.y), x1 = std::max(x1, p.x), y1 = std::max(y1, p.y);
    }
    auto clampi = [](double v, int hi) { return std::clamp(int(std::lround(v)), 1, hi); };
    return {clampi(x0 + 1, width), clampi(y0 + 1, height), clampi(x1 + 1, width), clampi(y1 + 1, height)};
}

// The same conversion as darknet's voc_label.py (and our VOC reader).
TruthBox truth_of(const PixelBox& b, int width, int height, int class_id, bool difficult) {
    TruthBox t;
    t.class_id = class_id;
    t.x = float(((b.xmin + b.xmax) / 2.0 - 1) / width);
    t.y = float(((b.ymin + b.ymax) / 2.0 - 1) / height);
    t.w = float(double(b.xmax - b.xmin) / width);
    t.h = float(double(b.ymax - b.ymin) / height);
    t.difficult = difficult;
    return t;
}

struct DrawnImage {
    SyntheticImage image;
    std::vector<PixelBox> pixel_boxes;  // parallel to image.boxes
};

DrawnImage draw(const SyntheticOptions& opt, int index) {
    Random rng(mix(mix(opt.seed) ^ uint64_t(index)));
    const int width = rng.integer(opt.min_width, opt.max_width), height = rng.integer(opt.min_height, opt.max_height);
    cv::Mat img(height, width, CV_8UC3);
    draw_background(img, rng);

    // Plan the objects first: each new one is kept only if every object stays visible enough.
    cv::Mat owner(height, width, CV_16S, cv::Scalar(-1));
    std::vector<PlacedObject> objects;
    const int wanted = rng.integer(opt.min_objects, opt.max_objects);
    for (int n = 0; n < wanted; ++n) {
        PlacedObject o;
        o.shape = rng.integer(0, kClassCount - 1);
        for (int attempt = 0; attempt < kPlacementTries; ++attempt) {
            if (!place(o, rng, opt, width, height)) continue;
            cv::Mat trial = owner.clone();
            trial(o.roi).setTo(int(objects.size()), o.coverage > 127);
            bool visible = owned_pixels(o, trial, int(objects.size())) >= 0.6 * o.full_area;
            for (size_t i = 0; visible && i < objects.size(); ++i)
                visible = owned_pixels(objects[i], trial, int(i)) >= kMinVisible * objects[i].full_area;
            if (!visible) continue;
            owner = trial;
            const cv::Scalar under = cv::mean(img(o.roi));
            if (opt.palette == SyntheticPalette::per_class) {
                // The class's own hue family: a bright and a dark shade, for the texture's two colours.
                const double hue = 360.0 * o.shape / int(kClassCount);
                o.colour_a = colour_of_hue(rng, hue, 15, 0.75, 1.0);
                o.colour_b = colour_of_hue(rng, hue, 15, 0.15, 0.4);
                if (rng.chance(0.5)) std::swap(o.colour_a, o.colour_b);
            } else {
                o.colour_a = contrasting_colour(rng, 0.114 * under[0] + 0.587 * under[1] + 0.299 * under[2], 50);
                o.colour_b = contrasting_colour(rng, luminance(o.colour_a), 70);
            }
            objects.push_back(std::move(o));
            break;
        }
    }
    DrawnImage out;
    for (size_t i = 0; i < objects.size(); ++i) {
        draw_object(img, objects[i]);
        const bool difficult = owned_pixels(objects[i], owner, int(i)) < kDifficultBelow * objects[i].full_area;
        const PixelBox b = voc_box(objects[i].outline, width, height);
        out.pixel_boxes.push_back(b);
        out.image.boxes.push_back(truth_of(b, width, height, objects[i].shape, difficult));
    }
    add_noise(img, rng);
    out.image.width = width;
    out.image.height = height;
    out.image.jpeg_quality = rng.integer(opt.min_jpeg_quality, opt.max_jpeg_quality);
    out.image.bgr.assign(img.data, img.data + img.total() * 3);
    return out;
}

std::string voc_xml(const std::string& id, const DrawnImage& d) {
    pugi::xml_document doc;
    pugi::xml_node ann = doc.append_child("annotation");
    ann.append_child("folder").text().set("JPEGImages");
    ann.append_child("filename").text().set((id + ".jpg").c_str());
    pugi::xml_node size = ann.append_child("size");
    size.append_child("width").text().set(d.image.width);
    size.append_child("height").text().set(d.image.height);
    size.append_child("depth").text().set(3);
    for (size_t i = 0; i < d.image.boxes.size(); ++i) {
        pugi::xml_node obj = ann.append_child("object");
        obj.append_child("name").text().set(synthetic_class_names()[d.image.boxes[i].class_id].c_str());
        obj.append_child("difficult").text().set(d.image.boxes[i].difficult ? 1 : 0);
        pugi::xml_node box = obj.append_child("bndbox");
        box.append_child("xmin").text().set(d.pixel_boxes[i].xmin);
        box.append_child("ymin").text().set(d.pixel_boxes[i].ymin);
        box.append_child("xmax").text().set(d.pixel_boxes[i].xmax);
        box.append_child("ymax").text().set(d.pixel_boxes[i].ymax);
    }
    std::ostringstream s;
    doc.save(s, "  ");
    return s.str();
}

// darknet's label lines; difficult objects left out, as darknet's voc_label.py does.
std::string darknet_labels(const SyntheticImage& image) {
    std::ostringstream s;
    s.precision(6);
    for (const TruthBox& b : image.boxes)
        if (!b.difficult) s << b.class_id << ' ' << b.x << ' ' << b.y << ' ' << b.w << ' ' << b.h << '\n';
    return s.str();
}

void write_bytes(const fs::path& path, const void* data, size_t size) {
    std::ofstream f(path, std::ios::binary);
    f.write(static_cast<const char*>(data), std::streamsize(size));
    if (!f) throw Error(path.string() + ": cannot write");
}

// What this generator writes under OUT; only these are removed by `overwrite`.
const std::vector<std::string>& written_entries() {
    static const std::vector<std::string> entries = {"Annotations", "JPEGImages", "ImageSets", "images", "labels",
                                                     "train.txt",   "valid.txt",  "test.txt",  "synth.names", "synth.data"};
    return entries;
}

void prepare_output(const SyntheticOptions& opt) {
    const fs::path out(opt.out);
    std::error_code ec;
    if (fs::exists(out, ec) && !fs::is_directory(out, ec)) throw Error(opt.out + ": exists and is not a folder");
    if (fs::is_directory(out, ec) && !fs::is_empty(out, ec)) {
        if (!opt.overwrite)
            throw Error(opt.out + ": folder is not empty (pass --overwrite to replace an earlier synthetic set)");
        for (const std::string& e : written_entries()) fs::remove_all(out / e, ec);
    }
    fs::create_directories(out, ec);
    if (ec) throw Error(opt.out + ": cannot create folder: " + ec.message());
}

void check_options(const SyntheticOptions& o) {
    auto require = [](bool ok, const std::string& what) {
        if (!ok) throw Error("synthetic dataset: " + what);
    };
    require(o.images > 0 && o.images <= 1000000, "images must be in 1..1000000");
    require(o.valid_fraction >= 0 && o.test_fraction >= 0 && o.valid_fraction + o.test_fraction < 1,
            "valid and test fractions must be >= 0 and leave some training images");
    require(o.min_width >= 32 && o.min_width <= o.max_width && o.max_width <= 4096, "widths must be in 32..4096, min <= max");
    require(o.min_height >= 32 && o.min_height <= o.max_height && o.max_height <= 4096, "heights must be in 32..4096, min <= max");
    require(o.min_objects >= 0 && o.min_objects <= o.max_objects && o.max_objects <= 50, "objects per image must be in 0..50, min <= max");
    require(o.min_object_size > 0.01f && o.min_object_size <= o.max_object_size && o.max_object_size <= 1.0f,
            "object sizes must be in (0.01, 1], min <= max");
    require(o.min_jpeg_quality >= 1 && o.min_jpeg_quality <= o.max_jpeg_quality && o.max_jpeg_quality <= 100,
            "JPEG quality must be in 1..100, min <= max");
}

}  // namespace

const std::vector<std::string>& synthetic_class_names() {
    static const std::vector<std::string> names = {"disc", "square", "triangle", "star", "cross"};
    return names;
}

SyntheticImage draw_synthetic_image(const SyntheticOptions& options, int index) {
    check_options(options);
    return draw(options, index).image;
}

SyntheticReport write_synthetic_dataset(const SyntheticOptions& opt, const std::function<void(int, int)>& progress) {
    check_options(opt);
    prepare_output(opt);
    const fs::path out(opt.out);
    const bool voc = opt.layout == SyntheticLayout::voc;

    // Contiguous blocks: every image is drawn independently, so blocks are as random as any split.
    const int n_test = int(std::lround(opt.images * double(opt.test_fraction)));
    const int n_valid = int(std::lround(opt.images * double(opt.valid_fraction)));
    const int n_train = opt.images - n_test - n_valid;
    const std::array<std::string, 3> split_names = {"train", voc ? "val" : "valid", "test"};
    auto split_of = [&](int i) { return i < n_train ? 0 : i < n_train + n_valid ? 1 : 2; };

    std::error_code ec;
    for (const std::string& s : split_names) {
        if (voc) break;
        fs::create_directories(out / "images" / s, ec);
        fs::create_directories(out / "labels" / s, ec);
    }
    if (voc) {
        fs::create_directories(out / "Annotations", ec);
        fs::create_directories(out / "JPEGImages", ec);
        fs::create_directories(out / "ImageSets" / "Main", ec);
    }
    if (ec) throw Error(opt.out + ": cannot create folders: " + ec.message());

    SyntheticReport report;
    report.out = opt.out;
    report.class_names = synthetic_class_names();
    for (const std::string& s : split_names)
        report.splits.push_back({s, 0, 0, 0, std::vector<size_t>(kClassCount, 0)});
    std::array<std::ostringstream, 3> lists;

    std::vector<std::string> errors(size_t(opt.images));
    std::vector<SyntheticImage> labels(size_t(opt.images));
    int done = 0;
#pragma omp parallel for schedule(dynamic, 4)
    for (int i = 0; i < opt.images; ++i) {
        try {
            char id[32];
            std::snprintf(id, sizeof id, "synth_%06d", i);
            DrawnImage d = draw(opt, i);
            std::vector<uchar> jpeg;
            const cv::Mat img(d.image.height, d.image.width, CV_8UC3, d.image.bgr.data());
            cv::imencode(".jpg", img, jpeg, {cv::IMWRITE_JPEG_QUALITY, d.image.jpeg_quality});
            const std::string split = split_names[size_t(split_of(i))];
            if (voc) {
                write_bytes(out / "JPEGImages" / (std::string(id) + ".jpg"), jpeg.data(), jpeg.size());
                const std::string xml = voc_xml(id, d);
                write_bytes(out / "Annotations" / (std::string(id) + ".xml"), xml.data(), xml.size());
            } else {
                write_bytes(out / "images" / split / (std::string(id) + ".jpg"), jpeg.data(), jpeg.size());
                const std::string text = darknet_labels(d.image);
                write_bytes(out / "labels" / split / (std::string(id) + ".txt"), text.data(), text.size());
            }
            d.image.bgr.clear();
            labels[size_t(i)] = std::move(d.image);
        } catch (const std::exception& e) {
            errors[size_t(i)] = e.what();
        }
#pragma omp critical(synthetic_progress)
        {
            ++done;
            if (progress) progress(done, opt.images);
        }
    }
    for (const std::string& e : errors)
        if (!e.empty()) throw Error(e);

    for (int i = 0; i < opt.images; ++i) {
        const int s = split_of(i);
        char id[32];
        std::snprintf(id, sizeof id, "synth_%06d", i);
        lists[size_t(s)] << (voc ? std::string(id) : "images/" + split_names[size_t(s)] + "/" + id + ".jpg") << '\n';
        SyntheticSplitReport& r = report.splits[size_t(s)];
        ++r.images;
        for (const TruthBox& b : labels[size_t(i)].boxes) {
            ++r.boxes;
            ++r.boxes_per_class[size_t(b.class_id)];
            if (b.difficult) ++r.difficult_boxes;
        }
    }
    std::string names;
    for (const std::string& n : report.class_names) names += n + "\n";
    report.names_path = (out / "synth.names").string();
    write_file_atomically(report.names_path, names);
    if (voc) {
        const fs::path main = out / "ImageSets" / "Main";
        for (size_t s = 0; s < 3; ++s) write_file_atomically((main / (split_names[s] + ".txt")).string(), lists[s].str());
        write_file_atomically((main / "trainval.txt").string(), lists[0].str() + lists[1].str());
    } else {
        for (size_t s = 0; s < 3; ++s) write_file_atomically((out / (split_names[s] + ".txt")).string(), lists[s].str());
        report.data_path = (out / "synth.data").string();
        write_file_atomically(report.data_path, "classes = " + std::to_string(kClassCount) +
                                                    "\ntrain = train.txt\nvalid = valid.txt\ntest = test.txt\n"
                                                    "names = synth.names\nbackup = backup\n");
    }
    return report;
}

}  // namespace yolo9k
