#include "core/crypto/identity.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <fstream>
#include <sstream>
#include <system_error>

#include <botan/data_src.h>
#include <botan/ec_group.h>
#include <botan/ecdsa.h>
#include <botan/pkcs8.h>
#include <botan/pubkey.h>
#include <botan/x509_key.h>

#include "core/crypto/detail.hpp"
#include "core/wire/base64.hpp"

namespace mk::crypto {

struct identity::state {
  std::unique_ptr<Botan::ECDSA_PrivateKey> key;
  crypto::public_key pub;
};

namespace {

// Largest private.pem we bother to read: a P-521 PKCS#8 PEM is 384 bytes (STACK-NOTES §4).
constexpr std::uintmax_t max_pem_size = 64 * 1024;

mk::result<crypto::public_key> public_of(const Botan::ECDSA_PrivateKey& key) {
  // X509::BER_encode of an ECDSA key is exactly the wire SPKI (§2).
  return crypto::public_key::from_der(Botan::X509::BER_encode(key));
}

}  // namespace

mk::result<identity> identity::from_pem(std::string_view pem_text) {
  std::unique_ptr<Botan::Private_Key> key;
  try {
    Botan::DataSource_Memory src{reinterpret_cast<const std::uint8_t*>(pem_text.data()), pem_text.size()};
    key = Botan::PKCS8::load_key(src);
  } catch (const std::exception& e) {
    return make_error(errc::bad_key, std::string{"unreadable PKCS#8 private key: "} + e.what());
  }
  if (key == nullptr)
    return make_error(errc::bad_key, "unreadable PKCS#8 private key");
  auto* ec = dynamic_cast<Botan::ECDSA_PrivateKey*>(key.get());
  if (ec == nullptr)
    return make_error(errc::bad_key, "private key is not ECDSA P-521 (algorithm: " + key->algo_name() + ")");
  if (ec->domain() != detail::p521())
    return make_error(errc::bad_key, "private key is not on P-521 (secp521r1)");
  // PKCS#8 may carry the public point next to the scalar; a file whose two disagree would make us announce a
  // key our signatures do not match, so recompute it (one scalar multiplication, once per start).
  try {
    if (ec->private_value() <= 0 || ec->private_value() >= detail::p521().get_order() ||
        detail::p521().get_base_point() * ec->private_value() != ec->public_point())
      return make_error(errc::bad_key, "private key and its public point do not match");
  } catch (const std::exception& e) {
    return make_error(errc::bad_key, std::string{"invalid private key: "} + e.what());
  }
  auto pub = public_of(*ec);
  if (!pub)
    return std::move(pub).error();
  key.release();
  auto s = std::make_shared<state>(state{std::unique_ptr<Botan::ECDSA_PrivateKey>{ec}, std::move(*pub)});
  return identity{std::move(s)};
}

mk::result<identity> identity::load(const std::filesystem::path& pem) {
  std::error_code ec;
  auto size = std::filesystem::file_size(pem, ec);
  if (ec)
    return make_error(errc::io_error, "cannot read " + pem.string() + ": " + ec.message());
  if (size > max_pem_size)
    return make_error(errc::bad_key, pem.string() + " is too large to be a private key");
  std::ifstream in{pem, std::ios::binary};
  if (!in.is_open())
    return make_error(errc::io_error, "cannot open " + pem.string());
  std::ostringstream text;
  if (size != 0)
    text << in.rdbuf();
  if (in.bad())
    return make_error(errc::io_error, "cannot read " + pem.string());
  auto id = from_pem(text.str());
  if (!id)
    return make_error(id.error().code, pem.string() + ": " + id.error().message);
  return id;
}

identity identity::generate(Botan::RandomNumberGenerator& rng) {
  auto key = std::make_unique<Botan::ECDSA_PrivateKey>(rng, detail::p521());
  auto pub = public_of(*key);
  // A freshly generated P-521 key always has the canonical encoding; anything else is a Botan defect.
  auto s = std::make_shared<state>(state{std::move(key), std::move(*pub)});
  return identity{std::move(s)};
}

std::string identity::pem() const { return Botan::PKCS8::PEM_encode(*state_->key); }

mk::result<void> identity::save(const std::filesystem::path& pem_path) const {
  const std::string text = pem();
  // PROTOCOL §3 FIX: the key goes to a temp file created 0600 (never readable by others, not even briefly),
  // then is renamed over the target, so a crash never leaves a truncated key.
  auto tmp = pem_path;
  tmp += ".tmp";
  std::error_code ec;
  std::filesystem::remove(tmp, ec);  // a stale temp file from an earlier crash
  // O_EXCL|O_NOFOLLOW: never write through a file or link someone planted at the temp path.
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, S_IRUSR | S_IWUSR);
  if (fd < 0)
    return make_error(errc::io_error, "cannot create " + tmp.string() + ": " + std::strerror(errno));
  bool ok = ::fchmod(fd, S_IRUSR | S_IWUSR) == 0;  // the umask cannot widen it, but be explicit
  std::size_t done = 0;
  while (ok && done < text.size()) {
    auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    ok = n > 0;
    if (ok)
      done += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (ok)
    std::filesystem::rename(tmp, pem_path, ec);
  if (!ok || ec) {
    std::filesystem::remove(tmp, ec);
    return make_error(errc::io_error, "cannot write " + pem_path.string());
  }
  return {};
}

mk::result<identity> identity::load_or_create(const std::filesystem::path& pem_path,
                                              Botan::RandomNumberGenerator& rng) {
  std::error_code ec;
  if (std::filesystem::exists(pem_path, ec))
    return load(pem_path);
  if (ec)
    return make_error(errc::io_error, "cannot access " + pem_path.string() + ": " + ec.message());
  auto id = generate(rng);
  if (auto saved = id.save(pem_path); !saved)
    return saved.error();
  return id;
}

const crypto::public_key& identity::public_key() const { return state_->pub; }

std::string identity::sign(std::string_view text, Botan::RandomNumberGenerator& rng) const {
  // A signer per call keeps sign() thread-safe; its setup is small next to the ~0.6 ms signature.
  Botan::PK_Signer signer(*state_->key, rng, detail::signature_emsa, Botan::DER_SEQUENCE);
  auto sig = signer.sign_message(reinterpret_cast<const std::uint8_t*>(text.data()), text.size(), rng);
  return wire::base64_encode(sig);
}

}  // namespace mk::crypto
