#pragma once
// `file send <user> <path>...`: the rest of the line names one path or several. Compatible with the one-path
// form (a path with spaces needs no quotes when it exists as typed); otherwise the line is split like a shell
// would: blanks separate, "double" or 'single' quotes and backslash escapes keep blanks inside one path.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace mk::cli {

// Empty result: unbalanced quotes (nothing is sent).
std::vector<std::string> split_paths(std::string_view rest, const std::function<bool(const std::string&)>& exists);

}  // namespace mk::cli
