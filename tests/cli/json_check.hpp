#pragma once
// A minimal strict JSON validator for the tests: the whole text must be one JSON value (RFC 8259).

#include <cctype>
#include <string_view>

namespace mk::test {

class json_check {
 public:
  // True if `text` is exactly one JSON object (surrounding whitespace allowed).
  static bool is_object(std::string_view text) {
    json_check c{text};
    c.ws();
    if (c.peek() != '{' || !c.value())
      return false;
    c.ws();
    return c.i_ == text.size();
  }

 private:
  explicit json_check(std::string_view t) : t_(t) {}
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
  bool string() {
    if (peek() != '"')
      return false;
    ++i_;
    while (i_ < t_.size()) {
      auto c = static_cast<unsigned char>(t_[i_++]);
      if (c == '"')
        return true;
      if (c < 0x20)
        return false;
      if (c == '\\') {
        char e = peek();
        ++i_;
        if (e == 'u') {
          for (int k = 0; k < 4; ++k, ++i_)
            if (!std::isxdigit(static_cast<unsigned char>(peek())))
              return false;
        } else if (std::string_view{"\"\\/bfnrt"}.find(e) == std::string_view::npos) {
          return false;
        }
      }
    }
    return false;
  }
  bool number() {
    auto start = i_;
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
      ++i_;
      if (!std::isdigit(static_cast<unsigned char>(peek())))
        return false;
      while (std::isdigit(static_cast<unsigned char>(peek())))
        ++i_;
    }
    return i_ > start;
  }
  bool value() {
    ws();
    switch (peek()) {
      case '{': {
        ++i_;
        ws();
        if (peek() == '}')
          return ++i_, true;
        for (;;) {
          ws();
          if (!string())
            return false;
          ws();
          if (peek() != ':')
            return false;
          ++i_;
          if (!value())
            return false;
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
        ws();
        if (peek() == ']')
          return ++i_, true;
        for (;;) {
          if (!value())
            return false;
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
      case '"': return string();
      case 't': return lit("true");
      case 'f': return lit("false");
      case 'n': return lit("null");
      default: return number();
    }
  }

  std::string_view t_;
  std::size_t i_ = 0;
};

}  // namespace mk::test
