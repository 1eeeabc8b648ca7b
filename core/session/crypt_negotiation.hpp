#pragma once
// PROTOCOL §11: the CRYPTSTART / CRYPTACCEPT / CRYPTACK / CRYPTSTOP negotiation with one peer, as a pure state
// machine, byte-compatible with the original, plus the §14 fixes that keep interop:
//  - the GCM tag is verified (open() fails on a forged or truncated C);
//  - a CRYPTSTOP also invalidates the symmetric key;
//  - a lost first CRYPTACK does not deadlock: a duplicate CRYPTACCEPT while encrypting is answered with a
//    PLAINTEXT CRYPTACK, and a responder whose key is valid treats an authentic C as the missing CRYPTACK
//    (so messages the initiator sends right after switching on are not lost either).
// The session actor sends the returned lines in plaintext (they are always plaintext, §11) and wraps every other
// line with seal() while encrypting().

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <botan/rng.h>

#include "core/crypto/ephemeral_key.hpp"
#include "core/crypto/identity.hpp"
#include "core/crypto/public_key.hpp"
#include "core/crypto/session_cipher.hpp"
#include "core/result.hpp"
#include "core/wire/messages.hpp"

namespace mk::session {

class crypt_negotiation {
 public:
  crypt_negotiation(crypto::identity me, crypto::public_key peer);

  struct output {
    std::vector<std::string> plaintext_lines;  // to send now, unencrypted
    std::optional<bool> encryption_changed;    // true: now encrypting; false: stopped
    std::string problem;                       // a bad signature or key, for the log
  };

  output start(Botan::RandomNumberGenerator& rng);  // `encrypt start` or encrypt_by_default
  output stop();                                    // `encrypt stop`: clear, then CRYPTSTOP
  output on_crypt_start(const wire::crypt_start_msg& m, std::string_view raw_line, Botan::RandomNumberGenerator& rng);
  output on_crypt_accept(const wire::crypt_accept_msg& m, std::string_view raw_line);
  output on_crypt_ack();
  output on_crypt_stop();
  output on_resend_tick();  // every 2 s (§11): resend CRYPTSTART or CRYPTACCEPT while negotiating

  bool encrypting() const { return encrypting_; }
  bool key_valid() const { return cipher_.has_value(); }
  bool negotiating() const { return !encrypting_ && eph_.has_value(); }

  // Wraps a line as `C ct iv tag` (8-byte IV, §11). Only while encrypting(). GCM needs IVs that never repeat
  // under a key, not unpredictable ones: the first seal under a key draws a random 64-bit start from `rng`, later
  // ones count up from it. That never repeats within 2^64 messages (random 8-byte IVs collide after ~2^32), and a
  // DRBG call per message (HMAC_DRBG: ~25% of the CPU of an encrypted transfer) is gone. The peer sees 8 bytes
  // that differ per message, as §11 asks.
  std::string seal(std::string_view line, Botan::RandomNumberGenerator& rng);
  // Opens a C. If the key is valid but CRYPTACK was lost, an authentic C switches encryption on
  // (`switched_on` is set). Errors: errc::state_error (no key), errc::auth_failed (tag).
  mk::result<std::string> open(const wire::crypt_msg& m, bool& switched_on);

 private:
  std::string signed_line(std::string_view keyword, const std::string& pub, Botan::RandomNumberGenerator& rng);
  void clear();

  crypto::identity me_;
  crypto::public_key peer_;
  std::optional<crypto::ephemeral_key> eph_;   // MUST: one slot per peer, overwritten on CRYPTSTART
  std::optional<crypto::session_cipher> cipher_;
  std::string last_accept_;                     // our CRYPTACCEPT line, resent until CRYPTACK
  std::string last_start_;                      // our CRYPTSTART line, resent until CRYPTACCEPT
  bool encrypting_ = false;
  std::optional<std::uint64_t> next_iv_;        // drawn at the first seal under the current key
  std::vector<std::uint8_t> scratch_ct_;
};

}  // namespace mk::session
