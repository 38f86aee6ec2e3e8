// Element types of a Tensor and their compile-time mapping.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "host/core/error.hpp"

namespace naqs {

enum class DType : uint8_t { f32, f64, i32, u8 };

inline std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32: return 4;
    case DType::f64: return 8;
    case DType::i32: return 4;
    case DType::u8: return 1;
  }
  return 0;
}

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "f32";
    case DType::f64: return "f64";
    case DType::i32: return "i32";
    case DType::u8: return "u8";
  }
  return "?";
}

// "f32"|"f64"|... -> DType; anything else is a UsageError naming the allowed values.
DType parse_dtype(const std::string& s);

template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::f32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::f64; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::i32; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::u8; };
template <class T> inline constexpr DType dtype_v = dtype_of<T>::value;

// Calls f(T{}) with T the C++ type of a floating dtype (f32 or f64); throws for others.
template <class F>
decltype(auto) dispatch_float(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::f32: return f(float{});
    case DType::f64: return f(double{});
    default: break;
  }
  throw Error(cat(op, ": dtype ", dtype_name(t), " not supported (allowed: f32, f64)"));
}

// Same for every dtype.
template <class F>
decltype(auto) dispatch_all(DType t, F&& f) {
  switch (t) {
    case DType::f32: return f(float{});
    case DType::f64: return f(double{});
    case DType::i32: return f(int32_t{});
    case DType::u8: return f(uint8_t{});
  }
  throw Error("dispatch_all: invalid dtype");
}

}  // namespace naqs
