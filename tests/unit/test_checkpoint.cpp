// Generic checkpoints (host/io/checkpoint.hpp), VMC checkpoints (physics/vmc/checkpoint.hpp,
// mapped onto them) and the stop-signal flag
// (host/core/stop_signal.hpp): bit-exact round trips, and every kind of refusal names the file
// and the mismatch and leaves the file as it was.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <variant>
#include <vector>

#include <unistd.h>

#include "host/core/error.hpp"
#include "host/core/stop_signal.hpp"
#include "host/io/checkpoint.hpp"
#include "physics/vmc/checkpoint.hpp"
#include "tests/support/testing.hpp"

namespace naqs::vmc {
namespace {

namespace fs = std::filesystem;

std::string temp_path(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("naqs_test_ckpt_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return (dir / name).string();
}

CheckpointState make_state(DType dtype, uint64_t seed) {
  CheckpointState s;
  s.step = 17;
  s.batch_stage = 1;
  s.seed = seed;
  s.optimizer_steps = 17;
  s.fingerprint_text = "h = 1\nmodel = tfim\nn_sites = 16\n";
  s.layout_text = "w 0 [5]\n";
  s.params = testing::random_tensor({5}, dtype, seed);
  s.optimizer_state = {{"adam.m", testing::random_tensor({5}, dtype, seed + 1)},
                       {"adam.v", testing::random_tensor({5}, dtype, seed + 2)}};
  return s;
}

// A state shaped like `s` with zeroed tensors, as a resuming run would prepare it.
CheckpointState empty_like(const CheckpointState& s) {
  CheckpointState t;
  t.seed = s.seed;
  t.fingerprint_text = s.fingerprint_text;
  t.layout_text = s.layout_text;
  t.params = Tensor::zeros(s.params.shape(), s.params.dtype());
  for (const auto& [name, x] : s.optimizer_state)
    t.optimizer_state.push_back({name, Tensor::zeros(x.shape(), x.dtype())});
  return t;
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// `into` is a CheckpointState (VMC) or a Checkpoint (generic): either way the refusal is one
// UsageError that starts with the file and "refused (left untouched)", names the mismatch, and
// the file is left as it was.
template <class State>
void expect_refused(const std::string& path, State& into, const std::string& needle) {
  const std::string before = file_bytes(path);
  try {
    load_checkpoint(path, into);
    ADD_FAILURE() << "load_checkpoint accepted " << path << " (expected: " << needle << ")";
  } catch (const UsageError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("checkpoint '" + path + "' refused (left untouched): ", 0), 0u) << what;
    EXPECT_NE(what.find(needle), std::string::npos) << what;
  }
  EXPECT_EQ(file_bytes(path), before) << "a refused checkpoint was modified";
}

TEST(Checkpoint, RoundTripIsBitExact) {
  for (DType dtype : {DType::f32, DType::f64}) {
    const std::string path = temp_path(std::string("rt_") + dtype_name(dtype) + ".h5");
    const CheckpointState s = make_state(dtype, 5);
    save_checkpoint(path, s);
    CheckpointState t = empty_like(s);
    load_checkpoint(path, t);
    EXPECT_EQ(t.step, 17);
    EXPECT_EQ(t.batch_stage, 1);
    EXPECT_EQ(t.optimizer_steps, 17);
    EXPECT_TRUE(testing::all_close(t.params, s.params, 0, 0));
    for (std::size_t i = 0; i < s.optimizer_state.size(); ++i)
      EXPECT_TRUE(testing::all_close(t.optimizer_state[i].second, s.optimizer_state[i].second, 0,
                                     0));
    // Saving again replaces the file atomically (no temp file left behind).
    save_checkpoint(path, s);
    for (const auto& e : fs::directory_iterator(fs::path(path).parent_path()))
      EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << e.path();
  }
}

TEST(Checkpoint, RefusesMismatchedConfiguration) {
  const std::string path = temp_path("mismatch.h5");
  const CheckpointState s = make_state(DType::f64, 7);
  save_checkpoint(path, s);

  CheckpointState other = empty_like(s);
  other.fingerprint_text = "h = 0.5\nmodel = tfim\nn_sites = 16\n";
  expect_refused(path, other, "h: checkpoint '1', this run '0.5'");

  CheckpointState layout = empty_like(s);
  layout.layout_text = "w 0 [6]\n";
  expect_refused(path, layout, "parameter layout");

  CheckpointState dtype = empty_like(s);
  dtype.params = Tensor::zeros({5}, DType::f32);
  expect_refused(path, dtype, "parameters are f64");

  CheckpointState seed = empty_like(s);
  seed.seed = 8;
  expect_refused(path, seed, "seed 7");

  CheckpointState missing = empty_like(s);
  missing.optimizer_state.push_back({"sgd.velocity", Tensor::zeros({5}, DType::f64)});
  expect_refused(path, missing, "sgd.velocity");
}

TEST(Checkpoint, RefusesCorruptFiles) {
  const CheckpointState s = make_state(DType::f64, 9);
  const std::string good = temp_path("good.h5");
  save_checkpoint(good, s);
  const std::string bytes = file_bytes(good);

  const std::string truncated = temp_path("truncated.h5");
  std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  CheckpointState into = empty_like(s);
  expect_refused(truncated, into, "unreadable or corrupt");

  const std::string garbage = temp_path("garbage.h5");
  std::ofstream(garbage, std::ios::binary) << "this is not an HDF5 file\n";
  expect_refused(garbage, into, "unreadable or corrupt");

  const std::string missing = temp_path("does_not_exist.h5");
  EXPECT_THROW(load_checkpoint(missing, into), UsageError);
  EXPECT_FALSE(fs::exists(missing));
}

TEST(Checkpoint, FingerprintDifferenceNamesKeys) {
  EXPECT_EQ(describe_fingerprint_difference("a = 1\nb = 2\n", "a = 1\nb = 3\nc = 4\n"),
            "b: checkpoint '2', this run '3'; c: this run '4', not in the checkpoint");
  EXPECT_EQ(fingerprint_hash(""), "cbf29ce484222325");  // FNV-1a 64 offset basis
}

// ---- the generic checkpoint (host/io/checkpoint.hpp) ------------------------------------
Checkpoint make_generic() {
  Checkpoint c;
  c.kind = "naqs-test-checkpoint";
  c.version = 3;
  c.fingerprint_text = "d_model = 8\nn_layers = 2\n";
  c.texts = {{"/vocab", "abc", "vocabulary"}};
  c.attributes = {{"step", int64_t{41}}, {"lr", 2.5e-4}, {"/rng:counter", int64_t{7}}};
  std::vector<int32_t> ids = {3, -1, 2147483647, 0, 5, 6};
  std::vector<uint8_t> bytes = {0, 255, 7};
  c.tensors = {{"/params", testing::random_tensor({2, 3, 4}, DType::f32, 5)},
               {"/optimizer/adamw.m", testing::random_tensor({7}, DType::f64, 6)},
               {"/data/ids", Tensor::from_vector(ids, {2, 3})},
               {"/data/bytes", Tensor::from_vector(bytes, {3})}};
  return c;
}

// A checkpoint like `c` with zeroed tensors and attributes, as a resuming trainer prepares it.
Checkpoint zeroed_like(const Checkpoint& c) {
  Checkpoint z = c;
  for (auto& [name, t] : z.tensors) t = Tensor::zeros(t.shape(), t.dtype());
  for (auto& [key, v] : z.attributes)
    v = std::visit([](auto x) { return AttrValue(decltype(x){}); }, v);
  return z;
}


TEST(GenericCheckpoint, RoundTripEveryDtypeAndShapeBitExact) {
  const std::string path = temp_path("generic.h5");
  const Checkpoint c = make_generic();
  save_checkpoint(path, c);
  Checkpoint t = zeroed_like(c);
  load_checkpoint(path, t);
  for (std::size_t i = 0; i < c.tensors.size(); ++i) {
    const Tensor& want = c.tensors[i].second;
    const Tensor& got = t.tensors[i].second;
    ASSERT_EQ(got.shape(), want.shape()) << c.tensors[i].first;
    const auto bytes = [](const Tensor& x) {
      const char* p = static_cast<const char*>(x.raw_data());
      return std::string(p, p + x.nbytes());
    };
    EXPECT_EQ(bytes(got), bytes(want)) << c.tensors[i].first;
  }
  EXPECT_EQ(t.attr_int("step"), 41);
  EXPECT_EQ(t.attr_int("/rng:counter"), 7);
  EXPECT_EQ(std::get<double>(t.attributes[1].second), 2.5e-4);
}

TEST(GenericCheckpoint, RefusesWhatDoesNotMatchAndRestoresNothing) {
  const std::string path = temp_path("generic_refuse.h5");
  const Checkpoint c = make_generic();
  save_checkpoint(path, c);

  Checkpoint fp = zeroed_like(c);
  fp.fingerprint_text = "d_model = 16\nn_layers = 2\n";
  expect_refused(path, fp, "d_model: checkpoint '8', this run '16'");
  EXPECT_EQ(fp.tensors[0].second.to_vector<float>(), std::vector<float>(24, 0.0f))
      << "a refused load restored a tensor";

  Checkpoint kind = zeroed_like(c);
  kind.kind = "naqs-lm-checkpoint";
  expect_refused(path, kind, "not a naqs-lm-checkpoint file");

  Checkpoint version = zeroed_like(c);
  version.version = 4;
  expect_refused(path, version, "checkpoint_version 3, this naqs reads 4");

  Checkpoint text = zeroed_like(c);
  text.texts[0].text = "abd";
  expect_refused(path, text, "its vocabulary differs");

  Checkpoint shape = zeroed_like(c);
  shape.tensors[0].second = Tensor::zeros({2, 12}, DType::f32);
  expect_refused(path, shape, "tensor '/params' has shape [2,3,4] but this run's is [2,12]");

  Checkpoint dtype = zeroed_like(c);
  dtype.tensors[1].second = Tensor::zeros({7}, DType::f32);
  expect_refused(path, dtype, "tensor '/optimizer/adamw.m' is f64, this run's is f32");

  Checkpoint attr_type = zeroed_like(c);
  attr_type.attributes[0].second = 1.0;
  expect_refused(path, attr_type, "attribute 'step' is an integer, expected a float");

  Checkpoint missing = zeroed_like(c);
  missing.tensors.emplace_back("/optimizer/adamw.v", Tensor::zeros({7}, DType::f64));
  expect_refused(path, missing, "no tensor '/optimizer/adamw.v'");

  Checkpoint hook = zeroed_like(c);
  try {
    load_checkpoint(path, hook, [](const Checkpoint& file) {
      throw UsageError(cat("trained to step ", file.attr_int("step"), ", too far"));
    });
    ADD_FAILURE() << "the check hook's refusal was ignored";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("refused (left untouched): trained to step 41"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(hook.tensors[0].second.to_vector<float>(), std::vector<float>(24, 0.0f));
}

TEST(StopSignal, SignalsSetTheFlag) {
  for (int sig : {SIGTERM, SIGUSR1, SIGINT}) {
    StopSignalGuard guard;
    EXPECT_FALSE(stop_requested());
    std::raise(sig);
    EXPECT_TRUE(stop_requested());
    EXPECT_EQ(stop_signal(), sig);
    clear_stop_request();
  }
  EXPECT_FALSE(stop_requested());
}

TEST(StopSignal, NestedGuardKeepsAnEarlierSignal) {
  // `naqs vmc` / `naqs sweep` install a guard at process start; the driver's own guard must not
  // forget a signal that arrived in between.
  StopSignalGuard outer;
  std::raise(SIGUSR1);
  {
    StopSignalGuard inner;
    EXPECT_TRUE(stop_requested()) << "the inner guard cleared a pending stop";
    EXPECT_EQ(stop_signal(), SIGUSR1);
  }
  EXPECT_TRUE(stop_requested());
  clear_stop_request();
  std::raise(SIGTERM);  // the outer guard's handler is back after the inner one is gone
  EXPECT_EQ(stop_signal(), SIGTERM);
  clear_stop_request();
}

}  // namespace
}  // namespace naqs::vmc
