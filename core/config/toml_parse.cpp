#include "core/config/toml_parse.hpp"

#include <exception>

#include <fmt/format.h>

namespace mk::config {

mk::result<toml::table> parse_toml(std::string_view text, std::string_view source) {
#if TOML_EXCEPTIONS
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return make_error(errc::config_error, fmt::format("{}:{}:{}: {}", source, e.source().begin.line,
                                                      e.source().begin.column, e.description()));
  } catch (const std::exception& e) {
    return make_error(errc::config_error, fmt::format("{}: {}", source, e.what()));
  }
#else
  auto res = toml::parse(text, source);
  if (!res) {
    const auto& e = res.error();
    return make_error(errc::config_error, fmt::format("{}:{}:{}: {}", source, e.source().begin.line,
                                                      e.source().begin.column, e.description()));
  }
  return std::move(res).table();
#endif
}

std::string_view describe_type(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a floating-point number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

mk::error key_error(std::string_view source, std::uint32_t line, std::string_view key, std::string_view what) {
  if (line == 0)
    return make_error(errc::config_error, fmt::format("{}: {}: {}", source, key, what));
  return make_error(errc::config_error, fmt::format("{}:{}: {}: {}", source, line, key, what));
}

}  // namespace mk::config
