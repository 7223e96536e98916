#pragma once

// <immintrin.h> for the files compiled with AVX-512. GCC 12's AVX-512 intrinsics fill their pass-through
// operand with a self-initialized "undefined" vector, which -Wuninitialized reports inside the header
// wherever they are inlined (GCC bug 105593, fixed in 12.3/13).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
