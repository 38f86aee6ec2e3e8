// `naqs vmc --network transformer` (physics/vmc/config.*, driver.*): the factory builds the
// configured transformer wavefunction, the fingerprint carries its attention settings and not
// the convolution's, bad sizes name the option, and a short run writes /model (with the KV cache
// per sample) and resumes bitwise.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <string>
#include <variant>

#include "host/core/error.hpp"
#include "host/io/hdf5.hpp"
#include "physics/models/transformer_wavefunction.hpp"
#include "physics/vmc/driver.hpp"

namespace naqs::vmc {
namespace {

VmcConfig transformer_config(int n) {
  VmcConfig c;
  c.length_x = n;
  c.network = Network::transformer;
  c.width = 8;
  c.depth = 2;
  c.heads = 2;
  c.kv_heads = 1;
  c.kv_share = 2;
  c.steps = 10;
  c.batch_schedule = "128";
  c.optimizer = OptimizerKind::adam;
  c.lr = 1e-2;
  c.obs_samples = 1024;
  c.quiet = true;
  return c;
}

}  // namespace

TEST(VmcTransformer, FactoryBuildsTheConfiguredModel) {
  VmcConfig c = transformer_config(8);
  c.phase = PhaseMode::complex;
  c.magnetisation = 0;
  std::unique_ptr<AutoregressiveWavefunction> psi = make_naqs(c);
  const auto* tw = dynamic_cast<const TransformerWavefunction*>(psi.get());
  ASSERT_NE(tw, nullptr);
  EXPECT_EQ(tw->config().n_sites, 8);
  EXPECT_EQ(tw->config().width, 8);
  EXPECT_EQ(tw->config().heads, 2);
  EXPECT_EQ(tw->config().kv_heads, 1);
  EXPECT_EQ(tw->config().kv_share, 2);
  EXPECT_EQ(tw->phase_mode(), PhaseMode::complex);
  EXPECT_TRUE(psi->hilbert().constrained());
  // 8 sites x 2 (k, v) x 1 kv head x head dim 4 x 1 owner x 8 bytes.
  EXPECT_EQ(tw->kv_bytes_per_sample(), 8 * 2 * 1 * 4 * 1 * 8);
}

TEST(VmcTransformer, FingerprintHasTheAttentionNotTheConvolution) {
  const VmcConfig c = transformer_config(8);
  const std::string f = fingerprint_text(c);
  for (const char* key : {"network = transformer", "heads = 2", "kv_heads = 1", "kv_share = 2"})
    EXPECT_NE(f.find(key), std::string::npos) << key << " missing from\n" << f;
  for (const char* key : {"kernel =", "dilations =", "activation =", "init_scale ="})
    EXPECT_EQ(f.find(key), std::string::npos) << key << " in\n" << f;
  VmcConfig other = c;
  other.kv_heads = 2;
  EXPECT_NE(fingerprint_text(other), f);
  // A convolutional run keeps its fingerprint rows and has none of the attention's.
  VmcConfig conv = c;
  conv.network = Network::conv1d;
  EXPECT_EQ(fingerprint_text(conv).find("heads ="), std::string::npos);
  EXPECT_NE(fingerprint_text(conv).find("kernel ="), std::string::npos);
}

TEST(VmcTransformer, BadSizesNameTheOption) {
  auto message = [](VmcConfig c) {
    try {
      make_naqs(c);
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  VmcConfig c = transformer_config(8);
  c.kv_share = 3;
  EXPECT_NE(message(c).find("--kv-share 3"), std::string::npos) << message(c);
  c = transformer_config(8);
  c.heads = 3;
  EXPECT_NE(message(c).find("--width 8"), std::string::npos) << message(c);
  c = transformer_config(8);
  c.kv_heads = 2;
  c.heads = 1;
  c.width = 4;
  EXPECT_NE(message(c).find("--kv-heads 2"), std::string::npos) << message(c);
  c = transformer_config(8);
  c.depth = 0;
  EXPECT_NE(message(c).find("--depth 0"), std::string::npos) << message(c);
}

TEST(VmcTransformer, ShortRunWritesTheModelAndResumesBitwise) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("naqs_test_vmc_transformer_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  VmcConfig c = transformer_config(6);
  c.output = (dir / "t.h5").string();
  c.checkpoint = c.output + ".ckpt";
  const VmcResult r = run_vmc(c);
  ASSERT_EQ(r.trace.size(), 10u);
  ASSERT_TRUE(r.exact.energy.has_value());
  EXPECT_GE(r.observables.energy.mean, *r.exact.energy - 5 * r.observables.energy.err);
  {
    H5File f = H5File::open_read(c.output);
    EXPECT_EQ(std::get<std::string>(f.get_attr("/model", "architecture")), "naqs_transformer");
    EXPECT_EQ(std::get<int64_t>(f.get_attr("/model", "kv_bytes_per_sample")),
              6 * 2 * 1 * 4 * 1 * 8);
    EXPECT_EQ(std::get<int64_t>(f.get_attr("/model", "kv_share")), 2);
    EXPECT_FALSE(f.has_attr("/model", "kernel"));
  }
  c.resume = true;  // a finished run only re-measures: the same observables, bitwise
  const VmcResult again = run_vmc(c);
  EXPECT_EQ(again.trace.size(), 0u);
  EXPECT_EQ(again.observables.energy.mean, r.observables.energy.mean);
  c.kv_heads = 2;  // another attention is another run
  EXPECT_THROW(run_vmc(c), UsageError);
}

}  // namespace naqs::vmc
