// tsan_suppressions.cc — the ThreadSanitizer suppressions linked into every
// weft test (weft_test compiles it into each test) and the weft tool
// (//tools:tsan_suppressions, an alwayslink library). Exactly one report is
// suppressed: a known false positive of Abseil 20220623's absl::Mutex under
// TSan. A contended unlock wakes a waiter through Waiter::Post on the waiter's
// thread identity, which LowLevelAlloc mmap'ed when that thread first blocked;
// the identity is published through the mutex word, whose synchronization
// Abseil's TSan annotations hide, so TSan pairs the atomic futex access with
// the mmap. The suppression matches only frames inside
// absl::synchronization_internal::Waiter; TSan still reports real races in
// weft, oneTBB and everything else (checked by planting one; see
// docs/building.md).
//
// The rest cover Debian's prebuilt gRPC and the system Abseil it uses (the
// gRPC island of distributed/, docs/distributed.md): they are not
// TSan-instrumented, so TSan sees neither their synchronization (absl::Mutex
// of namespace debian3 waits on futexes directly) nor most of their
// accesses, and reports the accesses it does see (their memmove/memcpy
// through its interceptors) as races between gRPC's own threads. Only
// frames in those libraries are matched: weft's Abseil (lts_20220623) and
// every weft source, including the island's own code, stay checked.
#if defined(__SANITIZE_THREAD__)
extern "C" const char* __tsan_default_suppressions() {
  return "race:absl::*synchronization_internal::Waiter::\n"
         "called_from_lib:libgrpc.so\n"
         "called_from_lib:libgrpc++.so\n"
         "called_from_lib:libgpr.so\n"
         "called_from_lib:libabsl_\n"
         "race:absl::debian3::\n"
         "race:grpc_core::\n"
         "race:grpc_event_engine::\n";
}
#endif
