// Compiled by headers.test.ts against NVIDIA's own headers: every cuDNN and cuBLAS function senet
// declares in native/cuda/dyn_*.h must have the real function's type, and every enum constant its
// value. A mismatch fails the compile with the function's or constant's name.
#include <cublas_v2.h>
#include <cudnn.h>

#include <cstddef>
#include <type_traits>

#include "cuda/dyn_cublas.h"
#include "cuda/dyn_cudnn.h"

// Maps a type written with our declarations to the same type written with the real ones.
template <class T>
struct Real {
  using type = T;
};
#define SENET_PAIR(name) \
  template <>            \
  struct Real<senet::dyn::name> { using type = ::name; };
SENET_CUDNN_TYPES(SENET_PAIR)
SENET_CUBLAS_TYPES(SENET_PAIR)
template <class T>
struct Real<T*> {
  using type = typename Real<T>::type*;
};
template <class T>
struct Real<const T> {
  using type = const typename Real<T>::type;
};
template <class R, class... A>
struct Real<R (*)(A...)> {
  using type = typename Real<R>::type (*)(typename Real<A>::type...);
};

#define SENET_CHECK_FUNCTION(ret, name, params)                                         \
  static_assert(std::is_same_v<Real<ret(*) params>::type, decltype(&::name)>,           \
                "senet's declaration of " #name " differs from the header");
SENET_CUDNN_FUNCTIONS(SENET_CHECK_FUNCTION)
SENET_CUBLAS_FUNCTIONS(SENET_CHECK_FUNCTION)

#define SENET_CHECK_VALUE(name)                                                         \
  static_assert(static_cast<long>(senet::dyn::name) == static_cast<long>(::name),      \
                "senet's value of " #name " differs from the header");
SENET_CUDNN_ENUM_VALUES(SENET_CHECK_VALUE)
SENET_CUBLAS_ENUM_VALUES(SENET_CHECK_VALUE)

#define SENET_CHECK_LAYOUT(type)                                                              \
  static_assert(sizeof(senet::dyn::type) == sizeof(::type), "size of " #type);                 \
  static_assert(offsetof(senet::dyn::type, algo) == offsetof(::type, algo), #type ".algo");    \
  static_assert(offsetof(senet::dyn::type, status) == offsetof(::type, status), #type ".status"); \
  static_assert(offsetof(senet::dyn::type, time) == offsetof(::type, time), #type ".time");    \
  static_assert(offsetof(senet::dyn::type, memory) == offsetof(::type, memory), #type ".memory"); \
  static_assert(offsetof(senet::dyn::type, determinism) == offsetof(::type, determinism), #type ".determinism"); \
  static_assert(offsetof(senet::dyn::type, mathType) == offsetof(::type, mathType), #type ".mathType");
SENET_CUDNN_STRUCTS(SENET_CHECK_LAYOUT)

int main() { return 0; }
