"""weft_test: a GoogleTest cc_test named after its single source file."""

def weft_test(name, deps = [], size = "small", **kwargs):
    native.cc_test(
        name = name,
        srcs = [name + ".cc"],
        size = size,
        deps = deps + [
            "@com_google_absl//absl/status",
            "@com_google_absl//absl/status:statusor",
            "@com_google_absl//absl/strings",
            "@com_google_googletest//:gtest_main",
        ],
        **kwargs
    )
