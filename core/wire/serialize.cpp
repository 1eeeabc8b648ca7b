// PROTOCOL §1.1, §13: byte-exact serialization. Each message is appended into one reserved string; base64
// fields never need escaping (their alphabet has no space or backslash), only free-text fields are escaped.

#include <algorithm>
#include <charconv>

#include "core/wire/base64.hpp"
#include "core/wire/messages.hpp"
#include "core/wire/tokens.hpp"

namespace mk::wire {

namespace {

void put_kw(std::string_view kw, std::string& out) { out.append(kw); }

void put_text(std::string_view s, std::string& out) {
  out.push_back(' ');
  escape_token_append(s, out);
}

void append_decimal(std::uint64_t v, std::string& out) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<std::size_t>(res.ptr - buf));
}

void put_num(std::uint64_t v, std::string& out) {
  out.push_back(' ');
  append_decimal(v, out);
}

void put_b64(std::span<const std::uint8_t> bytes, std::string& out) {
  out.push_back(' ');
  base64_encode_append(bytes, out);
}

// Fields that are themselves base64 text (nonces, keys, signatures, hashes) are escaped anyway: a valid
// value is unchanged, and an invalid one cannot break the token structure.
void put_field(std::string_view s, std::string& out) { put_text(s, out); }

void append(const connect_msg& m, std::string& out, bool with_sig = true) {
  put_kw(m.keyword, out);
  put_text(m.username, out);
  put_field(m.nonce, out);
  put_field(m.pubkey, out);
  if (with_sig)
    put_field(m.signature, out);
}
void append(const handshake_msg& m, std::string& out, bool with_sig = true) {
  put_kw(m.keyword, out);
  put_text(m.username, out);
  put_field(m.nonce, out);
  put_field(m.peer_nonce, out);
  put_field(m.pubkey, out);
  if (with_sig)
    put_field(m.signature, out);
}
void append(const connected_msg& m, std::string& out, bool with_sig = true) {
  put_kw(m.keyword, out);
  put_field(m.nonce, out);
  if (with_sig)
    put_field(m.signature, out);
}
void append(const disconnect_msg& m, std::string& out) {
  put_kw(m.keyword, out);
  if (!m.reason.empty())
    put_text(m.reason, out);
}
void append(const ping_msg& m, std::string& out) {
  put_kw(m.keyword, out);
  put_num(m.id, out);
}
void append(const pong_msg& m, std::string& out) {
  put_kw(m.keyword, out);
  put_num(m.id, out);
}
void append(const request_msg& m, std::string& out) {
  put_kw(m.keyword, out);
  put_text(m.username, out);
}
void append(const fail_msg& m, std::string& out) {
  put_kw(m.keyword, out);
  put_text(m.username, out);
}
void append(const key_msg& m, std::string& out, bool with_sig = true) {
  put_kw(m.keyword, out);
  put_text(m.username, out);
  put_field(m.pubkey, out);
  if (with_sig)
    put_field(m.signature, out);
}
void append(const requested_msg& m, std::string& out, bool with_sig = true) {
  put_kw(m.keyword, out);
  put_text(m.username, out);
  put_text(m.endpoint, out);
  put_field(m.pubkey, out);
  if (with_sig)
    put_field(m.signature, out);
}
void append(const text_msg& m, std::string& out) {
  put_kw(m.keyword, out);
  put_text(m.text, out);
}
template <class T>
  requires std::is_empty_v<T>
void append(const T& m, std::string& out) {
  put_kw(m.keyword, out);
}
void append(const audio_msg& m, std::string& out) {
  put_kw(m.keyword, out);
  put_b64(m.packet, out);
}
void append(const file_init_msg& m, std::string& out) {
  put_kw(m.keyword, out);
  put_field(m.hash, out);
  put_num(m.size, out);
  put_text(m.name, out);
}
void append(const file_ack_msg& m, std::string& out) {
  put_kw(m.keyword, out);
  put_field(m.hash, out);
  put_num(m.next, out);
}
void append(const file_msg& m, std::string& out) {
  put_kw(m.keyword, out);
  put_field(m.hash, out);
  put_num(m.offset, out);
  put_b64(m.data, out);
}
void append(const file_stop_msg& m, std::string& out) {
  put_kw(m.keyword, out);
  put_field(m.hash, out);
}
void append(const crypt_start_msg& m, std::string& out, bool with_sig = true) {
  put_kw(m.keyword, out);
  put_field(m.pubkey, out);
  if (with_sig)
    put_field(m.signature, out);
}
void append(const crypt_accept_msg& m, std::string& out, bool with_sig = true) {
  put_kw(m.keyword, out);
  put_field(m.pubkey, out);
  if (with_sig)
    put_field(m.signature, out);
}
void append(const crypt_msg& m, std::string& out) {
  put_kw(m.keyword, out);
  put_b64(m.ciphertext, out);
  put_b64(m.iv, out);
  put_b64(m.tag, out);
}
void append(const caps_msg& m, std::string& out) {
  put_kw(m.keyword, out);
  put_num(m.version, out);
  out.push_back(' ');
  for (std::size_t i = 0; i < m.features.size(); ++i) {
    if (i != 0)
      out.push_back(',');
    escape_token_append(m.features[i], out);
  }
}
void append(const cookie_msg& m, std::string& out) {
  put_kw(m.keyword, out);
  put_b64(m.cookie, out);
}
void append(const voice_msg& m, std::string& out) {
  put_kw(m.keyword, out);
  put_num(m.seq, out);
  put_num(m.timestamp, out);
  put_b64(m.packet, out);
}
void append(const file_sack_msg& m, std::string& out) {
  put_kw(m.keyword, out);
  put_field(m.hash, out);
  put_num(m.next, out);
  out.push_back(' ');
  if (m.ranges.empty()) {
    out.push_back('-');
    return;
  }
  for (std::size_t i = 0; i < m.ranges.size(); ++i) {
    if (i != 0)
      out.push_back(',');
    append_decimal(m.ranges[i].first, out);
    out.push_back('-');
    append_decimal(m.ranges[i].second, out);
  }
}
void append(const file_offer_msg& m, std::string& out) {
  put_kw(m.keyword, out);
  put_field(m.id, out);
  put_num(m.size, out);
  put_text(m.name, out);
}
void append(const probe_msg& m, std::string& out) {
  put_kw(m.keyword, out);
  put_num(m.id, out);
  out.push_back(' ');
  out.append(std::max<std::size_t>(m.padding, 1), '.');
}
void append(const probe_ack_msg& m, std::string& out) {
  put_kw(m.keyword, out);
  put_num(m.id, out);
}
void append(const file_dup_msg& m, std::string& out) {
  put_kw(m.keyword, out);
  put_field(m.hash, out);
  put_num(m.offset, out);
}
void append(const file_resume_msg& m, std::string& out) {
  put_kw(m.keyword, out);
  put_field(m.id, out);
  put_num(m.offset, out);
  put_field(m.sha384, out);
}
void append(const file_from_msg& m, std::string& out) {
  put_kw(m.keyword, out);
  put_field(m.id, out);
  put_num(m.offset, out);
}
void append(const file_hash_msg& m, std::string& out) {
  put_kw(m.keyword, out);
  put_field(m.id, out);
  put_field(m.sha384, out);
}
void append(const folder_offer_msg& m, std::string& out) {
  put_kw(m.keyword, out);
  put_field(m.id, out);
  put_num(m.files, out);
  put_num(m.bytes, out);
  put_text(m.name, out);
}
void append(const folder_accept_msg& m, std::string& out) {
  put_kw(m.keyword, out);
  put_field(m.id, out);
}
void append(const folder_file_msg& m, std::string& out) {
  put_kw(m.keyword, out);
  put_field(m.folder, out);
  put_field(m.id, out);
  put_num(m.size, out);
  put_text(m.path, out);
}

// A close upper bound of the serialized size, so the hot paths allocate once.
std::size_t size_hint(const message& m) {
  return std::visit(
      [](const auto& x) -> std::size_t {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, file_msg>)
          return 100 + base64_encoded_size(x.data.size());
        else if constexpr (std::is_same_v<T, crypt_msg>)
          return 48 + base64_encoded_size(x.ciphertext.size());
        else if constexpr (std::is_same_v<T, audio_msg> || std::is_same_v<T, voice_msg>)
          return 32 + base64_encoded_size(x.packet.size());
        else if constexpr (std::is_same_v<T, text_msg>)
          return 8 + x.text.size() + x.text.size() / 8;
        else if constexpr (std::is_same_v<T, folder_file_msg>)
          return 256 + 2 * x.path.size();
        else
          return 600;
      },
      m);
}

template <class T>
std::string serialize_one(const T& m, std::size_t hint) {
  std::string out;
  out.reserve(hint);
  append(m, out);
  return out;
}

template <class T>
std::string signed_one(const T& m) {
  std::string out;
  out.reserve(512);
  append(m, out, false);
  return out;
}

}  // namespace

void serialize_into(const message& m, std::string& out) {
  out.clear();
  out.reserve(size_hint(m));
  std::visit([&out](const auto& x) { append(x, out); }, m);
}

std::string serialize(const message& m) {
  std::string out;
  serialize_into(m, out);
  return out;
}

std::string serialize(const file_msg& m) { return serialize_one(m, 100 + base64_encoded_size(m.data.size())); }
std::string serialize(const crypt_msg& m) { return serialize_one(m, 48 + base64_encoded_size(m.ciphertext.size())); }
std::string serialize(const audio_msg& m) { return serialize_one(m, 16 + base64_encoded_size(m.packet.size())); }
std::string serialize(const voice_msg& m) { return serialize_one(m, 40 + base64_encoded_size(m.packet.size())); }

std::string signed_text(const connect_msg& m) { return signed_one(m); }
std::string signed_text(const handshake_msg& m) { return signed_one(m); }
std::string signed_text(const connected_msg& m) { return signed_one(m); }
std::string signed_text(const key_msg& m) { return signed_one(m); }
std::string signed_text(const requested_msg& m) { return signed_one(m); }
std::string signed_text(const crypt_start_msg& m) { return signed_one(m); }
std::string signed_text(const crypt_accept_msg& m) { return signed_one(m); }

std::string_view keyword_name(const message& m) {
  return std::visit([](const auto& x) -> std::string_view { return std::decay_t<decltype(x)>::keyword; }, m);
}

}  // namespace mk::wire
