// Dataset readers: each format on tiny fixtures, the bad-data policy, and the shared real
// data (BCCD, raccoon, PASCAL VOC 2007 annotations as COCO JSON).
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <numeric>

#include <opencv2/imgcodecs.hpp>

#include "core/error.h"
#include "data/dataset.h"
#include "support/test_support.h"

namespace yolo9k {
namespace {
namespace fs = std::filesystem;
using test::TempDir;
using test::write_file;

DatasetOptions quiet(DatasetOptions o = {}) {
    o.quiet = true;
    return o;
}

std::string voc_xml(const std::string& filename, int w, int h, const std::string& objects) {
    return "<annotation>\n<filename>" + filename + "</filename>\n<size><width>" + std::to_string(w) +
           "</width><height>" + std::to_string(h) + "</height><depth>3</depth></size>\n" + objects +
           "</annotation>\n";
}

std::string voc_object(const std::string& name, int x0, int y0, int x1, int y1, int difficult = 0) {
    return "<object>\n<name>" + name + "</name><difficult>" + std::to_string(difficult) +
           "</difficult>\n<bndbox><xmin>" + std::to_string(x0) + "</xmin><ymin>" + std::to_string(y0) +
           "</ymin><xmax>" + std::to_string(x1) + "</xmax><ymax>" + std::to_string(y1) + "</ymax></bndbox>\n</object>\n";
}

void expect_box(const TruthBox& b, int id, float x, float y, float w, float h) {
    EXPECT_EQ(b.class_id, id);
    EXPECT_NEAR(b.x, x, 1e-6);
    EXPECT_NEAR(b.y, y, 1e-6);
    EXPECT_NEAR(b.w, w, 1e-6);
    EXPECT_NEAR(b.h, h, 1e-6);
}

void expect_error_mentions(const std::function<void()>& f, const std::vector<std::string>& parts) {
    try {
        f();
        ADD_FAILURE() << "expected yolo9k::Error";
    } catch (const Error& e) {
        for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
    }
}

TEST(DatasetLabelPath, FollowsDarknetsRule) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"/d/VOC/JPEGImages/000001.jpg", "/d/VOC/labels/000001.txt"},
        {"/d/coco/images/train/a.png", "/d/coco/labels/train/a.txt"},
        {"images/a.JPEG", "labels/a.txt"},
        {"/d/flat/a.jpg", "/d/flat/a.txt"},
    };
    for (const auto& [image, label] : cases) EXPECT_EQ(darknet_label_path(image), label) << image;
}

TEST(DatasetDarknetList, ReadsLabelsAndResolvesRelativePaths) {
    TempDir dir;
    fs::create_directories(dir.path() / "images");
    fs::create_directories(dir.path() / "labels");
    write_file(dir.file("images/a.jpg"), "x");
    write_file(dir.file("images/b.jpg"), "x");
    write_file(dir.file("labels/a.txt"), "0 0.5 0.5 0.2 0.4\n\n2 0.25 0.75 0.1 0.1\n");
    // b has no label file; c does not exist.
    write_file(dir.file("train.txt"), "images/a.jpg\n" + dir.file("images/b.jpg") + "\n\nimages/c.jpg\n");
    const Dataset d = load_dataset(dir.file("train.txt"), quiet());
    ASSERT_EQ(d.images.size(), 3u);
    EXPECT_EQ(d.images[0].image_path, (dir.path() / "images/a.jpg").string());
    EXPECT_EQ(d.images[0].id, "a");
    EXPECT_EQ(d.images[0].width, 0);  // read lazily by whoever needs it
    ASSERT_EQ(d.images[0].boxes.size(), 2u);
    expect_box(d.images[0].boxes[0], 0, .5f, .5f, .2f, .4f);
    expect_box(d.images[0].boxes[1], 2, .25f, .75f, .1f, .1f);
    EXPECT_EQ(d.class_names, (std::vector<std::string>{"0", "1", "2"}));
    EXPECT_EQ(d.report.images, 3u);
    EXPECT_EQ(d.report.boxes, 2u);
    EXPECT_EQ(d.report.images_without_labels, 2u);  // b and c
    EXPECT_EQ(d.report.missing_images, 1u);         // c
}

TEST(DatasetDarknetList, BadBoxesAreSkippedAndCounted) {
    TempDir dir;
    fs::create_directories(dir.path() / "labels");
    write_file(dir.file("labels/a.txt"),
               "0 0.5 0.5 0 0.4\n"     // zero width: skipped
               "5 0.5 0.5 0.2 0.2\n"   // class out of range: skipped
               "1 0.95 0.5 0.2 0.2\n"  // reaches past the right edge: clipped
               "1 1.5 0.5 0.2 0.2\n"   // entirely outside: skipped
               "1 0.5 0.5 0.2 0.2\n");
    write_file(dir.file("list.txt"), dir.file("images/a.jpg") + "\n");
    DatasetOptions o = quiet();
    o.class_names = {"cat", "dog"};
    const Dataset d = load_dataset(dir.file("list.txt"), o);
    ASSERT_EQ(d.images.at(0).boxes.size(), 2u);
    expect_box(d.images[0].boxes[0], 1, .925f, .5f, .15f, .2f);
    EXPECT_EQ(d.report.skipped_boxes, 3u);
    EXPECT_EQ(d.report.clipped_boxes, 1u);
    ASSERT_FALSE(d.report.warnings.empty());
    EXPECT_NE(d.report.warnings[1].find("a.txt:1"), std::string::npos) << d.report.warnings[1];
}

TEST(DatasetDarknetList, MalformedLabelLineIsAnErrorNamingFileAndLine) {
    TempDir dir;
    fs::create_directories(dir.path() / "labels");
    write_file(dir.file("labels/a.txt"), "0 0.5 0.5 0.2 0.2\n0 0.5 half 0.2 0.2\n");
    write_file(dir.file("list.txt"), dir.file("images/a.jpg") + "\n");
    expect_error_mentions([&] { load_dataset(dir.file("list.txt"), quiet()); }, {"a.txt:2", "class x y w h"});
}

TEST(DatasetDataFile, ReadsKeysAndPicksTrainOrValid) {
    TempDir dir;
    fs::create_directories(dir.path() / "labels");
    write_file(dir.file("labels/a.txt"), "1 0.5 0.5 0.2 0.2\n");
    write_file(dir.file("labels/b.txt"), "0 0.5 0.5 0.2 0.2\n0 0.3 0.3 0.2 0.2\n");
    write_file(dir.file("train.txt"), dir.file("images/a.jpg") + "\n");
    write_file(dir.file("valid.txt"), dir.file("images/b.jpg") + "\n");
    write_file(dir.file("obj.names"), "cat\ndog\n");
    write_file(dir.file("obj.data"),
               "# comment\nclasses = 2\ntrain  = train.txt\nvalid = valid.txt\nnames = obj.names\nbackup = backup/\nextra=1\n");
    const DataFile df = read_data_file(dir.file("obj.data"));
    EXPECT_EQ(df.classes, 2);
    EXPECT_EQ(df.train, "train.txt");
    EXPECT_EQ(df.backup, "backup/");
    EXPECT_EQ(df.get("extra"), "1");
    EXPECT_EQ(df.get("absent"), "");

    const Dataset train = load_dataset(dir.file("obj.data"), quiet());
    EXPECT_EQ(train.class_names, (std::vector<std::string>{"cat", "dog"}));
    ASSERT_EQ(train.images.size(), 1u);
    EXPECT_EQ(train.images[0].boxes.at(0).class_id, 1);
    const Dataset valid = load_dataset_split(df, "valid", quiet());
    ASSERT_EQ(valid.images.size(), 1u);
    EXPECT_EQ(valid.report.boxes, 2u);
    DatasetOptions o = quiet();
    o.split = "valid";
    EXPECT_EQ(load_dataset(dir.file("obj.data"), o).report.boxes, 2u);

    write_file(dir.file("bad.data"), "classes = 2\ntrain train.txt\n");
    expect_error_mentions([&] { read_data_file(dir.file("bad.data")); }, {"bad.data:2", "key = value"});
    expect_error_mentions([&] { load_dataset_split(df, "test"); }, {"obj.data", "train, valid"});
}

TEST(DatasetVoc, FolderWithSplitsConvertsLikeVocLabel) {
    TempDir dir;
    for (const char* sub : {"Annotations", "JPEGImages", "ImageSets/Main"}) fs::create_directories(dir.path() / sub);
    write_file(dir.file("Annotations/img1.xml"),
               voc_xml("img1.jpg", 200, 100, voc_object("dog", 11, 21, 51, 81) + voc_object("cat", 1, 1, 200, 100, 1)));
    write_file(dir.file("Annotations/img2.xml"),
               voc_xml("img2.jpg", 100, 100,
                       voc_object("dog", 10, 10, 10, 30) +    // zero width: skipped
                           voc_object("bird", 90, 10, 140, 30)));  // past the right edge: clipped
    write_file(dir.file("ImageSets/Main/train.txt"), "img2\n");
    write_file(dir.file("JPEGImages/img1.jpg"), "x");

    const Dataset all = load_dataset(dir.path().string(), quiet());
    EXPECT_EQ(all.class_names, (std::vector<std::string>{"bird", "cat", "dog"}));  // sorted
    ASSERT_EQ(all.images.size(), 2u);
    const LabeledImage& a = all.images[0];
    EXPECT_EQ(a.id, "img1");
    EXPECT_EQ(a.image_path, (dir.path() / "JPEGImages/img1.jpg").string());
    EXPECT_EQ(a.width, 200);
    ASSERT_EQ(a.boxes.size(), 2u);
    // voc_label.py: x = ((11 + 51) / 2 - 1) / 200, w = 40 / 200 ...
    expect_box(a.boxes[0], 2, 30.f / 200, 50.f / 100, 40.f / 200, 60.f / 100);
    EXPECT_FALSE(a.boxes[0].difficult);
    EXPECT_TRUE(a.boxes[1].difficult);
    EXPECT_EQ(all.report.skipped_boxes, 1u);
    EXPECT_EQ(all.report.clipped_boxes, 1u);
    EXPECT_EQ(all.report.missing_images, 1u);  // img2.jpg

    DatasetOptions o = quiet();
    o.split = "train";
    const Dataset train = load_dataset(dir.path().string(), o);
    EXPECT_EQ(train.class_names, all.class_names);  // ids agree across splits
    ASSERT_EQ(train.images.size(), 1u);
    ASSERT_EQ(train.images[0].boxes.size(), 1u);
    // bird from x 90..140 (1-based) clipped at the right edge: left (90 - 1) / 100, right 1.
    expect_box(train.images[0].boxes[0], 0, (0.89f + 1) / 2, 19.f / 100, 0.11f, 0.2f);

    o.split = "nope";
    expect_error_mentions([&] { load_dataset(dir.path().string(), o); }, {"nope.txt"});
}

TEST(DatasetVoc, UnknownNamesSkippedOrRejected) {
    TempDir dir;
    fs::create_directories(dir.path() / "Annotations");
    write_file(dir.file("Annotations/a.xml"), voc_xml("a.jpg", 100, 100, voc_object("dog", 10, 10, 20, 20) +
                                                                             voc_object("yak", 10, 10, 20, 20)));
    DatasetOptions o = quiet();
    o.class_names = {"cat", "dog"};
    const Dataset d = load_dataset(dir.path().string(), o);
    EXPECT_EQ(d.report.boxes, 1u);
    EXPECT_EQ(d.report.skipped_boxes, 1u);
    ASSERT_EQ(d.report.warnings.size(), 2u);  // yak + the missing image
    o.skip_unknown_classes = false;
    expect_error_mentions([&] { load_dataset(dir.path().string(), o); }, {"a.xml:", "yak"});
}

TEST(DatasetVoc, MalformedXmlNamesFileAndLine) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"<annotation>\n<size><width>10</width>\n<height>10</height></size>\n<object><name>a</name>\n</annotation>\n",
         "a.xml:"},
        {voc_xml("a.jpg", 100, 100, "<object><name>a</name>\n<bndbox><xmin>1</xmin><ymin>1</ymin>\n<xmax>x9</xmax>"
                                    "<ymax>9</ymax></bndbox></object>\n"),
         "a.xml:6: <xmax> expected a number"},
        {"<notvoc/>", "<annotation>"},
    };
    for (const auto& [xml, expected] : cases) {
        TempDir dir;
        fs::create_directories(dir.path() / "Annotations");
        write_file(dir.file("Annotations/a.xml"), xml);
        expect_error_mentions([&] { load_dataset(dir.path().string(), quiet()); }, {expected});
    }
}

TEST(DatasetVoc, XmlFolderFindsImagesFromFilename) {
    TempDir dir;
    fs::create_directories(dir.path() / "annotations");
    fs::create_directories(dir.path() / "images");
    write_file(dir.file("annotations/r1.xml"), voc_xml("raccoon-1.jpg", 100, 50, voc_object("raccoon", 1, 1, 51, 26)));
    write_file(dir.file("images/raccoon-1.jpg"), "x");
    const Dataset d = load_dataset(dir.path().string(), quiet());
    ASSERT_EQ(d.images.size(), 1u);
    EXPECT_EQ(d.images[0].image_path, (dir.path() / "images/raccoon-1.jpg").string());
    EXPECT_EQ(d.report.missing_images, 0u);
    expect_box(d.images[0].boxes.at(0), 0, .25f, .25f, .5f, .5f);
}

TEST(DatasetCoco, ReadsImagesAnnotationsCategories) {
    TempDir dir;
    write_file(dir.file("a.json"), R"({
      "images": [{"file_name": "x.jpg", "width": 200, "height": 100, "id": 7},
                 {"file_name": "y.jpg", "width": 100, "height": 100, "id": 9}],
      "annotations": [
        {"image_id": 7, "bbox": [20, 10, 40, 50], "category_id": 3, "iscrowd": 0, "id": 1},
        {"image_id": 7, "bbox": [0, 0, 10, 10], "category_id": 3, "iscrowd": 1, "id": 2},
        {"image_id": 7, "bbox": [5, 5, 0, 10], "category_id": 1, "iscrowd": 0, "id": 3},
        {"image_id": 9, "bbox": [50, 50, 10, 10], "category_id": 1, "ignore": 1, "id": 4},
        {"image_id": 9, "bbox": [50, 50, 10, 10], "category_id": 5, "id": 5}],
      "categories": [{"id": 3, "name": "dog"}, {"id": 1, "name": "cat"}]})");
    const Dataset d = load_dataset(dir.file("a.json"), quiet());
    EXPECT_EQ(d.class_names, (std::vector<std::string>{"cat", "dog"}));  // category id order
    ASSERT_EQ(d.images.size(), 2u);
    EXPECT_EQ(d.images[0].image_path, dir.file("x.jpg"));
    EXPECT_EQ(d.images[0].width, 200);
    ASSERT_EQ(d.images[0].boxes.size(), 1u);  // crowd left out, zero-width skipped
    expect_box(d.images[0].boxes[0], 1, .2f, .35f, .2f, .5f);
    ASSERT_EQ(d.images[1].boxes.size(), 1u);
    EXPECT_TRUE(d.images[1].boxes[0].difficult);
    EXPECT_EQ(d.report.boxes, 2u);
    EXPECT_EQ(d.report.skipped_boxes, 2u);  // zero width, unknown category
}

TEST(DatasetCoco, MalformedJsonNamesFileAndLine) {
    TempDir dir;
    write_file(dir.file("bad.json"), "{\n\"images\": [\n{\"file_name\": \"x.jpg\",,}\n]}");
    expect_error_mentions([&] { load_dataset(dir.file("bad.json")); }, {"bad.json:3", "malformed JSON"});
    write_file(dir.file("shape.json"), R"({"images": [{"file_name": "x.jpg", "width": 1, "height": 1, "id": 1}],
        "annotations": [{"image_id": 1, "bbox": [1, 2, 3], "category_id": 1}], "categories": []})");
    expect_error_mentions([&] { load_dataset(dir.file("shape.json"), quiet()); }, {"shape.json", "annotations[0]", "bbox"});
}

TEST(DatasetMerge, ClassesMergedByName) {
    TempDir dir;
    fs::create_directories(dir.path() / "voc/Annotations");
    write_file(dir.file("voc/Annotations/a.xml"), voc_xml("a.jpg", 10, 10, voc_object("dog", 1, 1, 5, 5)));
    write_file(dir.file("c.json"), R"({"images": [{"file_name": "x.jpg", "width": 10, "height": 10, "id": 1}],
        "annotations": [{"image_id": 1, "bbox": [1, 1, 3, 3], "category_id": 1},
                        {"image_id": 1, "bbox": [1, 1, 3, 3], "category_id": 2}],
        "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}]})");
    const Dataset d = load_datasets({(dir.path() / "voc").string(), dir.file("c.json")}, quiet());
    EXPECT_EQ(d.class_names, (std::vector<std::string>{"dog", "cat"}));
    ASSERT_EQ(d.images.size(), 2u);
    EXPECT_EQ(d.images[1].boxes.at(0).class_id, 1);
    EXPECT_EQ(d.images[1].boxes.at(1).class_id, 0);
    EXPECT_EQ(d.report.boxes, 3u);
    EXPECT_EQ(count_boxes_per_class(d), (std::vector<size_t>{2, 1}));
}

TEST(DatasetDispatch, MissingOrUnrecognisedPaths) {
    TempDir dir;
    expect_error_mentions([&] { load_dataset(dir.file("nope")); }, {"nope", "no such file"});
    expect_error_mentions([&] { load_dataset(dir.path().string()); }, {"Annotations"});
}

// ---- the shared real data ---------------------------------------------------------------

TEST(DatasetRealData, BccdSplits) {
    YOLO9K_REQUIRE_SHARED_DATA();
    const std::string bccd = test::shared_data_dir() + "/bccd";
    DatasetOptions o = quiet();
    o.split = "trainval";
    const Dataset trainval = load_dataset(bccd, o);
    EXPECT_EQ(trainval.class_names, (std::vector<std::string>{"Platelets", "RBC", "WBC"}));
    EXPECT_EQ(trainval.report.images, 292u);
    EXPECT_EQ(trainval.report.boxes, 3941u);
    EXPECT_EQ(trainval.report.skipped_boxes, 2u);  // BloodImage_00338 and _00343: zero size
    EXPECT_EQ(count_boxes_per_class(trainval), (std::vector<size_t>{292, 3348, 301}));
    EXPECT_EQ(trainval.report.missing_images, 0u);
    bool named = false;
    for (const auto& w : trainval.report.warnings) named |= w.find("BloodImage_00338.xml:") != std::string::npos;
    EXPECT_TRUE(named);
    o.split = "test";
    const Dataset test = load_dataset(bccd, o);
    EXPECT_EQ(test.report.images, 72u);
    EXPECT_EQ(test.report.boxes, 945u);
    EXPECT_EQ(test.report.skipped_boxes, 0u);
}

TEST(DatasetRealData, Raccoon) {
    YOLO9K_REQUIRE_SHARED_DATA();
    const Dataset d = load_dataset(test::shared_data_dir() + "/raccoon", quiet());
    EXPECT_EQ(d.class_names, (std::vector<std::string>{"raccoon"}));
    EXPECT_EQ(d.report.images, 200u);
    EXPECT_EQ(d.report.boxes, 217u);
    EXPECT_EQ(d.report.missing_images, 0u);
    for (const auto& image : d.images) EXPECT_TRUE(fs::exists(image.image_path)) << image.image_path;
}

TEST(DatasetRealData, VocTrain2007Json) {
    YOLO9K_REQUIRE_SHARED_DATA();
    const Dataset d = load_dataset(test::shared_data_dir() + "/voc-annotations/pascal_train2007.json", quiet());
    EXPECT_EQ(d.class_names.size(), 20u);
    EXPECT_EQ(d.class_names.front(), "aeroplane");
    EXPECT_EQ(d.report.images, 2501u);
    EXPECT_EQ(d.report.boxes, 7844u);
    EXPECT_EQ(d.report.skipped_boxes, 0u);
    const auto per_class = count_boxes_per_class(d);
    EXPECT_EQ(std::accumulate(per_class.begin(), per_class.end(), size_t{0}), 7844u);
}

}  // namespace
}  // namespace yolo9k
