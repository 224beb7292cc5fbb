// ghostlog produce / consume (kafka-console-producer / -consumer), JSON lines.
#include <signal.h>

#include <algorithm>
#include <iostream>
#include <optional>

#include "cli_common.h"
#include "record_json.h"

namespace ghostlog::cli {
namespace {

using log::TopicPartition;

struct RecordsArgs {
  std::string topic;
  std::optional<PartitionId> partition;
  Format key_format = Format::kJson;
  Format value_format = Format::kJson;
  // consume only
  std::string group;
  bool from_beginning = false;
  std::optional<Offset> offset;
  std::string from_datetime;
  std::optional<int64_t> max_records;
  bool follow = false;
};

// The partition to use, or an error if the topic has several and none was named.
Result<PartitionId> ResolvePartition(log::Changelog& lg, const RecordsArgs& a, const char* what) {
  ASSIGN_OR_RAISE(const int32_t partitions, lg.PartitionCount(a.topic));
  if (!a.partition && partitions > 1) {
    return Status::InvalidArgument("topic " + a.topic + " has " + std::to_string(partitions) + " partitions; " + what +
                                   " needs --partition N");
  }
  const PartitionId p = a.partition.value_or(0);
  RETURN_NOT_OK(lg.DescribePartition({a.topic, p}).status());  // names the missing partition
  return p;
}

Status Produce(const Context& ctx, const RecordsArgs& a) {
  // Open and check the topic before reading stdin, so that a typo or a busy
  // data dir fails at once instead of after the user typed their records.
  ASSIGN_OR_RAISE(auto lg, OpenWriter(ctx));
  ASSIGN_OR_RAISE(PartitionId p, ResolvePartition(*lg, a, "produce (one atomic batch)"));

  // Parse everything first: one bad line means nothing is appended.
  std::vector<log::RecordIn> batch;
  std::string line;
  for (int64_t n = 1; std::getline(std::cin, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto r = ParseRecordLine(line, a.key_format, a.value_format);
    if (!r.ok()) return Status::InvalidArgument("stdin line " + std::to_string(n) + ": " + r.status().message());
    batch.push_back(std::move(r).value());
  }
  if (batch.empty()) {
    std::cout << "produced 0 records to " << a.topic << '[' << p << "]\n";
    return Status::OK();
  }
  ASSIGN_OR_RAISE(auto offsets, lg->Append({a.topic, p}, std::move(batch)));
  std::cout << "produced " << offsets.size() << " record" << (offsets.size() == 1 ? "" : "s") << " to " << a.topic
            << '[' << p << "] at offsets " << offsets.front() << ".." << offsets.back() << '\n';
  return Status::OK();
}

volatile sig_atomic_t g_stop = 0;

void OnSignal(int) { g_stop = 1; }

// SIGINT/SIGTERM end a --follow consume cleanly (exit 0, offsets committed).
// No SA_RESTART, so a blocking read returns and the loop sees g_stop.
void InstallStopHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

struct Cursor {
  TopicPartition tp;
  Offset pos = 0;   // next offset to read
  Offset stop = 0;  // without --follow: the end offset seen at start
};

// Where a partition's consumption starts; see the consume --help text.
Result<Offset> StartOffset(log::Changelog& lg, const RecordsArgs& a, const TopicPartition& tp,
                           std::optional<Timestamp> since) {
  ASSIGN_OR_RAISE(log::PartitionInfo pi, lg.DescribePartition(tp));
  if (a.offset) {
    if (*a.offset < pi.log_start_offset || *a.offset > pi.end_offset) {
      return OffsetOutOfRange(*a.offset, pi.log_start_offset, pi.end_offset, tp.topic, tp.partition);
    }
    return *a.offset;
  }
  if (a.from_beginning) return pi.log_start_offset;
  if (since) return lg.OffsetForTimestamp(tp, *since);
  if (!a.group.empty()) {
    auto c = lg.Committed(a.group, tp);
    // A committed offset that retention has overtaken resumes at the log start.
    if (c.ok()) return std::clamp(c->offset, pi.log_start_offset, pi.end_offset);
    if (!c.status().IsNotFound()) return c.status();
  }
  return pi.end_offset;  // like Kafka's console consumer: only new records
}

Status Consume(const Context& ctx, const RecordsArgs& a) {
  std::optional<Timestamp> since;
  if (!a.from_datetime.empty()) {
    ASSIGN_OR_RAISE(since, ParseDatetime(a.from_datetime));
  }
  // Committing offsets is a write, so a group needs the writer lock.
  ASSIGN_OR_RAISE(auto lg, a.group.empty() ? OpenReader(ctx)
                                           : OpenWriter(ctx, false, "stop it first, or consume without --group"));
  ASSIGN_OR_RAISE(const int32_t partitions, lg->PartitionCount(a.topic));
  if (a.offset && !a.partition && partitions > 1) {
    return Status::InvalidArgument("--offset needs --partition: topic " + a.topic + " has " +
                                   std::to_string(partitions) + " partitions");
  }
  std::vector<Cursor> cursors;
  for (PartitionId p = 0; p < partitions; ++p) {
    if (a.partition && *a.partition != p) continue;
    cursors.push_back({{a.topic, p}, 0, 0});
  }
  if (cursors.empty()) RETURN_NOT_OK(lg->DescribePartition({a.topic, *a.partition}).status());
  for (Cursor& c : cursors) {
    ASSIGN_OR_RAISE(c.pos, StartOffset(*lg, a, c.tp, since));
    ASSIGN_OR_RAISE(log::PartitionInfo pi, lg->DescribePartition(c.tp));
    c.stop = pi.end_offset;
  }
  if (a.follow) InstallStopHandlers();

  int64_t remaining = a.max_records.value_or(INT64_MAX);
  while (remaining > 0 && !g_stop) {
    bool progressed = false;
    for (Cursor& c : cursors) {
      if (remaining == 0) break;
      ASSIGN_OR_RAISE(log::PartitionInfo pi, lg->DescribePartition(c.tp));
      const Offset limit = a.follow ? pi.end_offset : std::min(c.stop, pi.end_offset);
      c.pos = std::max(c.pos, pi.log_start_offset);  // retention may have removed what we had not read
      if (c.pos >= limit) continue;
      ASSIGN_OR_RAISE(auto records, lg->Read(c.tp, c.pos, {std::min<int64_t>(remaining, 500), 4 << 20}));
      // Offsets removed by compaction are gaps: when nothing is left before the
      // limit, jump to it so the committed offset does not lag behind.
      if (records.empty()) c.pos = limit;
      for (const auto& r : records) {
        if (r.offset >= limit) {
          c.pos = limit;
          break;
        }
        std::cout << RecordToJson(c.tp.topic, c.tp.partition, r, a.key_format, a.value_format).dump() << '\n';
        c.pos = r.offset + 1;
        if (--remaining == 0) break;
      }
      std::cout.flush();
      if (!a.group.empty()) RETURN_NOT_OK(lg->CommitOffsets(a.group, {{c.tp, {c.pos, "", 0}}}));
      progressed = true;
    }
    if (!a.follow) {
      if (std::all_of(cursors.begin(), cursors.end(), [](const Cursor& c) { return c.pos >= c.stop; })) break;
    } else if (!progressed) {
      // Short waits keep Ctrl-C responsive; in reader mode each wait also
      // refreshes the view of every partition, not just the first.
      RETURN_NOT_OK(lg->WaitForData(cursors[0].tp, cursors[0].pos, std::chrono::milliseconds(200)).status());
    }
  }
  return Status::OK();
}

void AddFormatOptions(CLI::App* cmd, RecordsArgs& a) {
  // Parsed by hand, not with CLI11's enum mapping, whose errors show the enum's numbers.
  const auto format = [](Format* out, const std::string& option) {
    return [out, option](const std::string& name) {
      if (name == "json") *out = Format::kJson;
      else if (name == "string") *out = Format::kString;
      else if (name == "base64") *out = Format::kBase64;
      else throw CLI::ValidationError(option + " '" + name + "' must be json, string or base64");
    };
  };
  cmd->add_option_function<std::string>("--key-format", format(&a.key_format, "--key-format"),
                                        "Key as json (default), string or base64")
      ->option_text("FORMAT");
  cmd->add_option_function<std::string>("--value-format", format(&a.value_format, "--value-format"),
                                        "Value as json (default), string or base64")
      ->option_text("FORMAT");
}

}  // namespace

void AddRecordsCommands(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<RecordsArgs>();

  auto* produce = app.add_subcommand(
      "produce",
      "Append JSON lines from stdin as one atomic batch: "
      "{\"key\":..., \"value\":...|null, \"headers\":{...}, \"timestamp\":ms}. "
      "Nothing is appended if any line is bad");
  produce->add_option("topic", a->topic, "Topic name")->required();
  produce->add_option("--partition", a->partition, "Partition (required if the topic has several)");
  AddFormatOptions(produce, *a);
  produce->callback([&ctx, a] { ctx.run = [&ctx, a] { return Produce(ctx, *a); }; });

  auto* consume = app.add_subcommand(
      "consume",
      "Print records as JSON lines. Starts at --from-beginning/--offset/--from-datetime if given, else at the "
      "group's committed offset, else at the end (only new records). Bytes that are not UTF-8 are printed as "
      "{\"base64\": \"...\"}");
  consume->add_option("topic", a->topic, "Topic name")->required();
  consume->add_option("--partition", a->partition, "Only this partition (default: all)");
  consume->add_option("--group", a->group,
                      "Consumer group: start at its committed offset and commit after each batch "
                      "(needs the writer lock)");
  auto* start = consume->add_option_group("start", "Where to start");
  start->add_flag("--from-beginning", a->from_beginning, "Start at the log start");
  start->add_option("--offset", a->offset, "Start at this offset");
  start->add_option("--from-datetime", a->from_datetime,
                    "Start at the first record at or after this ISO 8601 time (no offset = UTC)");
  start->require_option(0, 1);
  consume->add_option("--max-records", a->max_records, "Stop after this many records")->check(Positive());
  consume->add_flag("--follow", a->follow, "Keep waiting for new records until Ctrl-C");
  AddFormatOptions(consume, *a);
  consume->callback([&ctx, a] { ctx.run = [&ctx, a] { return Consume(ctx, *a); }; });
}

}  // namespace ghostlog::cli
