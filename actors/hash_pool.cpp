#include "actors/hash_pool.hpp"

#include <pthread.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "actors/transfer_service.hpp"
#include "core/limits.hpp"

namespace mk {

hash_pool::hash_pool(std::size_t threads) {
  for (std::size_t i = 0; i < threads; ++i)
    threads_.emplace_back([this] {
      ::pthread_setname_np(::pthread_self(), "mk.hash");  // shows in top -H and perf
      run();
    });
}

hash_pool::~hash_pool() {
  {
    std::lock_guard g{mx_};
    stopping_ = true;
  }
  stop_now_ = true;
  cv_.notify_all();
  for (auto& t : threads_)
    t.join();
  for (auto& j : queue_)
    ::close(j.fd);
}

void hash_pool::submit(job j) {
  j.hasher = std::make_unique<crypto::sha384_stream>();
  {
    std::lock_guard g{mx_};
    queue_.push_back(std::move(j));
  }
  cv_.notify_one();
}

void hash_pool::run() {
  std::vector<std::uint8_t> buf(limits::transfer_io_block);
  for (;;) {
    job j;
    {
      std::unique_lock g{mx_};
      cv_.wait(g, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_)
        return;
      // Least attained service: the file hashed least so far goes next (the first queued among equals). A
      // file queued later catches up with the earlier ones, so equal files sent together finish together even
      // if their commands arrived over a while, and a small file is done after a few turns.
      auto next = std::min_element(queue_.begin(), queue_.end(),
                                   [](const job& a, const job& b) { return a.done < b.done; });
      j = std::move(*next);
      queue_.erase(next);
    }
    if (hash_slice(j, buf)) {
      ::close(j.fd);
      continue;
    }
    std::lock_guard g{mx_};  // its turn is over: to the back of the line (behind equals)
    queue_.push_back(std::move(j));
  }
}

bool hash_pool::hash_slice(job& j, std::vector<std::uint8_t>& buf) {
  std::uint64_t end = std::min(j.size, j.done + limits::hash_slice);
  if (j.report_at > j.done)
    end = std::min(end, j.report_at);
  std::string error;
  while (j.done < end) {
    if (stop_now_.load(std::memory_order_relaxed) || j.cancelled->load(std::memory_order_relaxed))
      return true;
    auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), end - j.done));
    auto n = ::pread(j.fd, buf.data(), want, static_cast<off_t>(j.done));
    if (n <= 0) {
      error = "Cannot read " + j.path + ": " + (n < 0 ? std::strerror(errno) : "file shrank");
      break;
    }
    j.hasher->update({buf.data(), static_cast<std::size_t>(n)});
    j.done += static_cast<std::uint64_t>(n);
  }
  auto to = caf::actor_cast<caf::actor>(j.reply_to);
  if (error.empty() && j.report_at > 0 && j.done == j.report_at) {
    if (to)
      caf::anon_send(to, xfer_prefix_atom::value, j.report_at, j.hasher->peek_base64());
    j.report_at = 0;
  }
  if (error.empty() && j.done < j.size)
    return false;
  if (!to || j.cancelled->load(std::memory_order_relaxed))
    return true;
  auto ok = error.empty();
  auto text = ok ? j.hasher->final_base64() : error;
  if (j.content)
    caf::anon_send(to, xfer_content_atom::value, ok, text);
  else
    caf::anon_send(to, xfer_hash_atom::value, ok, text);
  return true;
}

}  // namespace mk
