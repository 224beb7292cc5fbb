#include "cli_common.h"

#include <chrono>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <iostream>

#include "config.h"
#include "ghostlog/log/kafka_log.h"

namespace ghostlog::cli {
namespace {

// The changelog a command works on: a data dir, or a Kafka cluster.
struct Target {
  std::string data_dir;
  std::optional<log::KafkaLogOptions> kafka;
};

// `txn_suffix`: the command writes transactions (checkpoints), under the
// daemon's transactional.id with this suffix.
Result<Target> Resolve(const Context& ctx, const std::string& txn_suffix = "") {
  if (ctx.config_path.empty()) return Target{ctx.data_dir, std::nullopt};
  ASSIGN_OR_RAISE(DaemonConfig c, LoadConfig(ctx.config_path));
  Target t{c.data_dir, std::move(c.kafka)};
  // The daemon's transactional.id stays the daemon's: a second producer with
  // it would fence the running one. Appends need no transaction.
  if (t.kafka) t.kafka->transactional_id = txn_suffix.empty() ? "" : t.kafka->transactional_id + txn_suffix;
  return t;
}

Result<std::unique_ptr<log::Changelog>> OpenKafka(log::KafkaLogOptions o) {
  ASSIGN_OR_RAISE(auto k, log::KafkaLog::Open(std::move(o)));
  return std::unique_ptr<log::Changelog>(std::move(k));
}

log::EmbeddedLogOptions BaseOptions(const std::string& data_dir, log::OpenMode mode) {
  log::EmbeddedLogOptions o;
  o.data_dir = data_dir;
  o.mode = mode;
  // A CLI command is short-lived: cleanup runs only when asked (compact, retention).
  o.cleanup_interval = std::chrono::milliseconds(0);
  return o;
}

// Reads `n` digits at `pos` of `s` into *out; false if they are not all digits.
bool Digits(const std::string& s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  std::from_chars(s.data() + pos, s.data() + pos + n, *out);
  return true;
}

}  // namespace

CLI::Validator Positive() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        int64_t v = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        return ec == std::errc() && p == s.data() + s.size() && v >= 1 ? "" : "must be an integer >= 1, got " + s;
      },
      "N>=1");
}

namespace {

Result<std::unique_ptr<EmbeddedLog>> ReaderOn(const std::string& data_dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(data_dir, ec)) return Status::NotFound("data dir " + data_dir + " does not exist");
  return EmbeddedLog::Open(BaseOptions(data_dir, log::OpenMode::kReader));
}

Result<std::unique_ptr<EmbeddedLog>> WriterOn(const std::string& data_dir, bool create_if_missing,
                                              const std::string& busy_hint) {
  auto o = BaseOptions(data_dir, log::OpenMode::kWriter);
  o.create_if_missing = create_if_missing;
  auto opened = EmbeddedLog::Open(std::move(o));
  if (opened.ok() || !opened.status().IsBusy()) return opened;
  return Status::Busy(opened.status().message() + " (a running ghostlog); " +
                      (busy_hint.empty() ? "stop it first, or use a read-only command" : busy_hint));
}

Status NotOnKafka(const Context& ctx, const std::string& command) {
  return Status::NotSupported(command + " works on the embedded changelog only; " + ctx.config_path +
                              " names a Kafka cluster ([log] backend = \"kafka\"), whose brokers compact, apply "
                              "retention and check their own logs (cleanup.policy, retention.ms)");
}

}  // namespace

Result<std::unique_ptr<log::Changelog>> OpenReader(const Context& ctx) {
  ASSIGN_OR_RAISE(Target t, Resolve(ctx));
  if (t.kafka) return OpenKafka(std::move(*t.kafka));
  ASSIGN_OR_RAISE(auto lg, ReaderOn(t.data_dir));
  return std::unique_ptr<log::Changelog>(std::move(lg));
}

Result<std::unique_ptr<log::Changelog>> OpenWriter(const Context& ctx, bool create_if_missing,
                                                   const std::string& busy_hint) {
  ASSIGN_OR_RAISE(Target t, Resolve(ctx));
  if (t.kafka) return OpenKafka(std::move(*t.kafka));
  ASSIGN_OR_RAISE(auto lg, WriterOn(t.data_dir, create_if_missing, busy_hint));
  return std::unique_ptr<log::Changelog>(std::move(lg));
}

Result<std::unique_ptr<log::Changelog>> OpenCopyTarget(const Context& ctx) {
  ASSIGN_OR_RAISE(Target t, Resolve(ctx, ".copy"));
  if (t.kafka) return OpenKafka(std::move(*t.kafka));
  ASSIGN_OR_RAISE(auto lg, WriterOn(t.data_dir, true, "stop it first"));
  return std::unique_ptr<log::Changelog>(std::move(lg));
}

Result<std::unique_ptr<EmbeddedLog>> OpenEmbeddedReader(const Context& ctx, const std::string& command) {
  ASSIGN_OR_RAISE(Target t, Resolve(ctx));
  if (t.kafka) return NotOnKafka(ctx, command);
  return ReaderOn(t.data_dir);
}

Result<std::unique_ptr<EmbeddedLog>> OpenEmbeddedWriter(const Context& ctx, const std::string& command) {
  ASSIGN_OR_RAISE(Target t, Resolve(ctx));
  if (t.kafka) return NotOnKafka(ctx, command);
  return WriterOn(t.data_dir, false, "");
}

Status OffsetOutOfRange(Offset offset, Offset start, Offset end, const std::string& topic, PartitionId p) {
  return Status::OutOfRange("offset " + std::to_string(offset) + " is out of range [" + std::to_string(start) +
                            ", " + std::to_string(end) + "] for topic " + topic + " partition " +
                            std::to_string(p));
}

Result<Timestamp> ParseDatetime(const std::string& s) {
  using namespace std::chrono;
  const Status bad = Status::InvalidArgument("bad datetime '" + s +
                                             "': expected ISO 8601 such as 2026-01-31T12:00:00Z");
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!Digits(s, 0, 4, &y) || s.size() < 10 || s[4] != '-' || !Digits(s, 5, 2, &mo) || s[7] != '-' ||
      !Digits(s, 8, 2, &d)) {
    return bad;
  }
  const year_month_day date{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!date.ok()) return bad;
  int64_t ms = duration_cast<milliseconds>(sys_days{date}.time_since_epoch()).count();
  if (s.size() == 10) return ms;  // a date alone: midnight UTC

  if (s.size() < 19 || s[10] != 'T' || !Digits(s, 11, 2, &h) || s[13] != ':' || !Digits(s, 14, 2, &mi) ||
      s[16] != ':' || !Digits(s, 17, 2, &sec) || h > 23 || mi > 59 || sec > 60) {
    return bad;
  }
  ms += ((h * 60LL + mi) * 60 + sec) * 1000;
  size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {  // fraction: keep milliseconds, drop the rest
    size_t n = 0;
    while (pos + 1 + n < s.size() && std::isdigit(static_cast<unsigned char>(s[pos + 1 + n]))) ++n;
    if (n == 0) return bad;
    for (size_t i = 0, scale = 100; i < 3 && i < n; ++i, scale /= 10) ms += (s[pos + 1 + i] - '0') * scale;
    pos += 1 + n;
  }
  if (pos == s.size() || (s[pos] == 'Z' && pos + 1 == s.size())) return ms;
  // Offset from UTC: +HH:MM or +HHMM; local time = UTC + offset.
  int oh = 0, om = 0;
  const bool colon = s.size() == pos + 6;
  if ((s[pos] != '+' && s[pos] != '-') || !Digits(s, pos + 1, 2, &oh) || (colon && s[pos + 3] != ':') ||
      !Digits(s, pos + (colon ? 4 : 3), 2, &om) || s.size() != pos + (colon ? 6 : 5) || oh > 23 || om > 59) {
    return bad;
  }
  const int64_t offset_ms = (oh * 60LL + om) * 60 * 1000;
  return s[pos] == '+' ? ms - offset_ms : ms + offset_ms;
}

Status ApplyConfig(log::TopicConfig& config, const std::string& setting) {
  const size_t eq = setting.find('=');
  if (eq == std::string::npos || eq == 0) {
    return Status::InvalidArgument("--config '" + setting + "' must be key=value");
  }
  return config.Set(setting.substr(0, eq), setting.substr(eq + 1));
}

void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    if (row.size() > width.size()) width.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    std::cout << line << '\n';
  }
}

}  // namespace ghostlog::cli
