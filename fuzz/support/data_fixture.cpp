#include "data_fixture.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "fuzz_support.h"

namespace yolo9k_fuzz {

const std::string& data_fixture() {
    static const std::string dir = [] {
        const std::string& d = scratch_dir();
        write_scratch("images/.keep", "");
        write_scratch("vocxml/.keep", "");
        const cv::Mat img(6, 8, CV_8UC3, cv::Scalar(10, 200, 30));
        cv::imwrite(d + "/images/a.jpg", img);
        cv::imwrite(d + "/images/b.png", img);
        cv::imwrite(d + "/vocxml/a.jpg", img);
        write_scratch("labels/a.txt", "0 0.5 0.5 0.25 0.25\n1 0.1 0.2 0.3 0.4\n");
        write_scratch("train.txt", d + "/images/a.jpg\nimages/b.png\n");
        write_scratch("valid.txt", "images/a.jpg\n");
        write_scratch("obj.names", "a\nb\n");
        write_scratch("coco.json", R"({"images": [{"id": 1, "file_name": "images/a.jpg", "width": 8, "height": 6}],
 "annotations": [{"image_id": 1, "bbox": [1, 1, 3, 2], "category_id": 7, "iscrowd": 0}],
 "categories": [{"id": 7, "name": "a"}]})");
        write_scratch("vocxml/a.xml", R"(<annotation><filename>a.jpg</filename><size><width>8</width><height>6</height></size>
<object><name>a</name><difficult>0</difficult><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>4</xmax><ymax>3</ymax></bndbox></object>
</annotation>)");
        return d;
    }();
    return dir;
}

}  // namespace yolo9k_fuzz
