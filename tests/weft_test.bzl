"""weft_test: a GoogleTest cc_test named after its source file."""

def weft_test(name, deps = [], size = "small", **kwargs):
    native.cc_test(
        name = name,
        # tsan_suppressions.cc must be in the test executable itself: TSan
        # reads __tsan_default_suppressions from the main binary only.
        srcs = [name + ".cc", "tsan_suppressions.cc"],
        size = size,
        deps = deps + [
            "@com_google_absl//absl/status",
            "@com_google_absl//absl/status:statusor",
            "@com_google_absl//absl/strings",
            "@com_google_googletest//:gtest_main",
        ],
        **kwargs
    )
