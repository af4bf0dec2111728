// function_runtime.h — internal to runtime/: the FunctionRuntime the plan
// compiler hands to kernels (kernels/function_runtime.h). Each instance is
// a nested Session over the function's body graph with one prepared run, so
// a body's compiled plan is cached across calls, iterations and runs. Not
// part of weft's public API.
#ifndef WEFT_RUNTIME_FUNCTION_RUNTIME_H_
#define WEFT_RUNTIME_FUNCTION_RUNTIME_H_

#include "kernels/function_runtime.h"

namespace weft::internal {

// The process's FunctionRuntime (stateless; lives for the process).
FunctionRuntime& SessionFunctionRuntime();

}  // namespace weft::internal

#endif  // WEFT_RUNTIME_FUNCTION_RUNTIME_H_
