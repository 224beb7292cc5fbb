#include "config.h"

#include <toml++/toml.h>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace ghostlog::cli {

Result<std::chrono::milliseconds> ParseDuration(const std::string& text) {
  int64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  const std::string unit(p, text.data() + text.size());
  int64_t scale = 0;
  if (unit == "ms") scale = 1;
  if (unit == "s") scale = 1000;
  if (unit == "m") scale = 60'000;
  if (unit == "h") scale = 3'600'000;
  if (ec != std::errc() || p == text.data() || n < 0 || scale == 0) {
    return Status::InvalidArgument("'" + text + "' is not a duration such as 500ms, 30s, 5m or 1h");
  }
  return std::chrono::milliseconds(n * scale);
}

namespace {

// Reads one section of the file, remembering which keys it consumed so that
// anything left over is reported as unknown.
class Section {
 public:
  Section(const toml::table* t, std::string name, std::string file)
      : t_(t), name_(std::move(name)), file_(std::move(file)) {}

  Status Where(const std::string& key, const std::string& what) const {
    const toml::node* n = t_ ? t_->get(key) : nullptr;
    std::string at = file_;
    if (n != nullptr) at += ":" + std::to_string(n->source().begin.line);
    return Status::InvalidArgument(at + ": " + Qualified(key) + " " + what);
  }
  std::string Qualified(const std::string& key) const { return name_.empty() ? key : name_ + "." + key; }

  Status String(const std::string& key, std::string* out) {
    seen_.insert(key);
    const toml::node* n = t_ ? t_->get(key) : nullptr;
    if (n == nullptr) return Status::OK();
    if (!n->is_string()) return Where(key, "must be a string");
    *out = n->value<std::string>().value();
    return Status::OK();
  }
  Status Bool(const std::string& key, bool* out) {
    seen_.insert(key);
    const toml::node* n = t_ ? t_->get(key) : nullptr;
    if (n == nullptr) return Status::OK();
    if (!n->is_boolean()) return Where(key, "must be true or false");
    *out = n->value<bool>().value();
    return Status::OK();
  }
  Status Int(const std::string& key, int64_t* out, int64_t min) {
    seen_.insert(key);
    const toml::node* n = t_ ? t_->get(key) : nullptr;
    if (n == nullptr) return Status::OK();
    if (!n->is_integer()) return Where(key, "must be an integer");
    const int64_t v = n->value<int64_t>().value();
    if (v < min) return Where(key, "must be >= " + std::to_string(min));
    *out = v;
    return Status::OK();
  }
  Status Strings(const std::string& key, std::vector<std::string>* out) {
    seen_.insert(key);
    const toml::node* n = t_ ? t_->get(key) : nullptr;
    if (n == nullptr) return Status::OK();
    const toml::array* a = n->as_array();
    if (a == nullptr) return Where(key, "must be an array of strings");
    out->clear();
    for (const auto& e : *a) {
      if (!e.is_string()) return Where(key, "must be an array of strings");
      out->push_back(e.value<std::string>().value());
    }
    return Status::OK();
  }
  // A table of string arrays: { "a" = ["x", "y"], ... }.
  Status StringLists(const std::string& key, std::map<std::string, std::vector<std::string>>* out) {
    seen_.insert(key);
    const toml::node* n = t_ ? t_->get(key) : nullptr;
    if (n == nullptr) return Status::OK();
    const toml::table* t = n->as_table();
    const std::string shape = "must be a table of string arrays, e.g. { \"public.t\" = [\"a\", \"b\"] }";
    if (t == nullptr) return Where(key, shape);
    out->clear();
    for (const auto& [name, v] : *t) {
      const toml::array* a = v.as_array();
      if (a == nullptr) return Where(key, shape);
      auto& list = (*out)[std::string(name.str())];
      for (const auto& e : *a) {
        if (!e.is_string()) return Where(key, shape);
        list.push_back(e.value<std::string>().value());
      }
    }
    return Status::OK();
  }
  Status Duration(const std::string& key, std::chrono::milliseconds* out) {
    std::string text;
    RETURN_NOT_OK(String(key, &text));
    if (text.empty()) return Status::OK();
    auto d = ParseDuration(text);
    if (!d.ok()) return Where(key, d.status().message());
    *out = *d;
    return Status::OK();
  }
  // Unknown keys are mistakes (a typo silently ignored is a misconfiguration).
  Status NoOthers() const {
    if (t_ == nullptr) return Status::OK();
    for (const auto& [k, v] : *t_) {
      const std::string key(k.str());
      if (!seen_.count(key)) {
        return Status::InvalidArgument(file_ + ":" + std::to_string(v.source().begin.line) + ": unknown key '" +
                                       Qualified(key) + "'");
      }
    }
    return Status::OK();
  }
  void Skip(const std::string& key) { seen_.insert(key); }

 private:
  const toml::table* t_;
  std::string name_, file_;
  std::set<std::string> seen_;
};

// Passwords belong in a .pgpass file or a systemd credential, never in the config.
Status RejectPassword(const Section& s, const std::string& dsn) {
  std::string lower = dsn;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const bool uri_password =
      lower.starts_with("postgres") && lower.find("://") != std::string::npos && lower.find('@') != std::string::npos &&
      lower.substr(lower.find("://") + 3, lower.find('@') - lower.find("://") - 3).find(':') != std::string::npos;
  if (lower.find("password") != std::string::npos || uri_password) {
    return s.Where("dsn", "must not contain a password: use a .pgpass file (PGPASSFILE) or a systemd credential");
  }
  return Status::OK();
}

Status LoadCapture(const toml::table* t, const std::string& file, capture::CaptureConfig* c) {
  Section s(t, "source", file);
  RETURN_NOT_OK(s.String("dsn", &c->dsn));
  if (c->dsn.empty()) return Status::InvalidArgument(file + ": source.dsn is required");
  RETURN_NOT_OK(RejectPassword(s, c->dsn));
  RETURN_NOT_OK(s.String("publication", &c->publication));
  RETURN_NOT_OK(s.Bool("create_publication", &c->create_publication));
  RETURN_NOT_OK(s.String("slot", &c->slot));
  RETURN_NOT_OK(s.Strings("tables", &c->tables));
  RETURN_NOT_OK(s.Strings("exclude_tables", &c->exclude_tables));
  RETURN_NOT_OK(s.String("topic_prefix", &c->topic_prefix));
  std::string mode = "initial";
  RETURN_NOT_OK(s.String("snapshot", &mode));
  auto m = capture::ParseSnapshotMode(mode);
  if (!m.ok()) return s.Where("snapshot", "must be initial, never, initial_only or when_needed");
  c->snapshot = *m;
  RETURN_NOT_OK(s.Duration("heartbeat_interval", &c->heartbeat_interval));
  RETURN_NOT_OK(s.Int("snapshot_chunk_rows", &c->snapshot_chunk_rows, 1));
  RETURN_NOT_OK(s.Int("snapshot_chunk_bytes", &c->snapshot_chunk_bytes, 65536));
  RETURN_NOT_OK(s.Int("snapshot_max_rows_per_second", &c->snapshot_max_rows_per_second, 0));
  RETURN_NOT_OK(s.Int("snapshot_readers", &c->snapshot_readers, 0));
  if (c->snapshot_readers > 64) return s.Where("snapshot_readers", "must be <= 64");
  RETURN_NOT_OK(s.Int("max_transaction_buffer_bytes", &c->max_transaction_buffer_bytes, 4096));
  if (c->slot.empty() || c->publication.empty() || c->topic_prefix.empty()) {
    return Status::InvalidArgument(file +
                                   ": source.slot, source.publication and source.topic_prefix must not be empty");
  }
  return s.NoOthers();
}

Status LoadSink(const toml::table* t, const std::string& file, sink::SinkConfig* c) {
  Section s(t, "sink", file);
  RETURN_NOT_OK(s.String("dsn", &c->dsn));
  if (c->dsn.empty()) return Status::InvalidArgument(file + ": sink.dsn is required");
  RETURN_NOT_OK(RejectPassword(s, c->dsn));
  RETURN_NOT_OK(s.String("name", &c->name));
  RETURN_NOT_OK(s.String("transaction_topic", &c->transaction_topic));
  RETURN_NOT_OK(s.Strings("topics", &c->topics));
  RETURN_NOT_OK(s.String("table", &c->table));
  RETURN_NOT_OK(s.Bool("auto_create", &c->auto_create));
  RETURN_NOT_OK(s.StringLists("key_columns", &c->key_columns));
  for (const auto& [table, columns] : c->key_columns) {
    if (table.find('.') == std::string::npos || columns.empty()) {
      return s.Where("key_columns", "needs \"schema.table\" = [column, ...] with at least one column; '" + table +
                                        "' has " + (columns.empty() ? "none" : "no schema"));
    }
  }
  std::string on_error = "stop";
  RETURN_NOT_OK(s.String("on_error", &on_error));
  auto e = sink::ParseOnError(on_error);
  if (!e.ok()) return s.Where("on_error", "must be stop or dead_letter");
  c->on_error = *e;
  RETURN_NOT_OK(s.String("dead_letter_topic", &c->dead_letter_topic));
  RETURN_NOT_OK(s.Int("max_batch_events", &c->max_batch_events, 1));
  RETURN_NOT_OK(s.Duration("max_batch_delay", &c->max_batch_delay));
  if (c->table.find("{table}") == std::string::npos) {
    return s.Where("table", "must contain {table}");
  }
  return s.NoOthers();
}

// Relative mapping paths are relative to the config file, as an operator reads them.
Status LoadTransform(const toml::table* t, const std::string& file, transform::TransformConfig* c) {
  Section s(t, "transform", file);
  RETURN_NOT_OK(s.String("mappings", &c->mappings));
  if (c->mappings.empty()) return Status::InvalidArgument(file + ": transform.mappings is required");
  if (std::filesystem::path(c->mappings).is_relative()) {
    c->mappings = (std::filesystem::path(file).parent_path() / c->mappings).lexically_normal().string();
  }
  RETURN_NOT_OK(s.String("input_prefix", &c->input_prefix));
  RETURN_NOT_OK(s.String("output_prefix", &c->output_prefix));
  RETURN_NOT_OK(s.String("group", &c->group));
  std::string on_error = "stop";
  RETURN_NOT_OK(s.String("on_error", &on_error));
  auto e = transform::ParseOnError(on_error);
  if (!e.ok()) return s.Where("on_error", "must be stop or dead_letter");
  c->on_error = *e;
  RETURN_NOT_OK(s.String("dead_letter_topic", &c->dead_letter_topic));
  RETURN_NOT_OK(s.Int("max_batch_events", &c->max_batch_events, 1));
  RETURN_NOT_OK(s.Int("max_batch_bytes", &c->max_batch_bytes, 1 << 16));
  if (c->input_prefix.empty() || c->output_prefix.empty() || c->group.empty() || c->input_prefix == c->output_prefix) {
    return Status::InvalidArgument(file +
                                   ": transform.input_prefix and transform.output_prefix must be set and differ, "
                                   "and transform.group must not be empty");
  }
  RETURN_NOT_OK(s.NoOthers());
  Status mappings = transform::CheckMappings(c->mappings);
  if (!mappings.ok()) return s.Where("mappings", "'" + c->mappings + "': " + mappings.message());
  return Status::OK();
}

// Passwords come from a libpq password file: PGPASSFILE, else a systemd
// credential named pgpass (LoadCredential=pgpass:...), else ~/.pgpass. libpq
// silently ignores a file that group or others may read; we refuse it instead,
// so the operator learns why the password "is not used".
Status CheckPasswordFile() {
  namespace fs = std::filesystem;
  const char* explicit_file = std::getenv("PGPASSFILE");
  std::string file;
  if (explicit_file != nullptr && *explicit_file != '\0') {
    file = explicit_file;
  } else if (const char* creds = std::getenv("CREDENTIALS_DIRECTORY"); creds != nullptr && *creds != '\0') {
    std::error_code ec;
    if (fs::exists(fs::path(creds) / "pgpass", ec)) {
      file = (fs::path(creds) / "pgpass").string();
      ::setenv("PGPASSFILE", file.c_str(), 1);
    }
  }
  if (file.empty()) {
    const char* home = std::getenv("HOME");
    if (home == nullptr || *home == '\0') return Status::OK();
    file = (fs::path(home) / ".pgpass").string();
  }
  std::error_code ec;
  const auto st = fs::status(file, ec);
  if (ec || !fs::exists(st)) {
    if (explicit_file != nullptr && *explicit_file != '\0') {
      return Status::InvalidArgument("PGPASSFILE=" + file + " does not exist");
    }
    return Status::OK();
  }
  const auto perms = st.permissions();
  using P = fs::perms;
  if ((perms & (P::group_all | P::others_all)) != P::none) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(perms) & 07777);
    return Status::InvalidArgument("password file " + file + " has mode " + mode +
                                   ": libpq ignores it unless only its owner can read it (chmod 600 " + file + ")");
  }
  return Status::OK();
}

// librdkafka client properties written in [log], as dotted names. TOML reads
// `security.protocol = "SSL"` as a table `security` holding `protocol`, so
// tables are flattened back into the dotted name; quoted keys work as well.
Status FlattenKafkaProperties(const std::string& file, const std::string& name, const toml::node& n,
                              std::map<std::string, std::string>* out) {
  if (const toml::table* t = n.as_table()) {
    for (const auto& [k, v] : *t) {
      RETURN_NOT_OK(FlattenKafkaProperties(file, name + "." + std::string(k.str()), v, out));
    }
    return Status::OK();
  }
  auto wrong = [&](const std::string& what) {
    return Status::InvalidArgument(file + ":" + std::to_string(n.source().begin.line) + ": log." + name + " " + what);
  };
  std::string value;
  if (n.is_string()) {
    value = *n.value<std::string>();
  } else if (n.is_integer()) {
    value = std::to_string(*n.value<int64_t>());
  } else if (n.is_boolean()) {
    value = *n.value<bool>() ? "true" : "false";
  } else {
    return wrong("(a librdkafka property) must be a string, an integer or a boolean");
  }
  if (name == "bootstrap.servers") return wrong("is set by ghostlog: write bootstrap_servers instead");
  if (name == "transactional.id") return wrong("is set by ghostlog: write transactional_id instead");
  if (Status s = log::CheckKafkaClientConfig({{name, value}}); !s.ok()) return wrong("is refused: " + s.message());
  (*out)[name] = std::move(value);
  return Status::OK();
}

Status LoadLog(const toml::table* t, const std::string& path, DaemonConfig* c) {
  Section log(t, "log", path);
  std::string backend = "embedded";
  RETURN_NOT_OK(log.String("backend", &backend));
  if (backend == "kafka") {
    for (const char* key : {"fsync", "fsync_interval"}) {
      if (t->contains(key)) {
        return log.Where(key,
                         "applies to the embedded changelog only: on Kafka, a record is durable once every "
                         "in-sync replica has it (acks=all)");
      }
    }
    log::KafkaLogOptions& k = c->kafka.emplace();
    RETURN_NOT_OK(log.String("bootstrap_servers", &k.bootstrap_servers));
    if (k.bootstrap_servers.empty()) {
      return Status::InvalidArgument(path + ": log.bootstrap_servers is required with backend = \"kafka\"");
    }
    RETURN_NOT_OK(log.String("transactional_id", &k.transactional_id));
    int64_t replication = -1;
    RETURN_NOT_OK(log.Int("replication_factor", &replication, -1));
    if (replication == 0 || replication > 32767) {
      return log.Where("replication_factor", "must be -1 (the broker's default) or 1..32767");
    }
    k.replication_factor = static_cast<int16_t>(replication);
    for (const auto& [key, v] : *t) {
      const std::string name(key.str());
      if (name == "backend" || name == "bootstrap_servers" || name == "transactional_id" ||
          name == "replication_factor") {
        continue;
      }
      RETURN_NOT_OK(FlattenKafkaProperties(path, name, v, &k.client_config));
      log.Skip(name);
    }
    return log.NoOthers();
  }
  if (backend != "embedded") return log.Where("backend", "must be embedded or kafka");
  std::string fsync = "always";
  RETURN_NOT_OK(log.String("fsync", &fsync));
  if (fsync == "always") {
    c->fsync = log::FsyncPolicy::kAlways;
  } else if (fsync == "interval") {
    c->fsync = log::FsyncPolicy::kInterval;
  } else {
    return log.Where("fsync", "must be always or interval");
  }
  RETURN_NOT_OK(log.Duration("fsync_interval", &c->fsync_interval));
  return log.NoOthers();
}

}  // namespace

Result<DaemonConfig> LoadConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot read config file " + path);
  std::stringstream text;
  text << in.rdbuf();
  toml::table root;
  try {
    root = toml::parse(text.str(), path);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(path + ":" + std::to_string(e.source().begin.line) + ": " +
                                   std::string(e.description()));
  }
  DaemonConfig c;
  c.path = path;
  Section top(&root, "", path);
  RETURN_NOT_OK(top.String("data_dir", &c.data_dir));
  if (c.data_dir.empty()) return Status::InvalidArgument(path + ": data_dir is required");
  for (const char* section : {"log", "logging", "http", "source", "transform", "sink"}) {
    top.Skip(section);
    const toml::node* n = root.get(section);
    if (n != nullptr && !n->is_table()) return top.Where(section, "must be a [" + std::string(section) + "] section");
  }
  RETURN_NOT_OK(top.NoOthers());

  RETURN_NOT_OK(LoadLog(root["log"].as_table(), path, &c));

  Section logging(root["logging"].as_table(), "logging", path);
  RETURN_NOT_OK(logging.String("level", &c.log_level));
  if (c.log_level != "trace" && c.log_level != "debug" && c.log_level != "info" && c.log_level != "warn" &&
      c.log_level != "error") {
    return logging.Where("level", "must be trace, debug, info, warn or error");
  }
  RETURN_NOT_OK(logging.NoOthers());

  Section http(root["http"].as_table(), "http", path);
  RETURN_NOT_OK(http.String("listen", &c.http_listen));
  RETURN_NOT_OK(http.NoOthers());

  if (const toml::table* t = root["source"].as_table()) {
    c.capture.emplace();
    RETURN_NOT_OK(LoadCapture(t, path, &*c.capture));
  }
  if (const toml::table* t = root["transform"].as_table()) {
    c.transform.emplace();
    if (c.capture && !t->contains("input_prefix")) c.transform->input_prefix = c.capture->topic_prefix;
    RETURN_NOT_OK(LoadTransform(t, path, &*c.transform));
  }
  if (const toml::table* t = root["sink"].as_table()) {
    c.sink.emplace();
    RETURN_NOT_OK(LoadSink(t, path, &*c.sink));
    // The sink applies what the last stage wrote: the transform's output if
    // there is a transform, else capture's; explicit settings win.
    const std::string prefix = c.transform ? c.transform->output_prefix : c.capture ? c.capture->topic_prefix : "";
    if (!prefix.empty() && !t->contains("transaction_topic")) c.sink->transaction_topic = prefix + ".transaction";
    // Capture's table topics are PREFIX.SCHEMA.TABLE: ".*.*" leaves out its
    // PREFIX.schema and PREFIX.transaction, and takes every schema captured.
    if (!prefix.empty() && !t->contains("topics")) c.sink->topics = {prefix + (c.transform ? ".*" : ".*.*")};
  }
  if (c.capture || c.sink) RETURN_NOT_OK(CheckPasswordFile());
  // One transactional producer per daemon: two daemons sharing the id fence
  // each other, so the default follows the slot (one capture per slot).
  if (c.kafka && c.kafka->transactional_id.empty()) {
    c.kafka->transactional_id = "ghostlog." + (c.capture ? c.capture->slot : std::string("sink"));
  }
  return c;
}

}  // namespace ghostlog::cli
