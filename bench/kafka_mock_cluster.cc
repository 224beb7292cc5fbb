// Hosts librdkafka's mock Kafka cluster in a process of its own, for the
// benchmark scripts that run `ghostlog run` against it (bench/run-kafka-bench).
//
//   kafka_mock_cluster [--brokers N] TOPIC...
//
// Creates each TOPIC with one partition (replication factor = brokers: the
// mock has no CreateTopics, so topics are made here, as on a site whose
// operators create them), prints the bootstrap servers on one line of stdout,
// and serves until SIGTERM or SIGINT, or until its parent exits.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <sys/prctl.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

int Usage(const char* why) {
  std::fprintf(stderr, "kafka_mock_cluster: %s\nusage: kafka_mock_cluster [--brokers N] TOPIC...\n", why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int brokers = 3;
  std::vector<std::string> topics;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--brokers") {
      if (i + 1 >= argc) return Usage("--brokers needs a number");
      char* end = nullptr;
      const long n = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || n < 1 || n > 16) return Usage("--brokers must be a number from 1 to 16");
      brokers = static_cast<int>(n);
    } else if (!a.empty() && a[0] == '-') {
      return Usage(("unknown option " + a).c_str());
    } else {
      topics.push_back(a);
    }
  }
  // Blocked before the mock starts its threads, so that only sigtimedwait
  // below takes them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // a benchmark script killed outright leaves no cluster behind

  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk == nullptr) {
    std::fprintf(stderr, "kafka_mock_cluster: %s\n", err);
    return 1;
  }
  rd_kafka_mock_cluster_t* mock = rd_kafka_mock_cluster_new(rk, brokers);
  if (mock == nullptr) {
    std::fprintf(stderr, "kafka_mock_cluster: cannot start the mock cluster\n");
    rd_kafka_destroy(rk);
    return 1;
  }
  int rc = 0;
  for (const auto& t : topics) {
    const rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mock, t.c_str(), 1, brokers);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::fprintf(stderr, "kafka_mock_cluster: topic %s: %s\n", t.c_str(), rd_kafka_err2str(e));
      rc = 1;
    }
  }
  if (rc == 0) {
    std::printf("%s\n", rd_kafka_mock_cluster_bootstraps(mock));
    std::fflush(stdout);
    int sig = 0;
    sigwait(&stop, &sig);
  }
  rd_kafka_mock_cluster_destroy(mock);
  rd_kafka_destroy(rk);
  return rc;
}
