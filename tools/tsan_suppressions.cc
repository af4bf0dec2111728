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
// The rest cover Debian's prebuilt gRPC and the system Abseil and OpenSSL
// it uses (the gRPC island of distributed/, docs/distributed.md): they are not
// TSan-instrumented, so TSan sees neither their synchronization (absl::Mutex
// of namespace debian3 waits on futexes directly) nor most of their
// accesses, and reports the accesses it does see (their memmove/memcpy
// through its interceptors) as races between gRPC's own threads. A report
// is suppressed only when a frame is in those libraries (by namespace or by
// module): weft's Abseil (lts_20220623) and every weft source, including
// the island's own code, stay checked. Not `called_from_lib`: that also
// drops the synchronization TSan does see from them (gRPC's pthread_create
// of its threads), which turns every static initializer into a race.
#if defined(__SANITIZE_THREAD__)
extern "C" const char* __tsan_default_suppressions() {
  return "race:absl::*synchronization_internal::Waiter::\n"
         "race:absl::debian3::\n"
         "race:grpc_core::\n"
         "race:grpc_event_engine::\n"
         // gRPC's header-only call ops, compiled into the island, reading
         // what gRPC's core wrote on its own threads (a status message).
         "race:grpc::internal::CallOp\n"
         // The last reference to a channel is often dropped inside
         // libgrpc++, whose atomic decrement TSan does not see.
         "race:grpc::ChannelInterface\n"
         "race:/libgrpc.so\n"
         "race:/libgrpc++.so\n"
         "race:/libgpr.so\n"
         "race:/libupb.so\n"
         "race:/libcares.so\n"
         "race:/libre2.so\n"
         "race:/libaddress_sorting.so\n"
         "race:/libabsl_\n"  // Debian's Abseil; weft's has other names.
         "race:/libssl.so\n"
         "race:/libcrypto.so\n";
}
#endif
