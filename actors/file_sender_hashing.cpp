// The file sender, its file: opening it, hashing it in the pool (FILEINIT), and a resume (issue 15): the
// receiver's prefix checked against the file, then the data from there or from the start.
#include "actors/file_sender_state.hpp"

namespace mk::file_sender_detail {

std::optional<std::string> file_sender_state::open_file() {
  auto err = file.open(p.path);
  size = file.size();
  file_name = file.name();
  return err;
}

bool file_sender_state::submit_hash_job(bool content, std::uint64_t report_at) {
  int copy = file.dup();
  if (copy < 0)
    return false;
  hash_pool::job j;
  j.fd = copy;
  j.size = size;
  j.path = p.path.string();
  j.cancelled = hash_cancelled;
  j.reply_to = self->address();
  j.content = content;
  j.report_at = report_at;
  p.hashing->submit(std::move(j));
  return true;
}

void file_sender_state::on_hashed(bool ok, const std::string& hash_or_error) {
  if (ended)
    return;
  if (!ok) {
    self->send(p.service, xfer_hashed_atom::value, false, hash_or_error);
    ended = true;
    return self->quit();
  }
  hash = hash_or_error;
  progress.info = transfer_info{hash, file_name, p.user, true, "pending", size, 0, 0, -1};
  progress.info.folder = p.folder;
  self->send(p.service, xfer_hashed_atom::value, true, hash);
}

void file_sender_state::on_resume_request(const w::file_resume_msg& m, steady::time_point now) {
  if (resumed_at)  // our FILEFROM was lost
    return send_line(w::serialize(w::file_from_msg{hash, *resumed_at}));
  if (resume_checking || !p.lazy_hash || sm->state() != t::sender_state::pending)
    return;
  resume_checking = true;
  pool_hashes_content = true;
  resume_offset = std::min(m.offset, size);
  resume_digest = m.sha384;
  sm->answered(now);
  if (resume_offset == 0)
    decide_resume(0, now);
  if (!submit_hash_job(true, resume_offset))
    sm->cancel("cannot read " + p.path.string() + ": " + std::strerror(errno));
}

void file_sender_state::decide_resume(std::uint64_t offset, steady::time_point now) {
  if (resumed_at || !sm || sm->state() != t::sender_state::pending)
    return;
  resumed_at = offset;
  sm->resume_at(offset, now);
  send_line(w::serialize(w::file_from_msg{hash, offset}));
  progress.begin(now);
  progress.info.resumed_from = offset;
  if (offset > 0)
    emit("Resuming " + file_name + " to " + p.user + " at " + human_bytes(static_cast<double>(offset)) + " of " +
           human_bytes(static_cast<double>(size)) + " (the rest of an interrupted transfer)",
         now);
  else if (resume_offset > 0)
    emit(file_name + " to " + p.user + ": the receiver's partial copy does not match the file (changed since, or "
                                        "damaged): sending all of it again",
         now);
}

void file_sender_state::on_prefix_hash(std::uint64_t offset, const std::string& digest, steady::time_point now) {
  if (!resume_checking || offset != resume_offset)
    return;
  decide_resume(digest == resume_digest ? offset : 0, now);
  after_input(now);
}

void file_sender_state::on_content_hash(bool ok, const std::string& digest, steady::time_point now) {
  if (!sm || ended)
    return;
  if (!ok) {
    sm->cancel(digest);
  } else if (content_hash.empty()) {
    content_hash = digest;
    sm->on_hash_ready(now);
  }
  after_input(now);
}

}  // namespace mk::file_sender_detail
