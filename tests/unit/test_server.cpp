// yolo9k::Server (what `yolo9k serve` runs) over loopback with cpp-httplib's client: the
// detections equal the Detector's, concurrent requests are batched, every client mistake gets a
// 4xx with a JSON error, the metrics count what happened, and SIGTERM drains a request in flight.
#include <gtest/gtest.h>

#include <yolo9k/detector.h>
#include <yolo9k/error.h>
#include <yolo9k/limits.h>
#include <yolo9k/server.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <future>
#include <random>
#include <thread>
#include <tuple>

#include <httplib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "network/network.h"
#include "support/training_fixtures.h"

namespace yolo9k {
namespace {

using json = nlohmann::json;

// A small random-weights detector (the shapes set's tiny.cfg) and one of its JPEGs.
struct ServedFiles {
    test::TempDir dir;
    std::string cfg, weights, names, jpeg;
    ServedFiles() {
        test::write_shapes_dataset(dir, 2);
        cfg = dir.file("tiny.cfg");
        names = dir.file("shapes.names");
        weights = dir.file("random.weights");
        Network net = Network::from_cfg_file(cfg);
        test::randomize_weights(net, 11);
        net.save_weights(weights);
        jpeg = test::read_file(dir.file("images/s0.jpg"));
    }
};

ServerOptions options_for(const ServedFiles& f) {
    ServerOptions o;
    o.models = {{.name = "shapes", .cfg = f.cfg, .weights = f.weights, .names = f.names}};
    o.port = 0;
    o.threads = 1;
    o.thresh = 0.f;
    o.max_body_bytes = 1 << 20;
    return o;
}

json body_json(const httplib::Result& r) {
    EXPECT_TRUE(r) << "no response";
    if (!r) return {};
    EXPECT_EQ(r->get_header_value("Content-Type").rfind("application/json", 0), 0u) << r->body;
    return json::parse(r->body);
}

std::vector<json> by_class_and_place(const json& detections) {
    std::vector<json> v(detections.begin(), detections.end());
    std::sort(v.begin(), v.end(), [](const json& a, const json& b) {
        return std::tuple(a["class_id"].get<int>(), a["box"][0].get<float>(), a["box"][1].get<float>()) <
               std::tuple(b["class_id"].get<int>(), b["box"][0].get<float>(), b["box"][1].get<float>());
    });
    return v;
}

TEST(Server, DetectionsEqualTheDetectorsAndModelsHealthAndReadinessAnswer) {
    ServedFiles f;
    Server server(options_for(f));
    server.start();
    server.wait_ready();
    httplib::Client client("127.0.0.1", server.port());

    Detector detector({.cfg = f.cfg, .weights = f.weights, .names = f.names, .thresh = 0.2f, .nms = 0.3f, .threads = 1});
    const std::vector<Detection> want = detector.detect(cv::imread(f.dir.file("images/s0.jpg")));
    ASSERT_FALSE(want.empty());
    const json got = body_json(client.Post("/v1/detect?thresh=0.2&nms=0.3", f.jpeg, "image/jpeg"));
    EXPECT_EQ(got["model"], "shapes");
    EXPECT_EQ(got["width"], 128);
    EXPECT_EQ(got["height"], 96);
    ASSERT_EQ(got["detections"].size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
        const json& d = got["detections"][i];
        EXPECT_EQ(d["class_id"], want[i].class_id);
        EXPECT_EQ(d["name"], want[i].name);
        EXPECT_NEAR(d["score"].get<float>(), want[i].score, 1e-6);
        EXPECT_NEAR(d["box"][0].get<float>(), want[i].box.x1, 1e-3);
        EXPECT_NEAR(d["box"][3].get<float>(), want[i].box.y2, 1e-3);
    }
    for (const char* key : {"image_decode", "queue", "inference", "postprocess", "total"})
        EXPECT_GE(got["timing_ms"][key].get<double>(), 0) << key;

    // The same through the named route and as a multipart upload.
    const json named = body_json(client.Post("/v1/models/shapes/detect?thresh=0.2&nms=0.3", f.jpeg, "image/jpeg"));
    EXPECT_EQ(named["detections"], got["detections"]);
    const httplib::MultipartFormDataItems form{{"image", f.jpeg, "s0.jpg", "image/jpeg"}};
    const json multipart = body_json(client.Post("/v1/detect?thresh=0.2&nms=0.3", form));
    EXPECT_EQ(multipart["detections"], got["detections"]);
    EXPECT_EQ(multipart["file"], "s0.jpg");

    const json models = body_json(client.Get("/v1/models"));
    ASSERT_EQ(models["models"].size(), 1u);
    EXPECT_EQ(models["models"][0]["name"], "shapes");
    EXPECT_EQ(models["models"][0]["classes"], 2);
    EXPECT_EQ(models["models"][0]["class_names"], json({"red", "blue"}));
    EXPECT_EQ(models["models"][0]["precision"], "f32");
    EXPECT_EQ(models["models"][0]["batch_sizes"], json({1, 2, 4, 8}));
    EXPECT_EQ(client.Get("/healthz")->status, 200);
    EXPECT_EQ(body_json(client.Get("/readyz"))["ready"], true);

    // The page at / (tests/browser drives it in chromium): HTML that posts to the model
    // routes; only GET.
    const auto page = client.Get("/");
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, 200);
    EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
    EXPECT_NE(page->body.find("/v1/models/${encodeURIComponent(model)}/detect"), std::string::npos);
    const auto post_page = client.Post("/", f.jpeg, "image/jpeg");
    ASSERT_TRUE(post_page);
    EXPECT_EQ(post_page->status, 405);
    EXPECT_EQ(post_page->get_header_value("Allow"), "GET");
}

TEST(Server, EveryClientMistakeGetsA4xxWithAJsonError) {
    ServedFiles f;
    ServerOptions o = options_for(f);
    o.max_body_bytes = 64 << 10;
    Server server(o);
    server.start();
    server.wait_ready();
    httplib::Client client("127.0.0.1", server.port());
    auto expect_error = [](const httplib::Result& r, int status, const std::string& fragment) {
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, status) << r->body;
        const json body = json::parse(r->body, nullptr, false);
        ASSERT_FALSE(body.is_discarded()) << "not JSON: " << r->body;
        EXPECT_EQ(body["status"], status);
        EXPECT_NE(body["error"].get<std::string>().find(fragment), std::string::npos) << body.dump();
    };
    expect_error(client.Post("/v1/detect", "this is not an image", "image/jpeg"), 400, "not a decodable image");
    expect_error(client.Post("/v1/detect", f.jpeg.substr(0, f.jpeg.size() / 2), "image/jpeg"), 400, "truncated");
    expect_error(client.Post("/v1/detect", f.jpeg, "text/plain"), 415, "Content-Type 'text/plain'");
    expect_error(client.Post("/v1/detect", "", "image/png"), 400, "empty body");
    expect_error(client.Post("/v1/detect", std::string(100 << 10, 'x'), "image/jpeg"), 413, "byte limit");
    expect_error(client.Post("/v1/detect?thresh=2", f.jpeg, "image/jpeg"), 400, "thresh='2'");
    expect_error(client.Post("/v1/detect?nms=abc", f.jpeg, "image/jpeg"), 400, "nms='abc'");
    expect_error(client.Post("/v1/models/nope/detect", f.jpeg, "image/jpeg"), 404, "no model named 'nope'");
    expect_error(client.Get("/v1/detect"), 405, "GET is not allowed");
    expect_error(client.Post("/healthz", "x", "text/plain"), 405, "POST is not allowed");
    expect_error(client.Get("/no/such/path"), 404, "no such endpoint");
    // An image whose header claims more pixels than the limit: refused from the header.
    cv::Mat big(1000, 1000, CV_8UC3, cv::Scalar(1, 2, 3));
    std::vector<uchar> png;
    cv::imencode(".png", big, png);
    const std::uint64_t saved = limits().max_image_pixels;
    limits().max_image_pixels = 500 * 500;
    expect_error(client.Post("/v1/detect", std::string(png.begin(), png.end()), "image/png"), 413, "pixel limit");
    limits().max_image_pixels = saved;
    // Still serving after all that.
    EXPECT_EQ(client.Post("/v1/detect", f.jpeg, "image/jpeg")->status, 200);
    const std::string metrics = client.Get("/metrics")->body;
    EXPECT_NE(metrics.find(R"(yolo9k_http_requests_total{code="415",endpoint="detect"} 1)"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find(R"(yolo9k_http_requests_total{code="200",endpoint="detect"} 1)"), std::string::npos);
    EXPECT_NE(metrics.find(R"(yolo9k_http_requests_total{code="404",endpoint="other"} 1)"), std::string::npos);
    EXPECT_NE(metrics.find(R"(yolo9k_queue_depth{model="shapes"} 0)"), std::string::npos);
}

TEST(Server, ConcurrentRequestsShareForwardPassesWithTheSameResults) {
    ServedFiles f;
    ServerOptions o = options_for(f);
    o.max_batch = 4;
    o.batch_wait_ms = 200;  // long enough that 8 simultaneous requests make full batches
    Server server(o);
    server.start();
    server.wait_ready();
    const json want = [&] {
        httplib::Client c("127.0.0.1", server.port());
        return body_json(c.Post("/v1/detect?thresh=0.3&nms=0", f.jpeg, "image/jpeg"))["detections"];
    }();
    ASSERT_FALSE(want.empty());
    std::vector<std::future<json>> replies;
    for (int i = 0; i < 8; ++i)
        replies.push_back(std::async(std::launch::async, [&] {
            httplib::Client c("127.0.0.1", server.port());
            return body_json(c.Post("/v1/detect?thresh=0.3&nms=0", f.jpeg, "image/jpeg"));
        }));
    int largest = 0;
    for (auto& r : replies) {
        const json body = r.get();
        // oneDNN may block a batch of 4 differently from a batch of 1: the same boxes to
        // rounding, in an order that may differ where random weights give near-equal scores
        // (so NMS, which depends on that order, is off here).
        const std::vector<json> got = by_class_and_place(body["detections"]), expected = by_class_and_place(want);
        ASSERT_EQ(got.size(), expected.size());
        for (size_t i = 0; i < got.size(); ++i) {
            EXPECT_EQ(got[i]["class_id"], expected[i]["class_id"]);
            EXPECT_NEAR(got[i]["score"].get<float>(), expected[i]["score"].get<float>(), 1e-5);
            for (int k = 0; k < 4; ++k) EXPECT_NEAR(got[i]["box"][k].get<float>(), expected[i]["box"][k].get<float>(), 1e-3);
        }
        largest = std::max(largest, body["batch_size"].get<int>());
    }
    EXPECT_EQ(largest, 4);
    httplib::Client c("127.0.0.1", server.port());
    const std::string metrics = c.Get("/metrics")->body;
    // 9 images in passes of 1 (the first request) and of 4 or fewer.
    EXPECT_NE(metrics.find(R"(yolo9k_batch_size_sum{model="shapes"} 9)"), std::string::npos) << metrics;
}

// Two models at once: each answers on its own route with its own classes; /v1/detect is
// the first; /v1/models lists both.
TEST(Server, SeveralModelsEachAnswerOnTheirOwnRoute) {
    ServedFiles f;
    test::TempDir other;
    test::write_file(other.file("one.names"), "only\n");
    test::write_file(other.file("one.cfg"), test::tiny_detector_cfg(1, 10, 0.001f));
    Network net = Network::from_cfg_file(other.file("one.cfg"));
    test::randomize_weights(net, 12);
    net.save_weights(other.file("one.weights"));
    ServerOptions o = options_for(f);
    o.models.push_back({.name = "one", .cfg = other.file("one.cfg"), .weights = other.file("one.weights"),
                        .names = other.file("one.names")});
    Server server(o);
    server.start();
    server.wait_ready();
    httplib::Client client("127.0.0.1", server.port());
    const json models = body_json(client.Get("/v1/models"));
    ASSERT_EQ(models["models"].size(), 2u);
    EXPECT_EQ(models["models"][1]["name"], "one");
    EXPECT_EQ(models["models"][1]["classes"], 1);
    const json one = body_json(client.Post("/v1/models/one/detect", f.jpeg, "image/jpeg"));
    EXPECT_EQ(one["model"], "one");
    ASSERT_FALSE(one["detections"].empty());
    for (const json& d : one["detections"]) EXPECT_EQ(d["name"], "only");
    EXPECT_EQ(body_json(client.Post("/v1/detect", f.jpeg, "image/jpeg"))["model"], "shapes");
    EXPECT_EQ(body_json(client.Post("/v1/models/shapes/detect", f.jpeg, "image/jpeg"))["model"], "shapes");
    // Names a server cannot route are refused before anything loads.
    ServerOptions bad = options_for(f);
    bad.models.push_back({.name = "a/b", .cfg = f.cfg, .weights = f.weights});
    EXPECT_THROW(Server{bad}, Error);
    bad.models.back().name = "shapes";
    EXPECT_THROW(Server{bad}, Error);
}

// Raw bytes on a loopback TCP connection; returns what came back before the server closed
// it (or `wait` passed).
std::string exchange(int port, const std::string& bytes, bool half_close, std::chrono::milliseconds wait) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(uint16_t(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        close(fd);
        return "connect failed";
    }
    timeval tv{time_t(wait.count() / 1000), suseconds_t(wait.count() % 1000 * 1000)};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    for (size_t sent = 0; sent < bytes.size();) {
        const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;  // the server may close on a bad request before reading it all
        sent += size_t(n);
    }
    if (half_close) shutdown(fd, SHUT_WR);
    std::string reply;
    char buffer[4096];
    for (ssize_t n; (n = recv(fd, buffer, sizeof buffer, 0)) > 0;) reply.append(buffer, size_t(n));
    close(fd);
    return reply;
}

// A bounded fuzz pass over the wire: random bytes, random mutations of a valid request,
// requests cut short (half-closed), a lying Content-Length, huge headers and URIs. The
// server answers what it can with a 4xx, never a 5xx, and keeps serving.
TEST(Server, MalformedRequestsOnTheWireGetNoCrashAndNo5xx) {
    ServedFiles f;
    ServerOptions o = options_for(f);
    o.read_timeout_s = 1;  // a request cut short waits this long
    Server server(o);
    server.start();
    server.wait_ready();
    const int port = server.port();
    const std::string valid = "POST /v1/detect HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: " +
                              std::to_string(f.jpeg.size()) + "\r\nConnection: close\r\n\r\n" + f.jpeg;
    std::mt19937 random(5);
    std::vector<std::string> cases = {
        "",
        "\r\n\r\n",
        "GET / HTTP/9.9\r\n\r\n",
        "POST /v1/detect HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
        "POST /v1/detect HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "POST /v1/detect HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Type: image/jpeg\r\n\r\nzz\r\nxx\r\n",
        "GET /" + std::string(20000, 'a') + " HTTP/1.1\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nX-Big: " + std::string(100000, 'b') + "\r\n\r\n",
        valid.substr(0, valid.size() / 2),  // a lying Content-Length, then half-closed
    };
    for (int i = 0; i < 40; ++i) {  // random bytes
        std::string junk(size_t(random() % 2000), '\0');
        for (char& c : junk) c = char(random());
        cases.push_back(junk);
    }
    for (int i = 0; i < 60; ++i) {  // a valid request with a few bytes changed
        std::string mutated = valid;
        for (int k = 0; k < 1 + int(random() % 4); ++k) mutated[random() % mutated.size()] = char(random());
        cases.push_back(mutated);
    }
    for (size_t i = 0; i < cases.size(); ++i) {
        const std::string reply = exchange(port, cases[i], true, std::chrono::milliseconds(3000));
        EXPECT_EQ(reply.find("HTTP/1.1 5"), std::string::npos) << "case " << i << " got " << reply.substr(0, 200);
    }
    // Bytes that are not UTF-8 where an error message quotes the request: the JSON writer
    // refused them, and the reply was a 500 (under the sanitizers) or nothing at all (a
    // half-closed socket gets no reply from httplib either way, so this one stays open). The
    // random mutations above met it once ("image/jp\xF9g").
    std::string bad_type = valid;
    bad_type[bad_type.find("image/jpeg") + 8] = char(0xF9);
    const std::string reply = exchange(port, bad_type, false, std::chrono::milliseconds(3000));
    EXPECT_EQ(reply.rfind("HTTP/1.1 415", 0), 0u) << reply.substr(0, 300);
    EXPECT_NE(reply.find("image/jp\xEF\xBF\xBDg"), std::string::npos) << "the byte, replaced by U+FFFD: " << reply;
    httplib::Client client("127.0.0.1", port);
    EXPECT_EQ(client.Get("/healthz")->status, 200);
    EXPECT_EQ(client.Post("/v1/detect", f.jpeg, "image/jpeg")->status, 200);
}

// The real command: SIGTERM while a request waits in the batch queue; the request is
// answered, and the process exits 0.
TEST(ServeCli, SigtermDrainsTheRequestInFlightAndExitsZero) {
    ServedFiles f;
    int out[2];
    ASSERT_EQ(pipe(out), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        alarm(60);  // a hang fails the test instead of blocking it
        execl(YOLO9K_CLI_PATH, YOLO9K_CLI_PATH, "serve", "--cfg", f.cfg.c_str(), "--weights", f.weights.c_str(), "--port",
              "0", "--threads", "1", "--max-batch", "4", "--batch-wait-ms", "1500", static_cast<char*>(nullptr));
        _exit(127);
    }
    close(out[1]);
    FILE* lines = fdopen(out[0], "r");
    ASSERT_NE(lines, nullptr);
    char buffer[512];
    int port = 0;
    bool ready = false;
    std::string transcript;
    while (!ready && std::fgets(buffer, sizeof buffer, lines)) {
        transcript += buffer;
        if (std::sscanf(buffer, "yolo9k serve: listening on http://127.0.0.1:%d", &port) == 1) continue;
        ready = std::string(buffer).find("ready") != std::string::npos;
    }
    ASSERT_TRUE(ready && port > 0) << transcript;
    auto reply = std::async(std::launch::async, [&] {
        httplib::Client c("127.0.0.1", port);
        c.set_read_timeout(30, 0);
        auto r = c.Post("/v1/detect", f.jpeg, "image/jpeg");
        return r ? r->status : -1;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(400));  // the request now waits for a batch
    kill(pid, SIGTERM);
    EXPECT_EQ(reply.get(), 200);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    while (std::fgets(buffer, sizeof buffer, lines)) transcript += buffer;
    std::fclose(lines);
    ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status) << "\n" << transcript;
    EXPECT_EQ(WEXITSTATUS(status), 0) << transcript;
    EXPECT_NE(transcript.find("draining"), std::string::npos) << transcript;
}

TEST(ServeCli, BadOptionsAreClearErrors) {
    ServedFiles f;
    test::CliResult r = test::run_cli("serve --model broken", 30);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("--model 'broken': expected NAME=CFG,WEIGHTS[,NAMES[,CALIBRATION]]"), std::string::npos) << r.err;
    r = test::run_cli("serve --cfg " + f.cfg + " --weights " + f.weights + " --max-body 12XB", 30);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("--max-body: expected an amount such as 20MB or 40M, got '12XB'"), std::string::npos) << r.err;
    r = test::run_cli("serve --cfg " + f.cfg + " --weights " + f.dir.file("missing.weights") + " --port 0", 30);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("missing.weights"), std::string::npos) << r.err;
    r = test::run_cli("serve", 30);
    EXPECT_EQ(r.exit_code, 2);
}

}  // namespace
}  // namespace yolo9k
