// libFuzzer target: datagram -> line -> parse; a `C` message is decrypted with a fixed key (PROTOCOL §11) and
// its plaintext parsed again. Every parsed message must survive serialize -> parse unchanged. A mokaccino envelope
// goes through the secure channel (fixed secret and transcript) and its record through parse_record; the record
// parser also gets the raw input, since a forged envelope never reaches it otherwise.

#include <cstdint>
#include <cstdlib>
#include <span>

#include "core/crypto/secure_channel.hpp"
#include "core/crypto/session_cipher.hpp"
#include "core/wire/datagram.hpp"
#include "core/wire/messages.hpp"
#include "core/wire/record.hpp"
#include "core/wire/signed_line.hpp"

namespace {

void check_round_trip(const mk::wire::message& m) {
  auto line = mk::wire::serialize(m);
  auto again = mk::wire::parse_line(line);
  if (!again.ok() || !(*again == m) || mk::wire::serialize(*again) != line)
    std::abort();
}

mk::crypto::session_cipher& cipher() {
  static const mk::crypto::session_key key = [] {
    mk::crypto::session_key k{};
    for (std::size_t i = 0; i < k.size(); ++i)
      k[i] = static_cast<std::uint8_t>(0xa5 ^ i);
    return k;
  }();
  static mk::crypto::session_cipher c{key};
  return c;
}

void handle_line(std::string_view line, int depth) {
  (void)mk::wire::split_signed(line);
  auto m = mk::wire::parse_line(line);
  if (!m.ok())
    return;
  check_round_trip(*m);
  if (depth > 0)
    return;  // a C inside a C is not unwrapped again (§11: one layer)
  if (auto* c = std::get_if<mk::wire::crypt_msg>(&*m)) {
    auto plain = cipher().open(c->ciphertext, c->iv, c->tag);
    if (plain.ok())
      handle_line(*plain, depth + 1);
  }
}

mk::crypto::secure_channel& channel() {
  static mk::crypto::secure_channel c = [] {
    mk::crypto::secure_channel ch{false, {"a", "b", "ka", "kb", "na", "nb"}};
    std::uint8_t secret[66] = {};
    ch.reset(secret);
    return ch;
  }();
  return c;
}

void handle_record(std::string_view record) {
  auto m = mk::wire::parse_record(record);
  if (m.ok())
    check_round_trip(*m);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes{reinterpret_cast<const char*>(data), size};
  handle_record(bytes);
  if (mk::crypto::secure_channel::is_envelope(bytes)) {
    std::string record;
    if (channel().open(std::span{data, size}, record) == mk::crypto::secure_channel::refusal::none)
      handle_record(record);
    return 0;
  }
  auto line = mk::wire::line_of_datagram(std::span{data, size});
  if (line.ok())
    handle_line(*line, 0);
  return 0;
}
