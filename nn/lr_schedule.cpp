// Learning-rate schedules (see lr_schedule.hpp).
#include "nn/lr_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <sstream>
#include <vector>

#include "host/core/error.hpp"

namespace naqs::nn {

// lr0 (f + (1 - f) (1 + cos(pi s / T)) / 2): cosine from lr0 (s = 0) to f lr0 (s = T).
double LrSchedule::cosine_at(double s, double T) const {
  return lr0 * (final_fraction +
                (1 - final_fraction) * 0.5 * (1 + std::cos(std::numbers::pi * s / T)));
}

double LrSchedule::at(int64_t step) const {
  switch (kind) {
    case Kind::constant: return lr0;
    case Kind::cosine: {
      const double T = static_cast<double>(std::max<int64_t>(1, total_steps));
      const double s = std::min(static_cast<double>(step), T);
      return cosine_at(s, T);
    }
    case Kind::step: return lr0 * std::pow(gamma, static_cast<double>(step / every));
    case Kind::exponential: return lr0 * std::pow(gamma, static_cast<double>(step));
    case Kind::warmup_cosine: {
      if (step < warmup)
        return lr0 * static_cast<double>(step + 1) / static_cast<double>(warmup);
      const int64_t decay = std::max<int64_t>(total_steps - warmup, 0);
      const double s = static_cast<double>(std::min(step - warmup, decay));
      return cosine_at(s, static_cast<double>(std::max<int64_t>(decay, 1)));
    }
  }
  return lr0;
}

std::string LrSchedule::str() const {
  switch (kind) {
    case Kind::constant: return "constant";
    case Kind::cosine: return cat("cosine:", final_fraction);
    case Kind::step: return cat("step:", every, ":", gamma);
    case Kind::exponential: return cat("exp:", gamma);
    case Kind::warmup_cosine: return cat("warmup_cosine:", warmup, ":", final_fraction);
  }
  return "?";
}

LrSchedule LrSchedule::parse(const std::string& spec, double lr0, int64_t total_steps) {
  NAQS_REQUIRE(lr0 > 0 && std::isfinite(lr0), "learning rate must be > 0, got ", lr0);
  std::vector<std::string> parts;
  std::stringstream ss(spec);
  for (std::string p; std::getline(ss, p, ':');) parts.push_back(p);
  const std::string bad = cat("bad learning-rate schedule '", spec,
                              "' (choices: constant, cosine[:final_fraction], step:K:gamma, "
                              "exp:gamma, warmup_cosine:W[:final_fraction])");
  auto number = [&](const std::string& s) {
    std::size_t used = 0;
    double v = 0;
    try {
      v = std::stod(s, &used);
    } catch (const std::exception&) {
      throw UsageError(bad);
    }
    NAQS_REQUIRE(used == s.size() && std::isfinite(v), bad);
    return v;
  };
  LrSchedule s;
  s.lr0 = lr0;
  s.total_steps = total_steps;
  NAQS_REQUIRE(!parts.empty(), bad);
  if (parts[0] == "constant" && parts.size() == 1) {
    s.kind = Kind::constant;
  } else if (parts[0] == "cosine" && parts.size() <= 2) {
    s.kind = Kind::cosine;
    if (parts.size() == 2) s.final_fraction = number(parts[1]);
    NAQS_REQUIRE(s.final_fraction >= 0 && s.final_fraction <= 1, bad, ": final fraction in [0,1]");
  } else if (parts[0] == "warmup_cosine" && (parts.size() == 2 || parts.size() == 3)) {
    s.kind = Kind::warmup_cosine;
    const double w = number(parts[1]);
    NAQS_REQUIRE(w >= 1 && w == std::floor(w) && w < 9e15, bad,
                 ": W must be a positive integer");
    s.warmup = static_cast<int64_t>(w);
    if (parts.size() == 3) s.final_fraction = number(parts[2]);
    NAQS_REQUIRE(s.final_fraction >= 0 && s.final_fraction <= 1, bad, ": final fraction in [0,1]");
  } else if (parts[0] == "step" && parts.size() == 3) {
    s.kind = Kind::step;
    const double k = number(parts[1]);
    NAQS_REQUIRE(k >= 1 && k == std::floor(k), bad, ": K must be a positive integer");
    s.every = static_cast<int64_t>(k);
    s.gamma = number(parts[2]);
    NAQS_REQUIRE(s.gamma > 0, bad, ": gamma must be > 0");
  } else if (parts[0] == "exp" && parts.size() == 2) {
    s.kind = Kind::exponential;
    s.gamma = number(parts[1]);
    NAQS_REQUIRE(s.gamma > 0, bad, ": gamma must be > 0");
  } else {
    throw UsageError(bad);
  }
  return s;
}

}  // namespace naqs::nn
