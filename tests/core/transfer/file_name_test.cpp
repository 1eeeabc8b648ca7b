#include <doctest/doctest.h>

#include <set>
#include <string>

#include "core/limits.hpp"
#include "core/transfer/file_name.hpp"

using mk::transfer::sanitize_file_name;
using mk::transfer::unique_file_name;

namespace {
std::string clean(std::string_view in) {
  auto r = sanitize_file_name(in);
  REQUIRE_MESSAGE(r.ok(), "refused: " << std::string(in));
  return *r;
}
bool valid_utf8_component(const std::string& s) {
  return s.find('/') == std::string::npos && s.find('\\') == std::string::npos && s != "." && s != ".." &&
         !s.empty() && s.size() <= mk::limits::max_file_name;
}
}  // namespace

TEST_CASE("sanitize_file_name: traversal and separators") {
  CHECK(clean("../../etc/passwd") == ".._.._etc_passwd");
  CHECK(clean("a/b") == "a_b");
  CHECK(clean("a\\b") == "a_b");
  CHECK(clean("/etc/passwd") == "_etc_passwd");
  CHECK(clean("C:\\Windows\\x.dll") == "C__Windows_x.dll");
  for (auto bad : {"", ".", "..", "...", "   ", " . "}) {
    auto r = sanitize_file_name(bad);
    CAPTURE(std::string(bad));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == mk::errc::refused);
  }
}

TEST_CASE("sanitize_file_name: control bytes, spaces, dots, device names") {
  CHECK(clean(std::string("a\0b", 3)) == "a_b");
  CHECK(clean("a\nb\tc\x7f") == "a_b_c_");
  CHECK(clean("\x1b[31mred") == "_[31mred");
  CHECK(clean("  report.pdf  ") == "report.pdf");
  CHECK(clean("report.pdf...") == "report.pdf");
  CHECK(clean(".bashrc") == ".bashrc");
  CHECK(clean("what?<>|\"*:") == "what_______");
  CHECK(clean("CON") == "_CON");
  CHECK(clean("nul.txt") == "_nul.txt");
  CHECK(clean("console.txt") == "console.txt");
}

TEST_CASE("sanitize_file_name: UTF-8 kept when valid, invalid bytes replaced") {
  CHECK(clean("résumé ✓ 日本語 😀.txt") == "résumé ✓ 日本語 😀.txt");
  CHECK(clean("a\xff" "b") == "a_b");                  // never valid in UTF-8
  CHECK(clean("a\xc3") == "a_");                       // truncated sequence
  CHECK(clean("\xc0\xaf") == "__");                    // overlong '/'
  CHECK(clean("\xed\xa0\x80x") == "___x");             // UTF-16 surrogate
  CHECK(clean("\xf4\x90\x80\x80") == "____");          // above U+10FFFF
  CHECK(clean("a\xc2\x85" "b") == "a_b");              // C1 control NEL
  CHECK(clean("evil\xe2\x80\xaetxt.exe") == "evil_txt.exe");  // RIGHT-TO-LEFT OVERRIDE
}

TEST_CASE("sanitize_file_name: 300-byte names are capped without cutting UTF-8, keeping the extension") {
  std::string ascii(300, 'a');
  CHECK(clean(ascii).size() == mk::limits::max_file_name);
  std::string with_ext = std::string(300, 'b') + ".tar.gz";
  auto c = clean(with_ext);
  CHECK(c.size() <= mk::limits::max_file_name);
  CHECK(c.ends_with(".gz"));
  std::string euro;  // 3-byte characters: 255 is a multiple of 3, so use a 2-byte one to force a boundary
  for (int i = 0; i < 150; ++i) euro += "é";  // 300 bytes
  auto e = clean(euro);
  CHECK(e.size() == 254);  // 255 would cut a 2-byte sequence
  CHECK(clean(e) == e);    // still valid UTF-8: nothing replaced
}

TEST_CASE("unique_file_name: name, name (1).ext, name (2).ext, ...") {
  std::set<std::string> existing;
  auto exists = [&](std::string_view n) { return existing.count(std::string(n)) > 0; };
  CHECK(unique_file_name("photo.jpg", exists) == "photo.jpg");
  existing.insert("photo.jpg");
  CHECK(unique_file_name("photo.jpg", exists) == "photo (1).jpg");
  existing.insert("photo (1).jpg");
  CHECK(unique_file_name("photo.jpg", exists) == "photo (2).jpg");
  existing.insert(".bashrc");
  CHECK(unique_file_name(".bashrc", exists) == ".bashrc (1)");
  existing.insert("archive.tar.gz");
  CHECK(unique_file_name("archive.tar.gz", exists) == "archive.tar (1).gz");
  existing.insert("README");
  CHECK(unique_file_name("README", exists) == "README (1)");
  std::string longest(mk::limits::max_file_name - 4, 'x');
  longest += ".bin";
  existing.insert(longest);
  auto u = unique_file_name(longest, exists);
  CHECK(u.size() <= mk::limits::max_file_name);
  CHECK(u.ends_with(" (1).bin"));
  CHECK(valid_utf8_component(u));
  CHECK(unique_file_name("x", [](std::string_view) { return true; }).empty());  // gives up, bounded
}
