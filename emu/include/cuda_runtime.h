// The emulation tier's stand-in for the CUDA toolkit's cuda_runtime.h (NAQS_CUDA=EMU): the
// device language and the runtime API subset of emu/shim.hpp. Only the emulated build of cuda/
// has emu/include on its include path.
#pragma once
#include "emu/shim.hpp"
