// The transform stage against a real changelog on disk (transform_fixture.h).
#include "lookup.h"
#include "transform/transform_fixture.h"

namespace ghostlog::transform::testing {
namespace {

TEST_F(TransformTest, MapsInsertsUpdatesDeletesWithTransactionBoundaries) {
  capture_->Txn({{"public.zones", "r", {{"id", 1}, {"name", "Pwani"}}}}, "SNAPSHOT");
  capture_->Txn({{"public.facilities", "c", Facility(1, "F1", 1)}, {"public.facilities", "c", Facility(2, "F2", 1)}});
  capture_->Txn({{"public.facilities", "u", Facility(1, "F1b", 1)}});
  capture_->Txn({{"public.facilities", "d", {{"id", 2}}}});  // default replica identity: the key only
  ASSERT_TRUE(RunToEnd(Config()).ok());

  auto rows = Target("public.kafka_facilities");
  ASSERT_EQ(rows.size(), 1u);
  const json& f1 = rows.at(FacilityKey(1));
  EXPECT_EQ(f1["code"], "F1b");
  EXPECT_EQ(f1["zonename"], "Pwani");  // lookup of another table's latest row

  // One output transaction per input transaction that produced something,
  // carrying its source id; the zones transaction maps to nothing.
  auto txns = Must(log_->Read({"v3.transaction", 0}, 0));
  ASSERT_EQ(txns.size(), 3u);
  json first = json::parse(*txns[0].value);
  EXPECT_EQ(first["status"], "END");
  EXPECT_EQ(first["event_count"], 2);
  EXPECT_EQ(first["source"]["offset"], 1);
  EXPECT_EQ(first["ranges"][0]["first"], 0);
  EXPECT_EQ(first["ranges"][0]["last"], 1);
  // The group offset is committed with the output.
  EXPECT_EQ(Must(log_->Committed("ghostlog-transform", {"v2.transaction", 0})).offset, 4);
}

TEST_F(TransformTest, WhereFlipAndKeyChangeDeleteWhatNoLongerMaps) {
  WriteMapping("20-codes.toml", R"toml(source = "public.facilities"
target = "public.facility_codes"
key = ["code"]
[columns]
code = "code"
name = "name"
)toml");
  capture_->Txn({{"public.facilities", "c", Facility(1, "A", 1)}});
  capture_->Txn({{"public.facilities", "u", Facility(1, "B", 1, /*active=*/false)}});
  ASSERT_TRUE(RunToEnd(Config()).ok());
  EXPECT_TRUE(Target("public.kafka_facilities").empty()) << "inactive: filtered out, so deleted";
  auto codes = Target("public.facility_codes");
  ASSERT_EQ(codes.size(), 1u) << "the target key changed from A to B: A is deleted";
  EXPECT_EQ(codes.begin()->second["code"], "B");
}

TEST_F(TransformTest, RewindAndReplayWithAFixedMappingHealsTheTarget) {
  capture_->Txn({{"public.zones", "r", {{"id", 1}, {"name", "Pwani"}}}}, "SNAPSHOT");
  for (int i = 1; i <= 20; ++i) capture_->Txn({{"public.facilities", "c", Facility(i, "F" + std::to_string(i), 1)}});
  capture_->Txn({{"public.facilities", "d", {{"id", 3}}}});
  // A wrong mapping: ids from the wrong namespace, names lower-cased.
  WriteMapping("10-facilities.toml", R"toml(source = "public.facilities"
target = "public.kafka_facilities"
key = ["id"]
[columns]
id = "uuid5('wrong', id)"
name = "lower(name)"
)toml");
  ASSERT_TRUE(RunToEnd(Config()).ok());
  ASSERT_EQ(Target("public.kafka_facilities").size(), 19u);

  // The fix, then `offsets reset --to-earliest` on the transform's group.
  WriteMapping("10-facilities.toml", R"toml(source = "public.facilities"
target = "public.kafka_facilities"
key = ["id"]
[columns]
id = "uuid5('facilities', id)"
name = "name"
)toml");
  ASSERT_TRUE(log_->CommitOffsets("ghostlog-transform", {{{"v2.transaction", 0}, {0, "", 0}}}).ok());
  ASSERT_TRUE(RunToEnd(Config()).ok());
  auto healed = Target("public.kafka_facilities");

  // A fresh run of the fixed mapping on the same input, into another prefix.
  TransformConfig fresh = Config();
  fresh.output_prefix = "fresh";
  fresh.group = "fresh";
  ASSERT_TRUE(RunToEnd(fresh).ok());
  std::map<std::string, json> expected;
  for (const auto& r : Must(log_->Read({"fresh.public.kafka_facilities", 0}, 0, {100000, 1 << 30}))) {
    json v = json::parse(*r.value);
    if (v["op"] == "d")
      expected.erase(r.key);
    else
      expected[r.key] = v["after"];
  }
  ASSERT_EQ(expected.size(), 19u);
  EXPECT_EQ(healed, expected) << "the rows of the wrong mapping are deleted, the right ones upserted";
  EXPECT_EQ(healed.at(FacilityKey(5))["name"], "Facility F5");
}

TEST_F(TransformTest, ABadRecordStopsOrIsDeadLettered) {
  WriteStrictMapping();
  capture_->Txn({{"public.facilities", "c", Facility(1, "{\"x\": 1}", 1)}});
  capture_->Txn({{"public.facilities", "c", Facility(2, "not json", 1)}});
  capture_->Txn({{"public.facilities", "c", Facility(3, "{\"y\": 1}", 1)}});  // key evaluates to NULL

  Status s = RunToEnd(Config());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("topic 'v2.public.facilities' offset 1, mapping 20-strict: "), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("20-strict.toml:5: columns.id: malformed JSON"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("not json"), std::string::npos) << "the value is shown: " << s.message();
  EXPECT_EQ(Must(log_->Committed("ghostlog-transform", {"v2.transaction", 0})).offset, 1) << "stops before it";

  TransformConfig c = Config();
  c.on_error = OnError::kDeadLetter;
  Running run(c, StageLog());
  ASSERT_TRUE(run.CaughtUp().ok());
  EXPECT_EQ(run.t.stats().dead_lettered, 2);
  auto dead = Must(log_->Read({"ghostlog.transform.dead_letter", 0}, 0));
  ASSERT_EQ(dead.size(), 2u);
  EXPECT_NE(dead[1].headers[0].value.find("key column id is NULL"), std::string::npos) << dead[1].headers[0].value;
  EXPECT_EQ(Target("public.kafka_facilities").size(), 3u) << "the other mapping still maps the bad rows";
  EXPECT_EQ(Target("public.strict").size(), 1u);
}

TEST_F(TransformTest, ABrokenMappingFileIsRefusedAtStart) {
  WriteMapping("20-typo.toml", R"toml(source = "public.facilities"
target = "public.x"
key = ["id"]
[columns]
id = "id"
name = "nmae"
)toml");
  capture_->Txn({{"public.facilities", "c", Facility(1, "A", 1)}});
  Status s = RunToEnd(Config());
  // The source schema is known (capture recorded it), so the typo is caught before any record.
  EXPECT_EQ(s.message(), dir_.sub("maps/20-typo.toml") + ":6: columns.name: no such column: nmae");
  EXPECT_TRUE(log_->Committed("ghostlog-transform", {"v2.transaction", 0}).status().IsNotFound());
}

TEST_F(TransformTest, LiveLookupsReEmitRowsWhenTheLookedUpRowChanges) {
  SnapshotTwoZones();
  capture_->Txn({{"public.facilities", "c", Facility(1, "A", 1)},
                 {"public.facilities", "c", Facility(2, "B", 1)},
                 {"public.facilities", "c", Facility(3, "C", 2)}});
  ASSERT_TRUE(RunToEnd(Config()).ok());
  EXPECT_EQ(ZoneOf(1), "Pwani");

  // A rename in another transaction, seen by a new process (the index is
  // rebuilt from its topic): both facilities of zone 1 follow, not the third.
  capture_->Txn({{"public.zones", "u", {{"id", 1}, {"name", "Pwani Region"}}}});
  ASSERT_TRUE(RunToEnd(Config()).ok());
  EXPECT_EQ(ZoneOf(1), "Pwani Region");
  EXPECT_EQ(ZoneOf(2), "Pwani Region");
  EXPECT_EQ(ZoneOf(3), "Mara");
  auto last = Must(log_->Read({"v3.transaction", 0}, 0));
  EXPECT_EQ(json::parse(*last.back().value)["event_count"], 2) << "only the two dependents are re-emitted";

  // A facility moves: it now follows zone 2, and no longer zone 1.
  capture_->Txn({{"public.facilities", "u", Facility(2, "B", 2)}});
  capture_->Txn({{"public.zones", "u", {{"id", 1}, {"name", "Pwani 3"}}},
                 {"public.zones", "u", {{"id", 2}, {"name", "Mara 2"}}}});
  ASSERT_TRUE(RunToEnd(Config()).ok());
  EXPECT_EQ(ZoneOf(1), "Pwani 3");
  EXPECT_EQ(ZoneOf(2), "Mara 2");
  EXPECT_EQ(ZoneOf(3), "Mara 2");

  // The looked-up row is deleted: its dependents map with NULL.
  capture_->Txn({{"public.zones", "d", {{"id", 2}}}});
  ASSERT_TRUE(RunToEnd(Config()).ok());
  EXPECT_TRUE(ZoneOf(3).is_null());
  EXPECT_EQ(ZoneOf(1), "Pwani 3");
}

// The reverse index (who reads a row) is a topic of its own since the index
// moved out of memory; a data dir from before has only the forward one, and
// the transform builds the reverse one from it at start.
TEST_F(TransformTest, LiveLookupsWorkOnADataDirWrittenBeforeTheReadersTopic) {
  SnapshotTwoZones();
  capture_->Txn({{"public.facilities", "c", Facility(1, "A", 1)}, {"public.facilities", "c", Facility(2, "B", 2)}});
  ASSERT_TRUE(RunToEnd(Config()).ok());
  std::string readers;
  for (const auto& t : Must(log_->ListTopics())) {
    if (t.ends_with(".readers")) readers = t;
  }
  ASSERT_FALSE(readers.empty());
  ASSERT_TRUE(log_->DeleteTopic(readers).ok());

  capture_->Txn({{"public.zones", "u", {{"id", 1}, {"name", "Pwani Region"}}}});
  ASSERT_TRUE(RunToEnd(Config()).ok());
  EXPECT_EQ(ZoneOf(1), "Pwani Region");
  EXPECT_EQ(ZoneOf(2), "Mara");
  EXPECT_EQ(Must(log_->DescribePartition({readers, 0})).records, 3) << "two readers and the completion record";
}

TEST_F(TransformTest, ATargetRowWithSeveralOwnersLivesUntilTheLastGoes) {
  WriteZonesSeenMapping();
  capture_->Txn({{"public.facilities", "c", Facility(1, "A", 1)}, {"public.facilities", "c", Facility(2, "B", 1)}});
  capture_->Txn({{"public.facilities", "d", {{"id", 1}}}});
  ASSERT_TRUE(RunToEnd(Config()).ok());
  auto seen = Target("public.zones_seen");
  ASSERT_EQ(seen.size(), 1u) << "facility 2 still produces zone 1";
  EXPECT_EQ(seen.begin()->second["code"], "B") << "mapped again from the remaining owner";

  capture_->Txn({{"public.facilities", "u", Facility(2, "B", 2)}});
  ASSERT_TRUE(RunToEnd(Config()).ok());
  seen = Target("public.zones_seen");
  ASSERT_EQ(seen.size(), 1u) << "zone 1 lost its last owner";
  EXPECT_EQ(seen.begin()->second["zoneid"], 2);
}

// The hand-over's re-map reads the remaining owner's latest image: when
// capture has its delete already, the re-map is skipped and the target row
// keeps the producer header of the row that gave it up. That row, coming back,
// must still join the owners list (it once skipped it, seeing its own name in
// the header), or the remaining owner's delete deletes the row it produces.
// (Found by SharedRowsTest; seen as a missing adjustment reason in a demo.)
TEST_F(TransformTest, AnOwnerComingBackAfterASkippedHandOverKeepsTheRow) {
  WriteZonesSeenMapping();
  capture_->Txn({{"public.facilities", "c", Facility(1, "A", 1)}, {"public.facilities", "c", Facility(2, "B", 1)}});
  capture_->Txn({{"public.facilities", "d", {{"id", 2}}}});  // hand-over to 1, skipped: 1 is deleted below
  capture_->Txn({{"public.facilities", "c", Facility(2, "B2", 1)}});
  capture_->Txn({{"public.facilities", "d", {{"id", 1}}}});
  ASSERT_OK(RunToEnd(Config()));
  const auto seen = Target("public.zones_seen");
  ASSERT_EQ(seen.size(), 1u) << "facility 2 produces zone 1 again";
  EXPECT_EQ(seen.begin()->second["code"], "B2");
}

// A lookup() into a table capture has not recorded (added to the publication
// later, say) reads as no row, and the table's first event re-maps the row
// (here in a new process each time, so the reference also survives a restart).
TEST_F(TransformTest, ALookupIntoATableNotCapturedYetIsFilledWhenItArrives) {
  DistrictsLookingUpRegions();
  capture_->Txn({{"public.districts", "c", {{"id", 1}, {"regionid", 7}}},
                 {"public.districts", "c", {{"id", 2}, {"regionid", 8}}}});
  ASSERT_OK(RunToEnd(Config()));
  auto region_of = [&](int id) { return Target("public.kafka_districts").at(json{{"id", id}}.dump())["regionname"]; };
  EXPECT_TRUE(region_of(1).is_null());
  EXPECT_TRUE(region_of(2).is_null());

  capture_->Table("public.regions", {"id", "name"}, {"id"});
  capture_->Txn({{"public.regions", "c", {{"id", 7}, {"name", "Dodoma"}}}});
  ASSERT_OK(RunToEnd(Config()));
  EXPECT_EQ(region_of(1), "Dodoma");
  EXPECT_TRUE(region_of(2).is_null());

  // Now the references are by key: region 8 fills district 2, and a later
  // change to region 7 re-emits district 1 only.
  capture_->Txn({{"public.regions", "c", {{"id", 8}, {"name", "Singida"}}}});
  ASSERT_OK(RunToEnd(Config()));
  EXPECT_EQ(region_of(2), "Singida");
  capture_->Txn({{"public.regions", "u", {{"id", 7}, {"name", "Dodoma Region"}}}});
  ASSERT_OK(RunToEnd(Config()));
  EXPECT_EQ(region_of(1), "Dodoma Region");
  EXPECT_EQ(region_of(2), "Singida");
  auto last = Must(log_->Read({"v3.transaction", 0}, 0));
  EXPECT_EQ(json::parse(*last.back().value)["event_count"], 1) << "only district 1 is re-emitted";
}

// A change to a looked-up row maps its readers again only if it changed a
// column they read (the districts read a region's name, not its population).
TEST_F(TransformTest, AChangeToAColumnNoReaderReadsMapsNoReaderAgain) {
  DistrictsLookingUpRegions();
  capture_->Table("public.regions", {"id", "name", "population"}, {"id"});
  capture_->Txn({{"public.regions", "c", {{"id", 7}, {"name", "Dodoma"}, {"population", 100}}}});
  capture_->Txn({{"public.districts", "c", {{"id", 1}, {"regionid", 7}}},
                 {"public.districts", "c", {{"id", 2}, {"regionid", 7}}}});
  Running run(Config(), StageLog());
  ASSERT_OK(run.CaughtUp());
  const int64_t out = run.t.stats().events_out;
  capture_->Txn({{"public.regions", "u", {{"id", 7}, {"name", "Dodoma"}, {"population", 200}}}});
  ASSERT_OK(run.CaughtUp());
  EXPECT_EQ(run.t.stats().remaps_skipped, 2);
  EXPECT_EQ(run.t.stats().events_out, out) << "nothing the districts show changed";
  capture_->Txn({{"public.regions", "u", {{"id", 7}, {"name", "Dodoma Region"}, {"population", 200}}}});
  ASSERT_OK(run.CaughtUp());
  EXPECT_EQ(run.t.stats().events_out, out + 2);
  const auto target = Target("public.kafka_districts");
  EXPECT_EQ(target.at(json{{"id", 1}}.dump())["regionname"], "Dodoma Region");
  EXPECT_EQ(target.at(json{{"id", 2}}.dump())["regionname"], "Dodoma Region");
  // After the population change they still compare with the record they read.
  capture_->Txn({{"public.regions", "u", {{"id", 7}, {"name", "Dodoma Region"}, {"population", 300}}}});
  capture_->Txn({{"public.regions", "u", {{"id", 7}, {"name", "Dodoma"}, {"population", 300}}}});
  ASSERT_OK(run.CaughtUp());
  EXPECT_EQ(Target("public.kafka_districts").at(json{{"id", 2}}.dump())["regionname"], "Dodoma");
}

// A reader that read the key after its last noted change (nobody read the
// key in between, so that change was not noted) compares with what it read.
TEST_F(TransformTest, AReaderComparesWithWhatItReadIfItCameAfterTheLastNotedChange) {
  DistrictsLookingUpRegions();
  capture_->Table("public.regions", {"id", "name"}, {"id"});
  auto region = [&](int id, const std::string& name) {
    capture_->Txn({{"public.regions", "u", {{"id", id}, {"name", name}}}});
  };
  auto district = [&](int id, int region_id) {
    capture_->Txn({{"public.districts", "u", {{"id", id}, {"regionid", region_id}}}});
  };
  region(7, "Dodoma");
  region(8, "Singida");
  district(1, 7);
  Running run(Config(), StageLog());
  ASSERT_OK(run.CaughtUp());
  region(7, "Dodoma Region");  // noted: district 1 reads it
  ASSERT_OK(run.CaughtUp());
  district(1, 8);       // region 7 has no reader now
  region(7, "Dodoma");  // not noted
  ASSERT_OK(run.CaughtUp());
  district(2, 7);  // reads "Dodoma"
  ASSERT_OK(run.CaughtUp());
  region(7, "Dodoma Region");  // the same name as the last noted change, not as what district 2 read
  ASSERT_OK(run.CaughtUp());
  EXPECT_EQ(Target("public.kafka_districts").at(json{{"id", 2}}.dump())["regionname"], "Dodoma Region");
}

// The same within one run: the table's first event comes in the batch after
// the rows that read it as a whole.
// The output transaction records name the offsets their records got, not the
// ones predicted from the last write's end: Kafka takes an offset of its own
// (a transaction's commit marker) between two writes, as this record does here.
TEST_F(TransformTest, OutputRangesNameTheOffsetsTheRecordsGot) {
  capture_->Txn({{"public.facilities", "c", Facility(1, "A", 1)}});
  Running run(Config(), StageLog());
  ASSERT_OK(run.CaughtUp());
  const std::string out = "v3.public.kafka_facilities";
  ASSERT_EQ(Must(log_->Append({out, 0}, {log::RecordIn{"other", "{}", {}, log::kNoTimestamp}}))[0], 1);
  capture_->Txn({{"public.facilities", "c", Facility(2, "B", 1)}, {"public.facilities", "c", Facility(3, "C", 1)}});
  ASSERT_OK(run.CaughtUp());
  capture_->Txn({{"public.facilities", "c", Facility(4, "D", 1)}});
  ASSERT_OK(run.CaughtUp());
  auto txns = Must(log_->Read({"v3.transaction", 0}, 0));
  ASSERT_EQ(txns.size(), 3u);
  const json second = json::parse(*txns[1].value), third = json::parse(*txns[2].value);
  EXPECT_EQ(second["ranges"][0]["first"], 2);
  EXPECT_EQ(second["ranges"][0]["last"], 3);
  EXPECT_EQ(third["ranges"][0]["first"], 4);
  auto records = Must(log_->Read({out, 0}, 2, {2}));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].key, FacilityKey(2));
  EXPECT_EQ(records[1].key, FacilityKey(3));
}

TEST_F(TransformTest, ALookupIntoATableNotCapturedYetIsFilledInTheSameRun) {
  DistrictsLookingUpRegions();
  capture_->Txn({{"public.districts", "c", {{"id", 1}, {"regionid", 7}}}});
  Running run(Config(), StageLog());
  ASSERT_OK(run.CaughtUp());
  capture_->Table("public.regions", {"id", "name"}, {"id"});
  capture_->Txn({{"public.regions", "c", {{"id", 7}, {"name", "Dodoma"}}}});
  ASSERT_OK(run.CaughtUp());
  EXPECT_EQ(Target("public.kafka_districts").at(json{{"id", 1}}.dump())["regionname"], "Dodoma");
}

// Snapshot chunks wait until capture's whole snapshot is in the changelog, so
// a row is never mapped before the rows it looks up are there: facilities
// come before zones here, and no facility is ever emitted without its zone.
TEST_F(TransformTest, TheSnapshotIsMappedOnlyOnceItIsComplete) {
  capture_->Txn({{"public.facilities", "r", Facility(1, "A", 1)}, {"public.facilities", "r", Facility(2, "B", 2)}},
                "SNAPSHOT");
  {
    Running running(Config(), StageLog());
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    EXPECT_EQ(running.t.stats().committed_offset.load(), 0)
        << "a snapshot chunk was mapped before the snapshot was complete";
    SnapshotTwoZones();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ(running.t.stats().committed_offset.load(), 0);
    capture_->SnapshotDone();
    ASSERT_OK(running.CaughtUp());  // every transaction mapped, and no error
  }
  const log::Offset end = Must(log_->DescribePartition({"v2.transaction", 0})).end_offset;
  Status result;
  // Every facility record ever emitted carries its zone.
  for (const auto& r : Must(log_->Read({"v3.public.kafka_facilities", 0}, 0, {1000, 1 << 20}))) {
    EXPECT_FALSE(json::parse(*r.value)["after"]["zonename"].is_null()) << *r.value;
  }
  EXPECT_EQ(Target("public.kafka_facilities").at(FacilityKey(2))["zonename"], "Mara");

  // A stop while waiting for a snapshot is a clean stop, not an error.
  capture_->Txn({{"public.zones", "r", {{"id", 3}, {"name", "Lindi"}}}}, "SNAPSHOT");
  Transform again(Config(), *log_);
  std::jthread th2([&](std::stop_token stop) { result = again.Run(stop); });
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  th2.request_stop();
  th2.join();
  EXPECT_TRUE(result.ok()) << result.ToString();
  EXPECT_EQ(again.stats().committed_offset.load(), end);
}

// A TRUNCATE of a looked-up table: every row that read it is mapped again
// (its lookups now find nothing), and rows inserted after it are found again.
TEST_F(TransformTest, ATruncateOfALookedUpTableReMapsItsReaders) {
  SnapshotTwoZones();
  capture_->Txn({{"public.facilities", "c", Facility(1, "A", 1)}, {"public.facilities", "c", Facility(2, "B", 2)}});
  ASSERT_OK(RunToEnd(Config()));
  EXPECT_EQ(ZoneOf(1), "Pwani");

  capture_->Txn({{"public.zones", "t", json::object()}});
  ASSERT_OK(RunToEnd(Config()));
  EXPECT_TRUE(ZoneOf(1).is_null());
  EXPECT_TRUE(ZoneOf(2).is_null());

  capture_->Txn({{"public.zones", "c", {{"id", 2}, {"name", "Mara Region"}}}});
  ASSERT_OK(RunToEnd(Config()));
  EXPECT_TRUE(ZoneOf(1).is_null());
  EXPECT_EQ(ZoneOf(2), "Mara Region");
}

// lookup_by() finds a row by non-key columns (a supply line by supervisory
// node and program), and is live like lookup(): a row that starts or stops
// matching, or changes while it matches, maps its readers again. Each step
// runs in a new process, so the index is rebuilt from the changelog too.
TEST_F(TransformTest, LookupByNonKeyColumnsFollowsTheRowsThatMatch) {
  capture_->Table("public.supply_lines", {"id", "nodeid", "programid", "supplierid"}, {"id"});
  WriteMapping("10-facilities.toml", R"toml(source = "public.facilities"
target = "public.kafka_facilities"
key = ["id"]
[columns]
id = "uuid5('facilities', id)"
zonename = "lookup('public.zones', zoneid, 'name')"
supplier = "lookup_by('public.supply_lines', 'nodeid, programid', json_array(zoneid, 7), 'supplierid')"
zone_by_name = "lookup_by('public.zones', 'name', 'Mara', 'id')"
)toml");
  auto line = [](int id, int node, int program, int supplier) {
    return json{{"id", id}, {"nodeid", node}, {"programid", program}, {"supplierid", supplier}};
  };
  SnapshotTwoZones();
  capture_->Txn({{"public.supply_lines", "r", line(1, 1, 7, 100)}, {"public.supply_lines", "r", line(9, 1, 8, 900)}},
                "SNAPSHOT");
  capture_->Txn({{"public.facilities", "c", Facility(1, "A", 1)}, {"public.facilities", "c", Facility(2, "B", 2)}});
  ASSERT_TRUE(RunToEnd(Config()).ok());
  auto supplier = [&](int id) { return Target("public.kafka_facilities").at(FacilityKey(id))["supplier"]; };
  EXPECT_EQ(supplier(1), 100);
  EXPECT_TRUE(supplier(2).is_null());
  EXPECT_EQ(Target("public.kafka_facilities").at(FacilityKey(1))["zone_by_name"], 2);

  // A new row starts matching: only its reader is mapped again.
  capture_->Txn({{"public.supply_lines", "c", line(2, 2, 7, 200)}});
  ASSERT_TRUE(RunToEnd(Config()).ok());
  EXPECT_EQ(supplier(2), 200);
  auto txns = Must(log_->Read({"v3.transaction", 0}, 0));
  EXPECT_EQ(json::parse(*txns.back().value)["event_count"], 1);

  // The matching row changes a column it is not found by; another row moves
  // away (its old readers lose it); a row of another program changes (nobody
  // found it: nothing is mapped again).
  capture_->Txn({{"public.supply_lines", "u", line(1, 1, 7, 101)}, {"public.supply_lines", "u", line(2, 3, 7, 200)}});
  ASSERT_TRUE(RunToEnd(Config()).ok());
  EXPECT_EQ(supplier(1), 101);
  EXPECT_TRUE(supplier(2).is_null());
  const log::Offset before = Must(log_->DescribePartition({"v3.transaction", 0})).end_offset;
  capture_->Txn({{"public.supply_lines", "u", line(9, 1, 8, 901)}});
  ASSERT_TRUE(RunToEnd(Config()).ok());
  EXPECT_EQ(Must(log_->DescribePartition({"v3.transaction", 0})).end_offset, before);

  // Deleted, then the table truncated and filled again.
  capture_->Txn({{"public.supply_lines", "d", {{"id", 1}}}});
  ASSERT_TRUE(RunToEnd(Config()).ok());
  EXPECT_TRUE(supplier(1).is_null());
  capture_->Txn({{"public.supply_lines", "c", line(1, 1, 7, 102)}});
  capture_->Txn({{"public.supply_lines", "t", json::object()}});
  ASSERT_TRUE(RunToEnd(Config()).ok());
  EXPECT_TRUE(supplier(1).is_null());
  capture_->Txn({{"public.supply_lines", "c", line(5, 2, 7, 500)}});
  ASSERT_TRUE(RunToEnd(Config()).ok());
  EXPECT_EQ(supplier(2), 500);
  EXPECT_TRUE(supplier(1).is_null());
}

TEST_F(TransformTest, LookupByAColumnTheTableLacksStopsTheStageNamingIt) {
  WriteMapping("10-facilities.toml", R"toml(source = "public.facilities"
target = "public.kafka_facilities"
key = ["id"]
[columns]
id = "uuid5('facilities', id)"
zone = "lookup_by('public.zones', 'nmae', 'Mara', 'id')"
)toml");
  SnapshotTwoZones();
  capture_->Txn({{"public.facilities", "c", Facility(1, "A", 1)}});
  Status s = RunToEnd(Config());
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("lookup_by('public.zones'): public.zones has no column 'nmae'"), std::string::npos)
      << s.ToString();
}

// A table's primary key changes while the stage runs: lookups use the new key
// columns from the transaction that carries the new schema on, not the ones
// learnt at the first lookup (here the old key would still find the old row).
TEST_F(TransformTest, ALookedUpTableWithANewPrimaryKeyIsLookedUpByIt) {
  SnapshotTwoZones();
  capture_->Txn({{"public.facilities", "c", Facility(1, "A", 1)}});
  Running running(Config(), StageLog());
  ASSERT_TRUE(running.CaughtUp().ok()) << running.result.ToString();
  EXPECT_EQ(ZoneOf(1), "Pwani");

  capture_->NewSchema("public.zones", {"id", "name"}, {"id", "name"});
  capture_->Txn({{"public.facilities", "u", Facility(1, "A2", 1)}});
  const Status result = running.CaughtUp();
  ASSERT_TRUE(running.done) << "the facility was mapped with the old key: " << ZoneOf(1);
  EXPECT_NE(result.message().find("the key of public.zones is (id, name): pass json_array(id, name)"),
            std::string::npos)
      << result.ToString();
}

// A catch-up maps a snapshot only once capture has written all of it, so a
// row's lookups already read the latest rows; the snapshot events of those
// rows, mapped after it, must not map it a second time (line items sort
// before requisitions: the national catch-up took 18.8 min with the second
// mapping, 15.5 without). A later change of a looked-up row still does.
TEST_F(TransformTest, ARowIsNotMappedAgainForAChangeItHasAlreadyRead) {
  capture_->Txn({{"public.facilities", "r", Facility(1, "A", 1)}, {"public.facilities", "r", Facility(2, "B", 2)}},
                "SNAPSHOT");
  SnapshotTwoZones();
  capture_->SnapshotDone();
  ASSERT_TRUE(RunToEnd(Config()).ok());
  auto txns = Must(log_->Read({"v3.transaction", 0}, 0));
  ASSERT_EQ(txns.size(), 1u) << "the zones' snapshot chunk mapped the facilities again";
  EXPECT_EQ(json::parse(*txns[0].value)["event_count"], 2);
  EXPECT_EQ(ZoneOf(1), "Pwani");

  capture_->Txn({{"public.zones", "u", {{"id", 1}, {"name", "Pwani Region"}}}});
  ASSERT_TRUE(RunToEnd(Config()).ok());
  EXPECT_EQ(ZoneOf(1), "Pwani Region");
  EXPECT_EQ(ZoneOf(2), "Mara");
}

// A row looks a key up once per column it fills (and in its `where`), and
// capture may append a change to that key between two of those lookups. The
// row must not mix both records, and must depend on the one it used: were it
// recorded at the newer one, the change's event, mapped later, would skip it
// as "already read" and its target row keep the old value for good. (Seen in
// demos: one adjustment reason of ~4,400 kept "Transfer In" where v2 had
// "Transfer In (rev 8)".) So an evaluation reads each key once.
TEST_F(TransformTest, AnEvaluationReadsEachLookedUpKeyOnce) {
  capture_->Txn({{"public.zones", "c", {{"id", 1}, {"name", "Pwani"}}}});  // zones offset 0
  ChangelogLookup lookup(*log_, "v2");
  std::vector<std::pair<std::string, std::string>> refs;
  std::map<std::pair<std::string, std::string>, log::Offset> seen;
  lookup.Collect(&refs, &seen);
  EXPECT_EQ((*Must(lookup.Lookup("public.zones", 1)))["name"], "Pwani");
  capture_->Txn({{"public.zones", "u", {{"id", 1}, {"name", "Pwani Region"}}}});  // offset 1
  EXPECT_EQ((*Must(lookup.Lookup("public.zones", 1)))["name"], "Pwani") << "the image this evaluation read";
  // A key first read as no row stays no row.
  EXPECT_FALSE(Must(lookup.Lookup("public.zones", 2)));
  capture_->Txn({{"public.zones", "c", {{"id", 2}, {"name", "Mara"}}}});  // offset 2
  EXPECT_FALSE(Must(lookup.Lookup("public.zones", 2)));
  lookup.Collect(nullptr, nullptr);
  EXPECT_EQ(seen.at({"public.zones", R"({"id":1})"}), 0) << "the record it used";
  EXPECT_EQ(seen.at({"public.zones", R"({"id":2})"}), -1) << "no record: the key's first record maps it again";
  // The next evaluation reads the keys again.
  seen.clear();
  lookup.Collect(&refs, &seen);
  EXPECT_EQ((*Must(lookup.Lookup("public.zones", 1)))["name"], "Pwani Region");
  EXPECT_EQ((*Must(lookup.Lookup("public.zones", 2)))["name"], "Mara");
  lookup.Collect(nullptr, nullptr);
  EXPECT_EQ(seen.at({"public.zones", R"({"id":1})"}), 1);
  EXPECT_EQ(seen.at({"public.zones", R"({"id":2})"}), 2);
}

}  // namespace
}  // namespace ghostlog::transform::testing
