"""A repository rule for a library installed by the system package manager.

Headers are symlinked into the repository; the library is linked with -l.
(Used for Google Benchmark, which only the opt benchmarks link.)
"""

def _system_library_impl(ctx):
    for inc in ctx.attr.include_dirs:
        ctx.symlink(ctx.attr.include_prefix + "/" + inc, "include/" + inc)
    ctx.file("WORKSPACE", "")
    ctx.file("BUILD", ctx.attr.build_file_content)

system_library = repository_rule(
    implementation = _system_library_impl,
    attrs = {
        "include_prefix": attr.string(default = "/usr/include"),
        "include_dirs": attr.string_list(),
        "build_file_content": attr.string(),
    },
    local = True,
)
