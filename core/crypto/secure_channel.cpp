#include "core/crypto/secure_channel.hpp"

#include <algorithm>
#include <exception>

#include <botan/aead.h>
#include <botan/hash.h>
#include <botan/kdf.h>

namespace mk::crypto {

namespace {

constexpr std::string_view chain_label = "mokaccino env1 chain";
constexpr std::string_view i2r_label = "mokaccino env1 initiator to responder";
constexpr std::string_view r2i_label = "mokaccino env1 responder to initiator";

Botan::secure_vector<std::uint8_t> hkdf(std::size_t len, std::span<const std::uint8_t> secret,
                                        std::span<const std::uint8_t> salt, std::string_view label) {
  auto kdf = Botan::KDF::create_or_throw("HKDF(SHA-384)");
  return kdf->derive_key(len, secret.data(), secret.size(), salt.data(), salt.size(),
                         reinterpret_cast<const std::uint8_t*>(label.data()), label.size());
}

void put_nonce(std::array<std::uint8_t, 12>& nonce, std::uint64_t counter) {
  nonce.fill(0);
  for (int i = 11; i >= 4; --i, counter >>= 8)
    nonce[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(counter & 0xff);
}

}  // namespace

struct secure_channel::epoch_keys {
  std::uint8_t epoch = 0;
  Botan::secure_vector<std::uint8_t> chain;  // 48 bytes: salts the next epoch
  std::unique_ptr<Botan::AEAD_Mode> seal_mode = Botan::AEAD_Mode::create_or_throw("AES-256/GCM", Botan::ENCRYPTION);
  std::unique_ptr<Botan::AEAD_Mode> open_mode = Botan::AEAD_Mode::create_or_throw("AES-256/GCM", Botan::DECRYPTION);
  std::uint64_t next_counter = 0;
  replay_window window;
  Botan::secure_vector<std::uint8_t> scratch;
};

secure_channel::secure_channel(bool we_initiated, const channel_transcript& t) : we_initiated_(we_initiated) {
  // Length-prefixed fields, so no two transcripts hash the same bytes.
  auto h = Botan::HashFunction::create_or_throw("SHA-384");
  h->update("mokaccino env1 transcript");
  for (const auto* field : {&t.initiator_user, &t.responder_user, &t.initiator_key, &t.responder_key,
                            &t.initiator_nonce, &t.responder_nonce}) {
    std::uint32_t n = static_cast<std::uint32_t>(field->size());
    std::uint8_t len[4] = {static_cast<std::uint8_t>(n >> 24), static_cast<std::uint8_t>(n >> 16),
                           static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)};
    h->update(len, 4);
    h->update(*field);
  }
  h->final(transcript_hash_.data());
}

secure_channel::~secure_channel() = default;
secure_channel::secure_channel(secure_channel&&) noexcept = default;
secure_channel& secure_channel::operator=(secure_channel&&) noexcept = default;

void secure_channel::install(std::span<const std::uint8_t> secret, bool chain, bool send_now) {
  auto k = std::make_unique<epoch_keys>();
  std::span<const std::uint8_t> salt = transcript_hash_;
  if (chain && current_) {
    salt = current_->chain;
    k->epoch = static_cast<std::uint8_t>(current_->epoch + 1);
  }
  k->chain = hkdf(48, secret, salt, chain_label);
  auto i2r = hkdf(32, k->chain, {}, i2r_label);
  auto r2i = hkdf(32, k->chain, {}, r2i_label);
  k->seal_mode->set_key(we_initiated_ ? i2r : r2i);
  k->open_mode->set_key(we_initiated_ ? r2i : i2r);
  if (chain && current_) {
    previous_ = std::move(current_);
    sending_previous_ = !send_now;
  } else {
    previous_.reset();
    sending_previous_ = false;
  }
  current_ = std::move(k);
}

void secure_channel::reset(std::span<const std::uint8_t> secret) { install(secret, false, true); }
void secure_channel::rekey(std::span<const std::uint8_t> secret, bool send_now) { install(secret, true, send_now); }

bool secure_channel::ready() const { return current_ != nullptr; }
std::uint8_t secure_channel::newest_epoch() const { return current_ ? current_->epoch : 0; }
std::uint8_t secure_channel::send_epoch() const {
  return sending_previous_ && previous_ ? previous_->epoch : newest_epoch();
}
std::uint64_t secure_channel::sent_in_epoch() const {
  const auto* k = sending_previous_ && previous_ ? previous_.get() : current_.get();
  return k ? k->next_counter : 0;
}

secure_channel::epoch_keys* secure_channel::find(std::uint8_t epoch) {
  if (current_ && current_->epoch == epoch)
    return current_.get();
  if (previous_ && previous_->epoch == epoch)
    return previous_.get();
  return nullptr;
}

void secure_channel::seal(std::string_view record, std::string& out) {
  auto& k = sending_previous_ && previous_ ? *previous_ : *current_;
  const std::uint64_t counter = k.next_counter++;
  out.clear();
  out.reserve(overhead + record.size());
  out.push_back(static_cast<char>(marker));
  out.push_back(static_cast<char>(k.epoch));
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((counter >> shift) & 0xff));
  std::array<std::uint8_t, 12> nonce;
  put_nonce(nonce, counter);
  k.seal_mode->set_associated_data(reinterpret_cast<const std::uint8_t*>(out.data()), header_bytes);
  k.seal_mode->start(nonce.data(), nonce.size());
  k.scratch.assign(record.begin(), record.end());
  k.seal_mode->finish(k.scratch);  // ciphertext || tag
  out.append(reinterpret_cast<const char*>(k.scratch.data()), k.scratch.size());
}

secure_channel::refusal secure_channel::open(std::span<const std::uint8_t> d, std::string& record_out) {
  record_out.clear();
  if (d.size() < overhead || d[0] != marker)
    return refusal::not_envelope;
  auto* k = find(d[1]);
  if (k == nullptr)
    return refusal::unknown_epoch;
  std::uint64_t counter = 0;
  for (std::size_t i = 2; i < header_bytes; ++i)
    counter = (counter << 8) | d[i];
  switch (k->window.check(counter)) {
    case replay_window::verdict::replayed: return refusal::replayed;
    case replay_window::verdict::too_old: return refusal::too_old;
    case replay_window::verdict::fresh: break;
  }
  std::array<std::uint8_t, 12> nonce;
  put_nonce(nonce, counter);
  try {
    k->open_mode->set_associated_data(d.data(), header_bytes);
    k->open_mode->start(nonce.data(), nonce.size());
    k->scratch.assign(d.begin() + header_bytes, d.end());
    k->open_mode->finish(k->scratch);  // verifies the tag
  } catch (const std::exception&) {
    return refusal::forged;
  }
  k->window.mark(counter);
  if (k == current_.get())
    sending_previous_ = false;  // the peer seals with the newest epoch: it holds it, so may we
  record_out.assign(reinterpret_cast<const char*>(k->scratch.data()), k->scratch.size());
  return refusal::none;
}

const char* to_string(secure_channel::refusal r) {
  switch (r) {
    case secure_channel::refusal::none: return "none";
    case secure_channel::refusal::not_envelope: return "not an envelope";
    case secure_channel::refusal::unknown_epoch: return "unknown key epoch";
    case secure_channel::refusal::replayed: return "replayed";
    case secure_channel::refusal::too_old: return "older than the replay window";
    case secure_channel::refusal::forged: return "does not authenticate";
  }
  return "?";
}

}  // namespace mk::crypto
