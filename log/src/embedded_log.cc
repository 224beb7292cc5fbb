// State encodings and the public factory.
#include <nlohmann/json.hpp>

#include "embedded_log_impl.h"
#include "keys.h"

namespace ghostlog::log {

std::string PartitionState::Encode() const {
  std::string s;
  s.reserve(40);
  for (int64_t v : {next_offset, log_start, records, bytes, max_timestamp}) {
    keys::PutBE(&s, static_cast<uint64_t>(v), 8);
  }
  return s;
}

Result<PartitionState> PartitionState::Decode(std::string_view s) {
  if (s.size() != 40) return Status::Corruption("partition state is " + std::to_string(s.size()) + " bytes, want 40");
  PartitionState p;
  int64_t* fields[] = {&p.next_offset, &p.log_start, &p.records, &p.bytes, &p.max_timestamp};
  for (int i = 0; i < 5; ++i) *fields[i] = static_cast<int64_t>(keys::GetBE(s, 8 * i, 8));
  return p;
}

std::string TopicState::Encode() const {
  nlohmann::json j;
  j["id"] = id;
  j["name"] = name;
  j["partitions"] = partitions;
  j["config"] = config.ToMap();
  return j.dump();
}

Result<TopicState> TopicState::Decode(std::string_view s) {
  auto j = nlohmann::json::parse(s, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("topic metadata is not JSON");
  TopicState t;
  try {
    t.id = j.at("id").get<uint32_t>();
    t.name = j.at("name").get<std::string>();
    t.partitions = j.at("partitions").get<int32_t>();
    for (const auto& [k, v] : j.at("config").items()) {
      RETURN_NOT_OK(t.config.Set(k, v.get<std::string>()).WithContext("topic '" + t.name + "'"));
    }
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(std::string("topic metadata: ") + e.what());
  }
  return t;
}

Result<std::unique_ptr<EmbeddedLog>> EmbeddedLog::Open(EmbeddedLogOptions options) {
  if (options.data_dir.empty()) return Status::InvalidArgument("no data dir given");
  auto log = std::make_unique<EmbeddedLogImpl>(std::move(options));
  RETURN_NOT_OK(log->OpenImpl());
  return std::unique_ptr<EmbeddedLog>(std::move(log));
}

EmbeddedLog::~EmbeddedLog() = default;

}  // namespace ghostlog::log
