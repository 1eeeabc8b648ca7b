#pragma once
// Reads the original Mokaccino's debug logs (tests/data/interop) and yields every protocol line it sent
// or received, exactly as logged: `Message (to|from) <who> (sent|received): "<line>"`.

#include <fstream>
#include <string>
#include <vector>

namespace mk::test {

struct logged_line {
  bool sent = false;      // true: the logging node sent it; false: it received it
  std::string peer;       // username or ip:port as the log names it
  std::string line;       // the protocol line, without LF
};

inline std::string interop_path(const std::string& rel) { return std::string{MK_TEST_DATA_DIR} + "/interop/" + rel; }

inline std::vector<logged_line> read_interop_log(const std::string& rel) {
  std::vector<logged_line> out;
  std::ifstream in{interop_path(rel)};
  std::string text;
  while (std::getline(in, text)) {
    auto pos = text.find("Message ");
    if (pos == std::string::npos)
      continue;
    auto rest = text.substr(pos + 8);
    bool sent;
    if (rest.rfind("to ", 0) == 0)
      sent = true;
    else if (rest.rfind("from ", 0) == 0)
      sent = false;
    else
      continue;
    auto who_begin = rest.find(' ') + 1;
    auto who_end = rest.find(' ', who_begin);
    auto quote = rest.find(": \"", who_end);
    if (who_end == std::string::npos || quote == std::string::npos || rest.back() != '"')
      continue;
    out.push_back({sent, rest.substr(who_begin, who_end - who_begin),
                   rest.substr(quote + 3, rest.size() - quote - 4)});
  }
  return out;
}

// Every log file of the captures, relative to tests/data/interop.
inline std::vector<std::string> interop_logs() {
  return {"direct/alice/session.log", "direct/bob/session.log", "indirect/alice.log", "indirect/carol.log",
          "indirect/server.log"};
}

}  // namespace mk::test
