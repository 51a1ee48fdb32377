// yolo9k::FrameStream (what `detect --stream-port` serves) over loopback: every /stream client
// reads each published frame as one complete JSON line and its reply ends when the input does;
// /mjpeg sends the annotated frames as JPEG parts; clients beyond the limit get 503; and the
// real command streams a video's frames, then exits 0.
#include <gtest/gtest.h>

#include <yolo9k/error.h>
#include <yolo9k/frame_stream.h>
#include <yolo9k/video.h>

#include <csignal>
#include <future>
#include <memory>
#include <sstream>
#include <thread>

#include <httplib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "support/training_fixtures.h"

namespace yolo9k {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

ImageDetections frame_result(int i) {
    return {"cam#" + std::to_string(i), 64, 48,
            {{.class_id = i % 3, .name = "c" + std::to_string(i % 3), .score = .5f + .01f * i, .objectness = .9f,
              .box = {1.f * i, 2, 30, 40}}}};
}

std::vector<json> json_lines(const std::string& body) {
    std::vector<json> lines;
    std::istringstream in(body);
    for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));  // throws if not whole JSON
    return lines;
}

// Reads a whole streamed reply (it ends when the stream finishes).
std::future<std::pair<int, std::string>> read_stream(int port, const std::string& path) {
    return std::async(std::launch::async, [port, path] {
        httplib::Client c("127.0.0.1", port);
        c.set_read_timeout(30, 0);
        std::string body;
        auto r = c.Get(path.c_str(), [&](const char* data, size_t n) {
            body.append(data, n);
            return true;
        });
        return std::pair(r ? r->status : -1, body.empty() && r ? r->body : body);
    });
}

void wait_for_clients(FrameStream& s, int n) {
    for (int i = 0; i < 500 && s.clients() < n; ++i) std::this_thread::sleep_for(10ms);
    ASSERT_EQ(s.clients(), n);
}

json expected_line(int i, std::int64_t seq) {
    json want = json::parse(to_json_text(frame_result(i)));
    want["frame"] = i;
    want["time_s"] = i / 25.0;
    want["seq"] = seq;
    return want;
}

TEST(FrameStream, EveryClientReadsEachFrameAsOneJsonLineUntilTheInputEnds) {
    FrameStream stream({.port = 0});
    stream.start();
    auto a = read_stream(stream.port(), "/stream");
    auto b = read_stream(stream.port(), "/stream");
    ASSERT_TRUE(stream.wait_for_client(10s));
    ASSERT_NO_FATAL_FAILURE(wait_for_clients(stream, 2));
    for (int i = 0; i < 5; ++i) stream.publish(frame_result(i), i, i / 25.0, cv::Mat());  // no pause: none is lost
    const auto t0 = std::chrono::steady_clock::now();
    stream.finish();
    // The clients have read everything at once: no drain timeout was waited for.
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
    for (auto* reply : {&a, &b}) {
        const auto [status, body] = reply->get();
        ASSERT_EQ(status, 200) << body;
        const std::vector<json> lines = json_lines(body);
        ASSERT_EQ(lines.size(), 5u) << body;
        for (int i = 0; i < 5; ++i) {
            EXPECT_EQ(lines[i]["frame"], i);
            EXPECT_DOUBLE_EQ(lines[i]["time_s"].get<double>(), i / 25.0);
            EXPECT_EQ(lines[i]["file"], "cam#" + std::to_string(i));
            EXPECT_EQ(lines[i], expected_line(i, i));
        }
    }
    EXPECT_EQ(stream.clients(), 0);
    EXPECT_THROW(stream.publish(frame_result(5), 5, 0, cv::Mat()), Error);
}

// A client starts at the next frame (live); frames published while nobody watched are
// counted in "seq" but not kept.
TEST(FrameStream, AClientStartsAtTheNextFrame) {
    FrameStream stream({.port = 0});
    stream.start();
    for (int i = 0; i < 3; ++i) stream.publish(frame_result(i), i, i / 25.0, cv::Mat());
    auto late = read_stream(stream.port(), "/stream");
    ASSERT_TRUE(stream.wait_for_client(10s));
    for (int i = 3; i < 5; ++i) stream.publish(frame_result(i), i, i / 25.0, cv::Mat());
    stream.finish();
    const std::vector<json> lines = json_lines(late.get().second);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0], expected_line(3, 3));
    EXPECT_EQ(lines[1], expected_line(4, 4));
}

TEST(FrameStream, MjpegSendsTheAnnotatedFramesAsJpegParts) {
    FrameStream stream({.port = 0});
    stream.start();
    auto reply = read_stream(stream.port(), "/mjpeg");
    ASSERT_TRUE(stream.wait_for_client(10s));
    const cv::Scalar colours[] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
    for (int i = 0; i < 3; ++i) {
        stream.publish(frame_result(i), i, 0, cv::Mat(48, 64, CV_8UC3, colours[i]));
        std::this_thread::sleep_for(50ms);
    }
    stream.finish();
    const auto [status, body] = reply.get();
    ASSERT_EQ(status, 200) << body;
    std::vector<cv::Mat> frames;
    for (size_t at = 0; (at = body.find("Content-Length: ", at)) != std::string::npos;) {
        const size_t length = std::stoul(body.substr(at + 16));
        const size_t start = body.find("\r\n\r\n", at) + 4;
        ASSERT_LE(start + length, body.size());
        frames.push_back(cv::imdecode(std::vector<uchar>(body.begin() + start, body.begin() + start + length), cv::IMREAD_COLOR));
        at = start + length;
    }
    ASSERT_FALSE(frames.empty());
    EXPECT_EQ(body.rfind("--yolo9kframe\r\nContent-Type: image/jpeg\r\n", 0), 0u);
    EXPECT_TRUE(body.ends_with("--yolo9kframe--\r\n"));  // the closing boundary
    const cv::Mat& last = frames.back();  // the newest frame is always sent
    ASSERT_EQ(last.size(), cv::Size(64, 48));
    const cv::Scalar mean = cv::mean(last);
    EXPECT_NEAR(mean[2], 255, 8);  // red (BGR), the last published
    EXPECT_NEAR(mean[0], 0, 8);
}

TEST(FrameStream, ClientsBeyondTheLimitGet503AndUnknownPathsA404) {
    FrameStream stream({.port = 0, .max_clients = 1});
    stream.start();
    auto first = read_stream(stream.port(), "/stream");
    ASSERT_TRUE(stream.wait_for_client(10s));
    const auto [status, body] = read_stream(stream.port(), "/mjpeg").get();
    EXPECT_EQ(status, 503);
    EXPECT_NE(body.find("stream slots are taken"), std::string::npos) << body;
    httplib::Client c("127.0.0.1", stream.port());
    auto missing = c.Get("/nothing");
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 404);
    EXPECT_EQ(json::parse(missing->body)["status"], 404);
    auto page = c.Get("/");
    ASSERT_TRUE(page);
    EXPECT_NE(page->body.find("/mjpeg"), std::string::npos);
    stream.publish(frame_result(0), 0, 0, cv::Mat());
    stream.finish();
    EXPECT_EQ(json_lines(first.get().second).size(), 1u);
    EXPECT_THROW(FrameStream({.port = 70000}), Error);
}

// The real command: a 6-frame video through `detect --stream-port 0 --stream-wait`; the client
// gets one line per frame, then the reply ends and the command exits 0.
TEST(DetectStreamCli, AVideosFramesArriveAsJsonLinesAndTheCommandExitsZero) {
    test::TempDir dir;
    test::write_shapes_dataset(dir, 2);
    const std::string video = dir.file("clip.avi");
    {
        const cv::Mat image = cv::imread(dir.file("images/s0.jpg"));
        VideoSink sink(video, 10, image.size());
        for (int i = 0; i < 6; ++i) sink.write(image);
    }
    const std::string weights = dir.file("random.weights");
    ASSERT_EQ(test::run_cli("init-weights --cfg " + dir.file("tiny.cfg") + " --out " + weights + " --seed 3", 60).exit_code, 0);
    int err[2];
    ASSERT_EQ(pipe(err), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    struct Reaper {  // a failed assertion below must not leave the command running
        pid_t pid;
        ~Reaper() {
            if (pid > 0) {
                kill(pid, SIGKILL);
                waitpid(pid, nullptr, 0);
            }
        }
    } reaper{pid};
    if (pid == 0) {
        dup2(err[1], 2);
        close(err[0]);
        alarm(60);  // a hang fails the test instead of blocking it
        execl(YOLO9K_CLI_PATH, YOLO9K_CLI_PATH, "detect", "--cfg", dir.file("tiny.cfg").c_str(), "--weights",
              weights.c_str(), "--thresh", "0", "--threads", "1", "-q", "--stream-port", "0", "--stream-wait",
              video.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    close(err[1]);
    std::unique_ptr<FILE, int (*)(FILE*)> stderr_lines(fdopen(err[0], "r"), &std::fclose);
    FILE* lines = stderr_lines.get();
    ASSERT_NE(lines, nullptr);
    char buffer[512];
    int port = 0;
    std::string transcript;
    while (port == 0 && std::fgets(buffer, sizeof buffer, lines)) {
        transcript += buffer;
        std::sscanf(buffer, "yolo9k detect: streaming on http://127.0.0.1:%d", &port);
    }
    ASSERT_GT(port, 0) << transcript;
    const auto [status, body] = read_stream(port, "/stream").get();
    int exit_status = 0;
    ASSERT_EQ(waitpid(pid, &exit_status, 0), pid);
    reaper.pid = 0;
    while (std::fgets(buffer, sizeof buffer, lines)) transcript += buffer;
    ASSERT_TRUE(WIFEXITED(exit_status)) << transcript;
    EXPECT_EQ(WEXITSTATUS(exit_status), 0) << transcript;
    ASSERT_EQ(status, 200);
    const std::vector<json> frames = json_lines(body);
    ASSERT_EQ(frames.size(), 6u) << body;
    for (int i = 0; i < 6; ++i) {
        EXPECT_EQ(frames[i]["frame"], i);
        EXPECT_EQ(frames[i]["seq"], i);
        EXPECT_EQ(frames[i]["file"], video + "#" + std::to_string(i));
        EXPECT_FALSE(frames[i]["detections"].empty());  // thresh 0 keeps boxes
    }
}

}  // namespace
}  // namespace yolo9k
