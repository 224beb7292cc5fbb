// The sink against a real target PostgreSQL, fed by hand-written events.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <set>
#include <thread>

#include "../log/test_util.h"
#include "../pg/pg_cluster.h"
#include "ghostlog/log/fault.h"
#include "ghostlog/sink/sink.h"
#include "target.h"

namespace ghostlog::sink {
namespace {

using ghostlog::testing::PgCluster;
using log::testing::Must;
using nlohmann::json;

class SinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::EmbeddedLogOptions o;
    o.data_dir = dir_.sub("data");
    o.cleanup_interval = std::chrono::milliseconds(0);
    log_ = Must(log::EmbeddedLog::Open(o));
    ASSERT_TRUE(log_->CreateTopic("v2.transaction", 1, {}).ok());
    ASSERT_TRUE(log_->CreateTopic("v2.public.items", 1, {}).ok());
    pg_.Exec("CREATE TABLE items (id int PRIMARY KEY, name text, qty int)");
  }
  void TearDown() override { Stop(); }

  // Appends one source transaction: its events, then its END record.
  void Txn(const std::vector<std::pair<std::string, json>>& events, const std::string& topic = "v2.public.items") {
    std::vector<log::RecordIn> recs;
    for (const auto& [key, v] : events) recs.push_back({key, v.dump(), {}, log::kNoTimestamp});
    auto offsets = Must(log_->Append({topic, 0}, std::move(recs)));
    json end{{"status", "END"},
             {"ranges", {{{"topic", topic}, {"partition", 0}, {"first", offsets.front()}, {"last", offsets.back()}}}}};
    Must(log_->Append({"v2.transaction", 0}, {{"t", end.dump(), {}, log::kNoTimestamp}}));
  }
  // A source transaction of one event that is not JSON.
  void GarbageTxn() {
    const auto at = Must(log_->Append({"v2.public.items", 0}, {{"{\"id\":9}", "not json", {}, log::kNoTimestamp}}));
    json end{{"status", "END"},
             {"ranges", {{{"topic", "v2.public.items"}, {"partition", 0}, {"first", at[0]}, {"last", at[0]}}}}};
    Must(log_->Append({"v2.transaction", 0}, {{"t", end.dump(), {}, log::kNoTimestamp}}));
  }
  static std::pair<std::string, json> Upsert(int id, json after) {
    return {"{\"id\":" + std::to_string(id) + "}", json{{"op", "u"}, {"before", nullptr}, {"after", after}}};
  }
  static std::pair<std::string, json> Insert(int id, json after) {
    return {"{\"id\":" + std::to_string(id) + "}", json{{"op", "c"}, {"before", nullptr}, {"after", after}}};
  }
  static std::pair<std::string, json> Delete(int id) {
    return {"{\"id\":" + std::to_string(id) + "}", json{{"op", "d"}, {"before", {{"id", id}}}, {"after", nullptr}}};
  }

  SinkConfig Config() {
    SinkConfig c;
    c.dsn = pg_.dsn();
    c.max_batch_delay = std::chrono::milliseconds(10);
    return c;
  }
  void Start(SinkConfig c) {
    sink_ = std::make_unique<Sink>(std::move(c), *log_);
    done_ = false;
    thread_ = std::jthread([this](std::stop_token stop) {
      result_ = sink_->Run(stop);
      done_ = true;
    });
  }
  void Stop() {
    if (thread_.joinable()) {
      thread_.request_stop();
      thread_.join();
    }
  }
  bool WaitFor(const std::function<bool()>& pred) { return log::testing::WaitFor(pred); }
  // The rows `query` returns, each followed by ';'.
  std::string Rows(const std::string& query = "SELECT * FROM items ORDER BY id") {
    std::string out;
    for (const auto& r : pg_.Query(query)) out += r + ";";
    return out;
  }

  PgCluster pg_;
  log::testing::TempDir dir_;
  std::unique_ptr<log::EmbeddedLog> log_;
  std::unique_ptr<Sink> sink_;
  std::jthread thread_;
  std::atomic<bool> done_{false};
  Status result_;
};

TEST_F(SinkTest, AppliesCollapsesAndStoresItsOffsetWithTheData) {
  Txn({Upsert(1, {{"id", 1}, {"name", "a"}, {"qty", 1}}), Upsert(2, {{"id", 2}, {"name", "b"}, {"qty", 2}})});
  Txn({Upsert(1, {{"id", 1}, {"name", "a2"}, {"qty", 10}}), Delete(2),
       Upsert(3, {{"id", 3}, {"name", "c"}, {"qty", 3}})});
  Start(Config());
  ASSERT_TRUE(WaitFor([&] { return Rows() == "1\ta2\t10;3\tc\t3;"; })) << Rows();
  EXPECT_EQ(pg_.Value("SELECT next_offset FROM ghostlog.sink_offsets WHERE sink = 'sink'"), "2");
  Stop();
  ASSERT_TRUE(result_.ok()) << result_.ToString();
  // A truncate in the middle of a batch: what came before is wiped, what comes after stays.
  Txn({Upsert(4, {{"id", 4}, {"name", "d"}, {"qty", 4}}),
       {"", json{{"op", "t"}, {"before", nullptr}, {"after", nullptr}}},
       Upsert(5, {{"id", 5}, {"name", "e"}, {"qty", 5}})});
  Start(Config());
  ASSERT_TRUE(WaitFor([&] { return Rows() == "5\te\t5;"; })) << Rows();
  EXPECT_EQ(pg_.Value("SELECT next_offset FROM ghostlog.sink_offsets WHERE sink = 'sink'"), "3");
  EXPECT_EQ(sink_->stats().transactions.load(), 1);  // resumed after the two applied before
}

// Debezium's placeholder for a value the source did not send (an unchanged
// TOAST value capture had no image of) is not data: an existing row keeps its
// value, a new one gets the column's default.
TEST_F(SinkTest, AnUnavailableValueLeavesTheTargetsValueAsItIs) {
  constexpr const char* kUnavailable = "__debezium_unavailable_value";
  Txn({Insert(1, {{"id", 1}, {"name", "long text"}, {"qty", 1}})});
  Start(Config());
  ASSERT_TRUE(WaitFor([&] { return Rows() == "1\tlong text\t1;"; })) << Rows();
  Txn({Upsert(1, {{"id", 1}, {"name", kUnavailable}, {"qty", 2}}),
       Upsert(2, {{"id", 2}, {"name", kUnavailable}, {"qty", 3}})});
  ASSERT_TRUE(WaitFor([&] { return Rows() == "1\tlong text\t2;2\t\\N\t3;"; })) << Rows();
  Stop();
  // Within one batch the later change collapses onto the earlier one: the
  // value it leaves out is the earlier change's, not the target's.
  Txn({Insert(3, {{"id", 3}, {"name", "new text"}, {"qty", 1}})});
  Txn({Upsert(3, {{"id", 3}, {"name", kUnavailable}, {"qty", 9}}),
       Upsert(1, {{"id", 1}, {"name", "changed"}, {"qty", 4}})});
  Txn({Upsert(1, {{"id", 1}, {"name", kUnavailable}, {"qty", 5}})});
  Start(Config());
  ASSERT_TRUE(WaitFor([&] { return Rows() == "1\tchanged\t5;2\t\\N\t3;3\tnew text\t9;"; })) << Rows();
  EXPECT_EQ(sink_->stats().batches.load(), 1);  // all three in one batch
}

// A reporting database whose role has timeouts against runaway sessions. A
// dashboard's lock on a target table outlasts lock_timeout: the batch waits
// for it instead of being refused (and the sink stopped, or the row
// dead-lettered). Every apply outlasts statement_timeout (a slow trigger):
// it is not cancelled and retried forever.
// auto_create makes a missing target table from the latest schema capture
// recorded for it (v2.schema, keyed by schema.table); a schema record not of
// capture's shape stops the sink with an error naming it, not a crash.
TEST_F(SinkTest, AutoCreateMakesTheTargetTableFromCapturesSchema) {
  ASSERT_TRUE(log_->CreateTopic("v2.schema", 1, {}).ok());
  ASSERT_TRUE(log_->CreateTopic("v2.public.gadgets", 1, {}).ok());
  auto schema = [&](const std::string& value) {
    Must(log_->Append({"v2.schema", 0}, {{"public.gadgets", value, {}, log::kNoTimestamp}}));
  };
  schema(R"({"columns":[{"name":"id","type_oid":23,"type_modifier":-1,"key":true}]})");  // an older one
  schema(R"({"columns":[{"name":"id","type_oid":23,"type_modifier":-1,"key":true},)"
         R"({"name":"label","type_oid":1043,"type_modifier":24,"key":false}]})");
  Txn({Insert(1, {{"id", 1}, {"label", "first"}})}, "v2.public.gadgets");
  SinkConfig c = Config();
  c.auto_create = true;
  Start(c);
  ASSERT_TRUE(WaitFor([&] {
    return pg_.Value("SELECT to_regclass('gadgets') IS NOT NULL") == "t" &&
           Rows("SELECT * FROM gadgets") == "1\tfirst;";
  })) << (done_ ? result_.ToString() : "running");
  EXPECT_EQ(pg_.Value("SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                      "WHERE attrelid = 'gadgets'::regclass AND attname = 'label'"),
            "character varying(20)");
  Stop();

  ASSERT_TRUE(log_->CreateTopic("v2.public.widgets", 1, {}).ok());
  Must(log_->Append({"v2.schema", 0}, {{"public.widgets", R"({"columns":[{"name":"id"}]})", {}, log::kNoTimestamp}}));
  Txn({Insert(1, {{"id", 1}})}, "v2.public.widgets");
  Start(c);
  ASSERT_TRUE(WaitFor([&] { return done_.load(); }));
  EXPECT_EQ(result_.code(), Status::Code::kCorruption) << result_.ToString();
  EXPECT_NE(result_.message().find("the schema of public.widgets at offset 2 of topic 'v2.schema'"), std::string::npos)
      << result_.ToString();
}

TEST_F(SinkTest, TheRolesTimeoutsNeitherFailNorRepeatABatch) {
  pg_.Exec("CREATE ROLE timed LOGIN SUPERUSER");
  for (const char* setting : {"lock_timeout", "statement_timeout", "idle_in_transaction_session_timeout"})
    pg_.Exec(std::string("ALTER ROLE timed SET ") + setting + " = '200ms'");
  pg_.Exec(
      "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.3); RETURN NEW; END $$; "
      "CREATE TRIGGER slow BEFORE INSERT ON items FOR EACH ROW EXECUTE FUNCTION slow()");
  std::thread dashboard(
      [&] { pg_.Exec("BEGIN; LOCK TABLE items IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(1); COMMIT"); });
  ASSERT_TRUE(WaitFor([&] {
    return pg_.Value("SELECT count(*) FROM pg_locks WHERE relation = 'items'::regclass AND granted") == "1";
  }));
  Txn({Upsert(1, {{"id", 1}, {"name", "a"}, {"qty", 1}})});
  SinkConfig c = Config();
  c.dsn = pg_.dsn() + " user=timed";
  Start(c);
  EXPECT_TRUE(WaitFor([&] { return Rows() == "1\ta\t1;" || done_.load(); })) << Rows();
  EXPECT_EQ(Rows(), "1\ta\t1;");
  dashboard.join();
  EXPECT_FALSE(done_.load()) << result_.ToString();
  Stop();
  EXPECT_TRUE(result_.ok()) << result_.ToString();
}

// An operator cancels the sink's statement (pg_cancel_backend): the batch is
// applied again, and status says what happened, not that the connection was lost.
TEST_F(SinkTest, ACancelledStatementIsRetriedAndNamedAsSuch) {
  pg_.Exec(
      "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(2); RETURN NEW; END $$; "
      "CREATE TRIGGER slow BEFORE INSERT ON items FOR EACH ROW EXECUTE FUNCTION slow()");
  Txn({Upsert(1, {{"id", 1}, {"name", "a"}, {"qty", 1}})});
  Start(Config());
  // Applying: the trigger holds the statement two seconds per row (the
  // sink's setup statements are active too, but only for a moment).
  ASSERT_TRUE(WaitFor([&] {
    return pg_.Value(
               "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'ghostlog-sink' AND state = "
               "'active' AND wait_event = 'PgSleep'") == "1";
  }));
  pg_.Exec("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'ghostlog-sink'");
  ASSERT_TRUE(WaitFor([&] { return !sink_->stats().retrying.Get().empty(); }));
  EXPECT_NE(sink_->stats().retrying.Get().find("the target cancelled the statement"), std::string::npos)
      << sink_->stats().retrying.Get();
  EXPECT_TRUE(WaitFor([&] { return Rows() == "1\ta\t1;"; })) << Rows() << result_.ToString();
  EXPECT_TRUE(WaitFor([&] { return sink_->stats().retrying.Get().empty(); }));
  EXPECT_FALSE(done_.load()) << result_.ToString();
}

// The target connection's sent statements (what the sink leaves running
// while it reads the next batch): their result comes with Await, a refusal
// included, and nothing else runs on the connection until then.
TEST_F(SinkTest, ASentStatementIsAwaitedBeforeTheConnectionRunsAnother) {
  auto conn = Must(TargetConn::Connect(pg_.dsn()));
  // More than a socket buffer holds, and rows longer than a piece the
  // connection puts at a time (TargetConn::kCopyPiece).
  std::vector<std::string> text;
  for (int id = 1; id <= 20000; ++id) {
    const std::string name = id % 5000 == 0 ? std::string(TargetConn::kCopyPiece * 3 / 2, 'x') : "n";
    text.push_back(std::to_string(id) + "\t" + name + "\t" + std::to_string(id));
  }
  TargetConn::CopyLines rows;
  for (const auto& line : text) rows.push_back(&line);
  ASSERT_OK(conn.Exec("BEGIN").status());
  ASSERT_OK(conn.SendCopyIn("COPY items FROM STDIN", rows));  // more than a socket buffer holds
  EXPECT_TRUE(conn.sent());
  const auto busy = conn.Exec("SELECT 1");
  EXPECT_EQ(busy.status().code(), Status::Code::kAborted) << busy.status().ToString();
  conn.Pump();
  ASSERT_OK(conn.Await());
  EXPECT_FALSE(conn.sent());
  ASSERT_OK(conn.Send("INSERT INTO items VALUES (1, 'again', 1)"));
  EXPECT_EQ(conn.Await().code(), Status::Code::kAlreadyExists);
  ASSERT_OK(conn.Exec("ROLLBACK").status());
  ASSERT_OK(conn.SendCopyIn("COPY items FROM STDIN", rows));
  ASSERT_OK(conn.Await());
  EXPECT_EQ(pg_.Value("SELECT count(*) || ' ' || sum(qty) || ' ' || sum(length(name)) FROM items"),
            "20000 200010000 " + std::to_string(19996 + 4 * (TargetConn::kCopyPiece * 3 / 2)));
}

TEST_F(SinkTest, AMissingColumnStopsTheSinkNamingTopicOffsetTableAndColumn) {
  Txn({Upsert(1, {{"id", 1}, {"name", "a"}, {"qty", 1}})});
  Txn({Upsert(2, {{"id", 2}, {"name", "b"}, {"colour", "red"}})});
  Start(Config());
  ASSERT_TRUE(WaitFor([&] { return done_.load(); }));
  EXPECT_FALSE(result_.ok());
  const std::string m = result_.message();
  EXPECT_NE(m.find("topic 'v2.public.items' offset 1"), std::string::npos) << m;
  EXPECT_NE(m.find("'colour'"), std::string::npos) << m;
  EXPECT_NE(m.find("public.items"), std::string::npos) << m;
  // Nothing of the refused batch is half-applied.
  EXPECT_EQ(pg_.Value("SELECT count(*) FROM items WHERE id = 2"), "0");
}

TEST_F(SinkTest, DeadLetterModeSetsTheBadEventAsideAndAppliesTheRest) {
  Txn({Upsert(1, {{"id", 1}, {"name", "a"}, {"qty", "not a number"}}),
       Upsert(2, {{"id", 2}, {"name", "b"}, {"qty", 2}})});
  SinkConfig c = Config();
  c.on_error = OnError::kDeadLetter;
  Start(c);
  ASSERT_TRUE(WaitFor([&] { return Rows() == "2\tb\t2;"; })) << Rows();
  EXPECT_EQ(sink_->stats().dead_lettered.load(), 1);
  auto dl = Must(log_->Read({"ghostlog.sink.dead_letter", 0}, 0));
  ASSERT_EQ(dl.size(), 1u);
  std::map<std::string, std::string> h;
  for (const auto& x : dl[0].headers) h[x.key] = x.value;
  EXPECT_EQ(h["ghostlog.topic"], "v2.public.items");
  EXPECT_EQ(h["ghostlog.offset"], "0");
  EXPECT_NE(h["ghostlog.error"].find("integer"), std::string::npos) << h["ghostlog.error"];
  EXPECT_EQ(pg_.Value("SELECT next_offset FROM ghostlog.sink_offsets"), "1");
}

// Inserted keys are COPYed straight into the table. When the target already
// has one (the sink rewound and replaying), that COPY is undone and the rows
// are upserted instead: the replay heals the target.
TEST_F(SinkTest, InsertsAreCopiedStraightInAndAReplayFallsBackToUpserts) {
  Txn({Insert(1, {{"id", 1}, {"name", "a"}, {"qty", 1}}), Insert(2, {{"id", 2}, {"name", "b"}, {"qty", 2}})});
  Txn({Insert(3, {{"id", 3}, {"name", "c"}, {"qty", 3}}), Upsert(1, {{"id", 1}, {"name", "a2"}, {"qty", 10}})});
  Start(Config());
  ASSERT_TRUE(WaitFor([&] { return Rows() == "1\ta2\t10;2\tb\t2;3\tc\t3;"; })) << Rows();
  EXPECT_EQ(sink_->stats().direct_copy_conflicts.load(), 0);
  Stop();
  // Rewind to the start; the target has drifted meanwhile.
  pg_.Exec("UPDATE items SET name = 'stale' WHERE id = 2; DELETE FROM items WHERE id = 3");
  pg_.Exec("UPDATE ghostlog.sink_offsets SET next_offset = 0");
  Start(Config());
  ASSERT_TRUE(WaitFor([&] { return Rows() == "1\ta2\t10;2\tb\t2;3\tc\t3;"; })) << Rows();
  EXPECT_GE(sink_->stats().direct_copy_conflicts.load(), 1);
  EXPECT_EQ(pg_.Value("SELECT next_offset FROM ghostlog.sink_offsets WHERE sink = 'sink'"), "2");
  Stop();
  ASSERT_TRUE(result_.ok()) << result_.ToString();
}

// A sink that is behind leaves each full batch's last statement running in
// the target while it reads the next batch, and commits it before applying
// that one. A batch the target refuses at that point (a direct COPY meeting a
// key the target has, a value it cannot take) is rolled back and applied
// again the waiting way, with that way's fallbacks: nothing is lost, nothing
// applied twice, the offset follows the data.
TEST_F(SinkTest, ABacklogIsAppliedWhileTheNextBatchIsReadAndARefusedBatchAgain) {
  pg_.Exec("INSERT INTO items VALUES (9, 'old', 0)");  // the target has a key a later insert brings
  for (int id = 1; id <= 12; id += 2) {
    json qty = id == 3 ? json("not a number") : json(id);
    Txn({Insert(id, {{"id", id}, {"name", "n"}, {"qty", qty}}),
         Insert(id + 1, {{"id", id + 1}, {"name", "n"}, {"qty", id + 1}})});
  }
  SinkConfig c = Config();
  c.max_batch_events = 2;  // one transaction per batch, each one full
  c.on_error = OnError::kDeadLetter;
  Start(c);
  ASSERT_TRUE(WaitFor([&] { return sink_->stats().committed_offset.load() == 6; })) << result_.ToString();
  EXPECT_EQ(pg_.Value("SELECT next_offset FROM ghostlog.sink_offsets"), "6");
  EXPECT_EQ(pg_.Value("SELECT string_agg(id || ':' || name || ':' || qty, ' ' ORDER BY id) FROM items"),
            "1:n:1 2:n:2 4:n:4 5:n:5 6:n:6 7:n:7 8:n:8 9:n:9 10:n:10 11:n:11 12:n:12");
  EXPECT_GE(sink_->stats().overlapped_batches.load(), 2);
  EXPECT_EQ(sink_->stats().dead_lettered.load(), 1);          // key 3: its batch applied again, event by event
  EXPECT_GE(sink_->stats().direct_copy_conflicts.load(), 1);  // key 9: its batch applied again, upserted
  EXPECT_EQ(sink_->stats().transactions.load(), 6);
  EXPECT_EQ(sink_->stats().rows_written.load(), 11) << "a batch applied again counts once; a dead letter not";
  Stop();
  ASSERT_TRUE(result_.ok()) << result_.ToString();
}

// An event set aside while a batch is first read is not set aside again when
// the target refuses the batch and it is read a second time, event by event.
TEST_F(SinkTest, ABatchReadTwiceDeadLettersEachEventOnce) {
  GarbageTxn();
  Txn({Upsert(1, {{"id", 1}, {"name", "a"}, {"qty", "not a number"}}),
       Upsert(2, {{"id", 2}, {"name", "b"}, {"qty", 2}})});
  SinkConfig c = Config();
  c.on_error = OnError::kDeadLetter;
  Start(c);
  ASSERT_TRUE(WaitFor([&] { return Rows() == "2\tb\t2;"; })) << Rows();
  EXPECT_EQ(sink_->stats().dead_lettered.load(), 2);
  auto dl = Must(log_->Read({"ghostlog.sink.dead_letter", 0}, 0));
  ASSERT_EQ(dl.size(), 2u);
  EXPECT_EQ(dl[0].value, std::optional<std::string>("not json"));
  // The refused change is set aside as its original event.
  EXPECT_EQ(json::parse(*dl[1].value)["after"]["qty"], "not a number");
}

// Refused events of one batch are set aside in key order, which need not be
// their offset order: each is set aside, none is skipped as "already done"
// (a high-water mark of offsets lost the lower one), and a batch read again
// after a restart sets none aside twice.
TEST_F(SinkTest, EveryRefusedEventOfABatchIsDeadLetteredWhateverItsKeyOrder) {
  Txn({Upsert(2, {{"id", 2}, {"name", "b"}, {"qty", "not a number"}}),  // offset 0, the higher key
       Upsert(1, {{"id", 1}, {"name", "a"}, {"qty", "nor this"}}),      // offset 1, the lower key
       Upsert(3, {{"id", 3}, {"name", "c"}, {"qty", 3}})});
  SinkConfig c = Config();
  c.on_error = OnError::kDeadLetter;
  Start(c);
  ASSERT_TRUE(WaitFor([&] { return Rows() == "3\tc\t3;"; })) << Rows() << result_.ToString();
  EXPECT_EQ(sink_->stats().dead_lettered.load(), 2);
  std::set<std::string> offsets;
  for (const auto& r : Must(log_->Read({"ghostlog.sink.dead_letter", 0}, 0))) {
    for (const auto& h : r.headers) {
      if (h.key == "ghostlog.offset") offsets.insert(h.value);
    }
  }
  EXPECT_EQ(offsets, (std::set<std::string>{"0", "1"}));
  // Read again from the start by a new sink: nothing is set aside twice.
  Stop();
  pg_.Exec("DELETE FROM items; UPDATE ghostlog.sink_offsets SET next_offset = 0");
  Start(c);
  ASSERT_TRUE(WaitFor([&] { return Rows() == "3\tc\t3;"; })) << Rows() << result_.ToString();
  EXPECT_EQ(Must(log_->DescribePartition({"ghostlog.sink.dead_letter", 0})).end_offset, 2);
  EXPECT_EQ(sink_->stats().dead_lettered.load(), 0);
}

// A dead letter is written when its batch is read, before the batch commits.
// A sink that stops in between (here: the target refuses the apply) reads the
// batch again when it restarts, in a new process: the event is set aside once.
TEST_F(SinkTest, ADeadLetterIsWrittenOnceAcrossARestartBeforeItsBatchCommitted) {
  GarbageTxn();
  Txn({Upsert(1, {{"id", 1}, {"name", "a"}, {"qty", 1}})});
  SinkConfig c = Config();
  c.on_error = OnError::kDeadLetter;
  log::fault::Arm("sink.apply_piece", Status::IOError("injected failure"));
  Start(c);
  ASSERT_TRUE(WaitFor([&] { return done_.load(); }));
  log::fault::DisarmAll();
  ASSERT_NE(result_.message().find("injected failure"), std::string::npos) << result_.ToString();
  EXPECT_EQ(Must(log_->DescribePartition({"ghostlog.sink.dead_letter", 0})).end_offset, 1);
  EXPECT_EQ(Rows(), "");

  Start(c);  // a new Sink: nothing of the first one's memory
  ASSERT_TRUE(WaitFor([&] { return Rows() == "1\ta\t1;"; })) << Rows() << result_.ToString();
  EXPECT_EQ(Must(log_->DescribePartition({"ghostlog.sink.dead_letter", 0})).end_offset, 1);
  EXPECT_EQ(sink_->stats().dead_lettered.load(), 0);
  // Another sink's dead letters are its own business.
  Stop();
  pg_.Exec("DELETE FROM items; DELETE FROM ghostlog.sink_offsets");
  c.name = "other";
  Start(c);
  ASSERT_TRUE(WaitFor([&] { return Rows() == "1\ta\t1;"; })) << Rows() << result_.ToString();
  EXPECT_EQ(Must(log_->DescribePartition({"ghostlog.sink.dead_letter", 0})).end_offset, 2);
}

// A source transaction larger than max_batch_events is applied in pieces (so
// memory stays bounded), yet the target only ever holds it whole: a failure
// after some pieces leaves none of it, and the next run applies all of it.
TEST_F(SinkTest, ALargeSourceTransactionIsAppliedInPiecesButCommittedWhole) {
  Txn({Upsert(1, {{"id", 1}, {"name", "a"}, {"qty", 1}})});
  Start(Config());
  ASSERT_TRUE(WaitFor([&] { return Rows() == "1\ta\t1;"; })) << Rows();
  Stop();

  std::vector<std::pair<std::string, json>> big;
  for (int id = 100; id < 1100; ++id) big.push_back(Upsert(id, {{"id", id}, {"name", "big"}, {"qty", id}}));
  big.push_back(Delete(1));  // its last change undoes what an earlier transaction did
  Txn(big);
  SinkConfig c = Config();
  c.max_batch_events = 100;
  log::fault::Arm("sink.apply_piece", Status::IOError("injected failure"), -1, /*skip=*/3);
  Start(c);
  ASSERT_TRUE(WaitFor([&] { return done_.load(); }));
  log::fault::DisarmAll();
  EXPECT_NE(result_.message().find("injected failure"), std::string::npos) << result_.ToString();
  EXPECT_EQ(sink_->stats().early_pieces.load(), 3);  // three pieces went in before the failure...
  EXPECT_EQ(Rows(), "1\ta\t1;");                     // ...and were rolled back with it
  EXPECT_EQ(pg_.Value("SELECT next_offset FROM ghostlog.sink_offsets WHERE sink = 'sink'"), "1");

  Start(c);
  ASSERT_TRUE(WaitFor([&] { return pg_.Value("SELECT next_offset FROM ghostlog.sink_offsets") == "2"; }))
      << result_.ToString();
  EXPECT_EQ(pg_.Value("SELECT count(*) || ' ' || min(id) || ' ' || max(id) || ' ' || sum(qty) FROM items"),
            "1000 100 1099 599500");
  EXPECT_EQ(sink_->stats().early_pieces.load(), 10);  // 1001 events, 100 per piece
  EXPECT_EQ(sink_->stats().transactions.load(), 1);
}

TEST_F(SinkTest, WaitsForTheTransactionTopicToBeCreated) {
  SinkConfig c = Config();
  c.transaction_topic = "later.transaction";
  c.topics = {"later.public.*"};
  Start(c);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(done_.load()) << result_.ToString();  // still waiting, not failed
  ASSERT_TRUE(log_->CreateTopic("later.transaction", 1, {}).ok());
  ASSERT_TRUE(log_->CreateTopic("later.public.items", 1, {}).ok());
  auto offsets = Must(
      log_->Append({"later.public.items", 0},
                   {{"{\"id\":7}",
                     json{{"op", "c"}, {"before", nullptr}, {"after", {{"id", 7}, {"name", "x"}, {"qty", 1}}}}.dump(),
                     {},
                     log::kNoTimestamp}}));
  json end{{"status", "END"},
           {"ranges", {{{"topic", "later.public.items"}, {"partition", 0}, {"first", 0}, {"last", 0}}}}};
  Must(log_->Append({"later.transaction", 0}, {{"t", end.dump(), {}, log::kNoTimestamp}}));
  ASSERT_TRUE(WaitFor([&] { return Rows() == "7\tx\t1;"; })) << Rows() << " " << result_.ToString();
}

}  // namespace
}  // namespace ghostlog::sink

namespace ghostlog::sink {
namespace {

// The target's offset belongs to one changelog: a new data dir (here: a second
// changelog) under the same sink name is refused, with the way out.
TEST_F(SinkTest, AnOffsetFromAnotherChangelogIsRefused) {
  Txn({Upsert(1, {{"id", 1}, {"name", "a"}, {"qty", 1}})});
  Start(Config());
  ASSERT_TRUE(WaitFor([&] { return Rows() == "1\ta\t1;"; })) << Rows();
  Stop();
  const std::string first_id = Must(log_->ClusterId());
  EXPECT_EQ(pg_.Value("SELECT changelog_id FROM ghostlog.sink_offsets WHERE sink = 'sink'"), first_id);

  log_.reset();
  log::EmbeddedLogOptions o;
  o.data_dir = dir_.sub("data2");
  log_ = Must(log::EmbeddedLog::Open(o));
  ASSERT_NE(Must(log_->ClusterId()), first_id);
  ASSERT_TRUE(log_->CreateTopic("v2.transaction", 1, {}).ok());
  ASSERT_TRUE(log_->CreateTopic("v2.public.items", 1, {}).ok());
  Txn({Upsert(2, {{"id", 2}, {"name", "b"}, {"qty", 2}})});
  Start(Config());
  ASSERT_TRUE(WaitFor([&] { return done_.load(); }));
  EXPECT_EQ(result_.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(result_.message().find("counts offsets of changelog " + first_id), std::string::npos) << result_.message();
  EXPECT_NE(result_.message().find("DELETE FROM ghostlog.sink_offsets WHERE sink = 'sink'"), std::string::npos);
  EXPECT_EQ(Rows(), "1\ta\t1;") << "nothing applied from the wrong position";

  // The way out it names works: the target is rebuilt from this changelog.
  pg_.Exec("DELETE FROM ghostlog.sink_offsets WHERE sink = 'sink'");
  Start(Config());
  ASSERT_TRUE(WaitFor([&] { return Rows() == "1\ta\t1;2\tb\t2;"; })) << Rows();
}

// A target table without a primary key (v3's reporting_dates) is keyed by the
// columns the configuration names: changes update the rows with that key and
// insert the rest, NULL keys match NULL, rows of other keys are left alone,
// and a replay from an earlier offset changes nothing.
TEST_F(SinkTest, ATableWithoutPrimaryKeyIsKeyedByTheConfiguredColumns) {
  ASSERT_TRUE(log_->CreateTopic("v2.public.dates", 1, {}).ok());
  pg_.Exec("CREATE TABLE dates (due_days int, late_days int, country varchar)");
  pg_.Exec("INSERT INTO dates VALUES (14, 7, 'Malawi')");  // the target's own row
  auto row = [](const char* op, json country, json due) {
    json after{{"due_days", due}, {"late_days", 5}, {"country", country}};
    return std::make_pair(json{{"country", country}}.dump(), json{{"op", op}, {"before", nullptr}, {"after", after}});
  };
  auto del = [](json country) {
    return std::make_pair(json{{"country", country}}.dump(),
                          json{{"op", "d"}, {"before", {{"country", country}}}, {"after", nullptr}});
  };
  const std::string topic = "v2.public.dates";
  Txn({row("c", "Tanzania", 10), row("c", "Kenya", 30), row("c", nullptr, 1)}, topic);
  Txn({row("u", "Tanzania", 12), del("Kenya"), row("u", nullptr, 2)}, topic);
  auto rows = [&] { return Rows("SELECT * FROM dates ORDER BY country NULLS FIRST"); };
  const std::string want = "2\t5\t\\N;14\t7\tMalawi;12\t5\tTanzania;";
  SinkConfig c = Config();
  c.topics = {topic};
  c.key_columns = {{"public.dates", {"country"}}};
  Start(c);
  ASSERT_TRUE(WaitFor([&] { return rows() == want; })) << rows() << result_.ToString();
  Stop();
  ASSERT_TRUE(result_.ok()) << result_.ToString();

  // Replayed from the start onto a target that lost the rows. A refused event
  // sends the batch down the slow path (one statement per change): the NULL
  // key is inserted again, Tanzania's last change is the refused one.
  Txn({row("u", "Tanzania", "not a number")}, topic);
  pg_.Exec("DELETE FROM dates WHERE country IS DISTINCT FROM 'Malawi'");
  pg_.Exec("UPDATE ghostlog.sink_offsets SET next_offset = 0");
  c.on_error = OnError::kDeadLetter;
  Start(c);
  ASSERT_TRUE(WaitFor([&] { return pg_.Value("SELECT next_offset FROM ghostlog.sink_offsets") == "3"; }))
      << result_.ToString();
  EXPECT_EQ(rows(), "2\t5\t\\N;14\t7\tMalawi;");
  EXPECT_EQ(sink_->stats().dead_lettered.load(), 1);
  Stop();
  // Again, one source transaction per target transaction: each key updated in place.
  pg_.Exec("UPDATE ghostlog.sink_offsets SET next_offset = 0");
  c.max_batch_events = 1;
  Start(c);
  ASSERT_TRUE(WaitFor([&] { return pg_.Value("SELECT next_offset FROM ghostlog.sink_offsets") == "3"; }))
      << result_.ToString();
  EXPECT_EQ(rows(), want);
}

// A source without a primary key keys its events by the whole row: changes
// to one target row come under different record keys, and one batch must
// still leave one row per configured key, as the last change says.
TEST_F(SinkTest, ChangesUnderDifferentRecordKeysToOneConfiguredKeyAreOneRow) {
  ASSERT_TRUE(log_->CreateTopic("v2.public.dates", 1, {}).ok());
  pg_.Exec("CREATE TABLE dates (due_days int, country varchar)");
  auto event = [](const std::string& op, int due, const char* country) {
    const json image{{"due_days", due}, {"country", country}};
    return std::make_pair(image.dump(), op == "d" ? json{{"op", "d"}, {"before", image}, {"after", nullptr}}
                                                  : json{{"op", op}, {"before", nullptr}, {"after", image}});
  };
  Txn({event("c", 10, "Tanzania"), event("c", 12, "Tanzania"), event("c", 1, "Kenya"), event("d", 2, "Kenya"),
       event("d", 3, "Uganda"), event("c", 4, "Uganda"), event("c", 5, "Malawi"), event("d", 6, "Malawi")},
      "v2.public.dates");
  auto rows = [&] { return Rows("SELECT * FROM dates ORDER BY country"); };
  const std::string want = "12\tTanzania;4\tUganda;";
  SinkConfig c = Config();
  c.topics = {"v2.public.dates"};
  c.key_columns = {{"public.dates", {"country"}}};
  for (int64_t batch : {20000, 1}) {  // one batch; one change per piece
    c.max_batch_events = batch;
    Start(c);
    ASSERT_TRUE(WaitFor([&] { return rows() == want; })) << rows() << ", max_batch_events " << batch;
    Stop();
    pg_.Exec("DELETE FROM dates");
    pg_.Exec("UPDATE ghostlog.sink_offsets SET next_offset = 0");
  }
}

TEST_F(SinkTest, ATableWithoutPrimaryKeyNeedsItsKeyColumnsConfigured) {
  ASSERT_TRUE(log_->CreateTopic("v2.public.dates", 1, {}).ok());
  pg_.Exec("CREATE TABLE dates (due_days int, country varchar)");
  Txn({{"{}", json{{"op", "c"}, {"before", nullptr}, {"after", {{"due_days", 1}, {"country", "x"}}}}}},
      "v2.public.dates");
  auto refusal = [&](std::map<std::string, std::vector<std::string>> keys) {
    SinkConfig c = Config();
    c.topics = {"v2.public.dates"};
    c.key_columns = std::move(keys);
    Start(c);
    EXPECT_TRUE(WaitFor([&] { return done_.load(); }));
    Stop();
    return result_.message();
  };
  EXPECT_NE(refusal({}).find("public.dates has no primary key; the sink upserts by primary key, so add one, or name "
                             "the columns that identify a row in sink.key_columns"),
            std::string::npos)
      << result_.message();
  EXPECT_NE(refusal({{"public.dates", {"name"}}})
                .find("sink.key_columns for public.dates: column 'name' does not "
                      "exist in the table"),
            std::string::npos)
      << result_.message();
  EXPECT_EQ(pg_.Value("SELECT count(*) FROM dates"), "0");
  Txn({Upsert(1, {{"id", 1}, {"name", "a"}, {"qty", 1}})});
  SinkConfig c = Config();
  c.topics = {"v2.public.items"};
  c.key_columns = {{"public.items", {"name"}}};
  Start(c);
  EXPECT_TRUE(WaitFor([&] { return done_.load(); }));
  EXPECT_NE(result_.message().find("public.items, which has a primary key"), std::string::npos) << result_.message();
}

}  // namespace
}  // namespace ghostlog::sink
