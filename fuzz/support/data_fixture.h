// Fixed files the dataset targets point their fuzzed file at, written once per process
// into the scratch folder (names the dictionaries know: images/a.jpg, labels/a.txt,
// train.txt, obj.names, coco.json, vocxml/).
#pragma once

#include <string>

namespace yolo9k_fuzz {

// Creates (once) and returns the scratch folder holding:
//   images/a.jpg, images/b.png  tiny valid images     labels/a.txt   two YOLO boxes
//   train.txt, valid.txt        list files            obj.names      "a", "b"
//   coco.json                   a one-image COCO set  vocxml/a.xml   a VOC XML (+ a.jpg)
const std::string& data_fixture();

}  // namespace yolo9k_fuzz
