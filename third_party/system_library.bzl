"""A repository rule for a library installed by the system package manager.

Headers are symlinked into the repository; the library is linked with -l
(or by path) as build_file_content says. Used by weft_deps.bzl for Google
Benchmark, nlohmann/json, OpenBLAS, oneDNN and Highway. A missing header
directory fails with the Debian package to install (`package`).
"""

def _system_library_impl(ctx):
    for inc in ctx.attr.include_dirs:
        src = ctx.path(ctx.attr.include_prefix + "/" + inc)
        if not src.exists:
            fail(("weft: {src} is missing (needed for @{name}): install " +
                  "Debian's {pkg} (tools/bootstrap.sh in the weft checkout " +
                  "does)").format(
                src = src,
                name = ctx.name,
                pkg = ctx.attr.package or "package providing it",
            ))
        ctx.symlink(src, "include/" + inc)
    ctx.file("WORKSPACE", "")
    ctx.file("BUILD", ctx.attr.build_file_content)

system_library = repository_rule(
    implementation = _system_library_impl,
    attrs = {
        "include_prefix": attr.string(default = "/usr/include"),
        "include_dirs": attr.string_list(),
        "build_file_content": attr.string(),
        # The Debian package that provides include_dirs (for the error).
        "package": attr.string(),
    },
    local = True,
)
