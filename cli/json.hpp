#pragma once
// --json output: one JSON object per line (schema: docs/json.md). A tiny writer: objects and arrays of strings,
// integers, decimals and booleans.

#include <cstdint>
#include <string>
#include <string_view>

namespace mk::cli {

// Appends `text` as a JSON string literal (quotes included). Control characters become \uXXXX (or the short
// escapes), `"` and `\` are escaped; bytes that are not valid UTF-8 become U+FFFD so every line is valid JSON.
void json_append_string(std::string& out, std::string_view text);
std::string json_string(std::string_view text);

// Builds `{"k":v,...}` one member at a time.
class json_object {
 public:
  json_object& add(std::string_view key, std::string_view value);
  json_object& add(std::string_view key, const char* value) { return add(key, std::string_view{value}); }
  json_object& add(std::string_view key, std::int64_t value);
  json_object& add(std::string_view key, std::uint64_t value);
  json_object& add(std::string_view key, bool value);
  json_object& add(std::string_view key, double value);  // non-finite values are written as 0 (JSON has no NaN)
  json_object& add(std::string_view key, int value) { return add(key, static_cast<std::int64_t>(value)); }
  json_object& add_raw(std::string_view key, std::string_view json);  // `json` must already be valid JSON
  std::string str() const { return text_ + "}"; }

 private:
  void key(std::string_view k);
  std::string text_ = "{";
};

// Builds `[v,...]` one element at a time.
class json_array {
 public:
  json_array& add_raw(std::string_view json);  // `json` must already be valid JSON
  json_array& add(std::string_view value);
  std::string str() const { return text_ + "]"; }

 private:
  std::string text_ = "[";
};

// A decimal as JSON: fixed, at most 3 digits after the point, trailing zeros dropped; 0 if not finite.
std::string json_number(double value);

}  // namespace mk::cli
