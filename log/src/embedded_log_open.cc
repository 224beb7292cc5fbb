// Opening and closing: the RocksDB instance, the data dir lock, metadata load,
// and the reader's catch-up with a live writer.
#include <poll.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/table_properties_collectors.h>
#include <spdlog/spdlog.h>
#include <sys/inotify.h>
#include <unistd.h>
#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

#include <cstdarg>
#include <cstdio>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "embedded_log_impl.h"
#include "keys.h"

namespace ghostlog::log {
namespace fs = std::filesystem;

namespace {

Status FromRocks(const rocksdb::Status& s, const std::string& context) {
  if (s.ok()) return Status::OK();
  if (s.IsCorruption()) return Status::Corruption(context + ": " + s.ToString());
  if (s.IsNotFound()) return Status::NotFound(context + ": " + s.ToString());
  if (s.IsNoSpace()) return Status::NoSpace(context + ": " + s.ToString());
  return Status::IOError(context + ": " + s.ToString());
}

// RocksDB's own log lines, warnings and worse, go to ghostlog's log instead of
// a LOG file in the data dir. On a full disk that file's writer fails too,
// and Debian's RocksDB (built with assertions) aborts the process on the next
// line written to it, which its error handler writes right then.
class RocksLogger : public rocksdb::Logger {
 public:
  RocksLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  void Logv(const char* format, va_list ap) override { Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap); }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    char line[2048];
    const int n = std::vsnprintf(line, sizeof line, format, ap);
    std::string_view text(line, n < 0 ? 0 : std::min<size_t>(static_cast<size_t>(n), sizeof line - 1));
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
    const auto to = level >= rocksdb::InfoLogLevel::ERROR_LEVEL  ? spdlog::level::err
                    : level >= rocksdb::InfoLogLevel::WARN_LEVEL ? spdlog::level::warn
                                                                 : spdlog::level::info;
    spdlog::log(to, "rocksdb: {}", text);
  }
};

rocksdb::Options BaseOptions() {
  rocksdb::Options o;
  o.info_log = std::make_shared<RocksLogger>();
  o.create_if_missing = true;
  o.create_missing_column_families = true;
  // After a crash, replay the WAL up to the first torn write and stop: every
  // synced batch is before it, and nothing half-written becomes visible.
  o.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  o.max_background_jobs = 2;
  o.keep_log_file_num = 5;
  o.max_open_files = 512;
  // Bounded memory: memtables of all column families share 64 MiB.
  o.db_write_buffer_size = 64 << 20;
  return o;
}

rocksdb::ColumnFamilyOptions RecordsOptions(const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions o;
  o.write_buffer_size = 16 << 20;
  o.max_write_buffer_number = 3;
  o.compression = rocksdb::kLZ4Compression;
  // Compaction deletes superseded records one by one: a table file that is
  // mostly such deletions is compacted soon, so the space comes back.
  o.table_properties_collector_factories.emplace_back(
      rocksdb::NewCompactOnDeletionCollectorFactory(/*sliding_window_size=*/1024, /*deletion_trigger=*/512));
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = cache;
  t.block_size = 16 << 10;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  return o;
}

// The key index answers ReadLatest (compacted topics: lookups, the
// transform's state), where most probes on a fresh key miss: bloom filters in
// the memtable and in every table file make a miss cost a few hash probes
// instead of a search through each level.
rocksdb::ColumnFamilyOptions KeyIndexOptions(const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions o;
  o.write_buffer_size = 8 << 20;
  o.memtable_prefix_bloom_size_ratio = 0.05;
  o.memtable_whole_key_filtering = true;
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = cache;
  t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  t.whole_key_filtering = true;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  return o;
}

}  // namespace

Status ToStatus(const rocksdb::Status& s, const std::string& context) { return FromRocks(s, context); }

EmbeddedLogImpl::EmbeddedLogImpl(EmbeddedLogOptions options) : opts_(std::move(options)) {}

EmbeddedLogImpl::~EmbeddedLogImpl() {
  StopThreads();
  // A clean close leaves nothing in the write-ahead log to replay: the next
  // open (a daemon restart, every CLI command) then starts at once instead of
  // re-inserting and flushing the last memtables first (0.6 s after a 200k-row
  // capture). Failure costs only that replay: the WAL still holds the data.
  // After a failed write or fsync nothing more is written.
  if (db_ && writer() && FatalError().ok()) db_->Flush(rocksdb::FlushOptions(), cfs_).PermitUncheckedError();
  for (auto* h : cfs_) db_->DestroyColumnFamilyHandle(h);
  cfs_.clear();
  if (db_) db_->Close().PermitUncheckedError();
  db_.reset();
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
  if (!secondary_dir_.empty()) {
    std::error_code ec;
    fs::remove_all(secondary_dir_, ec);
  }
}

Status EmbeddedLogImpl::OpenImpl() {
  const std::string& dir = opts_.data_dir;
  std::error_code ec;
  if (writer()) {
    if (!fs::exists(dir, ec)) {
      if (!opts_.create_if_missing) return Status::NotFound("data dir " + dir + " does not exist");
      fs::create_directories(dir, ec);
      if (ec) return Status::IOError("cannot create data dir " + dir + ": " + ec.message());
    }
    ASSIGN_OR_RAISE(DirLock lock, DirLock::Acquire(dir));
    lock_.emplace(std::move(lock));
  } else if (!fs::exists(fs::path(dir) / "CURRENT", ec)) {
    return Status::NotFound("data dir " + dir + " holds no changelog yet (no writer has opened it)");
  }
  RETURN_NOT_OK(OpenDb());
  Status format = InitOrCheckFormat();
  // A reader that opens while the writer is itself opening (replaying and then
  // deleting its old WAL) can see an empty database for a moment. That is a
  // race with recovery, not an empty dir: catch up again for a short while.
  for (int retry = 0; !writer() && format.IsNotFound() && retry < 40; ++retry) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    RETURN_NOT_OK(FromRocks(db_->TryCatchUpWithPrimary(), "catching up with the writer"));
    format = InitOrCheckFormat();
  }
  RETURN_NOT_OK(format);
  RETURN_NOT_OK(LoadMetadata());
  StartThreads();
  return Status::OK();
}

Status EmbeddedLogImpl::OpenDb() {
  rocksdb::Options options = BaseOptions();
  auto cache = rocksdb::NewLRUCache(16 << 20);
  rocksdb::ColumnFamilyOptions meta_opts;
  meta_opts.write_buffer_size = 4 << 20;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
      {rocksdb::kDefaultColumnFamilyName, meta_opts},
      {"records", RecordsOptions(cache)},
      {"timeindex", meta_opts},
      {"keyindex", KeyIndexOptions(cache)},
  };
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  if (writer()) {
    s = rocksdb::DB::Open(options, opts_.data_dir, descriptors, &cfs_, &raw);
  } else {
    // A secondary keeps its own small files (info log); they go to a private
    // temp dir so that readers never write into the data dir.
    std::string tmpl = (fs::temp_directory_path() / "ghostlog-reader-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) return Status::IOError("cannot create a temp dir for the reader");
    secondary_dir_ = tmpl;
    options.max_open_files = -1;  // required by secondary instances
    s = rocksdb::DB::OpenAsSecondary(options, opts_.data_dir, secondary_dir_, descriptors, &cfs_, &raw);
  }
  RETURN_NOT_OK(FromRocks(s, "opening data dir " + opts_.data_dir));
  db_.reset(raw);
  return Status::OK();
}

Status EmbeddedLogImpl::InitOrCheckFormat() {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_cf(), keys::kFormat, &v);
  if (s.IsNotFound()) {
    if (!writer()) return Status::NotFound("data dir " + opts_.data_dir + " holds no changelog yet");
    rocksdb::WriteOptions wo;
    wo.sync = true;
    RETURN_NOT_OK(FromRocks(db_->Put(wo, meta_cf(), keys::kFormat, std::to_string(kDataDirFormatVersion)),
                            "initializing data dir"));
    return LoadClusterId();
  }
  RETURN_NOT_OK(FromRocks(s, "reading data dir format"));
  const int format = std::atoi(v.c_str());
  if (format > kDataDirFormatVersion) {
    return Status::NotSupported("data dir " + opts_.data_dir + " was written by a newer ghostlog (format " +
                                std::to_string(format) + ", this one understands up to " +
                                std::to_string(kDataDirFormatVersion) + "); upgrade ghostlog");
  }
  if (format < 1) return Status::Corruption("data dir format '" + v + "' is not valid");
  return LoadClusterId();
}

// The changelog's identity: a random UUID made by the first writer (also for a
// dir made before ids existed), read by everyone after.
Status EmbeddedLogImpl::LoadClusterId() {
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_cf(), keys::kClusterId, &cluster_id_);
  if (!s.IsNotFound()) return FromRocks(s, "reading the cluster id");
  if (!writer()) return Status::OK();  // ClusterId() says why it has none
  cluster_id_ = boost::uuids::to_string(boost::uuids::random_generator()());
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db_->Put(wo, meta_cf(), keys::kClusterId, cluster_id_), "writing the cluster id");
}

Result<std::string> EmbeddedLogImpl::ClusterId() {
  if (cluster_id_.empty()) {
    return Status::NotFound("data dir " + opts_.data_dir +
                            " has no cluster id yet: open it once with a writer (ghostlog run)");
  }
  return cluster_id_;
}

Status EmbeddedLogImpl::LoadMetadata() {
  std::map<std::string, TopicState> topics;
  std::map<PartKey, PartitionState> parts;
  uint32_t next_id = 1;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_cf()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view k(it->key().data(), it->key().size());
    const std::string_view v(it->value().data(), it->value().size());
    if (k == keys::kNextTopicId) {
      next_id = static_cast<uint32_t>(std::strtoul(std::string(v).c_str(), nullptr, 10));
    } else if (k[0] == 'T') {
      ASSIGN_OR_RAISE(TopicState t, TopicState::Decode(v));
      topics.emplace(t.name, std::move(t));
    } else if (k[0] == 'S' && k.size() == 9) {
      ASSIGN_OR_RAISE(PartitionState p, PartitionState::Decode(v));
      parts[{keys::KeyTopicId(k.substr(1)), keys::KeyPartition(k.substr(1))}] = p;
    }
  }
  RETURN_NOT_OK(FromRocks(it->status(), "loading topic metadata"));
  if (!writer()) RETURN_NOT_OK(CapToReadableRecords(&parts));
  for (const auto& [name, t] : topics) {
    for (PartitionId p = 0; p < t.partitions; ++p) {
      if (!parts.count({t.id, p})) {
        return Status::Corruption("topic '" + name + "' partition " + std::to_string(p) + " has no state");
      }
    }
  }
  std::lock_guard l(mu_);
  topics_ = std::move(topics);
  parts_ = std::move(parts);
  next_topic_id_ = next_id;
  return Status::OK();
}

// A reader's catch-up with the writer is not atomic across column families:
// the partition state can name records that the records column family does
// not show yet (seen when the writer process closed, i.e. flushed, while a
// reader caught up). A reader that trusted it would take the offsets it
// cannot read for compaction gaps and skip them for good. So a reader's end
// offset is its last readable record plus one; a later refresh moves it on.
// (Records that compaction removed from a topic's very end then count as
// not there yet: a reader waits at them instead of stepping over them.)
Status EmbeddedLogImpl::CapToReadableRecords(std::map<PartKey, PartitionState>* parts) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), records_cf()));
  for (auto& [part, state] : *parts) {
    if (state.next_offset <= state.log_start) continue;
    const std::string prefix = keys::PartitionPrefix(part.first, part.second);
    it->SeekForPrev(keys::RecordKey(part.first, part.second, state.next_offset - 1));
    const bool found = it->Valid() && it->key().starts_with(prefix);
    const Offset readable_end = found ? keys::RecordKeyOffset(it->key().ToStringView()) + 1 : state.log_start;
    state.next_offset = std::min(state.next_offset, readable_end);
  }
  return FromRocks(it->status(), "finding the last readable records");
}

Status EmbeddedLogImpl::Refresh() {
  if (writer()) return Status::OK();
  RETURN_NOT_OK(FromRocks(db_->TryCatchUpWithPrimary(), "catching up with the writer"));
  return LoadMetadata();
}

// Reader mode: sleeps until a file in the data dir changes (the writer's WAL
// grows) or the timeout passes. inotify, not a polling loop: a change wakes
// the reader at once.
Status EmbeddedLogImpl::WaitForChange(std::chrono::milliseconds timeout) {
  if (inotify_fd_ < 0) {
    inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (inotify_fd_ < 0) return Status::IOError("inotify_init1 failed");
    if (::inotify_add_watch(inotify_fd_, opts_.data_dir.c_str(), IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE) <
        0) {
      return Status::IOError("cannot watch data dir " + opts_.data_dir);
    }
  }
  pollfd pfd{inotify_fd_, POLLIN, 0};
  const int rc = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
  if (rc > 0) {
    char buf[4096];
    while (::read(inotify_fd_, buf, sizeof buf) > 0) {
    }
  }
  return Status::OK();
}

Status EmbeddedLogImpl::RequireWriter(const char* what) const {
  if (writer()) return Status::OK();
  return Status::NotSupported(std::string(what) + " needs the writer; this instance of " + opts_.data_dir +
                              " is open read-only");
}

Status EmbeddedLogImpl::FatalError() const {
  std::lock_guard l(mu_);
  return fatal_;
}

void EmbeddedLogImpl::StartThreads() {
  if (!writer()) return;
  if (opts_.fsync == FsyncPolicy::kInterval) {
    syncer_ = std::thread([this] {
      std::unique_lock l(mu_);
      while (!stopping_) {
        threads_cv_.wait_for(l, opts_.fsync_interval, [this] { return stopping_; });
        if (stopping_) break;
        l.unlock();
        rocksdb::Status s = db_->SyncWAL();
        l.lock();
        if (!s.ok() && fatal_.ok()) fatal_ = Status::IOError("periodic WAL fsync failed: " + s.ToString());
      }
    });
  }
  if (opts_.cleanup_interval.count() > 0) background_ = std::thread([this] { BackgroundLoop(); });
}

void EmbeddedLogImpl::StopThreads() {
  {
    std::lock_guard l(mu_);
    stopping_ = true;
  }
  data_cv_.notify_all();
  threads_cv_.notify_all();
  if (syncer_.joinable()) syncer_.join();
  if (background_.joinable()) background_.join();
  // Whatever the interval policy left unsynced is synced on a clean close.
  if (db_ && writer() && opts_.fsync == FsyncPolicy::kInterval) db_->SyncWAL().PermitUncheckedError();
}

}  // namespace ghostlog::log
