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
#if defined(__SANITIZE_THREAD__)
extern "C" const char* __tsan_default_suppressions() {
  return "race:absl::*synchronization_internal::Waiter::\n";
}
#endif
