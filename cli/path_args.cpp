#include "cli/path_args.hpp"

namespace mk::cli {

std::vector<std::string> split_paths(std::string_view rest, const std::function<bool(const std::string&)>& exists) {
  std::string whole{rest};
  if (exists(whole))
    return {whole};
  std::vector<std::string> out;
  std::string cur;
  bool in_token = false;
  char quote = 0;
  for (std::size_t i = 0; i < rest.size(); ++i) {
    char c = rest[i];
    if (quote != 0) {
      if (c == quote)
        quote = 0;
      else if (c == '\\' && quote == '"' && i + 1 < rest.size() && (rest[i + 1] == '"' || rest[i + 1] == '\\'))
        cur += rest[++i];
      else
        cur += c;
    } else if (c == '"' || c == '\'') {
      quote = c;
      in_token = true;
    } else if (c == '\\' && i + 1 < rest.size()) {
      cur += rest[++i];
      in_token = true;
    } else if (c == ' ' || c == '\t') {
      if (in_token)
        out.push_back(std::move(cur));
      cur.clear();
      in_token = false;
    } else {
      cur += c;
      in_token = true;
    }
  }
  if (quote != 0)
    return {};
  if (in_token)
    out.push_back(std::move(cur));
  return out;
}

}  // namespace mk::cli
