// The node's file hashing threads: real files on disk, hashes checked against a one-shot SHA-384, turns taken
// across files (a small file queued behind big ones is ready first), cancellation and read errors.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "actors/hash_pool.hpp"
#include "actors/transfer_service.hpp"
#include "core/crypto/file_hash.hpp"

using namespace mk;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct temp_dir {
  fs::path path = fs::temp_directory_path() / ("mk-hash-pool-" + std::to_string(::getpid()));
  temp_dir() { fs::create_directories(path); }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

fs::path make_file(const fs::path& dir, const std::string& name, std::size_t size, unsigned seed) {
  std::mt19937 gen{seed};
  std::string bytes(size, '\0');
  for (auto& c : bytes)
    c = static_cast<char>(gen());
  std::ofstream{dir / name, std::ios::binary}.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return dir / name;
}

hash_pool::job job_for(const fs::path& p, caf::actor_addr reply_to,
                       std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false)) {
  hash_pool::job j;
  j.fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(j.fd >= 0);
  j.size = fs::file_size(p);
  j.path = p.string();
  j.cancelled = std::move(cancelled);
  j.reply_to = std::move(reply_to);
  return j;
}

// A temp dir, an actor system, and the actor the pool answers.
struct pool_fixture {
  temp_dir d;
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};

  // The next n answers: (ok, hash or error).
  std::vector<std::pair<bool, std::string>> answers(std::size_t n) {
    std::vector<std::pair<bool, std::string>> got;
    for (std::size_t i = 0; i < n; ++i)
      self->receive([&](xfer_hash_atom, bool ok, const std::string& text) { got.emplace_back(ok, text); },
                    caf::after(30s) >> [] { FAIL("no answer from the hash pool"); });
    return got;
  }
};

}  // namespace

TEST_CASE_FIXTURE(pool_fixture, "hash pool: every file gets its SHA-384, big, small and empty, on two threads") {
  std::vector<fs::path> files;
  for (unsigned i = 0; i < 3; ++i)
    files.push_back(make_file(d.path, "big" + std::to_string(i), 24u << 20, i));
  files.push_back(make_file(d.path, "small", 100 * 1024 + 7, 9));
  files.push_back(make_file(d.path, "empty", 0, 10));
  std::vector<std::string> hashes;
  {
    hash_pool pool{2};
    for (auto& f : files)
      pool.submit(job_for(f, self->address()));
    for (auto& [ok, hash] : answers(files.size())) {
      CHECK(ok);
      hashes.push_back(hash);
    }
  }
  // The answers, in whatever order, are exactly the files' hashes as a one-shot hash computes them.
  std::vector<std::string> expected;
  for (auto& f : files)
    expected.push_back(*crypto::hash_file(f));
  std::sort(hashes.begin(), hashes.end());
  std::sort(expected.begin(), expected.end());
  CHECK(hashes == expected);
}

TEST_CASE_FIXTURE(pool_fixture, "hash pool: a small file is answered before big files queued ahead of it finish") {
  auto big = make_file(d.path, "big", 32u << 20, 1);
  auto small = make_file(d.path, "small", 64 * 1024, 2);
  hash_pool pool{1};
  pool.submit(job_for(big, self->address()));
  pool.submit(job_for(small, self->address()));
  auto got = answers(2);
  CHECK(got == std::vector<std::pair<bool, std::string>>{{true, *crypto::hash_file(small)},
                                                        {true, *crypto::hash_file(big)}});
}

TEST_CASE_FIXTURE(pool_fixture, "hash pool: a cancelled job is never answered, a file that shrank is an error") {
  auto a = make_file(d.path, "a", 8u << 20, 1);
  auto b = make_file(d.path, "b", 4096, 2);
  hash_pool pool{1};
  auto cancelled = std::make_shared<std::atomic<bool>>(true);
  pool.submit(job_for(a, self->address(), cancelled));
  auto shrunk = job_for(b, self->address());
  shrunk.size = 10000;  // more than the file holds
  pool.submit(std::move(shrunk));
  auto got = answers(1);
  CHECK_FALSE(got[0].first);
  CHECK(got[0].second.find("file shrank") != std::string::npos);
  bool more = false;
  self->receive([&](xfer_hash_atom, bool, const std::string&) { more = true; }, caf::after(300ms) >> [] {});
  CHECK_FALSE(more);
}

TEST_CASE_FIXTURE(pool_fixture, "hash pool: a file queued later catches up, so equal files sent together finish together") {
  auto a = make_file(d.path, "a", 64u << 20, 1);
  auto b = make_file(d.path, "b", 64u << 20, 2);
  hash_pool pool{1};
  pool.submit(job_for(a, self->address()));
  std::this_thread::sleep_for(80ms);  // a head start for a (about 35 MiB hashed, unless the thread was starved)
  pool.submit(job_for(b, self->address()));
  std::vector<std::chrono::steady_clock::time_point> at;
  for (int i = 0; i < 2; ++i)
    self->receive([&](xfer_hash_atom, bool ok, const std::string&) {
      CHECK(ok);
      at.push_back(std::chrono::steady_clock::now());
    }, caf::after(30s) >> [] { FAIL("no answer from the hash pool"); });
  // Least attained service: b is hashed alone until it has caught up, then they alternate 64 KiB turns, so the
  // two finish a turn apart. Taking turns in arrival order instead, a would keep its whole head start.
  CHECK(at[1] - at[0] < 40ms);
}
