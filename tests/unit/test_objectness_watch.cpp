// The warning of issue 19: boxes found but objectness at their anchors near zero.
#include <gtest/gtest.h>

#include "train/objectness_watch.h"

namespace yolo9k {
namespace {

RegionLossStats step(float objectness, float recall) {
    RegionLossStats s;
    s.avg_obj = objectness;
    s.recall50 = recall;
    s.avg_noobj = 0.003f;
    s.count = 17;
    return s;
}

// The step at which the watch first speaks, or -1.
int64_t first_warning(ObjectnessWatch& watch, int64_t steps, float objectness, float recall, std::string* text = nullptr) {
    int64_t at = -1;
    for (int64_t i = 1; i <= steps; ++i) {
        const std::string w = watch.add(i, step(objectness, recall));
        if (!w.empty() && at < 0) {
            at = i;
            if (text) *text = w;
        } else if (!w.empty()) {
            ADD_FAILURE() << "warned twice, at " << at << " and " << i;
        }
    }
    return at;
}

TEST(ObjectnessWatch, WarnsOnceWhenBoxesAreFoundButNotScored) {
    ObjectnessWatch watch(800);  // raccoon's schedule: the first verdict at step 400
    std::string text;
    EXPECT_EQ(first_warning(watch, 800, 0.02f, 0.8f, &text), 400);
    EXPECT_NE(text.find("0.020"), std::string::npos) << text;
    EXPECT_NE(text.find("80%"), std::string::npos) << text;
    EXPECT_NE(text.find("README"), std::string::npos) << text;
}

TEST(ObjectnessWatch, WaitsForAQuarterOfALongSchedule) {
    ObjectnessWatch watch(4000);
    EXPECT_EQ(first_warning(watch, 2000, 0.02f, 0.8f), 1000);
}

TEST(ObjectnessWatch, SilentWhileLearningOrWhileBoxesAreMissed) {
    ObjectnessWatch learning(800), missing(800);
    EXPECT_EQ(first_warning(learning, 800, 0.2f, 0.8f), -1);   // the demo's detector at step 600: obj .26
    EXPECT_EQ(first_warning(missing, 800, 0.02f, 0.3f), -1);   // not this failure: boxes not found either
}

TEST(ObjectnessWatch, JudgesAWholeWindowNotOneStep) {
    ObjectnessWatch watch(800);
    for (int64_t i = 1; i <= 450; ++i) EXPECT_EQ(watch.add(i, step(0.3f, 0.8f)), "") << i;
    // One bad step after a healthy window: no verdict; a full bad window: one.
    int64_t at = -1;
    for (int64_t i = 451; i <= 800 && at < 0; ++i)
        if (!watch.add(i, step(0.01f, 0.8f)).empty()) at = i;
    EXPECT_GT(at, 451 + 80);  // the mean of the last 100 steps falls below .05 only after ~85 bad ones
    EXPECT_LE(at, 550);
}

}  // namespace
}  // namespace yolo9k
