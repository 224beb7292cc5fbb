// Fault-injection points in storage and stage code, so that crash and error
// paths are testable. Process-wide; safe from any thread.
//
// Code under test calls GHOSTLOG_FAULT("append.write") where a failure could
// happen; a test arms a point with the Status it should return, or pauses it. Disarmed
// points cost one relaxed atomic load.
#pragma once

#include <string>

#include "ghostlog/log/status.h"

namespace ghostlog::log::fault {

// After letting `skip` hits of `point` pass, makes the next `times` hits
// return `status` (times < 0: forever).
void Arm(const std::string& point, Status status, int times = -1, int skip = 0);
void DisarmAll();
// Makes every hit of `point` wait until Resume(point) or DisarmAll(), so a
// test can act at an exact moment between two steps of the code under test.
void Pause(const std::string& point);
void Resume(const std::string& point);
// Hits waiting at a paused `point` now.
int Waiting(const std::string& point);
Status Hit(const char* point);

}  // namespace ghostlog::log::fault

#define GHOSTLOG_FAULT(point) RETURN_NOT_OK(::ghostlog::log::fault::Hit(point))
