// `yolo9k weights get`: downloads from a loopback HTTP server (cpp-httplib) started inside
// the test, with the failures a real network produces: 404, a connection cut mid-file (then
// resumed with a Range request), a server that ignores Range, a file that does not fit its
// cfg, and nothing listening at all.
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "network/initialize.h"
#include "support/test_support.h"
#include "weights_cache/fetch_weights.h"

namespace yolo9k {
namespace {

namespace fs = std::filesystem;

// Three layers with weights around a maxpool: a partial file can end after layer 2.
constexpr const char* kSmallCfg = R"([net]
width=32
height=32
channels=3

[convolutional]
batch_normalize=1
filters=8
size=3
stride=1
pad=1
activation=leaky

[maxpool]
size=2
stride=2

[convolutional]
filters=16
size=3
stride=1
pad=1
activation=leaky

[convolutional]
filters=10
size=1
stride=1
pad=1
activation=linear
)";

// Serves `files` on 127.0.0.1 under routes that behave differently:
//   /ok/F       the file, with httplib's own Range support (206 Partial Content)
//   /cut/F      announces the whole length, sends half, then drops the connection
//   /norange/F  ignores Range: always 200 and the whole file (chunked, so httplib cannot
//               apply the range itself)
//   anything else: 404
class LoopbackServer {
public:
    explicit LoopbackServer(std::map<std::string, std::string> files) : files_(std::move(files)) {
        server_.Get(R"(/ok/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
            if (const std::string* body = find(req, res)) res.set_content(*body, "application/octet-stream");
        });
        server_.Get(R"(/cut/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
            const std::string* body = find(req, res);
            if (!body) return;
            res.set_content_provider(body->size(), "application/octet-stream",
                                     [body](size_t offset, size_t, httplib::DataSink& sink) {
                                         const size_t half = body->size() / 2;
                                         if (offset >= half) return false;  // closes the connection
                                         sink.write(body->data() + offset, half - offset);
                                         return true;
                                     });
        });
        server_.Get(R"(/norange/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
            const std::string* body = find(req, res);
            if (!body) return;
            res.status = 200;
            res.set_chunked_content_provider("application/octet-stream", [body](size_t, httplib::DataSink& sink) {
                sink.write(body->data(), body->size());
                sink.done();
                return true;
            });
        });
        server_.set_logger([this](const httplib::Request& req, const httplib::Response&) {
            std::lock_guard<std::mutex> lock(mutex_);
            ranges_.push_back(req.get_header_value("Range"));
        });
        port_ = server_.bind_to_any_port("127.0.0.1");
        if (port_ <= 0) throw std::runtime_error("cannot bind a loopback port");
        thread_ = std::thread([this] { server_.listen_after_bind(); });
        while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ~LoopbackServer() {
        server_.stop();
        thread_.join();
    }

    std::string url(const std::string& route) const { return "http://127.0.0.1:" + std::to_string(port_) + "/" + route; }
    // Each request's Range header ("" when none), in order.
    std::vector<std::string> ranges() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return ranges_;
    }

private:
    const std::string* find(const httplib::Request& req, httplib::Response& res) const {
        const auto f = files_.find(req.matches[1].str());
        if (f != files_.end()) return &f->second;
        res.status = 404;
        return nullptr;
    }

    std::map<std::string, std::string> files_;
    httplib::Server server_;
    std::thread thread_;
    int port_ = 0;
    mutable std::mutex mutex_;
    std::vector<std::string> ranges_;
};

// A loopback port with nothing listening: connections are refused at once.
int closed_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
        throw std::runtime_error("cannot find a free loopback port");
    ::close(fd);
    return ntohs(addr.sin_port);
}

std::string fetch_error(const PublishedWeights& w, const FetchOptions& o) {
    try {
        fetch_published_weights(w, o);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

class WeightsDownload : public ::testing::Test {
protected:
    void SetUp() override {
        const std::string cfg = dir_.file("small.cfg");
        test::write_file(cfg, kSmallCfg);
        Network net = Network::from_cfg_file(cfg);
        initialize_weights(net, 7);
        net.save_weights(dir_.file("full"));
        net.save_weights(dir_.file("head"), 2);
        full_ = test::read_file(dir_.file("full"));
        head_ = test::read_file(dir_.file("head"));
        small_ = {"small", "small.weights", cfg, 0, ""};
        small_head_ = {"small.conv.2", "small.conv.2", cfg, 2, ""};
        server_.emplace(std::map<std::string, std::string>{
            {"small.weights", full_}, {"small.conv.2", head_}, {"wrong.weights", full_ + "xxxx"}});
    }
    FetchOptions options(const std::string& route) {
        return {.base_url = server_->url(route), .home = dir_.file("home"), .on_progress = [this](const FetchProgress& p) {
                    progress_.push_back(p);
                }};
    }
    std::string cached(const std::string& file) const { return dir_.file("home/weights/" + file); }

    test::TempDir dir_;
    std::string full_, head_;
    PublishedWeights small_, small_head_;
    std::optional<LoopbackServer> server_;
    std::vector<FetchProgress> progress_;
};

TEST_F(WeightsDownload, FetchesChecksAndMovesIntoPlaceOnce) {
    const FetchResult r = fetch_published_weights(small_, options("ok"));
    EXPECT_FALSE(r.already_cached);
    EXPECT_EQ(r.path, cached("small.weights"));
    EXPECT_EQ(r.url, server_->url("ok") + "/small.weights");
    EXPECT_EQ(test::read_file(r.path), full_);
    EXPECT_FALSE(fs::exists(r.path + ".part"));
    EXPECT_EQ(r.bytes, full_.size());
    EXPECT_EQ(r.downloaded, full_.size());
    EXPECT_EQ(r.resumed_from, 0u);
    ASSERT_FALSE(progress_.empty());
    EXPECT_EQ(progress_.back().bytes, full_.size());
    EXPECT_EQ(progress_.back().total, full_.size());
    ASSERT_EQ(server_->ranges(), std::vector<std::string>{""});

    // Cached and valid: nothing is requested.
    EXPECT_TRUE(fetch_published_weights(small_, options("ok")).already_cached);
    EXPECT_EQ(server_->ranges().size(), 1u);
    // --force fetches it again.
    FetchOptions force = options("ok");
    force.force = true;
    EXPECT_FALSE(fetch_published_weights(small_, force).already_cached);
    EXPECT_EQ(server_->ranges().size(), 2u);
}

TEST_F(WeightsDownload, InvalidCachedCopyIsFetchedAgain) {
    fs::create_directories(dir_.file("home/weights"));
    test::write_file(cached("small.weights"), full_.substr(0, 100));
    const FetchResult r = fetch_published_weights(small_, options("ok"));
    EXPECT_FALSE(r.already_cached);
    EXPECT_NE(r.replaced.find("inside the weights of layer"), std::string::npos) << r.replaced;
    EXPECT_EQ(test::read_file(r.path), full_);
}

TEST_F(WeightsDownload, NotFoundNamesTheUrlAndStatus) {
    const std::string e = fetch_error(small_, options("missing"));
    EXPECT_NE(e.find(server_->url("missing") + "/small.weights"), std::string::npos) << e;
    EXPECT_NE(e.find("HTTP 404"), std::string::npos) << e;
    EXPECT_FALSE(fs::exists(cached("small.weights")));
    EXPECT_FALSE(fs::exists(cached("small.weights.part")));
}

TEST_F(WeightsDownload, BrokenTransferKeepsThePartAndResumesWithRange) {
    const size_t half = full_.size() / 2;
    const std::string e = fetch_error(small_, options("cut"));
    EXPECT_NE(e.find("broke off after " + std::to_string(half) + " of " + std::to_string(full_.size()) + " bytes"),
              std::string::npos)
        << e;
    EXPECT_NE(e.find("again to resume"), std::string::npos) << e;
    EXPECT_FALSE(fs::exists(cached("small.weights")));
    ASSERT_EQ(test::read_file(cached("small.weights.part")), full_.substr(0, half));

    const FetchResult r = fetch_published_weights(small_, options("ok"));
    EXPECT_EQ(server_->ranges().back(), "bytes=" + std::to_string(half) + "-");
    EXPECT_EQ(r.resumed_from, half);
    EXPECT_EQ(r.downloaded, full_.size() - half);
    EXPECT_FALSE(r.range_ignored);
    EXPECT_EQ(test::read_file(r.path), full_);
    EXPECT_FALSE(fs::exists(cached("small.weights.part")));
}

TEST_F(WeightsDownload, ServerIgnoringRangeRestartsFromTheStart) {
    fs::create_directories(dir_.file("home/weights"));
    test::write_file(cached("small.weights.part"), std::string(100, 'x'));  // not even the right bytes
    const FetchResult r = fetch_published_weights(small_, options("norange"));
    EXPECT_EQ(server_->ranges().back(), "bytes=100-");
    EXPECT_TRUE(r.range_ignored);
    EXPECT_EQ(r.resumed_from, 0u);
    EXPECT_EQ(test::read_file(r.path), full_);
    EXPECT_FALSE(fs::exists(cached("small.weights.part")));
}

TEST_F(WeightsDownload, FileThatDoesNotFitItsCfgIsDeletedNotMovedIntoPlace) {
    const PublishedWeights wrong{"wrong", "wrong.weights", small_.cfg, 0, ""};
    const std::string e = fetch_error(wrong, options("ok"));
    EXPECT_NE(e.find("bytes too many"), std::string::npos) << e;  // the weights reader's words
    EXPECT_NE(e.find(small_.cfg), std::string::npos) << e;
    EXPECT_FALSE(fs::exists(cached("wrong.weights")));
    EXPECT_FALSE(fs::exists(cached("wrong.weights.part")));
}

TEST_F(WeightsDownload, PartialFileMustEndAtItsLayer) {
    const FetchResult r = fetch_published_weights(small_head_, options("ok"));
    EXPECT_EQ(test::read_file(r.path), head_);
    // The full file is not a 2-layer partial one, nor the partial one a full file.
    try {
        check_weights_file(small_head_, dir_.file("full"));
        ADD_FAILURE() << "a full file passed as the first 2 layers";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("the first 2 layers of " + small_.cfg + " need exactly " + std::to_string(head_.size())),
                  std::string::npos)
            << e.what();
    }
    EXPECT_THROW(check_weights_file(small_, dir_.file("head")), Error);
}

TEST_F(WeightsDownload, NothingListeningSaysSoAndSuggestsBaseUrl) {
    const std::string base = "http://127.0.0.1:" + std::to_string(closed_port());
    FetchOptions o = options("ok");
    o.base_url = base;
    const std::string e = fetch_error(small_, o);
    EXPECT_NE(e.find(base + "/small.weights"), std::string::npos) << e;
    EXPECT_NE(e.find("onnect"), std::string::npos) << e;  // curl's "Couldn't connect" / "Connection refused"
    EXPECT_NE(e.find("--base-url"), std::string::npos) << e;
    EXPECT_FALSE(fs::exists(cached("small.weights.part")));
}

// Sets an environment variable for one scope (the CLI inherits it).
class ScopedEnv {
public:
    ScopedEnv(const char* name, const std::string& value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        ::setenv(name, value.c_str(), 1);
    }
    ~ScopedEnv() {
        if (old_) ::setenv(name_, old_->c_str(), 1);
        else ::unsetenv(name_);
    }

private:
    const char* name_;
    std::optional<std::string> old_;
};

TEST(PublishedWeightsTable, NamesDarknetsFilesAndCfgs) {
    for (const auto& w : published_weights()) {
        EXPECT_NO_THROW(read_cfg_file(w.cfg)) << w.name;
        EXPECT_TRUE(w.names.empty() || fs::is_regular_file(w.names)) << w.names;
        EXPECT_EQ(find_published_weights(w.name), &w);
    }
    ASSERT_NE(find_published_weights("darknet19_448.conv.23"), nullptr);
    EXPECT_EQ(find_published_weights("darknet19_448.conv.23")->layers, 23);
    EXPECT_EQ(find_published_weights("yolov2-voc")->file, "yolov2-voc.weights");
    EXPECT_EQ(find_published_weights("yolov2.weights"), nullptr);

    ScopedEnv no_mirror("YOLO9K_WEIGHTS_URL", "");
    EXPECT_EQ(weights_base_url(), "https://pjreddie.com/media/files");
    EXPECT_EQ(weights_base_url("http://mirror/darknet/"), "http://mirror/darknet");
    ScopedEnv mirror("YOLO9K_WEIGHTS_URL", "http://env-mirror/w");
    EXPECT_EQ(weights_base_url(), "http://env-mirror/w");
    EXPECT_EQ(weights_base_url("http://flag"), "http://flag");
    ScopedEnv home("YOLO9K_HOME", "/tmp/y9k");
    EXPECT_EQ(cached_weights_path(*find_published_weights("yolo9000"), yolo9k_home()), "/tmp/y9k/weights/yolo9000.weights");
}

std::string line_starting(const std::string& text, const std::string& prefix) {
    const size_t at = text.rfind("\n" + prefix);
    if (at == std::string::npos) return "";
    return text.substr(at + 1, text.find('\n', at + 1) - at - 1);
}

// The built tool against the loopback server, with a real published name: a file of
// yolov2-tiny-voc's size (zero weights, 63 MB).
class CliWeights : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        // All-zero weights after darknet's 0.2 header: the check reads only the sizes.
        const size_t bytes = Network::from_cfg_file(test::darknet_cfg("yolov2-tiny-voc.cfg")).weights_file_bytes();
        std::string file(bytes, '\0');
        file[4] = 2;  // minor version
        server_ = new LoopbackServer({{"yolov2-tiny-voc.weights", std::move(file)}});
    }
    static void TearDownTestSuite() { delete server_; }
    static LoopbackServer* server_;
};
LoopbackServer* CliWeights::server_ = nullptr;

TEST_F(CliWeights, GetListPathAndDetectByName) {
    test::TempDir home;
    ScopedEnv env("YOLO9K_HOME", home.path().string());
    const std::string cached = home.file("weights/yolov2-tiny-voc.weights");

    auto r = test::run_cli("weights get yolov2-tiny-voc --base-url " + server_->url("ok"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find(cached), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("matches " + test::darknet_cfg("yolov2-tiny-voc.cfg")), std::string::npos) << r.out;
    EXPECT_NE(r.err.find("downloading " + server_->url("ok") + "/yolov2-tiny-voc.weights"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find('\r'), std::string::npos) << "stderr is not a terminal: plain lines only";
    EXPECT_TRUE(fs::is_regular_file(cached));

    r = test::run_cli("weights list");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string row = line_starting(r.out, "yolov2-tiny-voc ");
    EXPECT_NE(row.find(" yes "), std::string::npos) << r.out;
    EXPECT_NE(row.find(" MB "), std::string::npos) << r.out;
    EXPECT_NE(row.find(cached), std::string::npos) << r.out;
    EXPECT_NE(line_starting(r.out, "yolo9000 ").find(" no "), std::string::npos) << r.out;

    r = test::run_cli("weights path yolov2-tiny-voc");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, cached + "\n");

    // --cfg and --names default to Debian's darknet files for the name.
    r = test::run_cli("detect --weights yolov2-tiny-voc --size 128 -q " + test::darknet_data("dog.jpg"));
    EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(CliWeights, MissingNameSaysHowToGetIt) {
    test::TempDir home;
    ScopedEnv env("YOLO9K_HOME", home.path().string());
    auto r = test::run_cli("detect --weights yolov2-voc " + test::darknet_data("dog.jpg"));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("`yolo9k weights get yolov2-voc`"), std::string::npos) << r.err;
    // A plain file still needs --cfg.
    r = test::run_cli("detect --weights " + home.file("x.weights") + " " + test::darknet_data("dog.jpg"));
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--cfg is required"), std::string::npos) << r.err;
}

TEST_F(CliWeights, GetErrorsNameTheUrl) {
    test::TempDir home;
    ScopedEnv env("YOLO9K_HOME", home.path().string());
    ScopedEnv mirror("YOLO9K_WEIGHTS_URL", server_->url("missing"));
    const auto r = test::run_cli("weights get yolov2-tiny-voc");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find(server_->url("missing") + "/yolov2-tiny-voc.weights: the server answered HTTP 404"), std::string::npos)
        << r.err;
    EXPECT_EQ(test::run_cli("weights get yolov3").exit_code, 2);  // not a published name
}

}  // namespace
}  // namespace yolo9k
