// The sink loop: follow the transaction topic, batch whole source
// transactions, apply them with their offset in one target transaction.
#include "ghostlog/sink/sink.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <set>

#include "batch.h"
#include "event_reader.h"
#include "ghostlog/log/fault.h"
#include "ghostlog/log/glob.h"
#include "ghostlog/log/stop_sleep.h"
#include "target.h"

namespace ghostlog::sink {

// Pieces to apply through staging tables after a direct COPY met a key the
// target already had, before trying one again.
constexpr int kDirectCopySkips = 16;

Result<OnError> ParseOnError(const std::string& s) {
  if (s == "stop") return OnError::kStop;
  if (s == "dead_letter") return OnError::kDeadLetter;
  return Status::InvalidArgument("on_error = '" + s + "' must be stop or dead_letter");
}

namespace {
void ReplaceAll(std::string* s, const std::string& from, const std::string& to) {
  for (size_t at = s->find(from); at != std::string::npos; at = s->find(from, at + to.size())) {
    s->replace(at, from.size(), to);
  }
}

// Debezium's placeholder for a column value the source did not send.
bool IsUnavailableValue(const JsonValue& v) {
  return v.kind == JsonValue::Kind::kString && v.text == "__debezium_unavailable_value";
}
}  // namespace

class Sink::Impl {
 public:
  Impl(SinkConfig c, log::Changelog& log) : cfg_(std::move(c)), log_(log) {}

  Status Run(std::stop_token stop) {
    RETURN_NOT_OK(LoadDeadLettered());
    auto backoff = std::chrono::milliseconds(500);
    while (!stop.stop_requested()) {
      Status s = RunOnce(stop);
      const bool was_connected = stats_.connected.exchange(false);
      if (stop.stop_requested()) return Status::OK();
      if (!s.IsUnavailable()) return s;
      if (was_connected) backoff = std::chrono::milliseconds(500);
      spdlog::warn("sink {}: {}; retrying in {} ms", cfg_.name, s.message(), backoff.count());
      stats_.retrying.Set(s.message());
      SleepUntilStopped(stop, backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(30000));
    }
    return Status::OK();
  }

  const SinkStats& stats() const { return stats_; }

 private:
  // --- setup ----------------------------------------------------------------
  Status EnsureOffsetsTable(TargetConn& conn) {
    RETURN_NOT_OK(conn.Exec("CREATE SCHEMA IF NOT EXISTS ghostlog").status());
    RETURN_NOT_OK(
        conn.Exec("CREATE TABLE IF NOT EXISTS ghostlog.sink_offsets (sink text NOT NULL, topic text NOT NULL, "
                  "partition int NOT NULL, next_offset bigint NOT NULL, "
                  "updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (sink, topic, partition))")
            .status());
    // Which changelog the offset counts in (added after the first release: old rows have NULL).
    return conn.Exec("ALTER TABLE ghostlog.sink_offsets ADD COLUMN IF NOT EXISTS changelog_id text").status();
  }

  // The position stored in the target. An offset only means something in the
  // changelog it counts in: a row written from another changelog (the data
  // dir was replaced, or another pipeline feeds this target under the same
  // sink name) is refused rather than read from a wrong position.
  Result<log::Offset> CommittedOffset(TargetConn& conn) {
    ASSIGN_OR_RAISE(changelog_id_, log_.ClusterId());
    ASSIGN_OR_RAISE(PgResult r, conn.Exec("SELECT next_offset, changelog_id FROM ghostlog.sink_offsets WHERE sink = " +
                                          conn.Literal(cfg_.name) + " AND topic = " +
                                          conn.Literal(cfg_.transaction_topic) + " AND partition = 0"));
    if (PQntuples(r.get()) == 1) {
      const std::string stored = PQgetisnull(r.get(), 0, 1) ? changelog_id_ : PQgetvalue(r.get(), 0, 1);
      ASSIGN_OR_RAISE(const bool counts_here, CountsHere(stored));
      if (!counts_here) {
        return Status::InvalidArgument(
            "the target's ghostlog.sink_offsets row for sink '" + cfg_.name + "' counts offsets of changelog " +
            PQgetvalue(r.get(), 0, 1) + ", but this changelog is " + changelog_id_ +
            " (was the data dir replaced, or does another ghostlog write this target under the same sink name?). "
            "To rebuild the target from this changelog: DELETE FROM ghostlog.sink_offsets WHERE sink = '" +
            cfg_.name + "', then restart");
      }
      return static_cast<log::Offset>(std::stoll(PQgetvalue(r.get(), 0, 0)));
    }
    ASSIGN_OR_RAISE(auto info, log_.DescribePartition({cfg_.transaction_topic, 0}));
    return info.log_start_offset;
  }

  // Whether a position counted in changelog `id` holds in this one: it is
  // this one, or this one is a copy of it (`ghostlog log copy` keeps offsets).
  Result<bool> CountsHere(const std::string& id) {
    if (id == changelog_id_) return true;
    ASSIGN_OR_RAISE(auto ids, log::CopiedFrom(log_));
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) return false;
    spdlog::info(
        "sink '{}': the target's position counts offsets of changelog {}, which this changelog {} is a copy of",
        cfg_.name, id, changelog_id_);
    return true;
  }

  bool Selected(const std::string& topic) const { return GlobMatchAny(cfg_.topics, topic); }

  // PREFIX.SCHEMA.TABLE -> target "schema.table" by the configured template.
  // The target table of a topic: cfg_.table's SCHEMA.TABLE placeholders
  // filled, each side on its own (a name may hold a dot).
  Result<std::pair<std::string, std::string>> TargetName(const std::string& topic) {
    if (auto it = target_names_.find(topic); it != target_names_.end()) return it->second;
    const size_t a = topic.find('.'), b = topic.find('.', a == std::string::npos ? a : a + 1);
    if (a == std::string::npos || b == std::string::npos) {
      return Status::InvalidArgument("topic '" + topic + "' is not PREFIX.SCHEMA.TABLE");
    }
    // The source's own names where capture recorded them: a topic's name
    // may have been made legal ("données" in topic v2.public.donn_es).
    std::string schema = topic.substr(a + 1, b - a - 1), table = topic.substr(b + 1);
    auto rec = SchemaRecord(topic);
    if (!rec.ok() && !rec.status().IsNotFound()) return rec.status();
    if (rec.ok() && *rec && (*rec)->value) {
      const auto j = nlohmann::json::parse(*(*rec)->value, nullptr, false);
      if (j.is_object() && j.contains("schema") && j["schema"].is_string() && j.contains("table") &&
          j["table"].is_string()) {
        schema = j["schema"].get<std::string>();
        table = j["table"].get<std::string>();
      }
    }
    const size_t dot = cfg_.table.find('.');
    std::pair<std::string, std::string> name{dot == std::string::npos ? "public" : cfg_.table.substr(0, dot),
                                             cfg_.table.substr(dot == std::string::npos ? 0 : dot + 1)};
    for (std::string* part : {&name.first, &name.second}) {
      ReplaceAll(part, "{prefix}", topic.substr(0, a));
      ReplaceAll(part, "{schema}", schema);
      ReplaceAll(part, "{table}", table);
    }
    return target_names_[topic] = std::move(name);
  }

  Result<TargetTable*> Table(TargetConn& conn, const std::string& topic) {
    ASSIGN_OR_RAISE(auto name, TargetName(topic));
    const std::string qualified = name.first + "." + name.second;
    if (auto it = tables_.find(qualified); it != tables_.end()) return &it->second;
    RETURN_NOT_OK(SettleFirst(conn));
    const auto configured = cfg_.key_columns.find(qualified);
    const auto* keys = configured == cfg_.key_columns.end() ? nullptr : &configured->second;
    auto t = LoadTable(conn, name.first, name.second, keys);
    if (t.status().IsNotFound() && cfg_.auto_create) {
      RETURN_NOT_OK(AutoCreate(conn, topic, name.first, name.second));
      t = LoadTable(conn, name.first, name.second, keys);
    }
    if (!t.ok()) return t.status().WithContext("topic '" + topic + "'");
    return &(tables_[qualified] = std::move(t).value());
  }

  // Adds the columns the target table has gained since it was loaded, and
  // with auto_create first gives it those capture's latest schema has and it
  // lacks. Only adds: the batch's changes refer to the loaded columns by
  // position.
  Status AddNewColumns(TargetConn& conn, const std::string& topic, TargetTable& t) {
    RETURN_NOT_OK(SettleFirst(conn));
    if (cfg_.auto_create) {
      auto columns = SourceColumns(conn, topic);
      if (!columns.ok() && !columns.status().IsNotFound()) return columns.status().WithContext("auto_create");
      for (const SourceColumn& c : columns.ok() ? *columns : std::vector<SourceColumn>{}) {
        if (t.by_name.count(c.name)) continue;
        spdlog::info("sink {}: adding column {} {} to target table {}", cfg_.name, c.name, c.type, t.qualified());
        RETURN_NOT_OK(
            conn.Exec("ALTER TABLE " + t.quoted + " ADD COLUMN IF NOT EXISTS " + conn.Ident(c.name) + " " + c.type)
                .status());
      }
    }
    const auto configured = cfg_.key_columns.find(t.qualified());
    ASSIGN_OR_RAISE(TargetTable now, LoadTable(conn, t.schema, t.table,
                                               configured == cfg_.key_columns.end() ? nullptr : &configured->second));
    for (TargetColumn& c : now.columns) {
      if (t.by_name.count(c.name)) continue;
      spdlog::info("sink {}: target table {} has a new column {}", cfg_.name, t.qualified(), c.name);
      c.key = false;  // the key is the one the batch's changes were made with
      t.by_name[c.name] = t.columns.size();
      t.columns.push_back(std::move(c));
    }
    return Status::OK();
  }

  // A source column as the target gets it: its type in the target's words.
  struct SourceColumn {
    std::string name, type;
    bool key = false;
  };

  // The columns of the latest schema capture recorded for the topic's table;
  // NotFound if there is none.
  Result<std::vector<SourceColumn>> SourceColumns(TargetConn& conn, const std::string& topic) {
    const size_t a = topic.find('.');
    const std::string schema_topic = topic.substr(0, a) + ".schema", source = topic.substr(a + 1);
    ASSIGN_OR_RAISE(auto rec, SchemaRecord(topic));
    if (!rec || !rec->value) return Status::NotFound("no schema for " + source + " in topic '" + schema_topic + "'");
    std::vector<SourceColumn> columns;
    try {  // a schema record not of capture's shape is an error, not a crash
      const auto j = nlohmann::json::parse(*rec->value);
      for (const auto& c : j.at("columns")) {
        // Built-in types have the same OID in every cluster; a user-defined
        // one (an enum, a domain) is numbered by the source and may name
        // another type or none in the target, so its values go into text.
        constexpr uint32_t kFirstNormalObjectId = 16384;
        const auto oid = c.at("type_oid").get<uint32_t>();
        std::string type = "text";
        if (oid < kFirstNormalObjectId) {
          ASSIGN_OR_RAISE(PgResult r, conn.Exec("SELECT format_type(" + std::to_string(oid) + ", " +
                                                std::to_string(c.at("type_modifier").get<int>()) + ")"));
          type = PQgetvalue(r.get(), 0, 0);
          if (type.empty() || type == "???") type = "text";  // a type this PostgreSQL does not have
        }
        columns.push_back({c.at("name").get<std::string>(), std::move(type), c.at("key").get<bool>()});
      }
    } catch (const nlohmann::json::exception& e) {
      return Status::Corruption("the schema of " + source + " at offset " + std::to_string(rec->offset) +
                                " of topic '" + schema_topic + "' is not capture's: " + e.what());
    }
    return columns;
  }

  // Creates the target table from the latest schema capture recorded for it.
  Status AutoCreate(TargetConn& conn, const std::string& topic, const std::string& schema, const std::string& table) {
    auto columns = SourceColumns(conn, topic);
    if (!columns.ok()) return columns.status().WithContext("auto_create");
    std::string cols, keys;
    for (const SourceColumn& c : *columns) {
      cols += (cols.empty() ? "" : ", ") + conn.Ident(c.name) + " " + c.type;
      if (c.key) keys += (keys.empty() ? "" : ", ") + conn.Ident(c.name);
    }
    if (keys.empty())
      return Status::InvalidArgument("auto_create: " + topic.substr(topic.find('.') + 1) + " has no key columns");
    RETURN_NOT_OK(conn.Exec("CREATE SCHEMA IF NOT EXISTS " + conn.Ident(schema)).status());
    spdlog::info("sink {}: creating target table {}.{}", cfg_.name, schema, table);
    return conn
        .Exec("CREATE TABLE IF NOT EXISTS " + conn.Ident(schema) + "." + conn.Ident(table) + " (" + cols +
              ", PRIMARY KEY (" + keys + "))")
        .status();
  }

  // Capture's latest schema record of a table topic PREFIX.SCHEMA.TABLE: the
  // key SCHEMA.TABLE in PREFIX.schema.
  Result<std::optional<log::Record>> SchemaRecord(const std::string& topic) {
    const size_t a = topic.find('.');
    return Latest(topic.substr(0, a) + ".schema", topic.substr(a + 1));
  }

  // The latest record of `key` in a small compacted topic: by the changelog's
  // key index, or, on one without (Kafka), by reading the topic through.
  Result<std::optional<log::Record>> Latest(const std::string& topic, const std::string& key) {
    auto indexed = log_.ReadLatest({topic, 0}, key);
    if (indexed.status().code() != Status::Code::kNotSupported) return indexed;
    return log::ScanForLatest(log_, {topic, 0}, key);
  }

  // --- batching ---------------------------------------------------------------
  // How a piece goes into the target: set-based, or (after the target refused
  // a set-based piece) change by change, to name or dead-letter the culprit.
  enum class Mode { kSetBased, kOneByOne };

  // Reads whole source transactions from the transaction topic into `batch`,
  // applying pieces into the open target transaction as memory fills.
  Status Collect(TargetConn& conn, log::Offset from, Batch* batch, Mode mode, std::stop_token stop) {
    batch->next_offset = from;
    columns_reread_.clear();
    const auto deadline = std::chrono::steady_clock::now() + cfg_.max_batch_delay;
    while (!stop.stop_requested() && batch->events < cfg_.max_batch_events) {
      auto txns = log_.Read({cfg_.transaction_topic, 0}, batch->next_offset, {256, 8 << 20});
      if (txns.status().IsOutOfRange()) {
        return Status::OutOfRange("sink '" + cfg_.name + "' is at offset " + std::to_string(batch->next_offset) +
                                  " of '" + cfg_.transaction_topic +
                                  "', which is outside the topic: " + txns.status().message());
      }
      RETURN_NOT_OK(txns.status());
      if (txns->empty()) {
        RETURN_NOT_OK(SettleFirst(conn));  // nothing to read meanwhile: let the target finish now
        if (batch->transactions > 0 && std::chrono::steady_clock::now() >= deadline) break;
        auto waited = log_.WaitForData({cfg_.transaction_topic, 0}, batch->next_offset,
                                       batch->transactions > 0 ? cfg_.max_batch_delay : std::chrono::milliseconds(200));
        RETURN_NOT_OK(waited.status());
        if (batch->transactions == 0 && *waited <= batch->next_offset) return Status::OK();  // idle: let caller loop
        if (batch->transactions > 0 && *waited <= batch->next_offset) break;
        continue;
      }
      for (const auto& t : *txns) {
        conn.Pump();  // the batch sent before, if any: feed it to the target while this one is read
        RETURN_NOT_OK(AddTransaction(conn, t, batch, mode, stop));
        batch->next_offset = t.offset + 1;
        if (batch->events >= cfg_.max_batch_events) break;
      }
    }
    return Status::OK();
  }

  Status AddTransaction(TargetConn& conn, const log::Record& txn, Batch* batch, Mode mode, std::stop_token stop) {
    if (!txn.value) return Status::OK();
    auto j = nlohmann::json::parse(*txn.value, nullptr, false);
    if (j.is_discarded()) {
      return Status::Corruption("transaction topic '" + cfg_.transaction_topic + "' offset " +
                                std::to_string(txn.offset) + " is not JSON");
    }
    const std::string status = j.value("status", "");
    if (status != "END" && status != "SNAPSHOT") return Status::OK();  // ABORTED ranges are garbage
    ++batch->transactions;
    // An undo's put-back records carry no source commit time (transform/src/undo.h).
    if (const auto ts = j.find("ts_ms"); ts != j.end() && ts->is_number_integer()) {
      batch->last_source_ts_ms = ts->get<int64_t>();
    }
    for (const auto& range : j.value("ranges", nlohmann::json::array())) {
      const std::string topic = range.at("topic").get<std::string>();
      if (!Selected(topic)) continue;
      const log::Offset first = range.at("first").get<log::Offset>(), last = range.at("last").get<log::Offset>();
      ASSIGN_OR_RAISE(TargetTable * table, Table(conn, topic));
      for (log::Offset at = first; at <= last;) {
        auto recs = log_.Read({topic, 0}, at, {std::min<int64_t>(last - at + 1, 10000), 32 << 20});
        if (recs.status().IsOutOfRange() || (recs.ok() && recs->empty())) {
          ASSIGN_OR_RAISE(auto info, log_.DescribePartition({topic, 0}));
          if (info.log_start_offset > at) {  // retention removed the start of the range: the rest is still applied
            spdlog::warn(
                "sink {}: offsets {} to {} of topic '{}' were removed by retention before they were applied; "
                "the target misses those changes",
                cfg_.name, at, std::min(last, info.log_start_offset - 1), topic);
            at = info.log_start_offset;
            continue;
          }
          if (info.end_offset <= last) {
            RETURN_NOT_OK(AwaitRange(topic, txn.offset, last, stop));
            continue;
          }
        }
        RETURN_NOT_OK(recs.status());
        if (recs->empty()) break;  // compaction removed the rest of the range
        for (auto& r : *recs) {
          if (r.offset > last) break;
          if (batch->piece_events >= cfg_.max_batch_events) {
            // Mid-transaction (checked before its next event, so a batch that
            // fills at a transaction's end is one piece): a stop now rolls
            // the open target transaction back.
            if (stop.stop_requested()) return Status::Aborted("stopped inside a source transaction");
            RETURN_NOT_OK(SettleFirst(conn));
            RETURN_NOT_OK(ApplyPiece(conn, batch, mode, false));
            ++stats_.early_pieces;
          }
          RETURN_NOT_OK(AddEvent(conn, *table, topic, r, batch));
        }
        at = recs->back().offset + 1;
      }
    }
    return Status::OK();
  }

  // A transaction's records are written in one atomic write, but may become
  // readable one partition at a time: Kafka commits a transaction partition by
  // partition, so the transaction record can be read before the records it
  // lists. Waits until `topic` reaches `last` (at once on the embedded log).
  Status AwaitRange(const std::string& topic, log::Offset txn_offset, log::Offset last, std::stop_token stop) {
    const auto deadline = std::chrono::steady_clock::now() + kAwaitRange;
    while (!stop.stop_requested()) {
      ASSIGN_OR_RAISE(log::Offset end, log_.WaitForData({topic, 0}, last, std::chrono::milliseconds(200)));
      if (end > last) return Status::OK();
      if (std::chrono::steady_clock::now() >= deadline) {
        return Status::TimedOut("topic '" + topic + "' ends at offset " + std::to_string(end) + ", but offset " +
                                std::to_string(txn_offset) + " of '" + cfg_.transaction_topic +
                                "' lists records up to " + std::to_string(last) + " (waited " +
                                std::to_string(kAwaitRange.count()) + " s for them to become readable)");
      }
    }
    return Status::Aborted("stopped while waiting for a transaction's records");
  }
  static constexpr std::chrono::seconds kAwaitRange{60};

  Status AddEvent(TargetConn& conn, TargetTable& table, const std::string& topic, const log::Record& r, Batch* batch) {
    if (!r.value) return Status::OK();  // tombstones only matter to compaction
    if (Status read = ReadEvent(*r.value, &event_); !read.ok()) return DeadLetterOrStop(topic, r, read.message());
    const std::string& op = event_.op;
    if (op == "t") {
      batch->Truncate(table.qualified());
      return Status::OK();
    }
    if (op == "m") return Status::OK();
    const bool is_delete = op == "d";
    if (!is_delete && op != "c" && op != "u" && op != "r") return DeadLetterOrStop(topic, r, "unknown op '" + op + "'");
    Change c;
    c.is_delete = is_delete;
    c.insert_first = op == "c" || op == "r";
    c.topic = &*topics_.insert(topic).first;
    c.offset = r.offset;
    Status s = is_delete ? KeyLine(table, event_.before, &c) : RowLine(table, event_.after, &c);
    if (s.IsNotFound() && columns_reread_.insert({table.qualified(), missing_column_}).second) {
      // A column the table did not have when it was loaded: the operator may
      // have added it since (the target first, then the source). Once per
      // batch: events that still name it (dead-lettered) do not ask again.
      RETURN_NOT_OK(AddNewColumns(conn, topic, table));
      c.line.clear();
      s = RowLine(table, event_.after, &c);
    }
    if (!s.ok()) return DeadLetterOrStop(topic, r, s.message());
    auto keep_left_out = [&table](const Change& prev, Change* next) {
      if (!prev.is_delete && !next->is_delete && prev.columns != next->columns) KeepLeftOut(table, prev, next);
    };
    if (table.unique_key) {
      batch->Add(table.qualified(), std::move(c), r.key, keep_left_out);
    } else {
      const std::string key = ConfiguredKey(table, c);
      batch->Add(table.qualified(), std::move(c), key, keep_left_out);
    }
    return Status::OK();
  }

  // `c` replaces `prev` (an upsert of the same key) in the batch: the columns
  // `c` leaves out (an unavailable value) keep `prev`'s values, as they would
  // if both were applied in turn.
  static void KeepLeftOut(TargetTable& t, const Change& prev, Change* c) {
    const std::vector<std::string_view> old = Fields(prev.line), now = Fields(c->line);
    std::vector<size_t> shape;
    std::string line;
    size_t i = 0, j = 0;  // into prev's and c's columns, both ascending
    while (i < prev.columns->size() || j < c->columns->size()) {
      const bool take_new =
          j < c->columns->size() && (i == prev.columns->size() || (*c->columns)[j] <= (*prev.columns)[i]);
      const size_t col = take_new ? (*c->columns)[j] : (*prev.columns)[i];
      if (!line.empty() || !shape.empty()) line += '\t';
      line += take_new ? now[j] : old[i];
      shape.push_back(col);
      if (take_new && i < prev.columns->size() && (*prev.columns)[i] == col) ++i;
      take_new ? ++j : ++i;
    }
    c->line = std::move(line);
    c->columns = &*t.shapes.insert(std::move(shape)).first;
  }

  // A COPY text line's fields (a tab inside a value is escaped as \t).
  static std::vector<std::string_view> Fields(std::string_view line) {
    std::vector<std::string_view> fields;
    for (size_t tab; (tab = line.find('\t')) != std::string_view::npos; line.remove_prefix(tab + 1)) {
      fields.push_back(line.substr(0, tab));
    }
    fields.push_back(line);
    return fields;
  }

  // A table keyed by sink.key_columns may get changes under different record
  // keys with the same key columns' values (a source without a primary key,
  // keyed by its whole row): they change one target row, so the batch
  // collapses them by those values (COPY text, tab-separated), last wins.
  static std::string ConfiguredKey(const TargetTable& t, const Change& c) {
    if (c.is_delete) return c.line;  // the key columns, in key_columns order
    const std::vector<std::string_view> fields = Fields(c.line);
    std::string key;
    for (size_t i = 0; i < t.key_columns.size(); ++i) {  // RowLine checked that the row has them all
      const auto at = std::lower_bound(c.columns->begin(), c.columns->end(), t.key_columns[i]) - c.columns->begin();
      if (i > 0) key += '\t';
      key.append(fields[static_cast<size_t>(at)]);
    }
    return key;
  }

  // An upsert's columns and COPY line, in target column order.
  Status RowLine(TargetTable& t, const RowImage& img, Change* c) {
    if (!img.present) return Status::InvalidArgument("event has no row image");
    if (t.last_fields.size() != img.size) t.last_fields.assign(img.size, {});
    order_.clear();
    for (size_t i = 0; i < img.size; ++i) {
      const std::string& name = img.fields[i].name;
      auto& [seen, col] = t.last_fields[i];
      if (seen != name) {
        auto it = t.by_name.find(name);
        if (it == t.by_name.end()) {
          missing_column_ = name;
          return Status::NotFound("column '" + name + "' does not exist in target table " + t.qualified());
        }
        seen = name;
        col = it->second;
      }
      order_.emplace_back(col, i);
    }
    std::sort(order_.begin(), order_.end());
    shape_.clear();
    for (const auto& [col, i] : order_) {
      if (!shape_.empty() && shape_.back() == col) {
        return Status::InvalidArgument("column '" + t.columns[col].name + "' appears twice in the row image");
      }
      // A value the source did not send (an unchanged TOAST value capture
      // had no earlier image of) is left out, so an existing row keeps what
      // it has instead of getting the placeholder as data.
      if (!t.columns[col].key && IsUnavailableValue(img.fields[i].value)) continue;
      shape_.push_back(col);
      if (shape_.size() > 1) c->line += '\t';
      Status s = AppendCopyValue(t.columns[col], img.fields[i].value, &c->line);
      if (!s.ok()) return s.WithContext("table " + t.qualified());
    }
    if (t.last_shape == nullptr || *t.last_shape != shape_) {
      // A configured key has no constraint to refuse a row without it.
      if (!t.unique_key && !std::includes(shape_.begin(), shape_.end(), t.key_columns.begin(), t.key_columns.end())) {
        return Status::InvalidArgument("row image of " + t.qualified() +
                                       " lacks a key column named in sink.key_columns");
      }
      t.last_shape = &*t.shapes.insert(shape_).first;
    }
    c->columns = t.last_shape;
    return Status::OK();
  }

  // A delete's key columns as a COPY line.
  Status KeyLine(const TargetTable& t, const RowImage& img, Change* c) {
    for (size_t k = 0; k < t.key_columns.size(); ++k) {
      const TargetColumn& col = t.columns[t.key_columns[k]];
      const JsonField* f = nullptr;
      for (size_t i = 0; i < img.size && f == nullptr; ++i) {
        if (img.fields[i].name == col.name) f = &img.fields[i];
      }
      if (f == nullptr) return Status::InvalidArgument("delete without key column '" + col.name + "' of " + t.qualified());
      if (k > 0) c->line += '\t';
      Status s = AppendCopyValue(col, f->value, &c->line);
      if (!s.ok()) return s.WithContext("table " + t.qualified());
    }
    c->columns = &t.key_columns;
    return Status::OK();
  }

  // What this sink has dead-lettered before, from the headers of the
  // dead-letter topic's last records: a restart between a dead letter and its
  // batch's commit reads the batch again, and must not set the event aside
  // twice. The events themselves, not a highest offset: a batch applied
  // event by event sets its refused events aside in key order, not offset
  // order. kDeadLetterScan bounds the start-up read and the memory.
  static constexpr log::Offset kDeadLetterScan = 10000;
  Status LoadDeadLettered() {
    auto info = log_.DescribePartition({cfg_.dead_letter_topic, 0});
    if (info.status().IsNotFound()) return Status::OK();
    RETURN_NOT_OK(info.status());
    for (log::Offset at = std::max(info->log_start_offset, info->end_offset - kDeadLetterScan);
         at < info->end_offset;) {
      ASSIGN_OR_RAISE(auto recs, log_.Read({cfg_.dead_letter_topic, 0}, at, {1000, 16 << 20}));
      if (recs.empty()) break;
      for (const auto& r : recs) {
        std::string sink, topic, offset;
        for (const auto& h : r.headers) {
          if (h.key == kSinkHeader) sink = h.value;
          if (h.key == "ghostlog.topic") topic = h.value;
          if (h.key == "ghostlog.offset") offset = h.value;
        }
        log::Offset at_source = -1;
        if (sink != cfg_.name || topic.empty() ||
            std::from_chars(offset.data(), offset.data() + offset.size(), at_source).ec != std::errc()) {
          continue;
        }
        RememberDeadLetter(topic, at_source);
      }
      at = recs.back().offset + 1;
    }
    return Status::OK();
  }
  static constexpr const char* kSinkHeader = "ghostlog.sink";
  // Only the latest offsets can be read again (the batches not committed
  // yet), so the lowest are forgotten past kDeadLetterScan per topic.
  void RememberDeadLetter(const std::string& topic, log::Offset offset) {
    auto& offsets = dead_lettered_[topic];
    offsets.insert(offset);
    while (offsets.size() > static_cast<size_t>(kDeadLetterScan)) offsets.erase(offsets.begin());
  }

  Status DeadLetterOrStop(const std::string& topic, const log::Record& r, const std::string& why) {
    const std::string where = "topic '" + topic + "' offset " + std::to_string(r.offset);
    if (cfg_.on_error == OnError::kStop) return Status::InvalidArgument(where + ": " + why);
    // A batch read again (event by event, after the target refused it) meets
    // the events its first reading set aside: they are not set aside twice.
    if (const auto it = dead_lettered_.find(topic); it != dead_lettered_.end() && it->second.contains(r.offset)) {
      return Status::OK();
    }
    log::TopicConfig c;
    c.retention_ms = -1;
    Status created = log_.CreateTopic(cfg_.dead_letter_topic, 1, c);
    if (!created.ok() && created.code() != Status::Code::kAlreadyExists) return created;
    log::RecordIn dl{r.key, r.value, r.headers, log::kNoTimestamp};
    dl.headers.push_back({"ghostlog.error", why});
    dl.headers.push_back({"ghostlog.topic", topic});
    dl.headers.push_back({"ghostlog.offset", std::to_string(r.offset)});
    dl.headers.push_back({kSinkHeader, cfg_.name});
    RETURN_NOT_OK(log_.Append({cfg_.dead_letter_topic, 0}, {std::move(dl)}).status());
    RememberDeadLetter(topic, r.offset);
    ++stats_.dead_lettered;
    spdlog::warn("sink {}: dead-lettered {}: {}", cfg_.name, where, why);
    return Status::OK();
  }

  // --- applying ---------------------------------------------------------------
  // An empty staging table for `key` shaped like `columns` of `t`: created on
  // first use in this target transaction, emptied when a later piece reuses
  // it (a new table per piece would hold a lock each until the commit).
  Result<std::string> Staging(TargetConn& conn, Batch* batch, const TargetTable& t, const std::string& kind,
                              const std::string& columns) {
    const std::string key = t.qualified() + '\0' + kind + '\0' + columns;
    if (auto it = batch->staging.find(key); it != batch->staging.end()) {
      RETURN_NOT_OK(conn.Exec("TRUNCATE " + it->second).status());
      return it->second;
    }
    std::string name = "ghostlog_stage_" + std::to_string(batch->staging.size());
    RETURN_NOT_OK(conn.Exec("CREATE TEMP TABLE " + name + " ON COMMIT DROP AS SELECT " + columns + " FROM " + t.quoted +
                            " WITH NO DATA")
                      .status());
    batch->staging.emplace(key, name);
    return name;
  }

  // `send`: the segment's last statement is sent, not awaited (see Commit).
  Status ApplySegment(TargetConn& conn, TargetTable& t, const Segment& seg, Batch* batch, bool send) {
    if (seg.truncate_first) RETURN_NOT_OK(conn.Exec("TRUNCATE " + t.quoted).status());
    if (seg.by_key.empty()) return Status::OK();
    // COPY text per statement: deletes, inserts of keys the target cannot
    // have yet, and upserts, each grouped by the columns they carry.
    TargetConn::CopyLines deletes;
    std::map<const std::vector<size_t>*, TargetConn::CopyLines> inserts, upserts;
    // Without a unique key a COPY straight in could not notice a replay.
    const bool direct = t.unique_key && t.direct_copy_skips == 0;
    for (const auto& [key, c] : seg.by_key) {
      TargetConn::CopyLines& lines = c.is_delete                                        ? deletes
                                     : direct && (c.insert_first || seg.truncate_first) ? inserts[c.columns]
                                                                                        : upserts[c.columns];
      lines.push_back(&c.line);
    }
    if (!direct) --t.direct_copy_skips;
    const std::string keys = ColumnList(conn, t, t.key_columns);
    const std::string key_cond = KeyCondition(conn, t);
    if (!deletes.empty()) {
      ASSIGN_OR_RAISE(std::string stage, Staging(conn, batch, t, "d", keys));
      RETURN_NOT_OK(conn.CopyIn("COPY " + stage + " FROM STDIN", deletes));
      RETURN_NOT_OK(Run(conn, "DELETE FROM " + t.quoted + " t USING " + stage + " s WHERE " + key_cond,
                        send && inserts.empty() && upserts.empty()));
    }
    for (auto it = inserts.begin(); it != inserts.end(); ++it) {
      auto& [cols, data] = *it;
      const std::string copy = "COPY " + t.quoted + " (" + ColumnList(conn, t, *cols) + ") FROM STDIN";
      if (send && upserts.empty() && std::next(it) == inserts.end()) {
        // Sent: a key the target already has fails the whole batch, which
        // is then applied again the waiting way below (Settle).
        RETURN_NOT_OK(conn.SendCopyIn(copy, data));
        break;
      }
      // Straight into the table, as fast as a plain COPY. A key the target
      // already has (a replay) undoes it, and those rows go the upsert way.
      RETURN_NOT_OK(conn.Exec("SAVEPOINT ghostlog_copy").status());
      Status s = conn.CopyIn(copy, data);
      if (s.code() == Status::Code::kAlreadyExists) {
        RETURN_NOT_OK(conn.Exec("ROLLBACK TO SAVEPOINT ghostlog_copy").status());
        t.direct_copy_skips = kDirectCopySkips;
        ++stats_.direct_copy_conflicts;
        upserts[cols].insert(upserts[cols].end(), data.begin(), data.end());
        continue;
      }
      RETURN_NOT_OK(s);
      RETURN_NOT_OK(conn.Exec("RELEASE SAVEPOINT ghostlog_copy").status());
    }
    for (auto it = upserts.begin(); it != upserts.end(); ++it) {
      const auto& [cols, data] = *it;
      const bool last = send && std::next(it) == upserts.end();
      const std::string list = ColumnList(conn, t, *cols);
      std::string set;
      for (size_t c : *cols) {
        const std::string id = conn.Ident(t.columns[c].name);
        if (!t.columns[c].key) set += (set.empty() ? "" : ", ") + id + " = EXCLUDED." + id;
      }
      ASSIGN_OR_RAISE(std::string stage, Staging(conn, batch, t, "u", list));
      RETURN_NOT_OK(conn.CopyIn("COPY " + stage + " FROM STDIN", data));
      if (!t.unique_key) {
        // No constraint to conflict on: update the rows that have the key,
        // then insert the keys no row has.
        std::string update_set;
        for (size_t c : *cols) {
          const std::string id = conn.Ident(t.columns[c].name);
          if (!t.columns[c].key) update_set += (update_set.empty() ? "" : ", ") + id + " = s." + id;
        }
        if (!update_set.empty()) {
          RETURN_NOT_OK(
              conn.Exec("UPDATE " + t.quoted + " t SET " + update_set + " FROM " + stage + " s WHERE " + key_cond)
                  .status());
        }
        RETURN_NOT_OK(Run(conn,
                          "INSERT INTO " + t.quoted + " (" + list + ") OVERRIDING SYSTEM VALUE SELECT " + list +
                              " FROM " + stage + " s WHERE NOT EXISTS (SELECT 1 FROM " + t.quoted + " t WHERE " +
                              key_cond + ")",
                          last));
        continue;
      }
      // OVERRIDING SYSTEM VALUE: the source's ids win over a target's
      // GENERATED ALWAYS identity (harmless on tables without one).
      RETURN_NOT_OK(Run(conn,
                        "INSERT INTO " + t.quoted + " (" + list + ") OVERRIDING SYSTEM VALUE SELECT " + list +
                            " FROM " + stage + " ON CONFLICT (" + keys + ") DO " +
                            (set.empty() ? "NOTHING" : "UPDATE SET " + set),
                        last));
    }
    batch->rows += static_cast<int64_t>(seg.by_key.size());
    return Status::OK();
  }

  static Status Run(TargetConn& conn, const std::string& sql, bool send) {
    return send ? conn.Send(sql) : conn.Exec(sql).status();
  }

  // Rows of the target (alias t) and of a staging table (alias s) with the
  // same key. A configured key may hold NULLs, and NULL matches NULL there.
  static std::string KeyCondition(TargetConn& conn, const TargetTable& t) {
    const char* eq = t.unique_key ? " = " : " IS NOT DISTINCT FROM ";
    std::string cond;
    for (size_t k : t.key_columns) {
      const std::string id = conn.Ident(t.columns[k].name);
      cond += (cond.empty() ? "t." : " AND t.") + id + eq + "s." + id;
    }
    return cond;
  }

  static std::string ColumnList(TargetConn& conn, const TargetTable& t, const std::vector<size_t>& cols) {
    std::string list;
    for (size_t c : cols) list += (list.empty() ? "" : ", ") + conn.Ident(t.columns[c].name);
    return list;
  }

  // The target refused a statement and the session is fine: the batch can be
  // applied again another way (a lost session instead resumes from the
  // target's offset after reconnecting).
  static bool Refused(const Status& s, const TargetConn& conn) { return !s.IsUnavailable() && !conn.broken(); }
  Status RollBack(TargetConn& conn) {
    RETURN_NOT_OK(conn.Exec("ROLLBACK").status());
    tables_.clear();  // an auto_create inside the rolled-back transaction is undone too
    return Status::OK();
  }

  Status Begin(TargetConn& conn, Batch* batch) {
    if (batch->begun) return Status::OK();
    RETURN_NOT_OK(conn.Exec("BEGIN").status());
    batch->begun = true;
    return Status::OK();
  }

  // Applies the piece in memory into the open target transaction (BEGIN
  // before the first) and drops it from memory. `send`: its last statement
  // is sent, not awaited.
  Status ApplyPiece(TargetConn& conn, Batch* batch, Mode mode, bool send) {
    Status s = Begin(conn, batch);
    if (s.ok()) s = log::fault::Hit("sink.apply_piece");
    for (auto it = batch->tables.begin(); s.ok() && it != batch->tables.end(); ++it) {
      TargetTable& t = tables_.at(it->first);
      for (const Segment& seg : it->second.segments) {
        const bool last = send && std::next(it) == batch->tables.end() && &seg == &it->second.segments.back();
        s = mode == Mode::kSetBased ? ApplySegment(conn, t, seg, batch, last)
                                    : ApplySegmentOneByOne(conn, t, seg, batch);
        if (!s.ok()) break;
      }
    }
    if (!s.ok()) {
      batch->apply_failed = Refused(s, conn);
      return s;
    }
    batch->ClearPiece();
    return Status::OK();
  }

  // The position, then the last piece, in one target transaction with the
  // data it covers: exactly once. `send`: the last statement is left running
  // and COMMIT comes in Settle, after the next batch has been read.
  Status Commit(TargetConn& conn, Batch* batch, Mode mode, bool send) {
    Status s = Begin(conn, batch);
    if (s.ok()) s = SaveOffset(conn, batch->next_offset);
    if (s.ok()) s = ApplyPiece(conn, batch, mode, send);
    if (s.ok() && !send) s = conn.Exec("COMMIT").status();
    if (!s.ok()) batch->apply_failed = Refused(s, conn);
    return s;
  }

  // Commits the batch Commit left running. If the target refused it (a
  // replayed key its direct COPY met, a value it cannot take), it is rolled
  // back and `rewind_to_` set: it is read again and applied the waiting way,
  // with that way's fallbacks.
  Status Settle(TargetConn& conn) {
    if (!in_flight_) return Status::OK();
    Batch batch = std::move(in_flight_->batch);
    const log::Offset from = in_flight_->from;
    const auto started = in_flight_->started;
    in_flight_.reset();
    Status s = conn.Await();
    if (s.ok()) s = conn.Exec("COMMIT").status();
    if (s.ok()) {
      ++stats_.overlapped_batches;
      Applied(batch, started);
      return Status::OK();
    }
    if (!Refused(s, conn)) return s;  // resumes from the target's offset
    RETURN_NOT_OK(RollBack(conn));
    spdlog::info("sink {}: batch from offset {} refused ({}); applying it again", cfg_.name, from, s.message());
    rewind_to_ = from;
    return Status::OK();
  }
  // Settle, before the batch being read uses the connection.
  Status SettleFirst(TargetConn& conn) {
    RETURN_NOT_OK(Settle(conn));
    if (rewind_to_) return Status::Aborted("the target refused the batch before this one");
    return Status::OK();
  }

  // One target transaction from `pos`. When the target refuses it, it is
  // rolled back and read again from `pos`, applied change by change. When
  // the sink is behind (the batch filled up), the batch's last statement is
  // left running while the next batch is read: the target and this thread
  // work at once, and the next call commits it first.
  Result<log::Offset> ApplyBatch(TargetConn& conn, log::Offset pos, std::stop_token stop) {
    const auto started = std::chrono::steady_clock::now();
    Batch batch;
    Status s = Collect(conn, pos, &batch, Mode::kSetBased, stop);
    Status settled = Settle(conn);
    if (rewind_to_) {  // whatever Collect returned: it read past a batch that is to be applied again
      const log::Offset from = *rewind_to_;
      rewind_to_.reset();
      apply_waiting_at_ = from;
      return from;
    }
    RETURN_NOT_OK(settled);
    if (s.ok() && batch.next_offset == pos) return pos;  // idle
    const bool send = batch.events >= cfg_.max_batch_events && apply_waiting_at_ != pos;
    if (s.ok()) s = Commit(conn, &batch, Mode::kSetBased, send);
    if (s.ok() && send) {
      in_flight_.emplace(InFlight{std::move(batch), pos, started});
      return in_flight_->batch.next_offset;
    }
    if (!s.ok() && batch.apply_failed) {
      RETURN_NOT_OK(RollBack(conn));
      spdlog::warn("sink {}: batch refused ({}); applying it event by event", cfg_.name, s.message());
      batch = Batch{};
      s = Collect(conn, pos, &batch, Mode::kOneByOne, stop);
      if (s.ok()) s = Commit(conn, &batch, Mode::kOneByOne, false);
    }
    RETURN_NOT_OK(s);
    Applied(batch, started);
    return batch.next_offset;
  }

  void Applied(const Batch& batch, std::chrono::steady_clock::time_point started) {
    stats_.batches++;
    stats_.transactions += batch.transactions;
    stats_.events += batch.events;
    stats_.rows_written += batch.rows;
    stats_.committed_offset = batch.next_offset;
    stats_.last_batch_events = batch.events;
    if (batch.last_source_ts_ms > 0) stats_.last_source_ts_ms = batch.last_source_ts_ms;
    stats_.last_batch_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
    // Mirror the position into the changelog's group so `groups describe`
    // shows the sink's lag. Best effort: the target's copy is the truth.
    if (Status m =
            log_.CommitOffsets(cfg_.name, {{{cfg_.transaction_topic, 0}, {batch.next_offset, "mirror of target", 0}}});
        !m.ok()) {
      spdlog::debug("sink {}: mirroring the offset into the changelog failed: {}", cfg_.name, m.ToString());
    }
  }

  // One change as one statement: the slow path that finds which event the
  // target refuses.
  Status ApplyOne(TargetConn& conn, const TargetTable& t, const Change& c) {
    const std::vector<std::optional<std::string>> params = SplitCopyLine(c.line);
    std::string sql;
    if (!t.unique_key) {
      sql = ApplyOneWithoutConstraint(conn, t, c);
    } else if (c.is_delete) {
      std::string cond;
      for (size_t i = 0; i < c.columns->size(); ++i) {
        cond += (i ? " AND " : "") + conn.Ident(t.columns[(*c.columns)[i]].name) + " = $" + std::to_string(i + 1);
      }
      sql = "DELETE FROM " + t.quoted + " WHERE " + cond;
    } else {
      std::string values, set;
      for (size_t i = 0; i < c.columns->size(); ++i) {
        const TargetColumn& col = t.columns[(*c.columns)[i]];
        values += (i ? ", $" : "$") + std::to_string(i + 1);
        const std::string id = conn.Ident(col.name);
        if (!col.key) set += (set.empty() ? "" : ", ") + id + " = EXCLUDED." + id;
      }
      sql = "INSERT INTO " + t.quoted + " (" + ColumnList(conn, t, *c.columns) + ") OVERRIDING SYSTEM VALUE VALUES (" +
            values + ") ON CONFLICT (" + ColumnList(conn, t, t.key_columns) + ") DO " +
            (set.empty() ? "NOTHING" : "UPDATE SET " + set);
    }
    auto r = conn.ExecParams(sql, params);
    if (!r.ok() && !r.status().IsUnavailable()) {
      return r.status().WithContext("topic '" + *c.topic + "' offset " + std::to_string(c.offset) + ", table " +
                                    t.qualified());
    }
    return r.status();
  }

  // ApplyOne's statement for a table keyed by the configuration: the
  // parameters are cast to the column types, since an INSERT ... SELECT does
  // not infer them.
  static std::string ApplyOneWithoutConstraint(TargetConn& conn, const TargetTable& t, const Change& c) {
    std::string cond, values, set;
    for (size_t i = 0; i < c.columns->size(); ++i) {
      const TargetColumn& col = t.columns[(*c.columns)[i]];
      const std::string id = conn.Ident(col.name);
      const std::string param = "$" + std::to_string(i + 1) + "::" + col.type;
      values += (i ? ", " : "") + param;
      if (col.key) {
        cond += (cond.empty() ? "" : " AND ") + id + " IS NOT DISTINCT FROM " + param;
      } else {
        set += (set.empty() ? "" : ", ") + id + " = " + param;
      }
    }
    if (c.is_delete) return "DELETE FROM " + t.quoted + " WHERE " + cond;
    const std::string insert = "INSERT INTO " + t.quoted + " (" + ColumnList(conn, t, *c.columns) +
                               ") OVERRIDING SYSTEM VALUE SELECT " + values + " WHERE NOT EXISTS ";
    if (set.empty()) return insert + "(SELECT 1 FROM " + t.quoted + " WHERE " + cond + ")";
    return "WITH u AS (UPDATE " + t.quoted + " SET " + set + " WHERE " + cond + " RETURNING 1) " + insert +
           "(SELECT 1 FROM u)";
  }

  // Each change under a savepoint, so the refused one is named (on_error =
  // stop) or dead-lettered while the rest is applied.
  Status ApplySegmentOneByOne(TargetConn& conn, const TargetTable& t, const Segment& seg, Batch* batch) {
    if (seg.truncate_first) RETURN_NOT_OK(conn.Exec("TRUNCATE " + t.quoted).status());
    for (const auto& [key, c] : seg.by_key) {
      RETURN_NOT_OK(conn.Exec("SAVEPOINT ghostlog_one").status());
      Status s = ApplyOne(conn, t, c);
      if (s.IsUnavailable() || (!s.ok() && cfg_.on_error == OnError::kStop)) return s;
      if (!s.ok()) {
        RETURN_NOT_OK(conn.Exec("ROLLBACK TO SAVEPOINT ghostlog_one").status());
        ASSIGN_OR_RAISE(log::Record r, Original(c, key));
        RETURN_NOT_OK(DeadLetterOrStop(*c.topic, r, s.message()));
      } else {
        ++batch->rows;
      }
      RETURN_NOT_OK(conn.Exec("RELEASE SAVEPOINT ghostlog_one").status());
    }
    return Status::OK();
  }

  // The changelog record a change came from, to set aside as it was (only
  // its key if retention has removed it since).
  Result<log::Record> Original(const Change& c, const std::string& key) {
    auto recs = log_.Read({*c.topic, 0}, c.offset, {1, 64 << 20});
    if (recs.ok() && !recs->empty() && recs->front().offset == c.offset) return std::move(recs->front());
    if (!recs.ok() && !recs.status().IsOutOfRange()) return recs.status();
    return log::Record{c.offset, 0, key, std::nullopt, {}};
  }

  Status SaveOffset(TargetConn& conn, log::Offset next) {
    return conn
        .Exec("INSERT INTO ghostlog.sink_offsets (sink, topic, partition, next_offset, changelog_id) VALUES (" +
              conn.Literal(cfg_.name) + ", " + conn.Literal(cfg_.transaction_topic) + ", 0, " + std::to_string(next) +
              ", " + conn.Literal(changelog_id_) +
              ") ON CONFLICT (sink, topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset, "
              "changelog_id = EXCLUDED.changelog_id, updated_at = now()")
        .status();
  }

  // On a fresh data dir capture creates the transaction topic a moment after
  // the sink starts (or, with --stage sink, whenever capture first runs).
  Status WaitForTransactionTopic(std::stop_token stop) {
    bool logged = false;
    while (!stop.stop_requested()) {
      auto info = log_.DescribePartition({cfg_.transaction_topic, 0});
      if (!info.status().IsNotFound()) return info.status();
      if (!logged) spdlog::info("sink {}: waiting for topic '{}' to be created", cfg_.name, cfg_.transaction_topic);
      logged = true;
      SleepUntilStopped(stop, std::chrono::milliseconds(200));
    }
    return Status::OK();
  }

  Status RunOnce(std::stop_token stop) {
    RETURN_NOT_OK(WaitForTransactionTopic(stop));
    if (stop.stop_requested()) return Status::OK();
    ASSIGN_OR_RAISE(TargetConn conn, TargetConn::Connect(cfg_.dsn));
    stats_.connected = true;
    tables_.clear();
    in_flight_.reset();  // a batch left running on a lost connection is not in the target
    rewind_to_.reset();
    RETURN_NOT_OK(EnsureOffsetsTable(conn));
    ASSIGN_OR_RAISE(log::Offset pos, CommittedOffset(conn));
    stats_.committed_offset = pos;
    spdlog::info("sink {}: applying from offset {} of {}", cfg_.name, pos, cfg_.transaction_topic);
    while (!stop.stop_requested()) {
      auto next = ApplyBatch(conn, pos, stop);
      if (!next.ok())
        return next.status().WithContext("sink '" + cfg_.name + "' applying transactions from offset " +
                                         std::to_string(pos) + " of '" + cfg_.transaction_topic + "'");
      pos = *next;
      stats_.retrying.Clear();  // works again: a batch applied, or nothing to apply
    }
    return Settle(conn);  // a refused batch is rolled back; it is read again at the next start
  }

  SinkConfig cfg_;
  log::Changelog& log_;
  SinkStats stats_;
  std::string changelog_id_;  // this changelog's ClusterId(), stored with every offset
  std::map<std::string, TargetTable> tables_;
  std::map<std::string, std::pair<std::string, std::string>> target_names_;  // by topic
  std::string missing_column_;                                               // RowLine's last NotFound
  std::set<std::pair<std::string, std::string>> columns_reread_;             // (table, column) this batch
  std::set<std::string> topics_;                        // names changes point at
  std::map<std::string, std::set<log::Offset>> dead_lettered_;  // per topic: offsets set aside (the latest)
  EventView event_;                                      // buffers reused event to event
  std::vector<std::pair<size_t, size_t>> order_;         // (target column, field) of the event
  std::vector<size_t> shape_;

  // The batch whose last statement runs in the target while the next is read.
  struct InFlight {
    Batch batch;
    log::Offset from;
    std::chrono::steady_clock::time_point started;
  };
  std::optional<InFlight> in_flight_;
  std::optional<log::Offset> rewind_to_;         // Settle: the batch sent from here was refused
  std::optional<log::Offset> apply_waiting_at_;  // ... so the batch from here is applied without sending
};

Sink::Sink(SinkConfig config, log::Changelog& log) : impl_(std::make_unique<Impl>(std::move(config), log)) {}
Sink::~Sink() = default;
Status Sink::Run(std::stop_token stop) { return impl_->Run(std::move(stop)); }
const SinkStats& Sink::stats() const { return impl_->stats(); }

}  // namespace ghostlog::sink
