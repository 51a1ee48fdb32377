#include "support/training_fixtures.h"

#include <filesystem>
#include <fstream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace yolo9k::test {

namespace fs = std::filesystem;

std::string tiny_detector_cfg(int classes, int max_batches, float lr) {
    std::string s = "[net]\nbatch=4\nsubdivisions=1\nwidth=160\nheight=160\nchannels=3\nmomentum=0.9\ndecay=0.0005\n"
                    "learning_rate=" + std::to_string(lr) + "\nburn_in=0\nmax_batches=" + std::to_string(max_batches) +
                    "\npolicy=constant\nhue=0\nsaturation=1\nexposure=1\n";
    for (int f : {16, 32, 64, 128})
        s += "[convolutional]\nbatch_normalize=1\nfilters=" + std::to_string(f) +
             "\nsize=3\nstride=1\npad=1\nactivation=leaky\n[maxpool]\nsize=2\nstride=2\n";
    s += "[convolutional]\nbatch_normalize=1\nfilters=128\nsize=3\nstride=1\npad=1\nactivation=leaky\n";
    s += "[convolutional]\nfilters=" + std::to_string(3 * (5 + classes)) + "\nsize=1\nstride=1\npad=1\nactivation=linear\n";
    s += "[region]\nanchors=0.7,0.7, 2.2,1.9, 3.8,3.6\nbias_match=1\nclasses=" + std::to_string(classes) +
         "\ncoords=4\nnum=3\nsoftmax=1\njitter=.2\nrescore=1\nobject_scale=5\nnoobject_scale=1\nclass_scale=1\n"
         "coord_scale=1\nabsolute=1\nthresh=.6\nrandom=0\n";
    return s;
}

void write_shapes_dataset(const TempDir& dir, int images) {
    fs::create_directories(dir.path() / "images");
    fs::create_directories(dir.path() / "labels");
    std::string list;
    cv::RNG rng(3);
    for (int i = 0; i < images; ++i) {
        cv::Mat img(96, 128, CV_8UC3, cv::Scalar(40, 40, 40));
        const std::string stem = std::string("s").append(std::to_string(i));  // GCC 12 -Wrestrict misfires on "s" + string&&
        std::ofstream labels(dir.path() / "labels" / (stem + ".txt"));
        for (int k = 0; k < 2; ++k) {
            int w = rng.uniform(16, 40), h = rng.uniform(16, 40), x = rng.uniform(0, 128 - w), y = rng.uniform(0, 96 - h);
            int cls = rng.uniform(0, 2);
            cv::rectangle(img, {x, y, w, h}, cls ? cv::Scalar(255, 0, 0) : cv::Scalar(0, 0, 255), cv::FILLED);
            labels << cls << ' ' << (x + w / 2.f) / 128 << ' ' << (y + h / 2.f) / 96 << ' ' << w / 128.f << ' ' << h / 96.f
                   << '\n';
        }
        const auto path = dir.path() / "images" / (stem + ".jpg");
        cv::imwrite(path.string(), img);
        list += path.string() + "\n";
    }
    write_file(dir.file("train.txt"), list);
    write_file(dir.file("shapes.names"), "red\nblue\n");
    write_file(dir.file("shapes.data"), "classes = 2\ntrain = " + dir.file("train.txt") + "\nvalid = " +
                                            dir.file("train.txt") + "\nnames = " + dir.file("shapes.names") +
                                            "\nbackup = " + dir.file("backup") + "\n");
    write_file(dir.file("tiny.cfg"), tiny_detector_cfg(2, 60, 0.001f));
}

void write_shapes_classification_set(const TempDir& dir, int max_batches) {
    for (int i = 0; i < 12; ++i) {
        const fs::path folder = dir.path() / "shapes" / (i % 2 ? "bright" : "dark");
        fs::create_directories(folder);
        cv::Mat img(24, 28, CV_8UC3, cv::Scalar::all(i % 2 ? 200 - i : 30 + i));
        cv::circle(img, {14, 12}, 5 + i % 3, cv::Scalar(20 * i, 100, 50), cv::FILLED);
        cv::imwrite((folder / (std::to_string(i) + ".png")).string(), img);
    }
    write_file(dir.file("k.cfg"),
               "[net]\nbatch=8\nsubdivisions=2\nwidth=16\nheight=16\nchannels=3\nlearning_rate=0.05\n"
               "policy=steps\nsteps=100\nscales=.1\nmax_batches=" + std::to_string(max_batches) +
                   "\nangle=5\nhue=.05\n"
                   "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
                   "[maxpool]\nsize=2\nstride=2\n[convolutional]\nfilters=2\nsize=1\nstride=1\nactivation=linear\n"
                   "[avgpool]\n[softmax]\n");
}

}  // namespace yolo9k::test
