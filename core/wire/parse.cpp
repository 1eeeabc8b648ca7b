// PROTOCOL §4 and §14 FIX: strict parsing of every message. Tokens are views into the line (or into one
// scratch buffer when a token holds escapes), so FILE and C chunks are decoded straight from the datagram.

#include <charconv>
#include <cstring>
#include <string>

#include "core/limits.hpp"
#include "core/wire/base64.hpp"
#include "core/wire/fields.hpp"
#include "core/wire/messages.hpp"
#include "core/wire/tokens.hpp"

namespace mk::wire {

namespace {

using detail::check;

// The most tokens any message has (HANDSHAKE: 6); more are only counted.
constexpr std::size_t max_kept_tokens = 6;

struct token_list {
  std::array<std::string_view, max_kept_tokens> tok{};
  std::size_t count = 0;  // all tokens, including those not kept
  std::string scratch;    // unescaped copies; reserved once to the line size so views never dangle
};

// PROTOCOL §1.1, same rules as split_tokens.
void tokenize(std::string_view line, token_list& out) {
  std::size_t i = 0, n = line.size();
  while (i < n) {
    while (i < n && line[i] == ' ')
      ++i;
    if (i == n)
      break;
    std::size_t begin = i;
    bool escaped = false;
    // Fast path (every FILE and C chunk): find the next space and, if the token has no backslash, take it whole.
    // memchr scans a kilobyte of base64 many times faster than the byte loop below.
    const char* space = static_cast<const char*>(std::memchr(line.data() + i, ' ', n - i));
    std::size_t end = space ? static_cast<std::size_t>(space - line.data()) : n;
    if (std::memchr(line.data() + i, '\\', end - i) == nullptr) {
      if (out.count < max_kept_tokens)
        out.tok[out.count] = line.substr(begin, end - begin);
      ++out.count;
      i = end;
      continue;
    }
    while (i < n && line[i] != ' ') {
      if (line[i] == '\\') {
        escaped = true;
        i += 2;  // the escaped byte may be a space; skipping it keeps it inside the token
      } else {
        ++i;
      }
    }
    if (i > n)
      i = n;  // a lone trailing backslash
    std::string_view raw = line.substr(begin, i - begin);
    std::string_view tok = raw;
    if (escaped) {
      if (out.scratch.capacity() < n)
        out.scratch.reserve(n);
      std::size_t start = out.scratch.size();
      for (std::size_t k = 0; k < raw.size(); ++k) {
        if (raw[k] == '\\') {
          if (++k == raw.size())
            break;
        }
        out.scratch.push_back(raw[k]);
      }
      tok = std::string_view{out.scratch}.substr(start);
      if (tok.empty())
        continue;  // a token made only of a lone trailing backslash vanishes
    }
    if (out.count < max_kept_tokens)
      out.tok[out.count] = tok;
    ++out.count;
  }
}

mk::error fail(errc code, std::string_view kw, std::string_view what) {
  std::string msg{kw};
  msg += ": ";
  msg += what;
  return make_error(code, std::move(msg));
}

#define MK_TRY(expr)           \
  if (check c_ = (expr); c_) \
    return std::move(*c_);

template <class T>
mk::result<T> as_number(std::string_view kw, std::string_view s, std::uint64_t max) {
  std::uint64_t v = 0;
  if (!detail::parse_decimal(s, max, v))
    return fail(errc::bad_number, kw, "not a strict decimal in range");
  return static_cast<T>(v);
}

#define MK_NUMBER(var, type, text, max)              \
  auto var##_r = as_number<type>(kw, (text), (max)); \
  if (!var##_r)                                      \
    return std::move(var##_r).error();               \
  type var = *var##_r;

bool count_ok(const token_list& t, std::size_t lo, std::size_t hi) { return t.count >= lo && t.count <= hi; }

mk::result<message> bad_count(std::string_view kw) { return fail(errc::malformed, kw, "wrong token count"); }

check decode_payload(std::string_view kw, std::string_view s, std::size_t max_bytes, std::vector<std::uint8_t>& out) {
  if (s.size() > base64_encoded_size(max_bytes))
    return fail(errc::too_long, kw, "payload too long");
  if (!base64_decode_into(s, out))
    return fail(errc::bad_base64, kw, "payload is not base64");
  if (out.size() > max_bytes)
    return fail(errc::too_long, kw, "payload too long");
  if (out.empty())
    return fail(errc::malformed, kw, "empty payload");
  return std::nullopt;
}

// MKCAPS features: "f1,f2,..." with f = [a-z0-9-]+.
check parse_features(std::string_view kw, std::string_view s, std::vector<std::string>& out) {
  std::size_t begin = 0;
  while (true) {
    auto comma = s.find(',', begin);
    auto name = s.substr(begin, comma == std::string_view::npos ? std::string_view::npos : comma - begin);
    if (name.empty() || name.size() > limits::max_feature_name)
      return fail(errc::malformed, kw, "bad feature name length");
    for (char c : name)
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
        return fail(errc::malformed, kw, "bad feature name character");
    if (out.size() == limits::max_caps_features)
      return fail(errc::too_long, kw, "too many features");
    out.emplace_back(name);
    if (comma == std::string_view::npos)
      return std::nullopt;
    begin = comma + 1;
  }
}

// FILESACK ranges: "-" or "b-e,b-e", sorted, disjoint, non-adjacent, all above next.
check parse_ranges(std::string_view kw, std::string_view s, std::uint64_t next,
                   std::vector<std::pair<std::uint64_t, std::uint64_t>>& out) {
  if (s == "-")
    return std::nullopt;
  std::uint64_t floor = next;  // every begin must be above this
  std::size_t begin = 0;
  while (true) {
    auto comma = s.find(',', begin);
    auto item = s.substr(begin, comma == std::string_view::npos ? std::string_view::npos : comma - begin);
    auto dash = item.find('-');
    if (dash == std::string_view::npos)
      return fail(errc::malformed, kw, "range without '-'");
    std::uint64_t b = 0, e = 0;
    if (!detail::parse_decimal(item.substr(0, dash), UINT64_MAX, b) ||
        !detail::parse_decimal(item.substr(dash + 1), UINT64_MAX, e))
      return fail(errc::bad_number, kw, "range bound is not a strict decimal");
    if (b <= floor || e <= b)
      return fail(errc::malformed, kw, "ranges must be increasing, disjoint and above next");
    if (out.size() == limits::max_sack_ranges)
      return fail(errc::too_long, kw, "too many ranges");
    out.emplace_back(b, e);
    floor = e;
    if (comma == std::string_view::npos)
      return std::nullopt;
    begin = comma + 1;
  }
}

mk::result<message> parse_tokens(std::string_view kw, const token_list& t) {
  const auto& v = t.tok;
  if (kw == "PING" || kw == "PONG") {
    if (t.count != 2)
      return bad_count(kw);
    MK_NUMBER(id, std::uint16_t, v[1], 65535);
    if (kw == "PING")
      return message{ping_msg{id}};
    return message{pong_msg{id}};
  }
  if (kw == "FILE") {
    if (t.count != 4)
      return bad_count(kw);
    MK_TRY(detail::check_hash("FILE hash", v[1]));
    MK_NUMBER(offset, std::uint64_t, v[2], UINT64_MAX);
    file_msg m{std::string{v[1]}, offset, {}};
    MK_TRY(decode_payload(kw, v[3], limits::max_file_piece, m.data));
    return message{std::move(m)};
  }
  if (kw == "C") {
    if (t.count != 4)
      return bad_count(kw);
    // Ciphertext of a whole line: bounded by the datagram, so no other cap is needed.
    crypt_msg m;
    if (!base64_decode_into(v[1], m.ciphertext))
      return fail(errc::bad_base64, kw, "ciphertext is not base64");
    if (m.ciphertext.empty())
      return fail(errc::malformed, kw, "empty ciphertext");
    // §11: the IV is exactly 8 bytes and the tag 16.
    if (!base64_valid(v[2]) || !base64_valid(v[3]))
      return fail(errc::bad_base64, kw, "iv or tag is not base64");
    if (!base64_decode_exact(v[2], m.iv) || !base64_decode_exact(v[3], m.tag))
      return fail(errc::malformed, kw, "iv must be 8 bytes and tag 16");
    return message{std::move(m)};
  }
  if (kw == "FILEACK") {
    if (t.count != 3)
      return bad_count(kw);
    MK_TRY(detail::check_hash("FILEACK hash", v[1]));
    MK_NUMBER(next, std::uint64_t, v[2], UINT64_MAX);
    return message{file_ack_msg{std::string{v[1]}, next}};
  }
  if (kw == "AUDIO") {
    if (t.count != 2)
      return bad_count(kw);
    audio_msg m;
    MK_TRY(decode_payload(kw, v[1], limits::max_audio_packet, m.packet));
    return message{std::move(m)};
  }
  if (kw == "VOICE") {
    if (t.count != 4)
      return bad_count(kw);
    MK_NUMBER(seq, std::uint32_t, v[1], UINT32_MAX);
    MK_NUMBER(ts, std::uint32_t, v[2], UINT32_MAX);
    voice_msg m{seq, ts, {}};
    MK_TRY(decode_payload(kw, v[3], limits::max_audio_packet, m.packet));
    return message{std::move(m)};
  }
  if (kw == "MSG") {
    if (t.count < 2)
      return bad_count(kw);  // §4: extra tokens are ignored
    MK_TRY(detail::check_length("MSG text", v[1], limits::max_text));
    return message{text_msg{std::string{v[1]}}};
  }
  if (kw == "CONNECT") {
    if (t.count != 5)
      return bad_count(kw);
    MK_TRY(detail::check_username("CONNECT user", v[1]));
    MK_TRY(detail::check_nonce("CONNECT nonce", v[2]));
    MK_TRY(detail::check_pubkey("CONNECT pubkey", v[3]));
    MK_TRY(detail::check_signature("CONNECT signature", v[4]));
    return message{connect_msg{std::string{v[1]}, std::string{v[2]}, std::string{v[3]}, std::string{v[4]}}};
  }
  if (kw == "HANDSHAKE") {
    if (t.count != 6)
      return bad_count(kw);
    MK_TRY(detail::check_username("HANDSHAKE user", v[1]));
    MK_TRY(detail::check_nonce("HANDSHAKE nonce", v[2]));
    MK_TRY(detail::check_nonce("HANDSHAKE peer nonce", v[3]));
    MK_TRY(detail::check_pubkey("HANDSHAKE pubkey", v[4]));
    MK_TRY(detail::check_signature("HANDSHAKE signature", v[5]));
    return message{handshake_msg{std::string{v[1]}, std::string{v[2]}, std::string{v[3]}, std::string{v[4]},
                                 std::string{v[5]}}};
  }
  if (kw == "CONNECTED") {
    if (t.count != 3)
      return bad_count(kw);
    MK_TRY(detail::check_nonce("CONNECTED nonce", v[1]));
    MK_TRY(detail::check_signature("CONNECTED signature", v[2]));
    return message{connected_msg{std::string{v[1]}, std::string{v[2]}}};
  }
  if (kw == "DISCONNECT") {
    if (!count_ok(t, 1, 2))
      return bad_count(kw);
    if (t.count == 1)
      return message{disconnect_msg{}};
    MK_TRY(detail::check_length("DISCONNECT reason", v[1], limits::max_reason));
    return message{disconnect_msg{std::string{v[1]}}};
  }
  if (kw == "REQUEST" || kw == "FAIL") {
    if (t.count != 2)
      return bad_count(kw);
    MK_TRY(detail::check_username("user", v[1]));
    if (kw == "REQUEST")
      return message{request_msg{std::string{v[1]}}};
    return message{fail_msg{std::string{v[1]}}};
  }
  if (kw == "KEY") {
    if (t.count != 4)
      return bad_count(kw);
    MK_TRY(detail::check_username("KEY user", v[1]));
    MK_TRY(detail::check_pubkey("KEY pubkey", v[2]));
    MK_TRY(detail::check_signature("KEY signature", v[3]));
    return message{key_msg{std::string{v[1]}, std::string{v[2]}, std::string{v[3]}}};
  }
  if (kw == "REQUESTED") {
    if (t.count != 5)
      return bad_count(kw);
    MK_TRY(detail::check_username("REQUESTED user", v[1]));
    MK_TRY(detail::check_length("REQUESTED endpoint", v[2], limits::max_endpoint));
    for (char c : v[2])
      if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f)
        return fail(errc::malformed, kw, "control byte in endpoint");
    MK_TRY(detail::check_pubkey("REQUESTED pubkey", v[3]));
    MK_TRY(detail::check_signature("REQUESTED signature", v[4]));
    return message{requested_msg{std::string{v[1]}, std::string{v[2]}, std::string{v[3]}, std::string{v[4]}}};
  }
  if (kw == "AUDIOSTART" || kw == "AUDIOACCEPT" || kw == "AUDIOSTOP" || kw == "CRYPTACK" || kw == "CRYPTSTOP") {
    if (t.count != 1)
      return bad_count(kw);
    if (kw == "AUDIOSTART")
      return message{audio_start_msg{}};
    if (kw == "AUDIOACCEPT")
      return message{audio_accept_msg{}};
    if (kw == "AUDIOSTOP")
      return message{audio_stop_msg{}};
    if (kw == "CRYPTACK")
      return message{crypt_ack_msg{}};
    return message{crypt_stop_msg{}};
  }
  if (kw == "FILEINIT") {
    if (t.count != 4)
      return bad_count(kw);
    MK_TRY(detail::check_hash("FILEINIT hash", v[1]));
    MK_NUMBER(size, std::uint64_t, v[2], UINT64_MAX);
    MK_TRY(detail::check_length("FILEINIT name", v[3], limits::max_file_name));
    return message{file_init_msg{std::string{v[1]}, size, std::string{v[3]}}};
  }
  if (kw == "FILESTOP") {
    if (t.count != 2)
      return bad_count(kw);
    MK_TRY(detail::check_hash("FILESTOP hash", v[1]));
    return message{file_stop_msg{std::string{v[1]}}};
  }
  if (kw == "CRYPTSTART" || kw == "CRYPTACCEPT") {
    if (t.count != 3)
      return bad_count(kw);
    MK_TRY(detail::check_pubkey("ephemeral pubkey", v[1]));
    MK_TRY(detail::check_signature("signature", v[2]));
    if (kw == "CRYPTSTART")
      return message{crypt_start_msg{std::string{v[1]}, std::string{v[2]}}};
    return message{crypt_accept_msg{std::string{v[1]}, std::string{v[2]}}};
  }
  if (kw == "MKCAPS") {
    if (t.count != 3)
      return bad_count(kw);
    MK_NUMBER(version, std::uint32_t, v[1], UINT32_MAX);
    caps_msg m{version, {}};
    MK_TRY(parse_features(kw, v[2], m.features));
    return message{std::move(m)};
  }
  if (kw == "MKCOOKIE") {
    if (t.count != 2)
      return bad_count(kw);
    cookie_msg m;
    if (!base64_valid(v[1]) || !base64_decode_exact(v[1], m.cookie))
      return fail(errc::bad_base64, kw, "cookie is not 16 bytes of base64");
    return message{m};
  }
  if (kw == "FILESACK") {
    if (t.count != 4)
      return bad_count(kw);
    MK_TRY(detail::check_hash("FILESACK hash", v[1]));
    MK_NUMBER(next, std::uint64_t, v[2], UINT64_MAX);
    file_sack_msg m{std::string{v[1]}, next, {}};
    MK_TRY(parse_ranges(kw, v[3], next, m.ranges));
    return message{std::move(m)};
  }
  if (kw == "FILEOFFER") {
    if (t.count != 4)
      return bad_count(kw);
    MK_TRY(detail::check_hash("FILEOFFER id", v[1]));
    MK_NUMBER(size, std::uint64_t, v[2], UINT64_MAX);
    MK_TRY(detail::check_length("FILEOFFER name", v[3], limits::max_file_name));
    return message{file_offer_msg{std::string{v[1]}, size, std::string{v[3]}}};
  }
  if (kw == "FILEHASH") {
    if (t.count != 3)
      return bad_count(kw);
    MK_TRY(detail::check_hash("FILEHASH id", v[1]));
    MK_TRY(detail::check_hash("FILEHASH sha384", v[2]));
    return message{file_hash_msg{std::string{v[1]}, std::string{v[2]}}};
  }
  if (kw == "MKPROBE") {
    if (t.count != 3)
      return bad_count(kw);
    MK_NUMBER(id, std::uint32_t, v[1], UINT32_MAX);
    if (v[2].empty() || v[2].find_first_not_of('.') != std::string_view::npos)
      return fail(errc::malformed, kw, "padding is not a run of '.'");
    return message{probe_msg{id, v[2].size()}};
  }
  if (kw == "MKPROBEACK") {
    if (t.count != 2)
      return bad_count(kw);
    MK_NUMBER(id, std::uint32_t, v[1], UINT32_MAX);
    return message{probe_ack_msg{id}};
  }
  if (kw == "FILEDUP") {
    if (t.count != 3)
      return bad_count(kw);
    MK_TRY(detail::check_hash("FILEDUP hash", v[1]));
    MK_NUMBER(offset, std::uint64_t, v[2], UINT64_MAX);
    return message{file_dup_msg{std::string{v[1]}, offset}};
  }
  if (kw == "FILERESUME") {
    if (t.count != 4)
      return bad_count(kw);
    MK_TRY(detail::check_hash("FILERESUME id", v[1]));
    MK_NUMBER(offset, std::uint64_t, v[2], UINT64_MAX);
    MK_TRY(detail::check_hash("FILERESUME sha384", v[3]));
    return message{file_resume_msg{std::string{v[1]}, offset, std::string{v[3]}}};
  }
  if (kw == "FILEFROM") {
    if (t.count != 3)
      return bad_count(kw);
    MK_TRY(detail::check_hash("FILEFROM id", v[1]));
    MK_NUMBER(offset, std::uint64_t, v[2], UINT64_MAX);
    return message{file_from_msg{std::string{v[1]}, offset}};
  }
  if (kw == "FOLDEROFFER") {
    if (t.count != 5)
      return bad_count(kw);
    MK_TRY(detail::check_hash("FOLDEROFFER id", v[1]));
    MK_NUMBER(files, std::uint64_t, v[2], UINT64_MAX);
    MK_NUMBER(bytes, std::uint64_t, v[3], UINT64_MAX);
    MK_TRY(detail::check_length("FOLDEROFFER name", v[4], limits::max_file_name));
    return message{folder_offer_msg{std::string{v[1]}, files, bytes, std::string{v[4]}}};
  }
  if (kw == "FOLDERACCEPT") {
    if (t.count != 2)
      return bad_count(kw);
    MK_TRY(detail::check_hash("FOLDERACCEPT id", v[1]));
    return message{folder_accept_msg{std::string{v[1]}}};
  }
  if (kw == "FOLDERFILE") {
    if (t.count != 5)
      return bad_count(kw);
    MK_TRY(detail::check_hash("FOLDERFILE folder", v[1]));
    MK_TRY(detail::check_hash("FOLDERFILE id", v[2]));
    MK_NUMBER(size, std::uint64_t, v[3], UINT64_MAX);
    MK_TRY(detail::check_length("FOLDERFILE path", v[4], limits::max_folder_path));
    return message{folder_file_msg{std::string{v[1]}, std::string{v[2]}, size, std::string{v[4]}}};
  }
  return make_error(errc::unknown_keyword, "unknown keyword");
}

}  // namespace

mk::result<message> parse_line(std::string_view line) {
  if (line.empty())
    return make_error(errc::malformed, "empty line");
  if (line.size() > limits::max_datagram)
    return make_error(errc::too_long, "line over 64 KiB");
  // §1: the keyword is the raw bytes before the first space (none of ours contains a backslash, so it equals
  // the first token whenever it matches).
  std::string_view kw = keyword_of(line);
  token_list t;
  tokenize(line, t);
  return parse_tokens(kw, t);
}

}  // namespace mk::wire
