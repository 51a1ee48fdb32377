// Network-input preparation: geometry, channel order, grey padding, darknet's interpolation.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "core/error.h"
#include "detect/letterbox.h"

namespace {

using namespace yolo9k;

float at(const std::vector<float>& v, int net_w, int net_h, int c, int y, int x) {
    return v[(static_cast<std::size_t>(c) * net_h + y) * net_w + x];
}

TEST(DetectLetterbox, GeometryFollowsDarknet) {
    LetterboxGeometry g = make_letterbox_geometry(640, 480, 416, 416, ResizeMode::Letterbox);
    EXPECT_EQ(g.new_w, 416);
    EXPECT_EQ(g.new_h, 312);
    EXPECT_EQ(g.offset_x(), 0);
    EXPECT_EQ(g.offset_y(), 52);

    g = make_letterbox_geometry(480, 640, 416, 416, ResizeMode::Letterbox);
    EXPECT_EQ(g.new_w, 312);
    EXPECT_EQ(g.new_h, 416);
    EXPECT_EQ(g.offset_x(), 52);
    EXPECT_EQ(g.offset_y(), 0);

    // Integer division truncates: 500x375 -> 416 x (375*416/500 = 312), 333 rows -> 277.
    g = make_letterbox_geometry(500, 333, 416, 416, ResizeMode::Letterbox);
    EXPECT_EQ(g.new_h, 277);
    EXPECT_EQ(g.offset_y(), 69);

    // Equal ratios take the height branch.
    g = make_letterbox_geometry(100, 100, 416, 416, ResizeMode::Letterbox);
    EXPECT_EQ(g.new_w, 416);
    EXPECT_EQ(g.new_h, 416);

    g = make_letterbox_geometry(640, 480, 416, 320, ResizeMode::Resize);
    EXPECT_EQ(g.new_w, 416);
    EXPECT_EQ(g.new_h, 320);
    EXPECT_EQ(g.offset_x(), 0);
    EXPECT_EQ(g.offset_y(), 0);

    // darknet would compute a 0-row image here; we keep one row.
    g = make_letterbox_geometry(1000, 1, 416, 416, ResizeMode::Letterbox);
    EXPECT_EQ(g.new_w, 416);
    EXPECT_EQ(g.new_h, 1);
    EXPECT_EQ(g.offset_y(), 207);

    EXPECT_THROW(make_letterbox_geometry(0, 10, 416, 416, ResizeMode::Letterbox), Error);
    EXPECT_THROW(make_letterbox_geometry(10, 10, 0, 416, ResizeMode::Letterbox), Error);
}

TEST(DetectLetterbox, PlanarRgbWithGreyPadding) {
    // Pure blue in BGR must land in plane 2 (RGB order), scaled to [0,1].
    const cv::Mat img(480, 640, CV_8UC3, cv::Scalar(255, 0, 0));
    std::vector<float> in(416 * 416 * 3, -1.0f);
    const LetterboxGeometry g = prepare_network_input(img, 416, 416, ResizeMode::Letterbox, in.data());
    ASSERT_EQ(g.offset_y(), 52);
    for (int c = 0; c < 3; ++c) {
        for (int y : {0, 51, 364, 415}) EXPECT_EQ(at(in, 416, 416, c, y, 200), 0.5f) << c << "," << y;
        for (int y : {52, 200, 362}) EXPECT_FLOAT_EQ(at(in, 416, 416, c, y, 7), c == 2 ? 1.0f : 0.0f);
    }
    for (float v : in) ASSERT_GE(v, 0.0f);  // everything written
}

TEST(DetectLetterbox, ChannelsAndValues) {
    const cv::Mat img(10, 10, CV_8UC3, cv::Scalar(10, 20, 30));  // B=10, G=20, R=30
    std::vector<float> in(8 * 8 * 3);
    prepare_network_input(img, 8, 8, ResizeMode::Resize, in.data());
    for (int y = 0; y < 7; ++y) {  // the last row is darknet's special case, checked below
        EXPECT_FLOAT_EQ(at(in, 8, 8, 0, y, 3), 30 / 255.f);
        EXPECT_FLOAT_EQ(at(in, 8, 8, 1, y, 3), 20 / 255.f);
        EXPECT_FLOAT_EQ(at(in, 8, 8, 2, y, 3), 10 / 255.f);
    }
}

TEST(DetectLetterbox, BilinearByHand) {
    // Columns 0 and 255 upsampled to 3: scale (2-1)/(3-1) = 0.5 -> 0, 0.5, 1 (last = edge).
    cv::Mat img(2, 2, CV_8UC1);
    img.at<uchar>(0, 0) = img.at<uchar>(1, 0) = 0;
    img.at<uchar>(0, 1) = img.at<uchar>(1, 1) = 255;
    std::vector<float> in(3 * 2 * 3);
    prepare_network_input(img, 3, 2, ResizeMode::Resize, in.data());
    for (int c = 0; c < 3; ++c)
        for (int y = 0; y < 2; ++y) {
            EXPECT_FLOAT_EQ(at(in, 3, 2, c, y, 0), 0.0f);
            EXPECT_FLOAT_EQ(at(in, 3, 2, c, y, 1), 0.5f);
            EXPECT_FLOAT_EQ(at(in, 3, 2, c, y, 2), 1.0f);
        }

    // Rows 0 and 255 downsampled 5 -> 3: scale 4/2 = 2, rows 0, 2, 4 exactly (no blending).
    cv::Mat rows(5, 1, CV_8UC1);
    const uchar v[5] = {0, 40, 80, 120, 160};
    for (int y = 0; y < 5; ++y) rows.at<uchar>(y, 0) = v[y];
    std::vector<float> out(1 * 3 * 3);
    prepare_network_input(rows, 1, 3, ResizeMode::Resize, out.data());
    EXPECT_FLOAT_EQ(out[0], 0.0f);
    EXPECT_FLOAT_EQ(out[1], 80 / 255.f);
    EXPECT_FLOAT_EQ(out[2], 160 / 255.f);

    // 4 -> 3 columns: scale 1.5, column 1 = 0.5*v[1] + 0.5*v[2].
    cv::Mat cols(1, 4, CV_8UC1);
    const uchar w[4] = {0, 100, 200, 250};
    for (int x = 0; x < 4; ++x) cols.at<uchar>(0, x) = w[x];
    std::vector<float> o2(3 * 2 * 3);
    prepare_network_input(cols, 3, 2, ResizeMode::Resize, o2.data());
    EXPECT_FLOAT_EQ(o2[0], 0.0f);
    EXPECT_NEAR(o2[1], 150 / 255.f, 1e-6f);
    EXPECT_FLOAT_EQ(o2[2], 250 / 255.f);
}

TEST(DetectLetterbox, DarknetLastRowQuirk) {
    // Upscaling 2 rows to 42: darknet's float position of the last row is 0.9999999, so it
    // takes 1e-7 of row 0 and skips row 1. We reproduce that; the other rows are normal.
    const cv::Mat img(2, 4, CV_8UC3, cv::Scalar::all(255));
    std::vector<float> in(4 * 42 * 3);
    prepare_network_input(img, 4, 42, ResizeMode::Resize, in.data());
    EXPECT_LT(at(in, 4, 42, 0, 41, 1), 1e-3f);
    EXPECT_FLOAT_EQ(at(in, 4, 42, 0, 40, 1), 1.0f);
    EXPECT_FLOAT_EQ(at(in, 4, 42, 0, 0, 1), 1.0f);
}

TEST(DetectLetterbox, GrayBgraAndRoiInputsAreConverted) {
    cv::Mat bgr(37, 53, CV_8UC3);
    cv::randu(bgr, cv::Scalar::all(0), cv::Scalar::all(256));
    std::vector<float> ref(64 * 64 * 3), got(64 * 64 * 3);

    cv::Mat gray, gray_bgr;
    cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
    cv::cvtColor(gray, gray_bgr, cv::COLOR_GRAY2BGR);
    prepare_network_input(gray_bgr, 64, 64, ResizeMode::Letterbox, ref.data());
    prepare_network_input(gray, 64, 64, ResizeMode::Letterbox, got.data());
    EXPECT_EQ(ref, got);

    cv::Mat bgra;
    cv::cvtColor(bgr, bgra, cv::COLOR_BGR2BGRA);
    prepare_network_input(bgr, 64, 64, ResizeMode::Letterbox, ref.data());
    prepare_network_input(bgra, 64, 64, ResizeMode::Letterbox, got.data());
    EXPECT_EQ(ref, got);

    // A non-contiguous view reads its own rows only.
    cv::Mat big(100, 120, CV_8UC3);
    cv::randu(big, cv::Scalar::all(0), cv::Scalar::all(256));
    const cv::Mat roi = big(cv::Rect(10, 20, 53, 37));
    ASSERT_FALSE(roi.isContinuous());
    prepare_network_input(roi.clone(), 64, 64, ResizeMode::Letterbox, ref.data());
    prepare_network_input(roi, 64, 64, ResizeMode::Letterbox, got.data());
    EXPECT_EQ(ref, got);
}

TEST(DetectLetterbox, TinyAndExtremeImages) {
    const cv::Mat one(1, 1, CV_8UC3, cv::Scalar(0, 0, 255));
    std::vector<float> in(416 * 416 * 3);
    const LetterboxGeometry g = prepare_network_input(one, 416, 416, ResizeMode::Letterbox, in.data());
    EXPECT_EQ(g.new_w, 416);
    EXPECT_EQ(g.new_h, 416);
    for (int y = 0; y < 415; ++y) EXPECT_FLOAT_EQ(at(in, 416, 416, 0, y, 100), 1.0f);

    // 1000x1 and 1x1000 must not crash and keep the padding grey.
    const cv::Mat wide(1, 1000, CV_8UC3, cv::Scalar::all(255));
    prepare_network_input(wide, 416, 416, ResizeMode::Letterbox, in.data());
    EXPECT_EQ(at(in, 416, 416, 0, 0, 0), 0.5f);
    EXPECT_FLOAT_EQ(at(in, 416, 416, 0, 207, 10), 1.0f);
    const cv::Mat tall(1000, 1, CV_8UC3, cv::Scalar::all(255));
    prepare_network_input(tall, 416, 416, ResizeMode::Letterbox, in.data());
    EXPECT_EQ(at(in, 416, 416, 1, 10, 0), 0.5f);
    EXPECT_FLOAT_EQ(at(in, 416, 416, 1, 10, 207), 1.0f);
}

TEST(DetectLetterbox, RejectsBadInput) {
    std::vector<float> in(16 * 16 * 3);
    EXPECT_THROW(prepare_network_input(cv::Mat(), 16, 16, ResizeMode::Letterbox, in.data()), Error);
    EXPECT_THROW(prepare_network_input(cv::Mat(4, 4, CV_16UC3, cv::Scalar::all(1)), 16, 16, ResizeMode::Letterbox,
                                       in.data()),
                 Error);
    EXPECT_THROW(prepare_network_input(cv::Mat(4, 4, CV_8UC2, cv::Scalar::all(1)), 16, 16, ResizeMode::Letterbox,
                                       in.data()),
                 Error);
}

}  // namespace
