// Classification-only images for YOLO9000's joint training: images that carry one label
// for the whole picture and no boxes (ImageNet in the paper). The detector trainer mixes
// them into its batches (LoaderOptions::class_share); region_loss trains only their class.
//
// The label is the name of the folder an image sits in (the layout of ImageNet-style
// folders and of torchvision's ImageFolder):
//   * a directory: DIR/<class name>/<image>, for every image file one level down;
//   * a list file (any other file): one image path per line (relative to the list when not
//     found as given), its parent folder's name being its class.
// Class names are matched exactly against `class_names` (the detector's names, e.g. a
// tree's node names): an unknown folder name is an Error naming it (the list: file:line).
#pragma once

#include <string>
#include <vector>

#include "data/dataset.h"

namespace yolo9k {

Dataset load_class_only_images(const std::string& path, const std::vector<std::string>& class_names);

}  // namespace yolo9k
