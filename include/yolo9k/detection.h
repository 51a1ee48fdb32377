// Public result types of yolo9k detection.
#pragma once

#include <string>
#include <vector>

namespace yolo9k {

// Axis-aligned box in pixels of the original image: (x1, y1) top-left, (x2, y2) bottom-right.
struct Box {
    float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
    float width() const { return x2 - x1; }
    float height() const { return y2 - y1; }
};

struct Detection {
    int class_id = -1;
    std::string name;      // class name from the names file, or the id as text when no names are given
    float score = 0;       // objectness x class probability, as darknet reports it
    float objectness = 0;  // Pr(object) alone
    Box box;
};

struct ImageDetections {
    std::string file;  // source path, or "<source>#<frame>" for video frames
    int width = 0, height = 0;
    std::vector<Detection> detections;
};

// darknet's console report: one "name: NN%" line per detection ("%s: %.0f%%" of score*100).
std::string to_console(const std::vector<Detection>& detections);
std::string to_console(const ImageDetections& image);

// {"file","width","height","detections":[{"class_id","name","score","box":[x1,y1,x2,y2]}]},
// the schema of `yolo9k detect --json`; an array for several. indent < 0: one line.
std::string to_json_text(const ImageDetections& image, int indent = -1);
std::string to_json_text(const std::vector<ImageDetections>& images, int indent = -1);

}  // namespace yolo9k
