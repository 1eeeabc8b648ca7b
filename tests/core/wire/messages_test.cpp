#include <doctest/doctest.h>

#include <random>

#include "core/limits.hpp"
#include "core/wire/base64.hpp"
#include "core/wire/messages.hpp"

using namespace mk::wire;

namespace {

// Realistic field values (shapes from the captures).
const std::string nonce_a = "Z+Mjb74tWh8j+b9rElAZUAJbWxgwL53QBU/x+bLGP7xE19qB";
const std::string nonce_b = "Yu8bqptX17/+mWNW1O3Z98IUXH61gXmqEYLgn+RmLoqyOECE";
const std::string hash = "5YTyDn7yepHYJ9cu699NUXdIfxr17PrSZ8PupQ6TcloHCSLJXzlT9V9V1XdHfbOl";
const std::string pubkey = base64_encode(std::string(158, '\x42'));
const std::string sig = base64_encode(std::string(139, '\x17'));

std::vector<std::uint8_t> bytes(std::size_t n, std::uint8_t seed) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i)
    v[i] = static_cast<std::uint8_t>(seed + i * 7);
  return v;
}

std::vector<message> samples() {
  crypt_msg c{bytes(40, 3), {}, {}};
  c.iv = {1, 2, 3, 4, 5, 6, 7, 8};
  c.tag.fill(0xee);
  return {
      connect_msg{"alice", nonce_a, pubkey, sig},
      connect_msg{"al ice\\ü", nonce_a, pubkey, sig},
      handshake_msg{"bob", nonce_b, nonce_a, pubkey, sig},
      connected_msg{nonce_b, sig},
      disconnect_msg{},
      disconnect_msg{"connection timed out"},
      ping_msg{0},
      ping_msg{65535},
      pong_msg{47964},
      request_msg{"carol"},
      fail_msg{"nobody"},
      key_msg{"carol", pubkey, sig},
      requested_msg{"alice", "127.0.0.1:24201", pubkey, sig},
      text_msg{"hello bob, with spaces and a back\\slash"},
      text_msg{"\t\n\xff"},
      audio_start_msg{},
      audio_accept_msg{},
      audio_stop_msg{},
      audio_msg{bytes(60, 1)},
      audio_msg{bytes(mk::limits::max_audio_packet, 2)},
      file_init_msg{hash, 25, "note.txt"},
      file_init_msg{hash, 0, "my file.txt"},
      file_init_msg{hash, UINT64_MAX, "x"},
      file_ack_msg{hash, 0},
      file_ack_msg{hash, 10240},
      file_msg{hash, 0, bytes(1024, 9)},
      file_msg{hash, 1024 * 1000, bytes(1, 9)},
      file_stop_msg{hash},
      crypt_start_msg{pubkey, sig},
      crypt_accept_msg{pubkey, sig},
      crypt_ack_msg{},
      crypt_stop_msg{},
      c,
      caps_msg{1, {"voice20", "sack", "counter-iv"}},
      caps_msg{4294967295u, {"x"}},
      voice_msg{7, 960 * 7, bytes(80, 5)},
      voice_msg{UINT32_MAX, 0, bytes(1, 5)},
      file_sack_msg{hash, 1024, {}},
      file_sack_msg{hash, 0, {{2048, 4096}, {5120, 6144}}},
      cookie_msg{{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 255}},
      file_offer_msg{hash, 12345, "a b.txt"},
      file_hash_msg{hash, hash},
      file_dup_msg{hash, 0},
      file_dup_msg{hash, UINT64_MAX},
      probe_msg{7, 1},
      probe_msg{UINT32_MAX, 1400},
      probe_ack_msg{0},
      file_resume_msg{hash, 1024, hash},
      file_resume_msg{hash, UINT64_MAX, hash},
      file_from_msg{hash, 0},
      file_from_msg{hash, 268435456},
      folder_offer_msg{hash, 412, 3221225472ull, "photos 2026"},
      folder_accept_msg{hash},
      folder_file_msg{hash, hash, 4096, "2026/summer/a b.jpg"},
  };
}

mk::errc error_of(std::string_view line) {
  auto r = parse_line(line);
  REQUIRE_MESSAGE(!r.ok(), "parsed unexpectedly: ", line);
  return r.error().code;
}

}  // namespace

TEST_CASE("messages: struct -> serialize -> parse round trip for every type") {
  auto all = samples();
  std::vector<bool> seen(std::variant_size_v<message>, false);
  for (const auto& m : all) {
    auto line = serialize(m);
    CAPTURE(line);
    auto back = parse_line(line);
    REQUIRE_MESSAGE(back.ok(), back.error().message);
    CHECK(*back == m);
    CHECK(serialize(*back) == line);
    CHECK(keyword_name(m) == line.substr(0, line.find(' ')));
    std::string reused = "garbage";
    serialize_into(m, reused);
    CHECK(reused == line);
    seen[m.index()] = true;
  }
  for (std::size_t i = 0; i < seen.size(); ++i) {
    CAPTURE(i);
    CHECK(seen[i]);
  }
}

TEST_CASE("messages: exact bytes") {
  CHECK(serialize(ping_msg{5}) == "PING 5");
  CHECK(serialize(disconnect_msg{"connection refused"}) == "DISCONNECT connection\\ refused");
  CHECK(serialize(disconnect_msg{}) == "DISCONNECT");
  CHECK(serialize(text_msg{"hi  a\\b"}) == "MSG hi\\ \\ a\\\\b");
  CHECK(serialize(file_msg{hash, 0, {'a', 'b', 'c'}}) == "FILE " + hash + " 0 YWJj");
  CHECK(serialize(file_init_msg{hash, 25, "a b"}) == "FILEINIT " + hash + " 25 a\\ b");
  CHECK(serialize(file_sack_msg{hash, 0, {}}) == "FILESACK " + hash + " 0 -");
  CHECK(serialize(file_sack_msg{hash, 0, {{1024, 2048}, {4096, 5000}}}) == "FILESACK " + hash + " 0 1024-2048,4096-5000");
  CHECK(serialize(caps_msg{2, {"a", "b-1"}}) == "MKCAPS 2 a,b-1");
  CHECK(serialize(file_offer_msg{hash, 25, "a b"}) == "FILEOFFER " + hash + " 25 a\\ b");
  CHECK(serialize(file_hash_msg{hash, hash}) == "FILEHASH " + hash + " " + hash);
  CHECK(serialize(file_dup_msg{hash, 4096}) == "FILEDUP " + hash + " 4096");
  CHECK(serialize(probe_msg{12, 3}) == "MKPROBE 12 ...");
  CHECK(serialize(probe_ack_msg{12}) == "MKPROBEACK 12");
  CHECK(serialize(file_resume_msg{hash, 4096, hash}) == "FILERESUME " + hash + " 4096 " + hash);
  CHECK(serialize(file_from_msg{hash, 0}) == "FILEFROM " + hash + " 0");
  CHECK(serialize(folder_offer_msg{hash, 2, 10, "my photos"}) == "FOLDEROFFER " + hash + " 2 10 my\\ photos");
  CHECK(serialize(folder_accept_msg{hash}) == "FOLDERACCEPT " + hash);
  CHECK(serialize(folder_file_msg{hash, hash, 5, "a/b c"}) == "FOLDERFILE " + hash + " " + hash + " 5 a/b\\ c");
  CHECK(serialize(voice_msg{1, 2, {0, 0, 0}}) == "VOICE 1 2 AAAA");
  CHECK(serialize(audio_start_msg{}) == "AUDIOSTART");
}

TEST_CASE("messages: signed texts (§13.5)") {
  CHECK(signed_text(connect_msg{"a b", nonce_a, pubkey, sig}) == "CONNECT a\\ b " + nonce_a + " " + pubkey);
  CHECK(signed_text(handshake_msg{"bob", nonce_b, nonce_a, pubkey, sig}) ==
        "HANDSHAKE bob " + nonce_b + " " + nonce_a + " " + pubkey);
  CHECK(signed_text(connected_msg{nonce_b, sig}) == "CONNECTED " + nonce_b);
  CHECK(signed_text(key_msg{"c", pubkey, sig}) == "KEY c " + pubkey);
  CHECK(signed_text(requested_msg{"a", "1.2.3.4:5", pubkey, sig}) == "REQUESTED a 1.2.3.4:5 " + pubkey);
  CHECK(signed_text(crypt_start_msg{pubkey, sig}) == "CRYPTSTART " + pubkey);
  CHECK(signed_text(crypt_accept_msg{pubkey, sig}) == "CRYPTACCEPT " + pubkey);
  // The signed text is always the serialized line minus " <sig>".
  CHECK(serialize(key_msg{"c", pubkey, sig}) == signed_text(key_msg{"c", pubkey, sig}) + " " + sig);
}

TEST_CASE("messages: text -> parse -> serialize for hand-written lines") {
  const std::string lines[] = {
      "MSG hello\\ bob,\\ with\\ spaces\\ and\\ a\\ back\\\\slash",
      "DISCONNECT connection\\ timed\\ out",
      "FILEACK " + hash + " 25",
      "C A2hMwRf0vJ1bxM2jo//Kn2rz vsspAxbsAa0= 7n+IH60KSZdXmAsaj4Zj7Q==",
      "REQUESTED al\\ ice 10.0.0.1:23232 " + pubkey + " " + sig,
  };
  for (const auto& l : lines) {
    CAPTURE(l);
    auto r = parse_line(l);
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    CHECK(serialize(*r) == l);
  }
}

TEST_CASE("messages: lenient forms that still parse to the same message") {
  // §4: MSG ignores extra tokens; §1.1: separators collapse.
  CHECK(*parse_line("MSG hi there") == message{text_msg{"hi"}});
  CHECK(*parse_line("PING   5  ") == message{ping_msg{5}});
  CHECK(*parse_line("PING \\5") == message{ping_msg{5}});  // \5 -> 5 (§1.1)
}

TEST_CASE("messages: rejections give the right errc") {
  using mk::errc;
  // unknown keywords, including the debug TEST and a keyword after a leading space (§1: raw bytes)
  CHECK(error_of("HELLO") == errc::unknown_keyword);
  CHECK(error_of("TEST anything") == errc::unknown_keyword);
  CHECK(error_of(" PING 5") == errc::unknown_keyword);
  CHECK(error_of("ping 5") == errc::unknown_keyword);
  CHECK(error_of("") == errc::malformed);
  // token counts
  CHECK(error_of("PING") == errc::malformed);
  CHECK(error_of("PING 1 2") == errc::malformed);
  CHECK(error_of("CRYPTACK x") == errc::malformed);
  CHECK(error_of("DISCONNECT a b") == errc::malformed);
  CHECK(error_of("MSG") == errc::malformed);
  CHECK(error_of("CONNECT alice " + nonce_a + " " + pubkey) == errc::malformed);
  CHECK(error_of("REQUESTED alice " + pubkey + " " + sig) == errc::malformed);  // the original's 4-token form
  CHECK(error_of("FILE " + hash + " 0") == errc::malformed);
  CHECK(error_of("FILERESUME " + hash + " 0") == errc::malformed);
  CHECK_FALSE(parse_line("FILERESUME " + hash + " 0 short").ok());
  CHECK(error_of("FILEFROM " + hash + " -5") == errc::bad_number);
  CHECK(error_of("FOLDEROFFER " + hash + " 1 2") == errc::malformed);
  CHECK(error_of("FOLDERACCEPT short") == errc::malformed);
  CHECK(error_of("FOLDERFILE " + hash + " " + hash + " 5 " + std::string(1025, 'a')) == errc::too_long);
  // numbers
  for (std::string n : {"-1", "+5", "1e3", "0x10", "007", "00", "65536", "", "5 ", "1.0", "99999999999999999999"}) {
    CAPTURE(n);
    if (n.empty() || n == "5 ")
      continue;  // these change the token count instead
    CHECK(error_of("PING " + n) == errc::bad_number);
  }
  CHECK(error_of("FILEINIT " + hash + " -1 a") == errc::bad_number);
  CHECK(error_of("FILEINIT " + hash + " 18446744073709551616 a") == errc::bad_number);  // 2^64
  CHECK(parse_line("FILEINIT " + hash + " 18446744073709551615 a").ok());
  CHECK(error_of("FILEACK " + hash + " 1e3") == errc::bad_number);
  CHECK(error_of("VOICE 4294967296 0 AAAA") == errc::bad_number);
  CHECK(error_of("MKCAPS -1 a") == errc::bad_number);
  // base64 fields
  CHECK(error_of("FILE " + hash + " 0 YWJ") == errc::bad_base64);
  CHECK(error_of("FILE " + hash + " 0 YW!j") == errc::bad_base64);
  CHECK(error_of("FILE " + hash + " 0 YWK=") == errc::bad_base64);  // non-canonical
  CHECK(error_of("AUDIO AAA=A===") == errc::bad_base64);
  CHECK(error_of("C AAAA AQIDBAUGBw!= 7n+IH60KSZdXmAsaj4Zj7Q==") == errc::bad_base64);
  CHECK(error_of("C AAAA AQIDBAUGBw== 7n+IH60KSZdXmAsaj4Zj7Q==") == errc::malformed);  // 7-byte IV
  CHECK(error_of("C AAAA vsspAxbsAa0= 7n+IH60KSZdXmAsaj4Zj") == errc::malformed);      // 12-byte tag
  CHECK(error_of("CONNECTED " + nonce_b.substr(4) + " " + sig) == errc::malformed);  // short nonce
  CHECK(error_of("CONNECTED " + nonce_b.substr(0, 47) + "! " + sig) == errc::bad_base64);
  CHECK(error_of("FILESTOP " + hash.substr(0, 60)) == errc::malformed);
  CHECK(error_of("CRYPTSTART " + pubkey + " sig!") == errc::bad_base64);
  CHECK(error_of("CRYPTSTART " + base64_encode(std::string(400, 'k')) + " " + sig) == errc::too_long);
  CHECK(error_of("CRYPTSTART " + pubkey + " " + base64_encode(std::string(200, 'k'))) == errc::too_long);
  // payload sizes
  CHECK(parse_line("FILE " + hash + " 0 " + base64_encode(std::string(1025, 'x'))).ok());  // pmtu1: larger chunks
  CHECK(error_of("FILE " + hash + " 0 " + base64_encode(std::string(mk::limits::max_file_piece + 1, 'x'))) == errc::too_long);
  CHECK(error_of("AUDIO " + base64_encode(std::string(mk::limits::max_audio_packet + 1, 'x'))) == errc::too_long);
  // usernames
  CHECK(error_of("REQUEST " + std::string(mk::limits::max_username + 1, 'u')) == errc::too_long);
  CHECK(parse_line("REQUEST " + std::string(mk::limits::max_username, 'u')).ok());
  CHECK(error_of("REQUEST a\x01") == errc::malformed);
  CHECK(error_of("REQUEST a\x7f") == errc::malformed);
  CHECK(error_of("REQUEST a\nb") == errc::malformed);
  CHECK(error_of("REQUEST \xff") == errc::malformed);          // invalid UTF-8
  CHECK(error_of("REQUEST \xc0\xaf") == errc::malformed);      // overlong
  CHECK(error_of("REQUEST \xed\xa0\x80") == errc::malformed);  // surrogate
  CHECK(parse_line("REQUEST \xc3\xbc\xe2\x82\xac\xf0\x9f\x98\x80").ok());
  // other lengths
  CHECK(error_of("MSG " + std::string(mk::limits::max_text + 1, 'm')) == errc::too_long);
  CHECK(error_of("DISCONNECT " + std::string(mk::limits::max_reason + 1, 'r')) == errc::too_long);
  CHECK(error_of("FILEINIT " + hash + " 1 " + std::string(mk::limits::max_file_name + 1, 'n')) == errc::too_long);
  CHECK(error_of("REQUESTED a " + std::string(65, '1') + " " + pubkey + " " + sig) == errc::too_long);
  CHECK(error_of("REQUESTED a 1.2.3.4:5\x01 " + pubkey + " " + sig) == errc::malformed);
  CHECK(error_of(std::string(mk::limits::max_datagram + 1, 'A')) == errc::too_long);
  // extensions
  CHECK(error_of("MKCAPS 1 A") == errc::malformed);
  CHECK(parse_line("MKCOOKIE AAAAAAAAAAAAAAAAAAAAAA==").ok());  // 16 bytes
  CHECK(error_of("MKCOOKIE") == errc::malformed);
  CHECK(error_of("MKCOOKIE AAAAAAAAAAAAAAAAAAAAAA== x") == errc::malformed);
  CHECK(error_of("MKCOOKIE AAAA") == errc::bad_base64);                          // 3 bytes
  CHECK(error_of("MKCOOKIE AAAAAAAAAAAAAAAAAAAAAAAA") == errc::bad_base64);      // 18 bytes
  CHECK(error_of("MKCOOKIE AAAAAAAAAAAAAAAAAAAAA!==") == errc::bad_base64);
  CHECK(error_of("MKCAPS 1 a,,b") == errc::malformed);
  CHECK(error_of("MKCAPS 1 a,") == errc::malformed);
  CHECK(error_of("FILESACK " + hash + " 1024 1024-2048") == errc::malformed);    // not above next
  CHECK(error_of("FILESACK " + hash + " 0 2048-2048") == errc::malformed);       // empty range
  CHECK(error_of("FILESACK " + hash + " 0 4096-5000,2048-3000") == errc::malformed);  // unsorted
  CHECK(error_of("FILESACK " + hash + " 0 2048-3000,3000-4000") == errc::malformed);  // adjacent
  CHECK(error_of("FILESACK " + hash + " 0 2048") == errc::malformed);
  CHECK(error_of("FILESACK " + hash + " 0 2048-+3000") == errc::bad_number);
  CHECK(error_of("FILEDUP " + hash) == errc::malformed);
  CHECK(error_of("FILEDUP " + hash + " 1024 1") == errc::malformed);
  CHECK(error_of("FILEDUP " + hash + " -1") == errc::bad_number);
  CHECK_FALSE(parse_line("FILEDUP short 1024").ok());  // not a hash
  CHECK(error_of("MKPROBE 1 ..x") == errc::malformed);
  CHECK(error_of("MKPROBE 1") == errc::malformed);
  CHECK(error_of("MKPROBE 4294967296 .") == errc::bad_number);
  CHECK(error_of("MKPROBEACK 1 2") == errc::malformed);
  std::string many;
  for (int i = 0; i < 17; ++i) {  // (appended piece by piece: "," + std::string trips GCC 12's -Wrestrict)
    if (i)
      many += ',';
    many += std::to_string(10 * i + 1);
    many += '-';
    many += std::to_string(10 * i + 5);
  }
  CHECK(error_of("FILESACK " + hash + " 0 " + many) == errc::too_long);
}

TEST_CASE("messages: random lines never crash and accepted ones re-serialize canonically") {
  // Mutates valid lines: whatever parses must survive serialize -> parse unchanged.
  std::mt19937 rng{99};
  auto base = samples();
  const char noise[] = " \\\\=+/0Aa9-,\x01\x80\xff";
  int accepted = 0, total = 0;
  for (int i = 0; i < 20000; ++i) {
    auto line = serialize(base[rng() % base.size()]);
    int edits = 1 + rng() % 3;
    for (int e = 0; e < edits && !line.empty(); ++e) {
      auto pos = rng() % line.size();
      switch (rng() % 3) {
        case 0: line[pos] = noise[rng() % (sizeof noise - 1)]; break;
        case 1: line.erase(pos, 1); break;
        default: line.insert(pos, 1, noise[rng() % (sizeof noise - 1)]); break;
      }
    }
    auto r = parse_line(line);
    ++total;
    if (!r.ok())
      continue;
    ++accepted;
    auto again = parse_line(serialize(*r));
    REQUIRE(again.ok());
    REQUIRE(*again == *r);
  }
  MESSAGE("mutated lines accepted: " << accepted << " of " << total);
  CHECK(accepted > 0);
  CHECK(accepted < total);
}
