// librdkafka's mock Kafka cluster (three brokers on loopback ports inside the
// test process) and kcat, for the tests of the Kafka changelog: the log's unit
// tests, the CLI on Kafka and the pipeline on Kafka.
#pragma once

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <array>
#include <cstdio>
#include <string>

namespace ghostlog::testing {

// Owns the cluster; ok() says whether it started. Declare it before anything
// that connects to it, so that it is destroyed after them.
class MockKafka {
 public:
  MockKafka() {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (rk_ != nullptr) mock_ = rd_kafka_mock_cluster_new(rk_, kBrokers);
  }
  ~MockKafka() {
    if (mock_ != nullptr) rd_kafka_mock_cluster_destroy(mock_);
    if (rk_ != nullptr) rd_kafka_destroy(rk_);
  }
  MockKafka(const MockKafka&) = delete;
  MockKafka& operator=(const MockKafka&) = delete;

  bool ok() const { return mock_ != nullptr; }
  std::string bootstraps() const { return rd_kafka_mock_cluster_bootstraps(mock_); }
  rd_kafka_mock_cluster_t* get() const { return mock_; }  // for fault injection
  // Every broker down (connections closed, new ones refused) or up again.
  void SetDown(bool down) {
    for (int32_t id = 1; id <= kBrokers; ++id) {
      if (down) {
        rd_kafka_mock_broker_set_down(mock_, id);
      } else {
        rd_kafka_mock_broker_set_up(mock_, id);
      }
    }
  }
  // The mock has no CreateTopics, so topics are made here, as a site that
  // keeps topic creation to its Kafka operators would.
  ::testing::AssertionResult CreateTopic(const std::string& name, int partitions = 1) {
    const rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mock_, name.c_str(), partitions, 3);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "mock topic " << name << ": " << rd_kafka_err2str(e);
  }

 private:
  static constexpr int kBrokers = 3;
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_mock_cluster_t* mock_ = nullptr;
};

// kcat's output for a topic (`kcat_args`, e.g. "-t orders -p 1"), from the
// beginning to the current end, in `format`; "kcat failed (...)" if it failed.
inline std::string Kcat(const MockKafka& k, const std::string& kcat_args, const std::string& format) {
  const std::string cmd =
      "kcat -q -C -b " + k.bootstraps() + " " + kcat_args + " -o beginning -e -f '" + format + "' 2>&1";
  FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr) return "popen failed";
  std::string out;
  std::array<char, 4096> buf{};
  while (::fgets(buf.data(), buf.size(), f) != nullptr) out += buf.data();
  const int rc = ::pclose(f);
  return rc == 0 ? out : "kcat failed (" + std::to_string(rc) + "): " + out;
}

}  // namespace ghostlog::testing
