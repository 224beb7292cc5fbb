// The daemon's configuration file (TOML). Every stage's section is optional;
// `ghostlog run` runs the stages that are configured.
//
//   data_dir = "/var/lib/ghostlog"
//   [log]      fsync = "always" | "interval", fsync_interval = "1s"   (embedded, the default)
//              backend = "kafka", bootstrap_servers = "...", transactional_id,
//              replication_factor, and librdkafka client properties
//              (security.protocol, sasl.*, ssl.*) passed through
//   [logging]  level = "info"
//   [http]     listen = "127.0.0.1:9187"
//   [source]   capture: dsn, publication, slot, tables, ... (capture.h)
//   [transform] transform: mappings, input_prefix, output_prefix, ... (transform.h)
//   [sink]     sink: dsn, topics, table, auto_create, on_error, ... (sink.h)
//
// Loading is strict: an unknown key, a wrong type or a bad value is an error
// naming the file, the line and the key, and nothing starts.
#pragma once

#include <optional>
#include <string>

#include "ghostlog/capture/capture.h"
#include "ghostlog/log/embedded_log.h"
#include "ghostlog/log/kafka_log.h"
#include "ghostlog/sink/sink.h"
#include "ghostlog/transform/transform.h"

namespace ghostlog::cli {

struct DaemonConfig {
  std::string path;
  std::string data_dir;
  log::FsyncPolicy fsync = log::FsyncPolicy::kAlways;
  std::chrono::milliseconds fsync_interval{1000};
  std::optional<log::KafkaLogOptions> kafka;  // set: the changelog is a Kafka cluster
  std::string log_level = "info";
  std::string http_listen = "127.0.0.1:9187";  // empty: no HTTP endpoint
  std::optional<capture::CaptureConfig> capture;
  std::optional<transform::TransformConfig> transform;
  std::optional<sink::SinkConfig> sink;
};

Result<DaemonConfig> LoadConfig(const std::string& path);

// "30s", "500ms", "5m", "1h" -> milliseconds.
Result<std::chrono::milliseconds> ParseDuration(const std::string& text);

}  // namespace ghostlog::cli
