#pragma once
// The files a node is about to send are hashed (SHA-384, PROTOCOL §10: the hash names the transfer in FILEINIT)
// by a few threads of their own, never on the scheduler's workers: reading hundreds of big files there held up
// every other actor for seconds. The threads take turns over the waiting files, limits::hash_slice bytes at a
// time, always on the file hashed least so far (least attained service): a small file sent after a huge one is
// ready soon instead of waiting for the huge one, and files of equal size sent together are offered together,
// even when their commands arrive over tens of milliseconds, so they share the link from the start.
// (One thread per file did the same with hundreds of threads; first-come-first-served staggered the starts.)

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_addr.hpp>

#include "core/crypto/file_hash.hpp"

namespace mk {

class hash_pool {
 public:
  struct job {
    int fd = -1;             // owned by the job: closed when it ends (a dup, so the sender may quit meanwhile)
    std::uint64_t size = 0;  // bytes to hash from offset 0
    std::string path;        // for error messages
    std::shared_ptr<std::atomic<bool>> cancelled;  // set by the sender when it no longer needs the hash
    caf::actor_addr reply_to;  // gets (xfer_hash_atom, bool ok, std::string hash or error) if still alive
    // Resume: the answer is (xfer_content_atom, ...) instead, and when `report_at` (> 0) bytes are hashed the
    // digest of that prefix comes first as (xfer_prefix_atom, report_at, sha384).
    bool content = false;
    std::uint64_t report_at = 0;
    // progress, kept between turns
    std::unique_ptr<crypto::sha384_stream> hasher;
    std::uint64_t done = 0;
  };

  // threads = 0: jobs wait forever (a deterministic test answers for the pool; nothing may reach CAF's test
  // coordinator from another thread).
  explicit hash_pool(std::size_t threads);
  ~hash_pool();  // stops at the next block of each running job; queued jobs are dropped (fds closed)
  hash_pool(const hash_pool&) = delete;
  hash_pool& operator=(const hash_pool&) = delete;

  void submit(job j);

 private:
  void run();
  bool hash_slice(job& j, std::vector<std::uint8_t>& buf);  // true when the job is over (answered, failed, cancelled)

  std::mutex mx_;
  std::condition_variable cv_;
  std::deque<job> queue_;
  bool stopping_ = false;
  std::atomic<bool> stop_now_{false};
  std::vector<std::thread> threads_;
};

}  // namespace mk
