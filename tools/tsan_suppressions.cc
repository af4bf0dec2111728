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
         // Each name must match exactly one library (TSan refuses a
         // called_from_lib entry that matches two).
         "called_from_lib:/libabsl_bad_optional_access.so\n"
         "called_from_lib:/libabsl_bad_variant_access.so\n"
         "called_from_lib:/libabsl_base.so\n"
         "called_from_lib:/libabsl_city.so\n"
         "called_from_lib:/libabsl_civil_time.so\n"
         "called_from_lib:/libabsl_cord.so\n"
         "called_from_lib:/libabsl_cord_internal.so\n"
         "called_from_lib:/libabsl_cordz_functions.so\n"
         "called_from_lib:/libabsl_cordz_handle.so\n"
         "called_from_lib:/libabsl_cordz_info.so\n"
         "called_from_lib:/libabsl_debugging_internal.so\n"
         "called_from_lib:/libabsl_demangle_internal.so\n"
         "called_from_lib:/libabsl_exponential_biased.so\n"
         "called_from_lib:/libabsl_graphcycles_internal.so\n"
         "called_from_lib:/libabsl_hash.so\n"
         "called_from_lib:/libabsl_int128.so\n"
         "called_from_lib:/libabsl_log_severity.so\n"
         "called_from_lib:/libabsl_low_level_hash.so\n"
         "called_from_lib:/libabsl_malloc_internal.so\n"
         "called_from_lib:/libabsl_random_internal_platform.so\n"
         "called_from_lib:/libabsl_random_internal_pool_urbg.so\n"
         "called_from_lib:/libabsl_random_internal_randen.so\n"
         "called_from_lib:/libabsl_random_internal_randen_hwaes.so\n"
         "called_from_lib:/libabsl_random_internal_randen_hwaes_impl.so\n"
         "called_from_lib:/libabsl_random_internal_randen_slow.so\n"
         "called_from_lib:/libabsl_random_internal_seed_material.so\n"
         "called_from_lib:/libabsl_random_seed_gen_exception.so\n"
         "called_from_lib:/libabsl_raw_hash_set.so\n"
         "called_from_lib:/libabsl_raw_logging_internal.so\n"
         "called_from_lib:/libabsl_spinlock_wait.so\n"
         "called_from_lib:/libabsl_stacktrace.so\n"
         "called_from_lib:/libabsl_status.so\n"
         "called_from_lib:/libabsl_statusor.so\n"
         "called_from_lib:/libabsl_str_format_internal.so\n"
         "called_from_lib:/libabsl_strerror.so\n"
         "called_from_lib:/libabsl_strings.so\n"
         "called_from_lib:/libabsl_strings_internal.so\n"
         "called_from_lib:/libabsl_symbolize.so\n"
         "called_from_lib:/libabsl_synchronization.so\n"
         "called_from_lib:/libabsl_throw_delegate.so\n"
         "called_from_lib:/libabsl_time.so\n"
         "called_from_lib:/libabsl_time_zone.so\n"
         "called_from_lib:/libaddress_sorting.so\n"
         "called_from_lib:/libcares.so\n"
         "called_from_lib:/libgpr.so\n"
         "called_from_lib:/libgrpc++.so\n"
         "called_from_lib:/libgrpc.so\n"
         "called_from_lib:/libre2.so\n"
         "called_from_lib:/libupb.so\n"
         "race:absl::debian3::\n"
         "race:grpc_core::\n"
         "race:grpc_event_engine::\n";
}
#endif
