"""weft_test: a GoogleTest cc_test named after its source file."""

def weft_test(name, deps = [], size = "small", **kwargs):
    native.cc_test(
        name = name,
        # The suppressions are compiled into the test executable itself:
        # tests link their libraries dynamically in fastbuild, and TSan
        # reads __tsan_default_suppressions from the main executable only.
        srcs = [name + ".cc", "//tools:tsan_suppressions.cc"],
        size = size,
        deps = deps + [
            "@com_google_absl//absl/status",
            "@com_google_absl//absl/status:statusor",
            "@com_google_absl//absl/strings",
            "@com_google_googletest//:gtest_main",
        ],
        **kwargs
    )
