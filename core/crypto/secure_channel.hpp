#pragma once
// The sealed envelope between two mokaccino nodes ("env1", negotiated in MKCAPS; an original never sees it).
// One envelope carries every kind of traffic once a session is encrypted — chat, control, files, voice — in the
// spirit of WireGuard's transport messages and QUIC packet protection:
//
//   datagram = 0x01 | epoch (1) | counter (8, big-endian) | AES-256-GCM ciphertext | tag (16)
//   AAD      = the 10 header bytes;  nonce = 4 zero bytes | counter
//
// - Keys per direction: from the CRYPT exchange's ECDH secret, salted with a hash of the handshake transcript
//   (both names, both identity keys, both handshake nonces, in initiator/responder order). A datagram sealed for
//   one direction never opens in the other (no reflection), nor in another session (no cross-session replay).
// - The counter is the nonce and is authenticated; the receiver drops replays and datagrams older than its
//   window (replay_window) — only after the tag verified does a counter count as seen.
// - Rekeying adds an epoch: its keys chain the previous epoch's secret with a fresh ECDH secret. The previous
//   epoch still opens in-flight datagrams; a sender moves to a new epoch once the peer is known to hold it.
// Pure: no clock, no I/O; not thread-safe (one per session).

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/crypto/replay_window.hpp"
#include "core/result.hpp"

namespace mk::crypto {

// What both ends saw during the connection handshake (PROTOCOL §5), named by role.
struct channel_transcript {
  std::string initiator_user, responder_user;
  std::string initiator_key, responder_key;      // identity keys, base64 SPKI as on the wire
  std::string initiator_nonce, responder_nonce;  // nonceA, nonceB
};

class secure_channel {
 public:
  static constexpr std::uint8_t marker = 0x01;  // never the first byte of a text line (§1: a keyword)
  static constexpr std::size_t header_bytes = 10;
  static constexpr std::size_t tag_bytes = 16;
  static constexpr std::size_t overhead = header_bytes + tag_bytes;

  secure_channel(bool we_initiated, const channel_transcript& transcript);
  ~secure_channel();
  secure_channel(secure_channel&&) noexcept;
  secure_channel& operator=(secure_channel&&) noexcept;

  // The CRYPT exchange (re)started the channel: epoch 0 from this secret, all earlier keys forgotten.
  void reset(std::span<const std::uint8_t> ecdh_secret);
  // An in-channel rekey: the next epoch, chained to the current one. `send_now`: seal with it at once (the peer
  // already holds it); otherwise keep sealing with the current epoch until a datagram of the new one opens.
  void rekey(std::span<const std::uint8_t> ecdh_secret, bool send_now);

  bool ready() const;
  std::uint8_t send_epoch() const;
  std::uint8_t newest_epoch() const;
  std::uint64_t sent_in_epoch() const;  // datagrams sealed under the send epoch (rekey by count)

  // Appends the envelope of `record` to `out` (cleared first). Requires ready().
  void seal(std::string_view record, std::string& out);

  enum class refusal { none, not_envelope, unknown_epoch, replayed, too_old, forged };
  // Opens a datagram into `record_out`. On refusal nothing is returned and no state changes.
  refusal open(std::span<const std::uint8_t> datagram, std::string& record_out);

  static bool is_envelope(std::string_view datagram) {
    return datagram.size() >= overhead && static_cast<std::uint8_t>(datagram[0]) == marker;
  }

 private:
  struct epoch_keys;
  void install(std::span<const std::uint8_t> ecdh_secret, bool chain, bool send_now);
  epoch_keys* find(std::uint8_t epoch);

  bool we_initiated_;
  std::array<std::uint8_t, 48> transcript_hash_{};
  std::unique_ptr<epoch_keys> current_, previous_;
  bool sending_previous_ = false;  // after rekey(send_now = false), until the new epoch is seen
};

const char* to_string(secure_channel::refusal r);

}  // namespace mk::crypto
