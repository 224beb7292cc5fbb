#include "checkpoint.h"

#include <nlohmann/json.hpp>

namespace ghostlog::capture {

std::string Checkpoint::Encode() const {
  nlohmann::json j;
  j["lsn"] = pgoutput::FormatLsn(lsn);
  if (snapshot) {
    nlohmann::json s{{"done", snapshot->done},
                     {"consistent_point", pgoutput::FormatLsn(snapshot->consistent_point)},
                     {"tables_done", snapshot->tables_done},
                     {"in_progress", snapshot->in_progress},
                     {"rows", snapshot->rows}};
    j["snapshot"] = std::move(s);
  }
  if (!inflight.empty()) {
    nlohmann::json ranges = nlohmann::json::array();
    for (const auto& r : inflight) ranges.push_back({{"topic", r.topic}, {"first", r.first}, {"last", r.last}});
    j["inflight"] = {{"xid", inflight_xid}, {"ranges", std::move(ranges)}};
  }
  return j.dump();
}

Result<Checkpoint> Checkpoint::Decode(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("capture checkpoint is not JSON");
  Checkpoint c;
  try {
    ASSIGN_OR_RAISE(c.lsn, pgoutput::ParseLsn(j.at("lsn").get<std::string>()));
    if (j.contains("snapshot")) {
      const auto& s = j["snapshot"];
      SnapshotProgress p;
      p.done = s.at("done").get<bool>();
      ASSIGN_OR_RAISE(p.consistent_point, pgoutput::ParseLsn(s.at("consistent_point").get<std::string>()));
      p.tables_done = s.at("tables_done").get<std::vector<std::string>>();
      p.rows = s.value("rows", int64_t{0});
      if (s.contains("in_progress")) p.in_progress = s["in_progress"].get<std::map<std::string, std::string>>();
      // Written before tables were read in parallel: at most one in progress.
      if (s.contains("last_key") && !s.value("current_table", "").empty())
        p.in_progress[s["current_table"].get<std::string>()] = s["last_key"].get<std::string>();
      c.snapshot = std::move(p);
    }
    if (j.contains("inflight")) {
      c.inflight_xid = j["inflight"].at("xid").get<uint32_t>();
      for (const auto& r : j["inflight"].at("ranges")) {
        c.inflight.push_back(
            {r.at("topic").get<std::string>(), r.at("first").get<log::Offset>(), r.at("last").get<log::Offset>()});
      }
    }
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(std::string("capture checkpoint: ") + e.what());
  }
  return c;
}

}  // namespace ghostlog::capture
