#include "core/transfer/folder_path.hpp"

#include "core/limits.hpp"
#include "core/transfer/file_name.hpp"

namespace mk::transfer {

mk::result<std::vector<std::string>> sanitize_folder_path(std::string_view wire_path) {
  auto refuse = [&](const char* why) { return make_error(errc::refused, std::string{"unsafe path in folder: "} + why); };
  if (wire_path.empty())
    return refuse("empty");
  if (wire_path.front() == '/' || wire_path.front() == '\\')
    return refuse("absolute");
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    auto end = wire_path.find('/', start);
    auto part = wire_path.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (part.empty())
      return refuse("empty component");
    if (part == "." || part == "..")
      return refuse("`.` or `..` component");
    if (out.size() == limits::max_folder_depth)
      return refuse("nested too deep");
    auto clean = sanitize_file_name(part);
    if (!clean)
      return refuse("unusable component");
    out.push_back(std::move(*clean));
    if (end == std::string_view::npos)
      break;
    start = end + 1;
  }
  return out;
}

}  // namespace mk::transfer
