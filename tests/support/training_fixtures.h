// Small training setups shared by the unit and oracle tests.
#pragma once

#include <string>

#include "support/test_support.h"

namespace yolo9k::test {

// A small YOLOv2 (5 convs + BN + leaky, 4 maxpools: stride 16 at 160 px, 3 anchors sized
// for blood cells) with `classes` classes.
std::string tiny_detector_cfg(int classes, int max_batches, float learning_rate);

// Synthetic shapes in `dir`: `images` JPEGs (128x96) with two filled rectangles each (red:
// class 0, blue: class 1), YOLO labels in labels/, train.txt, shapes.names, shapes.data
// (backup = dir/backup) and tiny.cfg (2 classes, 60 batches, lr .001).
void write_shapes_dataset(const TempDir& dir, int images);

// A two-class classification set in dir/shapes/{bright,dark}/ (12 small PNGs) and k.cfg: a
// BN conv, maxpool, 1x1 conv, avgpool, softmax at 16 px, batch 8 / subdivisions 2, lr .05,
// `max_batches` steps.
void write_shapes_classification_set(const TempDir& dir, int max_batches);

}  // namespace yolo9k::test
