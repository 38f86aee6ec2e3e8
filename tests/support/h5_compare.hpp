// Comparing two naqs result files dataset by dataset, bitwise (tests only): every dataset under
// the given groups, except the named wall-time columns.
#pragma once
#include <hdf5.h>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "host/io/hdf5.hpp"

namespace naqs::testing {

// Full paths of every dataset under `group` (recursively); empty if the group is absent.
inline std::vector<std::string> datasets_under(const H5File& f, const std::string& group) {
  std::vector<std::string> out;
  if (!f.exists(group)) return out;
  struct Ctx {
    std::string prefix;
    std::vector<std::string>* out;
  } ctx{group == "/" ? "" : group, &out};
  auto visit = [](hid_t, const char* name, const H5O_info_t* info, void* data) -> herr_t {
    auto* c = static_cast<Ctx*>(data);
    if (info->type == H5O_TYPE_DATASET) c->out->push_back(c->prefix + "/" + name);
    return 0;
  };
  const hid_t g = H5Gopen2(f.id(), group.c_str(), H5P_DEFAULT);
  H5Ovisit2(g, H5_INDEX_NAME, H5_ITER_NATIVE, visit, &ctx, H5O_INFO_BASIC);
  H5Gclose(g);
  return out;
}

// "" when equal; else the first difference. Numbers compared bit for bit (NaN == NaN).
inline std::string compare_groups(const std::string& a_path, const std::string& b_path,
                                  const std::vector<std::string>& groups,
                                  const std::set<std::string>& skip) {
  const H5File a = H5File::open_read(a_path), b = H5File::open_read(b_path);
  for (const std::string& g : groups) {
    const std::vector<std::string> da = datasets_under(a, g), db = datasets_under(b, g);
    if (da != db) return "the datasets under " + g + " differ";
    for (const std::string& d : da) {
      if (skip.count(d)) continue;
      if (a.dims(d) != b.dims(d)) return d + ": shapes differ";
      try {
        const std::vector<double> va = a.read_doubles(d), vb = b.read_doubles(d);
        for (std::size_t i = 0; i < va.size(); ++i) {
          const bool same = (va[i] == vb[i]) || (va[i] != va[i] && vb[i] != vb[i]);
          if (!same || std::signbit(va[i]) != std::signbit(vb[i]))
            return d + "[" + std::to_string(i) + "]: " + std::to_string(va[i]) + " vs " +
                   std::to_string(vb[i]);
        }
      } catch (const std::exception&) {  // a string dataset
        if (a.read_string(d) != b.read_string(d)) return d + ": texts differ";
      }
    }
  }
  return "";
}

}  // namespace naqs::testing
