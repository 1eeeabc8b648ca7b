#pragma once
// PROTOCOL §11: the CRYPTSTART / CRYPTACCEPT / CRYPTACK / CRYPTSTOP negotiation with one peer, as a pure state
// machine, byte-compatible with the original, with the §14 fixes that keep interop:
//  - the GCM tag is verified (a forged or truncated C never opens);
//  - a `C` this node sealed itself (reflected) or one already opened (replayed) is refused: our IVs count up
//    from a random start, so ours are a known range, and the IVs opened under the current key are remembered
//    (bounded) since the original draws them at random;
//  - a badly signed CRYPTSTART/CRYPTACCEPT, a CRYPTACK without a key, and a plaintext CRYPTSTART/CRYPTACCEPT while
//    encrypted change nothing (the original stops encryption on them: a forger's downgrade);
//  - a CRYPTSTOP also invalidates the symmetric key;
//  - a lost first CRYPTACK does not deadlock (a duplicate CRYPTACCEPT while encrypting is answered with a
//    plaintext CRYPTACK; an authentic C proves the missing CRYPTACK).
// Between mokaccino nodes (env1 in MKCAPS) the same exchange also keys a secure_channel: once the peer is known to
// speak it, every line is sealed in that envelope (per-direction keys bound to the handshake transcript, counter
// nonces, a replay window), and once the peer's first envelope authenticated, nothing outside an envelope is
// accepted any more — no legacy C, no plaintext CRYPT line. Rekeying then runs sealed, inside the channel.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <botan/rng.h>

#include "core/crypto/ephemeral_key.hpp"
#include "core/crypto/identity.hpp"
#include "core/crypto/public_key.hpp"
#include "core/crypto/secure_channel.hpp"
#include "core/crypto/session_cipher.hpp"
#include "core/result.hpp"
#include "core/wire/messages.hpp"

namespace mk::session {

class crypt_negotiation {
 public:
  crypt_negotiation(crypto::identity me, crypto::public_key peer);

  struct output {
    std::vector<std::string> plaintext_lines;  // to send now, unencrypted
    std::vector<std::string> sealed_lines;     // to send now, sealed (in-channel rekey)
    std::vector<std::string> datagrams;        // to send now as they are (sealed under a key already forgotten)
    std::optional<bool> encryption_changed;    // true: now encrypting; false: stopped
    std::string problem;                       // for the log
    bool refused = false;                      // an unauthenticated or out-of-place line was dropped (count it)
  };

  // How a line reached us: `sealed` = inside a C or an envelope from this peer.
  output start(Botan::RandomNumberGenerator& rng);  // `encrypt start` or encrypt_by_default
  output stop();                                    // `encrypt stop`: clear, then CRYPTSTOP
  output on_crypt_start(const wire::crypt_start_msg& m, std::string_view raw_line, bool sealed,
                        Botan::RandomNumberGenerator& rng);
  output on_crypt_accept(const wire::crypt_accept_msg& m, std::string_view raw_line, bool sealed);
  output on_crypt_ack(bool sealed);
  output on_crypt_stop(bool sealed);
  output on_resend_tick();  // every 2 s (§11): resend CRYPTSTART or CRYPTACCEPT while negotiating (or rekeying)

  // -- the mokaccino envelope ------------------------------------------------------------------------------
  // Called once the handshake completed: what the channel's keys are bound to.
  void bind_transcript(bool we_initiated, const crypto::channel_transcript& t);
  // The peer announced env1: seal in envelopes from now on (while encrypting).
  void peer_speaks_envelope() { peer_envelope_ = true; }
  bool sealing_envelopes() const { return encrypting_ && peer_envelope_ && channel_ && channel_->ready(); }
  // The peer's envelopes authenticated: plaintext and legacy C from it are refused.
  bool envelope_active() const { return envelope_active_; }
  // Starts an in-channel rekey (fresh ephemeral keys, next epoch). Only while sealing envelopes.
  output start_rekey(Botan::RandomNumberGenerator& rng);
  bool rekeying() const { return rekey_eph_.has_value(); }
  std::uint64_t sealed_in_epoch() const { return channel_ ? channel_->sent_in_epoch() : 0; }
  std::uint8_t epoch() const { return channel_ ? channel_->newest_epoch() : 0; }

  bool encrypting() const { return encrypting_; }
  bool key_valid() const { return cipher_.has_value(); }
  bool negotiating() const { return !encrypting_ && eph_.has_value(); }

  // The whole datagram (LF included for a text `C`) that carries `line` sealed. Only while encrypting().
  // Legacy `C`: an 8-byte IV counting up from a random start per key (never repeats under the key; random 8-byte
  // IVs collide after ~2^32 messages), which also lets us recognise our own C reflected back at us.
  std::string seal(std::string_view line, Botan::RandomNumberGenerator& rng);
  // `line` sealed under the key held, also between our CRYPTACCEPT and the peer's CRYPTACK (the peer may already
  // encrypt with it, and then refuses plaintext); nothing without a key. For a DISCONNECT, which cannot wait.
  std::optional<std::string> seal_pending(std::string_view line, Botan::RandomNumberGenerator& rng);

  enum class refusal { none, no_key, forged, replayed, reflected, downgrade };
  struct opened {
    refusal why = refusal::none;
    bool switched_on = false;  // an authentic C or envelope proved the peer's missing CRYPTACK
  };
  // A legacy C: its plaintext line into `line_out`.
  opened open(const wire::crypt_msg& m, std::string& line_out);
  // An envelope datagram: its record into `record_out` (parse with wire::parse_record).
  opened open_envelope(std::string_view datagram, std::string& record_out);

 private:
  std::string signed_line(std::string_view keyword, const std::string& pub, Botan::RandomNumberGenerator& rng);
  void clear();
  std::string seal_envelope(std::string_view line);
  std::string seal_legacy(std::string_view line, Botan::RandomNumberGenerator& rng);
  void key_with(const crypto::agreement& a);  // a fresh key from the CRYPT exchange (legacy cipher + channel)
  opened accept_authentic();
  static output refuse(std::string why);

  crypto::identity me_;
  crypto::public_key peer_;
  std::optional<crypto::ephemeral_key> eph_;   // MUST: one slot per peer, overwritten on CRYPTSTART
  std::optional<crypto::session_cipher> cipher_;
  std::string last_accept_;                     // our CRYPTACCEPT line, resent until CRYPTACK
  std::string last_start_;                      // our CRYPTSTART line, resent until CRYPTACCEPT
  std::string answered_start_;                  // the peer's ephemeral key our last_accept_ answers
  bool encrypting_ = false;
  std::optional<std::uint64_t> iv_start_, next_iv_;  // our IV range under the current key
  std::unordered_set<std::uint64_t> seen_ivs_;       // IVs opened under the current key ...
  std::deque<std::uint64_t> seen_order_;             // ... oldest first, bounded
  std::vector<std::uint8_t> scratch_ct_;

  std::optional<crypto::channel_transcript> transcript_;
  bool we_initiated_ = false;
  std::optional<crypto::secure_channel> channel_;
  bool peer_envelope_ = false;
  bool envelope_active_ = false;
  std::optional<crypto::ephemeral_key> rekey_eph_;  // our in-channel CRYPTSTART, until its CRYPTACCEPT
  std::string rekey_start_;                          // that CRYPTSTART line (resent sealed)
  std::string rekey_peer_pub_;                       // the peer's last in-channel CRYPTSTART key we answered ...
  std::string rekey_accept_;                         // ... and our answer to it (a resent CRYPTSTART gets it again)
};

}  // namespace mk::session
