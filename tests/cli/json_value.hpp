#pragma once
// Test helper: a small strict JSON parser (RFC 8259) into a tree, enough to check --json output against the
// schema in docs/json.md. Strings keep their escapes decoded only for \" \\ \/ and the short forms; \uXXXX is kept
// as written (the schema test never compares such strings).

#include <cctype>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mk::test {

struct json_value {
  enum class kind { null, boolean, integer, number, string, array, object } k = kind::null;
  bool b = false;
  double num = 0;
  std::string str;
  std::vector<json_value> items;
  std::vector<std::pair<std::string, json_value>> members;  // in order; duplicates are a parse error

  const json_value* get(std::string_view name) const {
    for (auto& [n, v] : members)
      if (n == name)
        return &v;
    return nullptr;
  }
  static const char* kind_name(kind k) {
    switch (k) {
      case kind::null: return "null";
      case kind::boolean: return "boolean";
      case kind::integer: return "integer";
      case kind::number: return "number";
      case kind::string: return "string";
      case kind::array: return "array";
      case kind::object: return "object";
    }
    return "?";
  }
};

class json_parser {
 public:
  static std::optional<json_value> parse(std::string_view text) {
    json_parser p{text};
    json_value v;
    p.ws();
    if (!p.value(v, 0))
      return std::nullopt;
    p.ws();
    if (p.i_ != text.size())
      return std::nullopt;
    return v;
  }

 private:
  explicit json_parser(std::string_view t) : t_(t) {}
  char peek() const { return i_ < t_.size() ? t_[i_] : '\0'; }
  void ws() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\n' || t_[i_] == '\r'))
      ++i_;
  }
  bool lit(std::string_view w) {
    if (t_.substr(i_, w.size()) != w)
      return false;
    i_ += w.size();
    return true;
  }
  bool string(std::string& out) {
    if (peek() != '"')
      return false;
    ++i_;
    while (i_ < t_.size()) {
      auto c = static_cast<unsigned char>(t_[i_++]);
      if (c == '"')
        return true;
      if (c < 0x20)
        return false;
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      char e = peek();
      ++i_;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u':
          out += "\\u";
          for (int k = 0; k < 4; ++k, ++i_) {
            if (!std::isxdigit(static_cast<unsigned char>(peek())))
              return false;
            out += peek();
          }
          break;
        default: return false;
      }
    }
    return false;
  }
  bool number(json_value& v) {
    auto start = i_;
    bool integer = true;
    if (peek() == '-')
      ++i_;
    if (!std::isdigit(static_cast<unsigned char>(peek())))
      return false;
    if (peek() == '0')
      ++i_;
    else
      while (std::isdigit(static_cast<unsigned char>(peek())))
        ++i_;
    if (peek() == '.') {
      integer = false;
      ++i_;
      if (!std::isdigit(static_cast<unsigned char>(peek())))
        return false;
      while (std::isdigit(static_cast<unsigned char>(peek())))
        ++i_;
    }
    if (peek() == 'e' || peek() == 'E') {
      integer = false;
      ++i_;
      if (peek() == '+' || peek() == '-')
        ++i_;
      if (!std::isdigit(static_cast<unsigned char>(peek())))
        return false;
      while (std::isdigit(static_cast<unsigned char>(peek())))
        ++i_;
    }
    v.k = integer ? json_value::kind::integer : json_value::kind::number;
    v.num = std::stod(std::string{t_.substr(start, i_ - start)});
    return true;
  }
  bool value(json_value& v, int depth) {
    if (depth > 32)
      return false;
    ws();
    switch (peek()) {
      case '{': {
        ++i_;
        v.k = json_value::kind::object;
        ws();
        if (peek() == '}')
          return ++i_, true;
        for (;;) {
          ws();
          std::string name;
          if (!string(name) || v.get(name) != nullptr)
            return false;
          ws();
          if (peek() != ':')
            return false;
          ++i_;
          json_value member;
          if (!value(member, depth + 1))
            return false;
          v.members.emplace_back(std::move(name), std::move(member));
          ws();
          if (peek() == ',') {
            ++i_;
            continue;
          }
          if (peek() == '}')
            return ++i_, true;
          return false;
        }
      }
      case '[': {
        ++i_;
        v.k = json_value::kind::array;
        ws();
        if (peek() == ']')
          return ++i_, true;
        for (;;) {
          json_value item;
          if (!value(item, depth + 1))
            return false;
          v.items.push_back(std::move(item));
          ws();
          if (peek() == ',') {
            ++i_;
            continue;
          }
          if (peek() == ']')
            return ++i_, true;
          return false;
        }
      }
      case '"': v.k = json_value::kind::string; return string(v.str);
      case 't': v.k = json_value::kind::boolean; v.b = true; return lit("true");
      case 'f': v.k = json_value::kind::boolean; return lit("false");
      case 'n': v.k = json_value::kind::null; return lit("null");
      default: return number(v);
    }
  }

  std::string_view t_;
  std::size_t i_ = 0;
};

}  // namespace mk::test
