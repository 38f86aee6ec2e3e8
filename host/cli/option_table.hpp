// One declarative table of a command's settings, from which everything that lists them is derived
// (issue 14, part 3): the CLI declarations (boost program_options, so --help and the --config INI
// reader come with them), reading the parsed values into the config struct, the canonical
// "key = value" fingerprint text that --resume compares, and the provenance text of the HDF5
// output. Adding a field is one row; it cannot be left out of any of these.
//
//   struct Cfg { double lr = 0.05; Optimizer opt = Optimizer::adam; };
//   template <> struct Choices<Optimizer> {           // names of an enum's values, in help order
//     static constexpr std::array<Choice<Optimizer>, 2> values{{{Optimizer::adam, "adam"},
//                                                                {Optimizer::sgd, "sgd"}}};
//   };
//   const OptionTable<Cfg> t = {
//     row("lr", "lr", &Cfg::lr, positive<double>(), "training", "learning rate", kFingerprint),
//     row("optimizer", "optimizer", &Cfg::opt, "training", "optimiser", kFingerprint)};
//   declare_options(desc, t, Cfg{});  read_options(vm, t, cfg);
//   fingerprint_text(t, cfg) == "lr = 0.050000000000000003\noptimizer = adam\n"
//
// A row: `name` (the option on the command line and in INI files), `key` (the fingerprint and
// provenance key, snake_case), the field (a member pointer, or a getter and a setter), the help
// group and text, whether it is part of the fingerprint, the commands (scope bits) that declare
// it and, optionally, when the field means anything for a config (`applies`: the fingerprint and
// provenance leave the row out otherwise, so an irrelevant setting never blocks --resume), a
// one-letter alias (`.alias('o')`) and whether it is recorded at all (`.unrecorded()`: file
// names, which are no setting of the computation).
// Value types: bool (a switch, text 1/0), int, int64_t, uint64_t, double (number<T>: the range is
// checked where the text is parsed; text with 17 significant digits), std::string, enums with
// Choices<E> (help lists the names; a bad name is refused with the allowed list),
// std::vector<int> (comma-separated positive integers), std::optional<int64_t> ("none" or the
// number). Tests: tests/unit/test_option_table.cpp.
#pragma once
#include <algorithm>
#include <array>
#include <boost/program_options.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "host/cli/number.hpp"
#include "host/core/error.hpp"

namespace naqs::cli {

namespace po = boost::program_options;

// ---- enums: the names of their values ----------------------------------------------------------

template <class E>
struct Choice {
  E value;
  const char* name;
};

// Specialise with `static constexpr std::array<Choice<E>, N> values` (every value, help order).
template <class E>
struct Choices;

template <class E>
const char* name_of(E v) {
  for (const Choice<E>& c : Choices<E>::values)
    if (c.value == v) return c.name;
  NAQS_CHECK(false, "name_of: enum value ", static_cast<long long>(v), " has no name");
  return "";
}

template <class E>
std::string choice_list(const char* sep = ", ") {
  std::string s;
  for (const Choice<E>& c : Choices<E>::values) s += (s.empty() ? "" : sep) + std::string(c.name);
  return s;
}

// The value named `text`; UsageError "--<option>: 'x' is not allowed (allowed: a, b, c)".
template <class E>
E parse_choice(const std::string& text, const std::string& option) {
  for (const Choice<E>& c : Choices<E>::values)
    if (text == c.name) return c.value;
  throw UsageError(cat("--", option, ": '", text, "' is not allowed (allowed: ", choice_list<E>(),
                       ")"));
}

// ---- value types -------------------------------------------------------------------------------

// "1,2,4" <-> {1, 2, 4}: positive integers (UsageError naming the option otherwise).
std::string join_ints(const std::vector<int>& v);
std::vector<int> parse_int_list(const std::string& text, const std::string& option);

// The text and parsing of one value type (see the header comment).
template <class T, class Enable = void>
struct Codec;

template <class T>
struct Codec<T, std::enable_if_t<std::is_arithmetic_v<T> && !std::is_same_v<T, bool>>> {
  using Spec = Range<T>;
  static po::value_semantic* semantic(const T& d, const Spec& r) {
    return number<T>(r)->default_value(d);
  }
  static T read(const po::variable_value& v, const std::string&) { return v.as<T>(); }
  static std::string text(const T& v) {
    std::ostringstream o;
    o.precision(17);
    o << v;
    return o.str();
  }
  static T parse(const std::string& t, const std::string& what, const Spec& r) {
    return parse_checked<T>(t, what, r);
  }
  static std::string help(const Spec&) { return ""; }
};

template <>
struct Codec<bool> {
  struct Spec {};
  static po::value_semantic* semantic(const bool& d, const Spec&) {
    return po::bool_switch()->default_value(d);
  }
  static bool read(const po::variable_value& v, const std::string&) { return v.as<bool>(); }
  static std::string text(bool v) { return v ? "1" : "0"; }
  static bool parse(const std::string& t, const std::string& what, const Spec&) {
    NAQS_REQUIRE(t == "1" || t == "0", "--", what, ": '", t, "' is not 1 or 0");
    return t == "1";
  }
  static std::string help(const Spec&) { return ""; }
};

template <>
struct Codec<std::string> {
  struct Spec {};
  static po::value_semantic* semantic(const std::string& d, const Spec&) {
    return po::value<std::string>()->default_value(d);
  }
  static std::string read(const po::variable_value& v, const std::string&) {
    return v.as<std::string>();
  }
  static std::string text(const std::string& v) { return v; }
  static std::string parse(const std::string& t, const std::string&, const Spec&) { return t; }
  static std::string help(const Spec&) { return ""; }
};

template <class E>
struct Codec<E, std::enable_if_t<std::is_enum_v<E>>> {
  struct Spec {};
  static po::value_semantic* semantic(const E& d, const Spec&) {
    return po::value<std::string>()->default_value(name_of(d));
  }
  static E read(const po::variable_value& v, const std::string& option) {
    return parse_choice<E>(v.as<std::string>(), option);
  }
  static std::string text(E v) { return name_of(v); }
  static E parse(const std::string& t, const std::string& what, const Spec&) {
    return parse_choice<E>(t, what);
  }
  static std::string help(const Spec&) { return choice_list<E>(" | ") + ": "; }
};

template <>
struct Codec<std::vector<int>> {
  struct Spec {};
  static po::value_semantic* semantic(const std::vector<int>& d, const Spec&) {
    return po::value<std::string>()->default_value(join_ints(d));
  }
  static std::vector<int> read(const po::variable_value& v, const std::string& option) {
    return parse_int_list(v.as<std::string>(), option);
  }
  static std::string text(const std::vector<int>& v) { return join_ints(v); }
  static std::vector<int> parse(const std::string& t, const std::string& what, const Spec&) {
    return parse_int_list(t, what);
  }
  static std::string help(const Spec&) { return ""; }
};

template <>
struct Codec<std::optional<int64_t>> {
  using Spec = Range<int64_t>;
  static po::value_semantic* semantic(const std::optional<int64_t>& d, const Spec&) {
    return po::value<std::string>()->default_value(text(d));
  }
  static std::optional<int64_t> read(const po::variable_value& v, const std::string& option,
                                     const Spec& r) {
    return parse(v.as<std::string>(), option, r);
  }
  static std::string text(const std::optional<int64_t>& v) {
    return v ? std::to_string(*v) : "none";
  }
  static std::optional<int64_t> parse(const std::string& t, const std::string& what,
                                      const Spec& r) {
    if (t == "none") return std::nullopt;
    return parse_checked<int64_t>(t, what, r);
  }
  static std::string help(const Spec& r) { return cat("none or an integer in ", r.str(), ": "); }
};

// ---- the table ---------------------------------------------------------------------------------

constexpr bool kFingerprint = true;    // part of the fingerprint: --resume needs it unchanged
constexpr bool kNoFingerprint = false;
constexpr unsigned kAllScopes = ~0u;

template <class Config>
struct OptionRow {
  std::string name, key, group, help;
  bool fingerprint = false;
  // false: a run's file names and modes (--out, --checkpoint, --resume), declared and read but in
  // neither the fingerprint nor the settings text (they are not settings of the computation).
  bool recorded = true;
  char short_name = 0;                          // a one-letter alias (-o), or none
  unsigned scopes = kAllScopes;                 // the commands (caller's bits) that declare it
  std::function<bool(const Config&)> applies;   // unset: always
  std::vector<std::string> choices;             // an enum's names (empty otherwise)
  std::function<po::value_semantic*(const Config& defaults)> semantic;
  std::function<void(const po::variable_value&, Config&)> read;
  std::function<std::string(const Config&)> text;
  std::function<void(Config&, const std::string& text, const std::string& what)> parse;

  bool applies_to(const Config& c) const { return !applies || applies(c); }
  // Fluent modifiers for the rare cases.
  OptionRow& only(unsigned s) { scopes = s; return *this; }
  OptionRow& when(std::function<bool(const Config&)> f) { applies = std::move(f); return *this; }
  OptionRow& alias(char c) { short_name = c; return *this; }
  OptionRow& unrecorded() { recorded = false; return *this; }
};

template <class Config>
using OptionTable = std::vector<OptionRow<Config>>;

// A row over any field, through a getter and a setter.
template <class T, class Config, class Get, class Set>
OptionRow<Config> row_with(std::string name, std::string key, Get get, Set set,
                           typename Codec<T>::Spec spec, std::string group, std::string help,
                           bool fingerprint) {
  OptionRow<Config> r;
  r.name = std::move(name);
  r.key = std::move(key);
  r.group = std::move(group);
  r.help = Codec<T>::help(spec) + help;
  r.fingerprint = fingerprint;
  if constexpr (std::is_enum_v<T>)
    for (const Choice<T>& c : Choices<T>::values) r.choices.push_back(c.name);
  r.semantic = [get, spec](const Config& d) { return Codec<T>::semantic(get(d), spec); };
  const std::string option = r.name;
  r.read = [set, spec, option](const po::variable_value& v, Config& c) {
    if constexpr (std::is_same_v<T, std::optional<int64_t>>) {
      set(c, Codec<T>::read(v, option, spec));
    } else {
      set(c, Codec<T>::read(v, option));
    }
  };
  r.text = [get](const Config& c) { return Codec<T>::text(get(c)); };
  r.parse = [set, spec](Config& c, const std::string& t, const std::string& what) {
    set(c, Codec<T>::parse(t, what, spec));
  };
  return r;
}

// A row over a member (or a member of a member: row(..., &Cfg::adam, &AdamOptions::beta1, ...)).
template <class Config, class T>
OptionRow<Config> row(std::string name, std::string key, T Config::*m,
                      typename Codec<T>::Spec spec, std::string group, std::string help,
                      bool fingerprint) {
  return row_with<T, Config>(
      std::move(name), std::move(key), [m](const Config& c) -> const T& { return c.*m; },
      [m](Config& c, T v) { c.*m = std::move(v); }, spec, std::move(group), std::move(help),
      fingerprint);
}
template <class Config, class T>
OptionRow<Config> row(std::string name, std::string key, T Config::*m, std::string group,
                      std::string help, bool fingerprint) {
  return row(std::move(name), std::move(key), m, typename Codec<T>::Spec{}, std::move(group),
             std::move(help), fingerprint);
}
template <class Config, class Inner, class T>
OptionRow<Config> row(std::string name, std::string key, Inner Config::*outer, T Inner::*m,
                      typename Codec<T>::Spec spec, std::string group, std::string help,
                      bool fingerprint) {
  return row_with<T, Config>(
      std::move(name), std::move(key),
      [outer, m](const Config& c) -> const T& { return c.*outer.*m; },
      [outer, m](Config& c, T v) { c.*outer.*m = std::move(v); }, spec, std::move(group),
      std::move(help), fingerprint);
}

// Declares the rows in `scope` (groups in the order of their first row), defaults from `d`.
template <class Config>
void declare_options(po::options_description& desc, const OptionTable<Config>& t,
                     const Config& d, unsigned scope = kAllScopes) {
  std::vector<std::string> groups;
  for (const auto& r : t)
    if ((r.scopes & scope) && std::find(groups.begin(), groups.end(), r.group) == groups.end())
      groups.push_back(r.group);
  for (const std::string& g : groups) {
    po::options_description section(g);
    for (const auto& r : t)
      if ((r.scopes & scope) && r.group == g)
        section.add_options()(
            (r.short_name ? r.name + "," + r.short_name : r.name).c_str(), r.semantic(d),
            r.help.c_str());
    desc.add(section);
  }
}

// Fills every row in `scope` from vm (rows outside it keep c's values).
template <class Config>
void read_options(const po::variables_map& vm, const OptionTable<Config>& t, Config& c,
                  unsigned scope = kAllScopes) {
  for (const auto& r : t)
    if ((r.scopes & scope) && vm.count(r.name)) r.read(vm[r.name], c);
}

// "key = value" lines of the fingerprint rows that apply to c, in table order.
template <class Config>
std::string fingerprint_lines(const OptionTable<Config>& t, const Config& c) {
  std::string s;
  for (const auto& r : t)
    if (r.fingerprint && r.recorded && r.applies_to(c)) s += r.key + " = " + r.text(c) + "\n";
  return s;
}

// "key = value" lines of every row that applies to c (the provenance text of an output).
template <class Config>
std::string settings_lines(const OptionTable<Config>& t, const Config& c) {
  std::string s;
  for (const auto& r : t)
    if (r.recorded && r.applies_to(c)) s += r.key + " = " + r.text(c) + "\n";
  return s;
}

// The row whose key is `key` (nullptr if none).
template <class Config>
const OptionRow<Config>* find_key(const OptionTable<Config>& t, const std::string& key) {
  for (const auto& r : t)
    if (r.key == key) return &r;
  return nullptr;
}

}  // namespace naqs::cli
