// The file receiver, resume (issue 15): the partial file and its record, FILERESUME/FILEFROM, and the check of a
// file a resumed folder saved before.
#include "actors/file_receiver_state.hpp"

#include "actors/partial_files.hpp"

namespace mk::file_receiver_detail {

void receiver_state::discard() {
  file.close();
  if (!part_path.empty() && !keep_partial) {
    remove_partial(part_path);
    part_path.clear();
  }
}

void receiver_state::checkpoint(steady::time_point now, bool force) {
  if (!p.resumable || !file.is_open() || part_path.empty() || awaiting_from)
    return;
  const auto hashed = file.hashed();
  if (!force && now < next_checkpoint && hashed < checkpointed + limits::resume_checkpoint_bytes)
    return;
  next_checkpoint = now + limits::resume_checkpoint_interval;
  if (hashed == checkpointed && !force)
    return;
  if (!(force ? file.sync() : file.flush()))
    return;
  record.verified = hashed;
  record.updated = unix_now();
  if (write_resume_record(part_path, record, force))
    checkpointed = hashed;
}

std::optional<std::string> receiver_state::open_part() {
  auto err = file.create(p.dir, p.name);
  if (!err)
    part_path = file.path();
  return err;
}

void receiver_state::on_resume_answer(w::message& m, steady::time_point now) {
  if (ended || !awaiting_from)
    return;
  if (auto* f = std::get_if<w::file_from_msg>(&m)) {
    if (f->offset != 0 && f->offset != prefix)
      return fail("the sender resumed at " + std::to_string(f->offset) + ", not at an offered point", true);
    awaiting_from = false;
    if (checking_saved() && f->offset != prefix) {  // not the same file: it arrives anew, beside the saved one
      file.reset();
      p.existing.clear();
      if (auto err = open_part())
        return fail(*err, true);
      emit(p.name + " from " + p.user + ": the file saved before differs from the sender's: receiving it again "
                                        "(the saved one stays)",
           now);
    } else if (f->offset == 0 && prefix > 0) {
      if (!file.truncate())
        return fail(io_error("cannot write the file: "), true);
      emit(p.name + " from " + p.user + ": the partial copy does not match the sender's file (changed since, or "
                                        "damaged): receiving all of it again",
           now);
    }
    begin_receiving(now, f->offset);
  } else if (std::holds_alternative<w::file_stop_msg>(m)) {
    fail("cancelled by the sender", false, "cancelled", true);
  } else if (std::holds_alternative<w::file_offer_msg>(m) || std::holds_alternative<w::file_init_msg>(m)) {
    send_resume_request(now);  // the sender has not heard us yet
  }
}

void receiver_state::rehash_prefix() {
  if (ended)
    return;
  auto now = self->clock().now();
  if (!file.hash_upto(std::min(prefix, file.hashed() + limits::resume_rehash_slice)))
    return fail(io_error("cannot read the partial file: "), true);
  if (file.hashed() < prefix)
    return self->send(self, xfer_rehash_atom::value);
  awaiting_from = true;
  resume_deadline = now + limits::transfer_stall_timeout;
  send_resume_request(now);
  arm_at(now, resend_resume);
}

void receiver_state::resume_tick(steady::time_point now) {
  if (!awaiting_from)
    return;
  if (now >= resume_deadline)
    return fail("the sender did not answer the request to resume", true, "failed", true);
  if (now >= resend_resume)
    send_resume_request(now);
  arm_at(now, std::min(resend_resume, resume_deadline));
}

void receiver_state::open_resumed() {
  if (checking_saved()) {
    if (auto err = file.open_existing(p.existing, false))
      return fail(*err, true);
    prefix = std::min(file.size_on_disk(), p.size);
    return rehash_prefix();
  }
  if (auto err = file.open_existing(p.resume->part, true))
    return fail(*err, true);
  part_path = p.resume->part;
  record = p.resume->record;
  prefix = std::min({record.verified, file.size_on_disk(), p.size});
  rehash_prefix();
}

}  // namespace mk::file_receiver_detail
