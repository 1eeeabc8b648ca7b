#pragma once
// The typed "fields" object of an event under --json (docs/json.md). The node carries every field as a string;
// the ones that are numbers or flags are written as JSON numbers and booleans so scripts need not convert them.

#include <string>

#include "cli/vocabulary.hpp"

namespace mk::cli {

// `{"name":value,...}`: a field the table knows as a number is written as a number if its text is one (else as
// a string, which the schema test then rejects); "error" is a boolean; everything else a string.
std::string event_fields_json(const event& e);

}  // namespace mk::cli
