#include <doctest/doctest.h>

#include <botan/auto_rng.h>
#include <botan/hash.h>

#include "core/crypto/file_hash.hpp"
#include "core/wire/base64.hpp"
#include "test_support.hpp"

using mk::crypto::hash_file;
using mk::crypto::sha384_stream;

TEST_CASE("file hash: known SHA-384 answers for FIPS 180-2 'abc' and the empty input") {
  sha384_stream s;
  const std::string abc = "abc";
  s.update(std::span{reinterpret_cast<const std::uint8_t*>(abc.data()), abc.size()});
  // cb00753f45a35e8b b5a03d699ac65007 272c32ab0eded163 1a8b605a43ff5bed 8086072ba1e7cc23 58baeca134c825a7
  CHECK(s.final_base64() == "ywB1P0WjXou1oD1pmsZQBycsMqsO3tFjGotgWkP/W+2AhgcroefMI1i67KE0yCWn");
  // final_base64 resets: the next digest is of the empty input.
  CHECK(s.final_base64() == "OLBgp1GsljhM2TJ+sbHjaiH9txEUvgdDTAzHv2P24donTt6/529l+9Ua0vFImLlb");
}

TEST_CASE("file hash: streaming equals one-shot across the read-chunk boundary and for big files") {
  Botan::AutoSeeded_RNG rng;
  mk::test::temp_dir dir;
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{1024}, std::size_t{64 * 1024},
                        std::size_t{64 * 1024 + 1}, std::size_t{3 * 1024 * 1024 + 17}}) {
    INFO(n);
    std::string data(n, '\0');
    rng.randomize(reinterpret_cast<std::uint8_t*>(data.data()), n);
    std::string name = "f";  // (not "f" + to_string(n): GCC 12 -O2 reports a false -Wrestrict on it)
    name += std::to_string(n);
    const auto p = dir.path() / name;
    mk::test::write_all(p, data);
    auto one_shot = Botan::HashFunction::create_or_throw("SHA-384")->process(data);
    auto h = hash_file(p);
    REQUIRE(h.ok());
    CHECK(h->size() == 64);
    CHECK(*h == mk::wire::base64_encode(one_shot));
    // In odd-sized pieces through the stream.
    sha384_stream s;
    for (std::size_t off = 0; off < n; off += 777) {
      auto len = std::min<std::size_t>(777, n - off);
      s.update(std::span{reinterpret_cast<const std::uint8_t*>(data.data()) + off, len});
    }
    CHECK(s.final_base64() == *h);
  }
}

TEST_CASE("file hash: missing files and directories are io errors") {
  mk::test::temp_dir dir;
  auto missing = hash_file(dir.path() / "nope");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == mk::errc::io_error);
  auto folder = hash_file(dir.path());
  REQUIRE_FALSE(folder.ok());
  CHECK(folder.error().code == mk::errc::io_error);
}
