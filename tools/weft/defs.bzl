"""weft_partition_test: a golden test of how a saved graph is partitioned.

Load it from weft's own BUILD files as //tools/weft:defs.bzl, and from
another workspace as @weft//tools/weft:defs.bzl:

    load("@weft//tools/weft:defs.bzl", "weft_partition_test")

    weft_partition_test(
        name = "mlp_partition_test",
        graph = "mlp.pbtxt",               # a saved weft.GraphDef
        fetches = ["layer2/probs"],
        devices = ["cpu:0", "cpu:1"],
        golden = "mlp_partition.golden",   # `weft partition` output
    )

`bazel test :mlp_partition_test` runs `weft partition GRAPH --fetch ...
--devices ...` and compares its output with the golden file, printing a
unified diff on a mismatch. To (re)generate the golden file in the source
tree:

    bazel run :mlp_partition_test -- --update
"""

def weft_partition_test(name, graph, fetches, devices, golden, **kwargs):
    """An sh_test diffing `weft partition` on `graph` against `golden`.

    Args:
      name: the test's name.
      graph: label of a .pb or .pbtxt graph file.
      fetches: tensor names to fetch ("probs" or "probs:0").
      devices: device names ("cpu:0").
      golden: label of the expected `weft partition` output (a source file
        in this workspace, so `-- --update` can rewrite it).
      **kwargs: passed to sh_test (size, tags, ...).
    """
    if not fetches:
        fail("weft_partition_test %s: fetches is empty" % name)
    if not devices:
        fail("weft_partition_test %s: devices is empty" % name)
    kwargs.setdefault("size", "small")
    weft = Label("//tools/weft:weft")
    native.sh_test(
        name = name,
        srcs = [Label("//tools/weft:partition_test.sh")],
        args = [
            "$(rootpath %s)" % weft,
            "$(rootpath %s)" % graph,
            "$(rootpath %s)" % golden,
            ",".join(fetches),
            ",".join(devices),
            "//%s:%s" % (native.package_name(), name),
        ],
        data = [weft, graph, golden],
        **kwargs
    )
