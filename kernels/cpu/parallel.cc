#include "kernels/cpu/parallel.h"

namespace weft::cpu::parallel_internal {

thread_local tbb::task_arena* current_arena = nullptr;
thread_local bool inside_arena = false;

}  // namespace weft::cpu::parallel_internal
