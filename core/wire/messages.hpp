#pragma once
// PROTOCOL §4: one struct per protocol message, with strict parsing (§14 FIX) and byte-exact serialization
// (§13). The last three structs are mokaccino extensions, exchanged only between mokaccino nodes: an original
// node drops unknown keywords silently (§1).

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/result.hpp"

namespace mk::wire {

// -- handshake (§5), sent and accepted from unknown endpoints --
struct connect_msg {
  static constexpr std::string_view keyword = "CONNECT";
  std::string username, nonce, pubkey, signature;
  bool operator==(const connect_msg&) const = default;
};
// HANDSHAKE <userB> <nonceB> <nonceA> <pubkeyB> <sig>
struct handshake_msg {
  static constexpr std::string_view keyword = "HANDSHAKE";
  std::string username, nonce, peer_nonce, pubkey, signature;
  bool operator==(const handshake_msg&) const = default;
};
struct connected_msg {
  static constexpr std::string_view keyword = "CONNECTED";
  std::string nonce, signature;
  bool operator==(const connected_msg&) const = default;
};
// DISCONNECT [reason]; an empty reason is serialized without the token.
struct disconnect_msg {
  static constexpr std::string_view keyword = "DISCONNECT";
  std::string reason;
  bool operator==(const disconnect_msg&) const = default;
};

// -- keep-alive (§6) --
struct ping_msg {
  static constexpr std::string_view keyword = "PING";
  std::uint16_t id = 0;
  bool operator==(const ping_msg&) const = default;
};
struct pong_msg {
  static constexpr std::string_view keyword = "PONG";
  std::uint16_t id = 0;
  bool operator==(const pong_msg&) const = default;
};

// -- introductions (§7) --
struct request_msg {
  static constexpr std::string_view keyword = "REQUEST";
  std::string username;
  bool operator==(const request_msg&) const = default;
};
struct fail_msg {
  static constexpr std::string_view keyword = "FAIL";
  std::string username;
  bool operator==(const fail_msg&) const = default;
};
struct key_msg {
  static constexpr std::string_view keyword = "KEY";
  std::string username, pubkey, signature;
  bool operator==(const key_msg&) const = default;
};
// endpoint is the "ip:port" text as sent (parsed by the caller, splitting at the last ':').
struct requested_msg {
  static constexpr std::string_view keyword = "REQUESTED";
  std::string username, endpoint, pubkey, signature;
  bool operator==(const requested_msg&) const = default;
};

// -- text (§8): MSG <text> [extra...]; extra tokens are ignored on parse --
struct text_msg {
  static constexpr std::string_view keyword = "MSG";
  std::string text;
  bool operator==(const text_msg&) const = default;
};

// -- voice (§9) --
struct audio_start_msg {
  static constexpr std::string_view keyword = "AUDIOSTART";
  bool operator==(const audio_start_msg&) const = default;
};
struct audio_accept_msg {
  static constexpr std::string_view keyword = "AUDIOACCEPT";
  bool operator==(const audio_accept_msg&) const = default;
};
struct audio_stop_msg {
  static constexpr std::string_view keyword = "AUDIOSTOP";
  bool operator==(const audio_stop_msg&) const = default;
};
struct audio_msg {
  static constexpr std::string_view keyword = "AUDIO";
  std::vector<std::uint8_t> packet;  // one Opus packet, 1..limits::max_audio_packet bytes
  bool operator==(const audio_msg&) const = default;
};

// -- files (§10) --
struct file_init_msg {
  static constexpr std::string_view keyword = "FILEINIT";
  std::string hash;  // base64(SHA-384), 64 chars
  std::uint64_t size = 0;
  std::string name;
  bool operator==(const file_init_msg&) const = default;
};
struct file_ack_msg {
  static constexpr std::string_view keyword = "FILEACK";
  std::string hash;
  std::uint64_t next = 0;
  bool operator==(const file_ack_msg&) const = default;
};
struct file_msg {
  static constexpr std::string_view keyword = "FILE";
  std::string hash;
  std::uint64_t offset = 0;
  std::vector<std::uint8_t> data;  // 1..limits::max_file_piece bytes (1024 from an original)
  bool operator==(const file_msg&) const = default;
};
struct file_stop_msg {
  static constexpr std::string_view keyword = "FILESTOP";
  std::string hash;
  bool operator==(const file_stop_msg&) const = default;
};

// -- end-to-end encryption (§11) --
struct crypt_start_msg {
  static constexpr std::string_view keyword = "CRYPTSTART";
  std::string pubkey, signature;
  bool operator==(const crypt_start_msg&) const = default;
};
struct crypt_accept_msg {
  static constexpr std::string_view keyword = "CRYPTACCEPT";
  std::string pubkey, signature;
  bool operator==(const crypt_accept_msg&) const = default;
};
struct crypt_ack_msg {
  static constexpr std::string_view keyword = "CRYPTACK";
  bool operator==(const crypt_ack_msg&) const = default;
};
struct crypt_stop_msg {
  static constexpr std::string_view keyword = "CRYPTSTOP";
  bool operator==(const crypt_stop_msg&) const = default;
};
// C <b64 ct> <b64 iv> <b64 tag>
struct crypt_msg {
  static constexpr std::string_view keyword = "C";
  std::vector<std::uint8_t> ciphertext;
  std::array<std::uint8_t, 8> iv{};
  std::array<std::uint8_t, 16> tag{};
  bool operator==(const crypt_msg&) const = default;
};

// -- mokaccino extensions (DESIGN "Compatibility and extensions") --
// MKCAPS <version> <f1,f2,...>: features are a non-empty list of [a-z0-9-]+ names joined by ','.
struct caps_msg {
  static constexpr std::string_view keyword = "MKCAPS";
  std::uint32_t version = 0;
  std::vector<std::string> features;
  bool operator==(const caps_msg&) const = default;
};
// VOICE <seq> <ts> <b64 packet>: AUDIO with a sequence number and a timestamp for the jitter buffer.
struct voice_msg {
  static constexpr std::string_view keyword = "VOICE";
  std::uint32_t seq = 0;
  std::uint32_t timestamp = 0;
  std::vector<std::uint8_t> packet;
  bool operator==(const voice_msg&) const = default;
};
// FILESACK <hash> <next> <ranges>: selective ACK. ranges are received [begin,end) byte ranges above next,
// "b-e,b-e", sorted, disjoint and non-adjacent, next < b < e; at most limits::max_sack_ranges; none = "-".
struct file_sack_msg {
  static constexpr std::string_view keyword = "FILESACK";
  std::string hash;
  std::uint64_t next = 0;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
  bool operator==(const file_sack_msg&) const = default;
};
// FILEOFFER <id> <size> <name>: an offer made before the content is hashed (MKCAPS `lazyhash`). The id has the
// hash's shape (48 random bytes, base64) and names the transfer in FILE/FILEACK/FILESACK/FILESTOP/FILEHASH.
struct file_offer_msg {
  static constexpr std::string_view keyword = "FILEOFFER";
  std::string id;
  std::uint64_t size = 0;
  std::string name;
  bool operator==(const file_offer_msg&) const = default;
};
// FILEHASH <id> <sha384>: sender -> receiver, the content's SHA-384 once the last new chunk is out; receiver ->
// sender, the SHA-384 of what it received (its verdict: equal = saved, different = discarded).
struct file_hash_msg {
  static constexpr std::string_view keyword = "FILEHASH";
  std::string id;
  std::string sha384;
  bool operator==(const file_hash_msg&) const = default;
};

// FILEDUP <hash> <offset>: receiver -> sender between mokaccino nodes: the chunk at <offset> arrived twice, so
// one of its copies was a needless retransmission (DSACK's role, RFC 2883): the sender learns how far the path
// reorders. An older mokaccino node drops it as an unknown keyword; an original node never receives it.
struct file_dup_msg {
  static constexpr std::string_view keyword = "FILEDUP";
  std::string hash;
  std::uint64_t offset = 0;
  bool operator==(const file_dup_msg&) const = default;
};

// FILERESUME <id> <offset> <sha384>: receiver -> sender between mokaccino nodes (MKCAPS `resume1`): accepts a
// FILEOFFER and says it already holds [0, offset) of the file from an interrupted transfer, whose SHA-384 is
// <sha384>; repeated until FILEFROM answers. FILEFROM <id> <offset>: sender -> receiver: the data starts at
// <offset> (at most the receiver's, down to a chunk boundary), or at 0 when the prefix is not the file's (the
// source changed, or the partial file was damaged): the receiver starts over.
struct file_resume_msg {
  static constexpr std::string_view keyword = "FILERESUME";
  std::string id;
  std::uint64_t offset = 0;
  std::string sha384;
  bool operator==(const file_resume_msg&) const = default;
};
struct file_from_msg {
  static constexpr std::string_view keyword = "FILEFROM";
  std::string id;
  std::uint64_t offset = 0;
  bool operator==(const file_from_msg&) const = default;
};

// Folders (MKCAPS `folder1`, issue 15). FOLDEROFFER <fid> <files> <bytes> <name>: sender -> receiver, a folder of
// <files> files and <bytes> bytes in all, asked about once (repeated every second until answered; <fid> has the
// shape of a hash, like a FILEOFFER id). FOLDERACCEPT <fid>: the receiver's yes (a no is FILESTOP <fid>).
// FOLDERFILE <fid> <id> <size> <path>: one file of an accepted folder, offered like FILEOFFER <id> <size> but
// named by its path inside the folder ('/'-separated components); accepted without a question within the
// announced totals.
struct folder_offer_msg {
  static constexpr std::string_view keyword = "FOLDEROFFER";
  std::string id;
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;
  std::string name;
  bool operator==(const folder_offer_msg&) const = default;
};
struct folder_accept_msg {
  static constexpr std::string_view keyword = "FOLDERACCEPT";
  std::string id;
  bool operator==(const folder_accept_msg&) const = default;
};
struct folder_file_msg {
  static constexpr std::string_view keyword = "FOLDERFILE";
  std::string folder;
  std::string id;
  std::uint64_t size = 0;
  std::string path;
  bool operator==(const folder_file_msg&) const = default;
};

// MKPROBE <id> <padding>: a path MTU probe between mokaccino nodes (MKCAPS `pmtu1`, core/session/path_mtu.hpp):
// padded with '.' to the datagram size it tests, sent with don't-fragment. MKPROBEACK <id> answers it.
struct probe_msg {
  static constexpr std::string_view keyword = "MKPROBE";
  std::uint32_t id = 0;
  std::size_t padding = 1;  // the number of '.' characters (at least one)
  bool operator==(const probe_msg&) const = default;
};
struct probe_ack_msg {
  static constexpr std::string_view keyword = "MKPROBEACK";
  std::uint32_t id = 0;
  bool operator==(const probe_ack_msg&) const = default;
};

// MKCOOKIE <b64 16 bytes>: a node under load answers a CONNECT with a cookie for its source address; the
// connecting mokaccino node echoes it back before resending CONNECT (core/crypto/connect_cookie.hpp).
struct cookie_msg {
  static constexpr std::string_view keyword = "MKCOOKIE";
  std::array<std::uint8_t, 16> cookie{};
  bool operator==(const cookie_msg&) const = default;
};

using message = std::variant<connect_msg, handshake_msg, connected_msg, disconnect_msg, ping_msg, pong_msg,
                             request_msg, fail_msg, key_msg, requested_msg, text_msg, audio_start_msg,
                             audio_accept_msg, audio_stop_msg, audio_msg, file_init_msg, file_ack_msg, file_msg,
                             file_stop_msg, crypt_start_msg, crypt_accept_msg, crypt_ack_msg, crypt_stop_msg,
                             crypt_msg, caps_msg, voice_msg, file_sack_msg, cookie_msg, file_offer_msg,
                             file_hash_msg, file_dup_msg, probe_msg, probe_ack_msg, file_resume_msg,
                             file_from_msg, folder_offer_msg, folder_accept_msg, folder_file_msg>;

// Strict parse of one line (no LF). Errors: errc::unknown_keyword, malformed (token count, field shape),
// bad_number, too_long, bad_base64. Never throws; work is linear in the line length.
mk::result<message> parse_line(std::string_view line);

// The escaped line, without LF.
std::string serialize(const message& m);
void serialize_into(const message& m, std::string& out);  // replaces out's contents, reusing its capacity

template <class T>
  requires requires { T::keyword; }
std::string serialize(const T& m) {
  return serialize(message{m});
}
// Hot-path overloads that avoid building a variant (and copying the payload).
std::string serialize(const file_msg& m);
std::string serialize(const crypt_msg& m);
std::string serialize(const audio_msg& m);
std::string serialize(const voice_msg& m);

// §13.5: the serialized line without " <signature>": the bytes that are signed.
std::string signed_text(const connect_msg& m);
std::string signed_text(const handshake_msg& m);
std::string signed_text(const connected_msg& m);
std::string signed_text(const key_msg& m);
std::string signed_text(const requested_msg& m);
std::string signed_text(const crypt_start_msg& m);
std::string signed_text(const crypt_accept_msg& m);

// The keyword of the message, for counters and logs.
std::string_view keyword_name(const message& m);

}  // namespace mk::wire
