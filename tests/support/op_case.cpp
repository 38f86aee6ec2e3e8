#include "tests/support/op_case.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <sstream>

#include "host/core/device.hpp"
#include "host/core/error.hpp"
#include "tests/support/testing.hpp"

namespace naqs::testing {

OpParams::OpParams(const std::string& text) : text_(text) {
  std::istringstream is(text);
  for (std::string item; is >> item;) {
    const auto eq = item.find('=');
    NAQS_CHECK(eq != std::string::npos && eq > 0, "OpParams: '", item, "' in '", text,
               "' is not key=value");
    values_[item.substr(0, eq)] = item.substr(eq + 1);
  }
}

const std::string& OpParams::get(const std::string& key) const {
  const auto it = values_.find(key);
  NAQS_CHECK(it != values_.end(), "OpParams: no '", key, "' in '", text_, "'");
  return it->second;
}

int64_t OpParams::i(const std::string& key) const { return std::stoll(get(key)); }
double OpParams::f(const std::string& key) const { return std::stod(get(key)); }

Shape OpParams::shape(const std::string& key) const {
  std::vector<int64_t> dims;
  std::istringstream is(get(key));
  for (std::string d; std::getline(is, d, 'x');) dims.push_back(std::stoll(d));
  return Shape(dims);
}

std::string OpCase::name() const {
  std::string s = op + "_";
  for (char ch : params.text()) {
    if (ch == ' ') {
      s += '_';
    } else if (ch == '.') {
      s += 'p';
    } else if (ch == '-') {
      s += 'm';
    } else if (std::isalnum(static_cast<unsigned char>(ch))) {
      s += ch;
    }
  }
  return s + "_" + dtype_name(dtype);
}

std::vector<OpCase>& op_cases() {
  static std::vector<OpCase> cases;
  return cases;
}

std::vector<std::string> op_names(bool with_backward) {
  std::vector<std::string> names;
  for (const OpCase& c : op_cases())
    if ((!with_backward || c.backward) &&
        std::find(names.begin(), names.end(), c.op) == names.end())
      names.push_back(c.op);
  return names;
}

namespace {

std::vector<Tensor> clones(const std::vector<Tensor>& ts) {
  std::vector<Tensor> out;
  for (const Tensor& t : ts) out.push_back(t.clone());
  return out;
}

std::vector<Tensor> on_device(const std::vector<Tensor>& ts, Device device) {
  std::vector<Tensor> out;
  for (const Tensor& t : ts) out.push_back(t.to(device).clone());
  return out;
}

double dot_f64(const Tensor& a, const Tensor& b) {
  const std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
  double s = 0;
  for (std::size_t i = 0; i < x.size(); ++i) s += x[i] * y[i];
  return s;
}

}  // namespace

std::string parity_failure(const OpCase& c, Device device) {
  const OpTensors t = c.make(c);
  std::vector<Tensor> want = clones(t.out);
  c.run(t.in, want);  // the CPU reference
  const std::vector<Tensor> in = on_device(t.in, device);
  std::vector<Guarded> guarded;
  std::vector<Tensor> got;
  for (const Tensor& o : t.out) {
    guarded.push_back(guarded_copy(o, device));
    got.push_back(guarded.back().out);
  }
  make_device0_current();  // the op must select `device` itself (parity_device())
  c.run(in, got);
  NAQS_CHECK(c.out_tol.empty() || c.out_tol.size() == got.size(), c.name(), ": ",
             c.out_tol.size(), " output tolerances for ", got.size(), " outputs");
  std::string fail;
  for (std::size_t j = 0; j < got.size(); ++j) {
    const OpTolerance tol = c.out_tol.empty() ? OpTolerance{c.atol, c.rtol} : c.out_tol[j];
    const ::testing::AssertionResult r = all_close(got[j], want[j], tol.atol, tol.rtol);
    if (!r) fail += cat("output ", j, ": ", r.message(), "; ");
    if (!guarded[j].guards_intact()) fail += cat("output ", j, ": guard region overwritten; ");
  }
  if (c.check) {
    std::vector<Tensor> got_cpu;
    for (const Tensor& g : got) got_cpu.push_back(g.to(Device::cpu()));
    const std::string extra = c.check(t.out, got_cpu, want);
    if (!extra.empty()) fail += extra + "; ";
  }
  return fail.empty() ? fail : cat(fail, "tolerance: ", c.why);
}

std::string gradient_failure(const OpCase& c) {
  NAQS_CHECK(c.dtype == DType::f64 && c.backward, "gradient mode needs an f64 case with a "
                                                  "backward: ", c.name());
  OpTensors t = c.make(c);
  std::vector<Tensor> w;
  for (std::size_t j = 0; j < t.out.size(); ++j)
    w.push_back(random_tensor(t.out[j].shape(), DType::f64, c.seed + 7919 * (j + 1)));
  auto loss = [&] {
    std::vector<Tensor> out = clones(t.out);
    c.run(t.in, out);
    double s = 0;
    for (std::size_t j = 0; j < out.size(); ++j) s += dot_f64(out[j], w[j]);
    return s;
  };
  const std::vector<Tensor> analytic = c.backward(t.in, w);
  NAQS_CHECK(analytic.size() == c.grad_of.size(), c.name(), ": backward returned ",
             analytic.size(), " gradients for ", c.grad_of.size(), " inputs");
  std::string fail;
  for (std::size_t g = 0; g < c.grad_of.size(); ++g) {
    Tensor& x = t.in[static_cast<std::size_t>(c.grad_of[g])];
    const Tensor numeric = finite_difference(x, loss);
    const ::testing::AssertionResult r = all_close(analytic[g], numeric, kGradAtol, kGradRtol);
    if (!r) fail += cat("d/d input ", c.grad_of[g], ": ", r.message(), "; ");
  }
  return fail;
}

double time_case(const OpCase& c, Device device, int reps) {
  const OpTensors t = c.make(c);
  const std::vector<Tensor> in = on_device(t.in, device);
  std::vector<Tensor> out = on_device(t.out, device);
  c.run(in, out);  // warm-up (allocator, handles, caches)
  synchronize(device);
  double best = 1e300;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    c.run(in, out);
    synchronize(device);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
                              .count());
  }
  return best;
}

}  // namespace naqs::testing
