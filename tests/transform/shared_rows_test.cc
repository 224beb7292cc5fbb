// The OpenLMIS pack's hardest shape (its mapping 64): a target row made by
// several source rows (one adjustment reason per requisition and type, from
// the adjustments of that type on all the requisition's lines), found through
// lookups that capture changes while the stage maps. Here capture appends
// random transactions while the stage runs, so the stage's lookups and
// re-maps read ahead of it as they do in production; once it has caught up,
// the target must be exactly the mapping of the final source.
#include <random>
#include <set>

#include "transform/transform_fixture.h"

namespace ghostlog::transform::testing {
namespace {

using Reason = std::tuple<int, std::string, std::string>;  // requisition, type, name

// The source, as the test changes it (what the oracle maps).
struct Source {
  std::map<int, int> lines;                         // line id -> requisition id
  std::map<std::pair<int, std::string>, int> adjs;  // (line, type) -> quantity
  std::map<std::string, std::string> types;         // name -> description
  int next_line = 1, next_req = 1;

  // Every reason row the target should hold.
  std::set<Reason> Reasons() const {
    std::set<Reason> want;
    for (const auto& [key, qty] : adjs) {
      if (auto l = lines.find(key.first); l != lines.end()) want.emplace(l->second, key.second, types.at(key.second));
    }
    return want;
  }
};

class SharedRowsTest : public TransformTest, public ::testing::WithParamInterface<std::tuple<unsigned, int64_t>> {
 protected:
  // Thousands of small appends: without an fsync each (durability is not
  // what this test is about).
  SharedRowsTest() { fsync_ = log::FsyncPolicy::kInterval; }

  void SetUp() override {
    TransformTest::SetUp();
    capture_->Table("public.lines", {"id", "rnrid", "total"}, {"id"});
    capture_->Table("public.adjustments", {"lid", "type", "quantity"}, {"lid", "type"});
    capture_->Table("public.types", {"name", "description"}, {"name"});
    // As mapping 64 does: the reason's key and columns come from lookups,
    // the type's row is read once per column.
    WriteMapping("64-reasons.toml", R"toml(source = "public.adjustments"
target = "public.reasons"
key = ["id"]
where = "lookup('public.lines', lid, 'rnrid') IS NOT NULL"
[columns]
id = "uuid5('reasons', lookup('public.lines', lid, 'rnrid'), type)"
rnrid = "lookup('public.lines', lid, 'rnrid')"
type = "type"
name = "lookup('public.types', type, 'description')"
name_again = "lookup('public.types', type, 'description')"
)toml");
  }

  // One random transaction of the kinds the demo's workload runs.
  std::vector<Change> RandomTxn(std::mt19937& rng, Source& s, bool snapshot = false) {
    auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
    auto any_line = [&]() { return std::next(s.lines.begin(), pick(static_cast<int>(s.lines.size())))->first; };
    auto adj = [&](int lid, const std::string& type, const std::string& op) {
      const int qty = 1 + pick(25);
      if (op == "d") {
        s.adjs.erase({lid, type});
      } else {
        s.adjs[{lid, type}] = qty;
      }
      return Change{"public.adjustments", op, {{"lid", lid}, {"type", type}, {"quantity", qty}}};
    };
    auto line_total = [&](int lid) {
      int total = 0;
      for (auto it = s.adjs.lower_bound({lid, ""}); it != s.adjs.end() && it->first.first == lid; ++it) {
        total += it->second;
      }
      return Change{"public.lines", "u", {{"id", lid}, {"rnrid", s.lines.at(lid)}, {"total", total + pick(5)}}};
    };
    auto drop_line = [&](int lid, std::vector<Change>* out) {
      for (auto it = s.adjs.lower_bound({lid, ""}); it != s.adjs.end() && it->first.first == lid;) {
        out->push_back({"public.adjustments", "d", {{"lid", lid}, {"type", it->first.second}}});
        it = s.adjs.erase(it);
      }
      out->push_back({"public.lines", "d", {{"id", lid}}});
      s.lines.erase(lid);
    };
    const std::string type = "T" + std::to_string(pick(4));
    std::vector<Change> txn;
    const int op = pick(100);
    if (snapshot || op < 15 || s.lines.size() < 4) {  // a requisition with its lines, some with adjustments
      const int req = s.next_req++;
      for (int n = 1 + pick(4); n > 0; --n) {
        const int lid = s.next_line++;
        s.lines[lid] = req;
        txn.push_back({"public.lines", "c", {{"id", lid}, {"rnrid", req}, {"total", 0}}});
        if (pick(snapshot ? 1 : 2) == 0) txn.push_back(adj(lid, "T" + std::to_string(pick(4)), "c"));
      }
    } else if (op < 60) {  // an adjustment recorded or changed, the line's total follows
      const int lid = any_line();
      txn.push_back(adj(lid, type, s.adjs.count({lid, type}) ? "u" : "c"));
      txn.push_back(line_total(lid));
    } else if (op < 70) {  // an adjustment removed, the line's total follows
      const int lid = any_line();
      if (s.adjs.count({lid, type})) txn.push_back(adj(lid, type, "d"));
      txn.push_back(line_total(lid));
    } else if (op < 75) {  // a line recounted
      txn.push_back(line_total(any_line()));
    } else if (op < 83) {  // a line removed with its adjustments
      drop_line(any_line(), &txn);
    } else if (op < 90) {  // a requisition removed with everything under it
      const int req = s.lines.at(any_line());
      std::vector<int> lids;
      for (const auto& [lid, r] : s.lines) {
        if (r == req) lids.push_back(lid);
      }
      for (int lid : lids) drop_line(lid, &txn);
    } else {  // a type's description edited
      s.types[type] = "Type " + type + " (rev " + std::to_string(pick(9)) + ")";
      txn.push_back({"public.types", "u", {{"name", type}, {"description", s.types[type]}}});
    }
    return txn;
  }

  std::set<Reason> TargetReasons() {
    std::set<Reason> got;
    for (const auto& [key, row] : Target("public.reasons")) {
      EXPECT_EQ(row["name"], row["name_again"]) << key << ": one type row, two reads";
      got.emplace(row["rnrid"].get<int>(), row["type"].get<std::string>(),
                  row["name"].is_string() ? row["name"].get<std::string>() : "NULL");
    }
    return got;
  }
};

TEST_P(SharedRowsTest, MatchTheSourceWhileCaptureRacesTheStage) {
  const auto [seed, max_batch_bytes] = GetParam();
  std::mt19937 rng(seed);
  Source s;
  // The snapshot: types, then requisitions whose lines have adjustments,
  // in chunks of 50 rows.
  std::vector<Change> chunk;
  auto flush = [&]() {
    if (!chunk.empty()) capture_->Txn(chunk, "SNAPSHOT");
    chunk.clear();
  };
  for (int t = 0; t < 4; ++t) {
    const std::string name = "T" + std::to_string(t);
    s.types[name] = "Type " + name;
    chunk.push_back({"public.types", "r", {{"name", name}, {"description", s.types[name]}}});
  }
  flush();
  for (int i = 0; i < 200; ++i) {
    for (auto& c : RandomTxn(rng, s, /*snapshot=*/true)) {
      c.op = "r";
      chunk.push_back(std::move(c));
      if (chunk.size() == 50) flush();
    }
  }
  flush();
  capture_->SnapshotDone();
  // Live changes, appended while the stage maps the snapshot and then them.
  TransformConfig config = Config();
  config.max_batch_bytes = max_batch_bytes;
  Running running(config, StageLog());
  for (int i = 0; i < 1500; ++i) {
    auto txn = RandomTxn(rng, s);
    if (!txn.empty()) capture_->Txn(txn);
  }
  ASSERT_OK(running.CaughtUp());
  const auto want = s.Reasons();
  const auto got = TargetReasons();
  std::vector<Reason> missing, extra;
  std::set_difference(want.begin(), want.end(), got.begin(), got.end(), std::back_inserter(missing));
  std::set_difference(got.begin(), got.end(), want.begin(), want.end(), std::back_inserter(extra));
  auto first = [](const std::vector<Reason>& v) {
    return v.empty() ? std::string("-")
                     : std::to_string(std::get<0>(v[0])) + "/" + std::get<1>(v[0]) + "/" + std::get<2>(v[0]);
  };
  EXPECT_TRUE(missing.empty() && extra.empty())
      << want.size() << " rows wanted, " << got.size() << " in the target; " << missing.size()
      << " missing (first: " << first(missing) << "), " << extra.size() << " extra (first: " << first(extra) << ")";
  // Lines' totals change and the reasons read only their rnrid: those
  // changes map no reason again (and the target still matches).
  EXPECT_GT(running.t.stats().remaps_skipped, 0);
}

// The interleaving differs from run to run (two threads), the changes not.
// A small batch limit makes the stage write transactions in chunks.
INSTANTIATE_TEST_SUITE_P(Seeds, SharedRowsTest,
                         ::testing::Combine(::testing::Values(1u, 2u, 3u), ::testing::Values(4 << 20, 2000)));

}  // namespace
}  // namespace ghostlog::transform::testing
