// Console lines, JSON and drawing of detections.
#include <gtest/gtest.h>

#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "detect/render.h"

namespace {

using namespace yolo9k;

Detection det(int cls, const std::string& name, float score, Box b) {
    Detection d;
    d.class_id = cls;
    d.name = name;
    d.score = score;
    d.objectness = score;
    d.box = b;
    return d;
}

TEST(DetectRender, ConsoleLinesLikeDarknet) {
    ImageDetections im;
    im.detections = {det(16, "dog", 0.8234f, {}), det(1, "bicycle", 0.125f, {}), det(7, "truck", 0.995f, {}),
                     det(0, "person", 0.004f, {})};
    // printf's %.0f rounds half to even: 12.5 -> "12"; 99.5 -> "100" (the float is a bit above).
    EXPECT_EQ(to_console(im), "dog: 82%\nbicycle: 12%\ntruck: 100%\nperson: 0%\n");
    EXPECT_EQ(to_console(std::vector<Detection>{}), "");
}

TEST(DetectRender, JsonShape) {
    ImageDetections im;
    im.file = "data/dog.jpg";
    im.width = 768;
    im.height = 576;
    im.detections = {det(16, "dog", 0.8234f, {130.5f, 219.25f, 310.0f, 540.0f})};
    const nlohmann::json j = to_json(im);
    EXPECT_EQ(j.at("file"), "data/dog.jpg");
    EXPECT_EQ(j.at("width"), 768);
    EXPECT_EQ(j.at("height"), 576);
    ASSERT_TRUE(j.at("detections").is_array());
    ASSERT_EQ(j.at("detections").size(), 1u);
    const auto& d = j.at("detections")[0];
    EXPECT_EQ(d.at("class_id"), 16);
    EXPECT_EQ(d.at("name"), "dog");
    EXPECT_DOUBLE_EQ(d.at("score").get<double>(), 0.8234);  // the float's shortest decimal
    ASSERT_EQ(d.at("box").size(), 4u);
    EXPECT_DOUBLE_EQ(d.at("box")[0].get<double>(), 130.5);
    EXPECT_DOUBLE_EQ(d.at("box")[1].get<double>(), 219.25);
    EXPECT_DOUBLE_EQ(d.at("box")[3].get<double>(), 540.0);
    EXPECT_EQ(d.size(), 4u);
    // Serialised scores stay short.
    EXPECT_NE(j.dump().find("\"score\":0.8234"), std::string::npos) << j.dump();

    ImageDetections empty;
    empty.file = "x.png";
    const nlohmann::json e = to_json(empty);
    EXPECT_TRUE(e.at("detections").is_array());
    EXPECT_TRUE(e.at("detections").empty());

    const nlohmann::json all = to_json(std::vector<ImageDetections>{im, empty});
    ASSERT_TRUE(all.is_array());
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[1].at("file"), "x.png");
}

TEST(DetectRender, ClassColoursAreDistinctAndStable) {
    std::set<std::tuple<int, int, int>> seen;
    for (int c = 0; c < 80; ++c) {
        const cv::Scalar s = class_color(c);
        seen.insert({static_cast<int>(s[0]), static_cast<int>(s[1]), static_cast<int>(s[2])});
        EXPECT_EQ(s, class_color(c));
    }
    EXPECT_EQ(seen.size(), 80u);
    // Neighbouring ids are far apart.
    for (int c = 0; c < 79; ++c) EXPECT_GT(cv::norm(class_color(c) - class_color(c + 1)), 60.0) << c;
}

TEST(DetectRender, DrawsBoxesAndLabels) {
    cv::Mat img(200, 300, CV_8UC3, cv::Scalar::all(0));
    const cv::Mat before = img.clone();
    draw_detections(img, {});
    EXPECT_EQ(cv::norm(img, before, cv::NORM_INF), 0.0);

    draw_detections(img, {det(3, "car", 0.9f, {50, 80, 250, 180})});
    const cv::Scalar col = class_color(3);
    // Box edge (left side, middle) carries the class colour.
    const cv::Vec3b edge = img.at<cv::Vec3b>(130, 50);
    for (int k = 0; k < 3; ++k) EXPECT_NEAR(edge[k], col[k], 2) << k;
    // Inside the box stays untouched.
    EXPECT_EQ(img.at<cv::Vec3b>(130, 150), cv::Vec3b(0, 0, 0));
    // A filled label background sits just above the box.
    int filled = 0;
    for (int x = 50; x < 90; ++x)
        for (int y = 60; y < 78; ++y)
            filled += img.at<cv::Vec3b>(y, x) != cv::Vec3b(0, 0, 0);
    EXPECT_GT(filled, 400);

    // A box at the very top puts its label inside; nothing throws for boxes touching the border.
    cv::Mat small(40, 60, CV_8UC3, cv::Scalar::all(0));
    draw_detections(small, {det(0, "person", 0.5f, {0, 0, 59, 39})});
    EXPECT_NE(small.at<cv::Vec3b>(5, 5), cv::Vec3b(0, 0, 0));
}

}  // namespace
