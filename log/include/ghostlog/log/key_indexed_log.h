// A changelog that adds a local key index to one that has none (Kafka).
//
// ReadLatest and ReadLatestByPrefix are answered from an embedded log on
// local disk that holds copies of the compacted topics read that way, at the
// offsets the records have in the remote changelog (AppendAt). Every other
// call goes to the remote changelog. This is Kafka Streams' local state
// store: a cache of compacted topics, rebuilt from them when lost, never a
// second source of truth. The transform runs on Kafka through it.
//
// Freshness. A topic the index holds is brought up to the remote end
//   - when it is first read by key in this process,
//   - then, if this instance never wrote to it, before the first key read
//     after each Read or WaitForData of a topic the index does not hold (the
//     transform reads its input transaction topic, then looks up rows: the
//     lookups see at least what was in the changelog when the batch began),
//     and before the first key read after a DescribePartition of it that
//     showed an end past the last catch-up (a caller that pairs an end offset
//     with a key read, as the transform's cache of looked-up rows does, gets
//     a key read at least as new as that end);
// and a topic this instance writes (Append, Write) gets those records in the
// index as soon as the remote write returns. So a writer must be the only one
// of the topics it writes and reads back by key, which the transform is of
// its state and output topics.
//
// Recovery. The index is written after the remote write and only from it, so
// it holds a prefix of each remote topic; a crash between the two is mended by
// the catch-up at the next first read. An index whose topic ends past the
// remote end (the topic was deleted and made again), starts before the remote
// log start, or was built from another cluster is dropped and built again.
// The index is not synced: after a power failure it is a shorter prefix.
//
// Thread-safety: every method may be called concurrently; catch-ups of the
// index are serialized.
#pragma once

#include <memory>
#include <string>

#include "ghostlog/log/changelog.h"
#include "ghostlog/log/embedded_log.h"

namespace ghostlog::log {

class KeyIndexedLog : public Changelog {
 public:
  // `remote` must outlive the result. `index_dir` is created if missing; the
  // writer lock on it keeps a second instance out.
  static Result<std::unique_ptr<KeyIndexedLog>> Open(Changelog& remote, const std::string& index_dir);
  ~KeyIndexedLog() override;

 protected:
  KeyIndexedLog() = default;
};

}  // namespace ghostlog::log
