// Input expansion, image decoding errors and video round trips, in temporary folders.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/error.h"
#include "io/image_reader.h"
#include "yolo9k/inputs.h"
#include "yolo9k/video.h"

namespace {

using namespace yolo9k;
namespace fs = std::filesystem;

const char* kDog = "/usr/share/darknet/data/dog.jpg";

class TempDir {
public:
    TempDir() {
        std::random_device rd;
        path_ = fs::temp_directory_path() / ("yolo9k_io_" + std::to_string(::getpid()) + "_" + std::to_string(rd()));
        fs::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }
    std::string operator/(const std::string& name) const { return (path_ / name).string(); }

private:
    fs::path path_;
};

void write_file(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
}

std::vector<std::uint8_t> read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::vector<std::uint8_t>& b, std::size_t n) {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(n));
}

void write_png(const std::string& path, int w = 4, int h = 3) {
    ASSERT_TRUE(cv::imwrite(path, cv::Mat(h, w, CV_8UC3, cv::Scalar(1, 2, 3))));
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "<no error>";
}

TEST(IoInputs, DirectoryIsSortedAndFiltered) {
    TempDir d;
    for (const char* n : {"b.jpg", "a.PNG", "c.Tiff", "z.webp", "m.jpeg", "k.bmp", "t.tif"}) write_file(d / n, "x");
    for (const char* n : {"notes.txt", "clip.mp4", "noext", ".hidden.jpg", "._a.jpg"}) write_file(d / n, "x");
    fs::create_directory(d.path() / "sub.jpg");  // a folder named like an image
    write_file(d / "sub.jpg/inner.jpg", "x");     // not recursed into

    const auto s = expand_input(d.path().string());
    std::vector<std::string> names;
    for (const auto& src : s) {
        EXPECT_EQ(src.kind, SourceKind::Image);
        names.push_back(fs::path(src.path).filename().string());
    }
    EXPECT_EQ(names, (std::vector<std::string>{"a.PNG", "b.jpg", "c.Tiff", "k.bmp", "m.jpeg", "t.tif", "z.webp"}));
}

TEST(IoInputs, EmptyDirectoryIsAnError) {
    TempDir d;
    write_file(d / "readme.md", "x");
    const std::string msg = error_of([&] { expand_input(d.path().string()); });
    EXPECT_NE(msg.find(d.path().string() + ": no images found"), std::string::npos) << msg;
    EXPECT_NE(msg.find(".jpg"), std::string::npos) << msg;
    EXPECT_NE(msg.find(".png"), std::string::npos) << msg;
}

TEST(IoInputs, ListFileResolvesRelativePaths) {
    TempDir d;
    fs::create_directories(d.path() / "imgs");
    write_file(d / "imgs/one.jpg", "x");
    write_file(d / "two.png", "x");
    write_file(d / "clip.avi", "x");
    const std::string abs = d / "two.png";
    write_file(d / "list.txt", "# a comment\nimgs/one.jpg\n\n   \n" + abs + "\r\n  clip.avi  \n");

    // Relative entries resolve against the list's folder (not the working directory); absolute
    // ones stay; comments, blank lines, surrounding blanks and CR line ends are ignored.
    const auto s = expand_input(d / "list.txt");
    ASSERT_EQ(s.size(), 3u);
    EXPECT_EQ(s[0].kind, SourceKind::Image);
    EXPECT_TRUE(fs::equivalent(s[0].path, d / "imgs/one.jpg"));
    EXPECT_EQ(s[1].path, abs);
    EXPECT_EQ(s[2].kind, SourceKind::Video);
    EXPECT_TRUE(fs::equivalent(s[2].path, d / "clip.avi"));
}

TEST(IoInputs, ListFileMissingEntryNamesTheLine) {
    TempDir d;
    write_file(d / "ok.jpg", "x");
    write_file(d / "set.list", "ok.jpg\n# comment\n\nmissing.jpg\nok.jpg\n");
    const std::string msg = error_of([&] { expand_input(d / "set.list"); });
    EXPECT_NE(msg.find(d / "set.list" + ":4:"), std::string::npos) << msg;
    EXPECT_NE(msg.find("missing.jpg"), std::string::npos) << msg;

    write_file(d / "empty.txt", "# nothing\n\n");
    EXPECT_NE(error_of([&] { expand_input(d / "empty.txt"); }).find("empty.txt"), std::string::npos);
}

TEST(IoInputs, VideosCamerasAndMissingPaths) {
    TempDir d;
    write_file(d / "movie.MKV", "x");
    auto s = expand_input(d / "movie.MKV");
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].kind, SourceKind::Video);

    s = expand_input("cam:2");
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].kind, SourceKind::Camera);
    EXPECT_EQ(s[0].camera, 2);
    s = expand_input("0");
    EXPECT_EQ(s[0].kind, SourceKind::Camera);
    EXPECT_EQ(s[0].camera, 0);
    EXPECT_THROW(expand_input("cam:x"), Error);

    const std::string missing = d / "nope.jpg";
    EXPECT_EQ(error_of([&] { expand_input(missing); }), missing + ": no such file or directory");

    // Several arguments keep their order.
    write_file(d / "a.jpg", "x");
    const auto all = expand_inputs({d / "a.jpg", "cam:1", d / "movie.MKV"});
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[0].kind, SourceKind::Image);
    EXPECT_EQ(all[1].kind, SourceKind::Camera);
    EXPECT_EQ(all[2].kind, SourceKind::Video);
}

TEST(IoImageReader, LoadsRealAndTinyImages) {
    TempDir d;
    write_png(d / "one.png", 1, 1);
    const cv::Mat one = load_image(d / "one.png");
    EXPECT_EQ(one.cols, 1);
    EXPECT_EQ(one.rows, 1);
    EXPECT_EQ(one.type(), CV_8UC3);
    EXPECT_EQ(one.at<cv::Vec3b>(0, 0), cv::Vec3b(1, 2, 3));

    // Gray and alpha files come back as BGR.
    ASSERT_TRUE(cv::imwrite(d / "g.png", cv::Mat(2, 3, CV_8UC1, cv::Scalar(77))));
    const cv::Mat g = load_image(d / "g.png");
    EXPECT_EQ(g.type(), CV_8UC3);
    EXPECT_EQ(g.at<cv::Vec3b>(1, 2), cv::Vec3b(77, 77, 77));
    ASSERT_TRUE(cv::imwrite(d / "a.png", cv::Mat(2, 3, CV_8UC4, cv::Scalar(5, 6, 7, 8))));
    EXPECT_EQ(load_image(d / "a.png").at<cv::Vec3b>(0, 0), cv::Vec3b(5, 6, 7));

    if (fs::exists(kDog)) {
        const cv::Mat dog = load_image(kDog);
        EXPECT_EQ(dog.cols, 768);
        EXPECT_EQ(dog.rows, 576);
        // Same pixels as OpenCV's imread, which is what darknet's loader uses.
        EXPECT_EQ(cv::norm(dog, cv::imread(kDog), cv::NORM_INF), 0.0);
    }
}

TEST(IoImageReader, MissingDirectoryAndGarbage) {
    TempDir d;
    const std::string missing = d / "missing.jpg";
    EXPECT_EQ(error_of([&] { load_image(missing); }), missing + ": no such file");
    EXPECT_NE(error_of([&] { load_image(d.path().string()); }).find("is a directory"), std::string::npos);

    write_file(d / "text.jpg", "this is not an image at all");
    std::string msg = error_of([&] { load_image(d / "text.jpg"); });
    EXPECT_NE(msg.find(d / "text.jpg" + ": not a decodable image (expected JPEG"), std::string::npos) << msg;

    write_file(d / "empty.png", "");
    msg = error_of([&] { load_image(d / "empty.png"); });
    EXPECT_NE(msg.find("empty.png"), std::string::npos) << msg;

    // A PNG signature followed by junk.
    write_file(d / "bad.png", std::string("\x89PNG\r\n\x1a\n", 8) + std::string(200, 'q'));
    msg = error_of([&] { load_image(d / "bad.png"); });
    EXPECT_NE(msg.find("not a decodable image"), std::string::npos) << msg;
    EXPECT_NE(msg.find("PNG"), std::string::npos) << msg;
}

TEST(IoImageReader, TruncatedJpegIsAnError) {
    if (!fs::exists(kDog)) GTEST_SKIP() << kDog << " not installed";
    TempDir d;
    const std::vector<std::uint8_t> dog = read_bytes(kDog);
    ASSERT_GT(dog.size(), 1000u);

    write_bytes(d / "head.jpg", dog, 100);
    std::string msg = error_of([&] { load_image(d / "head.jpg"); });
    EXPECT_EQ(msg.rfind(d / "head.jpg" + ": ", 0), 0u) << msg;
    EXPECT_NE(msg, "<no error>");

    // Cut inside the scan data: libjpeg alone would return a half-grey image.
    write_bytes(d / "half.jpg", dog, dog.size() * 7 / 10);
    msg = error_of([&] { load_image(d / "half.jpg"); });
    EXPECT_NE(msg.find("truncated JPEG"), std::string::npos) << msg;

    // Missing only the final end-of-image marker.
    write_bytes(d / "noeoi.jpg", dog, dog.size() - 2);
    EXPECT_NE(error_of([&] { load_image(d / "noeoi.jpg"); }).find("truncated"), std::string::npos);

    // Trailing bytes after the end marker are fine.
    std::vector<std::uint8_t> tail = dog;
    tail.insert(tail.end(), 5000, 0xAB);
    write_bytes(d / "tail.jpg", tail, tail.size());
    EXPECT_EQ(load_image(d / "tail.jpg").cols, 768);

    // Progressive JPEGs (several scans) are walked correctly, complete or cut.
    const cv::Mat img = cv::imread(kDog);
    std::vector<std::uint8_t> prog;
    ASSERT_TRUE(cv::imencode(".jpg", img, prog, {cv::IMWRITE_JPEG_PROGRESSIVE, 1}));
    write_bytes(d / "prog.jpg", prog, prog.size());
    EXPECT_EQ(load_image(d / "prog.jpg").rows, 576);
    write_bytes(d / "prog_cut.jpg", prog, prog.size() / 2);
    EXPECT_NE(error_of([&] { load_image(d / "prog_cut.jpg"); }).find("truncated"), std::string::npos);
}

TEST(IoImageReader, ExifOrientationIsApplied) {
    // A 40x20 JPEG tagged "rotate 90" (orientation 6) loads as 20x40, as imread gives darknet.
    std::vector<std::uint8_t> jpg;
    ASSERT_TRUE(cv::imencode(".jpg", cv::Mat(20, 40, CV_8UC3, cv::Scalar(10, 20, 30)), jpg));
    const std::vector<std::uint8_t> tiff = {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3,
                                            0,   0,   0, 1,  0, 6, 0, 0, 0, 0, 0,    0};
    std::vector<std::uint8_t> app1 = {0xFF, 0xE1, 0, static_cast<std::uint8_t>(2 + 6 + tiff.size()),
                                      'E',  'x',  'i', 'f', 0, 0};
    app1.insert(app1.end(), tiff.begin(), tiff.end());
    jpg.insert(jpg.begin() + 2, app1.begin(), app1.end());
    const cv::Mat m = decode_image(jpg, "rotated.jpg");
    EXPECT_EQ(m.cols, 20);
    EXPECT_EQ(m.rows, 40);
}

TEST(IoImageReader, HugeImage) {
    TempDir d;
    cv::Mat big(6000, 8000, CV_8UC3, cv::Scalar(40, 80, 120));
    cv::rectangle(big, cv::Rect(100, 100, 2000, 3000), cv::Scalar(200, 10, 10), cv::FILLED);
    ASSERT_TRUE(cv::imwrite(d / "big.jpg", big, {cv::IMWRITE_JPEG_QUALITY, 80}));
    big.release();
    const cv::Mat m = load_image(d / "big.jpg");
    EXPECT_EQ(m.cols, 8000);
    EXPECT_EQ(m.rows, 6000);
    EXPECT_EQ(m.type(), CV_8UC3);
}

TEST(IoVideo, RoundTripKeepsFrameCount) {
    TempDir d;
    const std::string path = d / "clip.mp4";
    const cv::Size size(64, 48);
    {
        VideoSink sink(path, 10.0, size);
        EXPECT_TRUE(sink.codec() == "mp4v" || sink.codec() == "MJPG") << sink.codec();
        for (int i = 0; i < 12; ++i) sink.write(cv::Mat(size, CV_8UC3, cv::Scalar(i * 20, 255 - i * 20, 128)));
        EXPECT_EQ(sink.frames_written(), 12);
        // A frame of the wrong size names the file.
        const std::string msg = error_of([&] { sink.write(cv::Mat(10, 10, CV_8UC3)); });
        EXPECT_NE(msg.find(path), std::string::npos) << msg;
        sink.close();
    }
    VideoSource src(path);
    EXPECT_NEAR(src.fps(), 10.0, 0.01);
    EXPECT_EQ(src.width(), 64);
    EXPECT_EQ(src.height(), 48);
    VideoFrame f;
    int n = 0;
    while (src.read(f)) {
        EXPECT_EQ(f.index, n);
        EXPECT_NEAR(f.time_s, n / 10.0, 1e-9);
        EXPECT_EQ(f.image.size(), size);
        EXPECT_EQ(f.image.type(), CV_8UC3);
        ++n;
    }
    EXPECT_EQ(n, 12);
    EXPECT_FALSE(src.read(f));
}

TEST(IoVideo, ErrorsNameTheFile) {
    TempDir d;
    const std::string missing = d / "none.mp4";
    EXPECT_EQ(error_of([&] { VideoSource s(missing); }), missing + ": no such file");
    write_file(d / "junk.mp4", std::string(4096, 'j'));
    std::string msg = error_of([&] { VideoSource s(d / "junk.mp4"); });
    EXPECT_NE(msg.find(d / "junk.mp4" + ": cannot open video"), std::string::npos) << msg;

    const std::string nodir = d / "no/such/dir/out.mp4";
    msg = error_of([&] { VideoSink s(nodir, 25, cv::Size(32, 32)); });
    EXPECT_NE(msg.find(nodir), std::string::npos) << msg;
    EXPECT_THROW(VideoSink(d / "x.mp4", 0.0, cv::Size(32, 32)), Error);
}

}  // namespace
