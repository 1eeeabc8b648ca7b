#include "cli/event_fields.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <string_view>

#include "cli/json.hpp"

namespace mk::cli {

namespace {

enum class kind_of { string, integer, number, boolean };

struct field_rule {
  event_kind kind;
  std::string_view name;
  kind_of type;
};

// Numbers and flags by event kind; any other field is text. Keep in step with docs/json.md.
constexpr std::array rules{
  field_rule{event_kind::transfer, "bytes", kind_of::integer},
  field_rule{event_kind::transfer, "size", kind_of::integer},
  field_rule{event_kind::transfer, "rate", kind_of::integer},
  field_rule{event_kind::transfer, "average_rate", kind_of::integer},
  field_rule{event_kind::transfer, "elapsed_ms", kind_of::integer},
  field_rule{event_kind::transfer, "eta", kind_of::integer},
  field_rule{event_kind::transfer, "retransmits", kind_of::integer},
  field_rule{event_kind::transfer, "timeouts", kind_of::integer},
  field_rule{event_kind::transfer, "cwnd", kind_of::integer},
  field_rule{event_kind::transfer, "srtt_us", kind_of::integer},
  field_rule{event_kind::transfer, "chunk", kind_of::integer},
  field_rule{event_kind::transfer, "resumed_from", kind_of::integer},
  field_rule{event_kind::transfer, "error", kind_of::boolean},
  field_rule{event_kind::call, "capture_t0_us", kind_of::integer},
  field_rule{event_kind::call, "playback_t0_us", kind_of::integer},
  field_rule{event_kind::call, "sent", kind_of::integer},
  field_rule{event_kind::call, "suppressed", kind_of::integer},
  field_rule{event_kind::call, "bytes_sent", kind_of::integer},
  field_rule{event_kind::call, "received", kind_of::integer},
  field_rule{event_kind::call, "rejected", kind_of::integer},
  field_rule{event_kind::call, "frames_played", kind_of::integer},
  field_rule{event_kind::call, "lost", kind_of::integer},
  field_rule{event_kind::call, "concealed", kind_of::integer},
  field_rule{event_kind::call, "fec", kind_of::integer},
  field_rule{event_kind::call, "late", kind_of::integer},
  field_rule{event_kind::call, "underruns", kind_of::integer},
  field_rule{event_kind::call, "dropped", kind_of::integer},
  field_rule{event_kind::call, "shed", kind_of::integer},
  field_rule{event_kind::call, "jitter_ms", kind_of::number},
  field_rule{event_kind::call, "target_delay_ms", kind_of::number},
  field_rule{event_kind::call, "skipped_samples", kind_of::integer},
};

kind_of type_of(event_kind k, std::string_view name) {
  for (auto& r : rules)
    if (r.kind == k && r.name == name)
      return r.type;
  return kind_of::string;
}

bool whole(std::string_view s, auto& value) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  return ec == std::errc{} && end == s.data() + s.size();
}

}  // namespace

std::string event_fields_json(const event& e) {
  json_object o;
  for (auto& [name, text] : e.fields) {
    switch (type_of(e.kind, name)) {
      case kind_of::integer: {
        std::int64_t v = 0;
        if (whole(text, v)) {
          o.add(name, v);
          continue;
        }
        break;
      }
      case kind_of::number: {
        double v = 0;
        if (whole(text, v) && std::isfinite(v)) {
          o.add(name, v);
          continue;
        }
        break;
      }
      case kind_of::boolean:
        if (text == "1" || text == "0") {
          o.add(name, text == "1");
          continue;
        }
        break;
      case kind_of::string: break;
    }
    o.add(name, text);
  }
  return o.str();
}

}  // namespace mk::cli
