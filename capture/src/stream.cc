// The replication stream: START_REPLICATION, pgoutput decoding, transactions,
// spilling of streamed transactions, status updates and heartbeats.
#include <spdlog/spdlog.h>

#include "capture_impl.h"
#include "json_text.h"

namespace ghostlog::capture {

namespace {
uint64_t BE64(std::string_view s, size_t at) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(s[at + i]);
  return v;
}
uint32_t BE32(std::string_view s, size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(s[at + i]);
  return v;
}
void PutBE64(std::string* s, uint64_t v) {
  for (int i = 7; i >= 0; --i) s->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
int64_t PgNowUs() { return (log::NowMs() - 946'684'800'000LL) * 1000; }

constexpr size_t kSpillBufferBytes = 1 << 20;
}  // namespace

Status Capture::Impl::Stream(PgConn& repl, pgoutput::Lsn start, std::stop_token stop) {
  const bool v2 = repl.server_version() >= 140000;
  std::string cmd = "START_REPLICATION SLOT " + repl.QuoteIdent(cfg_.slot) + " LOGICAL " + pgoutput::FormatLsn(start) +
                    " (proto_version '" + (v2 ? "2" : "1") + "', publication_names " +
                    repl.Quote(repl.QuoteIdent(cfg_.publication));
  if (v2) cmd += ", streaming 'on', messages 'true'";
  cmd += ")";
  RETURN_NOT_OK(repl.Exec(cmd).status());
  spdlog::info("capture: streaming from slot {} at {}", cfg_.slot, pgoutput::FormatLsn(start));
  stats_.streaming = true;
  stats_.retrying.Clear();
  received_ = start;
  stats_.confirmed_lsn = writer_.durable_lsn();
  last_commit_ = std::chrono::steady_clock::now();
  last_status_ = {};
  // Source transactions committed while more data is already waiting are
  // written together (one fsync); whatever ends the loop writes them first,
  // since the restart position assumes they are in the changelog.
  Status s = StreamLoop(repl, stop);
  Status flushed = writer_.FlushPending();
  if (!s.ok()) return s;
  RETURN_NOT_OK(flushed);
  return SendStatus(repl, false);
}

Status Capture::Impl::StreamLoop(PgConn& repl, std::stop_token stop) {
  constexpr int64_t kMaxPendingTxns = 1000;
  while (!stop.stop_requested()) {
    // With transactions pending, only look for data already there: if none
    // is, write them now rather than wait.
    const auto wait = writer_.has_pending() ? std::chrono::milliseconds(0) : std::chrono::milliseconds(100);
    ASSIGN_OR_RAISE(auto msg, repl.ReadCopyData(wait));
    if (writer_.has_pending() && (!msg || writer_.pending_txns() >= kMaxPendingTxns ||
                                  writer_.pending_bytes() >= cfg_.max_transaction_buffer_bytes)) {
      RETURN_NOT_OK(writer_.FlushPending());
    }
    if (msg && !msg->empty()) {
      const std::string_view m = msg->view();
      if (m[0] == 'w' && m.size() >= 25) {
        const pgoutput::Lsn wal_start = BE64(m, 1), wal_end = BE64(m, 9);
        received_ = std::max(received_, wal_end);
        stats_.received_lsn = received_;
        RETURN_NOT_OK(HandleXLogData(m.substr(25), msg, wal_start, wal_end));
      } else if (m[0] == 'k' && m.size() >= 18) {
        server_wal_end_ = BE64(m, 1);
        received_ = std::max(received_, server_wal_end_);
        if (m[17] != 0) RETURN_NOT_OK(SendStatus(repl, false));
      } else {
        return Status::Corruption("unexpected replication message of type '" + std::string(1, m[0]) + "'");
      }
    }
    const auto now = std::chrono::steady_clock::now();
    if (!in_txn_ && spilled_.empty() && now - last_commit_ >= cfg_.heartbeat_interval) {
      RETURN_NOT_OK(Heartbeat());
      last_commit_ = now;
    }
    if (now - last_status_ >= std::chrono::seconds(1)) RETURN_NOT_OK(SendStatus(repl, false));
  }
  return Status::OK();
}

// Only what the changelog holds durably is reported as flushed.
Status Capture::Impl::SendStatus(PgConn& repl, bool reply_requested) {
  const pgoutput::Lsn durable = writer_.durable_lsn();
  std::string s = "r";
  PutBE64(&s, received_);
  PutBE64(&s, durable);
  PutBE64(&s, durable);
  PutBE64(&s, static_cast<uint64_t>(PgNowUs()));
  s.push_back(reply_requested ? 1 : 0);
  last_status_ = std::chrono::steady_clock::now();
  stats_.confirmed_lsn = durable;
  return repl.WriteCopyData(s);
}

// Quiet source: nothing of ours is in flight, so every transaction that
// committed before the server's current position has reached us. Moving the
// checkpoint there (durably, then confirming) lets the server recycle WAL.
Status Capture::Impl::Heartbeat() {
  const pgoutput::Lsn to = std::max(server_wal_end_, received_);
  if (to <= cp_.lsn) return Status::OK();
  cp_.lsn = to;
  return writer_.WriteCheckpoint(cp_);
}

Status Capture::Impl::HandleXLogData(std::string_view payload, std::optional<CopyData>& message,
                                     pgoutput::Lsn wal_start, pgoutput::Lsn) {
  if (payload.empty()) return Status::Corruption("empty pgoutput message");
  const char type = payload[0];
  if (in_stream_ && type != 'S' && type != 'E' && type != 'c' && type != 'A') {
    return SpillStreamed(stream_xid_, payload.size() >= 5 ? payload : std::string_view());
  }
  ASSIGN_OR_RAISE(pgoutput::Msg msg, pgoutput::Decode(payload, in_stream_));
  message.reset();
  return Apply(std::move(msg), wal_start);
}

Status Capture::Impl::SpillStreamed(uint32_t xid, std::string_view payload) {
  if (payload.empty()) return Status::Corruption("truncated streamed pgoutput message");
  log::RecordIn r;
  r.key = std::to_string(xid);
  r.value = std::string(payload);
  spill_buf_.push_back(std::move(r));
  spill_buf_xid_ = xid;
  spill_buf_bytes_ += payload.size();
  if (spill_buf_bytes_ < kSpillBufferBytes) return Status::OK();
  return FlushSpill();
}

Status Capture::Impl::FlushSpill() {
  if (spill_buf_.empty()) return Status::OK();
  // Not synced on purpose: after a crash the server streams these again.
  log::AtomicWrite w;
  w.durability = log::Durability::kNoSync;
  w.batches.push_back({{spill_topic_, 0}, std::move(spill_buf_)});
  spill_buf_.clear();
  spill_buf_bytes_ = 0;
  ASSIGN_OR_RAISE(auto offsets, log_.Write(std::move(w)));
  auto& runs = spilled_[spill_buf_xid_].runs;
  if (!runs.empty() && runs.back().second + 1 == offsets[0].front()) {
    runs.back().second = offsets[0].back();
  } else {
    runs.emplace_back(offsets[0].front(), offsets[0].back());
  }
  return Status::OK();
}

Status Capture::Impl::ReplaySpill(uint32_t xid, const pgoutput::StreamCommit& c) {
  RETURN_NOT_OK(FlushSpill());
  Spilled sp = std::move(spilled_[xid]);
  spilled_.erase(xid);
  RETURN_NOT_OK(Apply(pgoutput::Begin{c.commit_lsn, c.commit_ts_us, xid}, c.commit_lsn));
  for (const auto& [first, last] : sp.runs) {
    for (log::Offset at = first; at <= last;) {
      ASSIGN_OR_RAISE(auto records, log_.Read({spill_topic_, 0}, at, {4096, 4 << 20}));
      if (records.empty())
        return Status::Corruption("spilled records of transaction " + std::to_string(xid) + " are missing");
      for (const auto& r : records) {
        if (r.offset > last) break;
        const std::string_view payload(*r.value);
        const uint32_t subxid = BE32(payload, 1);
        if (sp.aborted_subxids.count(subxid)) continue;
        ASSIGN_OR_RAISE(pgoutput::Msg msg, pgoutput::Decode(payload, /*in_stream=*/true));
        RETURN_NOT_OK(Apply(std::move(msg), c.commit_lsn));
      }
      at = records.back().offset + 1;
    }
  }
  RETURN_NOT_OK(Apply(pgoutput::Commit{c.flags, c.commit_lsn, c.end_lsn, c.commit_ts_us}, c.end_lsn));
  if (spilled_.empty()) {
    ASSIGN_OR_RAISE(auto info, log_.DescribePartition({spill_topic_, 0}));
    RETURN_NOT_OK(log_.DeleteRecordsBefore({spill_topic_, 0}, info.end_offset).status());
  }
  return Status::OK();
}

Status Capture::Impl::Apply(pgoutput::Msg m, pgoutput::Lsn change_lsn) {
  using namespace pgoutput;
  if (const auto* b = std::get_if<Begin>(&m)) {
    in_txn_ = true;
    begin_ = *b;
    // Already in the changelog (a restart replays from the slot's position).
    skip_txn_ = b->final_lsn < cp_.lsn;
    const int64_t ts = PgTimestampToUnixMs(b->commit_ts_us);
    writer_.Begin(std::to_string(b->xid) + ":" + FormatLsn(b->final_lsn), b->xid, b->final_lsn, ts, "END");
    source_ = SourceInfo{cfg_.topic_prefix, db_name_, b->xid, 0, b->final_lsn, ts, "false"};
    txn_order_ = 0;
    collection_order_.clear();
    return Status::OK();
  }
  if (const auto* c = std::get_if<Commit>(&m)) {
    in_txn_ = false;
    last_commit_ = std::chrono::steady_clock::now();
    if (skip_txn_) {
      writer_.Discard();
      return Status::OK();
    }
    cp_.lsn = std::max(cp_.lsn, c->end_lsn);
    const int64_t events = writer_.event_count();
    RETURN_NOT_OK(writer_.CommitDeferred(cp_));
    stats_.transactions++;
    stats_.events += events;
    stats_.last_commit_ts_ms = PgTimestampToUnixMs(c->commit_ts_us);
    return Status::OK();
  }
  if (const auto* r = std::get_if<Relation>(&m)) {
    TableSchema t;
    t.relid = r->oid;
    t.schema = r->schema.empty() ? "pg_catalog" : r->schema;
    t.table = r->name;
    t.replica_identity = r->replica_identity;
    for (const auto& c : r->columns) t.columns.push_back({c.name, c.type_oid, c.type_modifier, c.is_key()});
    // catalog_ is null only where Apply runs without RunOnce (unit tests).
    if (t.replica_identity == 'f' && catalog_ != nullptr) RETURN_NOT_OK(KeyColumnsOfFull(*catalog_, &t));
    ASSIGN_OR_RAISE(t.topic, schemas_.ClaimTopic(t.schema, t.table));
    RETURN_NOT_OK(EnsureTableTopic(t));
    if (!in_txn_ || skip_txn_) {
      schemas_.Register(std::move(t));
      return Status::OK();
    }
    return AddSchemaIfChanged(std::move(t));
  }
  if (const auto* s = std::get_if<StreamStart>(&m)) {
    in_stream_ = true;
    stream_xid_ = s->xid;
    return Status::OK();
  }
  if (std::holds_alternative<StreamStop>(m)) {
    in_stream_ = false;
    return FlushSpill();
  }
  if (const auto* sc = std::get_if<StreamCommit>(&m)) return ReplaySpill(sc->xid, *sc);
  if (const auto* sa = std::get_if<StreamAbort>(&m)) {
    RETURN_NOT_OK(FlushSpill());
    if (sa->xid == sa->subxid) {
      spilled_.erase(sa->xid);
    } else {
      spilled_[sa->xid].aborted_subxids.insert(sa->subxid);
    }
    return Status::OK();
  }
  if (const auto* o = std::get_if<Origin>(&m)) {
    (void)o;  // replicated-in changes are captured like any other
    return Status::OK();
  }
  if (std::holds_alternative<Type>(m)) return Status::OK();
  if (skip_txn_ && in_txn_) return Status::OK();
  return OnChange(m, change_lsn);
}

// Unchanged TOAST values are not in the WAL. The row's latest image has them:
// an earlier change of this transaction, or of one written with it, that is
// still buffered, else the latest record in the changelog (older: a value
// changed earlier in the same transaction would be filled stale from there).
// With no image the placeholder stays; never written as NULL. Kafka keeps no
// key index to find the changelog's image: there the placeholder stays too,
// as from Debezium, and the sink keeps the target's value.
Status Capture::Impl::FillUnchangedToast(const TableSchema& t, const pgoutput::Tuple& tuple, const std::string& key,
                                         std::string* after) {
  bool any = false;
  for (const auto& d : tuple) any |= d.kind == pgoutput::Datum::Kind::kUnchangedToast;
  if (!any) return Status::OK();
  std::optional<std::string> image;
  if (const log::RecordIn* buffered = writer_.Buffered(t.topic, key)) {
    image = buffered->value;
  } else {
    auto latest = log_.ReadLatest({t.topic, 0}, key);
    if (latest.status().code() == Status::Code::kNotSupported) {
      if (toast_placeholder_warned_.insert(t.topic).second) {
        spdlog::warn(
            "capture: {}: an update left TOASTed values unchanged, which the source does not send and this "
            "changelog cannot look up ({}); they are sent as Debezium's placeholder, and the sink keeps the "
            "target's values. ALTER TABLE {} REPLICA IDENTITY FULL makes the source send them",
            t.qualified(), latest.status().message(), t.qualified());
      }
      return Status::OK();
    }
    RETURN_NOT_OK(latest.status());
    if (*latest) image = std::move((*latest)->value);
  }
  if (!image) return Status::OK();  // a row capture never saw (snapshot = "never"): the placeholder
  // The values as the image has them, not parsed and written again (which
  // would change a jsonb value's numbers).
  std::vector<std::pair<std::string_view, std::string_view>> members;
  if (!AfterMembers(*image, &members)) {
    // Capture wrote that record itself: not an event means a damaged
    // changelog. The placeholder keeps the target's values (the sink leaves
    // such columns out); `ghostlog verify` is the next step.
    spdlog::warn(
        "capture: {}: the changelog's latest record of key {} is not a change event with an after image; "
        "the update's unchanged TOAST values are sent as Debezium's placeholder",
        t.qualified(), key);
    members.clear();
  }
  std::vector<std::string_view> unchanged(tuple.size());
  std::string name;
  for (size_t i = 0; i < tuple.size(); ++i) {
    if (tuple[i].kind != pgoutput::Datum::Kind::kUnchangedToast) continue;
    name.clear();
    AppendJsonString(&name, t.columns[i].name);
    for (const auto& [n, value] : members) {
      if (n == name && IsJsonText(value)) unchanged[i] = value;
    }
  }
  std::string key_again;
  return TupleRowText(t, tuple, after, &key_again, unchanged);
}

Status Capture::Impl::OnChange(pgoutput::Msg& m, pgoutput::Lsn change_lsn) {
  using namespace pgoutput;
  const int64_t now = log::NowMs();
  source_.lsn = change_lsn;
  // `before` and `after` as JSON text ("null" for none).
  auto emit = [&](const TableSchema& t, std::string key, char op, std::string_view before, std::string after) {
    TxnPosition pos{std::to_string(source_.xid) + ":" + FormatLsn(source_.commit_lsn), ++txn_order_,
                    ++collection_order_[t.topic]};
    return writer_.Add(t.topic, t.qualified(),
                       ChangeEventText(t, std::move(key), op, before, std::move(after), source_, &pos, now), cp_);
  };
  auto table = [&](Oid relid) -> Result<const TableSchema*> {
    const TableSchema* t = schemas_.Find(relid);
    if (t == nullptr)
      return Status::Corruption("change for relation " + std::to_string(relid) + " before its Relation message");
    return t;
  };
  if (!in_txn_) return Status::Corruption("change outside a transaction");

  if (auto* ins = std::get_if<Insert>(&m)) {
    ASSIGN_OR_RAISE(const TableSchema* t, table(ins->relation));
    // Straight to text: inserts carry no unchanged TOAST values to fill in.
    std::string after, key;
    RETURN_NOT_OK(TupleRowText(*t, ins->new_tuple, &after, &key));
    Tuple().swap(ins->new_tuple);
    return emit(*t, std::move(key), 'c', "null", std::move(after));
  }
  if (auto* up = std::get_if<Update>(&m)) {
    ASSIGN_OR_RAISE(const TableSchema* t, table(up->relation));
    Tuple& new_tuple = up->new_tuple;
    if (up->old_kind == 'O') {
      // REPLICA IDENTITY FULL: the old row carries unchanged TOAST values.
      for (size_t i = 0; i < new_tuple.size() && i < up->old_tuple.size(); ++i) {
        if (new_tuple[i].kind == Datum::Kind::kUnchangedToast) new_tuple[i] = up->old_tuple[i];
      }
    }
    std::string after, new_key, before = "null", old_key;
    RETURN_NOT_OK(TupleRowText(*t, new_tuple, &after, &new_key));
    old_key = new_key;
    if (up->old_kind) RETURN_NOT_OK(TupleRowText(*t, up->old_tuple, &before, &old_key));
    // A key change moves the row: its unchanged values are the old key's.
    RETURN_NOT_OK(FillUnchangedToast(*t, new_tuple, old_key, &after));
    Tuple().swap(new_tuple);
    Tuple().swap(up->old_tuple);
    if (old_key != new_key) {
      // A key change is a delete of the old key and a create of the new one.
      RETURN_NOT_OK(emit(*t, old_key, 'd', before, "null"));
      RETURN_NOT_OK(writer_.Add(t->topic, "", Tombstone(*t, old_key), cp_));
      return emit(*t, std::move(new_key), 'c', "null", std::move(after));
    }
    return emit(*t, std::move(new_key), 'u', before, std::move(after));
  }
  if (auto* del = std::get_if<Delete>(&m)) {
    ASSIGN_OR_RAISE(const TableSchema* t, table(del->relation));
    std::string before, key;
    RETURN_NOT_OK(TupleRowText(*t, del->old_tuple, &before, &key));
    Tuple().swap(del->old_tuple);
    RETURN_NOT_OK(emit(*t, key, 'd', before, "null"));
    return writer_.Add(t->topic, "", Tombstone(*t, std::move(key)), cp_);
  }
  if (const auto* tr = std::get_if<Truncate>(&m)) {
    for (Oid relid : tr->relations) {
      ASSIGN_OR_RAISE(const TableSchema* t, table(relid));
      RETURN_NOT_OK(emit(*t, "", 't', "null", "null"));
    }
    return Status::OK();
  }
  if (const auto* msg = std::get_if<Message>(&m)) {
    // Logical decoding messages (pg_logical_emit_message) go to PREFIX.message.
    const std::string topic = cfg_.topic_prefix + ".message";
    log::TopicConfig c;
    c.retention_ms = -1;
    RETURN_NOT_OK(writer_.EnsureTopic(topic, c));
    nlohmann::json v{{"op", "m"},
                     {"source", {{"txId", source_.xid}, {"lsn", msg->lsn}, {"ts_ms", source_.ts_ms}}},
                     {"message", {{"prefix", msg->prefix}, {"content", msg->content}}},
                     {"ts_ms", now}};
    log::RecordIn r;
    r.key = msg->prefix;
    r.value = v.dump();
    return writer_.Add(topic, "", std::move(r), cp_);
  }
  return Status::OK();
}

}  // namespace ghostlog::capture
