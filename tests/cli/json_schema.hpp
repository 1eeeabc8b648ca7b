#pragma once
// Test helper: the --json schema as docs/json.md writes it, read as data. Each answer or event kind is a heading
// "### `<type>`" followed by a ```schema block (one `path: type` per line, `path?: type` when optional; a member
// of an object inside an object is `outer.inner`, of the objects of an array `list[].inner`, and the items of an
// array of plain values `list[]`) and a ```json block of examples, one object per line.

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli/json_value.hpp"

namespace mk::test {

struct schema_field {
  std::string type;  // string, integer, number, boolean, object, array
  bool optional = false;
};
using type_schema = std::map<std::string, schema_field>;

struct json_doc {
  std::map<std::string, type_schema> types;
  std::map<std::string, std::vector<std::string>> examples;
  std::vector<std::string> problems;  // the document itself is malformed
};

inline std::string trim(std::string s) {
  auto a = s.find_first_not_of(" \t\r");
  auto b = s.find_last_not_of(" \t\r");
  return a == std::string::npos ? std::string{} : s.substr(a, b - a + 1);
}

inline json_doc read_json_doc(const std::string& path) {
  json_doc doc;
  std::ifstream in{path};
  if (!in) {
    doc.problems.push_back("cannot read " + path);
    return doc;
  }
  std::string line, current, block;
  while (std::getline(in, line)) {
    if (!block.empty()) {
      if (trim(line) == "```") {
        block.clear();
        continue;
      }
      if (trim(line).empty() || trim(line)[0] == '#')
        continue;
      if (block == "schema") {
        line = line.substr(0, line.find(" #"));  // a comment after the type
        auto colon = line.find(':');
        if (colon == std::string::npos) {
          doc.problems.push_back(current + ": bad schema line: " + line);
          continue;
        }
        auto name = trim(line.substr(0, colon));
        schema_field f{trim(line.substr(colon + 1)), false};
        if (!name.empty() && name.back() == '?') {
          f.optional = true;
          name.pop_back();
        }
        static const std::set<std::string> known{"string", "integer", "number", "boolean", "object", "array"};
        if (known.count(f.type) == 0)
          doc.problems.push_back(current + ": unknown type " + f.type);
        doc.types[current][name] = f;
      } else if (block == "json") {
        doc.examples[current].push_back(trim(line));
      }
      continue;
    }
    if (line.rfind("### `", 0) == 0) {
      auto end = line.find('`', 5);
      current = line.substr(5, end - 5);
      if (doc.types.count(current) != 0)
        doc.problems.push_back("type documented twice: " + current);
      doc.types[current];
    } else if (line.rfind("```schema", 0) == 0 || line.rfind("```json", 0) == 0) {
      if (current.empty())
        doc.problems.push_back("a block before the first type heading");
      block = line.substr(3);
    }
  }
  return doc;
}

namespace detail {

inline bool type_fits(json_value::kind k, const std::string& type) {
  using K = json_value::kind;
  return (type == "string" && k == K::string) || (type == "integer" && k == K::integer) ||
         (type == "number" && (k == K::number || k == K::integer)) || (type == "boolean" && k == K::boolean) ||
         (type == "object" && k == K::object) || (type == "array" && k == K::array);
}

inline void check_object(const json_value& obj, const type_schema& s, const std::string& prefix,
                         std::vector<std::string>& out) {
  for (auto& [name, v] : obj.members) {
    auto path = prefix + name;
    auto it = s.find(path);
    if (it == s.end()) {
      out.push_back("undocumented field " + path + " (" + json_value::kind_name(v.k) + ")");
      continue;
    }
    if (!type_fits(v.k, it->second.type)) {
      out.push_back(path + " is " + json_value::kind_name(v.k) + ", documented as " + it->second.type);
      continue;
    }
    if (v.k == json_value::kind::object) {
      check_object(v, s, path + ".", out);
    } else if (v.k == json_value::kind::array) {
      for (auto& item : v.items) {
        if (item.k == json_value::kind::object) {
          check_object(item, s, path + "[].", out);
        } else if (auto e = s.find(path + "[]"); e == s.end() || !type_fits(item.k, e->second.type)) {
          out.push_back(path + "[] item is " + json_value::kind_name(item.k) +
                        (e == s.end() ? ", undocumented" : ", documented as " + e->second.type));
        }
      }
    }
  }
  // Required members of this object: paths directly under `prefix`.
  for (auto& [path, f] : s) {
    if (f.optional || path.compare(0, prefix.size(), prefix) != 0)
      continue;
    auto rest = path.substr(prefix.size());
    if (rest.empty() || rest.find('.') != std::string::npos || rest.find("[]") != std::string::npos)
      continue;
    if (obj.get(rest) == nullptr)
      out.push_back("missing required field " + path);
  }
}

}  // namespace detail

// Problems of one --json line against the document ("" type means the line had none); empty = valid.
inline std::vector<std::string> validate_line(const json_doc& doc, const std::string& line, std::string& type) {
  std::vector<std::string> out;
  type.clear();
  auto v = json_parser::parse(line);
  if (!v || v->k != json_value::kind::object) {
    out.push_back("not one JSON object");
    return out;
  }
  auto t = v->get("type");
  if (t == nullptr || t->k != json_value::kind::string) {
    out.push_back("no string \"type\"");
    return out;
  }
  type = t->str;
  auto it = doc.types.find(type);
  if (it == doc.types.end()) {
    out.push_back("undocumented type " + type);
    return out;
  }
  detail::check_object(*v, it->second, "", out);
  return out;
}

}  // namespace mk::test
